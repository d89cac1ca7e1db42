/* codec.h — the sharr messages: msgpack-RPC envelopes and every method's params
 * and results, encoded into an sbuffer and parsed from decoded objects.
 *
 * Request [0, msgid, method, [params-map]]; response [1, msgid, error, result];
 * notification [2, method, [params-map]]. error is nil or {"code": "ENOENT",
 * "message": "..."}; result is a map. proto/PROTOCOL.md is the normative text.
 * Pure: no I/O, no logging. Parsers copy what they keep into the caller's structs,
 * validate types and ranges, and return -EINVAL with a message in err on bad input.
 * Implemented in codec_requests.c (envelope, requests), codec_replies.c (results
 * without an array record), codec_meta.c (the array record: attach, stat, list) on
 * codec_fields.c (one field's get and put); codec_frame.c reads the replies that carry
 * one array record straight from their bytes for those parsers.
 */
#ifndef PROTO_CODEC_H
#define PROTO_CODEC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <msgpack.h>

#include "proto_limits.h"
#include "meta.h"
#include "stats.h"

enum codec_type { CODEC_REQUEST = 0, CODEC_RESPONSE = 1, CODEC_NOTIFY = 2 };

/* One decoded envelope. Pointers refer into the decoded object. */
struct codec_msg {
    enum codec_type type;
    uint32_t msgid;                       /* request, response */
    char method[PROTO_METHOD_MAX + 1];    /* request, notification */
    const msgpack_object *params;         /* request, notification: the params map */
    int err;                              /* response: 0 or a negative errno */
    char errmsg[PROTO_TEXT_MAX + 1];      /* response: the error's message, or "" */
    const msgpack_object *result;         /* response: the result map (NULL on error) */
};

/* Parse an envelope. Returns 0, or -EBADMSG with a message in err when obj is not a
 * well-formed request/response/notification. For a request with a bad envelope whose
 * msgid could be read, *ret_msgid_known is set to 1 (so an error reply can be sent);
 * ret_msgid_known may be NULL. */
int codec_parse_msg(const msgpack_object *obj, struct codec_msg *out,
                    int *ret_msgid_known, char *err, size_t errlen);

/* ---- params and results of each method ---- */

struct codec_hello {            /* hello request */
    uint32_t version;
    char client[PROTO_TEXT_MAX + 1];  /* free text, e.g. "libsharr 0.1.0" */
};

/* The "limits" map of the hello result, described once: X(field, wire key), each a
 * required uint32 (the server's PROTO_ limits). The packer's map count, the parser and
 * libsharr's copy into struct sharr_server expand from it. */
#define CODEC_LIMITS_FIELDS(X)                                                        \
    X(max_name, "name")                                                               \
    X(max_ndim, "ndim")                                                               \
    X(max_request, "request")                                                         \
    X(list_page_max, "list_page")
#define CODEC_LIMITS_MEMBER(field, key) uint32_t field;

struct codec_hello_reply {
    uint32_t version;
    char server[64];
    uint32_t pid;
    uint64_t id;                /* the daemon's identity (random per start); 0: not sent */
    uint64_t store_id;          /* its persistent store's identity; 0: not sent */
    CODEC_LIMITS_FIELDS(CODEC_LIMITS_MEMBER)
    bool release_notify;        /* capability "release_notify": release may be a notification */
    bool release_ring;          /* capability "release_ring": the method ring (ring.h) */
    bool records;               /* capability "records": create keeps a record's "descr" */
    bool watch;                 /* capability "watch": the method watch (codec_watch.c) */
    bool attach_cache;          /* capability "attach_cache": the method gens (gens.h) */
};

struct codec_create {           /* create request; w+ is overwrite = true */
    char name[PROTO_NAME_MAX + 1];
    struct dtype dtype;
    uint32_t ndim;
    uint64_t shape[PROTO_NDIM_MAX];
    char order;                 /* 'C' or 'F' */
    bool persist;
    uint32_t perm;              /* 0600 when absent */
    bool overwrite;
    uint64_t max_len;           /* the first axis may grow to this (volatile arrays);
                                 * 0 when absent: shape[0] */
};

