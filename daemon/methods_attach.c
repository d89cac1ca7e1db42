/* methods_attach.c — open, release, ring and gens: what makes a connection's attachments and
 * what drops them. An open of a name not there yet waits in the registry (methods_wait)
 * holding a reference to its connection. The arrays themselves are made elsewhere
 * (methods_jobs.c); this file only attaches to ready ones.
 */
#include "methods_attach.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "access.h"
#include "conn.h"
#include "descriptors.h"
#include "daemon.h"
#include "errcode.h"
#include "growth.h"
#include "methods_reply.h"
#include "releases.h"
#include "gens.h"
#include "ring.h"
#include "session.h"

/* Attach a to c in mode and reply with the metadata, the handle and a descriptor:
 * the description c was handed for (a, mode) before when c still caches it. */
int methods_attach_reply(struct conn *c, uint32_t msgid, struct registry_array *a,
                                 enum meta_mode mode)
{
    struct registry *reg = &daemon_of(c)->registry;
    struct registry_attach att;
    char err[METHODS_ERR_MAX];
    msgpack_sbuffer sb;
    int fd, r;

    /* The reply takes the descriptor from c's cache when it is sent (descriptors.h); this
     * makes sure there is one to take. */
    r = descriptors_get(c, a, mode, &fd);
    if (r == -ESTALE || (r == -ENOENT && a->meta.persist)) {
        /* Only a change to the store behind the daemon's back gets here: the daemon
         * renames a file over a name only for an array that already replaced a. */
        log_warning(&daemon_of(c)->log, "cannot reopen %s: %s/%s.npy is %s", a->meta.name,
                    daemon_of(c)->store.path, a->meta.name, r == -ESTALE ? "another file than the "
                    "one the daemon created (changed by hand?)" : "missing (removed by hand?)");
        return methods_error(c, msgid, r, "cannot open %s: its file in the store was changed "
                             "behind sharrd's back", a->meta.name);
    }
    if (r < 0) {
        log_warning(&daemon_of(c)->log, "cannot reopen %s: %s", a->meta.name, strerror(-r));
        return methods_error(c, msgid, r, "cannot open %s: %s", a->meta.name, strerror(-r));
    }
    /* Releases posted in rings but not yet read count until they are: read them all
     * before session_attach_add refuses (c itself may be closed for a corrupt ring). */
    if (session_attach_full(c))
        releases_take_all(daemon_of(c));
    registry_attach(reg, a, mode, &att);
    r = session_attach_add(c, &att, err, sizeof(err));
    if (r < 0) {
        registry_detach(reg, &att);
        return methods_error(c, msgid, r, "%s", err);
    }
    if (mode == META_MODE_RPLUS)
        growth_watch(daemon_of(c), a);
    conn_reply_init(c, &sb);
    methods_send_with(c, &sb, codec_pack_reply_attached(&sb, msgid, &a->meta, att.handle), -1,
                      a, mode);
    return 0;
}

/* Refuse an open of a, which the peer may see, whose owner is not one the peer may
 * trust (owner: the uid it required, or NULL). */
static int methods_open_untrusted(struct conn *c, uint32_t msgid, const struct registry_array *a,
                                  const uint32_t *owner)
{
    const struct meta *m = &a->meta;
    uint32_t reserved = 0;

    if (owner && m->uid != *owner)
        return methods_error(c, msgid, -EACCES, "%s belongs to uid %" PRIu32 ", not to uid %"
                             PRIu32 " as the open requires (owner)", m->name, m->uid, *owner);
    access_may_own(m->name, m->uid, &reserved);
    return methods_error(c, msgid, -EACCES, "%s lies in uid %" PRIu32 "'s names but belongs to "
                         "uid %" PRIu32 " (made before such names were reserved): only its "
                         "owner or root may open it", m->name, reserved, m->uid);
}

/* Answer an open of a ready array, if its owner is one the peer trusts (owner: the
 * uid it required, or NULL) and the peer may open it in mode. */
static int methods_open_ready(struct conn *c, uint32_t msgid, struct registry_array *a,
                               enum meta_mode mode, const uint32_t *owner)
{
    const struct meta *m = &a->meta;

