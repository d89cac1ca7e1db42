/* conn.c — the bytes of one connection: recvmsg into the decoder, sendmsg from
 * the reply queue, and the lifetime of the struct.
 *
 * Both directions use a control buffer. A descriptor a client sends is kept with the
 * stream bytes of its recvmsg and handed to the request that starts last among them
 * (the kernel ends a read after the bytes that carried descriptors, so that is the
 * request whose sendmsg carried it); methods closes every one it does not take. A
 * reply's descriptor is attached to the sendmsg carrying its first byte, one queued
 * message per sendmsg. Reply descriptors belong to the connection's cache (fdcache.h),
 * so sending one costs no open or close; one the cache gives up while a queued reply
 * still carries it passes to the last such reply, which closes it once sent. Reading
 * pauses while too many reply bytes wait, so a client that pipelines without reading
 * cannot grow the queue; a timer closes a connection whose request stays half-sent.
 */
#include "conn.h"

#include <assert.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "config.h"
#include "daemon.h"
#include "decoder.h"
#include "holders.h"
#include "methods.h"
#include "releases.h"

struct conn_out {
    struct conn_out *next;
    char *data;
    size_t len, off;
    int fd; /* to send with the first byte; -1 once sent or if none */
    bool owned; /* fd is this entry's to close (the cache gave it up), not the cache's */
};

static void conn_on_poll(uv_poll_t *poll, int status, int events);

static void conn_update_poll(struct conn *c)
{
    int events = 0;

    if (c->closing)
        return;
    if (c->out_bytes < CONFIG_OUTPUT_PAUSE)
        events |= UV_READABLE;
    if (c->out_head)
        events |= UV_WRITABLE;
    /* Never 0: reading only pauses while replies are queued. */
    if (events != c->events)
        uv_poll_start(&c->poll, events, conn_on_poll);
    c->events = events;
}

struct conn *conn_new(struct daemon *d, int fd, const struct access_peer *peer)
{
    struct conn *c = calloc(1, sizeof(*c));

    if (!c || !(c->dec = decoder_new(d->cfg.policy.max_request, PROTO_DEPTH_MAX))
        || uv_poll_init(&d->loop, &c->poll, fd) < 0) {
        if (c)
            decoder_free(c->dec);
        free(c);
        close(fd);
        return NULL;
    }
    c->d = d;
    c->id = d->next_conn_id++;
    c->fd = fd;
    c->poll.data = c;
    uv_timer_init(&d->loop, &c->idle);
    c->idle.data = c;
    c->refs = 2; /* the poll and the idle timer, each until its close callback */
    c->peer = *peer;
    holders_read_comm(peer->pid, c->comm);
    c->out_tail = &c->out_head;
    fdcache_init(&c->descs);
    c->next = d->conns;
    if (c->next)
        c->next->prev = c;
    d->conns = c;
    d->nconns++;
    log_debug(&d->log, "connection %llu opened: uid %u gid %u pid %u", (unsigned long long)c->id,
              peer->uid, peer->gid, peer->pid);
    conn_update_poll(c);
    return c;
}

static void conn_out_free(struct conn_out *e)
{
    if (e->owned)
        close(e->fd);
    free(e->data);
    free(e);
}

static void conn_on_idle_closed(uv_handle_t *h)
{
    conn_unref(h->data);
}

/* Tell the peer why it is dropped (msgid 0, as PROTOCOL.md 3 says) when no reply is
 * half-sent ahead of it, then close. Best effort: the peer may not read. */
static void conn_close_with(struct conn *c, int err, const char *text)
{
    msgpack_sbuffer sb;

    msgpack_sbuffer_init(&sb);
    if (!c->out_head && codec_pack_error(&sb, 0, err, text) == 0)
        (void)!send(c->fd, sb.data, sb.size, MSG_NOSIGNAL | MSG_DONTWAIT);
    msgpack_sbuffer_destroy(&sb);
    conn_close(c, text);
}

static void conn_on_idle(uv_timer_t *t)
{
    struct conn *c = t->data;

    log_warning(&c->d->log, "connection %llu (pid %u): a request stayed half-sent for %llu ms: "
                "closing", (unsigned long long)c->id, c->peer.pid,
                (unsigned long long)c->d->cfg.policy.request_timeout_ms);
    conn_close_with(c, -ETIMEDOUT, "a request stayed half-sent longer than the daemon's "
                    "--request-timeout");
}

