/* conn.c — the bytes of one connection: recvmsg into the decoder, sendmsg from
 * the reply queue, and the lifetime of the struct; what a message means is the
 * layer above's (conn_hooks).
 *
 * Both directions use a control buffer. A descriptor a client sends is kept with the
 * stream bytes of its recvmsg and handed to the request that starts last among them
 * (the kernel ends a read after the bytes that carried descriptors, so that is the
 * request whose sendmsg carried it); the layer above closes every one it does not
 * take. A reply's descriptor is attached to the sendmsg carrying its first byte, one
 * queued message per sendmsg. A reply queued with a reference (conn_send_ref) asks the
 * layer above for its descriptor when its first byte is sent, so a reply that waits
 * holds no descriptor; only a descriptor sent once (a release ring's), or one pinned
 * to the replies that can no longer ask for it (conn_pin), travels with its replies,
 * the last closing it. Reading
 * pauses while too many reply bytes wait, so a client that pipelines without reading
 * cannot grow the queue, nor, once all queues together hold --max-queued-total, can
 * any client that leaves replies unread; a reply that waits keeps only its own bytes.
 * A timer closes a connection whose request stays half-sent. A turn of the loop (a
 * check handle counts them) answers at most CONN_TURN_REQUESTS requests of one uid's
 * connections together; what is left waits in the decoder, without reading more, for
 * the backlog's idle handle to run the next turn, where connections passed over for
 * their uid's share go before those served.
 */
#include "conn.h"

#include <assert.h>
#include <errno.h>
#include <malloc.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "config.h"
#include "decoder.h"
#include "fdio.h"

struct conn_out {
    struct conn_out *next;
    char *data;
    size_t len, off;
    int fd; /* to send with the first byte; -1 once sent or if none */
    bool owned; /* fd is this entry's to close (sent once, or pinned), not the layer's */
    bool pinned; /* fd was given by conn_pin, counted in conn.pinned */
    void *ref; /* held: the descriptor for (ref, tag) goes with the first byte, from
                * hooks->out_fd then; NULL once sent or pinned */
    int tag;
};

static void conn_on_poll(uv_poll_t *poll, int status, int events);
static void conn_process(struct conn *c);

/* What one queued reply costs beyond its bytes: its entry and two malloc headers. */
#define CONN_OUT_OVERHEAD (sizeof(struct conn_out) + 32)

size_t conn_reply_cost(size_t len)
{
    return len + CONN_OUT_OVERHEAD;
}

size_t conn_queued_memory(const struct conn *c)
{
    return c->out_bytes + c->out_n * CONN_OUT_OVERHEAD;
}

bool conn_queues_full(const struct conn_pool *pool)
{
    return pool->queued_total >= pool->policy->max_queued_total;
}

/* Whether c's requests may be answered now: not while too many of its replies wait,
 * nor while it has replies waiting and all queues together are full. */
static bool conn_may_answer(const struct conn *c)
{
    return c->out_bytes < CONFIG_OUTPUT_PAUSE && (!c->out_head || !conn_queues_full(c->pool));
}

static void conn_update_poll(struct conn *c)
{
    int events = 0;

    if (c->closing)
        return;
    if (conn_may_answer(c) && !c->backlog)
        events |= UV_READABLE;
    if (c->out_head)
        events |= UV_WRITABLE;
    /* 0 only while a backlog waits for its turn: the backlog's handle resumes it. */
    if (events == 0 && c->events != 0)
        uv_poll_stop(&c->poll);
    else if (events != c->events)
        uv_poll_start(&c->poll, events, conn_on_poll);
    c->events = events;
}

static void conn_on_backlog(uv_idle_t *idle)
{
    struct conn_pool *pool = idle->data;
    struct conn *c, *next;

    /* Those passed over last turn go first, then those served; connections that end
     * this turn early again join the new queues, for the next turn. */
    *pool->passed_tail = pool->backlog;
    c = pool->passed;
    pool->passed = pool->backlog = NULL;
    pool->passed_tail = &pool->passed;
    pool->backlog_tail = &pool->backlog;
    for (; c; c = next) {
        next = c->backlog_next;
        c->backlog = false;
        c->backlog_next = NULL;
        if (!c->closing)
            conn_process(c);
        conn_unref(c);
    }
    if (!pool->backlog && !pool->passed)
        uv_idle_stop(&pool->backlog_idle);
}

