/* test_codec_chperm.c — the chmod and chown methods' codec: requests survive a pack /
 * decode / parse round trip, and missing, mistyped and out-of-range fields are
 * refused with EINVAL (ENAMETOOLONG for a long name).
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

static void test_chmod_request_round_trips(void **state)
{
    (void)state;
    struct codec_chmod p = { .perm = 0640 }, q;
    struct roundtrip rt;
    char err[256];

    snprintf(p.name, sizeof p.name, "weights.v2");
    roundtrip_init(&rt);
    assert_int_equal(codec_pack_chmod(&rt.sb, 3, &p), 0);
    const msgpack_object *params = roundtrip_request(&rt, "chmod", 3);
    memset(&q, 0xff, sizeof q);
    assert_int_equal(codec_parse_chmod(params, &q, err, sizeof err), 0);
    assert_string_equal(q.name, "weights.v2");
    assert_int_equal(q.perm, 0640);
    roundtrip_free(&rt);
}

static void test_chown_request_round_trips_with_either_id(void **state)
{
    (void)state;
    const struct codec_chown cases[] = {
        { .name = "a", .has_uid = true, .uid = 1000, .has_gid = true, .gid = 100 },
        { .name = "b", .has_uid = true, .uid = 0 },
        { .name = "c", .has_gid = true, .gid = UINT32_MAX - 1 },
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        struct codec_chown q;
        struct roundtrip rt;
        char err[256];

        roundtrip_init(&rt);
        assert_int_equal(codec_pack_chown(&rt.sb, 4, &cases[i]), 0);
        const msgpack_object *params = roundtrip_request(&rt, "chown", 4);
        memset(&q, 0xff, sizeof q);
        assert_int_equal(codec_parse_chown(params, &q, err, sizeof err), 0);
        assert_string_equal(q.name, cases[i].name);
        assert_int_equal(q.has_uid, cases[i].has_uid);
        assert_int_equal(q.has_gid, cases[i].has_gid);
        if (q.has_uid)
            assert_int_equal(q.uid, cases[i].uid);
        if (q.has_gid)
            assert_int_equal(q.gid, cases[i].gid);
        roundtrip_free(&rt);
    }
}

/* Params {"name": name, key: value} with value packed by kind: 0 uint v, 1 int -1,
 * 2 str, 3 nil; key NULL for no second field. */
static int parse_with(bool chown, const char *name, const char *key, int kind, uint64_t v)
{
    msgpack_sbuffer sb;
    msgpack_packer pk;
    msgpack_zone z;
    msgpack_object obj;
    size_t off = 0;
    char err[256];
    int r;

    msgpack_sbuffer_init(&sb);
    msgpack_packer_init(&pk, &sb, msgpack_sbuffer_write);
    msgpack_pack_map(&pk, key ? 2 : 1);
    msgpack_pack_str_with_body(&pk, "name", 4);
    msgpack_pack_str_with_body(&pk, name, strlen(name));
    if (key) {
        msgpack_pack_str_with_body(&pk, key, strlen(key));
        if (kind == 0)
            msgpack_pack_uint64(&pk, v);
        else if (kind == 1)
            msgpack_pack_int64(&pk, -1);
        else if (kind == 2)
            msgpack_pack_str_with_body(&pk, "0644", 4);
        else
            msgpack_pack_nil(&pk);
    }
    msgpack_zone_init(&z, 1024);
    assert_int_equal(msgpack_unpack(sb.data, sb.size, &off, &z, &obj), MSGPACK_UNPACK_SUCCESS);
    if (chown) {
        struct codec_chown q;
        r = codec_parse_chown(&obj, &q, err, sizeof err);
    } else {
        struct codec_chmod q;
        r = codec_parse_chmod(&obj, &q, err, sizeof err);
    }
    if (r < 0)
        assert_true(strlen(err) > 0);
    msgpack_zone_destroy(&z);
    msgpack_sbuffer_destroy(&sb);
    return r;
}

static void test_chmod_rejects_bad_fields(void **state)
{
    (void)state;
    char long_name[PROTO_NAME_MAX + 2];

    memset(long_name, 'x', sizeof long_name - 1);
    long_name[sizeof long_name - 1] = '\0';
    assert_int_equal(parse_with(false, "w", "perm", 0, 0777), 0);
    assert_int_equal(parse_with(false, "w", "perm", 0, 04755), -EINVAL);
    assert_int_equal(parse_with(false, "w", "perm", 0, 07777), -EINVAL);
    assert_int_equal(parse_with(false, "w", "perm", 0, 010000), -EINVAL);
    assert_int_equal(parse_with(false, "w", "perm", 1, 0), -EINVAL);
    assert_int_equal(parse_with(false, "w", "perm", 2, 0), -EINVAL);
    assert_int_equal(parse_with(false, "w", "perm", 3, 0), -EINVAL);
    assert_int_equal(parse_with(false, "w", NULL, 0, 0), -EINVAL);
    assert_int_equal(parse_with(false, "../w", "perm", 0, 0600), -EINVAL);
    assert_int_equal(parse_with(false, long_name, "perm", 0, 0600), -ENAMETOOLONG);
}

static void test_chown_rejects_bad_fields(void **state)
{
    (void)state;
    assert_int_equal(parse_with(true, "w", "uid", 0, UINT32_MAX - 1), 0);
    assert_int_equal(parse_with(true, "w", "gid", 0, 0), 0);
    assert_int_equal(parse_with(true, "w", "uid", 0, UINT32_MAX), -EINVAL);
    assert_int_equal(parse_with(true, "w", "gid", 0, 1ull << 40), -EINVAL);
    assert_int_equal(parse_with(true, "w", "uid", 1, 0), -EINVAL);
    assert_int_equal(parse_with(true, "w", "gid", 2, 0), -EINVAL);
    assert_int_equal(parse_with(true, "w", "uid", 3, 0), -EINVAL);
    /* Neither id: nothing to change. */
    assert_int_equal(parse_with(true, "w", NULL, 0, 0), -EINVAL);
    assert_int_equal(parse_with(true, "w", "owner", 0, 5), -EINVAL);
    assert_int_equal(parse_with(true, "a/b", "uid", 0, 5), -EINVAL);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_chmod_request_round_trips),
        cmocka_unit_test(test_chown_request_round_trips_with_either_id),
        cmocka_unit_test(test_chmod_rejects_bad_fields),
        cmocka_unit_test(test_chown_rejects_bad_fields),
    };
    return testskip_exit(cmocka_run_group_tests(tests, NULL, NULL));
}
