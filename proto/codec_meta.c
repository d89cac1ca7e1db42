/* codec_meta.c — the array record on the wire: one array's metadata as a map (attach
 * and stat results) or as a row of a list reply's table, packed and parsed. A map is
 * read fastest with its keys in the order this file writes them; a list reply names
 * its columns once and a reader looks them up by name.
 */
#include "codec.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "codec_fields.h"
#include "pack.h"

static const char *const codec_meta_keys[CODEC_META_NKEYS] = {
#define CODEC_META_KEY(id, field, key, kind, required) key,
    META_FIELDS(CODEC_META_KEY)
#undef CODEC_META_KEY
};

/* The keys an array map must have: the first ones of META_FIELDS. */
#define CODEC_META_ONE_REQUIRED(id, field, key, kind, required) +(required)
enum { CODEC_META_NREQUIRED = 0 META_FIELDS(CODEC_META_ONE_REQUIRED) };
#undef CODEC_META_ONE_REQUIRED
#define CODEC_META_REQUIRED_FIRST(id, field, key, kind, required)                         \
    _Static_assert(!(required) || (int)CODEC_META_##id < (int)CODEC_META_NREQUIRED,      \
                   "META_FIELDS: " #field " is required and comes after an optional field");
META_FIELDS(CODEC_META_REQUIRED_FIRST)
#undef CODEC_META_REQUIRED_FIRST
/* nbytes is checked against what the shape makes it. */
_Static_assert(CODEC_META_SHAPE < CODEC_META_NBYTES && CODEC_META_DTYPE < CODEC_META_SHAPE,
               "META_FIELDS: dtype, then shape, before nbytes");

static bool codec_meta_packable(const struct meta *m)
{
    return m != NULL && m->ndim <= PROTO_NDIM_MAX;
}

/* Bytes of a packed array map besides its name, path and shape entries: the map
 * and key headers, the dtype and order and every number at their widest. */
#define CODEC_META_FIXED_MAX 272

/* The most bytes codec_put_meta writes for m: its texts at their longest, so that
 * nothing of m but ndim is read twice (a list page of 1,024 arrays is memory bound:
 * each text measured here was a cache miss taken again when packed). */
static size_t codec_meta_packed_max(const struct meta *m)
{
    return CODEC_META_FIXED_MAX + PACK_UINT_MAX * (size_t)m->ndim + PROTO_NAME_MAX +
           PROTO_PATH_MAX + m->dtype.descr_len;
}

/* Bytes a list row usually takes: what a page reserves at once for each row. */
#define CODEC_META_ROW_GUESS 160

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

/* Key k (when keyed) and its value, a signed integer. */
static inline char *codec_put_int(char *p, bool keyed, enum codec_meta_key k, int64_t v)
{
    p = codec_put_key(p, keyed, k);
    return pack_int(p, v);
}

/* Key k (when keyed) and its value, a boolean. */
static inline char *codec_put_bool(char *p, bool keyed, enum codec_meta_key k, bool v)
{
    p = codec_put_key(p, keyed, k);
    return pack_bool(p, v);
}

/* Key k (when keyed) and its value, the array of the ndim dimensions at shape. */
static inline char *codec_put_shape(char *p, bool keyed, enum codec_meta_key k, uint32_t ndim,
                                    const uint64_t *shape)
{
    p = codec_put_key(p, keyed, k);
    p = pack_array(p, ndim);
    for (uint32_t i = 0; i < ndim; i++)
        p = pack_uint(p, shape[i]);
    return p;
}

/* How each kind of META_FIELDS is written: field f of m under key k. */
#define CODEC_PUT_NAME(p, keyed, k, m, f) \
    codec_put_str(p, keyed, k, (m)->f, strnlen((m)->f, sizeof((m)->f)))
#define CODEC_PUT_TEXT CODEC_PUT_NAME
#define CODEC_PUT_DTYPE(p, keyed, k, m, f) \
    codec_put_str(p, keyed, k, (m)->f.str, strnlen((m)->f.str, sizeof((m)->f.str)))
#define CODEC_PUT_SHAPE(p, keyed, k, m, f) codec_put_shape(p, keyed, k, (m)->ndim, (m)->f)
#define CODEC_PUT_ORDER(p, keyed, k, m, f) \
    codec_put_str(p, keyed, k, &(m)->f, (m)->f != '\0' ? 1 : 0)
#define CODEC_PUT_U32(p, keyed, k, m, f) codec_put_uint(p, keyed, k, (m)->f)
#define CODEC_PUT_U64 CODEC_PUT_U32
#define CODEC_PUT_NBYTES CODEC_PUT_U32
#define CODEC_PUT_OFFSET CODEC_PUT_U32
#define CODEC_PUT_PERM CODEC_PUT_U32
#define CODEC_PUT_I64(p, keyed, k, m, f) codec_put_int(p, keyed, k, (m)->f)
#define CODEC_PUT_BOOL(p, keyed, k, m, f) codec_put_bool(p, keyed, k, (m)->f)
#define CODEC_PUT_DESCR(p, keyed, k, m, f) \
    codec_put_str(p, keyed, k, (m)->dtype.descr != NULL ? (m)->dtype.descr : "", \
                  (m)->dtype.descr_len)

/* Whether an array map leaves key k out: grown, damaged, descr, published and
 * page_size appear only when they say something (not 0, not false, no description), so
 * a healthy array's map is no longer than before they existed; a reader takes an
 * absent one as its default. A list row's columns are chosen by codec_list_columns. */
static inline bool codec_meta_omitted(enum codec_meta_key k, const struct meta *m)
{
    switch (k) {
    case CODEC_META_GROWN:
        return m->grown == 0;
    case CODEC_META_DAMAGED:
        return !m->damaged;
    case CODEC_META_DESCR:
        return m->dtype.descr == NULL;
    case CODEC_META_PUBLISHED:
        return !m->published;
    case CODEC_META_PAGE_SIZE:
        return m->page_size == 0;
    default:
        return false;
    }
}

/* m as an array map, in the order of META_FIELDS, at p, which has
 * codec_meta_packed_max(m) bytes of room. Written with pack.h's stores: a list reply
 * holds a thousand of these (or of codec_put_row's rows), and msgpack-c's one write
 * call per value was most of its cost. */
static char *codec_put_meta(char *p, const struct meta *m)
{
    p = pack_map(p, CODEC_META_NKEYS - codec_meta_omitted(CODEC_META_GROWN, m) -
                        codec_meta_omitted(CODEC_META_DAMAGED, m) -
                        codec_meta_omitted(CODEC_META_DESCR, m) -
                        codec_meta_omitted(CODEC_META_PUBLISHED, m) -
                        codec_meta_omitted(CODEC_META_PAGE_SIZE, m));
#define CODEC_META_PUT(id, field, key, kind, required)           \
    if (!codec_meta_omitted(CODEC_META_##id, m))                 \
        p = CODEC_PUT_##kind(p, true, CODEC_META_##id, m, field);
    META_FIELDS(CODEC_META_PUT)
#undef CODEC_META_PUT
    return p;
}

_Static_assert(CODEC_META_NKEYS <= 32, "META_FIELDS: a list page's columns are a 32-bit set");

/* Whether m's value under key k is what a reader takes when a list page has no such
 * column: nbytes always (the shape and dtype give it), the array map's defaults for
 * the others, never for the required ones. */
static inline bool codec_meta_at_default(enum codec_meta_key k, const struct meta *m)
{
    switch (k) {
    case CODEC_META_ORDER: return m->order == 'C';
    case CODEC_META_NBYTES: return true;
    case CODEC_META_OFFSET: return m->offset == PROTO_DATA_OFFSET;
    case CODEC_META_PERSIST: return !m->persist;
    case CODEC_META_PERM: return m->perm == 0;
    case CODEC_META_UID: return m->uid == 0;
    case CODEC_META_GID: return m->gid == 0;
    case CODEC_META_CTIME_NS: return m->ctime_ns == 0;
    case CODEC_META_NATTACHED: return m->nattached == 0;
    case CODEC_META_PATH: return m->path[0] == '\0';
    case CODEC_META_GROWN: return m->grown == 0;
    case CODEC_META_DAMAGED: return !m->damaged;
    case CODEC_META_DESCR: return m->dtype.descr == NULL;
    case CODEC_META_PUBLISHED: return !m->published;
    case CODEC_META_MAX_LEN: return m->max_len == 0;
    case CODEC_META_PAGE_SIZE: return m->page_size == 0;
    default: return false;
    }
}

/* The columns of a list page of the n arrays ms (bit k: key k): the required keys,
 * and each other key some array holds a value other than its default under. A page of
 * volatile arrays of root sends 6 of the 20, and rows of fewer values are cheaper to
 * pack, to send, and to scan, unpack and check at the other end. */
static uint32_t codec_list_columns(const struct meta *const *ms, size_t n)
{
    const uint32_t all = (uint32_t)((1ull << CODEC_META_NKEYS) - 1);
    uint32_t cols = (1u << CODEC_META_NREQUIRED) - 1;

    for (size_t i = 0; i < n && cols != all; i++) {
        for (unsigned k = CODEC_META_NREQUIRED; k < CODEC_META_NKEYS; k++) {
            if (!(cols & (1u << k)) && !codec_meta_at_default((enum codec_meta_key)k, ms[i]))
                cols |= 1u << k;
        }
    }
    return cols;
}

/* m as a list row of the values of the columns cols (ncols of them), at p, which has
 * codec_meta_packed_max(m) bytes of room. */
static char *codec_put_row(char *p, const struct meta *m, uint32_t cols, unsigned ncols)
{
    p = pack_array(p, ncols);
#define CODEC_META_PUT_COLUMN(id, field, key, kind, required) \
    if (cols & (1u << CODEC_META_##id))                        \
        p = CODEC_PUT_##kind(p, false, CODEC_META_##id, m, field);
    META_FIELDS(CODEC_META_PUT_COLUMN)
#undef CODEC_META_PUT_COLUMN
    return p;
}

/* Append m to the packer's sbuffer as an array map, or (cols not 0) as a row of the
 * ncols columns cols; 0 or -1 (out of memory). */
static int codec_pack_meta(msgpack_packer *pk, const struct meta *m, uint32_t cols,
                           unsigned ncols)
{
    msgpack_sbuffer *out = pk->data;
    char *p = codec_room(out, codec_meta_packed_max(m));

    if (p == NULL)
        return -1;
    out->size += (size_t)((cols ? codec_put_row(p, m, cols, ncols) : codec_put_meta(p, m))
                          - p);
    return 0;
}

int codec_pack_array_map(msgpack_packer *pk, const struct meta *m)
{
    if (!codec_meta_packable(m))
        return -EINVAL;
    return codec_pack_meta(pk, m, 0, 0) < 0 ? -ENOMEM : 0;
}

/* Bytes of an attach reply besides the array map: the envelope, the result's map,
 * its three keys, the handle and true. */
#define CODEC_ATTACH_EXTRA (CODEC_HEAD_MAX + 3 * PACK_HEAD_MAX + 16 + PACK_UINT_MAX + 1)

/* Every attach answers with one of these: the whole reply is written with pack.h's
 * stores into one reserved stretch, no msgpack-c write call per value. */
int codec_pack_reply_attach(msgpack_sbuffer *out, uint32_t msgid,
                            const struct codec_attach_reply *a)
{
    return codec_pack_reply_attached(out, msgid, &a->meta, a->handle);
}

/* A reply whose result holds the array map of m: {"array": m, "handle": handle,
 * "fd": true} when attached, else {"array": m}. */
static int codec_pack_reply_array(msgpack_sbuffer *out, uint32_t msgid, const struct meta *m,
                                  bool attached, uint64_t handle)
{
    char *start;
    char *p;

    if (!codec_meta_packable(m))
        return -EINVAL;
    p = start = codec_room(out, CODEC_ATTACH_EXTRA + codec_meta_packed_max(m));
    if (p == NULL)
        return -ENOMEM;
    p = codec_put_response_head(p, msgid);
    p = pack_map(p, attached ? 3 : 1);
    p = pack_str(p, "array", 5);
    p = codec_put_meta(p, m);
    if (attached) {
        p = pack_str(p, "handle", 6);
        p = pack_uint(p, handle);
        p = pack_str(p, "fd", 2);
        p = pack_bool(p, true);
    }
    out->size += (size_t)(p - start);
    return 0;
}

int codec_pack_reply_attached(msgpack_sbuffer *out, uint32_t msgid, const struct meta *m,
                              uint64_t handle)
{
    return codec_pack_reply_array(out, msgid, m, true, handle);
}

int codec_pack_reply_stat(msgpack_sbuffer *out, uint32_t msgid, const struct meta *m)
{
    return codec_pack_reply_array(out, msgid, m, false, 0);
}

int codec_pack_reply_list(msgpack_sbuffer *out, uint32_t msgid, const struct meta *const *ms,
                          size_t n, bool more, bool table)
{
    size_t mark = out->size;
    msgpack_packer pk;
    uint32_t cols = 0;
    unsigned ncols = 0;
    int r = 0;

    if (n > 0 && ms == NULL)
        return -EINVAL;
    if (table) {
        cols = codec_list_columns(ms, n);
        ncols = (unsigned)__builtin_popcount(cols);
    }
    /* About one allocation for the whole page, not a doubling per few dozen arrays,
     * guessed without a pass over the arrays (each row is checked as it is packed). */
    if (codec_room(out, 64 + CODEC_META_FIXED_MAX + n * CODEC_META_ROW_GUESS) == NULL)
        return -ENOMEM;
    msgpack_packer_init(&pk, out, msgpack_sbuffer_write);
    r |= codec_pack_response_head(&pk, msgid);
    r |= msgpack_pack_map(&pk, table ? 3 : 2);
    if (table) {
        r |= codec_pack_cstr(&pk, "columns");
        r |= msgpack_pack_array(&pk, ncols);
        for (unsigned k = 0; k < CODEC_META_NKEYS; k++) {
            if (cols & (1u << k))
                r |= codec_pack_cstr(&pk, codec_meta_keys[k]);
        }
    }
    r |= codec_pack_cstr(&pk, table ? "rows" : "arrays");
    r |= msgpack_pack_array(&pk, n);
    for (size_t i = 0; i < n && r == 0; i++) {
        if (!codec_meta_packable(ms[i])) {
            out->size = mark;
            return -EINVAL;
        }
        r |= codec_pack_meta(&pk, ms[i], cols, ncols);
    }
    r |= codec_pack_cstr(&pk, "more");
    r |= more ? msgpack_pack_true(&pk) : msgpack_pack_false(&pk);
    return codec_pack_end(out, mark, r);
}

#define CODEC_ABSENT (-1)
#define CODEC_REPEATED (-2)

/* The key k whose name is the n bytes at s, or -1: one switch on the length and the
 * first bytes, then one comparison of a length known when compiled (inlined), in
 * whatever order the keys come. A loop over the table cost a memcmp call per key
 * tried, about a thousand instructions per array map, more than the rest of a reply.
 * tests/unit/test_codec_meta_keys.c gives every key, and a near miss of each, in
 * turn. */
int codec_meta_key_of(const char *s, uint32_t n)
{
#define CODEC_META_IS(id, key) (memcmp(s, key, sizeof(key) - 1) == 0 ? CODEC_META_##id : -1)
    switch (n) {
    case 3:
        return s[0] == 'u' ? CODEC_META_IS(UID, "uid") : CODEC_META_IS(GID, "gid");
    case 4:
        if (s[0] == 'n')
            return CODEC_META_IS(NAME, "name");
        return s[1] == 'e' ? CODEC_META_IS(PERM, "perm") : CODEC_META_IS(PATH, "path");
    case 5:
        switch (s[0]) {
        case 'd': return s[1] == 't' ? CODEC_META_IS(DTYPE, "dtype") : CODEC_META_IS(DESCR, "descr");
        case 's': return CODEC_META_IS(SHAPE, "shape");
        case 'o': return CODEC_META_IS(ORDER, "order");
        default: return CODEC_META_IS(GROWN, "grown");
        }
    case 6:
        return s[0] == 'n' ? CODEC_META_IS(NBYTES, "nbytes") : CODEC_META_IS(OFFSET, "offset");
    case 7:
        switch (s[0]) {
        case 'p': return CODEC_META_IS(PERSIST, "persist");
        case 'd': return CODEC_META_IS(DAMAGED, "damaged");
        default: return CODEC_META_IS(MAX_LEN, "max_len");
        }
    case 8:
        return CODEC_META_IS(CTIME_NS, "ctime_ns");
    case 9:
        if (s[0] == 'n')
            return CODEC_META_IS(NATTACHED, "nattached");
        return s[1] == 'u' ? CODEC_META_IS(PUBLISHED, "published")
                           : CODEC_META_IS(PAGE_SIZE, "page_size");
    default:
        return -1;
    }
#undef CODEC_META_IS
}

/* The keys an array map must have, as a set (bit k: key k). */
#define CODEC_META_REQUIRED_SET ((1u << CODEC_META_NREQUIRED) - 1)

/* Where each key of an array map stands among n str objects stride bytes apart (a
 * map's keys, or a list reply's columns): pos[k] is its index, CODEC_ABSENT or
 * CODEC_REPEATED. Names that are no key are ignored. Returns 1 when every required key
 * is there once and none repeats, 0 when not (codec_check_index says which), -1 when
 * a name is not a str. */
static int codec_index(const msgpack_object *names, size_t stride, uint32_t n, int64_t *pos)
{
    uint32_t seen = 0, repeated = 0;

    for (unsigned k = 0; k < CODEC_META_NKEYS; k++)
        pos[k] = CODEC_ABSENT;
    for (uint32_t i = 0; i < n; i++) {
        const msgpack_object *name = (const void *)((const char *)names + i * stride);
        int k;

        if (name->type != MSGPACK_OBJECT_STR)
            return -1;
        k = codec_meta_key_of(name->via.str.ptr, name->via.str.size);
        if (k < 0)
            continue; /* not a key of an array map: ignored */
        if (seen & (1u << k)) {
            repeated |= 1u << k;
            pos[k] = CODEC_REPEATED;
        } else {
            seen |= 1u << k;
            pos[k] = (int64_t)i;
        }
    }
    return repeated == 0 && (seen & CODEC_META_REQUIRED_SET) == CODEC_META_REQUIRED_SET;
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

/* The shape, and the data size it makes with the dtype already read into out. */
static int codec_meta_shape(const struct codec_ctx *c, const char *key, const msgpack_object *v,
                            struct meta *out)
{
    int r = codec_shape(c, key, v, &out->ndim, out->shape);

    return r < 0 ? r : codec_check_size(c, out->ndim, out->shape, out->dtype.itemsize,
                                        &out->nbytes);
}

/* nbytes, when given, must be what the shape made it. */
static int codec_meta_nbytes(const struct codec_ctx *c, const char *key,
                             const msgpack_object *v, const struct meta *out)
{
    uint64_t given = 0;
    int r = codec_uint(c, key, v, UINT64_MAX, &given, "a non-negative integer");

    if (r < 0)
        return r;
    if (given != 0 && given != out->nbytes)
        return codec_fail(c, -EINVAL, "'%s' %llu does not match shape and dtype (%llu)", key,
                          (unsigned long long)given, (unsigned long long)out->nbytes);
    return 0;
}

/* Where the data starts: a multiple of PROTO_DATA_OFFSET_ALIGN up to the most. */
static int codec_meta_offset(const struct codec_ctx *c, const char *key,
                             const msgpack_object *v, uint64_t *out)
{
    uint64_t offset = *out;
    int r = codec_uint(c, key, v, UINT64_MAX, &offset, "a non-negative integer");

    if (r < 0)
        return r;
    if (offset == 0 || offset % PROTO_DATA_OFFSET_ALIGN != 0 || offset > PROTO_DATA_OFFSET_MAX)
        return codec_fail(c, -EINVAL, "'%s' must be a multiple of "
                          CODEC_XSTR(PROTO_DATA_OFFSET_ALIGN) " in "
                          CODEC_XSTR(PROTO_DATA_OFFSET_ALIGN) ".."
                          CODEC_XSTR(PROTO_DATA_OFFSET_MAX), key);
    *out = offset;
    return 0;
}

/* The common case of the value checks, inline: a value of the right type within its
 * bounds is stored here; anything else goes to codec_fields.c's check, which refuses
 * it with its message. A list page checks a thousand arrays, an attach reply one, and
 * a call per absent or plain value was a third of either. */
static inline int codec_meta_u64(const struct codec_ctx *c, const char *key,
                                 const msgpack_object *v, uint64_t *out)
{
    if (v == NULL)
        return 0;
    if (v->type == MSGPACK_OBJECT_POSITIVE_INTEGER) {
        *out = v->via.u64;
        return 0;
    }
    return codec_uint(c, key, v, UINT64_MAX, out, "a non-negative integer");
}

static inline int codec_meta_u32(const struct codec_ctx *c, const char *key,
                                 const msgpack_object *v, uint32_t *out)
{
    if (v == NULL)
        return 0;
    if (v->type == MSGPACK_OBJECT_POSITIVE_INTEGER && v->via.u64 <= UINT32_MAX) {
        *out = (uint32_t)v->via.u64;
        return 0;
    }
    return codec_u32(c, key, v, out);
}

static inline int codec_meta_i64(const struct codec_ctx *c, const char *key,
                                 const msgpack_object *v, int64_t *out)
{
    if (v == NULL)
        return 0;
    if ((v->type == MSGPACK_OBJECT_POSITIVE_INTEGER && v->via.u64 <= INT64_MAX) ||
        v->type == MSGPACK_OBJECT_NEGATIVE_INTEGER) {
        *out = v->via.i64;
        return 0;
    }
    return codec_int(c, key, v, INT64_MIN, out, "an integer");
}

static inline int codec_meta_bool(const struct codec_ctx *c, const char *key,
                                  const msgpack_object *v, bool *out)
{
    if (v == NULL)
        return 0;
    if (v->type == MSGPACK_OBJECT_BOOLEAN) {
        *out = v->via.boolean;
        return 0;
    }
    return codec_bool(c, key, v, out);
}

/* The dtype; prev, when not NULL, is the dtype of the row before in a list page: the
 * same text again (nearly every row of a page) is taken from it, not parsed again, as
 * the canonical text it is parses to itself. */
static inline int codec_meta_dtype(const struct codec_ctx *c, const char *key,
                                   const msgpack_object *v, struct dtype *out,
                                   const struct dtype *prev)
{
    if (prev != NULL && v != NULL && v->type == MSGPACK_OBJECT_STR &&
        v->via.str.size < sizeof(prev->str) && prev->str[v->via.str.size] == '\0' &&
        memcmp(v->via.str.ptr, prev->str, v->via.str.size) == 0 && prev->str[0] != '\0') {
        if (out != prev) {
            memcpy(out->str, prev->str, v->via.str.size + 1);
            out->itemsize = prev->itemsize;
        }
        out->descr = NULL;
        out->descr_len = 0;
        return 0;
    }
    return codec_dtype(c, key, v, out);
}

/* How each kind of META_FIELDS is checked: value v under key into field f of out. */
#define CODEC_CHECK_NAME(c, key, v, out, f) codec_name(c, key, v, (out)->f)
#define CODEC_CHECK_TEXT(c, key, v, out, f) codec_str(c, key, v, (out)->f, sizeof((out)->f), false)
#define CODEC_CHECK_DTYPE(c, key, v, out, f) codec_meta_dtype(c, key, v, &(out)->f, prev)
#define CODEC_CHECK_SHAPE(c, key, v, out, f) codec_meta_shape(c, key, v, out)
#define CODEC_CHECK_ORDER(c, key, v, out, f) codec_order(c, key, v, &(out)->f)
#define CODEC_CHECK_NBYTES(c, key, v, out, f) codec_meta_nbytes(c, key, v, out)
#define CODEC_CHECK_OFFSET(c, key, v, out, f) codec_meta_offset(c, key, v, &(out)->f)
#define CODEC_CHECK_PERM(c, key, v, out, f) codec_perm(c, key, v, &(out)->f)
#define CODEC_CHECK_U32(c, key, v, out, f) codec_meta_u32(c, key, v, &(out)->f)
#define CODEC_CHECK_U64(c, key, v, out, f) codec_meta_u64(c, key, v, &(out)->f)
#define CODEC_CHECK_I64(c, key, v, out, f) codec_meta_i64(c, key, v, &(out)->f)
#define CODEC_CHECK_BOOL(c, key, v, out, f) codec_meta_bool(c, key, v, &(out)->f)
#define CODEC_CHECK_DESCR(c, key, v, out, f) codec_descr(c, key, v, &(out)->dtype, NULL)

/* An array's metadata from its values, v[k] for codec_meta_keys[k] (NULL: absent, and
 * then not one of the required ones), checked in key order. prev: the dtype of the
 * array parsed before in the same page (codec_meta_dtype), or NULL. */
static int codec_meta_values(const struct codec_ctx *c, const msgpack_object *const *v,
                             struct meta *out, const struct dtype *prev)
{
    int r;

    out->order = 'C';
    out->offset = PROTO_DATA_OFFSET;
    out->persist = false;
    out->perm = out->uid = out->gid = out->nattached = 0;
    out->ctime_ns = 0;
    out->path[0] = '\0';
    out->grown = 0;
    out->damaged = false;
    out->published = false;
    out->max_len = 0;
    out->page_size = 0;
#define CODEC_META_CHECK(id, field, key, kind, required)                                 \
    if ((r = CODEC_CHECK_##kind(c, key, v[CODEC_META_##id], out, field)) < 0)             \
        return r;
    META_FIELDS(CODEC_META_CHECK)
#undef CODEC_META_CHECK
    return 0;
}

/* One array's metadata map; c names where it sits, for messages. A repeated or
 * missing key is reported before any bad value. */
static int codec_meta(const struct codec_ctx *c, const msgpack_object *obj, struct meta *out)
{
    const msgpack_object *v[CODEC_META_NKEYS];
    int64_t pos[CODEC_META_NKEYS];
    int r;

    if (obj == NULL || obj->type != MSGPACK_OBJECT_MAP)
        return codec_fail(c, -EINVAL, "the array must be a map");
    r = codec_index(obj->via.map.size > 0 ? &obj->via.map.ptr[0].key : NULL,
                    sizeof(msgpack_object_kv), obj->via.map.size, pos);
    if (r < 0)
        return codec_fail(c, -EINVAL, "the array keys must be strings");
    if (r == 0)
        return codec_check_index(c, codec_meta_keys, CODEC_META_NKEYS, CODEC_META_NREQUIRED,
                                 pos);
    for (unsigned k = 0; k < CODEC_META_NKEYS; k++)
        v[k] = pos[k] >= 0 ? &obj->via.map.ptr[pos[k]].val : NULL;
    return codec_meta_values(c, v, out, NULL);
}

int codec_parse_meta(const msgpack_object *obj, struct meta *out, char *err, size_t errlen)
{
    struct codec_ctx c = { "array", err, errlen, NULL };

    return codec_meta(&c, obj, out);
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

/* A list reply in the form asked for by "table": maps ({"arrays": [array map...]}),
 * what a daemon that predates tables sends whatever it was asked. */
/* Where array i of a page is parsed: out[i], or the one scratch meta when row is set,
 * which then gets it. */
struct codec_list_out {
    struct meta *out;
    codec_list_row_cb *row;
    void *arg;
};

static inline struct meta *codec_list_slot(const struct codec_list_out *o, size_t i)
{
    return o->row ? o->out : &o->out[i];
}

static inline int codec_list_done(const struct codec_list_out *o, size_t i)
{
    return o->row ? o->row(o->arg, i, o->out) : 0;
}

static int codec_parse_reply_list_maps(struct codec_ctx *c, const msgpack_object *result,
                                       const struct codec_list_out *o, size_t cap,
                                       size_t *ret_n, bool *ret_more)
{
    struct codec_ctx ac = { "list reply: arrays[]", c->err, c->errlen, NULL };
    const msgpack_object_array *arrays;
    bool more;
    int r = codec_page(c, result, "arrays", cap, &arrays, &more);

    if (r < 0)
        return r;
    for (uint32_t i = 0; i < arrays->size; i++) {
        r = codec_meta(&ac, &arrays->ptr[i], codec_list_slot(o, i));
        if (r < 0 || (r = codec_list_done(o, i)) < 0)
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
static int codec_list_parse(const msgpack_object *result, const struct codec_list_out *o,
                            size_t cap, size_t *ret_n, bool *ret_more, char *err,
                            size_t errlen)
{
    struct codec_ctx c = { "list reply", err, errlen, NULL };
    struct codec_ctx cc = { "list reply: columns", err, errlen, NULL };
    struct codec_ctx rc = { "list reply: rows[]", err, errlen, NULL };
    const msgpack_object *columns = NULL, *arrays = NULL, *v[CODEC_META_NKEYS];
    const msgpack_object_array *rows;
    int64_t pos[CODEC_META_NKEYS];
    uint8_t have[CODEC_META_NKEYS];
    unsigned nhave = 0;
    bool more;
    int r = codec_map(&c, result, false, "the result");

    if (r < 0 || (r = codec_field(&c, result, "columns", false, &columns)) < 0 ||
        (r = codec_field(&c, result, "arrays", false, &arrays)) < 0)
        return r;
    if (columns == NULL && arrays != NULL)
        return codec_parse_reply_list_maps(&c, result, o, cap, ret_n, ret_more);
    r = codec_page(&c, result, "rows", cap, &rows, &more);
    if (r < 0 || (r = codec_field(&c, result, "columns", true, &columns)) < 0)
        return r;
    if (!codec_str_array(columns))
        return codec_fail(&c, -EINVAL, "'columns' must be an array of strings");
    if (codec_index(columns->via.array.ptr, sizeof(msgpack_object), columns->via.array.size,
                    pos) == 0)
        return codec_check_index(&cc, codec_meta_keys, CODEC_META_NKEYS, CODEC_META_NREQUIRED,
                                 pos);
    /* The keys this page has, and where: only theirs change from row to row. */
    for (unsigned k = 0; k < CODEC_META_NKEYS; k++) {
        v[k] = NULL;
        if (pos[k] >= 0)
            have[nhave++] = (uint8_t)k;
    }
    for (uint32_t i = 0; i < rows->size; i++) {
        const msgpack_object *row = &rows->ptr[i];

        if (row->type != MSGPACK_OBJECT_ARRAY || row->via.array.size != columns->via.array.size)
            return codec_fail(&rc, -EINVAL, "a row must be an array of one value per column");
        for (unsigned j = 0; j < nhave; j++)
            v[have[j]] = &row->via.array.ptr[pos[have[j]]];
        r = codec_meta_values(&rc, v, codec_list_slot(o, i),
                              i > 0 ? &codec_list_slot(o, i - 1)->dtype : NULL);
        if (r < 0 || (r = codec_list_done(o, i)) < 0)
            return r;
    }
    *ret_n = rows->size;
    *ret_more = more;
    return 0;
}

int codec_parse_reply_list(const msgpack_object *result, struct meta *out, size_t cap,
                           size_t *ret_n, bool *ret_more, char *err, size_t errlen)
{
    const struct codec_list_out o = { out, NULL, NULL };

    return codec_list_parse(result, &o, cap, ret_n, ret_more, err, errlen);
}

int codec_parse_reply_list_each(const msgpack_object *result, struct meta *scratch, size_t cap,
                                codec_list_row_cb *row, void *arg, size_t *ret_n,
                                bool *ret_more, char *err, size_t errlen)
{
    const struct codec_list_out o = { scratch, row, arg };

    if (scratch == NULL || row == NULL)
        return -EINVAL;
    return codec_list_parse(result, &o, cap, ret_n, ret_more, err, errlen);
}
