/* codec.c — sharr's msgpack-RPC messages: envelopes, params and results.
 *
 * Encoders append one whole message to an sbuffer (or nothing, on failure). Parsers
 * walk objects the decoder produced, check every type and range, copy what they keep
 * into the caller's structs and explain a rejection in the caller's error buffer as
 * "<method>: '<field>' must be ...". Unknown keys are ignored so that fields can be
 * added without a version bump; repeated keys are rejected. No I/O, no logging.
 */
#include "codec.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "errcode.h"
#include "name.h"
#include "pack.h"
#include "shape.h"

#define CODEC_STR(x) #x
#define CODEC_XSTR(x) CODEC_STR(x)

/* What protocol version 1 offers beyond the bare methods. "release_notify" (release
 * as a notification) and "release_ring" (the method ring) change what a client may
 * send; the others are informational ("open_owner": open checks its "owner";
 * "user_names": names under "uid<N>." are N's; "sync_handle": sync takes the
 * attachment's handle). */
static const char *const codec_capabilities[] = {
    "open_wait", "persist", "overwrite", "sync", "list_paging", "holders", "adopt",
    "release_notify", "release_ring", "open_owner", "user_names", "sync_handle",
};

/* The keys of an array map and the columns of a list reply, in the order
 * codec_put_meta writes them; codec_meta reads a map fastest in this order. */
enum codec_meta_key {
    CODEC_META_NAME, CODEC_META_DTYPE, CODEC_META_SHAPE, CODEC_META_ORDER, CODEC_META_NBYTES,
    CODEC_META_OFFSET, CODEC_META_PERSIST, CODEC_META_PERM, CODEC_META_UID, CODEC_META_GID,
    CODEC_META_CTIME_NS, CODEC_META_NATTACHED, CODEC_META_PATH, CODEC_META_GROWN,
    CODEC_META_DAMAGED, CODEC_META_NKEYS
};

static const char *const codec_meta_keys[CODEC_META_NKEYS] = {
    "name", "dtype", "shape", "order", "nbytes", "offset", "persist", "perm", "uid", "gid",
    "ctime_ns", "nattached", "path", "grown", "damaged",
};

/* Encoders build on two envelope heads; the params and results follow them. */

static int codec_pack_strn(msgpack_packer *pk, const char *s, size_t max)
{
    size_t n = strnlen(s, max);

    return msgpack_pack_str_with_body(pk, s, n);
}

static int codec_pack_cstr(msgpack_packer *pk, const char *s)
{
    return msgpack_pack_str_with_body(pk, s, strlen(s));
}

/* [0, msgid, method, [ or [] — the caller then packs the params map, if any. */
static int codec_pack_request_head(msgpack_packer *pk, uint32_t msgid, const char *method,
                                   bool has_params)
{
    int r = 0;

    r |= msgpack_pack_array(pk, 4);
    r |= msgpack_pack_uint32(pk, 0);
    r |= msgpack_pack_uint32(pk, msgid);
    r |= codec_pack_cstr(pk, method);
    r |= msgpack_pack_array(pk, has_params ? 1 : 0);
    return r;
}

/* [1, msgid, nil, — the caller then packs the result map. */
static int codec_pack_response_head(msgpack_packer *pk, uint32_t msgid)
{
    int r = 0;

    r |= msgpack_pack_array(pk, 4);
    r |= msgpack_pack_uint32(pk, 1);
    r |= msgpack_pack_uint32(pk, msgid);
    r |= msgpack_pack_nil(pk);
    return r;
}

/* Undo a partly written message so the buffer only ever holds whole ones. */
static int codec_pack_end(msgpack_sbuffer *out, size_t mark, int r)
{
    if (r != 0) {
        out->size = mark;
        return -ENOMEM;
    }
    return 0;
}

static bool codec_meta_packable(const struct meta *m)
{
    return m != NULL && m->ndim <= PROTO_NDIM_MAX;
}

/* Room for n more bytes at the end of out (grown by doubling, as msgpack-c grows it):
 * where they start, or NULL when out of memory. */
static char *codec_room(msgpack_sbuffer *out, size_t n)
{
    size_t cap = out->alloc > 0 ? out->alloc : MSGPACK_SBUFFER_INIT_SIZE;
    char *grown;

    if (out->alloc - out->size >= n)
        return out->data + out->size;
    while (cap - out->size < n)
        cap *= 2;
    grown = realloc(out->data, cap);
    if (grown == NULL)
        return NULL;
    out->data = grown;
    out->alloc = cap;
    return out->data + out->size;
}

/* Bytes of a packed array map besides its name, path and shape entries: the map
 * and key headers, the dtype and order and every number at their widest. */
#define CODEC_META_FIXED_MAX 224

/* The most bytes codec_put_meta writes for m. */
static size_t codec_meta_packed_max(const struct meta *m)
{
    return CODEC_META_FIXED_MAX + PACK_UINT_MAX * (size_t)m->ndim +
           strnlen(m->name, sizeof(m->name)) + strnlen(m->path, sizeof(m->path));
}

/* Key k of an array map, or nothing in a list row (whose columns name its values). */
static inline char *codec_put_key(char *p, bool keyed, enum codec_meta_key k)
{
    if (!keyed)
        return p;
    return pack_str(p, codec_meta_keys[k], strlen(codec_meta_keys[k]));
}

/* Key k (when keyed) and its value, the n bytes of text at s. */
static inline char *codec_put_str(char *p, bool keyed, enum codec_meta_key k, const char *s,
                                  size_t n)
{
    p = codec_put_key(p, keyed, k);
    return pack_str(p, s, n);
}

/* Key k (when keyed) and its value, an unsigned integer. */
static inline char *codec_put_uint(char *p, bool keyed, enum codec_meta_key k, uint64_t v)
{
    p = codec_put_key(p, keyed, k);
    return pack_uint(p, v);
}

/* m as an array map (keyed) or as a list row of the values alone, in the order of
 * codec_meta_keys, at p, which has codec_meta_packed_max(m) bytes of room. Written
 * with pack.h's stores: a list reply holds a thousand of these, and msgpack-c's one
 * write call per value was most of its cost. */
static char *codec_put_meta(char *p, const struct meta *m, bool keyed)
{
    p = keyed ? pack_map(p, CODEC_META_NKEYS) : pack_array(p, CODEC_META_NKEYS);
    p = codec_put_str(p, keyed, CODEC_META_NAME, m->name, strnlen(m->name, sizeof(m->name)));
    p = codec_put_str(p, keyed, CODEC_META_DTYPE, m->dtype.str,
                      strnlen(m->dtype.str, sizeof(m->dtype.str)));
    p = codec_put_key(p, keyed, CODEC_META_SHAPE);
    p = pack_array(p, m->ndim);
    for (uint32_t i = 0; i < m->ndim; i++)
        p = pack_uint(p, m->shape[i]);
    p = codec_put_str(p, keyed, CODEC_META_ORDER, &m->order, m->order != '\0' ? 1 : 0);
    p = codec_put_uint(p, keyed, CODEC_META_NBYTES, m->nbytes);
    p = codec_put_uint(p, keyed, CODEC_META_OFFSET, m->offset);
    p = codec_put_key(p, keyed, CODEC_META_PERSIST);
    p = pack_bool(p, m->persist);
    p = codec_put_uint(p, keyed, CODEC_META_PERM, m->perm);
    p = codec_put_uint(p, keyed, CODEC_META_UID, m->uid);
    p = codec_put_uint(p, keyed, CODEC_META_GID, m->gid);
    p = codec_put_key(p, keyed, CODEC_META_CTIME_NS);
    p = pack_int(p, m->ctime_ns);
    p = codec_put_uint(p, keyed, CODEC_META_NATTACHED, m->nattached);
    p = codec_put_str(p, keyed, CODEC_META_PATH, m->path, strnlen(m->path, sizeof(m->path)));
    p = codec_put_uint(p, keyed, CODEC_META_GROWN, m->grown);
    p = codec_put_key(p, keyed, CODEC_META_DAMAGED);
    return pack_bool(p, m->damaged);
}

/* Append m to the packer's sbuffer, keyed or as a row; 0 or -1 (out of memory). */
static int codec_pack_meta(msgpack_packer *pk, const struct meta *m, bool keyed)
{
    msgpack_sbuffer *out = pk->data;
    char *p = codec_room(out, codec_meta_packed_max(m));

    if (p == NULL)
        return -1;
    out->size += (size_t)(codec_put_meta(p, m, keyed) - p);
    return 0;
}

int codec_pack_hello(msgpack_sbuffer *out, uint32_t msgid, const struct codec_hello *p)
{
    size_t mark = out->size;
    msgpack_packer pk;
    int r = 0;

    msgpack_packer_init(&pk, out, msgpack_sbuffer_write);
    r |= codec_pack_request_head(&pk, msgid, "hello", true);
    r |= msgpack_pack_map(&pk, 2);
    r |= codec_pack_cstr(&pk, "version");
    r |= msgpack_pack_uint32(&pk, p->version);
    r |= codec_pack_cstr(&pk, "client");
    r |= codec_pack_strn(&pk, p->client, PROTO_TEXT_MAX);
    return codec_pack_end(out, mark, r);
}

