/* test_codec_requests.c — every request through bytes and back (hello, create, open,
 * the name methods, release, list, stats), the defaults of absent keys, and every way
 * a peer can get a request's params wrong.
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

/* Round trips: requests. */

static void test_codec_hello_round_trips(void **state)
{
    struct wire *w = *state;
    struct codec_hello in = { .version = PROTO_VERSION }, out;
    struct codec_msg msg;
    msgpack_sbuffer sb;
    char err[256];

    strcpy(in.client, "libsharr 0.1.0");
    msgpack_sbuffer_init(&sb);
    assert_int_equal(codec_pack_hello(&sb, 1, &in), 0);
    wire_msg(w, &sb, CODEC_REQUEST, 1, &msg);
    assert_string_equal(msg.method, "hello");
    assert_int_equal(codec_parse_hello(msg.params, &out, err, sizeof(err)), 0);
    assert_int_equal(out.version, PROTO_VERSION);
    assert_string_equal(out.client, "libsharr 0.1.0");
    msgpack_sbuffer_destroy(&sb);
}

static void test_codec_create_round_trips(void **state)
{
    struct wire *w = *state;
    struct codec_create in = { .ndim = 2, .shape = { 1000000, 100 }, .order = 'F',
                               .persist = true, .perm = 0644, .overwrite = true };
    struct codec_create out;
    struct codec_msg msg;
    msgpack_sbuffer sb;
    char err[256];

    strcpy(in.name, "weights");
    assert_int_equal(dtype_parse("float32", &in.dtype), 0);
    msgpack_sbuffer_init(&sb);
    assert_int_equal(codec_pack_create(&sb, UINT32_MAX, &in), 0);
    wire_msg(w, &sb, CODEC_REQUEST, UINT32_MAX, &msg);
    assert_string_equal(msg.method, "create");
    memset(&out, 0, sizeof(out));
    assert_int_equal(codec_parse_create(msg.params, &out, NULL, err, sizeof(err)), 0);
    assert_string_equal(out.name, "weights");
    assert_string_equal(out.dtype.str, "<f4");
    assert_int_equal(out.dtype.itemsize, 4);
    assert_int_equal(out.ndim, 2);
    assert_int_equal(out.shape[0], 1000000);
    assert_int_equal(out.shape[1], 100);
    assert_int_equal(out.order, 'F');
    assert_true(out.persist);
    assert_int_equal(out.perm, 0644);
    assert_true(out.overwrite);
    msgpack_sbuffer_destroy(&sb);
}

static void test_codec_create_defaults_apply_when_keys_are_absent(void **state)
{
    struct wire *w = *state;
    msgpack_object dims[] = { o_uint(10) };
    msgpack_object_kv kv[] = {
        { o_str("name"), o_str("a") },
        { o_str("dtype"), o_str("u1") },
        { o_str("shape"), o_array(dims, 1) },
        { o_str("from_the_future"), o_array(dims, 1) }, /* unknown keys are ignored */
    };
    struct codec_create out;
    char err[256];

    memset(&out, 0x5a, sizeof(out));
    assert_int_equal(codec_parse_create(wire_object(w, o_map(kv, 4)), &out, NULL, err,
                                        sizeof(err)), 0);
    assert_string_equal(out.dtype.str, "|u1");
    assert_int_equal(out.order, 'C');
    assert_false(out.persist);
    assert_int_equal(out.perm, 0600);
    assert_false(out.overwrite);
}

/* A create's "descr" may be written as Python writes it; with a text buffer it comes
 * out canonical there, and without one (a reader of sharrd's own output) only the
 * canonical form is taken, viewed in place. */
