/* call.c — requests and their replies over a connection: msgids, sending a request
 * whole under the lock, one thread at a time reading for all, each reply and the
 * descriptor that came with it handed to the call waiting for it (the descriptor
 * queue). Connecting, reconnecting and fork safety are client.c's.
 *
 * It knows the envelope of messages (codec.h) but not what any method means: the
 * caller packs the request and parses the result (array.c, catalog.c). One shape of
 * call is here whole: asking for a page shared with the daemon (the release ring, the
 * generation page) and mapping the descriptor that comes with it.
 */
#include <errno.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "codec.h"
#include "attcache.h"
#include "conn.h"
#include "decoder.h"
#include "proto_limits.h"

#define CALL_SEND_TRIES 2         /* a request whose send failed goes once more */

/* True when a result map says {"fd": true}: a descriptor travels with the reply. */
static bool call_declares_fd(const msgpack_object *result)
{
    if (result == NULL || result->type != MSGPACK_OBJECT_MAP)
        return false;
    for (uint32_t i = 0; i < result->via.map.size; i++) {
        const msgpack_object_kv *kv = &result->via.map.ptr[i];

        if (kv->key.type == MSGPACK_OBJECT_STR && kv->key.via.str.size == 2 &&
            memcmp(kv->key.via.str.ptr, "fd", 2) == 0)
            return kv->val.type == MSGPACK_OBJECT_BOOLEAN && kv->val.via.boolean;
    }
    return false;
}

static struct client_call *call_take(sharr_t *c, uint32_t msgid)
{
    for (struct client_call **pp = &c->calls; *pp != NULL; pp = &(*pp)->next) {
        struct client_call *call = *pp;

        if (call->msgid == msgid) {
            *pp = call->next;
            return call;
        }
    }
    return NULL;
}

/* Hand one decoded message to the call waiting for it. Returns 0, or a negative
 * errno when the stream can no longer be trusted and the connection was broken. */
static int call_dispatch_locked(sharr_t *c, const msgpack_object *obj)
{
    char err[PROTO_TEXT_MAX + 64];
    struct client_call *call;
    struct codec_msg m;
    int fd = -1;
    int rc;

    if (codec_parse_msg(obj, &m, NULL, err, sizeof(err)) < 0)
        return client_break_locked(c, -EPROTO, "malformed message from sharrd: %s", err);
    /* Requests and notifications from the daemon carry nothing this library uses. */
    if (m.type != CODEC_RESPONSE)
        return 0;
    if (m.err == 0 && call_declares_fd(m.result)) {
        if (c->fdq_len == 0)
            return client_break_locked(c, -EPROTO,
                                       "reply %u from sharrd announced a descriptor that "
                                       "did not arrive", m.msgid);
        fd = c->fdq[0];
        memmove(c->fdq, c->fdq + 1, --c->fdq_len * sizeof(int));
    }
    call = call_take(c, m.msgid);
    if (call == NULL) {
        if (fd >= 0)
            close(fd);
        return 0;
    }
    call->done = true;
    if (m.err != 0) {
        call->rc = m.err;
        snprintf(call->msg, sizeof(call->msg), "%s",
                 m.errmsg[0] != '\0' ? m.errmsg : sharr_strerror(m.err));
        return 0;
    }
    if (call->parse != NULL) {
        rc = m.result == NULL ? -EINVAL : call->parse(m.result, call->out, err, sizeof(err));
        if (rc < 0) {
            call->rc = -EPROTO;
            snprintf(call->msg, sizeof(call->msg), "unexpected reply from sharrd: %s",
                     m.result == NULL ? "no result" : err);
            if (fd >= 0)
                close(fd);
            return 0;
        }
    }
    call->fd = fd;
    return 0;
}

/* A successful reply to a call whose result codec_frame_read reads (attach, create,
 * stat) is read from the decoder's bytes and dispatched as the decoder would have
 * given it, without unpacking it whole. 1 when one was, 0 when the decoder takes the
 * next bytes (another reply, or one cut short or malformed: it then says what is
 * wrong), or a negative errno when the connection was broken. */
static bool call_wants_frame(void *arg, uint32_t msgid)
{
    const struct client_call *call = ((sharr_t *)arg)->calls;

    while (call != NULL && call->msgid != msgid)
        call = call->next;
    return call != NULL && call->frame;
}

