/* conn.h — one client connection: its socket, request decoding, the queue of
 * replies (each with an optional descriptor) and the descriptions it was handed
 * (fdcache.h), which only it shares. What it reads goes up through the conn_hooks its
 * creator set; it calls nothing above it by name. What the client holds (attachments,
 * waiting opens, the release ring: session.h) is the layer above's, in c->data.
 *
 * A connection is reference-counted: its poll handle holds one reference until
 * its close callback, and each thread-pool job or waiter working for it holds
 * another, so late work finds a closed (not freed) connection and drops its reply.
 * The connections of one uid together are answered at most CONN_TURN_REQUESTS
 * requests per turn of the loop (up to one, when a request walks daemon-wide state),
 * and finish a longer batch in later turns, so one user's batches share the loop
 * with everyone else's however many connections that user opens.
 */
#ifndef DAEMON_CONN_H
#define DAEMON_CONN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <uv.h>

#include "access.h"
#include "codec.h"
#include "fdcache.h"
#include "peers.h"
#include "registry.h"

struct daemon;
struct conn;
struct conn_out;

#define CONN_FDS_IN 16 /* descriptors received and not yet given to a request */
/* Descriptors of removed persistent arrays that one connection's unread replies keep. */
#define CONN_PINNED_MAX FDCACHE_SIZE
/* The most descriptors one connection makes the daemon hold: its socket, its cached
 * descriptions, CONN_FDS_IN received, CONN_PINNED_MAX kept for unread replies, and a
 * release ring's in a reply it leaves unread. A queued reply that carries an array's
 * descriptor holds the array, not a descriptor: it takes one from the cache when it
 * is sent, reopened if the cache gave it up, except for a persistent array removed
 * meanwhile (its file went with its name): those replies keep the descriptor the cache
 * held for it, up to CONN_PINNED_MAX; past that, or if the cache held none, the
 * connection is closed when the reply is due. */
#define CONN_NOFILE (1 + FDCACHE_SIZE + CONN_FDS_IN + CONN_PINNED_MAX + 1)
#define CONN_TURN_REQUESTS 64 /* requests of one uid answered per turn of the loop */
#define CONN_PAGE_WHEN_FULL 16 /* entries of a list or holders page while queues are full */

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
    /* Before the bytes of one read are decoded. Returns false once c was closed. */
    bool (*on_read)(struct conn *c);
    /* In conn_close, first: c is closing, its queued replies and its uid's record
     * (c->uid) are still there. */
    void (*on_close)(struct conn *c);
    /* When the last reference to c goes, before c is freed: c->data can go. */
    void (*on_free)(struct conn *c);
};

struct conn {
    struct daemon *d;
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
    struct peers_uid *uid;         /* what its uid holds (peers.h); NULL once closed */
    bool backlog;                  /* has requests left for a later turn (d->backlog) */
    struct conn *backlog_next;
    struct fdcache descs;          /* descriptors sent to this peer, kept to send again */
    unsigned pinned;               /* removed arrays' descriptors its queued replies keep */
    struct conn *prev, *next;      /* the daemon's open connections */
    uv_timer_t idle;               /* runs while a request is half-sent (--request-timeout) */
    uint64_t nrequests;            /* requests decoded so far */
    uint64_t idle_mark;            /* nrequests when idle was started */
    uint64_t rx_bytes;             /* bytes read from the socket so far */
    struct conn_fd_in fds_in[CONN_FDS_IN]; /* received, oldest first, not yet dispatched */
    unsigned nfds_in;
};

/* Serve fd (non-blocking, O_CLOEXEC; taken) for peer, handing what it reads to hooks
 * (not copied: it must outlive c), with data as c->data. Returns the connection, or
 * NULL when out of memory (fd closed; data is still the caller's). */
struct conn *conn_new(struct daemon *d, int fd, const struct access_peer *peer,
                      const struct conn_hooks *hooks, void *data);

/* Stop serving c: the layer above lets go of what its client holds first
 * (conn_hooks.on_close), then queued replies, cached descriptors and the socket go.
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

/* As conn_send, for a reply that carries a descriptor of a in mode: the one c's cache
 * holds when the first byte is sent (call conn_descriptor first, to check there is
 * one). A reply that waits holds a reference to a, no descriptor (CONN_NOFILE); if
 * none can be had any more when it is sent, c is closed. */
int conn_send_array(struct conn *c, char *data, size_t len, struct registry_array *a,
                    enum meta_mode mode);

/* Close fd (a descriptor c sent and no longer keeps: one its cache gave up, or one
 * sent once) now, unless a queued reply still carries it; then the last such reply
 * (sent after the others) closes it once sent. */
void conn_release_fd(struct conn *c, int fd);

/* A descriptor of a in mode for c's peer: the one c was handed before for (a, mode)
 * if c still caches it, else a new description reopened by registry_descriptor and
 * cached. Two connections never get the same description. The descriptor stays c's:
 * a reply sends it through conn_send_array; never close it. At EMFILE/ENFILE every connection's cache
 * is given up (conn_uncache_all) and the reopen tried once more. 0 or -errno. */
int conn_descriptor(struct conn *c, struct registry_array *a, enum meta_mode mode, int *ret_fd);

/* Give up c's cached descriptors of a (of every array when a is NULL): each is closed
 * now, or, when a is a removed persistent array that queued replies still need (see
 * CONN_NOFILE), once the last of them is sent. Returns how many were given up. */
size_t conn_uncache(struct conn *c, const struct registry_array *a);

/* conn_uncache for every connection of d: a removed array must not be kept alive by
 * them, and at EMFILE/ENFILE they are the descriptors the daemon can do without.
 * Returns how many were given up. */
size_t conn_uncache_all(struct daemon *d, const struct registry_array *a);

/* Whether the replies waiting on all connections together reach --max-queued-total.
 * Then only connections with none waiting are answered, one reply each until they
 * read, and a list or holders page holds at most CONN_PAGE_WHEN_FULL entries (its
 * reader pages on with "more"), so what such replies add beyond the cap is small. */
bool conn_queues_full(const struct daemon *d);

/* The connections with requests left over from their last turn are answered by an
 * idle handle of d's loop, one turn each per loop iteration. init before the first
 * connection; close at stop (both idempotent). */
void conn_backlog_init(struct daemon *d);
void conn_backlog_close(struct daemon *d);

#endif