static void test_codec_create_descr_is_rewritten_into_the_callers_text(void **state)
{
    struct wire *w = *state;
    msgpack_object dims[] = { o_uint(3) };
    msgpack_object_kv kv[] = {
        { o_str("name"), o_str("rec") },
        { o_str("dtype"), o_str("|V12") },
        { o_str("shape"), o_array(dims, 1) },
        { o_str("descr"), o_str("[(\"x\",'f4'),('y','<i8',),]") },
    };
    const msgpack_object *params = wire_object(w, o_map(kv, 4));
    struct dtype_text text;
    struct codec_create out;
    char err[256];

    assert_int_equal(codec_parse_create(params, &out, &text, err, sizeof(err)), 0);
    assert_ptr_equal(out.dtype.descr, text.s);
    assert_string_equal(text.s, "[('x', '<f4'), ('y', '<i8')]");
    assert_int_equal(out.dtype.descr_len, strlen(text.s));
    assert_int_equal(codec_parse_create(params, &out, NULL, err, sizeof(err)), -EINVAL);
    assert_non_null(strstr(err, "numpy prints"));
    kv[3].val = o_str("[('x', '<f4'), ('y', '<i8')]");
    params = wire_object(w, o_map(kv, 4));
    assert_int_equal(codec_parse_create(params, &out, NULL, err, sizeof(err)), 0);
    assert_int_equal(out.dtype.descr_len, strlen("[('x', '<f4'), ('y', '<i8')]"));
    assert_memory_equal(out.dtype.descr, "[('x', '<f4'), ('y', '<i8')]", out.dtype.descr_len);
}

static void test_codec_open_round_trips_every_mode(void **state)
{
    struct wire *w = *state;
    const enum meta_mode modes[] = { META_MODE_R, META_MODE_RPLUS, META_MODE_C };
    const int64_t waits[] = { -1, 0, 5000, INT64_MAX };

    for (size_t i = 0; i < 3; i++) {
        for (size_t j = 0; j < 4; j++) {
            struct codec_open in = { .mode = modes[i], .wait_ms = waits[j] }, out;
            struct codec_msg msg;
            msgpack_sbuffer sb;
            char err[256];

            strcpy(in.name, "frames.0");
            msgpack_sbuffer_init(&sb);
            assert_int_equal(codec_pack_open(&sb, (uint32_t)(i * 10 + j), &in), 0);
            wire_msg(w, &sb, CODEC_REQUEST, (uint32_t)(i * 10 + j), &msg);
            assert_string_equal(msg.method, "open");
            assert_int_equal(codec_parse_open(msg.params, &out, err, sizeof(err)), 0);
            assert_string_equal(out.name, "frames.0");
            assert_int_equal(out.mode, modes[i]);
            assert_int_equal(out.wait_ms, waits[j]);
            msgpack_sbuffer_destroy(&sb);
        }
    }
}

static void test_codec_open_defaults_to_rplus_without_waiting(void **state)
{
    struct wire *w = *state;
    msgpack_object_kv kv[] = { { o_str("name"), o_str("a") } };
    struct codec_open out = { .mode = META_MODE_C, .wait_ms = 99 };
    char err[256];

    out.has_owner = true;
    assert_int_equal(codec_parse_open(wire_object(w, o_map(kv, 1)), &out, err, sizeof(err)), 0);
    assert_int_equal(out.mode, META_MODE_RPLUS);
    assert_int_equal(out.wait_ms, 0);
    assert_false(out.has_owner);
}

