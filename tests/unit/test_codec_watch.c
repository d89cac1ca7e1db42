/* test_codec_watch.c — the watch method's codec: the request's prefix and every event
 * kind survive a pack / decode / parse round trip, an overflow carries its count, a
 * kind a newer daemon sends is passed over, and bad prefixes and events are EINVAL.
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
#include "event.h"
#include "roundtrip.h"
#include "testskip.h"

static void test_watch_request_round_trips_with_and_without_prefix(void **state)
{
    (void)state;
    const char *prefixes[] = { "", "job.", "uid1000." };
    for (size_t i = 0; i < sizeof prefixes / sizeof prefixes[0]; i++) {
        struct codec_watch p, q;

        snprintf(p.prefix, sizeof p.prefix, "%s", prefixes[i]);
        ROUNDTRIP_REQUEST(watch, 5, &p, &q);
        assert_string_equal(q.prefix, prefixes[i]);
    }
}

PARSE_FN(watch, struct codec_watch)

static void test_watch_refuses_prefixes_no_name_starts_with(void **state)
{
    (void)state;
    char long_prefix[PROTO_NAME_MAX + 2];

    memset(long_prefix, 'a', sizeof long_prefix - 1);
    long_prefix[sizeof long_prefix - 1] = '\0';
    const struct params_case cases[] = {
        { { P_STR("prefix", ".x") }, -EINVAL, NULL },
        { { P_STR("prefix", "a/b") }, -EINVAL, NULL },
        { { P_UINT("prefix", 3) }, -EINVAL, NULL },
        { { P_STR("prefix", long_prefix) }, -EINVAL, NULL },
    };
    roundtrip_params_cases(parse_watch, "prefix", cases, sizeof cases / sizeof cases[0]);
}

static void test_every_event_kind_round_trips_with_its_array(void **state)
{
    (void)state;
    for (int kind = EVENT_CREATED; kind < EVENT_OVERFLOW; kind++) {
        struct codec_event e = { .kind = kind }, out;
        const struct codec_msg *msg;
        struct roundtrip rt;
        char err[256];

        snprintf(e.meta.name, sizeof e.meta.name, "job.%d", kind);
        snprintf(e.meta.dtype.str, sizeof e.meta.dtype.str, "<f4");
        e.meta.dtype.itemsize = 4;
        e.meta.ndim = 2;
        e.meta.shape[0] = 3;
        e.meta.shape[1] = 5;
        e.meta.nbytes = 60;
        e.meta.order = 'C';
        e.meta.offset = PROTO_DATA_OFFSET;
        e.meta.perm = 0640;
        e.meta.uid = 1000;
        e.meta.gid = 100 + (uint32_t)kind;
        roundtrip_init(&rt);
        assert_int_equal(codec_pack_event(&rt.sb, &e), 0);
        msg = roundtrip_message(&rt);
        assert_int_equal(msg->type, CODEC_NOTIFY);
        assert_string_equal(msg->method, "event");
        assert_int_equal(codec_parse_event(msg->params, &out, err, sizeof err), 0);
        assert_int_equal(out.kind, kind);
        assert_string_equal(out.meta.name, e.meta.name);
        assert_int_equal(out.meta.shape[1], 5);
        assert_int_equal(out.meta.gid, e.meta.gid);
        assert_int_equal(out.meta.perm, 0640);
        assert_int_equal(out.lost, 0);
        assert_string_equal(event_kind_name(kind), event_kind_name(out.kind));
        roundtrip_free(&rt);
    }
}

static void test_overflow_event_carries_the_count_lost(void **state)
{
    (void)state;
    struct codec_event e = { .kind = EVENT_OVERFLOW, .lost = 999999 }, out;
    struct roundtrip rt;
    char err[256];

    roundtrip_init(&rt);
    assert_int_equal(codec_pack_event(&rt.sb, &e), 0);
    assert_int_equal(codec_parse_event(roundtrip_message(&rt)->params, &out, err, sizeof err),
                     0);
    assert_int_equal(out.kind, EVENT_OVERFLOW);
    assert_int_equal(out.lost, 999999);
    roundtrip_free(&rt);
}

static void test_unknown_kinds_are_passed_over_and_bad_events_refused(void **state)
{
    (void)state;
    msgpack_sbuffer sb;
    msgpack_packer pk;
    msgpack_unpacked u;
    struct codec_event out;
    char err[256];

    assert_null(event_kind_name(0));
    assert_null(event_kind_name(EVENT_OVERFLOW + 1));
    assert_int_equal(event_kind_parse("renamed", 7), 0);
    struct codec_event bad = { .kind = 99 };
    msgpack_sbuffer_init(&sb);
    assert_int_equal(codec_pack_event(&sb, &bad), -EINVAL);
    assert_int_equal(sb.size, 0);
    /* {"event": "renamed", "to": 3}: a newer daemon's kind, fields unread. */
    msgpack_packer_init(&pk, &sb, msgpack_sbuffer_write);
    msgpack_pack_map(&pk, 2);
    msgpack_pack_str_with_body(&pk, "event", 5);
    msgpack_pack_str_with_body(&pk, "renamed", 7);
    msgpack_pack_str_with_body(&pk, "to", 2);
    msgpack_pack_int(&pk, 3);
    /* {"event": "created"}: no array. */
    msgpack_pack_map(&pk, 1);
    msgpack_pack_str_with_body(&pk, "event", 5);
    msgpack_pack_str_with_body(&pk, "created", 7);
    /* {"event": 1} */
    msgpack_pack_map(&pk, 1);
    msgpack_pack_str_with_body(&pk, "event", 5);
    msgpack_pack_int(&pk, 1);
    size_t off = 0;
    msgpack_unpacked_init(&u);
    assert_int_equal(msgpack_unpack_next(&u, sb.data, sb.size, &off), MSGPACK_UNPACK_SUCCESS);
    assert_int_equal(codec_parse_event(&u.data, &out, err, sizeof err), 0);
    assert_int_equal(out.kind, 0);
    assert_int_equal(msgpack_unpack_next(&u, sb.data, sb.size, &off), MSGPACK_UNPACK_SUCCESS);
    assert_int_equal(codec_parse_event(&u.data, &out, err, sizeof err), -EINVAL);
    assert_int_equal(msgpack_unpack_next(&u, sb.data, sb.size, &off), MSGPACK_UNPACK_SUCCESS);
    assert_int_equal(codec_parse_event(&u.data, &out, err, sizeof err), -EINVAL);
    assert_non_null(strstr(err, "'event'"));
    msgpack_unpacked_destroy(&u);
    msgpack_sbuffer_destroy(&sb);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_watch_request_round_trips_with_and_without_prefix),
        cmocka_unit_test(test_watch_refuses_prefixes_no_name_starts_with),
        cmocka_unit_test(test_every_event_kind_round_trips_with_its_array),
        cmocka_unit_test(test_overflow_event_carries_the_count_lost),
        cmocka_unit_test(test_unknown_kinds_are_passed_over_and_bad_events_refused),
    };
    return testskip_exit(cmocka_run_group_tests(tests, NULL, NULL));
}