struct codec_open {             /* open request */
    char name[PROTO_NAME_MAX + 1];
    enum meta_mode mode;
    int64_t wait_ms;            /* 0 no wait, -1 forever */
    bool has_owner;             /* "owner" given: only an array of that uid will do */
    uint32_t owner;             /* < 2^32 - 1 */
    bool published;             /* wait until the array is published, not only created */
};

struct codec_adopt {            /* adopt request; its descriptor travels with it */
    char name[PROTO_NAME_MAX + 1];
    uint32_t perm;              /* 0600 when absent */
    bool overwrite;
};

struct codec_name {             /* stat, unlink requests; sync from older clients */
    char name[PROTO_NAME_MAX + 1];
};

struct codec_sync {             /* sync request: the attachment named by handle; a
                                 * client older than handles sends only the name */
    char name[PROTO_NAME_MAX + 1]; /* "" when absent */
    bool has_handle;
    uint64_t handle;
};

struct codec_release {          /* release request */
    uint64_t handle;
};

struct codec_list {             /* list request */
    char after[PROTO_NAME_MAX + 1]; /* "" from the start */
    uint32_t limit;             /* 1..PROTO_LIST_PAGE_MAX; default when absent */
    bool table;                 /* the reply as a table (columns and rows), not maps */
};

struct codec_attach_reply {     /* create and open results; a descriptor comes with it */
    struct meta meta;           /* parsed: meta.dtype.descr points into the result */
    uint64_t handle;            /* names this attachment in release */
};

/* The stats result: one member per field of proto/stats.h, in its order. */
struct codec_stats_reply {
    PROTO_STATS_FIELDS(PROTO_STATS_MEMBER)
};

struct codec_holders {           /* holders request: attachments, by handle */
    char name[PROTO_NAME_MAX + 1];   /* only this array's; "" for all */
    uint64_t after;                  /* handles greater than this */
    uint32_t limit;                  /* 1..PROTO_LIST_PAGE_MAX; default when absent */
};

#define CODEC_COMM_MAX 15            /* bytes of a command name (Linux TASK_COMM_LEN - 1) */

/* One attachment in a holders reply, described once: X(field, wire key, kind,
 * required), in the order the packer writes them. The packer (its map count too), the
 * parser and libsharr's copy into struct sharr_holder expand from it. Kinds: U64, U32,
 * I64, BOOL, NAME (an array name), TEXT (cut to fit), MODE ("r", "r+" or "c"); an
 * optional field reads as 0 when absent. */
#define CODEC_HOLDER_FIELDS(X)                                                        \
    X(handle, "handle", U64, 1)                                                       \
    X(name, "name", NAME, 1)                                                          \
    X(pid, "pid", U32, 1)                                                             \
    X(uid, "uid", U32, 1)                                                             \
    X(gid, "gid", U32, 0)                                                             \
    X(comm, "comm", TEXT, 0)                                                          \
    X(mode, "mode", MODE, 1)                                                          \
    X(since_ns, "since_ns", I64, 0)                                                   \
    X(nbytes, "nbytes", U64, 0)                                                       \
    X(persist, "persist", BOOL, 0)                                                    \
    X(unlinked, "unlinked", BOOL, 0)

struct codec_holder {            /* one attachment in a holders reply (its fields above) */
    uint64_t handle;
    char name[PROTO_NAME_MAX + 1];   /* the array's name */
    uint32_t pid, uid, gid;          /* the holding connection's peer */
    char comm[CODEC_COMM_MAX + 1];   /* its command name at connect, "" if unknown */
    enum meta_mode mode;
    int64_t since_ns;                /* when it attached, ns since the epoch */
    uint64_t nbytes;                 /* the array's data bytes */
    bool persist;
    bool unlinked;                   /* the name was removed; the array lives on */
};

/* Encoders append one whole message to out and return 0, or -ENOMEM. */
int codec_pack_hello(msgpack_sbuffer *out, uint32_t msgid, const struct codec_hello *p);
int codec_pack_create(msgpack_sbuffer *out, uint32_t msgid, const struct codec_create *p);
int codec_pack_open(msgpack_sbuffer *out, uint32_t msgid, const struct codec_open *p);
/* The sender must pass the file's descriptor with the first byte of this message;
 * the result is the stat result, {"array": meta}. */
