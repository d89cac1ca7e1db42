/* client.c — one connection to sharrd: connect and hello, requests multiplexed from
 * many threads over one socket, descriptors received with their replies, reconnect
 * after the daemon went away, and a fresh connection in a forked child.
 *
 * It knows the envelope of messages (codec.h) but not what any method means: the
 * caller packs the request and parses the result (array.c, catalog.c).
 */
#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "client.h"
#include "codec.h"
#include "decoder.h"
#include "fdio.h"
#include "limits.h"
#include "ring.h"
#include "sockpath.h"

#define CLIENT_HELLO_MSGID 0u       /* hello goes first and alone; calls never use 0 */
#define CLIENT_RECV_CHUNK (256u * 1024) /* a list page of 1024 arrays in one read: the
                                            * decoder then scans its frame once */
#define CLIENT_CMSG_FDS 32          /* descriptors one recvmsg can take; more is -EPROTO */
/* After each read at most one descriptor stays queued (see client_fdq_trim), so the
 * queue never holds more than one read's worth plus that one. */
#define CLIENT_FDQ_MAX (CLIENT_CMSG_FDS + 1)
#define CLIENT_MSG_MAX 384
#define CLIENT_DIAL_TRIES 5         /* reconnect: 5 tries, waiting 62+125+250+500 ms */
#define CLIENT_DIAL_FIRST_DELAY_MS 62
#define CLIENT_SEND_TRIES 2         /* a request whose send failed goes once more */

enum client_state {
    CLIENT_DOWN,     /* no socket; the next call dials */
    CLIENT_DIALING,  /* one thread dials without the lock; others wait */
    CLIENT_UP,
    CLIENT_BROKEN,   /* a send failed while a reader was in recvmsg: the socket is shut
                        down and is closed by whoever reads next */
};

/* One request waiting for its response; lives on the calling thread's stack. */
struct client_call {
    struct client_call *next;
    uint32_t msgid;
    client_parse_fn parse;
    void *out;
    bool done;
    int rc;
    int fd;
    char msg[CLIENT_MSG_MAX];
};

/* sharr_server keeps its size for the whole ABI (sharr.h). */
_Static_assert(sizeof(struct sharr_server) == 128, "sharr_server: take new fields from reserved");

/* What a successful dial hands over. */
struct client_link {
    int fd;
    struct decoder *dec;
    struct sharr_server server;
    bool release_notify;        /* the daemon offered the capability "release_notify" */
    bool release_ring;          /* ... and "release_ring" */
};

struct sharr {
    atomic_int refs;
    /* The process that owns the socket and the lock state; -pid while a forked child
     * pid is resetting them (see client_check_fork). */
    atomic_int owner_pid;
    atomic_uint next_msgid;
    char path[sizeof(((struct sockaddr_un *)0)->sun_path)];
    char *rbuf;                 /* CLIENT_RECV_CHUNK bytes, used only by the reader */

    pthread_mutex_t lock;
    pthread_cond_t cond;        /* broadcast whenever a call completes or state changes */
    /* Everything below is guarded by lock. */
    enum client_state state;
    int fd;
    uint64_t gen;               /* counts successful dials; arrays remember theirs */
    struct decoder *dec;
    bool reading;               /* a thread is in recvmsg on fd without the lock */
    struct client_call *calls;  /* sent, waiting for their response */
    int fdq[CLIENT_FDQ_MAX];    /* received descriptors not yet given to a reply */
    size_t fdq_len;
    unsigned dials;             /* completed dial attempts, so waiters see a failure */
    int dial_err;               /* of the last dial; 0 once one succeeds */
    char dial_msg[CLIENT_MSG_MAX];
    struct sharr_server server;
    bool release_notify;        /* this connection's daemon takes release notifications */
    bool release_ring;          /* ... and offers a release ring */
    void *ring;                 /* this generation's release ring (RING_BYTES), or NULL */
    bool ring_off;              /* this generation has no ring: releases go as messages */
};

