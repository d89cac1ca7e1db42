/* test_codec_meta.c — the array record: attach, stat and list results through bytes
 * and back, list rows read by column name, and the checks of size, offset and path.
 *
 * Messages are encoded, fed through a real decoder and parsed, exactly as on a
 * connection; hostile ones are built as msgpack objects and decoded the same way.
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
#include "decoder.h"
#include "proto_limits.h"
#include "testskip.h"

/* in packed as stat reply 2 and parsed back into out through w: the parse's result,
 * with its message in err. */
static int stat_round_trip(struct wire *w, const struct meta *in, struct meta *out,
                           char *err, size_t errlen)
{
    struct codec_msg msg;
    msgpack_sbuffer sb;
    int r;

    msgpack_sbuffer_init(&sb);
    assert_int_equal(codec_pack_reply_stat(&sb, 2, in), 0);
    wire_msg(w, &sb, CODEC_RESPONSE, 2, &msg);
    r = codec_parse_reply_stat(msg.result, out, err, errlen);
    msgpack_sbuffer_destroy(&sb);
    return r;
}

static void test_codec_attach_reply_round_trips_and_declares_fd(void **state)
{
    struct wire *w = *state;
    struct codec_attach_reply in = { .handle = 77 }, out;
    struct codec_msg msg;
    msgpack_sbuffer sb;
    int has_fd = 0;
    char err[256];

    sample_meta(&in.meta, "weights");
    in.meta.published = true;
    in.meta.max_len = 1u << 20;
    msgpack_sbuffer_init(&sb);
    assert_int_equal(codec_pack_reply_attach(&sb, 12, &in), 0);
    wire_msg(w, &sb, CODEC_RESPONSE, 12, &msg);
    assert_int_equal(codec_parse_reply_attach(msg.result, &out, &has_fd, err, sizeof(err)), 0);
    assert_int_equal(has_fd, 1);
    assert_int_equal(out.handle, 77);
    assert_meta_equal(&out.meta, &in.meta);
    msgpack_sbuffer_destroy(&sb);
}

static void test_codec_stat_reply_round_trips(void **state)
{
    struct wire *w = *state;
    struct meta in, out;
    char err[256];

    sample_meta(&in, "a");
    in.persist = false;
    in.path[0] = '\0';
    in.ndim = 1;
    in.shape[0] = 5;
    in.order = 'C';
    assert_int_equal(dtype_parse("<U3", &in.dtype), 0);
    in.nbytes = 60;
    in.offset = 128; /* an adopted numpy file's data offset */
    in.ctime_ns = -5;
    assert_int_equal(stat_round_trip(w, &in, &out, err, sizeof(err)), 0);
    assert_meta_equal(&out, &in);
}

static void test_codec_list_reply_round_trips_and_respects_cap(void **state)
{
    struct wire *w = *state;
    struct meta in[3], out[3];
    const struct meta *ptrs[3] = { &in[0], &in[1], &in[2] };
    struct codec_msg msg;
    msgpack_sbuffer sb;
    size_t n = 99;
    bool more = false;
    char err[256];

    sample_meta(&in[0], "a");
    sample_meta(&in[1], "b");
    sample_meta(&in[2], "c");
    in[1].uid = 0;
    /* The table a client asks for, and the maps of a client that predates tables. */
    for (int table = 0; table < 2; table++) {
        msgpack_sbuffer_init(&sb);
        assert_int_equal(codec_pack_reply_list(&sb, 6, ptrs, 3, true, table), 0);
        wire_msg(w, &sb, CODEC_RESPONSE, 6, &msg);
        assert_true(map_has(msg.result, table ? "rows" : "arrays"));
        assert_int_equal(
            codec_parse_reply_list(msg.result, out, 3, &n, &more, err, sizeof(err)), 0);
        assert_int_equal(n, 3);
        assert_true(more);
        for (size_t i = 0; i < 3; i++)
            assert_meta_equal(&out[i], &in[i]);
        assert_int_equal(
            codec_parse_reply_list(msg.result, out, 2, &n, &more, err, sizeof(err)),
            -EOVERFLOW);
        msgpack_sbuffer_destroy(&sb);
    }

    msgpack_sbuffer_init(&sb);
    assert_int_equal(codec_pack_reply_list(&sb, 7, NULL, 0, false, true), 0);
    wire_msg(w, &sb, CODEC_RESPONSE, 7, &msg);
    assert_int_equal(codec_parse_reply_list(msg.result, out, 0, &n, &more, err, sizeof(err)), 0);
    assert_int_equal(n, 0);
    assert_false(more);
    msgpack_sbuffer_destroy(&sb);
}