static void conn_on_turn(uv_check_t *check)
{
    struct conn_pool *pool = check->data;

    pool->turn++;
}

/* c ended its turn with requests left: answer them in the next turn, before those
 * served in this one when it was passed over (its uid's share was spent). */
static void conn_backlog_add(struct conn *c, bool passed)
{
    struct conn_pool *pool = c->pool;

    if (c->backlog || !pool->on)
        return;
    c->backlog = true;
    conn_ref(c);
    c->backlog_next = NULL;
    if (passed) {
        *pool->passed_tail = c;
        pool->passed_tail = &c->backlog_next;
    } else {
        *pool->backlog_tail = c;
        pool->backlog_tail = &c->backlog_next;
    }
    uv_idle_start(&pool->backlog_idle, conn_on_backlog);
}

void conn_pool_init(struct conn_pool *pool, uv_loop_t *loop, struct log_ctx *log,
                    const struct policy *policy, struct peers *peers, struct trim *trim,
                    struct ratelog *closings)
{
    if (pool->on)
        return;
    pool->loop = loop;
    pool->log = log;
    pool->policy = policy;
    pool->peers = peers;
    pool->trim = trim;
    pool->closings = closings;
    pool->head = NULL;
    pool->n = 0;
    pool->next_id = 1;
    pool->queued_total = 0;
    pool->spare_reply = NULL;
    ratelog_init(&pool->queues_full, loop, log, "times the reply queues filled up");
    uv_idle_init(loop, &pool->backlog_idle);
    pool->backlog_idle.data = pool;
    pool->backlog = pool->passed = NULL;
    pool->backlog_tail = &pool->backlog;
    pool->passed_tail = &pool->passed;
    /* A turn of the loop ends after its poll: the shares of every uid start again. */
    uv_check_init(loop, &pool->turn_check);
    pool->turn_check.data = pool;
    uv_check_start(&pool->turn_check, conn_on_turn);
    uv_unref((uv_handle_t *)&pool->turn_check);
    pool->on = true;
}

void conn_pool_close(struct conn_pool *pool)
{
    struct conn *c, *next;

    if (!pool->on)
        return;
    *pool->passed_tail = pool->backlog;
    for (c = pool->passed; c; c = next) {
        next = c->backlog_next;
        c->backlog = false;
        conn_unref(c);
    }
    pool->backlog = pool->passed = NULL;
    pool->backlog_tail = &pool->backlog;
    pool->passed_tail = &pool->passed;
    uv_close((uv_handle_t *)&pool->backlog_idle, NULL);
    uv_close((uv_handle_t *)&pool->turn_check, NULL);
    ratelog_close(&pool->queues_full);
    free(pool->spare_reply);
    pool->spare_reply = NULL;
    pool->on = false;
}

/* Whether c's uid may have another request answered in this turn of the loop: at
 * most CONN_TURN_REQUESTS among all its connections, however many it has. */
static bool conn_uid_may(struct conn *c)
{
    struct peers_uid *u = c->uid;

    if (u->turn != c->pool->turn) {
        u->turn = c->pool->turn;
        u->answered = 0;
    }
    return u->answered < CONN_TURN_REQUESTS;
}

struct conn *conn_new(struct conn_pool *pool, int fd, const struct access_peer *peer,
                      const struct conn_hooks *hooks, void *data)
{
    struct conn *c = calloc(1, sizeof(*c));

    if (!c || !(c->dec = decoder_new(pool->policy->max_request, PROTO_DEPTH_MAX))
        || !(c->uid = peers_join(pool->peers, peer->uid))
        || uv_poll_init(pool->loop, &c->poll, fd) < 0) {
        if (c && c->uid)
            peers_leave(pool->peers, c->uid);
        if (c)
            decoder_free(c->dec);
        free(c);
        close(fd);
        return NULL;
    }
    c->pool = pool;
    c->hooks = hooks;
    c->data = data;
    c->id = pool->next_id++;
    c->fd = fd;
    c->poll.data = c;
    uv_timer_init(pool->loop, &c->idle);
    c->idle.data = c;
    c->refs = 2; /* the poll and the idle timer, each until its close callback */
    c->peer = *peer;
    c->out_tail = &c->out_head;
    c->next = pool->head;
    if (c->next)
        c->next->prev = c;
    pool->head = c;
    pool->n++;
    log_debug(pool->log, "connection %llu opened: uid %u gid %u pid %u", (unsigned long long)c->id,
              peer->uid, peer->gid, peer->pid);
    conn_update_poll(c);
    return c;
}

