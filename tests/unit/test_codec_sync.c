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

        ROUNDTRIP_REQUEST(sync, 11, &cases[i], &q);
        assert_string_equal(q.name, cases[i].name);
        assert_int_equal(q.has_handle, cases[i].has_handle);
        assert_int_equal(q.handle, cases[i].has_handle ? cases[i].handle : 0);
    }
}

/* The name form is what codec_pack_name writes for "sync": a daemon reads it too. */
static void test_sync_name_form_of_older_clients_parses(void **state)
{
    (void)state;
    struct codec_name p = { .name = "kept" };
    struct codec_sync q;
    struct roundtrip rt;
    char err[256];

    roundtrip_init(&rt);
    assert_int_equal(codec_pack_name(&rt.sb, 3, "sync", &p), 0);
    assert_int_equal(codec_parse_sync(roundtrip_message(&rt)->params, &q, err, sizeof err), 0);
    assert_string_equal(q.name, "kept");
    assert_false(q.has_handle);
    roundtrip_free(&rt);
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

PARSE_FN(sync, struct codec_sync)

static void test_sync_params_without_handle_or_name_or_mistyped_are_einval(void **state)
{
    (void)state;
    const struct params_case cases[] = {
        { { P_UINT(NULL, 0) }, -EINVAL, "name" }, /* {} */
        { { P_NEG("handle") }, -EINVAL, NULL },
        { { P_STR("handle", "x") }, -EINVAL, NULL },
        { { P_NIL("handle") }, -EINVAL, NULL },
        { { P_UINT("name", 5) }, -EINVAL, NULL },
        { { P_UINT("handle", 5) }, 0, NULL },
        { { P_STR("name", "x") }, 0, NULL },
    };
    roundtrip_params_cases(parse_sync, NULL, cases, sizeof cases / sizeof cases[0]);
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
