/* test_codec_meta_keys.c — how a reader finds the keys of an array map and the columns
 * of a list page: in any order, names that are no key ignored (near misses of every
 * key among them), every key refused when repeated, required when it is, at its
 * default when left out, refused with a wrong type; and list rows whose dtype repeats
 * or changes from row to row.
 *
 * Maps are built by hand with all of META_FIELDS (meta.h) and passed through a real
 * decoder, as on a connection.
 */
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

#include "codec.h"
#include "codecwire.h"
#include "proto_limits.h"
#include "testskip.h"

#define NKEYS 19 /* the keys of META_FIELDS */
#define DESCR "[('x', '<f4'), ('y', '<i4')]"

static msgpack_object dims[2];

/* Every key of an array map with a value other than its default, in META_FIELDS order. */
static size_t full_fields(struct field *f)
{
    dims[0] = o_uint(3);
    dims[1] = o_uint(4);
    const struct field all[NKEYS] = {
        { "name", o_str("a"), REQ },        { "dtype", o_str("|V8"), REQ },
        { "shape", o_array(dims, 2), REQ }, { "order", o_str("F"), 0 },
        { "nbytes", o_uint(96), 0 },        { "offset", o_uint(128), 0 },
        { "persist", o_bool(true), 0 },     { "perm", o_uint(0640), 0 },
        { "uid", o_uint(1000), 0 },         { "gid", o_uint(100), 0 },
        { "ctime_ns", o_uint(5), ANYINT },  { "nattached", o_uint(2), 0 },
        { "path", o_str("/s/a.npy"), 0 },   { "grown", o_uint(8192), 0 },
        { "damaged", o_bool(true), 0 },     { "descr", o_str(DESCR), 0 },
        { "published", o_bool(true), 0 },  { "max_len", o_uint(10), 0 },
        { "page_size", o_uint(4096), 0 },
    };
    memcpy(f, all, sizeof(all));
    return NKEYS;
}

/* What full_fields says, as the parser must give it. */
static void full_meta(struct meta *m)
{
    memset(m, 0, sizeof(*m));
    strcpy(m->name, "a");
    assert_int_equal(dtype_parse(DESCR, &m->dtype), 0);
    m->ndim = 2;
    m->shape[0] = 3;
    m->shape[1] = 4;
    m->order = 'F';
    m->nbytes = 96;
    m->offset = 128;
    m->persist = true;
    m->perm = 0640;
    m->uid = 1000;
    m->gid = 100;
    m->ctime_ns = 5;
    m->nattached = 2;
    strcpy(m->path, "/s/a.npy");
    m->grown = 8192;
    m->damaged = true;
    m->published = true;
    m->max_len = 10;
    m->page_size = 4096;
}

/* m with the field under key at what a reader takes when the key is absent. */
static void at_default(struct meta *m, const char *key)
{
    if (strcmp(key, "order") == 0)
        m->order = 'C';
    else if (strcmp(key, "offset") == 0)
        m->offset = PROTO_DATA_OFFSET;
    else if (strcmp(key, "persist") == 0)
        m->persist = false;
    else if (strcmp(key, "perm") == 0)
        m->perm = 0;
    else if (strcmp(key, "uid") == 0)
        m->uid = 0;
    else if (strcmp(key, "gid") == 0)
        m->gid = 0;
    else if (strcmp(key, "ctime_ns") == 0)
        m->ctime_ns = 0;
    else if (strcmp(key, "nattached") == 0)
        m->nattached = 0;
    else if (strcmp(key, "path") == 0)
        m->path[0] = '\0';
    else if (strcmp(key, "grown") == 0)
        m->grown = 0;
    else if (strcmp(key, "damaged") == 0)
        m->damaged = false;
    else if (strcmp(key, "descr") == 0)
        m->dtype.descr = NULL, m->dtype.descr_len = 0;
    else if (strcmp(key, "published") == 0)
        m->published = false;
    else if (strcmp(key, "max_len") == 0)
        m->max_len = 0;
    else if (strcmp(key, "page_size") == 0)
        m->page_size = 0;
    else
        assert_string_equal(key, "nbytes"); /* the shape and dtype give it anyway */
}