/* Let go of what e holds for its descriptor: the descriptor if e owns it, the pin,
 * the reference. */
static void conn_out_drop_fd(struct conn *c, struct conn_out *e)
{
    if (e->owned)
        close(e->fd);
    if (e->pinned)
        c->pinned--;
    if (e->ref)
        c->hooks->out_unref(e->ref);
    e->ref = NULL;
    e->owned = e->pinned = false;
    e->fd = -1;
}

/* Keep data, a sent reply's buffer, for the next reply when the pool has none and
 * it is the size conn_reply_init hands out (not a large reply's, nor a tight copy);
 * else free it. One for the whole daemon: the loop builds one reply at a time. */
static void conn_reply_keep(struct conn_pool *pool, char *data)
{
    size_t size;

    if (data && pool->on && !pool->spare_reply) {
        size = malloc_usable_size(data);
        if (size >= CONN_REPLY_ROOM && size < 2 * CONN_REPLY_ROOM) {
            pool->spare_reply = data;
            return;
        }
    }
    free(data);
}

void conn_reply_init(struct conn *c, msgpack_sbuffer *sb)
{
    msgpack_sbuffer_init(sb);
    if (c->pool->spare_reply) {
        sb->data = c->pool->spare_reply;
        sb->alloc = CONN_REPLY_ROOM;
        c->pool->spare_reply = NULL;
    }
}

/* Free e, a reply of c taken off its queue, and stop charging its memory. */
static void conn_out_free(struct conn *c, struct conn_out *e)
{
    size_t cost = e->len + CONN_OUT_OVERHEAD;

    c->pool->queued_total -= cost;
    c->out_n--;
    trim_note(c->pool->trim, cost);
    conn_out_drop_fd(c, e);
    conn_reply_keep(c->pool, e->data);
    /* Most replies are sent as soon as queued: keeping one entry spares them a malloc. */
    if (!c->spare)
        c->spare = e;
    else
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

    if (ratelog_allow(c->pool->closings))
        log_warning(c->pool->log, "connection %llu (pid %u): a request stayed half-sent for %llu "
                    "ms: closing", (unsigned long long)c->id, c->peer.pid,
                    (unsigned long long)c->pool->policy->request_timeout_ms);
    conn_close_with(c, -ETIMEDOUT, "a request stayed half-sent longer than the daemon's "
                    "--request-timeout");
}

/* Run the idle timer while a request is half-sent and reading goes on; restart it
 * whenever a request completed, so only a stalled request times out. */
