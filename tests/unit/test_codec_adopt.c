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

        ROUNDTRIP_REQUEST(adopt, 9, &cases[i], &q);
        assert_string_equal(q.name, cases[i].name);
        assert_int_equal(q.perm, cases[i].perm);
        assert_int_equal(q.overwrite, cases[i].overwrite);
    }
}

static void test_adopt_defaults_to_0600_without_overwrite(void **state)
{
    (void)state;
    const struct param name_only[] = { P_STR("name", "w") };
    const struct param overwrite[] = { P_STR("name", "w"), P_TRUE("overwrite") };
    struct codec_adopt q;
    struct roundtrip rt;
    char err[256];

    roundtrip_init(&rt);
    memset(&q, 0xff, sizeof q);
    assert_int_equal(codec_parse_adopt(roundtrip_params(&rt, name_only, 1), &q, err, sizeof err),
                     0);
    assert_string_equal(q.name, "w");
    assert_int_equal(q.perm, 0600);
    assert_false(q.overwrite);
    assert_int_equal(codec_parse_adopt(roundtrip_params(&rt, overwrite, 2), &q, err, sizeof err),
                     0);
    assert_true(q.overwrite);
    roundtrip_free(&rt);
}

PARSE_FN(adopt, struct codec_adopt)

static void test_adopt_rejects_bad_fields(void **state)
{
    (void)state;
    char long_name[PROTO_NAME_MAX + 2];

    memset(long_name, 'x', sizeof long_name - 1);
    long_name[sizeof long_name - 1] = '\0';
    const struct params_case cases[] = {
        { { P_STR("name", "w"), P_UINT("overwrite", 1) }, -EINVAL, NULL },
        { { P_STR("name", "w"), P_NIL("overwrite") }, -EINVAL, NULL },
        { { P_UINT("perm", 0600) }, -EINVAL, NULL },
        { { P_STR("name", "../w") }, -EINVAL, NULL },
        { { P_STR("name", "") }, -EINVAL, NULL },
        { { P_STR("name", long_name) }, -ENAMETOOLONG, NULL },
    };
    roundtrip_perm_cases(parse_adopt, "adopt");
    roundtrip_params_cases(parse_adopt, "adopt", cases, sizeof cases / sizeof cases[0]);
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