/* The column names of a list reply, joined by spaces into out. */
static void list_columns(const msgpack_object *result, char *out, size_t len)
{
    out[0] = '\0';
    for (uint32_t i = 0; i < result->via.map.size; i++) {
        const msgpack_object_kv *kv = &result->via.map.ptr[i];
        if (kv->key.via.str.size != 7 || memcmp(kv->key.via.str.ptr, "columns", 7) != 0)
            continue;
        for (uint32_t j = 0; j < kv->val.via.array.size; j++) {
            const msgpack_object_str *c = &kv->val.via.array.ptr[j].via.str;
            snprintf(out + strlen(out), len - strlen(out), "%s%.*s", j ? " " : "",
                     (int)c->size, c->ptr);
        }
    }
}

/* A list page names only the columns some row holds other than its default (never
 * nbytes, which shape and dtype give): rows of fewer values, read back the same. */
/* A list page of rows[0..2) packed (as a table or as maps) and parsed back gives the
 * same two rows; want_cols, if given, is the page's columns, in order. */
static void assert_list_round_trips(struct wire *w, struct meta rows[2], bool table,
                                    const char *want_cols)
{
    const struct meta *ptrs[2] = { &rows[0], &rows[1] };
    struct meta back[2];
    struct codec_msg msg;
    msgpack_sbuffer sb;
    char cols[512], err[256];
    size_t n = 0;
    bool more = true;

    msgpack_sbuffer_init(&sb);
    assert_int_equal(codec_pack_reply_list(&sb, 6, ptrs, 2, false, table), 0);
    wire_msg(w, &sb, CODEC_RESPONSE, 6, &msg);
    if (want_cols != NULL) {
        list_columns(msg.result, cols, sizeof(cols));
        assert_string_equal(cols, want_cols);
    }
    assert_int_equal(codec_parse_reply_list(msg.result, back, 2, &n, &more, err,
                                            sizeof(err)), 0);
    assert_int_equal(n, 2);
    assert_meta_equal(&back[0], &rows[0]);
    assert_meta_equal(&back[1], &rows[1]);
    msgpack_sbuffer_destroy(&sb);
}

static void test_codec_list_page_leaves_out_columns_at_their_defaults(void **state)
{
    struct wire *w = *state;
    struct meta rows[2];

    for (int i = 0; i < 2; i++) {
        sample_meta(&rows[i], i ? "b" : "a");
        rows[i].persist = false;
        rows[i].path[0] = '\0';
        rows[i].grown = 0;
        rows[i].damaged = false;
        rows[i].nattached = 0;
        rows[i].order = 'C';
        rows[i].uid = rows[i].gid = 0;
        rows[i].page_size = 4096;
    }
    for (int round = 0; round < 2; round++) {
        assert_list_round_trips(w, rows, true,
                                round ? "name dtype shape perm ctime_ns nattached page_size"
                                      : "name dtype shape perm ctime_ns page_size");
        rows[1].nattached = 2; /* one row that says something keeps the column */
    }
}

/* A peer may send the columns in any order and columns this reader does not know;
 * a column left out takes an array map's default, and a row must fill every column. */
