/* conn.h — one client connection as a transport: its socket, request decoding, the
 * queue of replies (each with an optional descriptor) and the timers and turns that
 * pace it. It knows nothing of what the messages mean: what it reads goes up through
 * the conn_hooks its creator set, and it calls nothing above it by name. What the
 * client holds (attachments, waiting opens, the descriptions it was handed, the
 * release ring: session.h) is the layer above's, in c->data.
 *
 * A connection is reference-counted: its poll handle holds one reference until
 * its close callback, and each thread-pool job or waiter working for it holds
 * another, so late work finds a closed (not freed) connection and drops its reply.
 * The connections of one uid together are answered at most CONN_TURN_REQUESTS
 * requests per turn of the loop (up to one, when a request walks daemon-wide state),
 * and finish a longer batch in later turns, so one user's batches share the loop
 * with everyone else's however many connections that user opens. What the
 * connections share (their list, the bytes they queue, the turns) is a struct
 * conn_pool, which the daemon embeds.
 */
#ifndef DAEMON_CONN_H
#define DAEMON_CONN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <uv.h>

#include "access.h"
#include "codec.h"
#include "log.h"
#include "peers.h"
#include "policy.h"
#include "ratelog.h"
#include "trim.h"

struct conn;
struct conn_out;

#define CONN_FDS_IN 16 /* descriptors received and not yet given to a request */
/* The descriptors of a connection's own: its socket and CONN_FDS_IN received. The
 * layer above adds what its replies carry (descriptors.h: DESCRIPTORS_NOFILE). */
#define CONN_NOFILE (1 + CONN_FDS_IN)
#define CONN_TURN_REQUESTS 64 /* requests of one uid answered per turn of the loop */

/* A descriptor a client sent, and the stream bytes [from, to) of the recvmsg it came
 * with: it belongs to the last request whose first byte is among them. */
struct conn_fd_in {
    int fd;
    uint64_t from, to;
};

/* What the layer above does with a connection, set by conn_new's caller (as tmux's
 * proc_add_peer takes its dispatch callback): conn.c calls none of it by name. */
struct conn_hooks {
    /* One decoded message (valid during the call) and the nfds descriptors that came
     * with it (taken). Returns true when the request walked daemon-wide state: c's uid's
     * turn of the loop ends. */
    bool (*on_message)(struct conn *c, const msgpack_object *obj, const int *fds,
                       unsigned nfds);
    /* May be NULL. The bytes waiting to be decoded (valid during the call), offered
     * when no descriptor came with them: the length of the whole request at their start
     * it answered itself, one that walks no daemon-wide state, or 0 to have that request
     * decoded and passed to on_message as usual. */
    size_t (*on_frame)(struct conn *c, const uint8_t *bytes, size_t len);
    /* Before the bytes of one read are decoded. Returns false once c was closed. */
    bool (*on_read)(struct conn *c);
    /* In conn_close, first: c is closing, its queued replies and its uid's record
     * (c->uid) are still there. */
    void (*on_close)(struct conn *c);
    /* When the last reference to c goes, before c is freed: c->data can go. */
    void (*on_free)(struct conn *c);
    /* A reply queued with conn_send_ref is about to send its first byte: the
     * descriptor to send with it for (ref, tag), which stays the layer above's (conn.c
     * never closes it). 0, or a negative errno: then c is closed. */
    int (*out_fd)(struct conn *c, void *ref, int tag, int *ret_fd);
    /* A reply queued with conn_send_ref no longer needs ref (sent, dropped, or given a
     * descriptor of its own by conn_pin): let go of the reference it was queued with. */
    void (*out_unref)(void *ref);
    /* The socket took the last of c's queued replies after having to wait for room
     * (a slow reader caught up). May be NULL; may queue replies. */
    void (*on_drained)(struct conn *c);
};

/* What every connection of one daemon shares: their list, the bytes of replies they
 * queue together, and the turns of the loop their requests are answered in. The
 * daemon embeds one; conn_pool_init sets it up. */
struct conn_pool {
    uv_loop_t *loop;
    struct log_ctx *log;
    const struct policy *policy; /* --max-request, --max-queued(-total), --request-timeout */
    struct peers *peers;         /* each connection joins its uid's record */
    struct trim *trim;           /* told of the memory a closed connection gave back */
    struct ratelog *closings;    /* lines on connections closed for what their peer sent */
    struct conn *head;           /* open connections, newest first */
    size_t n;
    uint64_t next_id;
    size_t queued_total;         /* memory of every connection's queued replies */
    struct ratelog queues_full;  /* "reply queues hold" lines (--max-queued-total) */
    struct conn *backlog, **backlog_tail; /* served, with requests left for their next turn */
    struct conn *passed, **passed_tail;   /* passed over: their uid's share was spent */
    uv_idle_t backlog_idle;      /* runs those turns */
    uv_check_t turn_check;       /* counts the turns of the loop */
    uint64_t turn;
    bool on;                     /* backlog_idle and turn_check initialised and not closed */
    char *spare_reply;           /* a sent reply's buffer of CONN_REPLY_ROOM bytes or a
                                  * few more, kept for the next (conn_reply_init), or NULL */
};