/* Send all len bytes; with pass (not NULL) that descriptor goes with the first. */
static int client_send_all(int fd, const void *buf, size_t len, const int *pass)
{
    const char *p = buf;

    while (len > 0) {
        ssize_t n = fdio_send(fd, p, len, pass != NULL ? *pass : -1, 0);

        if (n == -EINTR)
            continue;
        if (n < 0)
            return (int)n;
        p += n;
        len -= (size_t)n;
        pass = NULL;
    }
    return 0;
}

/* One recvmsg with a control buffer, so a descriptor sent with these bytes is never
 * dropped. Descriptors land in fds (at most CLIENT_CMSG_FDS); *ret_truncated is set
 * when the kernel had more than fit. Returns the bytes read (0 at EOF) or -errno. */
static ssize_t client_recv(int fd, void *buf, size_t len, int *fds, size_t *ret_nfds,
                           bool *ret_truncated)
{
    return fdio_recv(fd, buf, len, 0, fds, CLIENT_CMSG_FDS, ret_nfds, ret_truncated);
}

static void client_close_fds(const int *fds, size_t n)
{
    for (size_t i = 0; i < n; i++)
        close(fds[i]);
}

/* Wait for the reply to hello on a fresh socket; nothing else has been sent, so
 * it is the first message. Any descriptor arriving here is unexpected and closed. */
static int client_await_hello(int fd, struct decoder *dec, struct client_link *link,
                              char *err, size_t errlen)
{
    struct sharr_server *ret = &link->server;
    char buf[4096];
    char perr[PROTO_TEXT_MAX + 64];
    msgpack_object obj;
    struct codec_msg m;
    struct codec_hello_reply r;
    int rc;

    for (;;) {
        int fds[CLIENT_CMSG_FDS];
        size_t nfds = 0;
        bool truncated = false;
        ssize_t n;

        rc = decoder_next(dec, &obj);
        if (rc == 1)
            break;
        if (rc < 0) {
            snprintf(err, errlen, "undecodable hello reply from sharrd: %s",
                     sharr_strerror(rc));
            return -EPROTO;
        }
        n = client_recv(fd, buf, sizeof(buf), fds, &nfds, &truncated);
        client_close_fds(fds, nfds);
        if (n == -EINTR)
            continue;
        if (n <= 0) {
            rc = n == 0 ? -ECONNRESET : (int)n;
            snprintf(err, errlen, "connection to sharrd lost during hello: %s",
                     n == 0 ? "closed by sharrd" : sharr_strerror(rc));
            return rc;
        }
        rc = decoder_feed(dec, buf, (size_t)n);
        if (rc < 0) {
            snprintf(err, errlen, "hello reply from sharrd: %s", sharr_strerror(rc));
            return -EPROTO;
        }
    }
    if (codec_parse_msg(&obj, &m, NULL, perr, sizeof(perr)) < 0) {
        snprintf(err, errlen, "malformed hello reply from sharrd: %s", perr);
        return -EPROTO;
    }
    if (m.type != CODEC_RESPONSE || m.msgid != CLIENT_HELLO_MSGID) {
        snprintf(err, errlen, "sharrd sent something other than the hello reply first");
        return -EPROTO;
    }
    if (m.err != 0) {
        snprintf(err, errlen, "sharrd refused hello: %s",
                 m.errmsg[0] != '\0' ? m.errmsg : sharr_strerror(m.err));
        return m.err;
    }
    if (m.result == NULL || codec_parse_reply_hello(m.result, &r, perr, sizeof(perr)) < 0) {
        snprintf(err, errlen, "malformed hello reply from sharrd: %s",
                 m.result == NULL ? "no result" : perr);
        return -EPROTO;
    }
    if (r.version != PROTO_VERSION) {
        snprintf(err, errlen, "sharrd speaks protocol %u, libsharr speaks %u",
                 r.version, PROTO_VERSION);
        return -EPROTONOSUPPORT;
    }
    memset(ret, 0, sizeof(*ret));
    ret->version = r.version;
    snprintf(ret->server, sizeof(ret->server), "%s", r.server);
    ret->pid = r.pid;
#define CLIENT_LIMITS_COPY(field, key) ret->field = r.field;
    CODEC_LIMITS_FIELDS(CLIENT_LIMITS_COPY)
#undef CLIENT_LIMITS_COPY
    link->release_notify = r.release_notify;
    link->release_ring = r.release_ring;
    return 0;
}