static int parse_map(struct wire *w, const msgpack_object_kv *kv, uint32_t n, struct meta *out,
                     char *err, size_t errlen)
{
    msgpack_object_kv copy[64];

    assert_true(n <= 64);
    memcpy(copy, kv, n * sizeof(*kv));
    err[0] = '\0';
    return codec_parse_meta(wire_object(w, o_map(copy, n)), out, err, errlen);
}

static void to_kv(const struct field *f, size_t n, msgpack_object_kv *kv)
{
    for (size_t i = 0; i < n; i++) {
        kv[i].key = o_str(f[i].key);
        kv[i].val = f[i].value;
    }
}

static void test_codec_meta_reads_keys_in_any_order(void **state)
{
    struct wire *w = *state;
    struct field f[NKEYS];
    msgpack_object_kv kv[NKEYS], order[NKEYS];
    struct meta want, got;
    uint64_t x = 0x9E3779B97F4A7C15ull;
    char err[256];

    to_kv(f, full_fields(f), kv);
    full_meta(&want);
    /* As written, reversed, and rotated by each step. */
    assert_int_equal(parse_map(w, kv, NKEYS, &got, err, sizeof(err)), 0);
    assert_meta_equal(&got, &want);
    for (size_t i = 0; i < NKEYS; i++)
        order[i] = kv[NKEYS - 1 - i];
    assert_int_equal(parse_map(w, order, NKEYS, &got, err, sizeof(err)), 0);
    assert_meta_equal(&got, &want);
    for (size_t r = 1; r < NKEYS; r++) {
        for (size_t i = 0; i < NKEYS; i++)
            order[i] = kv[(i + r) % NKEYS];
        assert_int_equal(parse_map(w, order, NKEYS, &got, err, sizeof(err)), 0);
        assert_meta_equal(&got, &want);
    }
    /* Shuffled (a fixed-seed xorshift, so runs match). */
    for (int t = 0; t < 50; t++) {
        memcpy(order, kv, sizeof(kv));
        for (size_t i = NKEYS - 1; i > 0; i--) {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            size_t j = (size_t)(x % (i + 1));
            msgpack_object_kv tmp = order[i];
            order[i] = order[j];
            order[j] = tmp;
        }
        assert_int_equal(parse_map(w, order, NKEYS, &got, err, sizeof(err)), 0);
        assert_meta_equal(&got, &want);
    }
}

/* Names a reader must not take for key: same length and first bytes, one byte
 * changed, longer, shorter, another case. */
static size_t near_misses(const char *key, char out[][16])
{
    size_t n = strlen(key), k = 0;

    snprintf(out[k], 16, "%s", key);
    out[k++][n - 1] ^= 0x20; /* the last byte in the other case (or '_' <-> DEL) */
    snprintf(out[k], 16, "%s", key);
    out[k++][0] = (char)(key[0] == 'z' ? 'y' : key[0] + 1);
    if (n > 1) {
        snprintf(out[k], 16, "%s", key);
        out[k++][1] = (char)(key[1] == 'z' ? 'y' : key[1] + 1);
    }
    snprintf(out[k++], 16, "%sx", key);
    snprintf(out[k++], 16, "%.*s", (int)n - 1, key);
    snprintf(out[k++], 16, "x%.*s", (int)n - 1, key + 1 < key + n ? key + 1 : key);
    return k;
}

