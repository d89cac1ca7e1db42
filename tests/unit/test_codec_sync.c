/* test_codec_sync.c — the sync method's codec: the handle form, the name form older
 * clients send and both together survive a pack / decode / parse round trip; params
 * with neither, or with a mistyped handle or an invalid name, are refused with EINVAL.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>
#include <msgpack.h>

#include "codec.h"
#include "roundtrip.h"
#include "testskip.h"

static void test_sync_request_round_trips_handle_name_and_both(void **state)
{
    (void)state;
    const struct codec_sync cases[] = {
        { .has_handle = true, .handle = 7 },
        { .has_handle = true, .handle = UINT64_MAX, .name = "frames.v1" },
        { .name = "old-client" },
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        struct codec_sync q;
        struct roundtrip rt;
        char err[256];

        roundtrip_init(&rt);
        assert_int_equal(codec_pack_sync(&rt.sb, 11, &cases[i]), 0);
        const msgpack_object *params = roundtrip_request(&rt, "sync", 11);
        memset(&q, 0xff, sizeof q);
        assert_int_equal(codec_parse_sync(params, &q, err, sizeof err), 0);
        assert_string_equal(q.name, cases[i].name);
        assert_int_equal(q.has_handle, cases[i].has_handle);
        assert_int_equal(q.handle, cases[i].has_handle ? cases[i].handle : 0);
        roundtrip_free(&rt);
    }
}

/* The name form is what codec_pack_name writes for "sync": a daemon reads it too. */
static void test_sync_name_form_of_older_clients_parses(void **state)
{
    (void)state;
    struct codec_name p = { .name = "kept" };
    struct codec_sync q;
    msgpack_sbuffer sb;
    msgpack_zone z;
    struct codec_msg msg;
    char err[256];

    msgpack_sbuffer_init(&sb);
    msgpack_zone_init(&z, 1024);
    assert_int_equal(codec_pack_name(&sb, 3, "sync", &p), 0);
    roundtrip_decode(&sb, &z, &msg);
    assert_int_equal(codec_parse_sync(msg.params, &q, err, sizeof err), 0);
    assert_string_equal(q.name, "kept");
    assert_false(q.has_handle);
    msgpack_zone_destroy(&z);
    msgpack_sbuffer_destroy(&sb);
}

static void test_sync_with_neither_handle_nor_name_is_not_packed(void **state)
{
    (void)state;
    const struct codec_sync none = { 0 };
    msgpack_sbuffer sb;

    msgpack_sbuffer_init(&sb);
    assert_int_equal(codec_pack_sync(&sb, 1, &none), -EINVAL);
    assert_int_equal(sb.size, 0);
    msgpack_sbuffer_destroy(&sb);
}

/* Params of one key: kind 0 uint 5, 1 int -1, 2 str "x", 3 nil; key NULL for {}. */
static int parse_with(const char *key, int kind, char *err, size_t errlen)
{
    struct codec_sync q;
    msgpack_sbuffer sb;
    msgpack_packer pk;
    msgpack_zone z;
    msgpack_object obj;
    size_t off = 0;
    int r;

    msgpack_sbuffer_init(&sb);
    msgpack_packer_init(&pk, &sb, msgpack_sbuffer_write);
    msgpack_pack_map(&pk, key ? 1 : 0);
    if (key) {
        msgpack_pack_str_with_body(&pk, key, strlen(key));
        if (kind == 0)
            msgpack_pack_uint64(&pk, 5);
        else if (kind == 1)
            msgpack_pack_int64(&pk, -1);
        else if (kind == 2)
            msgpack_pack_str_with_body(&pk, "x", 1);
        else
            msgpack_pack_nil(&pk);
    }
    msgpack_zone_init(&z, 1024);
    assert_int_equal(msgpack_unpack(sb.data, sb.size, &off, &z, &obj), MSGPACK_UNPACK_SUCCESS);
    r = codec_parse_sync(&obj, &q, err, errlen);
    msgpack_zone_destroy(&z);
    msgpack_sbuffer_destroy(&sb);
    return r;
}

static void test_sync_params_without_handle_or_name_or_mistyped_are_einval(void **state)
{
    (void)state;
    char err[256] = "";

    assert_int_equal(parse_with(NULL, 0, err, sizeof err), -EINVAL);
    assert_non_null(strstr(err, "name"));
    assert_int_equal(parse_with("handle", 1, err, sizeof err), -EINVAL);
    assert_int_equal(parse_with("handle", 2, err, sizeof err), -EINVAL);
    assert_int_equal(parse_with("handle", 3, err, sizeof err), -EINVAL);
    assert_int_equal(parse_with("name", 0, err, sizeof err), -EINVAL);
    assert_int_equal(parse_with("handle", 0, err, sizeof err), 0);
    assert_int_equal(parse_with("name", 2, err, sizeof err), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_sync_request_round_trips_handle_name_and_both),
        cmocka_unit_test(test_sync_name_form_of_older_clients_parses),
        cmocka_unit_test(test_sync_with_neither_handle_nor_name_is_not_packed),
        cmocka_unit_test(test_sync_params_without_handle_or_name_or_mistyped_are_einval),
    };
    return testskip_exit(cmocka_run_group_tests(tests, NULL, NULL));
}