int codec_pack_create(msgpack_sbuffer *out, uint32_t msgid, const struct codec_create *p)
{
    size_t mark = out->size;
    char order[2] = { p->order != '\0' ? p->order : 'C', '\0' };
    msgpack_packer pk;
    int r = 0;

    if (p->ndim > PROTO_NDIM_MAX)
        return -EINVAL;
    msgpack_packer_init(&pk, out, msgpack_sbuffer_write);
    r |= codec_pack_request_head(&pk, msgid, "create", true);
    r |= msgpack_pack_map(&pk, 7);
    r |= codec_pack_cstr(&pk, "name");
    r |= codec_pack_strn(&pk, p->name, sizeof(p->name));
    r |= codec_pack_cstr(&pk, "dtype");
    r |= codec_pack_strn(&pk, p->dtype.str, sizeof(p->dtype.str));
    r |= codec_pack_cstr(&pk, "shape");
    r |= msgpack_pack_array(&pk, p->ndim);
    for (uint32_t i = 0; i < p->ndim; i++)
        r |= msgpack_pack_uint64(&pk, p->shape[i]);
    r |= codec_pack_cstr(&pk, "order");
    r |= codec_pack_cstr(&pk, order);
    r |= codec_pack_cstr(&pk, "persist");
    r |= p->persist ? msgpack_pack_true(&pk) : msgpack_pack_false(&pk);
    r |= codec_pack_cstr(&pk, "perm");
    r |= msgpack_pack_uint32(&pk, p->perm);
    r |= codec_pack_cstr(&pk, "overwrite");
    r |= p->overwrite ? msgpack_pack_true(&pk) : msgpack_pack_false(&pk);
    return codec_pack_end(out, mark, r);
}

int codec_pack_open(msgpack_sbuffer *out, uint32_t msgid, const struct codec_open *p)
{
    size_t mark = out->size;
    msgpack_packer pk;
    int r = 0;

    msgpack_packer_init(&pk, out, msgpack_sbuffer_write);
    r |= codec_pack_request_head(&pk, msgid, "open", true);
    r |= msgpack_pack_map(&pk, p->has_owner ? 4 : 3);
    r |= codec_pack_cstr(&pk, "name");
    r |= codec_pack_strn(&pk, p->name, sizeof(p->name));
    r |= codec_pack_cstr(&pk, "mode");
    r |= codec_pack_cstr(&pk, meta_mode_name(p->mode));
    r |= codec_pack_cstr(&pk, "wait_ms");
    r |= msgpack_pack_int64(&pk, p->wait_ms);
    if (p->has_owner) {
        r |= codec_pack_cstr(&pk, "owner");
        r |= msgpack_pack_uint32(&pk, p->owner);
    }
    return codec_pack_end(out, mark, r);
}

int codec_pack_adopt(msgpack_sbuffer *out, uint32_t msgid, const struct codec_adopt *p)
{
    size_t mark = out->size;
    msgpack_packer pk;
    int r = 0;

    msgpack_packer_init(&pk, out, msgpack_sbuffer_write);
    r |= codec_pack_request_head(&pk, msgid, "adopt", true);
    r |= msgpack_pack_map(&pk, 3);
    r |= codec_pack_cstr(&pk, "name");
    r |= codec_pack_strn(&pk, p->name, sizeof(p->name));
    r |= codec_pack_cstr(&pk, "perm");
    r |= msgpack_pack_uint32(&pk, p->perm);
    r |= codec_pack_cstr(&pk, "overwrite");
    r |= p->overwrite ? msgpack_pack_true(&pk) : msgpack_pack_false(&pk);
    return codec_pack_end(out, mark, r);
}

int codec_pack_name(msgpack_sbuffer *out, uint32_t msgid, const char *method,
                    const struct codec_name *p)
{
    size_t mark = out->size;
    msgpack_packer pk;
    int r = 0;

    if (method == NULL || (strcmp(method, "stat") != 0 && strcmp(method, "unlink") != 0 &&
                           strcmp(method, "sync") != 0))
        return -EINVAL;
    msgpack_packer_init(&pk, out, msgpack_sbuffer_write);
    r |= codec_pack_request_head(&pk, msgid, method, true);
    r |= msgpack_pack_map(&pk, 1);
    r |= codec_pack_cstr(&pk, "name");
    r |= codec_pack_strn(&pk, p->name, sizeof(p->name));
    return codec_pack_end(out, mark, r);
}

int codec_pack_sync(msgpack_sbuffer *out, uint32_t msgid, const struct codec_sync *p)
{
    size_t mark = out->size;
    bool named = p->name[0] != '\0';
    msgpack_packer pk;
    int r = 0;

    if (!named && !p->has_handle)
        return -EINVAL;
    msgpack_packer_init(&pk, out, msgpack_sbuffer_write);
    r |= codec_pack_request_head(&pk, msgid, "sync", true);
    r |= msgpack_pack_map(&pk, (named ? 1 : 0) + (p->has_handle ? 1 : 0));
    if (p->has_handle) {
        r |= codec_pack_cstr(&pk, "handle");
        r |= msgpack_pack_uint64(&pk, p->handle);
    }
    if (named) {
        r |= codec_pack_cstr(&pk, "name");
        r |= codec_pack_strn(&pk, p->name, sizeof(p->name));
    }
    return codec_pack_end(out, mark, r);
}

int codec_pack_release(msgpack_sbuffer *out, uint32_t msgid, const struct codec_release *p)
{
    size_t mark = out->size;
    msgpack_packer pk;
    int r = 0;

    msgpack_packer_init(&pk, out, msgpack_sbuffer_write);
    r |= codec_pack_request_head(&pk, msgid, "release", true);
    r |= msgpack_pack_map(&pk, 1);
    r |= codec_pack_cstr(&pk, "handle");
    r |= msgpack_pack_uint64(&pk, p->handle);
    return codec_pack_end(out, mark, r);
}

int codec_pack_release_notify(msgpack_sbuffer *out, const struct codec_release *p)
{
    size_t mark = out->size;
    msgpack_packer pk;
    int r = 0;

    msgpack_packer_init(&pk, out, msgpack_sbuffer_write);
    r |= msgpack_pack_array(&pk, 3);
    r |= msgpack_pack_uint32(&pk, CODEC_NOTIFY);
    r |= codec_pack_cstr(&pk, "release");
    r |= msgpack_pack_array(&pk, 1);
    r |= msgpack_pack_map(&pk, 1);
    r |= codec_pack_cstr(&pk, "handle");
    r |= msgpack_pack_uint64(&pk, p->handle);
    return codec_pack_end(out, mark, r);
}

int codec_pack_list(msgpack_sbuffer *out, uint32_t msgid, const struct codec_list *p)
{
    size_t mark = out->size;
    msgpack_packer pk;
    int r = 0;

    msgpack_packer_init(&pk, out, msgpack_sbuffer_write);
    r |= codec_pack_request_head(&pk, msgid, "list", true);
    /* limit 0 means "the server's default": the key is left out; so is table false. */
    r |= msgpack_pack_map(&pk, 1 + (p->limit != 0) + p->table);
    r |= codec_pack_cstr(&pk, "after");
    r |= codec_pack_strn(&pk, p->after, sizeof(p->after));
    if (p->limit != 0) {
        r |= codec_pack_cstr(&pk, "limit");
        r |= msgpack_pack_uint32(&pk, p->limit);
    }
    if (p->table) {
        r |= codec_pack_cstr(&pk, "table");
        r |= msgpack_pack_true(&pk);
    }
    return codec_pack_end(out, mark, r);
}

/* A request of a method that takes no params. */
static int codec_pack_bare(msgpack_sbuffer *out, uint32_t msgid, const char *method)
{
    size_t mark = out->size;
    msgpack_packer pk;
    int r;

    msgpack_packer_init(&pk, out, msgpack_sbuffer_write);
    r = codec_pack_request_head(&pk, msgid, method, false);
    return codec_pack_end(out, mark, r);
}

int codec_pack_stats(msgpack_sbuffer *out, uint32_t msgid)
{
    return codec_pack_bare(out, msgid, "stats");
}

int codec_pack_ring(msgpack_sbuffer *out, uint32_t msgid)
{
    return codec_pack_bare(out, msgid, "ring");
}

int codec_pack_reply_ring(msgpack_sbuffer *out, uint32_t msgid, uint32_t size)
{
    size_t mark = out->size;
    msgpack_packer pk;
    int r = 0;

    msgpack_packer_init(&pk, out, msgpack_sbuffer_write);
    r |= codec_pack_response_head(&pk, msgid);
    r |= msgpack_pack_map(&pk, 2);
    r |= codec_pack_cstr(&pk, "size");
    r |= msgpack_pack_uint32(&pk, size);
    r |= codec_pack_cstr(&pk, "fd");
    r |= msgpack_pack_true(&pk);
    return codec_pack_end(out, mark, r);
}

