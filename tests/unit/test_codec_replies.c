/* test_codec_replies.c — the results without an array record through bytes and
 * back (hello, stats, empty, error), and every way a peer can get a result wrong,
 * the array maps inside attach, stat and list results included.
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

/* Round trips: replies. */

static void test_codec_hello_reply_round_trips(void **state)
{
    struct wire *w = *state;
    struct codec_hello_reply in = { .version = PROTO_VERSION, .server = "sharrd 0.1.0",
                                    .pid = 4242, .id = UINT64_MAX - 1, .store_id = 0x0123456789abcdefULL,
                                    .max_name = PROTO_NAME_MAX,
                                    .max_ndim = PROTO_NDIM_MAX,
                                    .max_request = PROTO_REQUEST_MAX,
                                    .list_page_max = PROTO_LIST_PAGE_MAX };
    struct codec_hello_reply out;
    const msgpack_object *caps = NULL;
    struct codec_msg msg;
    msgpack_sbuffer sb;
    char err[256];

    msgpack_sbuffer_init(&sb);
    assert_int_equal(codec_pack_reply_hello(&sb, 1, &in), 0);
    wire_msg(w, &sb, CODEC_RESPONSE, 1, &msg);
    assert_int_equal(msg.err, 0);
    assert_non_null(msg.result);
    assert_int_equal(codec_parse_reply_hello(msg.result, &out, err, sizeof(err)), 0);
    assert_int_equal(out.version, in.version);
    assert_string_equal(out.server, in.server);
    assert_int_equal(out.pid, in.pid);
    assert_true(out.id == in.id);
    assert_true(out.store_id == in.store_id);
    assert_int_equal(out.max_name, in.max_name);
    assert_int_equal(out.max_ndim, in.max_ndim);
    assert_int_equal(out.max_request, in.max_request);
    assert_int_equal(out.list_page_max, in.list_page_max);
    assert_true(out.release_notify);
    for (uint32_t i = 0; i < msg.result->via.map.size; i++) {
        const msgpack_object_kv *kv = &msg.result->via.map.ptr[i];
        if (kv->key.via.str.size == 12 && memcmp(kv->key.via.str.ptr, "capabilities", 12) == 0)
            caps = &kv->val;
    }
    assert_non_null(caps);
    assert_int_equal(caps->type, MSGPACK_OBJECT_ARRAY);
    assert_true(caps->via.array.size > 0);
    msgpack_sbuffer_destroy(&sb);
}

static void test_codec_stats_reply_round_trips(void **state)
{
    struct wire *w = *state;
    struct codec_stats_reply in = { 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, UINT64_MAX, 12, -13,
                                    14, 15, 16, 17, 18, 19, 20, 21, 22, 23, 24, 25 };
    struct codec_stats_reply out;
    struct codec_msg msg;
    msgpack_sbuffer sb;
    char err[256];

    msgpack_sbuffer_init(&sb);
    assert_int_equal(codec_pack_reply_stats(&sb, 9, &in), 0);
    wire_msg(w, &sb, CODEC_RESPONSE, 9, &msg);
    memset(&out, 0, sizeof(out));
    assert_int_equal(codec_parse_reply_stats(msg.result, &out, err, sizeof(err)), 0);
    assert_int_equal(out.arrays, 1);
    assert_int_equal(out.arrays_volatile, 2);
    assert_int_equal(out.arrays_persistent, 3);
    assert_int_equal(out.bytes, 4);
    assert_int_equal(out.bytes_volatile, 5);
    assert_int_equal(out.bytes_persistent, 6);
    assert_int_equal(out.connections, 7);
    assert_int_equal(out.attachments, 8);
    assert_int_equal(out.persist_capacity, 9);
    assert_int_equal(out.persist_free, 10);
    assert_int_equal(out.volatile_capacity, 11);
    assert_int_equal(out.volatile_free, UINT64_MAX);
    assert_int_equal(out.pid, 12);
    assert_int_equal(out.uptime_ms, -13);
    assert_int_equal(out.volatile_limit, 14);
    assert_int_equal(out.volatile_limit_per_uid, 15);
    assert_int_equal(out.volatile_reserved, 16);
    assert_int_equal(out.bytes_grown, 17);
    assert_int_equal(out.arrays_damaged, 18);
    assert_int_equal(out.watches, 19);
    assert_int_equal(out.queued_bytes, 20);
    assert_int_equal(out.requests, 21);
    assert_int_equal(out.volatile_huge, 22);
    assert_int_equal(out.huge_page_size, 23);
    assert_int_equal(out.arrays_watched, 24);
    assert_int_equal(out.sweeps, 25);
    msgpack_sbuffer_destroy(&sb);
}