static int call_read_frame_locked(sharr_t *c)
{
    struct codec_frame f;
    const uint8_t *buf;
    size_t len, used;

    decoder_peek(c->dec, &buf, &len);
    if (len == 0 ||
        !codec_frame_read(buf, len, PROTO_DEPTH_MAX, call_wants_frame, c, &f, &used))
        return 0;
    decoder_skip(c->dec, used);
    return call_dispatch_locked(c, &f.msg) < 0 ? -EPROTO : 1;
}

/* A descriptor arrives with the first byte of its reply, so after the complete
 * replies took theirs, only a reply still half-received can own one: the newest.
 * Older ones were announced by nobody and are closed. */
static void call_fdq_trim_locked(sharr_t *c)
{
    size_t keep = decoder_pending(c->dec) > 0 ? 1 : 0;

    if (c->fdq_len <= keep)
        return;
    link_close_fds(c->fdq, c->fdq_len - keep);
    memmove(c->fdq, c->fdq + (c->fdq_len - keep), keep * sizeof(int));
    c->fdq_len = keep;
}
/* Be the reader once: recvmsg without the lock, then queue descriptors and dispatch
 * every complete reply. Waiting threads are woken whatever happened. */
static void call_read_locked(sharr_t *c)
{
    int fds[LINK_CMSG_FDS];
    size_t nfds = 0;
    bool truncated = false;
    msgpack_object obj;
    int fd = c->fd;
    ssize_t n;
    int rc;

    c->reading = true;
    pthread_mutex_unlock(&c->lock);
    n = link_recv(fd, c->rbuf, CLIENT_RECV_CHUNK, fds, &nfds, &truncated);
    pthread_mutex_lock(&c->lock);
    c->reading = false;

    if (truncated || c->fdq_len + nfds > CLIENT_FDQ_MAX) {
        link_close_fds(fds, nfds);
        client_break_locked(c, -EPROTO, "sharrd sent more descriptors than expected");
        goto wake;
    }
    memcpy(c->fdq + c->fdq_len, fds, nfds * sizeof(int));
    c->fdq_len += nfds;
    if (n == -EINTR)
        goto wake;
    if (n == 0) {
        client_break_locked(c, -ECONNRESET, "sharrd closed the connection");
        goto wake;
    }
    if (n < 0) {
        client_break_locked(c, -ECONNRESET, "connection to sharrd lost: %s",
                            sharr_strerror((int)n));
        goto wake;
    }
    rc = decoder_feed(c->dec, c->rbuf, (size_t)n);
    if (rc < 0) {
        client_break_locked(c, -EPROTO, "replies from sharrd: %s", sharr_strerror(rc));
        goto wake;
    }
    for (;;) {
        rc = call_read_frame_locked(c);
        if (rc < 0)
            goto wake;
        if (rc == 1)
            continue;
        if ((rc = decoder_next(c->dec, &obj)) != 1)
            break;
        if (call_dispatch_locked(c, &obj) < 0)
            goto wake;
    }
    if (rc < 0) {
        client_break_locked(c, -EPROTO, "undecodable reply from sharrd: %s",
                            sharr_strerror(rc));
        goto wake;
    }
    call_fdq_trim_locked(c);
    if (c->state == CLIENT_BROKEN)
        client_break_locked(c, -ECONNRESET, "connection to sharrd lost");
wake:
    pthread_cond_broadcast(&c->cond);
}

static uint32_t call_next_msgid(sharr_t *c)
{
    uint32_t id;

    do
        id = atomic_fetch_add(&c->next_msgid, 1u);
    while (id == LINK_HELLO_MSGID);
    return id;
}