    /* A peer that may not see a may open it in no mode; it gets one answer, whatever
     * owner it named, so that owner= cannot be used to guess whose a is. */
    if (!access_may_see(m, &c->peer))
        return methods_error(c, msgid, -EACCES, "uid %" PRIu32 " may not open %s in mode %s",
                             c->peer.uid, m->name, meta_mode_name(mode));
    /* The owner the open asked for; and in a user's names, that user or root: an array
     * there of someone else (made before such names were reserved) is trusted by
     * nobody but its owner and root. */
    if ((owner && m->uid != *owner) ||
        (!access_may_own(m->name, m->uid, NULL) && !access_is_owner(m, &c->peer)))
        return methods_open_untrusted(c, msgid, a, owner);
    if (!access_may_open(m, &c->peer, mode))
        return methods_error(c, msgid, -EACCES, "uid %" PRIu32 " may not open %s in mode %s "
                             "(owner uid %" PRIu32 " gid %" PRIu32 ", perm %04" PRIo32 ")",
                             c->peer.uid, m->name, meta_mode_name(mode), m->uid, m->gid,
                             m->perm);
    if (m->published && mode == META_MODE_RPLUS)
        return methods_error(c, msgid, -EROFS, "%s is published: it is immutable until it is "
                             "unlinked (open it in mode r or c)", m->name);
    return methods_attach_reply(c, msgid, a, mode);
}

/* An open waiting for its name: all it needs to answer later (the name is the
 * waiter's). Small, since a peer may have --max-waiting-opens-per-uid of them. */
struct methods_wait {
    struct conn *conn;  /* referenced */
    int64_t wait_ms;
    uint32_t msgid;
    enum meta_mode mode;
    bool has_owner;     /* only an array of owner will do */
    uint32_t owner;
    bool published;     /* only a published array will do */
    uint64_t deadline;  /* uv_now when the wait ends; UINT64_MAX: never */
};

static void methods_open_woken(void *arg, const char *name, void *found, int err)
{
    struct methods_wait *w = arg;
    struct registry_array *a = found;
    uint64_t now = uv_now(&daemon_of(w->conn)->loop);

    /* Created but not yet published: the wait goes on for what is left of it, until
     * the publish (methods_publish.c) wakes the name again. */
    if (err == 0 && w->published && !a->meta.published && !w->conn->closing
        && w->deadline > now) {
        err = registry_wait(&daemon_of(w->conn)->registry, name, w->deadline == UINT64_MAX ? -1
                            : (int64_t)(w->deadline - now), &session_of(w->conn)->waits,
                            methods_open_woken, w);
        if (err == 0)
            return;
        methods_error(w->conn, w->msgid, err, "out of memory");
    } else if (err == 0 && w->published && !a->meta.published && !w->conn->closing) {
        err = -ETIMEDOUT;
    }
    if (err == -ETIMEDOUT)
        methods_error(w->conn, w->msgid, err, w->published ? "no array named %s was published "
                      "within %lld ms" : "no array named %s appeared within %lld ms",
                      name, (long long)w->wait_ms);
    else if (err == 0 && !w->conn->closing)
        methods_open_ready(w->conn, w->msgid, found, w->mode, w->has_owner ? &w->owner : NULL);
    conn_unref(w->conn);
    free(w);
}

int methods_open(struct conn *c, const struct codec_msg *msg)
{
    char err[METHODS_ERR_MAX] = "";
    struct codec_open p;
    int r;

    r = codec_parse_open(msg->params, &p, err, sizeof(err));
    if (r < 0)
        return methods_error(c, msg->msgid, r, "%s", err);
    return methods_open_parsed(c, msg->msgid, &p);
}