static void test_codec_meta_ignores_unknown_keys_and_near_misses_of_each(void **state)
{
    struct wire *w = *state;
    struct field f[NKEYS];
    msgpack_object_kv kv[NKEYS], more[NKEYS + 8];
    static char names[NKEYS][8][16];
    struct meta want, got;
    char err[256];

    to_kv(f, full_fields(f), kv);
    full_meta(&want);
    for (size_t i = 0; i < NKEYS; i++) {
        size_t nm = near_misses(f[i].key, names[i]);

        /* Beside the real key, at the front and at the back: ignored. */
        memcpy(more + nm, kv, sizeof(kv));
        for (size_t j = 0; j < nm; j++) {
            more[j].key = o_str(names[i][j]);
            more[j].val = o_array(NULL, 0);
        }
        assert_int_equal(parse_map(w, more, (uint32_t)(NKEYS + nm), &got, err, sizeof(err)), 0);
        assert_meta_equal(&got, &want);
        memcpy(more, kv, sizeof(kv));
        for (size_t j = 0; j < nm; j++) {
            more[NKEYS + j].key = o_str(names[i][j]);
            more[NKEYS + j].val = o_nil();
        }
        assert_int_equal(parse_map(w, more, (uint32_t)(NKEYS + nm), &got, err, sizeof(err)), 0);
        assert_meta_equal(&got, &want);

        /* In place of the real key: as if it were absent. */
        for (size_t j = 0; j < nm; j++) {
            struct meta absent = want;

            memcpy(more, kv, sizeof(kv));
            more[i].key = o_str(names[i][j]);
            int r = parse_map(w, more, NKEYS, &got, err, sizeof(err));
            if (f[i].flags & REQ) {
                assert_int_equal(r, -EINVAL);
                assert_non_null(strstr(err, f[i].key));
                assert_non_null(strstr(err, "is required"));
            } else {
                if (r != 0)
                    fail_msg("'%s' in place of '%s' was refused: %s", names[i][j], f[i].key,
                             err);
                at_default(&absent, f[i].key);
                assert_meta_equal(&got, &absent);
            }
        }
    }
    /* Names of no key at all, of every length up to past the longest. */
    static char lengths[16][16];
    for (size_t n = 0; n < 16; n++) {
        memset(lengths[n], 'q', n);
        more[n].key = o_strn(lengths[n], (uint32_t)n);
        more[n].val = o_uint(n);
    }
    memcpy(more + 8, kv, sizeof(kv));
    for (size_t n = 0; n < 8; n++) {
        more[n].key = o_strn(lengths[n + 8], (uint32_t)(n + 8));
        more[n].val = o_uint(n);
    }
    assert_int_equal(parse_map(w, more, NKEYS + 8, &got, err, sizeof(err)), 0);
    assert_meta_equal(&got, &want);
}

static void test_codec_meta_refuses_each_key_repeated(void **state)
{
    struct wire *w = *state;
    struct field f[NKEYS];
    msgpack_object_kv kv[NKEYS], more[NKEYS + 1];
    struct meta got;
    char err[256], want[64];

    to_kv(f, full_fields(f), kv);
    for (size_t i = 0; i < NKEYS; i++) {
        snprintf(want, sizeof(want), "'%s' appears more than once", f[i].key);
        /* The copy after every key, and before them all, with the same value: still
         * refused, before any value is looked at. */
        memcpy(more, kv, sizeof(kv));
        more[NKEYS] = kv[i];
        assert_int_equal(parse_map(w, more, NKEYS + 1, &got, err, sizeof(err)), -EINVAL);
        assert_non_null(strstr(err, want));
        more[0] = kv[i];
        memcpy(more + 1, kv, sizeof(kv));
        more[0].val = o_nil();
        assert_int_equal(parse_map(w, more, NKEYS + 1, &got, err, sizeof(err)), -EINVAL);
        assert_non_null(strstr(err, want));
    }
}