static void test_codec_empty_reply_is_an_empty_map(void **state)
{
    struct wire *w = *state;
    struct codec_msg msg;
    msgpack_sbuffer sb;

    msgpack_sbuffer_init(&sb);
    assert_int_equal(codec_pack_reply_empty(&sb, 10), 0);
    wire_msg(w, &sb, CODEC_RESPONSE, 10, &msg);
    assert_int_equal(msg.err, 0);
    assert_int_equal(msg.result->type, MSGPACK_OBJECT_MAP);
    assert_int_equal(msg.result->via.map.size, 0);
    msgpack_sbuffer_destroy(&sb);
}

static void test_codec_error_reply_carries_code_and_message(void **state)
{
    struct wire *w = *state;
    struct codec_msg msg;
    msgpack_sbuffer sb;
    char longmsg[1000];

    msgpack_sbuffer_init(&sb);
    assert_int_equal(codec_pack_error(&sb, 11, -ENOENT, "no array named 'x'"), 0);
    wire_msg(w, &sb, CODEC_RESPONSE, 11, &msg);
    assert_int_equal(msg.err, -ENOENT);
    assert_string_equal(msg.errmsg, "no array named 'x'");
    assert_null(msg.result);
    msgpack_sbuffer_destroy(&sb);

    /* messages are cut to PROTO_TEXT_MAX on the way out */
    memset(longmsg, 'm', sizeof(longmsg) - 1);
    longmsg[sizeof(longmsg) - 1] = '\0';
    msgpack_sbuffer_init(&sb);
    assert_int_equal(codec_pack_error(&sb, 12, -EPROTONOSUPPORT, longmsg), 0);
    wire_msg(w, &sb, CODEC_RESPONSE, 12, &msg);
    assert_int_equal(msg.err, -EPROTONOSUPPORT);
    assert_int_equal(strlen(msg.errmsg), PROTO_TEXT_MAX);
    msgpack_sbuffer_destroy(&sb);
}

static void test_codec_error_reply_from_peer_is_bounded_and_unknown_codes_are_eio(void **state)
{
    struct wire *w = *state;
    static char longmsg[5000];
    msgpack_object_kv ekv[] = { { o_str("code"), o_str("EFROMTHEFUTURE") },
                                { o_str("message"), o_strn(longmsg, sizeof(longmsg)) } };
    msgpack_object env[] = { o_uint(1), o_uint(3), o_map(ekv, 2), o_nil() };
    struct codec_msg msg;
    char err[256];

    memset(longmsg, 'q', sizeof(longmsg));
    assert_int_equal(codec_parse_msg(wire_object(w, o_array(env, 4)), &msg, NULL, err,
                                     sizeof(err)), 0);
    assert_int_equal(msg.err, -EIO);
    assert_int_equal(strlen(msg.errmsg), PROTO_TEXT_MAX);
}

PARSE_FN(meta, struct meta)
PARSE_FN(reply_hello, struct codec_hello_reply)

static int parse_reply_attach(const msgpack_object *m, char *err, size_t errlen)
{
    struct codec_attach_reply out;
    int has_fd;
    return codec_parse_reply_attach(m, &out, &has_fd, err, errlen);
}

PARSE_FN(reply_stat, struct meta)

static int parse_reply_list(const msgpack_object *m, char *err, size_t errlen)
{
    struct meta out[2];
    size_t n;
    bool more;
    return codec_parse_reply_list(m, out, 2, &n, &more, err, errlen);
}

PARSE_FN(reply_stats, struct codec_stats_reply)

/* A meta map nested where the replies carry it. */
static int parse_meta_in_attach(const msgpack_object *m, char *err, size_t errlen)
{
    msgpack_object_kv kv[] = { { o_str("array"), *m }, { o_str("handle"), o_uint(1) } };
    msgpack_object result = o_map(kv, 2);
    return parse_reply_attach(&result, err, errlen);
}

/* A list reply is a table: the map's keys become its columns and its values one row.
 * What is not a map becomes a row of its own under no columns. */
static int parse_meta_in_list(const msgpack_object *m, char *err, size_t errlen)
{
    msgpack_object columns[32], values[32], rows[1];
    uint32_t n = m->type == MSGPACK_OBJECT_MAP ? m->via.map.size : 0;
    msgpack_object_kv kv[2];
    msgpack_object result;

    assert_true(n <= 32);
    for (uint32_t i = 0; i < n; i++) {
        columns[i] = m->via.map.ptr[i].key;
        values[i] = m->via.map.ptr[i].val;
    }
    rows[0] = m->type == MSGPACK_OBJECT_MAP ? o_array(values, n) : *m;
    kv[0] = (msgpack_object_kv){ o_str("columns"), o_array(columns, n) };
    kv[1] = (msgpack_object_kv){ o_str("rows"), o_array(rows, 1) };
    result = o_map(kv, 2);
    return parse_reply_list(&result, err, errlen);
}