int codec_pack_adopt(msgpack_sbuffer *out, uint32_t msgid, const struct codec_adopt *p);
/* method is "stat", "unlink", "publish" or "sync" (sync's name form, as older clients
 * send it) */
int codec_pack_name(msgpack_sbuffer *out, uint32_t msgid, const char *method,
                    const struct codec_name *p);
/* sync {"handle": n, "name": s}: each only when given (has_handle, a non-empty name). */
int codec_pack_sync(msgpack_sbuffer *out, uint32_t msgid, const struct codec_sync *p);
int codec_pack_release(msgpack_sbuffer *out, uint32_t msgid, const struct codec_release *p);
/* The notification form [2, "release", [{"handle": n}]]: no msgid, no reply. */
int codec_pack_release_notify(msgpack_sbuffer *out, const struct codec_release *p);
int codec_pack_list(msgpack_sbuffer *out, uint32_t msgid, const struct codec_list *p);
int codec_pack_stats(msgpack_sbuffer *out, uint32_t msgid);
int codec_pack_ring(msgpack_sbuffer *out, uint32_t msgid);
/* gens: no params; answered as ring is, {"size": GENS_BYTES, "fd": true}. */
int codec_pack_gens(msgpack_sbuffer *out, uint32_t msgid);

int codec_pack_reply_hello(msgpack_sbuffer *out, uint32_t msgid,
                           const struct codec_hello_reply *r);
/* Result {"array": meta, "handle": n, "fd": true}: the sender must pass the descriptor
 * with the first byte of this message. */
int codec_pack_reply_attach(msgpack_sbuffer *out, uint32_t msgid,
                            const struct codec_attach_reply *r);
/* The same reply from the array's meta where it lives (sharrd's registry), not a copy. */
int codec_pack_reply_attached(msgpack_sbuffer *out, uint32_t msgid, const struct meta *m,
                              uint64_t handle);
/* Result {"array": meta} */
int codec_pack_reply_stat(msgpack_sbuffer *out, uint32_t msgid, const struct meta *m);
/* Result {"columns": [key...], "rows": [[value...]...], "more": bool}: each array's
 * values under the array map's keys, named once (PROTOCOL.md, list). */
int codec_pack_reply_list(msgpack_sbuffer *out, uint32_t msgid, const struct meta *const *ms,
                          size_t n, bool more, bool table);
int codec_pack_reply_stats(msgpack_sbuffer *out, uint32_t msgid,
                           const struct codec_stats_reply *r);
/* Result {} (unlink, release, sync) */
int codec_pack_reply_empty(msgpack_sbuffer *out, uint32_t msgid);
/* The ring reply: the page's size; its descriptor travels with the reply. */
int codec_pack_reply_ring(msgpack_sbuffer *out, uint32_t msgid, uint32_t size);
/* Error reply: err is a negative errno, message free text (truncated to
 * PROTO_TEXT_MAX). */
int codec_pack_error(msgpack_sbuffer *out, uint32_t msgid, int err, const char *message);

/* Params parsers: params is codec_msg.params (may be NULL for methods without
 * params). Return 0, or a negative errno (-EINVAL; -ENAMETOOLONG for long names;
 * -EOVERFLOW for shapes whose size overflows) with a message in err; out may be
 * partly written on failure. */
int codec_parse_hello(const msgpack_object *params, struct codec_hello *out,
                      char *err, size_t errlen);
/* A record's "descr" is written canonical into text, the caller's, where dtype.descr
 * then points; text NULL: it must come canonical, and dtype.descr points into params. */
int codec_parse_create(const msgpack_object *params, struct codec_create *out,
                       struct dtype_text *text, char *err, size_t errlen);
int codec_parse_open(const msgpack_object *params, struct codec_open *out,
                     char *err, size_t errlen);
int codec_parse_adopt(const msgpack_object *params, struct codec_adopt *out,
                      char *err, size_t errlen);
