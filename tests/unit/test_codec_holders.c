/* test_codec_holders.c — the holders method's codec: request and reply survive a
 * pack / decode / parse round trip, and every malformed field is refused with
 * EINVAL (or EOVERFLOW for a reply larger than the caller's buffer).
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>
#include <msgpack.h>

#include "codec.h"
#include "roundtrip.h"
#include "proto_limits.h"
#include "testskip.h"

static void test_holders_request_round_trips(void **state)
{
    (void)state;
    struct codec_holders p = { .after = 77, .limit = 5 }, q;
    char err[256];

    snprintf(p.name, sizeof p.name, "weights.v2");
    ROUNDTRIP_REQUEST(holders, 9, &p, &q);
    assert_string_equal(q.name, "weights.v2");
    assert_int_equal(q.after, 77);
    assert_int_equal(q.limit, 5);
    /* No params at all: every array, from the start, the default page. */
    assert_int_equal(codec_parse_holders(NULL, &q, err, sizeof err), 0);
    assert_string_equal(q.name, "");
    assert_int_equal(q.after, 0);
    assert_int_equal(q.limit, PROTO_LIST_PAGE_DEFAULT);
}

PARSE_FN(holders, struct codec_holders)

static void test_holders_request_rejects_bad_fields(void **state)
{
    (void)state;
    char longname[PROTO_NAME_MAX + 2];

    memset(longname, 'a', sizeof longname - 1);
    longname[sizeof longname - 1] = '\0';
    const struct params_case cases[] = {
        { { P_UINT("limit", 0) }, -EINVAL, NULL },
        { { P_UINT("limit", PROTO_LIST_PAGE_MAX + 1) }, -EINVAL, NULL },
        { { P_UINT("limit", PROTO_LIST_PAGE_MAX) }, 0, NULL },
        { { P_NEG("after") }, -EINVAL, NULL },
        { { P_STR("after", "5") }, -EINVAL, NULL },
        { { P_STR("name", "a/b") }, -EINVAL, NULL },
        { { P_STR("name", "") }, -EINVAL, NULL },
        { { P_UINT("name", 3) }, -EINVAL, NULL },
        { { P_STR("name", longname) }, -ENAMETOOLONG, NULL },
    };
    roundtrip_params_cases(parse_holders, NULL, cases, sizeof cases / sizeof cases[0]);
}

static void test_holders_reply_round_trips_and_respects_cap(void **state)
{
    (void)state;
    struct codec_holder hs[2], out[2];
    msgpack_sbuffer sb;
    msgpack_zone z;
    struct codec_msg msg;
    size_t n = 0;
    bool more = false;
    char err[256];

    memset(hs, 0, sizeof hs);
    hs[0] = (struct codec_holder){ .handle = 3, .pid = 100, .uid = 1000, .gid = 1001,
                                   .mode = META_MODE_RPLUS, .since_ns = -5, .nbytes = 4096,
                                   .persist = true };
    snprintf(hs[0].name, sizeof hs[0].name, "a");
    snprintf(hs[0].comm, sizeof hs[0].comm, "python3");
    hs[1] = (struct codec_holder){ .handle = 9, .pid = 101, .mode = META_MODE_C,
                                   .unlinked = true };
    snprintf(hs[1].name, sizeof hs[1].name, "b");
    msgpack_sbuffer_init(&sb);
    msgpack_zone_init(&z, 4096);
    assert_int_equal(codec_pack_reply_holders(&sb, 4, hs, 2, true), 0);
    roundtrip_decode(&sb, &z, &msg);
    assert_int_equal(codec_parse_reply_holders(msg.result, out, 2, &n, &more, err, sizeof err),
                     0);
    assert_int_equal(n, 2);
    assert_true(more);
    for (int i = 0; i < 2; i++) {
        assert_int_equal(out[i].handle, hs[i].handle);
        assert_string_equal(out[i].name, hs[i].name);
        assert_int_equal(out[i].pid, hs[i].pid);
        assert_int_equal(out[i].uid, hs[i].uid);
        assert_int_equal(out[i].gid, hs[i].gid);
        assert_string_equal(out[i].comm, hs[i].comm);
        assert_int_equal(out[i].mode, hs[i].mode);
        assert_int_equal(out[i].since_ns, hs[i].since_ns);
        assert_int_equal(out[i].nbytes, hs[i].nbytes);
        assert_int_equal(out[i].persist, hs[i].persist);
        assert_int_equal(out[i].unlinked, hs[i].unlinked);
    }
    assert_int_equal(codec_parse_reply_holders(msg.result, out, 1, &n, &more, err, sizeof err),
                     -EOVERFLOW);
    msgpack_zone_destroy(&z);
    msgpack_sbuffer_destroy(&sb);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_holders_request_round_trips),
        cmocka_unit_test(test_holders_request_rejects_bad_fields),
        cmocka_unit_test(test_holders_reply_round_trips_and_respects_cap),
    };
    return testskip_exit(cmocka_run_group_tests(tests, NULL, NULL));
}