int codec_pack_reply_hello(msgpack_sbuffer *out, uint32_t msgid,
                           const struct codec_hello_reply *h)
{
    size_t ncap = sizeof(codec_capabilities) / sizeof(codec_capabilities[0]);
    size_t mark = out->size;
    msgpack_packer pk;
    int r = 0;

    msgpack_packer_init(&pk, out, msgpack_sbuffer_write);
    r |= codec_pack_response_head(&pk, msgid);
    r |= msgpack_pack_map(&pk, 5);
    r |= codec_pack_cstr(&pk, "version");
    r |= msgpack_pack_uint32(&pk, h->version);
    r |= codec_pack_cstr(&pk, "server");
    r |= codec_pack_strn(&pk, h->server, sizeof(h->server));
    r |= codec_pack_cstr(&pk, "pid");
    r |= msgpack_pack_uint32(&pk, h->pid);
    r |= codec_pack_cstr(&pk, "limits");
    r |= msgpack_pack_map(&pk, 4);
    r |= codec_pack_cstr(&pk, "name");
    r |= msgpack_pack_uint32(&pk, h->max_name);
    r |= codec_pack_cstr(&pk, "ndim");
    r |= msgpack_pack_uint32(&pk, h->max_ndim);
    r |= codec_pack_cstr(&pk, "request");
    r |= msgpack_pack_uint32(&pk, h->max_request);
    r |= codec_pack_cstr(&pk, "list_page");
    r |= msgpack_pack_uint32(&pk, h->list_page_max);
    r |= codec_pack_cstr(&pk, "capabilities");
    r |= msgpack_pack_array(&pk, ncap);
    for (size_t i = 0; i < ncap; i++)
        r |= codec_pack_cstr(&pk, codec_capabilities[i]);
    return codec_pack_end(out, mark, r);
}

int codec_pack_reply_attach(msgpack_sbuffer *out, uint32_t msgid,
                            const struct codec_attach_reply *a)
{
    size_t mark = out->size;
    msgpack_packer pk;
    int r = 0;

    if (!codec_meta_packable(&a->meta))
        return -EINVAL;
    msgpack_packer_init(&pk, out, msgpack_sbuffer_write);
    r |= codec_pack_response_head(&pk, msgid);
    r |= msgpack_pack_map(&pk, 3);
    r |= codec_pack_cstr(&pk, "array");
    r |= codec_pack_meta(&pk, &a->meta, true);
    r |= codec_pack_cstr(&pk, "handle");
    r |= msgpack_pack_uint64(&pk, a->handle);
    r |= codec_pack_cstr(&pk, "fd");
    r |= msgpack_pack_true(&pk);
    return codec_pack_end(out, mark, r);
}

int codec_pack_reply_stat(msgpack_sbuffer *out, uint32_t msgid, const struct meta *m)
{
    size_t mark = out->size;
    msgpack_packer pk;
    int r = 0;

    if (!codec_meta_packable(m))
        return -EINVAL;
    msgpack_packer_init(&pk, out, msgpack_sbuffer_write);
    r |= codec_pack_response_head(&pk, msgid);
    r |= msgpack_pack_map(&pk, 1);
    r |= codec_pack_cstr(&pk, "array");
    r |= codec_pack_meta(&pk, m, true);
    return codec_pack_end(out, mark, r);
}

int codec_pack_reply_list(msgpack_sbuffer *out, uint32_t msgid, const struct meta *const *ms,
                          size_t n, bool more, bool table)
{
    size_t mark = out->size;
    msgpack_packer pk;
    size_t estimate = 64 + CODEC_META_FIXED_MAX; /* the envelope, "more" and the columns */
    int r = 0;

    if (n > 0 && ms == NULL)
        return -EINVAL;
    for (size_t i = 0; i < n; i++) {
        if (!codec_meta_packable(ms[i]))
            return -EINVAL;
        estimate += codec_meta_packed_max(ms[i]);
    }
    /* One allocation for the whole page, not a doubling per few dozen arrays. */
    if (codec_room(out, estimate) == NULL)
        return -ENOMEM;
    msgpack_packer_init(&pk, out, msgpack_sbuffer_write);
    r |= codec_pack_response_head(&pk, msgid);
    r |= msgpack_pack_map(&pk, table ? 3 : 2);
    if (table) {
        r |= codec_pack_cstr(&pk, "columns");
        r |= msgpack_pack_array(&pk, CODEC_META_NKEYS);
        for (unsigned k = 0; k < CODEC_META_NKEYS; k++)
            r |= codec_pack_cstr(&pk, codec_meta_keys[k]);
    }
    r |= codec_pack_cstr(&pk, table ? "rows" : "arrays");
    r |= msgpack_pack_array(&pk, n);
    for (size_t i = 0; i < n; i++)
        r |= codec_pack_meta(&pk, ms[i], !table);
    r |= codec_pack_cstr(&pk, "more");
    r |= more ? msgpack_pack_true(&pk) : msgpack_pack_false(&pk);
    return codec_pack_end(out, mark, r);
}

/* A number at its type's msgpack width: the stats fields' packer. */
#define CODEC_PACK_NUM(pk, v)                                                         \
    _Generic((v), uint64_t: msgpack_pack_uint64, uint32_t: msgpack_pack_uint32,       \
             int64_t: msgpack_pack_int64)(pk, v)

int codec_pack_reply_stats(msgpack_sbuffer *out, uint32_t msgid,
                           const struct codec_stats_reply *s)
{
    size_t mark = out->size;
    msgpack_packer pk;
    int r = 0;

    msgpack_packer_init(&pk, out, msgpack_sbuffer_write);
    r |= codec_pack_response_head(&pk, msgid);
    r |= msgpack_pack_map(&pk, PROTO_STATS_NFIELDS);
#define CODEC_STATS_PACK(field, type, key, required)                                  \
    r |= codec_pack_cstr(&pk, key);                                                   \
    r |= CODEC_PACK_NUM(&pk, s->field);
    PROTO_STATS_FIELDS(CODEC_STATS_PACK)
#undef CODEC_STATS_PACK
    return codec_pack_end(out, mark, r);
}

int codec_pack_reply_empty(msgpack_sbuffer *out, uint32_t msgid)
{
    size_t mark = out->size;
    msgpack_packer pk;
    int r = 0;

    msgpack_packer_init(&pk, out, msgpack_sbuffer_write);
    r |= codec_pack_response_head(&pk, msgid);
    r |= msgpack_pack_map(&pk, 0);
    return codec_pack_end(out, mark, r);
}

int codec_pack_error(msgpack_sbuffer *out, uint32_t msgid, int err, const char *message)
{
    size_t mark = out->size;
    msgpack_packer pk;
    int r = 0;

    msgpack_packer_init(&pk, out, msgpack_sbuffer_write);
    r |= msgpack_pack_array(&pk, 4);
    r |= msgpack_pack_uint32(&pk, 1);
    r |= msgpack_pack_uint32(&pk, msgid);
    r |= msgpack_pack_map(&pk, 2);
    r |= codec_pack_cstr(&pk, "code");
    r |= codec_pack_cstr(&pk, errcode_name(err));
    r |= codec_pack_cstr(&pk, "message");
    r |= codec_pack_strn(&pk, message != NULL ? message : "", PROTO_TEXT_MAX);
    r |= msgpack_pack_nil(&pk);
    return codec_pack_end(out, mark, r);
}

/* Where a parser is, for its error messages: "create", "stat reply: array". */
struct codec_ctx {
    const char *what;
    char *err;
    size_t errlen;
    const msgpack_object *found;  /* CODEC_GET's value, NULL when absent */
};