static void test_codec_list_reply_rows_are_read_by_column_name(void **state)
{
    struct wire *w = *state;
    msgpack_object dims[] = { o_uint(3), o_uint(2) };
    msgpack_object columns[] = { o_str("shape"), o_str("from_the_future"), o_str("uid"),
                                 o_str("dtype"), o_str("name") };
    msgpack_object row[] = { o_array(dims, 2), o_str("?"), o_uint(7), o_str("<f8"),
                             o_str("b") };
    msgpack_object rows[] = { o_array(row, 5) }, short_rows[] = { o_array(row, 4) };
    msgpack_object_kv kv[] = { { o_str("columns"), o_array(columns, 5) },
                               { o_str("rows"), o_array(rows, 1) } };
    struct meta out[1];
    size_t n = 0;
    bool more = true;
    char err[256] = "";

    assert_int_equal(codec_parse_reply_list(wire_object(w, o_map(kv, 2)), out, 1, &n, &more,
                                            err, sizeof(err)), 0);
    assert_int_equal(n, 1);
    assert_false(more);
    assert_string_equal(out[0].name, "b");
    assert_string_equal(out[0].dtype.str, "<f8");
    assert_int_equal(out[0].ndim, 2);
    assert_int_equal(out[0].shape[0], 3);
    assert_int_equal(out[0].shape[1], 2);
    assert_int_equal(out[0].nbytes, 48);
    assert_int_equal(out[0].uid, 7);
    assert_int_equal(out[0].gid, 0);
    assert_int_equal(out[0].order, 'C');
    assert_int_equal(out[0].offset, PROTO_DATA_OFFSET);
    assert_string_equal(out[0].path, "");

    kv[1].val = o_array(short_rows, 1);
    assert_int_equal(codec_parse_reply_list(wire_object(w, o_map(kv, 2)), out, 1, &n, &more,
                                            err, sizeof(err)), -EINVAL);
    assert_string_equal(err, "list reply: rows[]: a row must be an array of one value per "
                        "column");
}

static void test_codec_meta_checks_size_offset_and_path(void **state)
{
    struct wire *w = *state;
    struct field f[META_NFIELDS];
    msgpack_object_kv kv[META_NFIELDS];
    static char long_path[PROTO_PATH_MAX];
    struct meta m;
    char err[256];

    meta_fields(f);
    for (size_t i = 0; i < META_NFIELDS; i++) {
        kv[i].key = o_str(f[i].key);
        kv[i].val = f[i].value;
    }
    assert_int_equal(codec_parse_meta(wire_object(w, o_map(kv, META_NFIELDS)), &m, err, sizeof(err)), 0);
    assert_int_equal(m.nbytes, 48);
    kv[4].val = o_uint(47); /* nbytes */
    assert_int_equal(codec_parse_meta(wire_object(w, o_map(kv, META_NFIELDS)), &m, err, sizeof(err)),
                     -EINVAL);
    assert_non_null(strstr(err, "'nbytes'"));
    kv[4].val = o_uint(48);
    static const uint64_t bad_offsets[] = { 0, 100, PROTO_DATA_OFFSET_MAX + 64 };
    for (size_t i = 0; i < sizeof(bad_offsets) / sizeof(bad_offsets[0]); i++) {
        kv[5].val = o_uint(bad_offsets[i]); /* offset */
        assert_int_equal(codec_parse_meta(wire_object(w, o_map(kv, META_NFIELDS)), &m, err, sizeof(err)),
                         -EINVAL);
        assert_non_null(strstr(err, "'offset'"));
    }
    kv[5].val = o_uint(128);
    assert_int_equal(codec_parse_meta(wire_object(w, o_map(kv, META_NFIELDS)), &m, err, sizeof(err)), 0);
    assert_int_equal(m.offset, 128);
    kv[5].val = o_uint(4096);
    memset(long_path, 'p', sizeof(long_path));
    kv[12].val = o_strn(long_path, PROTO_PATH_MAX);
    assert_int_equal(codec_parse_meta(wire_object(w, o_map(kv, META_NFIELDS)), &m, err, sizeof(err)),
                     -EINVAL);
    kv[12].val = o_strn(long_path, PROTO_PATH_MAX - 1);
    assert_int_equal(codec_parse_meta(wire_object(w, o_map(kv, META_NFIELDS)), &m, err, sizeof(err)), 0);
    assert_int_equal(strlen(m.path), PROTO_PATH_MAX - 1);
    kv[7].val = o_uint(010000); /* perm */
    assert_int_equal(codec_parse_meta(wire_object(w, o_map(kv, META_NFIELDS)), &m, err, sizeof(err)),
                     -EINVAL);
    kv[7].val = o_uint(0600);
    kv[8].val = o_uint(1ull << 32); /* uid */
    assert_int_equal(codec_parse_meta(wire_object(w, o_map(kv, META_NFIELDS)), &m, err, sizeof(err)),
                     -EINVAL);
}