/* Connect to path and exchange hello. Blocking; called without the lock. */
static int client_dial_once(const char *path, struct client_link *ret, char *err,
                            size_t errlen)
{
    struct sockaddr_un sa = { .sun_family = AF_UNIX };
    struct codec_hello hello = { .version = PROTO_VERSION };
    msgpack_sbuffer sb;
    struct decoder *dec = NULL;
    int fd = -1;
    int rc;

    msgpack_sbuffer_init(&sb);
    snprintf(hello.client, sizeof(hello.client), "libsharr %s", SHARR_VERSION_STRING);
    memcpy(sa.sun_path, path, strlen(path) + 1);
    fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0) {
        rc = -errno;
        snprintf(err, errlen, "socket: %s", sharr_strerror(rc));
        goto out;
    }
    if (connect(fd, (const struct sockaddr *)&sa, sizeof(sa)) < 0) {
        rc = -errno;
        snprintf(err, errlen, "cannot connect to sharrd at %s: %s%s", path,
                 sharr_strerror(rc),
                 rc == -ENOENT || rc == -ECONNREFUSED ? " (is sharrd running?)" : "");
        goto out;
    }
    dec = decoder_new(PROTO_RESPONSE_MAX, PROTO_DEPTH_MAX);
    if (dec == NULL) {
        rc = -ENOMEM;
        snprintf(err, errlen, "out of memory");
        goto out;
    }
    rc = codec_pack_hello(&sb, CLIENT_HELLO_MSGID, &hello);
    if (rc < 0) {
        snprintf(err, errlen, "out of memory");
        goto out;
    }
    rc = client_send_all(fd, sb.data, sb.size, NULL);
    /* A daemon over a connection limit says why (EMFILE) and closes at once, maybe
     * before hello went out: its reason still waits to be read. */
    if ((rc == -EPIPE || rc == -ECONNRESET)
        && client_await_hello(fd, dec, ret, err, errlen) == -EMFILE) {
        rc = -EMFILE;
        goto out;
    }
    if (rc < 0) {
        snprintf(err, errlen, "sending hello to sharrd at %s: %s", path, sharr_strerror(rc));
        goto out;
    }
    rc = client_await_hello(fd, dec, ret, err, errlen);
    if (rc < 0)
        goto out;
    ret->fd = fd;
    ret->dec = dec;
    fd = -1;
    dec = NULL;
out:
    decoder_free(dec);
    if (fd >= 0)
        close(fd);
    msgpack_sbuffer_destroy(&sb);
    return rc;
}

/* Failures a daemon that is (re)starting produces: no socket file yet, nobody
 * listening on it, a full backlog, or a connection dropped during hello. */
static bool client_dial_retryable(int err)
{
    return err == -ENOENT || err == -ECONNREFUSED || err == -EAGAIN ||
           err == -ECONNRESET || err == -EPIPE || err == -EINTR;
}

static int client_dial(const char *path, int tries, struct client_link *ret, char *err,
                       size_t errlen)
{
    long delay_ms = CLIENT_DIAL_FIRST_DELAY_MS;
    int rc;

    for (int i = 1;; i++) {
        struct timespec ts;

        rc = client_dial_once(path, ret, err, errlen);
        if (rc >= 0 || i >= tries || !client_dial_retryable(rc))
            break;
        ts.tv_sec = delay_ms / 1000;
        ts.tv_nsec = (delay_ms % 1000) * 1000000L;
        while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
            ;
        delay_ms *= 2;
    }
    if (rc < 0 && tries > 1 && client_dial_retryable(rc)) {
        size_t len = strlen(err);

        snprintf(err + len, errlen - len, " (gave up after %d tries)", tries);
    }
    return rc;
}

