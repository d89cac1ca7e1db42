/* conn.h — the state of one connection to sharrd (struct sharr), shared by the two
 * files that work on it: client.c (its lifetime: connect, reconnect, fork, free) and
 * call.c (requests and replies over it). Nothing else in the library sees inside it.
 */
#ifndef CLIENT_CONN_H
#define CLIENT_CONN_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/un.h>

#include "attcache.h"
#include "client.h"
#include "link.h"

#define CLIENT_RECV_CHUNK (256u * 1024) /* a list page of 1024 arrays in one read: the
                                            * decoder then scans its frame once */
/* After each read at most one descriptor stays queued (see call_fdq_trim_locked in
 * call.c), so the queue never holds more than one read's worth plus that one. */
#define CLIENT_FDQ_MAX (LINK_CMSG_FDS + 1)
#define CLIENT_MSG_MAX 384

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
    bool frame;                 /* its reply is read from the bytes (client_request) */
    bool done;
    int rc;
    int fd;
    char msg[CLIENT_MSG_MAX];
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
    bool records;               /* ... and keeps a record dtype's "descr" at create */
    void *ring;                 /* this generation's release ring (RING_BYTES), or NULL */
    bool ring_off;              /* this generation has no ring: releases go as messages */
    bool attach_cache;          /* this connection's daemon offers "attach_cache" */
    void *gens;                 /* this generation's generation page (GENS_BYTES, read
                                 * only, attcache.c), or NULL */
    bool gens_off;              /* this generation has no page: nothing is cached */
    struct attcache cache;      /* attachments kept for reuse (attcache.h) */
};

/* Drop the socket and fail every call in flight with err. Only while nobody reads:
 * the reader uses the descriptor without the lock. Returns err. */
int client_break_locked(sharr_t *c, int err, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* The socket failed under a sender. If a reader is in recvmsg it cannot be closed
 * yet: shut it down, which wakes the reader with EOF, and let it break. */
void client_abort_locked(sharr_t *c, int err);

/* Make the connection usable: wait for another thread's dial, or dial here (without
 * the lock, so replies to other threads are not held up). 0, or a negative errno
 * with sharr_last_error() set. */
int client_ensure_up_locked(sharr_t *c);

/* Every entry point runs this before touching the lock. */
void client_check_fork(sharr_t *c);

#endif