static void test_codec_open_owner_round_trips_and_is_a_uid(void **state)
{
    struct wire *w = *state;
    const uint32_t owners[] = { 0, 1000, 65534, UINT32_MAX - 1 };
    char err[256];

    for (size_t i = 0; i < 4; i++) {
        struct codec_open in = { .mode = META_MODE_R, .has_owner = true, .owner = owners[i] };
        struct codec_open out;
        struct codec_msg msg;
        msgpack_sbuffer sb;

        strcpy(in.name, "uid1000.frames");
        msgpack_sbuffer_init(&sb);
        assert_int_equal(codec_pack_open(&sb, 3, &in), 0);
        wire_msg(w, &sb, CODEC_REQUEST, 3, &msg);
        assert_int_equal(codec_parse_open(msg.params, &out, err, sizeof(err)), 0);
        assert_true(out.has_owner);
        assert_int_equal(out.owner, owners[i]);
        msgpack_sbuffer_destroy(&sb);
    }
    /* (uid_t)-1 is no uid; neither is anything negative or wider. */
    msgpack_object_kv kv[] = { { o_str("name"), o_str("a") }, { o_str("owner"), o_nil() } };
    const msgpack_object bad[] = { o_uint(UINT32_MAX), o_uint(1ull << 32), o_neg(-1),
                                   o_str("root"), o_nil(), o_bool(true) };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        struct codec_open out;

        kv[1].val = bad[i];
        assert_int_equal(codec_parse_open(wire_object(w, o_map(kv, 2)), &out, err, sizeof(err)),
                         -EINVAL);
        assert_string_equal(err, "open: 'owner' must be a uid, an integer in 0..4294967294");
    }
}

static void test_codec_name_requests_round_trip(void **state)
{
    struct wire *w = *state;
    const char *methods[] = { "stat", "unlink", "sync" };
    msgpack_sbuffer sb;

    for (size_t i = 0; i < 3; i++) {
        struct codec_name in, out;
        struct codec_msg msg;
        char err[256];

        strcpy(in.name, "x-y_z.0");
        msgpack_sbuffer_init(&sb);
        assert_int_equal(codec_pack_name(&sb, 7, methods[i], &in), 0);
        wire_msg(w, &sb, CODEC_REQUEST, 7, &msg);
        assert_string_equal(msg.method, methods[i]);
        assert_int_equal(codec_parse_name(msg.params, &out, err, sizeof(err)), 0);
        assert_string_equal(out.name, "x-y_z.0");
        msgpack_sbuffer_destroy(&sb);
    }
    msgpack_sbuffer_init(&sb);
    {
        struct codec_name in = { .name = "a" };
        assert_int_equal(codec_pack_name(&sb, 7, "open", &in), -EINVAL);
        assert_int_equal(sb.size, 0);
    }
    msgpack_sbuffer_destroy(&sb);
}

static void test_codec_release_round_trips(void **state)
{
    struct wire *w = *state;
    struct codec_release in = { .handle = UINT64_MAX }, out = { 0 };
    struct codec_msg msg;
    msgpack_sbuffer sb;
    char err[256];

    msgpack_sbuffer_init(&sb);
    assert_int_equal(codec_pack_release(&sb, 3, &in), 0);
    wire_msg(w, &sb, CODEC_REQUEST, 3, &msg);
    assert_string_equal(msg.method, "release");
    assert_int_equal(codec_parse_release(msg.params, &out, err, sizeof(err)), 0);
    assert_int_equal(out.handle, UINT64_MAX);
    msgpack_sbuffer_destroy(&sb);
}

static void test_codec_release_notification_round_trips(void **state)
{
    struct wire *w = *state;
    struct codec_release in = { .handle = 1234567 }, out = { 0 };
    struct codec_msg msg;
    msgpack_sbuffer sb;
    char err[256];

    msgpack_sbuffer_init(&sb);
    assert_int_equal(codec_pack_release_notify(&sb, &in), 0);
    wire_msg(w, &sb, CODEC_NOTIFY, 0, &msg);
    assert_string_equal(msg.method, "release");
    assert_int_equal(codec_parse_release(msg.params, &out, err, sizeof(err)), 0);
    assert_int_equal(out.handle, 1234567);
    msgpack_sbuffer_destroy(&sb);
}