/* Run the idle timer while a request is half-sent and reading goes on; restart it
 * whenever a request completed, so only a stalled request times out. */
static void conn_watch_idle(struct conn *c)
{
    if (c->closing)
        return;
    if (c->out_bytes >= CONFIG_OUTPUT_PAUSE || decoder_pending(c->dec) == 0) {
        uv_timer_stop(&c->idle);
        return;
    }
    if (!uv_is_active((uv_handle_t *)&c->idle) || c->idle_mark != c->nrequests) {
        c->idle_mark = c->nrequests;
        uv_timer_start(&c->idle, conn_on_idle, c->d->cfg.policy.request_timeout_ms, 0);
    }
}

static void conn_on_closed(uv_handle_t *h)
{
    struct conn *c = h->data;

    close(c->fd);
    c->fd = -1;
    conn_unref(c);
}

/* Close the received descriptors whose bytes end at or before stream offset upto
 * (UINT64_MAX: all): no request they could belong to is left. */
static void conn_fds_in_drop(struct conn *c, uint64_t upto)
{
    unsigned kept = 0;

    for (unsigned i = 0; i < c->nfds_in; i++) {
        if (c->fds_in[i].to <= upto)
            close(c->fds_in[i].fd);
        else
            c->fds_in[kept++] = c->fds_in[i];
    }
    c->nfds_in = kept;
}

void conn_close(struct conn *c, const char *why)
{
    struct daemon *d = c->d;
    struct conn_out *e;

    if (c->closing)
        return;
    c->closing = true;
    log_debug(&d->log, "connection %llu closed (pid %u): %s", (unsigned long long)c->id,
              c->peer.pid, why);
    if (c->prev)
        c->prev->next = c->next;
    else
        d->conns = c->next;
    if (c->next)
        c->next->prev = c->prev;
    d->nconns--;
    registry_cancel_waiters(&d->registry, c);
    for (size_t i = 0; i < c->natts; i++)
        registry_detach(&d->registry, &c->atts[i]);
    free(c->atts);
    c->atts = NULL;
    c->natts = c->atts_cap = 0;
    while ((e = c->out_head)) {
        c->out_head = e->next;
        conn_out_free(e);
    }
    c->out_tail = &c->out_head;
    c->out_bytes = 0;
    conn_uncache(c, NULL); /* no reply refers to them any more: closed now */
    conn_fds_in_drop(c, UINT64_MAX);
    releases_ring_drop(c);
    uv_close((uv_handle_t *)&c->poll, conn_on_closed);
    uv_close((uv_handle_t *)&c->idle, conn_on_idle_closed);
}

void conn_ref(struct conn *c)
{
    c->refs++;
}

void conn_unref(struct conn *c)
{
    if (--c->refs > 0)
        return;
    decoder_free(c->dec);
    free(c);
}

/* Send queued messages until the socket would block. */
static void conn_flush(struct conn *c)
{
    union {
        struct cmsghdr align;
        char buf[CMSG_SPACE(sizeof(int))];
    } ctl;
    struct conn_out *e;
    struct cmsghdr *cm;

    while (!c->closing && (e = c->out_head)) {
        struct iovec iov = { .iov_base = e->data + e->off, .iov_len = e->len - e->off };
        struct msghdr msg = { .msg_iov = &iov, .msg_iovlen = 1 };
        ssize_t n;

        if (e->fd >= 0) {
            memset(&ctl, 0, sizeof(ctl));
            msg.msg_control = ctl.buf;
            msg.msg_controllen = sizeof(ctl.buf);
            cm = CMSG_FIRSTHDR(&msg);
            cm->cmsg_level = SOL_SOCKET;
            cm->cmsg_type = SCM_RIGHTS;
            cm->cmsg_len = CMSG_LEN(sizeof(int));
            memcpy(CMSG_DATA(cm), &e->fd, sizeof(int));
        }
        n = sendmsg(c->fd, &msg, MSG_NOSIGNAL | MSG_DONTWAIT);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
            return;
        if (n < 0) {
            conn_close(c, strerror(errno));
            return;
        }
        /* The descriptor went with these bytes: the client holds its own copy now. */
        if (e->owned)
            close(e->fd);
        e->owned = false;
        e->fd = -1;
        e->off += (size_t)n;
        c->out_bytes -= (size_t)n;
        if (e->off == e->len) {
            c->out_head = e->next;
            if (!c->out_head)
                c->out_tail = &c->out_head;
            conn_out_free(e);
        }
    }
}

