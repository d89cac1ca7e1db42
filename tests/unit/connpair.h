/* connpair.h — one daemon connection (daemon/conn.c) on a socketpair and a private
 * libuv loop, for the unit tests of the transport: the test writes as the client on
 * the other end and sees, through recording hooks, what the connection hands up.
 * Nothing above conn.c is built in: the hooks are the test's.
 */
#ifndef TESTS_UNIT_CONNPAIR_H
#define TESTS_UNIT_CONNPAIR_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <msgpack.h>

#include "conn.h"

#define CONNPAIR_MSGS 256 /* messages the hooks record */

/* One message handed up: the id it carried and the descriptors that came with it
 * (still open: connpair_free closes them). */
struct connpair_msg {
    uint64_t id;
    int fds[CONN_FDS_IN];
    unsigned nfds;
};

struct connpair {
    uv_loop_t loop;
    struct log_ctx log;
    struct policy policy;
    struct peers peers;
    struct trim trim;
    struct ratelog closings;
    struct conn_pool pool;
    struct conn *c;
    int client;                 /* the client's end of the socketpair */
    struct connpair_msg msgs[CONNPAIR_MSGS];
    unsigned nmsgs;
    size_t reply_len;           /* each message is answered with this many bytes (0: none) */
    bool reply_ref;             /* ...queued with conn_send_ref (the connpair as ref, tag 0) */
    int ref_fd;                 /* what out_fd gives for that reference */
    unsigned out_fd_calls, out_unref_calls;
    unsigned closed, freed;     /* on_close and on_free calls */
    unsigned fds_received;      /* descriptors connpair_drain read (and closed) */
};

/* A connection of uid 1000 with the daemon's default policy, its send buffer made
 * small so that replies of a few KiB wait in its queue while the client does not read. */
struct connpair *connpair_new(void);

/* Close the connection if open, run the loop until nothing is left, and free
 * everything; fails the test if the loop does not close. */
void connpair_free(struct connpair *p);

/* Run the loop without blocking until nothing more happens (a bounded number of
 * turns: what is ready now is handled, no timer is waited for). */
void connpair_settle(struct connpair *p);

/* Pack the request [0, id, "ping", []] into sb (initialised by the caller). */
void connpair_pack(msgpack_sbuffer *sb, uint64_t id);

/* Write all of buf as the client (blocking until the socket takes it). */
void connpair_write(struct connpair *p, const void *buf, size_t len);

/* Read what the client has been sent, without blocking, closing the descriptors that
 * came with it (counted in fds_received); returns how many bytes. */
size_t connpair_drain(struct connpair *p);

#endif
