/* codecwire.c — see codecwire.h. */
#include "codecwire.h"

#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <msgpack.h>

#include "proto_limits.h"

msgpack_object o_nil(void)
{
    return (msgpack_object){ .type = MSGPACK_OBJECT_NIL };
}

msgpack_object o_bool(bool v)
{
    return (msgpack_object){ .type = MSGPACK_OBJECT_BOOLEAN, .via.boolean = v };
}

msgpack_object o_uint(uint64_t v)
{
    return (msgpack_object){ .type = MSGPACK_OBJECT_POSITIVE_INTEGER, .via.u64 = v };
}

msgpack_object o_neg(int64_t v)
{
    return (msgpack_object){ .type = MSGPACK_OBJECT_NEGATIVE_INTEGER, .via.i64 = v };
}

msgpack_object o_f64(double v)
{
    return (msgpack_object){ .type = MSGPACK_OBJECT_FLOAT64, .via.f64 = v };
}

msgpack_object o_strn(const char *s, uint32_t n)
{
    return (msgpack_object){ .type = MSGPACK_OBJECT_STR, .via.str = { n, s } };
}

msgpack_object o_str(const char *s)
{
    return o_strn(s, (uint32_t)strlen(s));
}

msgpack_object o_bin(const char *s)
{
    return (msgpack_object){ .type = MSGPACK_OBJECT_BIN,
                             .via.bin = { (uint32_t)strlen(s), s } };
}

msgpack_object o_ext(void)
{
    return (msgpack_object){ .type = MSGPACK_OBJECT_EXT, .via.ext = { 5, 2, "ab" } };
}

msgpack_object o_array(msgpack_object *items, uint32_t n)
{
    return (msgpack_object){ .type = MSGPACK_OBJECT_ARRAY, .via.array = { n, items } };
}

msgpack_object o_map(msgpack_object_kv *kv, uint32_t n)
{
    return (msgpack_object){ .type = MSGPACK_OBJECT_MAP, .via.map = { n, kv } };
}

int wire_setup(void **state)
{
    struct wire *w = calloc(1, sizeof(*w));

    if (w == NULL)
        return -1;
    w->d = decoder_new(PROTO_RESPONSE_MAX, PROTO_DEPTH_MAX);
    if (w->d == NULL) {
        free(w);
        return -1;
    }
    *state = w;
    return 0;
}

int wire_teardown(void **state)
{
    struct wire *w = *state;

    decoder_free(w->d);
    free(w);
    return 0;
}

const msgpack_object *wire_bytes(struct wire *w, const msgpack_sbuffer *sb)
{
    assert_int_equal(decoder_feed(w->d, sb->data, sb->size), 0);
    assert_int_equal(decoder_next(w->d, &w->obj), 1);
    assert_int_equal(decoder_pending(w->d), 0);
    return &w->obj;
}

const msgpack_object *wire_object(struct wire *w, msgpack_object in)
{
    msgpack_sbuffer sb;
    msgpack_packer pk;
    const msgpack_object *out;

    msgpack_sbuffer_init(&sb);
    msgpack_packer_init(&pk, &sb, msgpack_sbuffer_write);
    assert_int_equal(msgpack_pack_object(&pk, in), 0);
    out = wire_bytes(w, &sb);
    msgpack_sbuffer_destroy(&sb);
    return out;
}

void wire_msg(struct wire *w, const msgpack_sbuffer *sb, enum codec_type type,
              uint32_t msgid, struct codec_msg *msg)
{
    char err[256] = "";
    int known = -1;

    assert_int_equal(codec_parse_msg(wire_bytes(w, sb), msg, &known, err, sizeof(err)), 0);
    assert_string_equal(err, "");
    assert_int_equal(msg->type, type);
    assert_int_equal(msg->msgid, msgid);
}