static void test_codec_list_round_trips_and_defaults(void **state)
{
    struct wire *w = *state;
    struct codec_list in = { .after = "abc", .limit = PROTO_LIST_PAGE_MAX, .table = true }, out;
    struct codec_msg msg;
    msgpack_sbuffer sb;
    char err[256];

    msgpack_sbuffer_init(&sb);
    assert_int_equal(codec_pack_list(&sb, 4, &in), 0);
    wire_msg(w, &sb, CODEC_REQUEST, 4, &msg);
    assert_string_equal(msg.method, "list");
    assert_int_equal(codec_parse_list(msg.params, &out, err, sizeof(err)), 0);
    assert_string_equal(out.after, "abc");
    assert_int_equal(out.limit, PROTO_LIST_PAGE_MAX);
    assert_true(out.table);
    msgpack_sbuffer_destroy(&sb);

    in.after[0] = '\0';
    in.limit = 0; /* the server's default */
    in.table = false; /* maps, as a client that predates tables asks */
    msgpack_sbuffer_init(&sb);
    assert_int_equal(codec_pack_list(&sb, 5, &in), 0);
    wire_msg(w, &sb, CODEC_REQUEST, 5, &msg);
    assert_int_equal(codec_parse_list(msg.params, &out, err, sizeof(err)), 0);
    assert_string_equal(out.after, "");
    assert_int_equal(out.limit, PROTO_LIST_PAGE_DEFAULT);
    assert_false(out.table);
    msgpack_sbuffer_destroy(&sb);

    /* no params at all */
    assert_int_equal(codec_parse_list(NULL, &out, err, sizeof(err)), 0);
    assert_int_equal(out.limit, PROTO_LIST_PAGE_DEFAULT);
}

static void test_codec_stats_request_has_no_params(void **state)
{
    struct wire *w = *state;
    struct codec_msg msg;
    msgpack_sbuffer sb;

    msgpack_sbuffer_init(&sb);
    assert_int_equal(codec_pack_stats(&sb, 8), 0);
    wire_msg(w, &sb, CODEC_REQUEST, 8, &msg);
    assert_string_equal(msg.method, "stats");
    assert_null(msg.params);
    msgpack_sbuffer_destroy(&sb);
}

PARSE_FN(hello, struct codec_hello)

static int parse_create(const msgpack_object *m, char *err, size_t errlen)
{
    struct codec_create out;
    return codec_parse_create(m, &out, NULL, err, errlen);
}

PARSE_FN(open, struct codec_open)
PARSE_FN(name, struct codec_name)
PARSE_FN(release, struct codec_release)
PARSE_FN(list, struct codec_list)

static void test_codec_rejects_wrong_types_in_every_request_field(void **state)
{
    struct wire *w = *state;
    const struct field hello[] = {
        { "version", o_uint(1), REQ }, { "client", o_str("me"), 0 },
    };
    const struct field create[] = {
        { "name", o_str("a"), REQ },        { "dtype", o_str("<f4"), REQ },
        { "shape", o_array(shape_dims, 2), REQ }, { "order", o_str("F"), 0 },
        { "persist", o_bool(true), 0 },  { "perm", o_uint(0644), 0 },
        { "overwrite", o_bool(false), 0 },
    };
    const struct field open[] = {
        { "name", o_str("a"), REQ }, { "mode", o_str("r"), 0 },
        { "wait_ms", o_uint(10), ANYINT }, { "owner", o_uint(1000), 0 },
    };
    const struct field open_neg[] = {
        { "name", o_str("a"), REQ }, { "wait_ms", o_neg(-1), ANYINT },
    };
    const struct field name[] = { { "name", o_str("a"), REQ } };
    const struct field release[] = { { "handle", o_uint(5), REQ } };
    const struct field list[] = {
        { "after", o_str(""), 0 }, { "limit", o_uint(10), 0 },
    };

    check_fields(w, "hello", parse_hello, hello, 2);
    check_fields(w, "create", parse_create, create, 7);
    check_fields(w, "open", parse_open, open, 4);
    check_fields(w, "open", parse_open, open_neg, 2);
    check_fields(w, "request", parse_name, name, 1);
    check_fields(w, "release", parse_release, release, 1);
    check_fields(w, "list", parse_list, list, 2);
}

/* Values of the right type. */