static int parse_limits_in_hello(const msgpack_object *m, char *err, size_t errlen)
{
    msgpack_object_kv kv[] = { { o_str("version"), o_uint(1) }, { o_str("pid"), o_uint(2) },
                               { o_str("limits"), *m } };
    msgpack_object result = o_map(kv, 3);
    return parse_reply_hello(&result, err, errlen);
}

static void test_codec_rejects_wrong_types_in_every_reply_field(void **state)
{
    struct wire *w = *state;
    msgpack_object caps[] = { o_str("persist") };
    msgpack_object_kv limits_kv[] = {
        { o_str("name"), o_uint(255) }, { o_str("ndim"), o_uint(64) },
        { o_str("request"), o_uint(65536) }, { o_str("list_page"), o_uint(1024) },
    };
    const struct field hello[] = {
        { "version", o_uint(1), REQ }, { "server", o_str("sharrd"), 0 },
        { "pid", o_uint(1), REQ },     { "limits", o_map(limits_kv, 4), REQ },
        { "capabilities", o_array(caps, 1), 0 }, { "id", o_uint(7), 0 },
    };
    const struct field limits[] = {
        { "name", o_uint(255), REQ }, { "ndim", o_uint(64), REQ },
        { "request", o_uint(65536), REQ }, { "list_page", o_uint(1024), REQ },
    };
    struct field meta[META_NFIELDS];
    msgpack_object_kv meta_kv[META_NFIELDS];
    msgpack_object meta_columns[META_NFIELDS], meta_values[META_NFIELDS], one_row[1];
    const char *counters[] = { "arrays", "arrays_volatile", "arrays_persistent", "bytes",
                               "bytes_volatile", "bytes_persistent", "connections",
                               "attachments", "persist_capacity", "persist_free",
                               "volatile_capacity", "volatile_free", "pid" };
    const char *optional[] = { "volatile_limit", "volatile_limit_per_uid",
                               "volatile_reserved", "bytes_grown", "arrays_damaged" };
    struct field stats[19];

    meta_fields(meta);
    for (size_t i = 0; i < META_NFIELDS; i++) {
        meta_kv[i].key = o_str(meta[i].key);
        meta_kv[i].val = meta[i].value;
        meta_columns[i] = o_str(meta[i].key);
        meta_values[i] = meta[i].value;
    }
    one_row[0] = o_array(meta_values, META_NFIELDS);
    {
        const struct field attach[] = {
            { "array", o_map(meta_kv, META_NFIELDS), REQ }, { "handle", o_uint(1), REQ },
            { "fd", o_bool(true), 0 },
        };
        const struct field stat[] = { { "array", o_map(meta_kv, META_NFIELDS), REQ } };
        const struct field list[] = {
            { "columns", o_array(meta_columns, META_NFIELDS), REQ }, { "rows", o_array(one_row, 1), REQ },
            { "more", o_bool(false), 0 },
        };
        check_fields(w, "attach reply", parse_reply_attach, attach, 3);
        check_fields(w, "stat reply", parse_reply_stat, stat, 1);
        check_fields(w, "list reply", parse_reply_list, list, 3);
    }
    for (size_t i = 0; i < 13; i++)
        stats[i] = (struct field){ counters[i], o_uint(i), REQ };
    stats[13] = (struct field){ "uptime_ms", o_uint(5), REQ | ANYINT };
    for (size_t i = 0; i < 5; i++)
        stats[14 + i] = (struct field){ optional[i], o_uint(i), 0 };

    check_fields(w, "hello reply", parse_reply_hello, hello, 6);
    check_fields(w, "hello reply: limits", parse_limits_in_hello, limits, 4);
    check_fields(w, "array", parse_meta, meta, META_NFIELDS);
    check_fields(w, "attach reply: array", parse_meta_in_attach, meta, META_NFIELDS);
    /* Repeated and missing columns are named under "columns", bad values under "rows[]". */
    check_fields(w, "list reply: ", parse_meta_in_list, meta, META_NFIELDS);
    check_fields(w, "stats reply", parse_reply_stats, stats, 19);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_codec_hello_reply_round_trips, wire_setup,
                                        wire_teardown),
        cmocka_unit_test_setup_teardown(test_codec_stats_reply_round_trips, wire_setup,
                                        wire_teardown),
        cmocka_unit_test_setup_teardown(test_codec_empty_reply_is_an_empty_map, wire_setup,
                                        wire_teardown),
        cmocka_unit_test_setup_teardown(test_codec_error_reply_carries_code_and_message,
                                        wire_setup, wire_teardown),
        cmocka_unit_test_setup_teardown(
            test_codec_error_reply_from_peer_is_bounded_and_unknown_codes_are_eio, wire_setup,
            wire_teardown),
        cmocka_unit_test_setup_teardown(test_codec_rejects_wrong_types_in_every_reply_field,
                                        wire_setup, wire_teardown),
    };
    return testskip_exit(cmocka_run_group_tests(tests, NULL, NULL));
}
