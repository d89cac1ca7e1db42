/* client.h — what the files of libsharr share and nothing of it is public: the
 * connection's one call primitive (call.c), its reference count (client.c), the
 * calling thread's error message (error.c) and the meta -> sharr_info conversion
 * (catalog.c).
 * The public API is include/sharr.h; these names never leave the library.
 */
#ifndef CLIENT_CLIENT_H
#define CLIENT_CLIENT_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include <msgpack.h>

#include "meta.h"
#include "sharr.h"

/* Encodes one request with the given msgid into out. Returns 0 or -ENOMEM. */
typedef int (*client_pack_fn)(msgpack_sbuffer *out, uint32_t msgid, const void *params);

/* Encodes the notification form of a request (no msgid, no reply). Returns 0 or -ENOMEM. */
typedef int (*client_pack_notify_fn)(msgpack_sbuffer *out, const void *params);

/* Copies a successful result into out. Runs on whichever thread reads the reply,
 * with the connection locked, while the decoded bytes are still valid, so it must
 * only copy. Returns 0, or a negative errno with a message in err. */
typedef int (*client_parse_fn)(const msgpack_object *result, void *out, char *err,
                               size_t errlen);

struct client_request {
    client_pack_fn pack;
    const void *params;
    client_parse_fn parse;  /* NULL: the result is not looked at */
    void *out;
    /* True: parse is codec_parse_reply_attach or codec_parse_reply_stat (or reads no
     * more of the result than they do), so a successful reply is read straight from its
     * bytes by codec_frame_read rather than unpacked by the decoder. */
    bool frame;
    /* Nonzero: send only while the connection is still this generation and up;
     * otherwise succeed without sending. A release names an attachment of one
     * connection, which the daemon already dropped when that connection closed. */
    uint64_t only_gen;
    /* Not NULL: a descriptor (not taken) to pass with the request's first byte. */
    const int *send_fd;
    /* Nonnull: when the connection's daemon offered "release_notify" in hello, this
     * form is sent instead and the call returns once it is sent, without a reply. */
    client_pack_notify_fn pack_notify;
    /* True: the request carries a record dtype's description, which a daemon that does
     * not offer "records" would drop; the call then fails with -EOPNOTSUPP unsent. */
    bool needs_records;
};

struct client_reply {
    int fd;        /* descriptor that came with the reply, owned by the caller; or -1 */
    uint64_t gen;  /* generation of the connection the reply came on; 0 when a request
                    * with only_gen was not sent */
};

/* Send one request and wait for its response, reconnecting first if the connection
 * was lost (a request whose send failed is sent once more on a fresh connection).
 * Safe from many threads at once. Returns 0 and fills *ret (NULL: a descriptor that
 * comes anyway is closed), or a negative errno with sharr_last_error() set: the
 * daemon's error code, -ECONNRESET when the connection died with the call in
 * flight, -EPROTO when the daemon's reply could not be understood. */
int client_call(sharr_t *c, const struct client_request *req, struct client_reply *ret);

/* Ask, with the request pack encodes (no parameters; its reply is {"size", "fd": true}),
 * for a page of bytes shared with the daemon by connection generation gen, and map the
 * descriptor that comes with it with prot, MAP_SHARED, not inherited by a fork. Returns
 * client_call's result; *ret_map is the mapping (bytes long, the caller's), or NULL when
 * the call failed, gen is gone, or no descriptor of that size came or could be mapped. */
int client_call_page(sharr_t *c, client_pack_fn pack, uint64_t gen, size_t bytes, int prot,
                     void **ret_map);

/* True when the connection is down because the last attempt to dial sharrd failed
 * (no socket yet, nobody listening): the daemon is away, not answering. */
bool client_unreachable(sharr_t *c);

/* The calling process's pid, cached and cleared in the child of every fork(). */
pid_t client_pid(void);

/* The release ring of connection generation gen (release.c sets it up, ring.h).
 * client_ring_post posts handle: 0 when posted, or when gen is gone (its daemon
 * released everything of it); 1 when the daemon offers a ring this connection has
 * not asked for yet; -ENOSPC when the release must go as a message (no ring, or full). */
int client_ring_post(sharr_t *c, uint64_t gen, uint64_t handle);
/* Give generation gen its ring (map, RING_BYTES, taken: unmapped if gen is gone or has
 * one), or NULL: it has none, and its releases go as messages. */
void client_ring_set(sharr_t *c, uint64_t gen, void *map);
/* Give generation gen its generation page (map, GENS_BYTES, taken: unmapped if gen is
 * gone or has one), or NULL: it has none, and its opens go to the daemon (attcache.c). */
void client_gens_set(sharr_t *c, uint64_t gen, void *map);

/* Tell the daemon attachment handle of generation gen is gone (release.c). 0, or a
 * negative errno with sharr_last_error() set when a message for it could not be sent. */
int release_attachment(sharr_t *conn, uint64_t gen, uint64_t handle);

/* Entries to ask for in one page when the caller has room for cap: cap, at most the
 * daemon's largest list page (from hello; PROTO_LIST_PAGE_MAX when unknown). */
size_t client_page_size(sharr_t *c, size_t cap);

/* Reference counting: every array holds one reference, sharr_connect's caller
 * another; the connection is freed when the last is dropped. */
void client_ref(sharr_t *c);
void client_unref(sharr_t *c);

/* Set the calling thread's message for sharr_last_error() and return err. */
int client_fail(int err, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* client_fail with a message that needs no formatting, for a path too hot for
 * vsnprintf (msg shorter than the buffer, else cut). */
int client_fail_text(int err, const char *msg);

/* 0 when name is a valid array name (name.h); else -EINVAL or -ENAMETOOLONG with a
 * message saying what names may be. */
int client_check_name(const char *name);

/* An optional name (NULL or "" for none, which leaves out "") checked as
 * client_check_name does and copied into out. 0 or its error. */
int client_copy_name(const char *name, char out[PROTO_NAME_MAX + 1]);

/* Read the caller's option struct opts (NULL: defaults) of type `what`
 * ("sharr_create_opts"), which starts with its size_t size, into out, a struct of this
 * library's known bytes: out gets the bytes the caller's size covers and zeros after
 * them, and out's size field keeps the caller's size (see OPTS_COVERS). 0; -EINVAL for
 * a size below sizeof(size_t); -E2BIG when a byte past known is set. */
int opts_read(const void *opts, size_t known, void *out, const char *what);

/* Whether an option struct read by opts_read covers field of its type: the caller's
 * header knew it (else it reads as 0, its default). */
#define OPTS_COVERS(o, type, field) \
    ((o)->size >= offsetof(type, field) + sizeof(((type *)0)->field))

/* An array's metadata as the public struct sees it (of a record's description, only
 * its length: m->dtype.descr is not read). */
void catalog_info_from_meta(const struct meta *m, struct sharr_info *out);

#endif