void sample_meta(struct meta *m, const char *name)
{
    memset(m, 0, sizeof(*m));
    strcpy(m->name, name);
    assert_int_equal(dtype_parse("<f4", &m->dtype), 0);
    m->ndim = 3;
    m->shape[0] = 2;
    m->shape[1] = 3;
    m->shape[2] = 1000000;
    m->order = 'F';
    m->nbytes = 2ull * 3 * 1000000 * 4;
    m->offset = PROTO_DATA_OFFSET;
    m->persist = true;
    m->perm = 0640;
    m->uid = 1000;
    m->gid = 100;
    m->ctime_ns = 1700000000123456789ll;
    m->nattached = 3;
    strcpy(m->path, "/var/lib/sharr/arrays/x.npy");
    m->grown = 1ull << 40;
    m->damaged = true;
    m->published = false;
    m->max_len = 0;
    m->page_size = 2u << 20;
}

void assert_meta_equal(const struct meta *a, const struct meta *b)
{
    assert_string_equal(a->name, b->name);
    assert_string_equal(a->dtype.str, b->dtype.str);
    assert_int_equal(a->dtype.itemsize, b->dtype.itemsize);
    assert_int_equal(a->ndim, b->ndim);
    for (uint32_t i = 0; i < a->ndim; i++)
        assert_int_equal(a->shape[i], b->shape[i]);
    assert_int_equal(a->order, b->order);
    assert_int_equal(a->nbytes, b->nbytes);
    assert_int_equal(a->offset, b->offset);
    assert_int_equal(a->persist, b->persist);
    assert_int_equal(a->perm, b->perm);
    assert_int_equal(a->uid, b->uid);
    assert_int_equal(a->gid, b->gid);
    assert_int_equal(a->ctime_ns, b->ctime_ns);
    assert_int_equal(a->nattached, b->nattached);
    assert_string_equal(a->path, b->path);
    assert_int_equal(a->grown, b->grown);
    assert_int_equal(a->damaged, b->damaged);
    assert_int_equal(a->published, b->published);
    assert_int_equal(a->max_len, b->max_len);
    assert_int_equal(a->page_size, b->page_size);
    assert_int_equal(a->dtype.descr_len, b->dtype.descr_len);
    assert_true((a->dtype.descr == NULL) == (b->dtype.descr == NULL));
    if (a->dtype.descr != NULL)
        assert_memory_equal(a->dtype.descr, b->dtype.descr, a->dtype.descr_len);
}

bool map_has(const msgpack_object *map, const char *key)
{
    for (uint32_t i = 0; map->type == MSGPACK_OBJECT_MAP && i < map->via.map.size; i++) {
        const msgpack_object *k = &map->via.map.ptr[i].key;
        if (k->type == MSGPACK_OBJECT_STR && k->via.str.size == strlen(key) &&
            memcmp(k->via.str.ptr, key, k->via.str.size) == 0)
            return true;
    }
    return false;
}

size_t wrong_values(msgpack_object *out)
{
    static msgpack_object one[1];
    static msgpack_object_kv kv[1];
    size_t n = 0;

    one[0] = o_uint(1);
    kv[0].key = o_str("a");
    kv[0].val = o_uint(1);
    out[n++] = o_nil();
    out[n++] = o_bool(true);
    out[n++] = o_neg(-5);
    out[n++] = o_uint(7);
    out[n++] = o_f64(1.5);
    out[n++] = o_str("x");
    out[n++] = o_bin("x");
    out[n++] = o_ext();
    out[n++] = o_array(NULL, 0);
    out[n++] = o_array(one, 1);
    out[n++] = o_map(NULL, 0);
    out[n++] = o_map(kv, 1);
    return n;
}

void expect_field_error(const char *what, const char *key, const char *err, int r,
                        const char *why)
{
    char quoted[64];

    snprintf(quoted, sizeof(quoted), "'%s'", key);
    if (r >= 0)
        fail_msg("%s: '%s' %s was accepted", what, key, why);
    if (strncmp(err, what, strlen(what)) != 0 || strstr(err, quoted) == NULL)
        fail_msg("%s: '%s' %s: message \"%s\" does not name method and field", what, key,
                 why, err);
}