/* The array map holds exactly meta.h's fields: its count is theirs and each key is
 * there. */
static void test_codec_array_map_holds_exactly_the_records_fields(void **state)
{
    struct wire *w = *state;
    struct codec_msg msg;
    const msgpack_object *array;
    msgpack_sbuffer sb;
    struct meta in;
    unsigned n = 0;

    sample_meta(&in, "every-field");
    in.published = true; /* left out when false */
    assert_int_equal(dtype_parse("[('t', '<i8'), ('v', '<f4', (2,))]", &in.dtype), 0);
    in.nbytes = 2ull * 3 * 1000000 * 16;
    msgpack_sbuffer_init(&sb);
    assert_int_equal(codec_pack_reply_stat(&sb, 5, &in), 0);
    wire_msg(w, &sb, CODEC_RESPONSE, 5, &msg);
    assert_true(map_has(msg.result, "array"));
    array = &msg.result->via.map.ptr[0].val;
#define HAS(id, field, key, kind, required) assert_true(map_has(array, key)); n++;
    META_FIELDS(HAS)
#undef HAS
    assert_int_equal(array->via.map.size, n);
    msgpack_sbuffer_destroy(&sb);
}

/* A healthy array's map leaves grown and damaged out (0 and false say nothing), descr
 * for a dtype that is no record and page_size when not known (a persistent array), and
 * keeps every other field; it reads back with them at their defaults. */
static void test_codec_array_map_leaves_out_grown_and_damaged_at_their_defaults(void **state)
{
    struct wire *w = *state;
    struct codec_attach_reply in = { .handle = 3 }, out;
    struct codec_msg msg;
    const msgpack_object *array;
    msgpack_sbuffer sb;
    int has_fd = 0;
    unsigned n = 0;
    char err[256];

    sample_meta(&in.meta, "healthy");
    in.meta.grown = 0;
    in.meta.damaged = false;
    in.meta.published = false;
    in.meta.page_size = 0;
    msgpack_sbuffer_init(&sb);
    assert_int_equal(codec_pack_reply_attach(&sb, 9, &in), 0);
    wire_msg(w, &sb, CODEC_RESPONSE, 9, &msg);
    array = &msg.result->via.map.ptr[0].val;
    assert_false(map_has(array, "grown"));
    assert_false(map_has(array, "damaged"));
    assert_false(map_has(array, "descr"));
    assert_false(map_has(array, "published"));
    assert_false(map_has(array, "page_size"));
#define COUNT(id, field, key, kind, required) n++;
    META_FIELDS(COUNT)
#undef COUNT
    assert_int_equal(array->via.map.size, n - 5);
    assert_int_equal(codec_parse_reply_attach(msg.result, &out, &has_fd, err, sizeof(err)), 0);
    assert_meta_equal(&out.meta, &in.meta);
    msgpack_sbuffer_destroy(&sb);
}

/* The string value of key in map, or NULL. */
static const msgpack_object_str *map_str(const msgpack_object *map, const char *key)
{
    for (uint32_t i = 0; i < map->via.map.size; i++) {
        const msgpack_object_kv *kv = &map->via.map.ptr[i];
        if (kv->key.via.str.size == strlen(key) &&
            memcmp(kv->key.via.str.ptr, key, kv->key.via.str.size) == 0)
            return kv->val.type == MSGPACK_OBJECT_STR ? &kv->val.via.str : NULL;
    }
    return NULL;
}

/* A record travels as "dtype": "|V<itemsize>", which a reader that knows no "descr"
 * takes as raw bytes of the right size, and "descr": its list form; it comes back
 * whole in an attach, a stat, and a list as table and as maps. */
