/* methods.h — what sharrd does for each request: hello, create, adopt, open, stat,
 * list, unlink, release, sync, stats, holders, chmod, chown, publish, grow, ring, watch.
 *
 * Parses with proto/codec, decides with the registry, stores and access rules,
 * and answers through conn_send. Slow file work goes to libuv's thread pool.
 */
#ifndef DAEMON_METHODS_H
#define DAEMON_METHODS_H

#include <stdbool.h>

#include <msgpack.h>

struct conn;

/* Handle one decoded message from c (valid only during the call) and the nfds
 * descriptors the client sent with it (taken: adopt uses its one descriptor, and every
 * descriptor is closed once nothing needs it, whatever happens). Requests get exactly
 * one reply, now or later; a message that is not a request is ignored; one whose
 * envelope is malformed gets an EBADMSG reply if its msgid could be read, else c is
 * closed. Returns true for a request whose cost grows with the whole daemon (stat,
 * list, stats, holders: they first apply every connection's release ring), after
 * which the caller ends c's turn of the loop. */
bool methods_dispatch(struct conn *c, const msgpack_object *obj, const int *fds, unsigned nfds);

/* conn_hooks.on_frame: answer the request at the start of bytes (len of them) when it
 * is an open in the form openframe.h reads, as methods_dispatch would answer it.
 * Returns its length, or 0 when it is not one (methods_dispatch gets it decoded). */
size_t methods_frame(struct conn *c, const uint8_t *bytes, size_t len);

#endif
