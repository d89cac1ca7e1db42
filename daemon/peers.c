/* peers.c — one record per uid with a connection, in a list searched at accept only:
 * a connection keeps a pointer to its uid's record, so counting a wait or an
 * attachment costs nothing more. Only uids that connect are here, and only a
 * privileged process can take on many uids. A new connection is admitted here
 * against the connection limits (peers_may_connect).
 */
#include "peers.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>

const struct peers_uid *peers_find(const struct peers *p, uint32_t uid)
{
    for (const struct peers_uid *u = p->head; u; u = u->next) {
        if (u->uid == uid)
            return u;
    }
    return NULL;
}

struct peers_uid *peers_join(struct peers *p, uint32_t uid)
{
    struct peers_uid *u = (struct peers_uid *)peers_find(p, uid);

    if (!u) {
        u = calloc(1, sizeof(*u));
        if (!u)
            return NULL;
        u->uid = uid;
        u->next = p->head;
        p->head = u;
    }
    u->conns++;
    return u;
}

void peers_leave(struct peers *p, struct peers_uid *u)
{
    struct peers_uid **pp;

    if (--u->conns > 0)
        return;
    for (pp = &p->head; *pp != u; pp = &(*pp)->next)
        ;
    *pp = u->next;
    free(u);
}

int peers_may_connect(const struct peers *peers, const struct policy *p,
                      unsigned max_connections, size_t nconns, uint32_t uid, char *why,
                      size_t whylen)
{
    const struct peers_uid *u;

    if (nconns >= max_connections) {
        snprintf(why, whylen, "sharrd serves at most %u connections at once (--max-connections)",
                 max_connections);
        return -EMFILE;
    }
    if (uid == 0)
        return 0;
    if (nconns >= max_connections - p->reserved_root_connections) {
        snprintf(why, whylen, "sharrd keeps its last %u of %u connections for root "
                 "(--reserved-root-connections)", p->reserved_root_connections,
                 max_connections);
        return -EMFILE;
    }
    u = peers_find(peers, uid);
    if (p->max_connections_per_uid && u && u->conns >= p->max_connections_per_uid) {
        snprintf(why, whylen, "uid %" PRIu32 " has %u connections open, the most allowed "
                 "(--max-connections-per-uid)", uid, p->max_connections_per_uid);
        return -EMFILE;
    }
    return 0;
}