static void test_codec_record_dtype_travels_as_void_typestr_and_descr(void **state)
{
    struct wire *w = *state;
    struct codec_attach_reply in = { .handle = 4 }, out;
    struct meta rows[2];
    const char *descr = "[('p', [('a', '<i4'), ('b', '|u1', (2, 3))]), ('s', '|S5')]";
    const msgpack_object_str *s;
    struct codec_msg msg;
    msgpack_sbuffer sb;
    int has_fd = 0;
    char err[256];

    sample_meta(&in.meta, "table");
    assert_int_equal(dtype_parse(descr, &in.meta.dtype), 0);
    in.meta.nbytes = 2ull * 3 * 1000000 * 15;
    msgpack_sbuffer_init(&sb);
    assert_int_equal(codec_pack_reply_attach(&sb, 9, &in), 0);
    wire_msg(w, &sb, CODEC_RESPONSE, 9, &msg);
    s = map_str(&msg.result->via.map.ptr[0].val, "dtype");
    assert_non_null(s);
    assert_int_equal(s->size, 4);
    assert_memory_equal(s->ptr, "|V15", 4);
    s = map_str(&msg.result->via.map.ptr[0].val, "descr");
    assert_non_null(s);
    assert_int_equal(s->size, strlen(descr));
    assert_int_equal(codec_parse_reply_attach(msg.result, &out, &has_fd, err, sizeof(err)), 0);
    assert_meta_equal(&out.meta, &in.meta);
    msgpack_sbuffer_destroy(&sb);

    rows[0] = in.meta;
    sample_meta(&rows[1], "plain");
    for (int table = 0; table < 2; table++)
        assert_list_round_trips(w, rows, table, NULL);
}

/* A descr that does not match the dtype's size, or is no record at all, is refused
 * with the reason. */
static void test_codec_record_descr_must_match_dtype(void **state)
{
    struct wire *w = *state;
    struct meta in, out;
    char err[256];

    sample_meta(&in, "bad");
    assert_int_equal(dtype_parse("[('x', '<f4'), ('y', '<i8')]", &in.dtype), 0);
    in.nbytes = 2ull * 3 * 1000000 * 12;
    /* a |V16 beside a 12-byte record: offsets past the item size */
    strcpy(in.dtype.str, "|V16");
    in.dtype.itemsize = 16;
    in.nbytes = 2ull * 3 * 1000000 * 16;
    assert_int_equal(stat_round_trip(w, &in, &out, err, sizeof(err)), -EINVAL);
    assert_non_null(strstr(err, "describes 12 bytes"));

    in.dtype.descr = "[('x', 'O')]";
    in.dtype.descr_len = (uint32_t)strlen(in.dtype.descr);
    strcpy(in.dtype.str, "|V8");
    in.dtype.itemsize = 8;
    in.nbytes = 2ull * 3 * 1000000 * 8;
    assert_int_equal(stat_round_trip(w, &in, &out, err, sizeof(err)), -EINVAL);
    assert_non_null(strstr(err, "objects are refused"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_codec_record_dtype_travels_as_void_typestr_and_descr,
                                        wire_setup, wire_teardown),
        cmocka_unit_test_setup_teardown(test_codec_record_descr_must_match_dtype,
                                        wire_setup, wire_teardown),
        cmocka_unit_test_setup_teardown(test_codec_array_map_holds_exactly_the_records_fields,
                                        wire_setup, wire_teardown),
        cmocka_unit_test_setup_teardown(
            test_codec_array_map_leaves_out_grown_and_damaged_at_their_defaults, wire_setup,
            wire_teardown),
        cmocka_unit_test_setup_teardown(test_codec_attach_reply_round_trips_and_declares_fd,
                                        wire_setup, wire_teardown),
        cmocka_unit_test_setup_teardown(test_codec_stat_reply_round_trips, wire_setup,
                                        wire_teardown),
        cmocka_unit_test_setup_teardown(test_codec_list_reply_round_trips_and_respects_cap,
                                        wire_setup, wire_teardown),
        cmocka_unit_test_setup_teardown(test_codec_list_page_leaves_out_columns_at_their_defaults,
                                        wire_setup, wire_teardown),
        cmocka_unit_test_setup_teardown(test_codec_list_reply_rows_are_read_by_column_name,
                                        wire_setup, wire_teardown),
        cmocka_unit_test_setup_teardown(test_codec_meta_checks_size_offset_and_path, wire_setup,
                                        wire_teardown),
    };
    return testskip_exit(cmocka_run_group_tests(tests, NULL, NULL));
}
