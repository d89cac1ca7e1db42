/* decoder.h — the push decoder: feed bytes, pull whole msgpack objects.
 *
 * Used by both ends of a connection. It owns a byte buffer, an arena of objects it
 * reads frames into with mpread, and an unpack zone for the rare frame that needs more
 * objects than the arena holds, which scan_object checks before msgpack-c sees it; so
 * memory use is bounded by the frame limit. An arena a large frame grew goes back to
 * its first size (256 objects) at the next decoder_next. It does no I/O and does not interpret
 * messages; a caller that reads some messages from the bytes itself peeks at them and
 * skips them.
 */
#ifndef PROTO_DECODER_H
#define PROTO_DECODER_H

#include <stddef.h>
#include <stdint.h>

#include <msgpack.h>

struct decoder;

/* A decoder for objects of at most max_len bytes and max_depth nesting.
 * NULL on out of memory. */
struct decoder *decoder_new(size_t max_len, unsigned max_depth);
/* NULL is a no-op. */
void decoder_free(struct decoder *d);

/* Append len bytes. Returns 0, or -ENOBUFS if more than 2 * max_len bytes would be
 * waiting (a peer that pipelines without reading replies), or -ENOMEM. */
int decoder_feed(struct decoder *d, const void *bytes, size_t len);

/* Pull the next complete object. Returns 1 and sets *ret_obj (valid until the next
 * decoder_next, decoder_feed or decoder_free), 0 when more bytes are needed, or a
 * negative errno from scan_object (-E2BIG, -ELOOP, -EBADMSG) or -ENOMEM. An error is
 * sticky: the stream cannot be resynchronised and the connection should close. */
int decoder_next(struct decoder *d, msgpack_object *ret_obj);

/* The bytes fed but not yet returned, at most max_len of them, for a caller that
 * reads a message from them itself (codec_frame_read): *ret_buf (valid until the next
 * decoder_feed or decoder_free) and *ret_len, 0 when none, or when the stream failed. */
void decoder_peek(const struct decoder *d, const uint8_t **ret_buf, size_t *ret_len);

/* The first len bytes of what decoder_peek gave were a whole message the caller took:
 * they count as returned, as an object of decoder_next's would. */
void decoder_skip(struct decoder *d, size_t len);

/* Bytes fed but not yet returned as objects (a half-sent request when nonzero). */
size_t decoder_pending(const struct decoder *d);

#endif