/* A create map with one field replaced; returns the parse result. */
static int create_with(struct wire *w, const char *key, msgpack_object value, char *err,
                       size_t errlen, struct codec_create *out)
{
    msgpack_object_kv kv[] = {
        { o_str("name"), o_str("a") },
        { o_str("dtype"), o_str("<f8") },
        { o_str("shape"), o_array(shape_dims, 2) },
    };
    msgpack_object_kv extra[4];
    uint32_t n = 3;
    bool replaced = false;

    memcpy(extra, kv, sizeof(kv));
    for (uint32_t i = 0; i < n; i++) {
        if (strcmp(kv[i].key.via.str.ptr, key) == 0) {
            extra[i].val = value;
            replaced = true;
        }
    }
    if (!replaced) {
        extra[n].key = o_str(key);
        extra[n].val = value;
        n++;
    }
    err[0] = '\0';
    return codec_parse_create(wire_object(w, o_map(extra, n)), out, NULL, err, errlen);
}

static void test_codec_create_checks_values(void **state)
{
    struct wire *w = *state;
    msgpack_object overflow[] = { o_uint(1ull << 32), o_uint(1ull << 32), o_uint(2) };
    msgpack_object zero[] = { o_uint(3), o_uint(0) };
    msgpack_object negative[] = { o_neg(-3) };
    msgpack_object floating[] = { o_f64(3.0) };
    msgpack_object text[] = { o_str("3") };
    msgpack_object dims65[PROTO_NDIM_MAX + 1];
    char long_name[PROTO_NAME_MAX + 1];
    char long_dtype[PROTO_DTYPE_MAX + 1];
    struct codec_create out;
    char err[256];

    for (size_t i = 0; i < PROTO_NDIM_MAX + 1; i++)
        dims65[i] = o_uint(1);
    memset(long_name, 'n', sizeof(long_name));
    memset(long_dtype, '0', sizeof(long_dtype));
    memcpy(long_dtype, "|S1", 3);

    assert_int_equal(create_with(w, "shape", o_array(overflow, 3), err, sizeof(err), &out),
                     -EOVERFLOW);
    assert_non_null(strstr(err, "create: 'shape'"));
    assert_int_equal(create_with(w, "shape", o_array(zero, 2), err, sizeof(err), &out), -EINVAL);
    assert_string_equal(err, "create: 'shape' must be an array of 0..64 positive integers");
    assert_int_equal(create_with(w, "shape", o_array(negative, 1), err, sizeof(err), &out),
                     -EINVAL);
    assert_int_equal(create_with(w, "shape", o_array(floating, 1), err, sizeof(err), &out),
                     -EINVAL);
    assert_int_equal(create_with(w, "shape", o_array(text, 1), err, sizeof(err), &out), -EINVAL);
    assert_int_equal(create_with(w, "shape", o_array(NULL, 0), err, sizeof(err), &out), 0);
    assert_int_equal(out.ndim, 0); /* a 0-d array: numpy's shape () */
    assert_int_equal(create_with(w, "shape", o_array(dims65, PROTO_NDIM_MAX + 1), err,
                                 sizeof(err), &out), -EINVAL);
    assert_int_equal(create_with(w, "shape", o_array(dims65, PROTO_NDIM_MAX), err, sizeof(err),
                                 &out), 0);
    assert_int_equal(out.ndim, PROTO_NDIM_MAX);

    assert_int_equal(create_with(w, "name", o_strn(long_name, PROTO_NAME_MAX + 1), err,
                                 sizeof(err), &out), -ENAMETOOLONG);
    assert_non_null(strstr(err, "create: 'name'"));
    assert_int_equal(create_with(w, "name", o_strn(long_name, PROTO_NAME_MAX), err,
                                 sizeof(err), &out), 0);
    assert_int_equal(strlen(out.name), PROTO_NAME_MAX);
    assert_int_equal(create_with(w, "name", o_str(""), err, sizeof(err), &out), -EINVAL);
    assert_int_equal(create_with(w, "name", o_str("../x"), err, sizeof(err), &out), -EINVAL);
    assert_int_equal(create_with(w, "name", o_str(".x"), err, sizeof(err), &out), -EINVAL);
    assert_int_equal(create_with(w, "name", o_strn("a\0b", 3), err, sizeof(err), &out), -EINVAL);

    assert_int_equal(create_with(w, "dtype", o_str("float33"), err, sizeof(err), &out), -EINVAL);
    assert_non_null(strstr(err, "create: 'dtype'"));
    assert_int_equal(create_with(w, "dtype", o_strn(long_dtype, sizeof(long_dtype)), err,
                                 sizeof(err), &out), -EINVAL);
    assert_int_equal(create_with(w, "dtype", o_str("|O"), err, sizeof(err), &out), -EINVAL);
    assert_int_equal(create_with(w, "dtype", o_str("complex128"), err, sizeof(err), &out), 0);
    assert_string_equal(out.dtype.str, "<c16");

    assert_int_equal(create_with(w, "order", o_str("c"), err, sizeof(err), &out), -EINVAL);
    assert_int_equal(create_with(w, "order", o_str("CF"), err, sizeof(err), &out), -EINVAL);
    assert_int_equal(create_with(w, "perm", o_uint(010000), err, sizeof(err), &out), -EINVAL);
    /* One rule for permission bits (perm.h): no setuid, setgid or sticky bit. */
    assert_int_equal(create_with(w, "perm", o_uint(01000), err, sizeof(err), &out), -EINVAL);
    assert_string_equal(err, "create: 'perm' must be permission bits, at most 0777");
    assert_int_equal(create_with(w, "perm", o_uint(07777), err, sizeof(err), &out), -EINVAL);
    assert_int_equal(create_with(w, "perm", o_uint(0777), err, sizeof(err), &out), 0);
    assert_int_equal(out.perm, 0777);
    assert_int_equal(create_with(w, "perm", o_uint(0), err, sizeof(err), &out), 0);
    assert_int_equal(out.perm, 0);

    /* no params at all: the name is missing */
    assert_int_equal(codec_parse_create(NULL, &out, NULL, err, sizeof(err)), -EINVAL);
    assert_string_equal(err, "create: 'name' is required");
}