static void test_codec_meta_takes_each_missing_field_as_required_or_default(void **state)
{
    struct wire *w = *state;
    struct field f[NKEYS];
    msgpack_object_kv kv[NKEYS], fewer[NKEYS];
    struct meta want, got;
    char err[256];

    to_kv(f, full_fields(f), kv);
    for (size_t i = 0; i < NKEYS; i++) {
        size_t n = 0;

        for (size_t j = 0; j < NKEYS; j++) {
            if (j != i)
                fewer[n++] = kv[j];
        }
        int r = parse_map(w, fewer, (uint32_t)n, &got, err, sizeof(err));
        if (f[i].flags & REQ) {
            char msg[64];

            snprintf(msg, sizeof(msg), "'%s' is required", f[i].key);
            assert_int_equal(r, -EINVAL);
            assert_non_null(strstr(err, msg));
            continue;
        }
        if (r != 0)
            fail_msg("without '%s': refused: %s", f[i].key, err);
        full_meta(&want);
        at_default(&want, f[i].key);
        assert_meta_equal(&got, &want);
    }
    /* Only the required ones: every other field at its default. */
    assert_int_equal(parse_map(w, kv, 3, &got, err, sizeof(err)), 0);
    full_meta(&want);
    for (size_t i = 3; i < NKEYS; i++)
        at_default(&want, f[i].key);
    assert_meta_equal(&got, &want);
}

static int parse_meta_only(const msgpack_object *map, char *err, size_t errlen)
{
    struct meta m;

    return codec_parse_meta(map, &m, err, errlen);
}

static void test_codec_meta_refuses_a_wrong_type_in_each_field(void **state)
{
    struct field f[NKEYS];

    check_fields(*state, "array", parse_meta_only, f, full_fields(f));
}

/* A list reply {"columns": cols, "rows": rows, "more": false}. */
static const msgpack_object *list_reply(struct wire *w, msgpack_object *cols, uint32_t ncols,
                                        msgpack_object *rows, uint32_t nrows)
{
    static msgpack_object_kv kv[3];

    kv[0].key = o_str("columns");
    kv[0].val = o_array(cols, ncols);
    kv[1].key = o_str("rows");
    kv[1].val = o_array(rows, nrows);
    kv[2].key = o_str("more");
    kv[2].val = o_bool(false);
    return wire_object(w, o_map(kv, 3));
}

/* Rows of a list page copied out as libsharr does, one scratch meta for them all. */
struct rows_seen {
    struct meta m[8];
    size_t n;
};

static int keep_row(void *arg, size_t i, const struct meta *m)
{
    struct rows_seen *seen = arg;

    assert_int_equal(i, seen->n);
    seen->m[seen->n++] = *m;
    return 0;
}

/* Rows whose dtype repeats, changes and comes back, with a record's description
 * or "" beside it, and columns in another order than the writer's with one no reader
 * knows: each row as its own map would read, both when every row has its own meta
 * and when one scratch meta serves them all. */