int client_call(sharr_t *c, const struct client_request *req, struct client_reply *ret)
{
    struct client_call call = {
        .fd = -1, .parse = req->parse, .out = req->out, .frame = req->frame,
    };
    msgpack_sbuffer sb, nb;
    uint64_t gen = 0;
    bool notified = false;
    int rc;

    msgpack_sbuffer_init(&sb);
    msgpack_sbuffer_init(&nb);
    call.msgid = call_next_msgid(c);
    rc = req->pack(&sb, call.msgid, req->params);
    if (rc >= 0 && req->pack_notify != NULL)
        rc = req->pack_notify(&nb, req->params);
    if (rc < 0) {
        rc = client_fail(rc, "cannot encode the request: %s", sharr_strerror(rc));
        goto out;
    }
    client_check_fork(c);
    pthread_mutex_lock(&c->lock);
    /* The daemon acts only on whole messages, so a request whose send failed was
     * never seen: it goes once more on a fresh connection. That is how a connection
     * that died while idle (the daemon restarted) recovers without an error. */
    for (int attempt = 1;; attempt++) {
        if (req->only_gen != 0 && (c->state != CLIENT_UP || c->gen != req->only_gen)) {
            rc = 0;
            gen = 0; /* nothing sent, also when a first attempt's send failed */
            goto unlock;
        }
        rc = client_ensure_up_locked(c);
        if (rc < 0)
            goto unlock;
        gen = c->gen;
        if (req->needs_records && !c->records) {
            rc = client_fail(-EOPNOTSUPP, "this sharrd (%s) does not know record dtypes: "
                             "upgrade it, or create the array as raw bytes ('|V<itemsize>')",
                             c->server.server);
            goto unlock;
        }
        if (req->pack_notify != NULL && c->release_notify) {
            /* Nothing to wait for: the daemon applies it before any later request of
             * this connection, and no reply comes. */
            rc = link_send_all(c->fd, nb.data, nb.size, NULL);
            if (rc >= 0) {
                notified = true;
                break;
            }
            client_abort_locked(c, rc);
            if (attempt == CALL_SEND_TRIES) {
                rc = client_fail(-ECONNRESET, "connection to sharrd lost while sending: %s",
                                 sharr_strerror(rc));
                goto unlock;
            }
            continue;
        }
        call.next = c->calls;
        c->calls = &call;
        /* Sent whole under the lock: requests of different threads never interleave. */
        rc = link_send_all(c->fd, sb.data, sb.size, req->send_fd);
        if (rc >= 0)
            break;
        call_take(c, call.msgid);
        client_abort_locked(c, rc);
        if (attempt == CALL_SEND_TRIES) {
            rc = client_fail(-ECONNRESET, "connection to sharrd lost while sending: %s",
                             sharr_strerror(rc));
            goto unlock;
        }
    }
    while (!notified && !call.done) {
        if (!c->reading)
            call_read_locked(c);
        else
            pthread_cond_wait(&c->cond, &c->lock);
    }
    rc = call.rc;
    if (rc < 0)
        client_fail(rc, "%s", call.msg);
unlock:
    pthread_mutex_unlock(&c->lock);
out:
    msgpack_sbuffer_destroy(&sb);
    msgpack_sbuffer_destroy(&nb);
    if (ret != NULL) {
        ret->fd = call.fd;
        ret->gen = gen;
    } else if (call.fd >= 0) {
        close(call.fd);
    }
    /* Whatever the request was (an unlink, a stat), the cache lets go of what went
     * stale or old meanwhile: an idle client's unlinked array is not kept for T. */
    attcache_sweep(c);
    return rc;
}

static int call_parse_page(const msgpack_object *result, void *out, char *err, size_t errlen)
{
    return codec_parse_reply_ring(result, out, err, errlen);
}

int client_call_page(sharr_t *c, client_pack_fn pack, uint64_t gen, size_t bytes, int prot,
                     void **ret_map)
{
    uint32_t size = 0;
    struct client_request req = {
        .pack = pack, .parse = call_parse_page, .out = &size, .only_gen = gen,
    };
    struct client_reply rep = { .fd = -1 };
    void *map = NULL;
    int rc = client_call(c, &req, &rep);

    if (rc == 0 && rep.gen == gen && rep.fd >= 0 && size == bytes) {
        map = mmap(NULL, bytes, prot, MAP_SHARED, rep.fd, 0);
        if (map == MAP_FAILED)
            map = NULL;
        /* A forked child gets its own connection and pages, never these. */
        if (map != NULL && madvise(map, bytes, MADV_DONTFORK) < 0) {
            munmap(map, bytes);
            map = NULL;
        }
    }
    if (rep.fd >= 0)
        close(rep.fd);
    *ret_map = map;
    return rc;
}
