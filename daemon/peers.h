/* peers.h — the uids the daemon serves and what each one's connections hold on its
 * loop right now: connections, waiting opens and attachments, so every per-uid limit
 * of policy.h is checked in constant time.
 *
 * A connection joins its uid's record at accept and leaves it when it closes; the
 * record goes with the uid's last connection. Arrays and bytes a uid owns are not
 * here: they outlive connections and are counted by quota.c.
 */
#ifndef DAEMON_PEERS_H
#define DAEMON_PEERS_H

#include <stddef.h>
#include <stdint.h>

#include "policy.h"

struct peers_uid {
    uint32_t uid;
    unsigned conns;         /* connections open */
    uint64_t waits;         /* opens waiting for a name */
    uint64_t atts;          /* attachments */
    uint64_t watches;       /* connections watching (watch.h) */
    uint64_t turn;          /* the turn of the loop answered counts (conn.c) */
    unsigned answered;      /* requests of its connections answered in that turn */
    struct peers_uid *next;
};

struct peers {
    struct peers_uid *head; /* uids with a connection; few (the users of one host) */
};

/* What uid holds, or NULL when it has no connection. */
const struct peers_uid *peers_find(const struct peers *p, uint32_t uid);

/* Count one more connection of uid; the record its connection keeps and hands back to
 * peers_leave. NULL when out of memory. */
struct peers_uid *peers_join(struct peers *p, uint32_t uid);

/* Count one connection of u less (its waits and attachments are gone already); the
 * last one frees u. */
void peers_leave(struct peers *p, struct peers_uid *u);

/* 0 if a daemon serving nconns connections of at most max_connections may serve one
 * more of uid under p (--max-connections; unless uid is 0, also
 * --reserved-root-connections and --max-connections-per-uid); else -EMFILE with why. */
int peers_may_connect(const struct peers *peers, const struct policy *p,
                      unsigned max_connections, size_t nconns, uint32_t uid, char *why,
                      size_t whylen);

#endif
