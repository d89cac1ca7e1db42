/* rawconn.h — a plain connect()ed socket to sharrd, for bytes the library never sends.
 *
 * Sends whatever the test hands it and splits what comes back into msgpack objects
 * with proto's scanner, noting at which stream offset each received descriptor
 * arrived, so a test can check the daemon's own handling of the wire, not the
 * client library's. Parent-side only: failures fail the cmocka test.
 */
#ifndef RAWCONN_H
#define RAWCONN_H

#include <stddef.h>
#include <stdint.h>

#include <msgpack.h>

#include "codec.h"

#define RAWCONN_FDS_MAX 16

struct rawconn {
    int fd;
    size_t chunk;          /* bytes asked of each recvmsg: 1 pins descriptors exactly */
    uint8_t *buf;          /* received, not yet returned */
    size_t len, cap;
    uint64_t consumed;     /* stream offset of buf[0] */
    msgpack_unpacked obj;  /* the last object returned */
    uint8_t *objbytes;     /* its bytes, which obj points into */
    int nfds;
    int fds[RAWCONN_FDS_MAX];          /* received descriptors, oldest first */
    uint64_t fd_at[RAWCONN_FDS_MAX];   /* stream offset of the first byte they came with */
};

/* Connect to path. chunk is the recvmsg size (1 to read byte by byte). */
void rawconn_open(struct rawconn *rc, const char *path, size_t chunk);
/* rawconn_open, then hello as msgid 1: a connection ready for requests. */
void rawconn_open_hello(struct rawconn *rc, const char *path, size_t chunk);
/* The same over a socket connected already (taken; asuser_connect makes them). */
void rawconn_adopt(struct rawconn *rc, int fd, size_t chunk);
/* Close the socket and any descriptors not taken; a second call does nothing. */
void rawconn_close(struct rawconn *rc);

/* Send all len bytes (MSG_NOSIGNAL). Returns 0, or a negative errno when the daemon
 * closed the connection first (-EPIPE, -ECONNRESET). */
int rawconn_send(struct rawconn *rc, const void *bytes, size_t len);
/* The same, failing the test on any error. */
void rawconn_send_ok(struct rawconn *rc, const void *bytes, size_t len);

/* The next complete object (valid until the next call) and the stream offset of its
 * first byte. Returns 1, 0 when the daemon closed the connection cleanly, or a
 * negative errno (-ETIMEDOUT after a generous bound, -ECONNRESET). */
int rawconn_next(struct rawconn *rc, msgpack_object *ret_obj, uint64_t *ret_at);

/* Read until the daemon closes the connection, discarding any replies before.
 * Returns 0 when closed, -ETIMEDOUT if it stays open. */
int rawconn_expect_closed(struct rawconn *rc);

/* Take the oldest received descriptor and the offset it arrived at; -1 if none. */
int rawconn_take_fd(struct rawconn *rc, uint64_t *ret_at);

/* Send hello and check the reply. */
void rawconn_hello(struct rawconn *rc, uint32_t msgid);

/* Expect the next object to be a response to msgid. With want_code NULL it must
 * succeed and *ret_result (may be NULL) gets its result map; otherwise it must be an
 * error whose "code" is exactly want_code. */
void rawconn_expect_reply(struct rawconn *rc, uint32_t msgid, const char *want_code,
                          const msgpack_object **ret_result);

/* Send the request packed in sb as msgid, destroy sb, and expect a successful reply:
 * its result object (valid until the next read). */
const msgpack_object *rawconn_call(struct rawconn *rc, uint32_t msgid, msgpack_sbuffer *sb);

/* Send an sbuffer's bytes and clear it. */
void rawconn_send_sbuf(struct rawconn *rc, msgpack_sbuffer *sb);

/* Begin a request packed by hand, [0, msgid, method, [ — the caller packs its one
 * params value next. */
void rawconn_pack_request_head(msgpack_packer *pk, uint32_t msgid, const char *method);
/* Initialise sb and a packer pk writing into it, and begin a request as
 * rawconn_pack_request_head does. The caller destroys sb. */
void rawconn_request_begin(msgpack_sbuffer *sb, msgpack_packer *pk, uint32_t msgid,
                           const char *method);
/* Pack a NUL-terminated string. */
void rawconn_pack_str(msgpack_packer *pk, const char *s);
/* Append to sb a request whose params are {"name": name} (stat, unlink, publish,
 * sync's name form), as the library packs it. */
void rawconn_pack_name(msgpack_sbuffer *sb, uint32_t msgid, const char *method,
                       const char *name);
/* Clear sb and begin a stat of name whose params map carries one more key, key: the
 * caller packs its value next, with a packer of its own on sb. */
void rawconn_pack_stat_with_key(msgpack_sbuffer *sb, uint32_t msgid, const char *name,
                                const char *key);
/* Clear sb and pack a stat of name padded with an unknown key to exactly total bytes. */
void rawconn_pack_padded_stat(msgpack_sbuffer *sb, uint32_t msgid, const char *name,
                              size_t total);
/* Send that request (no reply is read). */
void rawconn_send_name(struct rawconn *rc, uint32_t msgid, const char *method,
                       const char *name);

/* Open name read-only as msgid and expect success with a descriptor: *ret_att (may
 * be NULL) gets the reply, and the descriptor is returned for the caller to close. */
int rawconn_open_read(struct rawconn *rc, uint32_t msgid, const char *name,
                      struct codec_attach_reply *ret_att);

/* The value of key in a msgpack map, or NULL. */
const msgpack_object *rawconn_map_get(const msgpack_object *map, const char *key);

/* The error code of a reply object (its error map's "code"), copied into code; "" for
 * a success. */
void rawconn_reply_code(const msgpack_object *obj, char *code, size_t len);
/* The message of an error reply object, or "". */
void rawconn_reply_message(const msgpack_object *obj, char *text, size_t len);

#endif
