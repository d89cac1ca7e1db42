/* codec_fields.c — the typed get and put of one field, which every codec file uses
 * (codec_fields.h): envelope heads, whole-message undo, and the checks of one value.
 */
#include "codec_fields.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "name.h"
#include "pack.h"
#include "perm.h"
#include "shape.h"

int codec_pack_strn(msgpack_packer *pk, const char *s, size_t max)
{
    size_t n = strnlen(s, max);

    return msgpack_pack_str_with_body(pk, s, n);
}

int codec_pack_cstr(msgpack_packer *pk, const char *s)
{
    return msgpack_pack_str_with_body(pk, s, strlen(s));
}

int codec_pack_request_head(msgpack_packer *pk, uint32_t msgid, const char *method,
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

int codec_pack_response_head(msgpack_packer *pk, uint32_t msgid)
{
    int r = 0;

    r |= msgpack_pack_array(pk, 4);
    r |= msgpack_pack_uint32(pk, 1);
    r |= msgpack_pack_uint32(pk, msgid);
    r |= msgpack_pack_nil(pk);
    return r;
}

int codec_pack_end(msgpack_sbuffer *out, size_t mark, int r)
{
    if (r != 0) {
        out->size = mark;
        return -ENOMEM;
    }
    return 0;
}

/* The most bytes field f takes in a params map besides its key, whose text (a STR) is
 * slen bytes. */
static size_t codec_out_max(const struct codec_out *f, size_t slen)
{
    switch (f->kind) {
    case CODEC_OUT_STR:
        return PACK_HEAD_MAX + slen;
    case CODEC_OUT_SHAPE:
        return PACK_HEAD_MAX + PACK_UINT_MAX * (size_t)f->ndim;
    default:
        return PACK_UINT_MAX;
    }
}

/* Field f's value at p, which has codec_out_max(f, slen) bytes of room. */
static char *codec_put_out(char *p, const struct codec_out *f, size_t slen)
{
    switch (f->kind) {
    case CODEC_OUT_UINT:
        return pack_uint(p, f->u);
    case CODEC_OUT_INT:
        return pack_int(p, f->i);
    case CODEC_OUT_BOOL:
        return pack_bool(p, f->b);
    case CODEC_OUT_STR:
        return pack_str(p, f->s, slen);
    case CODEC_OUT_SHAPE:
        p = pack_array(p, f->ndim);
        for (uint32_t d = 0; d < f->ndim; d++)
            p = pack_uint(p, f->shape[d]);
        return p;
    }
    return p;
}

/* Written with pack.h's stores into one reserved stretch: every attach and create
 * sends one of these, and msgpack-c's write call per value was most of its cost. Each
 * text is measured once, for the room and the write both. */
int codec_pack_params(msgpack_sbuffer *out, enum codec_type type, uint32_t msgid,
                      const char *method, const struct codec_out *f, size_t n)
{
    size_t mlen = method != NULL ? strlen(method) : 0;
    size_t room = CODEC_HEAD_MAX + mlen;
    size_t klen[CODEC_OUT_MAX], slen[CODEC_OUT_MAX];
    uint32_t count = 0;
    char *start;
    char *p;

    if (n > CODEC_OUT_MAX)
        return -EINVAL;
    for (size_t k = 0; k < n; k++) {
        if (f[k].key == NULL)
            continue;
        count++;
        klen[k] = strlen(f[k].key);
        slen[k] = f[k].kind == CODEC_OUT_STR ? strnlen(f[k].s, f[k].max) : 0;
        room += PACK_HEAD_MAX + klen[k] + codec_out_max(&f[k], slen[k]);
    }
    p = start = codec_room(out, room);
    if (p == NULL)
        return -ENOMEM;
    if (type == CODEC_NOTIFY) {
        p = pack_array(p, 3);
        p = pack_uint(p, CODEC_NOTIFY);
        p = pack_str(p, method, mlen);
        p = pack_array(p, 1);
    } else if (type == CODEC_RESPONSE) {
        p = codec_put_response_head(p, msgid);
    } else {
        p = pack_array(p, 4);
        p = pack_uint(p, CODEC_REQUEST);
        p = pack_uint(p, msgid);
        p = pack_str(p, method, mlen);
        p = pack_array(p, 1);
    }
    p = pack_map(p, count);
    for (size_t k = 0; k < n; k++) {
        if (f[k].key == NULL)
            continue;
        p = pack_str(p, f[k].key, klen[k]);
        p = codec_put_out(p, &f[k], slen[k]);
    }
    out->size += (size_t)(p - start);
    return 0;
}

char *codec_put_response_head(char *p, uint32_t msgid)
{
    p = pack_array(p, 4);
    p = pack_uint(p, CODEC_RESPONSE);
    p = pack_uint(p, msgid);
    return pack_nil(p);
}

char *codec_room(msgpack_sbuffer *out, size_t n)
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

int codec_fail(const struct codec_ctx *c, int r, const char *fmt, ...)
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

bool codec_str_is(const msgpack_object *o, const char *s)
{
    size_t n = strlen(s);

    return o->type == MSGPACK_OBJECT_STR && o->via.str.size == n &&
           memcmp(o->via.str.ptr, s, n) == 0;
}

bool codec_copy_str(const msgpack_object *o, char *out, size_t outsize, bool truncate)
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

bool codec_str_array(const msgpack_object *o)
{
    if (o->type != MSGPACK_OBJECT_ARRAY)
        return false;
    for (uint32_t i = 0; i < o->via.array.size; i++) {
        if (o->via.array.ptr[i].type != MSGPACK_OBJECT_STR)
            return false;
    }
    return true;
}

int codec_map(const struct codec_ctx *c, const msgpack_object *obj, bool allow_null,
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

int codec_field_n(const struct codec_ctx *c, const msgpack_object *map, const char *key,
                  size_t klen, bool required, const msgpack_object **ret)
{
    const msgpack_object *found = NULL;

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

int codec_submap(const struct codec_ctx *c, const char *key, const msgpack_object *v,
                 const msgpack_object **ret)
{
    if (v == NULL)
        return 0;
    if (v->type != MSGPACK_OBJECT_MAP)
        return codec_fail(c, -EINVAL, "'%s' must be a map", key);
    *ret = v;
    return 0;
}

int codec_uint(const struct codec_ctx *c, const char *key, const msgpack_object *v,
               uint64_t max, uint64_t *out, const char *expect)
{
    if (v == NULL)
        return 0;
    if (v->type != MSGPACK_OBJECT_POSITIVE_INTEGER || v->via.u64 > max)
        return codec_fail(c, -EINVAL, "'%s' must be %s", key, expect);
    *out = v->via.u64;
    return 0;
}

int codec_u32(const struct codec_ctx *c, const char *key, const msgpack_object *v,
              uint32_t *out)
{
    uint64_t u = *out;
    int r = codec_uint(c, key, v, UINT32_MAX, &u, "an integer in 0..4294967295");

    if (r == 0)
        *out = (uint32_t)u;
    return r;
}

int codec_int(const struct codec_ctx *c, const char *key, const msgpack_object *v,
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

int codec_bool(const struct codec_ctx *c, const char *key, const msgpack_object *v,
               bool *out)
{
    if (v == NULL)
        return 0;
    if (v->type != MSGPACK_OBJECT_BOOLEAN)
        return codec_fail(c, -EINVAL, "'%s' must be a boolean", key);
    *out = v->via.boolean;
    return 0;
}

int codec_str(const struct codec_ctx *c, const char *key, const msgpack_object *v,
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

int codec_name(const struct codec_ctx *c, const char *key, const msgpack_object *v,
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

int codec_dtype(const struct codec_ctx *c, const char *key, const msgpack_object *v,
                struct dtype *out)
{
    char text[PROTO_DTYPE_MAX + 1];

    if (v == NULL)
        return 0;
    /* A record is '|V<n>' here and its description under 'descr' (5.2.1): one in this
     * key would lose its fields, and leave out->descr pointing into text. */
    if (!codec_copy_str(v, text, sizeof(text), false) || text[0] == '[' ||
        dtype_parse(text, out) < 0)
        return codec_fail(c, -EINVAL, "'%s' must be a numpy type string such as "
                          "\"<f4\" or \"float32\" (a record: \"|V<itemsize>\", and its "
                          "description in 'descr')", key);
    return 0;
}

int codec_descr(const struct codec_ctx *c, const char *key, const msgpack_object *v,
                struct dtype *out, struct dtype_text *text)
{
    struct dtype rec;
    char why[160];

    out->descr = NULL;
    out->descr_len = 0;
    /* A list row has every column: "" there is a dtype that is not a record. */
    if (v == NULL || (v->type == MSGPACK_OBJECT_STR && v->via.str.size == 0))
        return 0;
    if (v->type != MSGPACK_OBJECT_STR || v->via.str.size > PROTO_DESCR_MAX)
        return codec_fail(c, -EINVAL, "'%s' must be a string of at most "
                          CODEC_XSTR(PROTO_DESCR_MAX) " bytes", key);
    if (dtype_parse_descr(v->via.str.ptr, v->via.str.size, &rec, text, NULL, why,
                          sizeof(why)) < 0)
        return codec_fail(c, -EINVAL, "'%s' is not a record numpy describes: %s", key, why);
    if (strcmp(rec.str, out->str) != 0)
        return codec_fail(c, -EINVAL, "'%s' describes %llu bytes an item, and 'dtype' is "
                          "'%s', not '%s'", key, (unsigned long long)rec.itemsize, out->str,
                          rec.str);
    out->descr = rec.descr;
    out->descr_len = rec.descr_len;
    return 0;
}

int codec_shape(const struct codec_ctx *c, const char *key, const msgpack_object *v,
                uint32_t *ret_ndim, uint64_t *shape)
{
    if (v == NULL)
        return 0;
    if (v->type != MSGPACK_OBJECT_ARRAY || v->via.array.size > PROTO_NDIM_MAX)
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
    return codec_fail(c, -EINVAL, "'%s' must be an array of 0.." CODEC_XSTR(PROTO_NDIM_MAX)
                      " positive integers", key);
}

int codec_order(const struct codec_ctx *c, const char *key, const msgpack_object *v,
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

int codec_limit(const struct codec_ctx *c, const char *key, const msgpack_object *v,
                uint32_t *out)
{
    if (v == NULL)
        return 0;
    if (v->type != MSGPACK_OBJECT_POSITIVE_INTEGER || v->via.u64 == 0 ||
        v->via.u64 > PROTO_LIST_PAGE_MAX)
        return codec_fail(c, -EINVAL, "'%s' must be an integer in 1.."
                          CODEC_XSTR(PROTO_LIST_PAGE_MAX), key);
    *out = (uint32_t)v->via.u64;
    return 0;
}

int codec_perm(const struct codec_ctx *c, const char *key, const msgpack_object *v,
               uint32_t *out)
{
    if (v == NULL)
        return 0;
    if (v->type != MSGPACK_OBJECT_POSITIVE_INTEGER || !perm_valid(v->via.u64))
        return codec_fail(c, -EINVAL, "'%s' must be permission bits, at most 0777", key);
    *out = (uint32_t)v->via.u64;
    return 0;
}

int codec_check_size(const struct codec_ctx *c, uint32_t ndim, const uint64_t *shape,
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

int codec_page(struct codec_ctx *c, const msgpack_object *result, const char *key,
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