int codec_parse_name(const msgpack_object *params, struct codec_name *out,
                     char *err, size_t errlen);
int codec_parse_release(const msgpack_object *params, struct codec_release *out,
                        char *err, size_t errlen);
/* At least one of "handle" and "name"; either may come alone. */
int codec_parse_sync(const msgpack_object *params, struct codec_sync *out,
                     char *err, size_t errlen);
int codec_parse_list(const msgpack_object *params, struct codec_list *out,
                     char *err, size_t errlen);

/* Result parsers: result is codec_msg.result. Same return convention. */
/* The ring reply: *ret_size, and "fd" must be true. */
int codec_parse_reply_ring(const msgpack_object *result, uint32_t *ret_size, char *err,
                           size_t errlen);
int codec_parse_reply_hello(const msgpack_object *result, struct codec_hello_reply *out,
                            char *err, size_t errlen);
/* *ret_has_fd is set when the result says a descriptor travels with it. */
int codec_parse_reply_attach(const msgpack_object *result, struct codec_attach_reply *out,
                             int *ret_has_fd, char *err, size_t errlen);
int codec_parse_reply_stat(const msgpack_object *result, struct meta *out,
                           char *err, size_t errlen);
/* Fills up to cap metas from the rows; *ret_n filled, *ret_more from the reply.
 * Columns it does not know are skipped. -EOVERFLOW if the reply holds more than cap. */
/* An attach, create or stat reply read straight from its bytes (codec_frame.c), without
 * msgpack-c's unpacker: the message as codec_parse_msg, codec_parse_reply_attach and
 * codec_parse_reply_stat see it unpacked whole, but for what none of them looks at
 * (keys of no meaning to them, a key's third and later entries, nested containers
 * other than the array map and its shape: of those only type and size, ptr NULL).
 * Its objects point into the bytes read. */
#define CODEC_FRAME_ONE_KEY(id, field, key, kind, required) +1
#define CODEC_FRAME_META_KEYS (0 META_FIELDS(CODEC_FRAME_ONE_KEY))
#define CODEC_FRAME_RESULT_KEYS 3 /* "array", "handle", "fd" */
struct codec_frame {
    msgpack_object msg;           /* [1, msgid, nil, result] */
    msgpack_object env[4];
    /* Each key's first two entries (a second is refused as a repeat), and the first
     * key that is not a str (refused as such). */
    msgpack_object_kv result[2 * CODEC_FRAME_RESULT_KEYS + 1];
    msgpack_object_kv array[2 * CODEC_FRAME_META_KEYS + 1];
    msgpack_object shape[PROTO_NDIM_MAX];
};

/* Whether the successful response to msgid is to be read by codec_frame_read. */
typedef bool codec_frame_want_fn(void *arg, uint32_t msgid);

/* Read the first message of buf[0..len), a successful response ([1, msgid, nil, result])
 * that want(arg, msgid) (NULL: any) says is an attach, create or stat reply, into f: 1,
 * with f->msg the message and *ret_len its bytes; 0 when it is read no further here:
 * not a successful response, not wanted, cut short, or not msgpack within max_depth as
 * scan_object counts it (the decoder then takes the bytes and says what is wrong with
 * them). Never reads outside buf[0..len). f->msg points into f and buf. */
int codec_frame_read(const void *buf, size_t len, unsigned max_depth,
                     codec_frame_want_fn *want, void *arg, struct codec_frame *f,
                     size_t *ret_len);

int codec_parse_reply_list(const msgpack_object *result, struct meta *out, size_t cap,
                           size_t *ret_n, bool *ret_more, char *err, size_t errlen);
/* Called for each array of a list reply, in order, as soon as it is parsed: i is its
 * place, m the scratch meta it was parsed into (valid until the next call). A negative
 * return stops the parse and is returned. */
typedef int codec_list_row_cb(void *arg, size_t i, const struct meta *m);
/* As codec_parse_reply_list, parsing every array into the one *scratch and handing it
 * to row at once: a page's arrays are used while they sit in the cache, and the
 * caller needs no room for a page of metas. */
