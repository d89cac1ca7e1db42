/* test_codec_adopt.c — the adopt method's codec: the request survives a pack / decode /
 * parse round trip, absent fields take their defaults, and missing, mistyped and
 * out-of-range fields are refused with EINVAL (ENAMETOOLONG for a long name). The
 * descriptor that travels with the request is the transport's business, not tested here.
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
#include "proto_limits.h"
#include "testskip.h"

static void test_adopt_request_round_trips(void **state)
{
    (void)state;
    const struct codec_adopt cases[] = {
        { .name = "frames.v1", .perm = 0640, .overwrite = true },
        { .name = "x", .perm = 0600, .overwrite = false },
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        struct codec_adopt q;
        struct roundtrip rt;
        char err[256];

        roundtrip_init(&rt);
        assert_int_equal(codec_pack_adopt(&rt.sb, 9, &cases[i]), 0);
        const msgpack_object *params = roundtrip_request(&rt, "adopt", 9);
        memset(&q, 0xff, sizeof q);
        assert_int_equal(codec_parse_adopt(params, &q, err, sizeof err), 0);
        assert_string_equal(q.name, cases[i].name);
        assert_int_equal(q.perm, cases[i].perm);
        assert_int_equal(q.overwrite, cases[i].overwrite);
        roundtrip_free(&rt);
    }
}

/* Params {"name": name, key: value} with value packed by kind: 0 uint v, 1 int -1,
 * 2 str, 3 nil, 4 true; key NULL for no second field, name NULL for no name. */
static int parse_with(const char *name, const char *key, int kind, uint64_t v,
                      struct codec_adopt *q)
{
    msgpack_sbuffer sb;
    msgpack_packer pk;
    msgpack_zone z;
    msgpack_object obj;
    size_t off = 0;
    char err[256] = "";
    int r;

    msgpack_sbuffer_init(&sb);
    msgpack_packer_init(&pk, &sb, msgpack_sbuffer_write);
    msgpack_pack_map(&pk, (name ? 1 : 0) + (key ? 1 : 0));
    if (name) {
        msgpack_pack_str_with_body(&pk, "name", 4);
        msgpack_pack_str_with_body(&pk, name, strlen(name));
    }
    if (key) {
        msgpack_pack_str_with_body(&pk, key, strlen(key));
        if (kind == 0)
            msgpack_pack_uint64(&pk, v);
        else if (kind == 1)
            msgpack_pack_int64(&pk, -1);
        else if (kind == 2)
            msgpack_pack_str_with_body(&pk, "yes", 3);
        else if (kind == 3)
            msgpack_pack_nil(&pk);
        else
            msgpack_pack_true(&pk);
    }
    msgpack_zone_init(&z, 1024);
    assert_int_equal(msgpack_unpack(sb.data, sb.size, &off, &z, &obj), MSGPACK_UNPACK_SUCCESS);
    r = codec_parse_adopt(&obj, q, err, sizeof err);
    if (r < 0) {
        assert_true(strlen(err) > 0);
        assert_non_null(strstr(err, "adopt"));
    }
    msgpack_zone_destroy(&z);
    msgpack_sbuffer_destroy(&sb);
    return r;
}

static void test_adopt_defaults_to_0600_without_overwrite(void **state)
{
    (void)state;
    struct codec_adopt q;

    memset(&q, 0xff, sizeof q);
    assert_int_equal(parse_with("w", NULL, 0, 0, &q), 0);
    assert_string_equal(q.name, "w");
    assert_int_equal(q.perm, 0600);
    assert_false(q.overwrite);
    assert_int_equal(parse_with("w", "overwrite", 4, 0, &q), 0);
    assert_true(q.overwrite);
}

static void test_adopt_rejects_bad_fields(void **state)
{
    (void)state;
    char long_name[PROTO_NAME_MAX + 2];
    struct codec_adopt q;

    memset(long_name, 'x', sizeof long_name - 1);
    long_name[sizeof long_name - 1] = '\0';
    assert_int_equal(parse_with("w", "perm", 0, 0777, &q), 0);
    assert_int_equal(parse_with("w", "perm", 0, 02777, &q), -EINVAL);
    assert_int_equal(parse_with("w", "perm", 0, 07777, &q), -EINVAL);
    assert_int_equal(parse_with("w", "perm", 0, 010000, &q), -EINVAL);
    assert_int_equal(parse_with("w", "perm", 1, 0, &q), -EINVAL);
    assert_int_equal(parse_with("w", "perm", 2, 0, &q), -EINVAL);
    assert_int_equal(parse_with("w", "overwrite", 0, 1, &q), -EINVAL);
    assert_int_equal(parse_with("w", "overwrite", 3, 0, &q), -EINVAL);
    assert_int_equal(parse_with(NULL, "perm", 0, 0600, &q), -EINVAL);
    assert_int_equal(parse_with("../w", NULL, 0, 0, &q), -EINVAL);
    assert_int_equal(parse_with("", NULL, 0, 0, &q), -EINVAL);
    assert_int_equal(parse_with(long_name, NULL, 0, 0, &q), -ENAMETOOLONG);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_adopt_request_round_trips),
        cmocka_unit_test(test_adopt_defaults_to_0600_without_overwrite),
        cmocka_unit_test(test_adopt_rejects_bad_fields),
    };
    return testskip_exit(cmocka_run_group_tests(tests, NULL, NULL));
}