/* Drop the socket and fail every call in flight with err. Only while nobody reads:
 * the reader uses the descriptor without the lock. Returns err. */
static int client_break_locked(sharr_t *c, int err, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static int client_break_locked(sharr_t *c, int err, const char *fmt, ...)
{
    char msg[CLIENT_MSG_MAX];
    va_list ap;
    int fd = c->fd;

    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    /* -1 before close: a fork in between must never see a closed number as ours. */
    c->fd = -1;
    if (fd >= 0)
        close(fd);
    decoder_free(c->dec);
    c->dec = NULL;
    client_close_fds(c->fdq, c->fdq_len);
    c->fdq_len = 0;
    for (struct client_call *call = c->calls; call != NULL; call = call->next) {
        call->done = true;
        call->rc = err;
        snprintf(call->msg, sizeof(call->msg), "%s", msg);
    }
    c->calls = NULL;
    c->state = CLIENT_DOWN;
    pthread_cond_broadcast(&c->cond);
    return err;
}

/* The socket failed under a sender. If a reader is in recvmsg it cannot be closed
 * yet: shut it down, which wakes the reader with EOF, and let it break. */
static void client_abort_locked(sharr_t *c, int err)
{
    if (c->reading) {
        shutdown(c->fd, SHUT_RDWR);
        c->state = CLIENT_BROKEN;
        return;
    }
    client_break_locked(c, -ECONNRESET, "connection to sharrd lost: %s", sharr_strerror(err));
}

/* Make the connection usable: wait for another thread's dial, or dial here (without
 * the lock, so replies to other threads are not held up). */
/* A new generation: its daemon's capabilities, and no ring yet. */
static void client_link_caps_locked(sharr_t *c, const struct client_link *link)
{
    if (c->ring != NULL)
        munmap(c->ring, RING_BYTES);
    c->ring = NULL;
    c->ring_off = false;
    c->release_notify = link->release_notify;
    c->release_ring = link->release_ring;
}

static int client_ensure_up_locked(sharr_t *c)
{
    for (;;) {
        struct client_link link;
        char err[CLIENT_MSG_MAX];
        int rc;

        if (c->state == CLIENT_UP)
            return 0;
        if (c->state == CLIENT_BROKEN) {
            if (!c->reading)
                client_break_locked(c, -ECONNRESET, "connection to sharrd lost");
            else
                pthread_cond_wait(&c->cond, &c->lock);
            continue;
        }
        if (c->state == CLIENT_DIALING) {
            unsigned seen = c->dials;

            while (c->state == CLIENT_DIALING)
                pthread_cond_wait(&c->cond, &c->lock);
            if (c->state == CLIENT_DOWN && c->dials != seen)
                return client_fail(c->dial_err, "%s", c->dial_msg);
            continue;
        }
        c->state = CLIENT_DIALING;
        pthread_mutex_unlock(&c->lock);
        rc = client_dial(c->path, CLIENT_DIAL_TRIES, &link, err, sizeof(err));
        pthread_mutex_lock(&c->lock);
        c->dials++;
        if (rc < 0) {
            c->state = CLIENT_DOWN;
            c->dial_err = rc;
            snprintf(c->dial_msg, sizeof(c->dial_msg), "%s", err);
            pthread_cond_broadcast(&c->cond);
            return client_fail(rc, "%s", err);
        }
        c->fd = link.fd;
        c->dec = link.dec;
        c->server = link.server;
        c->dial_err = 0;
        client_link_caps_locked(c, &link);
        c->gen++;
        c->state = CLIENT_UP;
        pthread_cond_broadcast(&c->cond);
    }
}

/* True when a result map says {"fd": true}: a descriptor travels with the reply. */
static bool client_declares_fd(const msgpack_object *result)
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

static struct client_call *client_take_call(sharr_t *c, uint32_t msgid)
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
static int client_dispatch_locked(sharr_t *c, const msgpack_object *obj)
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
    if (m.err == 0 && client_declares_fd(m.result)) {
        if (c->fdq_len == 0)
            return client_break_locked(c, -EPROTO,
                                       "reply %u from sharrd announced a descriptor that "
                                       "did not arrive", m.msgid);
        fd = c->fdq[0];
        memmove(c->fdq, c->fdq + 1, --c->fdq_len * sizeof(int));
    }
    call = client_take_call(c, m.msgid);
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

/* A descriptor arrives with the first byte of its reply, so after the complete
 * replies took theirs, only a reply still half-received can own one: the newest.
 * Older ones were announced by nobody and are closed. */
static void client_fdq_trim_locked(sharr_t *c)
{
    size_t keep = decoder_pending(c->dec) > 0 ? 1 : 0;

    if (c->fdq_len <= keep)
        return;
    client_close_fds(c->fdq, c->fdq_len - keep);
    memmove(c->fdq, c->fdq + (c->fdq_len - keep), keep * sizeof(int));
    c->fdq_len = keep;
}

/* Be the reader once: recvmsg without the lock, then queue descriptors and dispatch
 * every complete reply. Waiting threads are woken whatever happened. */
static void client_read_locked(sharr_t *c)
{
    int fds[CLIENT_CMSG_FDS];
    size_t nfds = 0;
    bool truncated = false;
    msgpack_object obj;
    int fd = c->fd;
    ssize_t n;
    int rc;

    c->reading = true;
    pthread_mutex_unlock(&c->lock);
    n = client_recv(fd, c->rbuf, CLIENT_RECV_CHUNK, fds, &nfds, &truncated);
    pthread_mutex_lock(&c->lock);
    c->reading = false;

    if (truncated || c->fdq_len + nfds > CLIENT_FDQ_MAX) {
        client_close_fds(fds, nfds);
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
    while ((rc = decoder_next(c->dec, &obj)) == 1) {
        if (client_dispatch_locked(c, &obj) < 0)
            goto wake;
    }
    if (rc < 0) {
        client_break_locked(c, -EPROTO, "undecodable reply from sharrd: %s",
                            sharr_strerror(rc));
        goto wake;
    }
    client_fdq_trim_locked(c);
    if (c->state == CLIENT_BROKEN)
        client_break_locked(c, -ECONNRESET, "connection to sharrd lost");
wake:
    pthread_cond_broadcast(&c->cond);
}

/* In a forked child: the socket, lock, condition and pending calls are copies of
 * the parent's, and parent threads that held or waited on them do not exist here. */
static void client_reset_after_fork(sharr_t *c)
{
    /* A lock that is free was not held mid-change at fork: the state is sound and
     * the decoder can be freed. A lock held by a parent thread that does not exist
     * here is initialised afresh, and the decoder it guarded is left allocated
     * rather than freed in an unknown state. */
    bool consistent = pthread_mutex_trylock(&c->lock) == 0;

    /* Closing the child's copies sends nothing; the parent's socket stays open. */
    if (c->fd >= 0)
        close(c->fd);
    client_close_fds(c->fdq, c->fdq_len);
    if (consistent)
        decoder_free(c->dec);
    c->state = CLIENT_DOWN;
    c->fd = -1;
    c->dec = NULL;
    c->reading = false;
    c->calls = NULL;
    c->fdq_len = 0;
    /* The ring was mapped MADV_DONTFORK: it is not in the child. */
    c->ring = NULL;
    /* Initialised, not destroyed: destroying a condition that parent threads were
     * waiting on blocks forever. */
    pthread_cond_init(&c->cond, NULL);
    if (consistent)
        pthread_mutex_unlock(&c->lock);
    else
        pthread_mutex_init(&c->lock, NULL);
}

/* The calling process's pid without a system call per use. This cache is the one
 * piece of process-wide mutable state in libsharr: a pthread_atfork child handler
 * clears it, so the child of a fork() (os.fork and multiprocessing included) reads
 * its own pid again at its first call. A child made by a raw clone() system call,
 * which runs no fork handlers, must not use libsharr. */
static atomic_int client_cached_pid;
static pthread_once_t client_pid_once = PTHREAD_ONCE_INIT;

static void client_pid_forget(void)
{
    atomic_store(&client_cached_pid, 0);
}

static void client_pid_watch_forks(void)
{
    pthread_atfork(NULL, NULL, client_pid_forget);
}

pid_t client_pid(void)
{
    int pid = atomic_load_explicit(&client_cached_pid, memory_order_relaxed);

    if (pid == 0) {
        /* The handler is in place before the pid is cached: any fork after this
         * point clears it in the child. */
        pthread_once(&client_pid_once, client_pid_watch_forks);
        pid = (int)getpid();
        atomic_store(&client_cached_pid, pid);
    }
    return pid;
}

/* Every entry point runs this before touching the lock. The compare-exchange lets
 * exactly one thread of a child reset; the others wait until it is done. */
static void client_check_fork(sharr_t *c)
{
    int me = (int)client_pid();

    for (;;) {
        int seen = atomic_load(&c->owner_pid);

        if (seen == me)
            return;
        if (seen == -me) {
            sched_yield();
            continue;
        }
        if (atomic_compare_exchange_strong(&c->owner_pid, &seen, -me)) {
            client_reset_after_fork(c);
            atomic_store(&c->owner_pid, me);
            return;
        }
    }
}

static uint32_t client_next_msgid(sharr_t *c)
{
    uint32_t id;

    do
        id = atomic_fetch_add(&c->next_msgid, 1u);
    while (id == CLIENT_HELLO_MSGID);
    return id;
}

int client_call(sharr_t *c, const struct client_request *req, struct client_reply *ret)
{
    struct client_call call = {
        .fd = -1, .parse = req->parse, .out = req->out,
    };
    msgpack_sbuffer sb, nb;
    uint64_t gen = 0;
    bool notified = false;
    int rc;

    msgpack_sbuffer_init(&sb);
    msgpack_sbuffer_init(&nb);
    call.msgid = client_next_msgid(c);
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
        if (req->pack_notify != NULL && c->release_notify) {
            /* Nothing to wait for: the daemon applies it before any later request of
             * this connection, and no reply comes. */
            rc = client_send_all(c->fd, nb.data, nb.size, NULL);
            if (rc >= 0) {
                notified = true;
                break;
            }
            client_abort_locked(c, rc);
            if (attempt == CLIENT_SEND_TRIES) {
                rc = client_fail(-ECONNRESET, "connection to sharrd lost while sending: %s",
                                 sharr_strerror(rc));
                goto unlock;
            }
            continue;
        }
        call.next = c->calls;
        c->calls = &call;
        /* Sent whole under the lock: requests of different threads never interleave. */
        rc = client_send_all(c->fd, sb.data, sb.size, req->send_fd);
        if (rc >= 0)
            break;
        client_take_call(c, call.msgid);
        client_abort_locked(c, rc);
        if (attempt == CLIENT_SEND_TRIES) {
            rc = client_fail(-ECONNRESET, "connection to sharrd lost while sending: %s",
                             sharr_strerror(rc));
            goto unlock;
        }
    }
    while (!notified && !call.done) {
        if (!c->reading)
            client_read_locked(c);
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
    return rc;
}

bool client_unreachable(sharr_t *c)
{
    bool down;

    pthread_mutex_lock(&c->lock);
    down = c->state == CLIENT_DOWN && c->dial_err != 0;
    pthread_mutex_unlock(&c->lock);
    return down;
}

size_t client_page_size(sharr_t *c, size_t cap)
{
    uint32_t n;

    client_check_fork(c);
    pthread_mutex_lock(&c->lock);
    n = c->server.list_page_max;
    pthread_mutex_unlock(&c->lock);
    if (n == 0 || n > PROTO_LIST_PAGE_MAX)
        n = PROTO_LIST_PAGE_MAX;
    return cap < n ? cap : n;
}

int client_ring_post(sharr_t *c, uint64_t gen, uint64_t handle)
{
    int rc;

    client_check_fork(c);
    pthread_mutex_lock(&c->lock);
    if (c->state != CLIENT_UP || c->gen != gen)
        rc = c->gen != gen ? 0 : -ENOSPC;
    else if (c->ring != NULL)
        rc = ring_post(c->ring, handle);
    else
        rc = c->release_ring && !c->ring_off ? 1 : -ENOSPC;
    pthread_mutex_unlock(&c->lock);
    return rc;
}

void client_ring_set(sharr_t *c, uint64_t gen, void *map)
{
    client_check_fork(c);
    pthread_mutex_lock(&c->lock);
    if (c->gen == gen && c->ring == NULL && !c->ring_off) {
        c->ring = map;
        c->ring_off = map == NULL;
        map = NULL;
    }
    pthread_mutex_unlock(&c->lock);
    if (map != NULL)
        munmap(map, RING_BYTES);
}

static void client_free(sharr_t *c)
{
    if (c->ring != NULL)
        munmap(c->ring, RING_BYTES);
    if (c->fd >= 0)
        close(c->fd);
    decoder_free(c->dec);
    client_close_fds(c->fdq, c->fdq_len);
    pthread_cond_destroy(&c->cond);
    pthread_mutex_destroy(&c->lock);
    free(c->rbuf);
    free(c);
}

void client_ref(sharr_t *c)
{
    atomic_fetch_add(&c->refs, 1);
}

void client_unref(sharr_t *c)
{
    client_check_fork(c);
    if (atomic_fetch_sub(&c->refs, 1) == 1)
        client_free(c);
}

int sharr_connect(const char *path, sharr_t **ret_conn)
{
    struct client_link link;
    char err[CLIENT_MSG_MAX];
    sharr_t *c = NULL;
    int rc;

    if (ret_conn == NULL)
        return client_fail(-EINVAL, "sharr_connect: ret_conn is NULL");
    c = calloc(1, sizeof(*c));
    if (c == NULL)
        return client_fail(-ENOMEM, "out of memory");
    c->fd = -1;
    if (path == NULL) {
        rc = sockpath_client(c->path, sizeof(c->path));
        if (rc < 0) {
            rc = client_fail(rc, "default socket path is too long");
            goto fail;
        }
    } else if (path[0] == '\0' || strlen(path) >= sizeof(c->path)) {
        rc = client_fail(path[0] == '\0' ? -EINVAL : -ENAMETOOLONG,
                         "socket path '%s' is empty or longer than %zu bytes", path,
                         sizeof(c->path) - 1);
        goto fail;
    } else {
        memcpy(c->path, path, strlen(path) + 1);
    }
    c->rbuf = malloc(CLIENT_RECV_CHUNK);
    if (c->rbuf == NULL) {
        rc = client_fail(-ENOMEM, "out of memory");
        goto fail;
    }
    /* The first connect is tried once: a daemon that is not running is reported at
     * once. Reconnects later retry, since then a daemon is likely restarting. */
    rc = client_dial(c->path, 1, &link, err, sizeof(err));
    if (rc < 0) {
        rc = client_fail(rc, "%s", err);
        goto fail;
    }
    pthread_mutex_init(&c->lock, NULL);
    pthread_cond_init(&c->cond, NULL);
    atomic_init(&c->refs, 1);
    atomic_init(&c->owner_pid, (int)client_pid());
    atomic_init(&c->next_msgid, CLIENT_HELLO_MSGID + 1);
    c->fd = link.fd;
    c->dec = link.dec;
    c->server = link.server;
    client_link_caps_locked(c, &link);
    c->gen = 1;
    c->state = CLIENT_UP;
    *ret_conn = c;
    return 0;
fail:
    free(c->rbuf);
    free(c);
    return rc;
}

void sharr_disconnect(sharr_t *conn)
{
    if (conn != NULL)
        client_unref(conn);
}

int sharr_server_info(sharr_t *conn, struct sharr_server *ret_info)
{
    if (conn == NULL || ret_info == NULL)
        return client_fail(-EINVAL, "sharr_server_info: conn or ret_info is NULL");
    client_check_fork(conn);
    pthread_mutex_lock(&conn->lock);
    *ret_info = conn->server;
    pthread_mutex_unlock(&conn->lock);
    return 0;
}
