/* codec_fields.h — what the codec's files share: the typed get and put of one field.
 *
 * Encoders write with msgpack-c's packer behind an envelope head and undo a partial
 * message (codec_pack_end). Parsers keep where they are in a codec_ctx, find a key
 * with CODEC_GET and check its value with one of the value checks, each of which names
 * the key in its message ("<what>: '<key>' must be ..."). Internal to proto/codec_*.c.
 */
#ifndef PROTO_CODEC_FIELDS_H
#define PROTO_CODEC_FIELDS_H

#include <errno.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <msgpack.h>

#include "codec.h"
#include "dtype.h"
#include "pack.h"

#define CODEC_STR(x) #x
#define CODEC_XSTR(x) CODEC_STR(x)

/* s, at most max bytes of it, as a str. */
int codec_pack_strn(msgpack_packer *pk, const char *s, size_t max);

/* The NUL-terminated s as a str. */
int codec_pack_cstr(msgpack_packer *pk, const char *s);

/* [0, msgid, method, [ or [] — the caller then packs the params map, if any. */
int codec_pack_request_head(msgpack_packer *pk, uint32_t msgid, const char *method,
                            bool has_params);

/* [1, msgid, nil, — the caller then packs the result map. */
int codec_pack_response_head(msgpack_packer *pk, uint32_t msgid);

/* One entry of a params map for codec_pack_params: key and a value of one kind. An
 * entry whose key is NULL is left out (an optional param not given). */
struct codec_out {
    const char *key;
    enum { CODEC_OUT_UINT, CODEC_OUT_INT, CODEC_OUT_BOOL, CODEC_OUT_STR, CODEC_OUT_SHAPE } kind;
    uint64_t u;                 /* UINT */
    int64_t i;                  /* INT */
    bool b;                     /* BOOL */
    const char *s;              /* STR: up to its NUL, at most max bytes */
    size_t max;
    const uint64_t *shape;      /* SHAPE: ndim dimensions */
    uint32_t ndim;
};

#define CODEC_OUT_U(k, v) { .key = (k), .kind = CODEC_OUT_UINT, .u = (v) }
#define CODEC_OUT_I(k, v) { .key = (k), .kind = CODEC_OUT_INT, .i = (v) }
#define CODEC_OUT_B(k, v) { .key = (k), .kind = CODEC_OUT_BOOL, .b = (v) }
#define CODEC_OUT_S(k, v, n) { .key = (k), .kind = CODEC_OUT_STR, .s = (v), .max = (n) }
#define CODEC_NOUT(f) (sizeof(f) / sizeof((f)[0]))
#define CODEC_OUT_SHAPE(k, d, n) { .key = (k), .kind = CODEC_OUT_SHAPE, .shape = (d), .ndim = (n) }

/* The most entries codec_pack_params takes (a create has 9). */
#define CODEC_OUT_MAX 16

/* A request [0, msgid, method, [params]] (type CODEC_REQUEST), a notification
 * [2, method, [params]] (CODEC_NOTIFY) or a successful response [1, msgid, nil, result]
 * (CODEC_RESPONSE; method unused) whose map holds the entries of f[0..n) that have a
 * key, and says so: its count is theirs. 0, -EINVAL when n > CODEC_OUT_MAX, or -ENOMEM
 * (nothing written either way). */
int codec_pack_params(msgpack_sbuffer *out, enum codec_type type, uint32_t msgid,
                      const char *method, const struct codec_out *f, size_t n);

/* The most bytes of a message's envelope besides its method name: a request's
 * [0, msgid, method, [ and the map header, or a response's [1, msgid, nil, and a map
 * header. */
#define CODEC_HEAD_MAX (4 * PACK_HEAD_MAX + 2 * PACK_UINT_MAX + 1)

/* [1, msgid, nil, at p, which has CODEC_HEAD_MAX bytes of room: the head of a
 * successful response, whose result follows. */
char *codec_put_response_head(char *p, uint32_t msgid);

/* Undo a partly written message so the buffer only ever holds whole ones. */
int codec_pack_end(msgpack_sbuffer *out, size_t mark, int r);

/* Room for n more bytes at the end of out (grown by doubling, as msgpack-c grows it):
 * where they start, or NULL when out of memory. */
char *codec_room(msgpack_sbuffer *out, size_t n);

/* m as an array map (PROTOCOL.md 5.6), appended to the packer's sbuffer: 0, -EINVAL
 * when m cannot travel (a field out of its bounds), or -ENOMEM. */
int codec_pack_array_map(msgpack_packer *pk, const struct meta *m);

/* The keys of an array map and the columns of a list reply, in the order of
 * META_FIELDS, in which codec_put_meta writes them; codec_meta reads a map fastest in
 * this order. */
enum codec_meta_key {
#define CODEC_META_ENUM(id, field, key, kind, required) CODEC_META_##id,
    META_FIELDS(CODEC_META_ENUM)
#undef CODEC_META_ENUM
    CODEC_META_NKEYS
};

/* The place in META_FIELDS of the key of an array map that is the n bytes at s, or -1
 * when it is none of them. */
int codec_meta_key_of(const char *s, uint32_t n);

/* Where a parser is, for its error messages: "create", "stat reply: array". */
struct codec_ctx {
    const char *what;
    char *err;
    size_t errlen;
    const msgpack_object *found;  /* CODEC_GET's value, NULL when absent */
};