int codec_parse_reply_list_each(const msgpack_object *result, struct meta *scratch, size_t cap,
                                codec_list_row_cb *row, void *arg, size_t *ret_n,
                                bool *ret_more, char *err, size_t errlen);
int codec_parse_reply_stats(const msgpack_object *result, struct codec_stats_reply *out,
                            char *err, size_t errlen);

/* holders: request, its params, result {"holders": [holder...], "more": bool}. */
int codec_pack_holders(msgpack_sbuffer *out, uint32_t msgid, const struct codec_holders *p);
int codec_parse_holders(const msgpack_object *params, struct codec_holders *out,
                        char *err, size_t errlen);
int codec_pack_reply_holders(msgpack_sbuffer *out, uint32_t msgid,
                             const struct codec_holder *hs, size_t n, bool more);
/* Fills up to cap holders; -EOVERFLOW if the reply holds more. */
int codec_parse_reply_holders(const msgpack_object *result, struct codec_holder *out,
                              size_t cap, size_t *ret_n, bool *ret_more, char *err,
                              size_t errlen);

/* Parse one array's metadata map (as found in attach and stat results). */
int codec_parse_meta(const msgpack_object *obj, struct meta *out, char *err, size_t errlen);

/* chmod: params {"name", "perm"}; chown: params {"name", "uid"?, "gid"?}, at least
 * one of uid and gid, each below 2^32 - 1. Both answer with the stat result. */
struct codec_chmod {
    char name[PROTO_NAME_MAX + 1];
    uint32_t perm;                   /* at most 0777 (perm.h) */
};

struct codec_chown {
    char name[PROTO_NAME_MAX + 1];
    bool has_uid, has_gid;
    uint32_t uid, gid;
};

int codec_pack_chmod(msgpack_sbuffer *out, uint32_t msgid, const struct codec_chmod *p);
int codec_parse_chmod(const msgpack_object *params, struct codec_chmod *out,
                      char *err, size_t errlen);
int codec_pack_chown(msgpack_sbuffer *out, uint32_t msgid, const struct codec_chown *p);
int codec_parse_chown(const msgpack_object *params, struct codec_chown *out,
                      char *err, size_t errlen);

/* publish: params {"name"}, packed with codec_pack_name and parsed with
 * codec_parse_name; answers with the stat result. grow: params {"name", "len"}, len
 * the new length of the first axis (C order) or of the last (F order), 1..2^62;
 * answers with the stat result. (codec_produce.c) */
struct codec_grow {
    char name[PROTO_NAME_MAX + 1];
    uint64_t len;
};

int codec_pack_grow(msgpack_sbuffer *out, uint32_t msgid, const struct codec_grow *p);
int codec_parse_grow(const msgpack_object *params, struct codec_grow *out,
                     char *err, size_t errlen);
/* watch: params {"prefix": str} (optional; "" or absent: every name), result {}; then
 * the daemon sends [2, "event", [{"event": kind, ...}]] notifications (PROTOCOL.md,
 * watch). Implemented in codec_watch.c. */
struct codec_watch {
    char prefix[PROTO_NAME_MAX + 1]; /* "" or the start of a valid name (name.h) */
};

struct codec_event {
    int kind;                   /* enum event_kind (event.h); 0: a kind this codec does
                                 * not know (a newer daemon's), whose fields are unread */
    struct meta meta;           /* every kind but overflow: the array after the event */
    uint64_t lost;              /* overflow: events not sent since the last one sent */
};

int codec_pack_watch(msgpack_sbuffer *out, uint32_t msgid, const struct codec_watch *p);
int codec_parse_watch(const msgpack_object *params, struct codec_watch *out, char *err,
                      size_t errlen);
/* The notification [2, "event", [{"event": name, "array": map}]], or for an overflow
 * [2, "event", [{"event": "overflow", "lost": n}]]. 0, -EINVAL (an unknown kind, a meta
 * that cannot travel) or -ENOMEM; nothing is left in out on failure. */
int codec_pack_event(msgpack_sbuffer *out, const struct codec_event *e);
/* The params of an "event" notification (codec_msg.params). */
int codec_parse_event(const msgpack_object *params, struct codec_event *out, char *err,
                      size_t errlen);

#endif
