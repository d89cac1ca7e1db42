/* session.c — a client's attachments and waiting opens, in the session daemon.c hangs
 * on its connection: the limits on attachments when one is added, the per-uid count,
 * and letting all of them go when the connection closes (the ring: releases.c). What
 * a request means is the methods'; how bytes travel is conn.c's.
 */
#include "session.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>

#include "conn.h"
#include "config.h"
#include "daemon.h"
#include "holders.h"

/* What a waiting open costs (waiters.c's waiter, methods_attach.c's record, malloc headers). */
#define SESSION_WAIT_COST 160

struct session *session_new(void)
{
    struct session *s = calloc(1, sizeof(struct session));

    if (s)
        fdcache_init(&s->descs);
    return s;
}

void session_start(struct conn *c)
{
    struct session *s = session_of(c);

    s->waits.shared = &c->uid->waits;
    holders_read_comm(c->peer.pid, s->comm);
}

bool session_attach_full(const struct conn *c)
{
    uint64_t most = daemon_of(c)->cfg.policy.max_attachments_per_uid;

    return !c->closing && c->peer.uid != 0 && most && c->uid->atts >= most;
}

int session_attach_add(struct conn *c, const struct registry_attach *att, char *err,
                       size_t errlen)
{
    struct session *s = session_of(c);
    uint64_t most = daemon_of(c)->cfg.policy.max_attachments_per_uid;
    int r;

    if (c->closing) {
        snprintf(err, errlen, "the connection is closed");
        return -EPIPE;
    }
    if (s->atts.n >= CONFIG_ATTACH_MAX) {
        snprintf(err, errlen, "this connection holds the most attachments allowed (%u): "
                 "release some", CONFIG_ATTACH_MAX);
        return -EMFILE;
    }
    if (c->peer.uid != 0 && most && c->uid->atts >= most) {
        snprintf(err, errlen, "uid %u holds the most attachments allowed (%llu, "
                 "--max-attachments-per-uid): release some", c->peer.uid,
                 (unsigned long long)most);
        return -EMFILE;
    }
    r = attachments_add(&s->atts, att);
    if (r < 0) {
        snprintf(err, errlen, "out of memory");
        return r;
    }
    c->uid->atts++;
    return 0;
}

int session_attach_take(struct conn *c, uint64_t handle, struct registry_attach *ret)
{
    struct session *s = session_of(c);
    int r = attachments_take(&s->atts, handle, ret);

    if (r == 0)
        c->uid->atts--;
    return r;
}

void session_close(struct conn *c)
{
    struct session *s = session_of(c);
    struct daemon *d = daemon_of(c);
    const struct registry_attach *att;
    size_t pos = 0;

    trim_note(&d->trim, s->waits.n * SESSION_WAIT_COST
              + s->atts.cap * sizeof(struct registry_attach));
    waiters_cancel(&d->registry.waiters, &s->waits);
    c->uid->atts -= s->atts.n;
    while ((att = attachments_next(&s->atts, &pos))) {
        struct registry_attach held = *att;

        registry_detach(&d->registry, &held);
    }
    attachments_free(&s->atts);
    s->waits.shared = NULL; /* its uid's record goes with the connection */
}

void session_free(struct conn *c)
{
    free(c->data);
    c->data = NULL;
}
