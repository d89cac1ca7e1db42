/* methods_reply.h — how every method answers: the reply sent (with a descriptor, or the
 * array's), the error reply with its message, the empty and stat replies, and the lookup
 * of the array a request names, which answers for itself when there is none.
 *
 * Shared by the methods_*.c files only; they own what the requests mean.
 */
#ifndef DAEMON_METHODS_REPLY_H
#define DAEMON_METHODS_REPLY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <msgpack.h>

#include "codec.h"
#include "registry.h"

#define METHODS_ERR_MAX (PROTO_TEXT_MAX + 1)

struct conn;
struct daemon;

/* Send the message packed into sb (r: the packer's result; sb's buffer is taken) with
 * an optional fd sent once (not taken), or with the descriptor of a in mode when a is
 * not NULL (descriptors.h). A packer that failed (r < 0) closes c: it is out of memory. */
void methods_send_with(struct conn *c, msgpack_sbuffer *sb, int r, int fd,
                       struct registry_array *a, enum meta_mode mode);

/* methods_send_with without an array. */
void methods_send(struct conn *c, msgpack_sbuffer *sb, int r, int fd);

/* Close the nfds descriptors of fds. */
void methods_close_fds(const int *fds, unsigned nfds);

/* Reply to msgid with err and the printf-formatted message (logged at debug level);
 * returns err so handlers can end with `return methods_error(...)`. */
int methods_error(struct conn *c, uint32_t msgid, int err, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

/* Reply to msgid with an empty result; returns 0. */
int methods_empty(struct conn *c, uint32_t msgid);

/* Why name, found damaged at start (STORE.md), cannot be used, into out of len bytes. */
void methods_damaged_why(const struct daemon *d, const char *name, char *out, size_t len);

/* Reply -EIO to a request naming an array found damaged at start; returns -EIO. */
int methods_damaged(struct conn *c, uint32_t msgid, const char *name);

/* The ready array named in msg's params (that the peer may see, if need_see), or NULL
 * once the error is answered. */
struct registry_array *methods_lookup(struct conn *c, const struct codec_msg *msg,
                                      bool need_see);

/* Reply to msgid with a's metadata; returns 0. */
int methods_stat_reply(struct conn *c, uint32_t msgid, const struct registry_array *a);

#endif