void check_fields(struct wire *w, const char *what, parse_fn parse,
                  const struct field *fields, size_t n)
{
    msgpack_object_kv kv[32];
    msgpack_object wrong[16];
    size_t nwrong = wrong_values(wrong);
    char err[256] = "";
    int r;

    assert_true(n < 31);
    for (size_t i = 0; i < n; i++) {
        kv[i].key = o_str(fields[i].key);
        kv[i].val = fields[i].value;
    }
    r = parse(wire_object(w, o_map(kv, (uint32_t)n)), err, sizeof(err));
    if (r != 0)
        fail_msg("%s: the valid map was refused (%d): %s", what, r, err);

    for (size_t i = 0; i < n; i++) {
        for (size_t j = 0; j < nwrong; j++) {
            bool is_int = wrong[j].type == MSGPACK_OBJECT_POSITIVE_INTEGER ||
                          wrong[j].type == MSGPACK_OBJECT_NEGATIVE_INTEGER;
            if (wrong[j].type == fields[i].value.type || ((fields[i].flags & ANYINT) && is_int))
                continue;
            kv[i].val = wrong[j];
            err[0] = '\0';
            r = parse(wire_object(w, o_map(kv, (uint32_t)n)), err, sizeof(err));
            expect_field_error(what, fields[i].key, err, r, "of a wrong type");
            assert_int_equal(r, -EINVAL);
        }
        kv[i].val = fields[i].value;

        /* repeated */
        kv[n] = kv[i];
        err[0] = '\0';
        r = parse(wire_object(w, o_map(kv, (uint32_t)n + 1)), err, sizeof(err));
        expect_field_error(what, fields[i].key, err, r, "repeated");

        /* absent */
        if ((fields[i].flags & REQ)) {
            msgpack_object_kv saved = kv[i];
            kv[i] = kv[n - 1];
            err[0] = '\0';
            r = parse(wire_object(w, o_map(kv, (uint32_t)n - 1)), err, sizeof(err));
            expect_field_error(what, fields[i].key, err, r, "absent");
            kv[n - 1] = kv[i];
            kv[i] = saved;
        }
    }

    /* a key that is not a string */
    kv[n].key = o_uint(1);
    kv[n].val = o_uint(1);
    r = parse(wire_object(w, o_map(kv, (uint32_t)n + 1)), err, sizeof(err));
    assert_int_equal(r, -EINVAL);
    /* params that are not a map at all */
    r = parse(wire_object(w, o_str("params")), err, sizeof(err));
    assert_int_equal(r, -EINVAL);
}

msgpack_object shape_dims[2] = { { .type = MSGPACK_OBJECT_POSITIVE_INTEGER, .via.u64 = 3 },
                                       { .type = MSGPACK_OBJECT_POSITIVE_INTEGER, .via.u64 = 4 } };

void meta_fields(struct field *f)
{
    const struct field all[] = {
        { "name", o_str("a"), REQ },          { "dtype", o_str("<f4"), REQ },
        { "shape", o_array(shape_dims, 2), REQ }, { "order", o_str("C"), 0 },
        { "nbytes", o_uint(48), 0 },       { "offset", o_uint(4096), 0 },
        { "persist", o_bool(false), 0 },   { "perm", o_uint(0600), 0 },
        { "uid", o_uint(1), 0 },           { "gid", o_uint(2), 0 },
        { "ctime_ns", o_uint(3), ANYINT },      { "nattached", o_uint(0), 0 },
        { "path", o_str(""), 0 },          { "grown", o_uint(0), 0 },
        { "damaged", o_bool(false), 0 },
    };
    memcpy(f, all, sizeof(all));
}