/* Write "<what>: <message>" into the caller's buffer and return r. */
int codec_fail(const struct codec_ctx *c, int r, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* o is the str s. */
bool codec_str_is(const msgpack_object *o, const char *s);

/* Copy a str object into out (outsize with the NUL). Longer text is cut when
 * truncate is set and refused otherwise; text with a NUL inside is refused. */
bool codec_copy_str(const msgpack_object *o, char *out, size_t outsize, bool truncate);

/* o is an array of str objects (none at all included). */
bool codec_str_array(const msgpack_object *o);

/* obj must be a map whose keys are all strings. NULL stands for "no params", an
 * empty map, when allow_null is set. */
int codec_map(const struct codec_ctx *c, const msgpack_object *obj, bool allow_null,
              const char *label);

/* Find the klen bytes of key in map (NULL map: absent). Returns 1 with *ret set, 0 if
 * absent (an error if required), or -EINVAL if the key repeats. */
int codec_field_n(const struct codec_ctx *c, const msgpack_object *map, const char *key,
                  size_t klen, bool required, const msgpack_object **ret);

/* codec_field_n with key's length taken here, where a literal's is known when compiled:
 * every request and reply looks up a few keys, and strlen was a tenth of that. */
static inline int codec_field(const struct codec_ctx *c, const msgpack_object *map,
                              const char *key, bool required, const msgpack_object **ret)
{
    return codec_field_n(c, map, key, strlen(key), required, ret);
}

/* Find key in map for CODEC_GET: 0 with c->found set (NULL when absent), or an
 * error when the key repeats or is required and absent. */
static inline int codec_find(struct codec_ctx *c, const msgpack_object *map, const char *key,
                             bool required)
{
    c->found = NULL;
    return codec_field(c, map, key, required, &c->found) < 0 ? -EINVAL : 0;
}

/* The value under key in map, checked by check(c, key, value, ...): one of the value
 * checks below, each of which leaves its output as it was when the key is absent.
 * 0, or the check's (or codec_field's) error. */
#define CODEC_GET(c, map, key, required, check, ...)                                    \
    (codec_find((c), (map), (key), (required)) < 0 ? -EINVAL                            \
                                                   : check((c), (key), (c)->found, __VA_ARGS__))

/* A nested map; *ret stays as it was when absent. */
int codec_submap(const struct codec_ctx *c, const char *key, const msgpack_object *v,
                 const msgpack_object **ret);

/* Each value check below takes the value found under key (named in its messages), or
 * NULL for an absent key, which leaves *out as it was; CODEC_GET finds the value in a
 * map first. Each returns 0, or -EINVAL with the message in c. */
/* An unsigned integer up to max; expect is the message's "must be ...". */
int codec_uint(const struct codec_ctx *c, const char *key, const msgpack_object *v,
               uint64_t max, uint64_t *out, const char *expect);

/* An integer in 0..2^32 - 1. */
int codec_u32(const struct codec_ctx *c, const char *key, const msgpack_object *v,
              uint32_t *out);

/* An integer, positive or negative, at least min. */
int codec_int(const struct codec_ctx *c, const char *key, const msgpack_object *v,
              int64_t min, int64_t *out, const char *expect);

/* A boolean. */
int codec_bool(const struct codec_ctx *c, const char *key, const msgpack_object *v,
               bool *out);

/* Text that fits outsize (with its NUL), or is cut to it when truncate is set. */
int codec_str(const struct codec_ctx *c, const char *key, const msgpack_object *v,
              char *out, size_t outsize, bool truncate);

/* An array name (name.h): -ENAMETOOLONG when too long. */
int codec_name(const struct codec_ctx *c, const char *key, const msgpack_object *v,
               char out[PROTO_NAME_MAX + 1]);

/* A numpy type string (dtype.h). */
int codec_dtype(const struct codec_ctx *c, const char *key, const msgpack_object *v,
                struct dtype *out);
/* A record's description (dtype.h) into out->descr, which out->str ("|V<n>", read
 * before) must match in item size. Written canonical into text, where out->descr then
 * points; text NULL: the value must be canonical (as sharrd sends every one), and
 * out->descr points into v, valid while the decoded message lives. Absent or "":
 * out->descr is NULL. */
int codec_descr(const struct codec_ctx *c, const char *key, const msgpack_object *v,
                struct dtype *out, struct dtype_text *text);

/* 1..PROTO_NDIM_MAX positive dimensions. */
int codec_shape(const struct codec_ctx *c, const char *key, const msgpack_object *v,
                uint32_t *ret_ndim, uint64_t *shape);

/* "C" or "F". */
int codec_order(const struct codec_ctx *c, const char *key, const msgpack_object *v,
                char *out);

/* A page's size: 1..PROTO_LIST_PAGE_MAX entries. */
int codec_limit(const struct codec_ctx *c, const char *key, const msgpack_object *v,
                uint32_t *out);

/* Permission bits, by perm.h's rule (at most 0777). */
int codec_perm(const struct codec_ctx *c, const char *key, const msgpack_object *v,
               uint32_t *out);

/* The data size of a shape: -EOVERFLOW beyond PROTO_ARRAY_BYTES_MAX. */
int codec_check_size(const struct codec_ctx *c, uint32_t ndim, const uint64_t *shape,
                     uint64_t itemsize, uint64_t *ret_nbytes);

/* A paged reply {key: [items], "more": bool}: the items (at most cap) in *ret_items,
 * *ret_more set. 0, or -EINVAL/-EOVERFLOW with a message. */
int codec_page(struct codec_ctx *c, const msgpack_object *result, const char *key,
               size_t cap, const msgpack_object_array **ret_items, bool *ret_more);

#endif