static void test_codec_open_list_hello_check_values(void **state)
{
    struct wire *w = *state;
    char err[256];
    char long_after[PROTO_NAME_MAX + 1];
    char long_client[PROTO_TEXT_MAX + 50];
    struct codec_open o;
    struct codec_list l;
    struct codec_hello h;

    memset(long_after, 'a', sizeof(long_after));
    memset(long_client, 'c', sizeof(long_client));
    {
        msgpack_object_kv kv[] = { { o_str("name"), o_str("a") }, { o_str("wait_ms"), o_neg(-2) } };
        assert_int_equal(codec_parse_open(wire_object(w, o_map(kv, 2)), &o, err, sizeof(err)),
                         -EINVAL);
        assert_non_null(strstr(err, "open: 'wait_ms'"));
        kv[1].val = o_uint(1ull << 63);
        assert_int_equal(codec_parse_open(wire_object(w, o_map(kv, 2)), &o, err, sizeof(err)),
                         -EINVAL);
    }
    {
        const char *modes[] = { "w+", "rw", "", "R", "r+ " };
        msgpack_object_kv kv[] = { { o_str("name"), o_str("a") }, { o_str("mode"), o_nil() } };
        for (size_t i = 0; i < 5; i++) {
            kv[1].val = o_str(modes[i]);
            assert_int_equal(codec_parse_open(wire_object(w, o_map(kv, 2)), &o, err,
                                              sizeof(err)), -EINVAL);
            assert_string_equal(err, "open: 'mode' must be \"r\", \"r+\" or \"c\"");
        }
    }
    {
        msgpack_object_kv kv[] = { { o_str("limit"), o_uint(0) } };
        assert_int_equal(codec_parse_list(wire_object(w, o_map(kv, 1)), &l, err, sizeof(err)),
                         -EINVAL);
        assert_string_equal(err, "list: 'limit' must be an integer in 1..1024");
        kv[0].val = o_uint(PROTO_LIST_PAGE_MAX + 1);
        assert_int_equal(codec_parse_list(wire_object(w, o_map(kv, 1)), &l, err, sizeof(err)),
                         -EINVAL);
        kv[0].val = o_uint(1);
        assert_int_equal(codec_parse_list(wire_object(w, o_map(kv, 1)), &l, err, sizeof(err)), 0);
        assert_int_equal(l.limit, 1);
        kv[0].key = o_str("after");
        kv[0].val = o_strn(long_after, sizeof(long_after));
        assert_int_equal(codec_parse_list(wire_object(w, o_map(kv, 1)), &l, err, sizeof(err)),
                         -EINVAL);
        assert_non_null(strstr(err, "list: 'after'"));
    }
    {
        msgpack_object_kv kv[] = { { o_str("version"), o_uint(1ull << 32) },
                                   { o_str("client"), o_strn(long_client, sizeof(long_client)) } };
        assert_int_equal(codec_parse_hello(wire_object(w, o_map(kv, 2)), &h, err, sizeof(err)),
                         -EINVAL);
        kv[0].val = o_uint(PROTO_VERSION);
        assert_int_equal(codec_parse_hello(wire_object(w, o_map(kv, 2)), &h, err, sizeof(err)), 0);
        assert_int_equal(strlen(h.client), PROTO_TEXT_MAX); /* free text is cut, not refused */
        assert_int_equal(codec_parse_hello(NULL, &h, err, sizeof(err)), -EINVAL);
        assert_string_equal(err, "hello: 'version' is required");
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_codec_hello_round_trips, wire_setup, wire_teardown),
        cmocka_unit_test_setup_teardown(test_codec_create_round_trips, wire_setup, wire_teardown),
        cmocka_unit_test_setup_teardown(test_codec_create_descr_is_rewritten_into_the_callers_text,
                                        wire_setup, wire_teardown),
        cmocka_unit_test_setup_teardown(test_codec_create_defaults_apply_when_keys_are_absent,
                                        wire_setup, wire_teardown),
        cmocka_unit_test_setup_teardown(test_codec_open_round_trips_every_mode, wire_setup,
                                        wire_teardown),
        cmocka_unit_test_setup_teardown(test_codec_open_owner_round_trips_and_is_a_uid,
                                        wire_setup, wire_teardown),
        cmocka_unit_test_setup_teardown(test_codec_open_defaults_to_rplus_without_waiting,
                                        wire_setup, wire_teardown),
        cmocka_unit_test_setup_teardown(test_codec_name_requests_round_trip, wire_setup,
                                        wire_teardown),
        cmocka_unit_test_setup_teardown(test_codec_release_notification_round_trips, wire_setup,
                                        wire_teardown),
        cmocka_unit_test_setup_teardown(test_codec_release_round_trips, wire_setup,
                                        wire_teardown),
        cmocka_unit_test_setup_teardown(test_codec_list_round_trips_and_defaults, wire_setup,
                                        wire_teardown),
        cmocka_unit_test_setup_teardown(test_codec_stats_request_has_no_params, wire_setup,
                                        wire_teardown),
        cmocka_unit_test_setup_teardown(test_codec_rejects_wrong_types_in_every_request_field,
                                        wire_setup, wire_teardown),
        cmocka_unit_test_setup_teardown(test_codec_create_checks_values, wire_setup,
                                        wire_teardown),
        cmocka_unit_test_setup_teardown(test_codec_open_list_hello_check_values, wire_setup,
                                        wire_teardown),
    };
    return testskip_exit(cmocka_run_group_tests(tests, NULL, NULL));
}