int conn_send(struct conn *c, char *data, size_t len, int fd)
{
    struct conn_out *e = NULL;

    if (c->closing)
        goto drop;
    if (c->out_bytes + len > c->d->cfg.policy.max_queued) {
        conn_close(c, "it does not read its replies");
        goto drop;
    }
    e = malloc(sizeof(*e));
    if (!e) {
        conn_close(c, "out of memory");
        goto drop;
    }
    *e = (struct conn_out){ .data = data, .len = len, .fd = fd };
    *c->out_tail = e;
    c->out_tail = &e->next;
    c->out_bytes += len;
    conn_flush(c);
    conn_update_poll(c);
    return c->closing ? -EPIPE : 0;

drop:
    free(data);
    return -EPIPE;
}

void conn_release_fd(struct conn *c, int fd)
{
    struct conn_out *e, *last = NULL;

    if (fd < 0)
        return;
    for (e = c->out_head; e; e = e->next) {
        if (e->fd == fd)
            last = e;
    }
    if (last)
        last->owned = true;
    else
        close(fd);
}

int conn_descriptor(struct conn *c, struct registry_array *a, enum meta_mode mode, int *ret_fd)
{
    int fd = fdcache_find(&c->descs, a, mode);
    int r;

    if (fd >= 0) {
        *ret_fd = fd;
        return 0;
    }
    if (c->closing)
        return -EPIPE;
    r = registry_descriptor(&c->d->store, a, mode, &fd);
    if ((r == -EMFILE || r == -ENFILE) && daemon_uncache(c->d, NULL) > 0)
        r = registry_descriptor(&c->d->store, a, mode, &fd);
    if (r < 0)
        return r;
    conn_release_fd(c, fdcache_put(&c->descs, a, mode, fd));
    *ret_fd = fd;
    return 0;
}

size_t conn_uncache(struct conn *c, const struct registry_array *a)
{
    size_t n = 0;
    int fd;

    while ((fd = fdcache_take(&c->descs, a)) >= 0) {
        conn_release_fd(c, fd);
        n++;
    }
    return n;
}

/* Hand every complete request to methods, unless replies are piling up. */
static void conn_process(struct conn *c)
{
    int fds[CONN_FDS_IN];
    msgpack_object obj;
    uint64_t start, end;
    unsigned nfds, kept;
    int r;

    while (!c->closing && c->out_bytes < CONFIG_OUTPUT_PAUSE) {
        start = c->rx_bytes - decoder_pending(c->dec);
        r = decoder_next(c->dec, &obj);
        if (r == 0)
            break;
        if (r < 0) {
            log_warning(&c->d->log, "connection %llu (pid %u): undecodable request (%s): closing",
                        (unsigned long long)c->id, c->peer.pid, strerror(-r));
            if (r == -E2BIG)
                conn_close_with(c, r, "a request is longer than the daemon's --max-request");
            else
                conn_close(c, "undecodable request");
            return;
        }
        c->nrequests++;
        /* This request takes the descriptors of a read it starts in and runs to the
         * end of; those of reads it ends past belong to no request. */
        end = c->rx_bytes - decoder_pending(c->dec);
        nfds = kept = 0;
        for (unsigned i = 0; i < c->nfds_in; i++) {
            const struct conn_fd_in *f = &c->fds_in[i];

            if (f->from <= start && start < f->to && f->to <= end)
                fds[nfds++] = f->fd;
            else
                c->fds_in[kept++] = *f;
        }
        c->nfds_in = kept;
        conn_fds_in_drop(c, end);
        methods_dispatch(c, &obj, fds, nfds);
    }
    conn_update_poll(c);
    conn_watch_idle(c);
}