static void conn_watch_idle(struct conn *c)
{
    if (c->closing)
        return;
    if (!conn_may_answer(c) || decoder_pending(c->dec) == 0) {
        uv_timer_stop(&c->idle);
        return;
    }
    if (!uv_is_active((uv_handle_t *)&c->idle) || c->idle_mark != c->nrequests) {
        c->idle_mark = c->nrequests;
        uv_timer_start(&c->idle, conn_on_idle, c->pool->policy->request_timeout_ms, 0);
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
    struct conn_pool *pool = c->pool;
    struct conn_out *e;

    if (c->closing)
        return;
    c->closing = true;
    log_debug(pool->log, "connection %llu closed (pid %u): %s", (unsigned long long)c->id,
              c->peer.pid, why);
    if (c->prev)
        c->prev->next = c->next;
    else
        pool->head = c->next;
    if (c->next)
        c->next->prev = c->prev;
    pool->n--;
    trim_note(pool->trim, sizeof(*c) + 2 * pool->policy->max_request);
    c->hooks->on_close(c); /* what the layer above holds through c goes first */
    while ((e = c->out_head)) {
        c->out_head = e->next;
        conn_out_free(c, e);
    }
    c->out_tail = &c->out_head;
    c->out_bytes = 0;
    peers_leave(pool->peers, c->uid);
    c->uid = NULL;
    conn_fds_in_drop(c, UINT64_MAX);
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
    c->hooks->on_free(c);
    decoder_free(c->dec);
    free(c->spare);
    free(c);
}

/* Send queued messages until the socket would block. */
static void conn_flush(struct conn *c)
{
    struct conn_out *e;

    while (!c->closing && (e = c->out_head)) {
        ssize_t n;

        /* The layer above's descriptor for the reference (still its after). */
        if (e->ref && c->hooks->out_fd(c, e->ref, e->tag, &e->fd) < 0) {
            conn_close(c, "a queued reply's descriptor cannot be reopened");
            return;
        }
        n = fdio_send(c->fd, e->data + e->off, e->len - e->off, e->fd, MSG_DONTWAIT);
        if (n < 0 && e->ref)
            e->fd = -1; /* asked for again at the next try */
        if (n == -EINTR)
            continue;
        if (n == -EAGAIN || n == -EWOULDBLOCK)
            return;
        if (n < 0) {
            conn_close(c, strerror((int)-n));
            return;
        }
        /* The descriptor went with these bytes: the client holds its own copy now. */
        conn_out_drop_fd(c, e);
        e->off += (size_t)n;
        c->out_bytes -= (size_t)n;
        if (e->off == e->len) {
            c->out_head = e->next;
            if (!c->out_head)
                c->out_tail = &c->out_head;
            conn_out_free(c, e);
        }
    }
}

/* The queued reply e (not yet begun) keeps a copy of just its bytes: msgpack's buffer
 * starts at 8 KiB, which a reply that waits would otherwise hold for 300 bytes. */
static void conn_out_shrink(struct conn_out *e)
{
    char *tight = malloc(e->len);

    if (!tight)
        return;
    memcpy(tight, e->data, e->len);
    free(e->data);
    e->data = tight;
}

/* A reply was queued: say so once when all queues together reach their limit. */
static void conn_note_queued(struct conn_pool *pool, size_t before)
{
    size_t most = pool->policy->max_queued_total;

    if (before < most && pool->queued_total >= most && ratelog_allow(&pool->queues_full))
        log_warning(pool->log, "reply queues hold %zu bytes, the most allowed "
                    "(--max-queued-total): clients with unread replies are not read from "
                    "until they read", pool->queued_total);
}

/* Queue data with fd, or with the descriptor for (ref, tag) (ref not NULL, held), and
 * send. */
static int conn_queue(struct conn *c, char *data, size_t len, int fd, void *ref, int tag)
{
    struct conn_out *e = NULL;
    size_t before;

    if (c->closing)
        goto drop;
    if (c->out_bytes + len > c->pool->policy->max_queued) {
        conn_close(c, "it does not read its replies");
        goto drop;
    }
    e = c->spare ? c->spare : malloc(sizeof(*e));
    c->spare = NULL;
    if (!e) {
        conn_close(c, "out of memory");
        goto drop;
    }
    *e = (struct conn_out){ .data = data, .len = len, .fd = fd, .ref = ref, .tag = tag };
    ref = NULL; /* e's now */
    *c->out_tail = e;
    c->out_tail = &e->next;
    c->out_bytes += len;
    c->out_n++;
    before = c->pool->queued_total;
    c->pool->queued_total += len + CONN_OUT_OVERHEAD;
    conn_flush(c);
    /* Whatever is left includes e, the last one. */
    if (!c->closing && c->out_head && e->off == 0)
        conn_out_shrink(e);
    if (!c->closing)
        conn_note_queued(c->pool, before);
    conn_update_poll(c);
    return c->closing ? -EPIPE : 0;

drop:
    free(data);
    if (ref)
        c->hooks->out_unref(ref);
    return -EPIPE;
}

int conn_send(struct conn *c, char *data, size_t len, int fd)
{
    return conn_queue(c, data, len, fd, NULL, 0);
}

int conn_send_ref(struct conn *c, char *data, size_t len, void *ref, int tag)
{
    return conn_queue(c, data, len, -1, ref, tag);
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

bool conn_pin(struct conn *c, const void *ref, int tag, int fd)
{
    struct conn_out *e, *last = NULL;

    for (e = c->out_head; e; e = e->next) {
        if (e->ref == ref && e->tag == tag) {
            c->hooks->out_unref(e->ref);
            e->ref = NULL;
            e->fd = fd;
            last = e;
        }
    }
    if (!last)
        return false;
    last->owned = last->pinned = true;
    c->pinned++;
    return true;
}

/* Hand complete requests to the layer above, unless replies are piling up, for one turn:
 * while c's uid has some of its share of the turn left (conn_uid_may), which a
 * request that walks daemon-wide state uses up. */
static void conn_process(struct conn *c)
{
    int fds[CONN_FDS_IN];
    msgpack_object obj;
    uint64_t start, end;
    unsigned nfds, kept;
    bool served = false;
    int r;

    while (!c->closing && conn_may_answer(c)) {
        if (!conn_uid_may(c)) {
            if (decoder_pending(c->dec) > 0)
                conn_backlog_add(c, !served);
            break;
        }
        start = c->rx_bytes - decoder_pending(c->dec);
        /* The layer above may answer a request from its bytes, sparing its decoding;
         * only one that came with no descriptor, so none is left to hand out. */
        if (c->nfds_in == 0 && c->hooks->on_frame) {
            const uint8_t *bytes;
            size_t len, took;

            decoder_peek(c->dec, &bytes, &len);
            took = len > 0 ? c->hooks->on_frame(c, bytes, len) : 0;
            if (took > 0) {
                decoder_skip(c->dec, took);
                c->nrequests++;
                if (!c->closing) /* the answer may have closed c: its uid record is gone */
                    c->uid->answered++;
                served = true;
                continue;
            }
        }
        r = decoder_next(c->dec, &obj);
        if (r == 0)
            break;
        if (r < 0) {
            if (ratelog_allow(c->pool->closings))
                log_warning(c->pool->log, "connection %llu (pid %u): undecodable request (%s): "
                            "closing", (unsigned long long)c->id, c->peer.pid, strerror(-r));
            if (r == -E2BIG)
                conn_close_with(c, r, "a request is longer than the daemon's --max-request");
            else
                conn_close(c, "undecodable request");
            return;
        }
        c->nrequests++;
        c->uid->answered++;
        served = true;
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
        if (c->hooks->on_message(c, &obj, fds, nfds) && !c->closing)
            c->uid->answered = CONN_TURN_REQUESTS;
    }
    conn_update_poll(c);
    conn_watch_idle(c);
}

static void conn_read(struct conn *c)
{
    static_assert(PROTO_REQUEST_MAX <= 64 * 1024, "the read buffer lives on the stack");
    uint8_t buf[PROTO_REQUEST_MAX];
    int fds[CONN_FDS_IN];
    size_t nfds;
    bool truncated;
    ssize_t n;
    int r;

    /* At most one frame per read, so the decoder never holds more than two. */
    n = fdio_recv(c->fd, buf, c->pool->policy->max_request, MSG_DONTWAIT, fds, CONN_FDS_IN,
                  &nfds, &truncated);
    /* Keep what fits for the request these bytes start (adopt takes one); a client
     * cannot make the daemon hold more than CONN_FDS_IN: the rest are closed. */
    for (size_t i = 0; i < nfds; i++) {
        if (c->nfds_in < CONN_FDS_IN)
            c->fds_in[c->nfds_in++] = (struct conn_fd_in){
                .fd = fds[i], .from = c->rx_bytes, .to = c->rx_bytes + (uint64_t)n };
        else
            close(fds[i]);
    }
    if (n > 0)
        c->rx_bytes += (uint64_t)n;
    if (n < 0) {
        if (n != -EAGAIN && n != -EWOULDBLOCK && n != -EINTR)
            conn_close(c, strerror((int)-n));
        return;
    }
    if (n == 0) {
        conn_close(c, decoder_pending(c->dec) ? "peer left mid-request" : "peer left");
        return;
    }
    /* What the client posted before sending these bytes applies before they do. */
    if (!c->hooks->on_read(c))
        return;
    r = decoder_feed(c->dec, buf, (size_t)n);
    if (r < 0) {
        if (ratelog_allow(c->pool->closings))
            log_warning(c->pool->log, "connection %llu (pid %u): %s: closing",
                        (unsigned long long)c->id, c->peer.pid, strerror(-r));
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
    if (events & UV_WRITABLE) {
        conn_flush(c);
        if (!c->closing && !c->out_head && c->hooks->on_drained)
            c->hooks->on_drained(c);
    }
    if (!c->closing && (events & UV_READABLE) && !c->backlog)
        conn_read(c);
    else if (!c->closing && !c->backlog)
        conn_process(c); /* the queue may have drained below the pause mark */
    conn_update_poll(c);
}