int methods_open_parsed(struct conn *c, uint32_t msgid, const struct codec_open *req)
{
    const struct policy *pol = &daemon_of(c)->cfg.policy;
    struct registry_array *a;
    struct methods_wait *w;
    int r;

    a = registry_find(&daemon_of(c)->registry, req->name);
    if (a && a->ready && (!req->published || a->meta.published))
        return methods_open_ready(c, msgid, a, req->mode, req->has_owner ? &req->owner : NULL);
    if (!a && store_damaged(&daemon_of(c)->store, req->name))
        return methods_damaged(c, msgid, req->name);
    if (req->wait_ms == 0 && a && a->ready)
        return methods_error(c, msgid, -EAGAIN, "%s is not published yet (wait for it)",
                             req->name);
    if (req->wait_ms == 0)
        return methods_error(c, msgid, -ENOENT, "no array named %s", req->name);
    if (session_of(c)->waits.n >= pol->max_waiting_opens)
        return methods_error(c, msgid, -EAGAIN, "this connection already waits for %"
                             PRIu64 " names, the most allowed (--max-waiting-opens)",
                             session_of(c)->waits.n);
    if (c->peer.uid != 0 && pol->max_waiting_opens_per_uid
        && *session_of(c)->waits.shared >= pol->max_waiting_opens_per_uid)
        return methods_error(c, msgid, -EAGAIN, "uid %" PRIu32 " already waits for %"
                             PRIu64 " names, the most allowed (--max-waiting-opens-per-uid)",
                             c->peer.uid, *session_of(c)->waits.shared);
    w = malloc(sizeof(*w));
    if (!w)
        return methods_error(c, msgid, -ENOMEM, "out of memory");
    *w = (struct methods_wait){ .conn = c, .wait_ms = req->wait_ms, .msgid = msgid,
                                .mode = req->mode, .has_owner = req->has_owner, .owner = req->owner,
                                .published = req->published,
                                .deadline = req->wait_ms < 0 ? UINT64_MAX
                                            : uv_now(&daemon_of(c)->loop) + (uint64_t)req->wait_ms };
    r = registry_wait(&daemon_of(c)->registry, req->name, req->wait_ms, &session_of(c)->waits,
                      methods_open_woken, w);
    if (r < 0) {
        free(w);
        return methods_error(c, msgid, r, "out of memory");
    }
    conn_ref(c);
    return 0;
}

/* Drop one attachment of c named by release params; err says why it could not. */
static int methods_release_apply(struct conn *c, const msgpack_object *params, char *err,
                                 size_t errlen)
{
    struct registry_attach att;
    struct codec_release p;
    int r;

    r = codec_parse_release(params, &p, err, errlen);
    if (r < 0)
        return r;
    if (session_attach_take(c, p.handle, &att) < 0) {
        snprintf(err, errlen, "no attachment with handle %" PRIu64 " on this connection",
                 p.handle);
        return -EBADF;
    }
    registry_detach(&daemon_of(c)->registry, &att);
    return 0;
}

int methods_release(struct conn *c, const struct codec_msg *msg)
{
    char err[METHODS_ERR_MAX] = "";
    int r = methods_release_apply(c, msg->params, err, sizeof(err));

    if (r < 0)
        return methods_error(c, msg->msgid, r, "%s", err);
    return methods_empty(c, msg->msgid);
}

/* release as a notification: the same effect, and no reply, whatever happened. */
void methods_release_notified(struct conn *c, const struct codec_msg *msg)
{
    char err[METHODS_ERR_MAX] = "";
    int r = methods_release_apply(c, msg->params, err, sizeof(err));

    if (r < 0)
        log_debug(&daemon_of(c)->log, "connection %llu: release notification: %s: %s",
                  (unsigned long long)c->id, errcode_name(r), err);
}

/* The connection's release ring (releases.h), made once; its descriptor goes with the
 * reply. */
int methods_ring(struct conn *c, const struct codec_msg *msg)
{
    char err[METHODS_ERR_MAX] = "";
    msgpack_sbuffer sb;
    int fd, r;

    r = releases_ring_new(c, &fd, err, sizeof(err));
    if (r == -EEXIST)
        return methods_error(c, msg->msgid, r, "this connection has its release ring");
    if (r < 0)
        return methods_error(c, msg->msgid, r, "%s", err);
    conn_reply_init(c, &sb);
    methods_send(c, &sb, codec_pack_reply_ring(&sb, msg->msgid, RING_BYTES), fd);
    conn_release_fd(c, fd); /* the daemon keeps its mapping, not the descriptor */
    return 0;
}

/* A read-only descriptor of the daemon's generation page (genpage.h) with the reply. */
int methods_gens(struct conn *c, const struct codec_msg *msg)
{
    char err[METHODS_ERR_MAX] = "";
    msgpack_sbuffer sb;
    int fd, r;

    r = genpage_reopen(&daemon_of(c)->gens, daemon_of(c)->procfd, &fd, err, sizeof(err));
    if (r < 0)
        return methods_error(c, msg->msgid, r, "%s", err);
    conn_reply_init(c, &sb);
    methods_send(c, &sb, codec_pack_reply_ring(&sb, msg->msgid, GENS_BYTES), fd);
    conn_release_fd(c, fd);
    return 0;
}