static int codec_fail(const struct codec_ctx *c, int r, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Write "<what>: <message>" into the caller's buffer and return r. */
static int codec_fail(const struct codec_ctx *c, int r, const char *fmt, ...)
{
    va_list ap;
    int n;

    if (c->err == NULL || c->errlen == 0)
        return r;
    n = snprintf(c->err, c->errlen, "%s: ", c->what);
    if (n >= 0 && (size_t)n < c->errlen) {
        va_start(ap, fmt);
        vsnprintf(c->err + n, c->errlen - (size_t)n, fmt, ap);
        va_end(ap);
    }
    return r;
}

static bool codec_str_is(const msgpack_object *o, const char *s)
{
    size_t n = strlen(s);

    return o->type == MSGPACK_OBJECT_STR && o->via.str.size == n &&
           memcmp(o->via.str.ptr, s, n) == 0;
}

/* Copy a str object into out (outsize with the NUL). Longer text is cut when
 * truncate is set and refused otherwise; text with a NUL inside is refused. */
static bool codec_copy_str(const msgpack_object *o, char *out, size_t outsize, bool truncate)
{
    size_t n;

    if (o->type != MSGPACK_OBJECT_STR)
        return false;
    n = o->via.str.size;
    if (n > 0 && memchr(o->via.str.ptr, '\0', n) != NULL)
        return false;
    if (n >= outsize) {
        if (!truncate)
            return false;
        n = outsize - 1;
    }
    if (n > 0)
        memcpy(out, o->via.str.ptr, n);
    out[n] = '\0';
    return true;
}

/* o is an array of str objects (none at all included). */
static bool codec_str_array(const msgpack_object *o)
{
    if (o->type != MSGPACK_OBJECT_ARRAY)
        return false;
    for (uint32_t i = 0; i < o->via.array.size; i++) {
        if (o->via.array.ptr[i].type != MSGPACK_OBJECT_STR)
            return false;
    }
    return true;
}

/* obj must be a map whose keys are all strings. NULL stands for "no params", an
 * empty map, when allow_null is set. */
static int codec_map(const struct codec_ctx *c, const msgpack_object *obj, bool allow_null,
                     const char *label)
{
    if (obj == NULL) {
        if (allow_null)
            return 0;
        return codec_fail(c, -EINVAL, "%s must be a map", label);
    }
    if (obj->type != MSGPACK_OBJECT_MAP)
        return codec_fail(c, -EINVAL, "%s must be a map", label);
    for (uint32_t i = 0; i < obj->via.map.size; i++) {
        if (obj->via.map.ptr[i].key.type != MSGPACK_OBJECT_STR)
            return codec_fail(c, -EINVAL, "%s keys must be strings", label);
    }
    return 0;
}

/* Find key in map (NULL map: absent). Returns 1 with *ret set, 0 if absent (an error
 * if required), or -EINVAL if the key repeats. */
static int codec_field(const struct codec_ctx *c, const msgpack_object *map, const char *key,
                       bool required, const msgpack_object **ret)
{
    const msgpack_object *found = NULL;
    size_t klen = strlen(key);

    /* Every key of the map is compared, to find repeats; most differ in length. */
    for (uint32_t i = 0; map != NULL && i < map->via.map.size; i++) {
        const msgpack_object *k = &map->via.map.ptr[i].key;

        if (k->type != MSGPACK_OBJECT_STR || k->via.str.size != klen ||
            memcmp(k->via.str.ptr, key, klen) != 0)
            continue;
        if (found != NULL)
            return codec_fail(c, -EINVAL, "'%s' appears more than once", key);
        found = &map->via.map.ptr[i].val;
    }
    if (found == NULL)
        return required ? codec_fail(c, -EINVAL, "'%s' is required", key) : 0;
    *ret = found;
    return 1;
}

/* Find key in map for CODEC_GET: 0 with c->found set (NULL when absent), or an
 * error when the key repeats or is required and absent. */
static int codec_find(struct codec_ctx *c, const msgpack_object *map, const char *key,
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
static int codec_submap(const struct codec_ctx *c, const char *key, const msgpack_object *v,
                        const msgpack_object **ret)
{
    if (v == NULL)
        return 0;
    if (v->type != MSGPACK_OBJECT_MAP)
        return codec_fail(c, -EINVAL, "'%s' must be a map", key);
    *ret = v;
    return 0;
}

/* Each value check below takes the value found under key (named in its messages), or
 * NULL for an absent key, which leaves *out as it was; CODEC_GET finds the value in a
 * map first. */

static int codec_uint(const struct codec_ctx *c, const char *key, const msgpack_object *v,
                      uint64_t max, uint64_t *out, const char *expect)
{
    if (v == NULL)
        return 0;
    if (v->type != MSGPACK_OBJECT_POSITIVE_INTEGER || v->via.u64 > max)
        return codec_fail(c, -EINVAL, "'%s' must be %s", key, expect);
    *out = v->via.u64;
    return 0;
}

static int codec_u32(const struct codec_ctx *c, const char *key, const msgpack_object *v,
                     uint32_t *out)
{
    uint64_t u = *out;
    int r = codec_uint(c, key, v, UINT32_MAX, &u, "an integer in 0..4294967295");

    if (r == 0)
        *out = (uint32_t)u;
    return r;
}

static int codec_int(const struct codec_ctx *c, const char *key, const msgpack_object *v,
                     int64_t min, int64_t *out, const char *expect)
{
    int64_t value;

    if (v == NULL)
        return 0;
    if (v->type == MSGPACK_OBJECT_POSITIVE_INTEGER && v->via.u64 <= INT64_MAX)
        value = (int64_t)v->via.u64;
    else if (v->type == MSGPACK_OBJECT_NEGATIVE_INTEGER)
        value = v->via.i64;
    else
        return codec_fail(c, -EINVAL, "'%s' must be %s", key, expect);
    if (value < min)
        return codec_fail(c, -EINVAL, "'%s' must be %s", key, expect);
    *out = value;
    return 0;
}

static int codec_bool(const struct codec_ctx *c, const char *key, const msgpack_object *v,
                      bool *out)
{
    if (v == NULL)
        return 0;
    if (v->type != MSGPACK_OBJECT_BOOLEAN)
        return codec_fail(c, -EINVAL, "'%s' must be a boolean", key);
    *out = v->via.boolean;
    return 0;
}

static int codec_str(const struct codec_ctx *c, const char *key, const msgpack_object *v,
                     char *out, size_t outsize, bool truncate)
{
    if (v == NULL)
        return 0;
    if (!codec_copy_str(v, out, outsize, truncate)) {
        if (truncate)
            return codec_fail(c, -EINVAL, "'%s' must be a string", key);
        return codec_fail(c, -EINVAL, "'%s' must be a string of at most %zu bytes", key,
                          outsize - 1);
    }
    return 0;
}

static int codec_name(const struct codec_ctx *c, const char *key, const msgpack_object *v,
                      char out[PROTO_NAME_MAX + 1])
{
    int r;

    if (v == NULL)
        return 0;
    if (v->type != MSGPACK_OBJECT_STR)
        return codec_fail(c, -EINVAL, "'%s' must be a string", key);
    r = name_check(v->via.str.ptr, v->via.str.size);
    if (r == -ENAMETOOLONG)
        return codec_fail(c, r, "'%s' is longer than " CODEC_XSTR(PROTO_NAME_MAX) " bytes",
                          key);
    if (r < 0)
        return codec_fail(c, r, "'%s' must be 1.." CODEC_XSTR(PROTO_NAME_MAX)
                          " bytes of [A-Za-z0-9._-], not starting with '.'", key);
    memcpy(out, v->via.str.ptr, v->via.str.size);
    out[v->via.str.size] = '\0';
    return 0;
}

static int codec_dtype(const struct codec_ctx *c, const char *key, const msgpack_object *v,
                       struct dtype *out)
{
    char text[PROTO_DTYPE_MAX + 1];

    if (v == NULL)
        return 0;
    if (!codec_copy_str(v, text, sizeof(text), false) || dtype_parse(text, out) < 0)
        return codec_fail(c, -EINVAL, "'%s' must be a numpy type string such as "
                          "\"<f4\" or \"float32\"", key);
    return 0;
}

static int codec_shape(const struct codec_ctx *c, const char *key, const msgpack_object *v,
                       uint32_t *ret_ndim, uint64_t *shape)
{
    if (v == NULL)
        return 0;
    if (v->type != MSGPACK_OBJECT_ARRAY || v->via.array.size == 0 ||
        v->via.array.size > PROTO_NDIM_MAX)
        goto bad;
    for (uint32_t i = 0; i < v->via.array.size; i++) {
        const msgpack_object *d = &v->via.array.ptr[i];
        if (d->type != MSGPACK_OBJECT_POSITIVE_INTEGER || d->via.u64 == 0)
            goto bad;
        shape[i] = d->via.u64;
    }
    *ret_ndim = v->via.array.size;
    return 0;

bad:
    return codec_fail(c, -EINVAL, "'%s' must be an array of 1.." CODEC_XSTR(PROTO_NDIM_MAX)
                      " positive integers", key);
}

static int codec_order(const struct codec_ctx *c, const char *key, const msgpack_object *v,
                       char *out)
{
    if (v == NULL)
        return 0;
    if (codec_str_is(v, "C"))
        *out = 'C';
    else if (codec_str_is(v, "F"))
        *out = 'F';
    else
        return codec_fail(c, -EINVAL, "'%s' must be \"C\" or \"F\"", key);
    return 0;
}

/* The data size of a shape: -EOVERFLOW beyond PROTO_ARRAY_BYTES_MAX. */
static int codec_check_size(const struct codec_ctx *c, uint32_t ndim, const uint64_t *shape,
                            uint64_t itemsize, uint64_t *ret_nbytes)
{
    int r = shape_nbytes(ndim, shape, itemsize, ret_nbytes);

    if (r == -EOVERFLOW)
        return codec_fail(c, r, "'shape' times the item size exceeds 2^62 bytes");
    if (r < 0)
        return codec_fail(c, r, "'shape' must be an array of 1.." CODEC_XSTR(PROTO_NDIM_MAX)
                          " positive integers");
    return 0;
}

int codec_parse_msg(const msgpack_object *obj, struct codec_msg *out,
                    int *ret_msgid_known, char *err, size_t errlen)
{
    struct codec_ctx c = { "envelope", err, errlen, NULL };
    const msgpack_object *e;
    const msgpack_object *params;
    uint32_t n, at;

    memset(out, 0, sizeof(*out));
    if (ret_msgid_known != NULL)
        *ret_msgid_known = 0;
    if (obj == NULL || obj->type != MSGPACK_OBJECT_ARRAY || obj->via.array.size == 0)
        return codec_fail(&c, -EBADMSG, "a message must be a non-empty array");
    e = obj->via.array.ptr;
    n = obj->via.array.size;
    if (e[0].type != MSGPACK_OBJECT_POSITIVE_INTEGER || e[0].via.u64 > CODEC_NOTIFY)
        return codec_fail(&c, -EBADMSG, "the message type must be 0, 1 or 2");
    out->type = (enum codec_type)e[0].via.u64;

    if (out->type != CODEC_NOTIFY) {
        if (n < 2 || e[1].type != MSGPACK_OBJECT_POSITIVE_INTEGER || e[1].via.u64 > UINT32_MAX)
            return codec_fail(&c, -EBADMSG, "the msgid must be an integer in 0..4294967295");
        out->msgid = (uint32_t)e[1].via.u64;
        if (out->type == CODEC_REQUEST && ret_msgid_known != NULL)
            *ret_msgid_known = 1;
        if (n != 4)
            return codec_fail(&c, -EBADMSG, "a %s must have 4 elements",
                              out->type == CODEC_REQUEST ? "request" : "response");
    } else if (n != 3) {
        return codec_fail(&c, -EBADMSG, "a notification must have 3 elements");
    }

    if (out->type == CODEC_RESPONSE) {
        const msgpack_object *error = &e[2];
        if (error->type == MSGPACK_OBJECT_NIL) {
            if (e[3].type != MSGPACK_OBJECT_MAP)
                return codec_fail(&c, -EBADMSG, "a successful response's result must be a map");
            out->result = &e[3];
            return 0;
        }
        struct codec_ctx ec = { "envelope: error", err, errlen, NULL };
        char code[32];
        const msgpack_object *v;
        if (codec_map(&ec, error, false, "the error") < 0)
            return -EBADMSG;
        if (codec_field(&ec, error, "code", true, &v) <= 0 ||
            !codec_copy_str(v, code, sizeof(code), true))
            return codec_fail(&c, -EBADMSG, "error: 'code' must be a string such as \"ENOENT\"");
        if (CODEC_GET(&ec, error, "message", false, codec_str, out->errmsg, sizeof(out->errmsg),
                          true) < 0)
            return -EBADMSG;
        out->err = errcode_parse(code, strlen(code));
        return 0;
    }

    at = out->type == CODEC_REQUEST ? 2 : 1;
    if (!codec_copy_str(&e[at], out->method, sizeof(out->method), false) ||
        out->method[0] == '\0')
        return codec_fail(&c, -EBADMSG, "the method must be a string of 1.."
                          CODEC_XSTR(PROTO_METHOD_MAX) " bytes");
    params = &e[at + 1];
    if (params->type != MSGPACK_OBJECT_ARRAY || params->via.array.size > 1 ||
        (params->via.array.size == 1 && params->via.array.ptr[0].type != MSGPACK_OBJECT_MAP))
        return codec_fail(&c, -EBADMSG, "params must be an array holding one map, or empty");
    out->params = params->via.array.size == 1 ? &params->via.array.ptr[0] : NULL;
    return 0;
}

int codec_parse_hello(const msgpack_object *params, struct codec_hello *out,
                      char *err, size_t errlen)
{
    struct codec_ctx c = { "hello", err, errlen, NULL };
    uint64_t version = 0;
    int r;

    out->client[0] = '\0';
    if ((r = codec_map(&c, params, true, "params")) < 0 ||
        (r = CODEC_GET(&c, params, "version", true, codec_uint, UINT32_MAX, &version,
                            "an integer in 0..4294967295")) < 0 ||
        (r = CODEC_GET(&c, params, "client", false, codec_str, out->client, sizeof(out->client),
                           true)) < 0)
        return r;
    out->version = (uint32_t)version;
    return 0;
}

int codec_parse_create(const msgpack_object *params, struct codec_create *out,
                       char *err, size_t errlen)
{
    struct codec_ctx c = { "create", err, errlen, NULL };
    uint64_t perm = 0600, nbytes;
    int r;

    out->order = 'C';
    out->persist = false;
    out->overwrite = false;
    if ((r = codec_map(&c, params, true, "params")) < 0 ||
        (r = CODEC_GET(&c, params, "name", true, codec_name, out->name)) < 0 ||
        (r = CODEC_GET(&c, params, "dtype", true, codec_dtype, &out->dtype)) < 0 ||
        (r = CODEC_GET(&c, params, "shape", true, codec_shape, &out->ndim, out->shape)) < 0 ||
        (r = CODEC_GET(&c, params, "order", false, codec_order, &out->order)) < 0 ||
        (r = CODEC_GET(&c, params, "persist", false, codec_bool, &out->persist)) < 0 ||
        (r = CODEC_GET(&c, params, "perm", false, codec_uint, 07777, &perm,
                            "an integer in 0..07777")) < 0 ||
        (r = CODEC_GET(&c, params, "overwrite", false, codec_bool, &out->overwrite)) < 0 ||
        (r = codec_check_size(&c, out->ndim, out->shape, out->dtype.itemsize, &nbytes)) < 0)
        return r;
    out->perm = (uint32_t)perm;
    return 0;
}

int codec_parse_adopt(const msgpack_object *params, struct codec_adopt *out,
                      char *err, size_t errlen)
{
    struct codec_ctx c = { "adopt", err, errlen, NULL };
    uint64_t perm = 0600;
    int r;

    out->overwrite = false;
    if ((r = codec_map(&c, params, true, "params")) < 0 ||
        (r = CODEC_GET(&c, params, "name", true, codec_name, out->name)) < 0 ||
        (r = CODEC_GET(&c, params, "perm", false, codec_uint, 07777, &perm,
                            "an integer in 0..07777")) < 0 ||
        (r = CODEC_GET(&c, params, "overwrite", false, codec_bool, &out->overwrite)) < 0)
        return r;
    out->perm = (uint32_t)perm;
    return 0;
}

int codec_parse_open(const msgpack_object *params, struct codec_open *out,
                     char *err, size_t errlen)
{
    struct codec_ctx c = { "open", err, errlen, NULL };
    uint64_t owner = UINT64_MAX;
    char mode[4] = "r+";
    int r;

    out->wait_ms = 0;
    if ((r = codec_map(&c, params, true, "params")) < 0 ||
        (r = CODEC_GET(&c, params, "name", true, codec_name, out->name)) < 0 ||
        (r = CODEC_GET(&c, params, "wait_ms", false, codec_int, -1, &out->wait_ms,
                           "an integer >= -1 (-1 waits forever)")) < 0 ||
        (r = CODEC_GET(&c, params, "owner", false, codec_uint, UINT32_MAX - 1, &owner,
                            "a uid, an integer in 0..4294967294")) < 0)
        return r;
    out->has_owner = owner != UINT64_MAX;
    out->owner = out->has_owner ? (uint32_t)owner : 0;
    if (CODEC_GET(&c, params, "mode", false, codec_str, mode, sizeof(mode), false) < 0 ||
        meta_mode_parse(mode, &out->mode) < 0)
        return codec_fail(&c, -EINVAL, "'mode' must be \"r\", \"r+\" or \"c\"");
    return 0;
}

int codec_parse_name(const msgpack_object *params, struct codec_name *out,
                     char *err, size_t errlen)
{
    struct codec_ctx c = { "request", err, errlen, NULL };
    int r;

    if ((r = codec_map(&c, params, true, "params")) < 0 ||
        (r = CODEC_GET(&c, params, "name", true, codec_name, out->name)) < 0)
        return r;
    return 0;
}

int codec_parse_release(const msgpack_object *params, struct codec_release *out,
                        char *err, size_t errlen)
{
    struct codec_ctx c = { "release", err, errlen, NULL };
    int r;

    if ((r = codec_map(&c, params, true, "params")) < 0 ||
        (r = CODEC_GET(&c, params, "handle", true, codec_uint, UINT64_MAX, &out->handle,
                            "a non-negative integer")) < 0)
        return r;
    return 0;
}

int codec_parse_sync(const msgpack_object *params, struct codec_sync *out,
                     char *err, size_t errlen)
{
    struct codec_ctx c = { "sync", err, errlen, NULL };
    const msgpack_object *v = NULL;
    int r;

    out->name[0] = '\0';
    out->has_handle = false;
    out->handle = 0;
    if ((r = codec_map(&c, params, true, "params")) < 0 ||
        (r = codec_field(&c, params, "handle", false, &v)) < 0 ||
        (r = codec_uint(&c, "handle", v, UINT64_MAX, &out->handle,
                        "a non-negative integer")) < 0)
        return r;
    out->has_handle = v != NULL;
    v = NULL;
    if ((r = codec_field(&c, params, "name", !out->has_handle, &v)) < 0 ||
        (r = codec_name(&c, "name", v, out->name)) < 0)
        return r;
    return 0;
}

int codec_parse_list(const msgpack_object *params, struct codec_list *out,
                     char *err, size_t errlen)
{
    struct codec_ctx c = { "list", err, errlen, NULL };
    uint64_t limit = PROTO_LIST_PAGE_DEFAULT;
    int r;

    out->after[0] = '\0';
    out->table = false;
    if ((r = codec_map(&c, params, true, "params")) < 0 ||
        (r = CODEC_GET(&c, params, "after", false, codec_str, out->after, sizeof(out->after),
                           false)) < 0 ||
        (r = CODEC_GET(&c, params, "limit", false, codec_uint, PROTO_LIST_PAGE_MAX, &limit,
                            "an integer in 1.." CODEC_XSTR(PROTO_LIST_PAGE_MAX))) < 0 ||
        (r = CODEC_GET(&c, params, "table", false, codec_bool, &out->table)) < 0)
        return r;
    if (limit == 0)
        return codec_fail(&c, -EINVAL,
                          "'limit' must be an integer in 1.." CODEC_XSTR(PROTO_LIST_PAGE_MAX));
    out->limit = (uint32_t)limit;
    return 0;
}

#define CODEC_ABSENT (-1)
#define CODEC_REPEATED (-2)

/* Where each of keys[0..nkeys) stands among n str objects stride bytes apart (a map's
 * keys, or a list reply's columns): pos[k] is its index, CODEC_ABSENT or
 * CODEC_REPEATED. One pass; about one comparison a name when the names come in the
 * order of keys[], where a codec_field per key compares every name. */
static void codec_index(const msgpack_object *names, size_t stride, uint32_t n,
                        const char *const *keys, unsigned nkeys, int64_t *pos)
{
    for (unsigned k = 0; k < nkeys; k++)
        pos[k] = CODEC_ABSENT;
    for (uint32_t i = 0; i < n; i++) {
        const msgpack_object *name = (const void *)((const char *)names + i * stride);
        unsigned k = 0;

        if (i < nkeys && codec_str_is(name, keys[i]))
            k = i;
        else
            while (k < nkeys && !codec_str_is(name, keys[k]))
                k++;
        if (k < nkeys)
            pos[k] = pos[k] == CODEC_ABSENT ? (int64_t)i : CODEC_REPEATED;
    }
}

/* The first of keys that repeats, or is absent among the first nrequired, as an error
 * (codec_field's messages); 0 when there is none. */
static int codec_check_index(const struct codec_ctx *c, const char *const *keys,
                             unsigned nkeys, unsigned nrequired, const int64_t *pos)
{
    for (unsigned k = 0; k < nkeys; k++) {
        if (pos[k] == CODEC_REPEATED)
            return codec_fail(c, -EINVAL, "'%s' appears more than once", keys[k]);
        if (pos[k] == CODEC_ABSENT && k < nrequired)
            return codec_fail(c, -EINVAL, "'%s' is required", keys[k]);
    }
    return 0;
}

/* name, dtype and shape: the keys an array map must have. */
#define CODEC_META_NREQUIRED (CODEC_META_SHAPE + 1)

/* An array's metadata from its values, v[k] for codec_meta_keys[k] (NULL: absent, and
 * then not one of the required ones), checked in key order. */
static int codec_meta_values(const struct codec_ctx *c, const msgpack_object *const *v,
                             struct meta *out)
{
    uint64_t nbytes, perm = 0, given = 0, offset = PROTO_DATA_OFFSET;
    int64_t ctime_ns = 0;
    bool persist = false;
    char order = 'C';
    int r;

    out->uid = out->gid = out->nattached = 0;
    out->path[0] = '\0';
    out->grown = 0;
    out->damaged = false;
    if ((r = codec_name(c, "name", v[CODEC_META_NAME], out->name)) < 0 ||
        (r = codec_dtype(c, "dtype", v[CODEC_META_DTYPE], &out->dtype)) < 0 ||
        (r = codec_shape(c, "shape", v[CODEC_META_SHAPE], &out->ndim, out->shape)) < 0 ||
        (r = codec_check_size(c, out->ndim, out->shape, out->dtype.itemsize, &nbytes)) < 0 ||
        (r = codec_order(c, "order", v[CODEC_META_ORDER], &order)) < 0 ||
        (r = codec_uint(c, "nbytes", v[CODEC_META_NBYTES], UINT64_MAX, &given,
                        "a non-negative integer")) < 0 ||
        (r = codec_uint(c, "offset", v[CODEC_META_OFFSET], UINT64_MAX, &offset,
                        "a non-negative integer")) < 0 ||
        (r = codec_bool(c, "persist", v[CODEC_META_PERSIST], &persist)) < 0 ||
        (r = codec_uint(c, "perm", v[CODEC_META_PERM], 07777, &perm,
                        "an integer in 0..07777")) < 0 ||
        (r = codec_u32(c, "uid", v[CODEC_META_UID], &out->uid)) < 0 ||
        (r = codec_u32(c, "gid", v[CODEC_META_GID], &out->gid)) < 0 ||
        (r = codec_int(c, "ctime_ns", v[CODEC_META_CTIME_NS], INT64_MIN, &ctime_ns,
                       "an integer")) < 0 ||
        (r = codec_u32(c, "nattached", v[CODEC_META_NATTACHED], &out->nattached)) < 0 ||
        (r = codec_str(c, "path", v[CODEC_META_PATH], out->path, sizeof(out->path),
                       false)) < 0 ||
        (r = codec_uint(c, "grown", v[CODEC_META_GROWN], UINT64_MAX, &out->grown,
                        "a non-negative integer")) < 0 ||
        (r = codec_bool(c, "damaged", v[CODEC_META_DAMAGED], &out->damaged)) < 0)
        return r;
    if (given != 0 && given != nbytes)
        return codec_fail(c, -EINVAL, "'nbytes' %llu does not match shape and dtype (%llu)",
                          (unsigned long long)given, (unsigned long long)nbytes);
    if (offset == 0 || offset % PROTO_DATA_OFFSET_ALIGN != 0 || offset > PROTO_DATA_OFFSET_MAX)
        return codec_fail(c, -EINVAL, "'offset' must be a multiple of "
                          CODEC_XSTR(PROTO_DATA_OFFSET_ALIGN) " in "
                          CODEC_XSTR(PROTO_DATA_OFFSET_ALIGN) ".." CODEC_XSTR(PROTO_DATA_OFFSET_MAX));
    out->order = order;
    out->nbytes = nbytes;
    out->offset = offset;
    out->persist = persist;
    out->perm = (uint32_t)perm;
    out->ctime_ns = ctime_ns;
    return 0;
}

/* One array's metadata map; c names where it sits, for messages. A repeated or
 * missing key is reported before any bad value. */
static int codec_meta(const struct codec_ctx *c, const msgpack_object *obj, struct meta *out)
{
    const msgpack_object *v[CODEC_META_NKEYS];
    int64_t pos[CODEC_META_NKEYS];
    int r;

    if ((r = codec_map(c, obj, false, "the array")) < 0)
        return r;
    codec_index(obj->via.map.size > 0 ? &obj->via.map.ptr[0].key : NULL,
                sizeof(msgpack_object_kv), obj->via.map.size, codec_meta_keys,
                CODEC_META_NKEYS, pos);
    r = codec_check_index(c, codec_meta_keys, CODEC_META_NKEYS, CODEC_META_NREQUIRED, pos);
    if (r < 0)
        return r;
    for (unsigned k = 0; k < CODEC_META_NKEYS; k++)
        v[k] = pos[k] >= 0 ? &obj->via.map.ptr[pos[k]].val : NULL;
    return codec_meta_values(c, v, out);
}

int codec_parse_meta(const msgpack_object *obj, struct meta *out, char *err, size_t errlen)
{
    struct codec_ctx c = { "array", err, errlen, NULL };

    return codec_meta(&c, obj, out);
}

int codec_parse_reply_hello(const msgpack_object *result, struct codec_hello_reply *out,
                            char *err, size_t errlen)
{
    struct codec_ctx c = { "hello reply", err, errlen, NULL };
    struct codec_ctx lc = { "hello reply: limits", err, errlen, NULL };
    const msgpack_object *limits = NULL, *caps = NULL;
    int r;

    out->server[0] = '\0';
    out->release_notify = false;
    out->release_ring = false;
    if ((r = codec_map(&c, result, false, "the result")) < 0 ||
        (r = CODEC_GET(&c, result, "version", true, codec_u32, &out->version)) < 0 ||
        (r = CODEC_GET(&c, result, "server", false, codec_str, out->server, sizeof(out->server),
                           true)) < 0 ||
        (r = CODEC_GET(&c, result, "pid", true, codec_u32, &out->pid)) < 0 ||
        (r = CODEC_GET(&c, result, "limits", true, codec_submap, &limits)) < 0 ||
        (r = codec_map(&lc, limits, false, "'limits'")) < 0 ||
        (r = CODEC_GET(&lc, limits, "name", true, codec_u32, &out->max_name)) < 0 ||
        (r = CODEC_GET(&lc, limits, "ndim", true, codec_u32, &out->max_ndim)) < 0 ||
        (r = CODEC_GET(&lc, limits, "request", true, codec_u32, &out->max_request)) < 0 ||
        (r = CODEC_GET(&lc, limits, "list_page", true, codec_u32, &out->list_page_max)) < 0)
        return r;
    r = codec_field(&c, result, "capabilities", false, &caps);
    if (r < 0)
        return r;
    if (r == 1) {
        if (!codec_str_array(caps))
            return codec_fail(&c, -EINVAL, "'capabilities' must be an array of strings");
        for (uint32_t i = 0; i < caps->via.array.size; i++) {
            const msgpack_object_str *cap = &caps->via.array.ptr[i].via.str;

            if (cap->size == sizeof("release_notify") - 1 &&
                memcmp(cap->ptr, "release_notify", cap->size) == 0)
                out->release_notify = true;
            if (cap->size == sizeof("release_ring") - 1 &&
                memcmp(cap->ptr, "release_ring", cap->size) == 0)
                out->release_ring = true;
        }
    }
    return 0;
}

int codec_parse_reply_attach(const msgpack_object *result, struct codec_attach_reply *out,
                             int *ret_has_fd, char *err, size_t errlen)
{
    struct codec_ctx c = { "attach reply", err, errlen, NULL };
    struct codec_ctx mc = { "attach reply: array", err, errlen, NULL };
    const msgpack_object *array = NULL;
    bool has_fd = false;
    int r;

    if ((r = codec_map(&c, result, false, "the result")) < 0 ||
        (r = CODEC_GET(&c, result, "array", true, codec_submap, &array)) < 0 ||
        (r = codec_meta(&mc, array, &out->meta)) < 0 ||
        (r = CODEC_GET(&c, result, "handle", true, codec_uint, UINT64_MAX, &out->handle,
                            "a non-negative integer")) < 0 ||
        (r = CODEC_GET(&c, result, "fd", false, codec_bool, &has_fd)) < 0)
        return r;
    if (ret_has_fd != NULL)
        *ret_has_fd = has_fd;
    return 0;
}

int codec_parse_reply_ring(const msgpack_object *result, uint32_t *ret_size, char *err,
                           size_t errlen)
{
    struct codec_ctx c = { "ring reply", err, errlen, NULL };
    bool has_fd = false;
    int r;

    if ((r = codec_map(&c, result, false, "the result")) < 0 ||
        (r = CODEC_GET(&c, result, "size", true, codec_u32, ret_size)) < 0 ||
        (r = CODEC_GET(&c, result, "fd", true, codec_bool, &has_fd)) < 0)
        return r;
    if (!has_fd)
        return codec_fail(&c, -EINVAL, "'fd' must be true");
    return 0;
}

int codec_parse_reply_stat(const msgpack_object *result, struct meta *out,
                           char *err, size_t errlen)
{
    struct codec_ctx c = { "stat reply", err, errlen, NULL };
    struct codec_ctx mc = { "stat reply: array", err, errlen, NULL };
    const msgpack_object *array = NULL;
    int r;

    if ((r = codec_map(&c, result, false, "the result")) < 0 ||
        (r = CODEC_GET(&c, result, "array", true, codec_submap, &array)) < 0 ||
        (r = codec_meta(&mc, array, out)) < 0)
        return r;
    return 0;
}

/* A paged reply {key: [items], "more": bool}: the items (at most cap) in *ret_items,
 * *ret_more set. 0, or -EINVAL/-EOVERFLOW with a message. */
static int codec_page(struct codec_ctx *c, const msgpack_object *result, const char *key,
                      size_t cap, const msgpack_object_array **ret_items, bool *ret_more)
{
    const msgpack_object *items = NULL;
    int r;

    *ret_more = false;
    if ((r = codec_map(c, result, false, "the result")) < 0 ||
        (r = codec_field(c, result, key, true, &items)) < 0 ||
        (r = CODEC_GET(c, result, "more", false, codec_bool, ret_more)) < 0)
        return r;
    if (items->type != MSGPACK_OBJECT_ARRAY)
        return codec_fail(c, -EINVAL, "'%s' must be an array", key);
    if (items->via.array.size > cap)
        return codec_fail(c, -EOVERFLOW, "%u %s do not fit in %zu entries",
                          items->via.array.size, key, cap);
    *ret_items = &items->via.array;
    return 0;
}

/* A list reply in the form asked for by "table": maps ({"arrays": [array map...]}),
 * what a daemon that predates tables sends whatever it was asked. */
static int codec_parse_reply_list_maps(struct codec_ctx *c, const msgpack_object *result,
                                       struct meta *out, size_t cap, size_t *ret_n,
                                       bool *ret_more)
{
    struct codec_ctx ac = { "list reply: arrays[]", c->err, c->errlen, NULL };
    const msgpack_object_array *arrays;
    bool more;
    int r = codec_page(c, result, "arrays", cap, &arrays, &more);

    if (r < 0)
        return r;
    for (uint32_t i = 0; i < arrays->size; i++) {
        r = codec_meta(&ac, &arrays->ptr[i], &out[i]);
        if (r < 0)
            return r;
    }
    *ret_n = arrays->size;
    *ret_more = more;
    return 0;
}

/* A list reply is a table when the request said "table": "columns" names the values
 * of each of its "rows" once per page, so that a row carries no keys. Columns this
 * reader does not know are skipped; a missing one takes an array map's default. A
 * reply without "columns" is the older form of maps. */
int codec_parse_reply_list(const msgpack_object *result, struct meta *out, size_t cap,
                           size_t *ret_n, bool *ret_more, char *err, size_t errlen)
{
    struct codec_ctx c = { "list reply", err, errlen, NULL };
    struct codec_ctx cc = { "list reply: columns", err, errlen, NULL };
    struct codec_ctx rc = { "list reply: rows[]", err, errlen, NULL };
    const msgpack_object *columns = NULL, *arrays = NULL, *v[CODEC_META_NKEYS];
    const msgpack_object_array *rows;
    int64_t pos[CODEC_META_NKEYS];
    bool more;
    int r = codec_map(&c, result, false, "the result");

    if (r < 0 || (r = codec_field(&c, result, "columns", false, &columns)) < 0 ||
        (r = codec_field(&c, result, "arrays", false, &arrays)) < 0)
        return r;
    if (columns == NULL && arrays != NULL)
        return codec_parse_reply_list_maps(&c, result, out, cap, ret_n, ret_more);
    r = codec_page(&c, result, "rows", cap, &rows, &more);
    if (r < 0 || (r = codec_field(&c, result, "columns", true, &columns)) < 0)
        return r;
    if (!codec_str_array(columns))
        return codec_fail(&c, -EINVAL, "'columns' must be an array of strings");
    codec_index(columns->via.array.ptr, sizeof(msgpack_object), columns->via.array.size,
                codec_meta_keys, CODEC_META_NKEYS, pos);
    r = codec_check_index(&cc, codec_meta_keys, CODEC_META_NKEYS, CODEC_META_NREQUIRED, pos);
    if (r < 0)
        return r;
    for (uint32_t i = 0; i < rows->size; i++) {
        const msgpack_object *row = &rows->ptr[i];

        if (row->type != MSGPACK_OBJECT_ARRAY || row->via.array.size != columns->via.array.size)
            return codec_fail(&rc, -EINVAL, "a row must be an array of one value per column");
        for (unsigned k = 0; k < CODEC_META_NKEYS; k++)
            v[k] = pos[k] >= 0 ? &row->via.array.ptr[pos[k]] : NULL;
        r = codec_meta_values(&rc, v, &out[i]);
        if (r < 0)
            return r;
    }
    *ret_n = rows->size;
    *ret_more = more;
    return 0;
}

/* A number of the type out points to, in that type's range: the stats fields' check. */
static int codec_u64(const struct codec_ctx *c, const char *key, const msgpack_object *v,
                     uint64_t *out)
{
    return codec_uint(c, key, v, UINT64_MAX, out, "a non-negative integer");
}

static int codec_i64(const struct codec_ctx *c, const char *key, const msgpack_object *v,
                     int64_t *out)
{
    return codec_int(c, key, v, INT64_MIN, out, "an integer");
}

#define CODEC_NUM(out) _Generic((out), uint64_t *: codec_u64, uint32_t *: codec_u32, \
                                int64_t *: codec_i64)

int codec_parse_reply_stats(const msgpack_object *result, struct codec_stats_reply *out,
                            char *err, size_t errlen)
{
    struct codec_ctx c = { "stats reply", err, errlen, NULL };
    int r;

    memset(out, 0, sizeof(*out));
    if ((r = codec_map(&c, result, false, "the result")) < 0)
        return r;
#define CODEC_STATS_PARSE(field, type, key, required)                                 \
    if ((r = CODEC_GET(&c, result, key, required, CODEC_NUM(&out->field), &out->field)) < 0) \
        return r;
    PROTO_STATS_FIELDS(CODEC_STATS_PARSE)
#undef CODEC_STATS_PARSE
    return 0;
}

int codec_pack_holders(msgpack_sbuffer *out, uint32_t msgid, const struct codec_holders *p)
{
    size_t mark = out->size;
    msgpack_packer pk;
    int r = 0;

    msgpack_packer_init(&pk, out, msgpack_sbuffer_write);
    r |= codec_pack_request_head(&pk, msgid, "holders", true);
    r |= msgpack_pack_map(&pk, p->name[0] ? 3 : 2);
    if (p->name[0]) {
        r |= codec_pack_cstr(&pk, "name");
        r |= codec_pack_strn(&pk, p->name, sizeof(p->name));
    }
    r |= codec_pack_cstr(&pk, "after");
    r |= msgpack_pack_uint64(&pk, p->after);
    r |= codec_pack_cstr(&pk, "limit");
    r |= msgpack_pack_uint32(&pk, p->limit ? p->limit : PROTO_LIST_PAGE_DEFAULT);
    return codec_pack_end(out, mark, r);
}

int codec_parse_holders(const msgpack_object *params, struct codec_holders *out,
                        char *err, size_t errlen)
{
    struct codec_ctx c = { "holders", err, errlen, NULL };
    const msgpack_object *v = NULL;
    uint64_t limit = PROTO_LIST_PAGE_DEFAULT;
    int r;

    out->name[0] = '\0';
    out->after = 0;
    if ((r = codec_map(&c, params, true, "params")) < 0 ||
        (r = codec_field(&c, params, "name", false, &v)) < 0 ||
        (r == 1 && (r = CODEC_GET(&c, params, "name", true, codec_name, out->name)) < 0) ||
        (r = CODEC_GET(&c, params, "after", false, codec_uint, UINT64_MAX, &out->after,
                            "a non-negative integer")) < 0 ||
        (r = CODEC_GET(&c, params, "limit", false, codec_uint, PROTO_LIST_PAGE_MAX, &limit,
                            "an integer in 1.." CODEC_XSTR(PROTO_LIST_PAGE_MAX))) < 0)
        return r;
    if (limit == 0)
        return codec_fail(&c, -EINVAL,
                          "'limit' must be an integer in 1.." CODEC_XSTR(PROTO_LIST_PAGE_MAX));
    out->limit = (uint32_t)limit;
    return 0;
}

int codec_pack_reply_holders(msgpack_sbuffer *out, uint32_t msgid,
                             const struct codec_holder *hs, size_t n, bool more)
{
    size_t mark = out->size;
    msgpack_packer pk;
    int r = 0;

    if (n > 0 && hs == NULL)
        return -EINVAL;
    msgpack_packer_init(&pk, out, msgpack_sbuffer_write);
    r |= codec_pack_response_head(&pk, msgid);
    r |= msgpack_pack_map(&pk, 2);
    r |= codec_pack_cstr(&pk, "holders");
    r |= msgpack_pack_array(&pk, n);
    for (size_t i = 0; i < n; i++) {
        const struct codec_holder *h = &hs[i];

        r |= msgpack_pack_map(&pk, 11);
        r |= codec_pack_cstr(&pk, "handle");
        r |= msgpack_pack_uint64(&pk, h->handle);
        r |= codec_pack_cstr(&pk, "name");
        r |= codec_pack_strn(&pk, h->name, sizeof(h->name));
        r |= codec_pack_cstr(&pk, "pid");
        r |= msgpack_pack_uint32(&pk, h->pid);
        r |= codec_pack_cstr(&pk, "uid");
        r |= msgpack_pack_uint32(&pk, h->uid);
        r |= codec_pack_cstr(&pk, "gid");
        r |= msgpack_pack_uint32(&pk, h->gid);
        r |= codec_pack_cstr(&pk, "comm");
        r |= codec_pack_strn(&pk, h->comm, sizeof(h->comm));
        r |= codec_pack_cstr(&pk, "mode");
        r |= codec_pack_cstr(&pk, meta_mode_name(h->mode));
        r |= codec_pack_cstr(&pk, "since_ns");
        r |= msgpack_pack_int64(&pk, h->since_ns);
        r |= codec_pack_cstr(&pk, "nbytes");
        r |= msgpack_pack_uint64(&pk, h->nbytes);
        r |= codec_pack_cstr(&pk, "persist");
        r |= h->persist ? msgpack_pack_true(&pk) : msgpack_pack_false(&pk);
        r |= codec_pack_cstr(&pk, "unlinked");
        r |= h->unlinked ? msgpack_pack_true(&pk) : msgpack_pack_false(&pk);
    }
    r |= codec_pack_cstr(&pk, "more");
    r |= more ? msgpack_pack_true(&pk) : msgpack_pack_false(&pk);
    return codec_pack_end(out, mark, r);
}

static int codec_holder(struct codec_ctx *c, const msgpack_object *obj,
                        struct codec_holder *out)
{
    char mode[4] = "";
    int r;

    memset(out, 0, sizeof(*out));
    if ((r = codec_map(c, obj, false, "a holder")) < 0 ||
        (r = CODEC_GET(c, obj, "handle", true, codec_uint, UINT64_MAX, &out->handle,
                            "a non-negative integer")) < 0 ||
        (r = CODEC_GET(c, obj, "name", true, codec_name, out->name)) < 0 ||
        (r = CODEC_GET(c, obj, "pid", true, codec_u32, &out->pid)) < 0 ||
        (r = CODEC_GET(c, obj, "uid", true, codec_u32, &out->uid)) < 0 ||
        (r = CODEC_GET(c, obj, "gid", false, codec_u32, &out->gid)) < 0 ||
        (r = CODEC_GET(c, obj, "comm", false, codec_str, out->comm, sizeof(out->comm), true)) < 0 ||
        (r = CODEC_GET(c, obj, "mode", true, codec_str, mode, sizeof(mode), false)) < 0 ||
        (r = CODEC_GET(c, obj, "since_ns", false, codec_int, INT64_MIN, &out->since_ns,
                           "an integer")) < 0 ||
        (r = CODEC_GET(c, obj, "nbytes", false, codec_uint, UINT64_MAX, &out->nbytes,
                            "a non-negative integer")) < 0 ||
        (r = CODEC_GET(c, obj, "persist", false, codec_bool, &out->persist)) < 0 ||
        (r = CODEC_GET(c, obj, "unlinked", false, codec_bool, &out->unlinked)) < 0)
        return r;
    if (meta_mode_parse(mode, &out->mode) < 0)
        return codec_fail(c, -EINVAL, "'mode' must be \"r\", \"r+\" or \"c\"");
    return 0;
}

int codec_parse_reply_holders(const msgpack_object *result, struct codec_holder *out,
                              size_t cap, size_t *ret_n, bool *ret_more, char *err,
                              size_t errlen)
{
    struct codec_ctx c = { "holders reply", err, errlen, NULL };
    struct codec_ctx hc = { "holders reply: holders[]", err, errlen, NULL };
    const msgpack_object_array *hs;
    bool more;
    int r = codec_page(&c, result, "holders", cap, &hs, &more);

    if (r < 0)
        return r;
    for (uint32_t i = 0; i < hs->size; i++) {
        r = codec_holder(&hc, &hs->ptr[i], &out[i]);
        if (r < 0)
            return r;
    }
    *ret_n = hs->size;
    *ret_more = more;
    return 0;
}

int codec_pack_chmod(msgpack_sbuffer *out, uint32_t msgid, const struct codec_chmod *p)
{
    size_t mark = out->size;
    msgpack_packer pk;
    int r = 0;

    msgpack_packer_init(&pk, out, msgpack_sbuffer_write);
    r |= codec_pack_request_head(&pk, msgid, "chmod", true);
    r |= msgpack_pack_map(&pk, 2);
    r |= codec_pack_cstr(&pk, "name");
    r |= codec_pack_strn(&pk, p->name, sizeof(p->name));
    r |= codec_pack_cstr(&pk, "perm");
    r |= msgpack_pack_uint32(&pk, p->perm);
    return codec_pack_end(out, mark, r);
}

int codec_parse_chmod(const msgpack_object *params, struct codec_chmod *out,
                      char *err, size_t errlen)
{
    struct codec_ctx c = { "chmod", err, errlen, NULL };
    uint64_t perm = 0;
    int r;

    if ((r = codec_map(&c, params, true, "params")) < 0 ||
        (r = CODEC_GET(&c, params, "name", true, codec_name, out->name)) < 0 ||
        (r = CODEC_GET(&c, params, "perm", true, codec_uint, 07777, &perm,
                            "permission bits, at most 07777")) < 0)
        return r;
    out->perm = (uint32_t)perm;
    return 0;
}

int codec_pack_chown(msgpack_sbuffer *out, uint32_t msgid, const struct codec_chown *p)
{
    size_t mark = out->size;
    msgpack_packer pk;
    int r = 0;

    msgpack_packer_init(&pk, out, msgpack_sbuffer_write);
    r |= codec_pack_request_head(&pk, msgid, "chown", true);
    r |= msgpack_pack_map(&pk, 1 + (p->has_uid ? 1 : 0) + (p->has_gid ? 1 : 0));
    r |= codec_pack_cstr(&pk, "name");
    r |= codec_pack_strn(&pk, p->name, sizeof(p->name));
    if (p->has_uid) {
        r |= codec_pack_cstr(&pk, "uid");
        r |= msgpack_pack_uint32(&pk, p->uid);
    }
    if (p->has_gid) {
        r |= codec_pack_cstr(&pk, "gid");
        r |= msgpack_pack_uint32(&pk, p->gid);
    }
    return codec_pack_end(out, mark, r);
}

int codec_parse_chown(const msgpack_object *params, struct codec_chown *out,
                      char *err, size_t errlen)
{
    struct codec_ctx c = { "chown", err, errlen, NULL };
    uint64_t uid = UINT64_MAX, gid = UINT64_MAX;
    int r;

    if ((r = codec_map(&c, params, true, "params")) < 0 ||
        (r = CODEC_GET(&c, params, "name", true, codec_name, out->name)) < 0 ||
        (r = CODEC_GET(&c, params, "uid", false, codec_uint, UINT32_MAX - 1, &uid,
                            "an integer in 0..4294967294")) < 0 ||
        (r = CODEC_GET(&c, params, "gid", false, codec_uint, UINT32_MAX - 1, &gid,
                            "an integer in 0..4294967294")) < 0)
        return r;
    if (uid == UINT64_MAX && gid == UINT64_MAX)
        return codec_fail(&c, -EINVAL, "'uid' or 'gid' is required");
    out->has_uid = uid != UINT64_MAX;
    out->has_gid = gid != UINT64_MAX;
    out->uid = (uint32_t)uid;
    out->gid = (uint32_t)gid;
    return 0;
}
