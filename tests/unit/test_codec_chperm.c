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

    snprintf(p.name, sizeof p.name, "weights.v2");
    ROUNDTRIP_REQUEST(chmod, 3, &p, &q);
    assert_string_equal(q.name, "weights.v2");
    assert_int_equal(q.perm, 0640);
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

        ROUNDTRIP_REQUEST(chown, 4, &cases[i], &q);
        assert_string_equal(q.name, cases[i].name);
        assert_int_equal(q.has_uid, cases[i].has_uid);
        assert_int_equal(q.has_gid, cases[i].has_gid);
        if (q.has_uid)
            assert_int_equal(q.uid, cases[i].uid);
        if (q.has_gid)
            assert_int_equal(q.gid, cases[i].gid);
    }
}

PARSE_FN(chmod, struct codec_chmod)
PARSE_FN(chown, struct codec_chown)

static void test_chmod_rejects_bad_fields(void **state)
{
    (void)state;
    char long_name[PROTO_NAME_MAX + 2];

    memset(long_name, 'x', sizeof long_name - 1);
    long_name[sizeof long_name - 1] = '\0';
    const struct params_case cases[] = {
        { { P_STR("name", "w") }, -EINVAL, NULL },
        { { P_STR("name", "../w"), P_UINT("perm", 0600) }, -EINVAL, NULL },
        { { P_STR("name", long_name), P_UINT("perm", 0600) }, -ENAMETOOLONG, NULL },
    };
    roundtrip_perm_cases(parse_chmod, NULL);
    roundtrip_params_cases(parse_chmod, NULL, cases, sizeof cases / sizeof cases[0]);
}

static void test_chown_rejects_bad_fields(void **state)
{
    (void)state;
    const struct params_case cases[] = {
        { { P_STR("name", "w"), P_UINT("uid", UINT32_MAX - 1) }, 0, NULL },
        { { P_STR("name", "w"), P_UINT("gid", 0) }, 0, NULL },
        { { P_STR("name", "w"), P_UINT("uid", UINT32_MAX) }, -EINVAL, NULL },
        { { P_STR("name", "w"), P_UINT("gid", 1ull << 40) }, -EINVAL, NULL },
        { { P_STR("name", "w"), P_NEG("uid") }, -EINVAL, NULL },
        { { P_STR("name", "w"), P_STR("gid", "0644") }, -EINVAL, NULL },
        { { P_STR("name", "w"), P_NIL("uid") }, -EINVAL, NULL },
        /* Neither id: nothing to change. */
        { { P_STR("name", "w") }, -EINVAL, NULL },
        { { P_STR("name", "w"), P_UINT("owner", 5) }, -EINVAL, NULL },
        { { P_STR("name", "a/b"), P_UINT("uid", 5) }, -EINVAL, NULL },
    };
    roundtrip_params_cases(parse_chown, NULL, cases, sizeof cases / sizeof cases[0]);
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