struct conn {
    struct conn_pool *pool;        /* the connections it is one of */
    const struct conn_hooks *hooks; /* the layer above (static, never NULL) */
    void *data;                    /* the layer above's state for c (conn_new), or NULL */
    uint64_t id;                   /* for log lines */
    int fd;
    uv_poll_t poll;
    int events;                    /* what poll is started for now */
    unsigned refs;
    bool closing;                  /* conn_close ran: no more requests or replies */
    struct access_peer peer;       /* SO_PEERCRED at accept */
    struct decoder *dec;
    struct conn_out *out_head, **out_tail;
    struct conn_out *spare;        /* a freed queue entry kept for the next reply */
    size_t out_bytes;              /* queued reply bytes not yet sent */
    size_t out_n;                  /* replies queued */
    struct peers_uid *uid;         /* what its uid holds (peers.h); NULL once closed */
    bool backlog;                  /* has requests left for a later turn (pool->backlog) */
    struct conn *backlog_next;
    unsigned pinned;               /* descriptors conn_pin gave its queued replies */
    struct conn *prev, *next;      /* the pool's open connections */
    uv_timer_t idle;               /* runs while a request is half-sent (--request-timeout) */
    uint64_t nrequests;            /* requests decoded so far */
    uint64_t idle_mark;            /* nrequests when idle was started */
    uint64_t rx_bytes;             /* bytes read from the socket so far */
    struct conn_fd_in fds_in[CONN_FDS_IN]; /* received, oldest first, not yet dispatched */
    unsigned nfds_in;
};

/* Set up pool for the connections of one daemon on loop, with what they share (not
 * copied: each must outlive pool; policy may change between requests). Call before
 * the first conn_new; conn_pool_close at stop (both idempotent). */
void conn_pool_init(struct conn_pool *pool, uv_loop_t *loop, struct log_ctx *log,
                    const struct policy *policy, struct peers *peers, struct trim *trim,
                    struct ratelog *closings);
/* Stop running backlogs and counting turns; the connections must be closed first. */
void conn_pool_close(struct conn_pool *pool);

/* Serve fd (non-blocking, O_CLOEXEC; taken) for peer as one of pool, handing what it
 * reads to hooks (not copied: it must outlive c), with data as c->data. Returns the
 * connection, or NULL when out of memory (fd closed; data is still the caller's). */
struct conn *conn_new(struct conn_pool *pool, int fd, const struct access_peer *peer,
                      const struct conn_hooks *hooks, void *data);

/* Stop serving c: the layer above lets go of what its client holds first
 * (conn_hooks.on_close), then queued replies, received descriptors and the socket go.
 * Idempotent; c is freed once all references are gone. */
void conn_close(struct conn *c, const char *why);

void conn_ref(struct conn *c);
void conn_unref(struct conn *c);

/* Queue one whole message (data, malloc'd, taken) with an optional descriptor to
 * travel with its first byte, and send what the socket accepts now. fd is -1 or one
 * the daemon sends once (a release ring's): hand it to conn_release_fd after. Returns
 * 0, or a negative errno when c is closed or had to be closed (a client that lets more
 * than --max-queued bytes of replies pile up). */
int conn_send(struct conn *c, char *data, size_t len, int fd);

/* The bytes a buffer from conn_reply_init holds at first: msgpack's first allocation. */
#define CONN_REPLY_ROOM MSGPACK_SBUFFER_INIT_SIZE

/* Start sb, empty, for a reply to c that goes to conn_send or conn_send_ref: with the
 * buffer of a reply sent before, when the pool kept one, so a reply that is sent at
 * once (most are) costs no malloc and no free. The caller owns sb as after
 * msgpack_sbuffer_init (msgpack_sbuffer_release or _destroy). */
void conn_reply_init(struct conn *c, msgpack_sbuffer *sb);

/* As conn_send, for a message whose descriptor is known only when its first byte is
 * sent: then hooks->out_fd gives it for (ref, tag). The message holds ref (a
 * reference taken by the caller, let go through hooks->out_unref), no descriptor,
 * while it waits. */
int conn_send_ref(struct conn *c, char *data, size_t len, void *ref, int tag);

/* Close fd (a descriptor c's peer was sent and the layer above no longer keeps) now,
 * unless a queued reply still carries it; then the last such reply (sent after the
 * others) closes it once sent. */
void conn_release_fd(struct conn *c, int fd);

/* fd (taken), the descriptor for (ref, tag), can be had no more once given up: the
 * replies queued for (ref, tag) carry it from now on instead of asking out_fd, the last
 * one sent closing it, and let go of ref. Returns false, fd still the caller's, when no
 * queued reply was for (ref, tag). Each pin counts in c->pinned until its last reply
 * goes. */
bool conn_pin(struct conn *c, const void *ref, int tag, int fd);

/* The memory c's queued replies hold now: their unsent bytes and each one's entry (as
 * pool->queued_total counts it). */
size_t conn_queued_memory(const struct conn *c);
/* The memory a reply of len bytes holds while it is queued. */
size_t conn_reply_cost(size_t len);

/* Whether the replies waiting on all of pool's connections together reach
 * --max-queued-total. Then only connections with none waiting are answered, one reply
 * each until they read; the layer above keeps what each such reply adds small. */
bool conn_queues_full(const struct conn_pool *pool);

#endif
