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

static bool codec_meta_packable(const struct meta *m)
{
    return m != NULL && m->ndim <= PROTO_NDIM_MAX;
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
    uint64_t nbytes, given = 0, offset = PROTO_DATA_OFFSET;
    int64_t ctime_ns = 0;
    bool persist = false;
    char order = 'C';
    int r;

    out->uid = out->gid = out->nattached = out->perm = 0;
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
        (r = codec_perm(c, "perm", v[CODEC_META_PERM], &out->perm)) < 0 ||
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
