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
        msgpack_sbuffer sb;
        msgpack_zone z;
        struct codec_msg msg;
        char err[256];

        snprintf(p.prefix, sizeof p.prefix, "%s", prefixes[i]);
        msgpack_sbuffer_init(&sb);
        msgpack_zone_init(&z, 1024);
        assert_int_equal(codec_pack_watch(&sb, 5, &p), 0);
        roundtrip_decode(&sb, &z, &msg);
        assert_string_equal(msg.method, "watch");
        memset(&q, 0x55, sizeof q);
        assert_int_equal(codec_parse_watch(msg.params, &q, err, sizeof err), 0);
        assert_string_equal(q.prefix, prefixes[i]);
        msgpack_zone_destroy(&z);
        msgpack_sbuffer_destroy(&sb);
    }
}

/* params {"prefix": value} packed by hand. */
static int parse_prefix_object(void (*put)(msgpack_packer *pk), char *err, size_t errlen)
{
    msgpack_sbuffer sb;
    msgpack_packer pk;
    msgpack_unpacked u;
    struct codec_watch q;
    int r;

    msgpack_sbuffer_init(&sb);
    msgpack_packer_init(&pk, &sb, msgpack_sbuffer_write);
    msgpack_pack_map(&pk, 1);
    msgpack_pack_str_with_body(&pk, "prefix", 6);
    put(&pk);
    msgpack_unpacked_init(&u);
    assert_int_equal(msgpack_unpack_next(&u, sb.data, sb.size, NULL), MSGPACK_UNPACK_SUCCESS);
    r = codec_parse_watch(&u.data, &q, err, errlen);
    msgpack_unpacked_destroy(&u);
    msgpack_sbuffer_destroy(&sb);
    return r;
}

static void put_dot(msgpack_packer *pk) { msgpack_pack_str_with_body(pk, ".x", 2); }
static void put_slash(msgpack_packer *pk) { msgpack_pack_str_with_body(pk, "a/b", 3); }
static void put_int(msgpack_packer *pk) { msgpack_pack_int(pk, 3); }
static void put_long(msgpack_packer *pk)
{
    char s[PROTO_NAME_MAX + 1];
    memset(s, 'a', sizeof s);
    msgpack_pack_str_with_body(pk, s, sizeof s);
}

static void test_watch_refuses_prefixes_no_name_starts_with(void **state)
{
    (void)state;
    void (*bad[])(msgpack_packer *) = { put_dot, put_slash, put_int, put_long };
    char err[256];
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        err[0] = '\0';
        assert_int_equal(parse_prefix_object(bad[i], err, sizeof err), -EINVAL);
        assert_non_null(strstr(err, "prefix"));
    }
}

static void test_every_event_kind_round_trips_with_its_array(void **state)
{
    (void)state;
    for (int kind = EVENT_CREATED; kind < EVENT_OVERFLOW; kind++) {
        struct codec_event e = { .kind = kind }, out;
        msgpack_sbuffer sb;
        msgpack_zone z;
        struct codec_msg msg;
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
        msgpack_sbuffer_init(&sb);
        msgpack_zone_init(&z, 1024);
        assert_int_equal(codec_pack_event(&sb, &e), 0);
        roundtrip_decode(&sb, &z, &msg);
        assert_int_equal(msg.type, CODEC_NOTIFY);
        assert_string_equal(msg.method, "event");
        assert_int_equal(codec_parse_event(msg.params, &out, err, sizeof err), 0);
        assert_int_equal(out.kind, kind);
        assert_string_equal(out.meta.name, e.meta.name);
        assert_int_equal(out.meta.shape[1], 5);
        assert_int_equal(out.meta.gid, e.meta.gid);
        assert_int_equal(out.meta.perm, 0640);
        assert_int_equal(out.lost, 0);
        assert_string_equal(event_kind_name(kind), event_kind_name(out.kind));
        msgpack_zone_destroy(&z);
        msgpack_sbuffer_destroy(&sb);
    }
}

static void test_overflow_event_carries_the_count_lost(void **state)
{
    (void)state;
    struct codec_event e = { .kind = EVENT_OVERFLOW, .lost = 999999 }, out;
    msgpack_sbuffer sb;
    msgpack_zone z;
    struct codec_msg msg;
    char err[256];

    msgpack_sbuffer_init(&sb);
    msgpack_zone_init(&z, 1024);
    assert_int_equal(codec_pack_event(&sb, &e), 0);
    roundtrip_decode(&sb, &z, &msg);
    assert_int_equal(codec_parse_event(msg.params, &out, err, sizeof err), 0);
    assert_int_equal(out.kind, EVENT_OVERFLOW);
    assert_int_equal(out.lost, 999999);
    msgpack_zone_destroy(&z);
    msgpack_sbuffer_destroy(&sb);
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