static void test_codec_list_rows_read_columns_in_any_order_with_dtypes_changing(void **state)
{
    struct wire *w = *state;
    static const char *const dtypes[] = { "<f4", "<f4", "|V8", "|V8", "|V8", "<f4", "float32",
                                          "|u1" };
    static const char *const descrs[] = { "", "", DESCR, "", DESCR, "", "", "" };
    static msgpack_object cols[6], rows[8], cells[8][6];
    enum { NROWS = 8 };
    struct meta out[NROWS], want, scratch;
    struct rows_seen seen = { .n = 0 };
    size_t n;
    bool more;
    char err[256];

    cols[0] = o_str("descr");
    cols[1] = o_str("shape");
    cols[2] = o_str("zzz");
    cols[3] = o_str("dtype");
    cols[4] = o_str("name");
    cols[5] = o_str("uid");
    dims[0] = o_uint(3);
    dims[1] = o_uint(4);
    for (size_t i = 0; i < NROWS; i++) {
        static char names[NROWS][8];

        snprintf(names[i], sizeof(names[i]), "r%zu", i);
        cells[i][0] = o_str(descrs[i]);
        cells[i][1] = o_array(dims, 2);
        cells[i][2] = o_uint(i);
        cells[i][3] = o_str(dtypes[i]);
        cells[i][4] = o_str(names[i]);
        cells[i][5] = o_uint(i);
        rows[i] = o_array(cells[i], 6);
    }
    assert_int_equal(codec_parse_reply_list(list_reply(w, cols, 6, rows, NROWS), out, NROWS, &n,
                                            &more, err, sizeof(err)), 0);
    assert_int_equal(n, NROWS);
    assert_int_equal(codec_parse_reply_list_each(list_reply(w, cols, 6, rows, NROWS), &scratch,
                                                 NROWS, keep_row, &seen, &n, &more, err,
                                                 sizeof(err)), 0);
    assert_int_equal(seen.n, NROWS);
    for (size_t i = 0; i < NROWS; i++) {
        char text[64];

        snprintf(text, sizeof(text), "%s", descrs[i][0] ? descrs[i] : dtypes[i]);
        assert_int_equal(dtype_parse(text, &want.dtype), 0);
        assert_string_equal(out[i].dtype.str, want.dtype.str);
        assert_int_equal(out[i].dtype.itemsize, want.dtype.itemsize);
        assert_int_equal(out[i].dtype.descr_len, descrs[i][0] ? strlen(DESCR) : 0);
        assert_string_equal(seen.m[i].dtype.str, want.dtype.str);
        assert_int_equal(seen.m[i].dtype.itemsize, want.dtype.itemsize);
        assert_int_equal(seen.m[i].dtype.descr_len, out[i].dtype.descr_len);
        assert_int_equal(out[i].nbytes, 12 * want.dtype.itemsize);
        assert_int_equal(seen.m[i].nbytes, out[i].nbytes);
        assert_int_equal(out[i].uid, i);
        assert_int_equal(seen.m[i].uid, i);
        assert_string_equal(out[i].name, seen.m[i].name);
    }

    /* A column named twice, a required one missing, a cell of a wrong type. */
    cols[2] = o_str("uid");
    assert_int_equal(codec_parse_reply_list(list_reply(w, cols, 6, rows, NROWS), out, NROWS, &n,
                                            &more, err, sizeof(err)), -EINVAL);
    assert_non_null(strstr(err, "'uid' appears more than once"));
    cols[2] = o_str("zzz");
    cols[3] = o_str("dtypf");
    assert_int_equal(codec_parse_reply_list(list_reply(w, cols, 6, rows, NROWS), out, NROWS, &n,
                                            &more, err, sizeof(err)), -EINVAL);
    assert_non_null(strstr(err, "'dtype' is required"));
    cols[3] = o_str("dtype");
    cells[4][3] = o_uint(4);
    seen.n = 0;
    assert_int_equal(codec_parse_reply_list_each(list_reply(w, cols, 6, rows, NROWS), &scratch,
                                                 NROWS, keep_row, &seen, &n, &more, err,
                                                 sizeof(err)) < 0, 1);
    assert_non_null(strstr(err, "'dtype'"));
    cells[4][3] = o_str("<f9");
    assert_int_equal(codec_parse_reply_list(list_reply(w, cols, 6, rows, NROWS), out, NROWS, &n,
                                            &more, err, sizeof(err)), -EINVAL);
    assert_non_null(strstr(err, "'dtype'"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_codec_meta_reads_keys_in_any_order, wire_setup,
                                        wire_teardown),
        cmocka_unit_test_setup_teardown(test_codec_meta_ignores_unknown_keys_and_near_misses_of_each,
                                        wire_setup, wire_teardown),
        cmocka_unit_test_setup_teardown(test_codec_meta_refuses_each_key_repeated, wire_setup,
                                        wire_teardown),
        cmocka_unit_test_setup_teardown(test_codec_meta_takes_each_missing_field_as_required_or_default,
                                        wire_setup, wire_teardown),
        cmocka_unit_test_setup_teardown(test_codec_meta_refuses_a_wrong_type_in_each_field,
                                        wire_setup, wire_teardown),
        cmocka_unit_test_setup_teardown(test_codec_list_rows_read_columns_in_any_order_with_dtypes_changing,
                                        wire_setup, wire_teardown),
    };

    return testskip_exit(cmocka_run_group_tests(tests, NULL, NULL));
}
