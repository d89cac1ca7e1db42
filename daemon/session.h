/* session.h — what a client holds through its connection, above the transport: its
 * attachments (counted per uid against --max-attachments-per-uid), its opens waiting
 * for a name, the descriptions it was handed (descriptors.c) and its release ring
 * (releases.c), all let go when the connection closes.
 * A struct session is the c->data of each connection daemon.c makes; conn.c never
 * looks into it.
 */
#ifndef DAEMON_SESSION_H
#define DAEMON_SESSION_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "attachments.h"
#include "conn.h"
#include "fdcache.h"
#include "registry.h"
#include "waiters.h"
#include "watch.h"

struct session {
    struct attachments atts;    /* the attachments it holds, by handle */
    struct waiters_owner waits; /* its opens waiting for a name */
    struct fdcache descs;       /* descriptors sent to this peer, kept to send again */
    void *ring;                 /* the release ring shared with the client, or NULL */
    uint64_t ring_tail;         /* handles taken from it so far (releases.c) */
    char comm[CODEC_COMM_MAX + 1]; /* the peer's command name at accept, or "" (holders.c) */
    struct watch *watch;        /* its subscription to events (watch.h), or NULL; daemon.c
                                 * ends it when the connection closes */
};

/* A client's empty session, or NULL when out of memory. */
struct session *session_new(void);

/* The session of c, a connection daemon.c made (c->data). */
static inline struct session *session_of(const struct conn *c)
{
    return c->data;
}

/* Whether c's uid holds the most attachments --max-attachments-per-uid allows (never
 * for uid 0, nor for a closed c). */
bool session_attach_full(const struct conn *c);

/* Record an attachment on c. 0; -EPIPE when c is closed; -EMFILE past CONFIG_ATTACH_MAX
 * on c or past --max-attachments-per-uid for c's uid (not for uid 0), with a message in
 * err; or -ENOMEM. */
int session_attach_add(struct conn *c, const struct registry_attach *att, char *err,
                       size_t errlen);
/* Remove the attachment named handle into *ret. 0 or -EBADF. */
int session_attach_take(struct conn *c, uint64_t handle, struct registry_attach *ret);

/* Start c's session: its waits count with its uid's (c->uid); its peer's command
 * name is read now. */
void session_start(struct conn *c);

/* Let go of everything c holds: cancel its waiting opens and detach its attachments
 * (conn_hooks.on_close, through daemon.c). */
void session_close(struct conn *c);

/* Free the session of c, closed before (conn_hooks.on_free). */
void session_free(struct conn *c);

#endif