static void conn_read(struct conn *c)
{
    static_assert(PROTO_REQUEST_MAX <= 64 * 1024, "the read buffer lives on the stack");
    uint8_t buf[PROTO_REQUEST_MAX];
    union {
        struct cmsghdr align;
        char buf[CMSG_SPACE(sizeof(int) * CONN_FDS_IN)];
    } ctl;
    /* At most one frame per read, so the decoder never holds more than two. */
    struct iovec iov = { .iov_base = buf, .iov_len = c->d->cfg.policy.max_request };
    struct msghdr msg = { .msg_iov = &iov, .msg_iovlen = 1,
                          .msg_control = ctl.buf, .msg_controllen = sizeof(ctl.buf) };
    struct cmsghdr *cm;
    ssize_t n;
    int r;

    n = recvmsg(c->fd, &msg, MSG_DONTWAIT | MSG_CMSG_CLOEXEC);
    /* Keep what fits for the request these bytes start (adopt takes one); a client
     * cannot make the daemon hold more than CONN_FDS_IN: the rest are closed. */
    for (cm = n >= 0 ? CMSG_FIRSTHDR(&msg) : NULL; cm; cm = CMSG_NXTHDR(&msg, cm)) {
        if (cm->cmsg_level != SOL_SOCKET || cm->cmsg_type != SCM_RIGHTS)
            continue;
        for (size_t i = 0; i < (cm->cmsg_len - CMSG_LEN(0)) / sizeof(int); i++) {
            int fd;
            memcpy(&fd, CMSG_DATA(cm) + i * sizeof(int), sizeof(int));
            if (c->nfds_in < CONN_FDS_IN)
                c->fds_in[c->nfds_in++] = (struct conn_fd_in){
                    .fd = fd, .from = c->rx_bytes, .to = c->rx_bytes + (uint64_t)n };
            else
                close(fd);
        }
    }
    if (n > 0)
        c->rx_bytes += (uint64_t)n;
    if (n < 0) {
        if (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR)
            conn_close(c, strerror(errno));
        return;
    }
    if (n == 0) {
        conn_close(c, decoder_pending(c->dec) ? "peer left mid-request" : "peer left");
        return;
    }
    /* What the client posted before sending these bytes applies before they do. */
    if (!releases_take(c))
        return;
    r = decoder_feed(c->dec, buf, (size_t)n);
    if (r < 0) {
        log_warning(&c->d->log, "connection %llu (pid %u): %s: closing", (unsigned long long)c->id,
                    c->peer.pid, strerror(-r));
        conn_close(c, "request buffer overflow");
        return;
    }
    conn_process(c);
}

static void conn_on_poll(uv_poll_t *poll, int status, int events)
{
    struct conn *c = poll->data;

    if (status < 0) {
        conn_close(c, uv_strerror(status));
        return;
    }
    if (events & UV_WRITABLE)
        conn_flush(c);
    if (!c->closing && (events & UV_READABLE))
        conn_read(c);
    else if (!c->closing)
        conn_process(c); /* the queue may have drained below the pause mark */
    conn_update_poll(c);
}

int conn_attach_add(struct conn *c, const struct registry_attach *att)
{
    struct registry_attach *atts;
    size_t cap;

    if (c->natts >= CONFIG_ATTACH_MAX)
        return -EMFILE;
    if (c->natts == c->atts_cap) {
        cap = c->atts_cap ? c->atts_cap * 2 : 8;
        atts = realloc(c->atts, cap * sizeof(*atts));
        if (!atts)
            return -ENOMEM;
        c->atts = atts;
        c->atts_cap = cap;
    }
    c->atts[c->natts++] = *att;
    return 0;
}

int conn_attach_take(struct conn *c, uint64_t handle, struct registry_attach *ret)
{
    size_t lo = 0, hi = c->natts;

    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (c->atts[mid].handle < handle)
            lo = mid + 1;
        else
            hi = mid;
    }
    if (lo == c->natts || c->atts[lo].handle != handle)
        return -EBADF;
    *ret = c->atts[lo];
    memmove(c->atts + lo, c->atts + lo + 1, (c->natts - lo - 1) * sizeof(*c->atts));
    c->natts--;
    return 0;
}
