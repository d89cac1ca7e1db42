/* test_ring.c — the release ring's post and take (proto/ring.h): handles come out in
 * the order they went in across many wraps, a full ring refuses a post until the
 * daemon takes, an impossible head written by a hostile client is -EPROTO and takes
 * nothing; and the ring reply's codec round trip.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>
#include <msgpack.h>

#include "codec.h"
#include "ring.h"
#include "roundtrip.h"
#include "testskip.h"

static _Alignas(64) unsigned char page[RING_BYTES];

static uint64_t *word(size_t at)
{
    return (uint64_t *)(page + at);
}

static void test_handles_come_out_in_order_across_wraps(void **state)
{
    (void)state;
    uint64_t out[RING_SLOTS], tail = 0, next_in = 1000, next_out = 1000;

    memset(page, 0, sizeof page);
    for (int round = 0; round < 50; round++) {
        unsigned n = 1 + (unsigned)(round * 37) % RING_SLOTS;
        for (unsigned i = 0; i < n; i++)
            assert_int_equal(ring_post(page, next_in++), 0);
        assert_int_equal(ring_take(page, &tail, out), (int)n);
        for (unsigned i = 0; i < n; i++)
            assert_int_equal(out[i], next_out++);
        assert_int_equal(*word(RING_TAIL_AT), tail);
    }
    assert_int_equal(ring_take(page, &tail, out), 0);
}

static void test_a_full_ring_refuses_until_taken(void **state)
{
    (void)state;
    uint64_t out[RING_SLOTS], tail = 0;

    memset(page, 0, sizeof page);
    for (unsigned i = 0; i < RING_SLOTS; i++)
        assert_int_equal(ring_post(page, i), 0);
    assert_int_equal(ring_post(page, 9999), -ENOSPC);
    assert_int_equal(ring_take(page, &tail, out), (int)RING_SLOTS);
    assert_int_equal(out[RING_SLOTS - 1], RING_SLOTS - 1);
    assert_int_equal(ring_post(page, 9999), 0);
    assert_int_equal(ring_take(page, &tail, out), 1);
    assert_int_equal(out[0], 9999);
}

static void test_an_impossible_head_is_eproto_and_takes_nothing(void **state)
{
    (void)state;
    uint64_t out[RING_SLOTS], tail = 0;
    const uint64_t heads[] = { RING_SLOTS + 1, UINT64_MAX, 1ull << 63 };

    for (size_t i = 0; i < sizeof heads / sizeof heads[0]; i++) {
        memset(page, 0, sizeof page);
        tail = 0;
        *word(RING_HEAD_AT) = heads[i];
        assert_int_equal(ring_take(page, &tail, out), -EPROTO);
        assert_int_equal(tail, 0);
        assert_int_equal(*word(RING_TAIL_AT), 0);
    }
    /* Behind the daemon's own tail: the client moved its head back. */
    memset(page, 0, sizeof page);
    tail = 0;
    assert_int_equal(ring_post(page, 1), 0);
    assert_int_equal(ring_take(page, &tail, out), 1);
    *word(RING_HEAD_AT) = 0;
    assert_int_equal(ring_take(page, &tail, out), -EPROTO);
    assert_int_equal(tail, 1);
    /* The daemon trusts its own tail, not the one in the page. */
    *word(RING_HEAD_AT) = 2;
    *word(RING_TAIL_AT) = 500;
    assert_int_equal(ring_post(page, 7), -ENOSPC);
    assert_int_equal(ring_take(page, &tail, out), 1);
}

static void test_ring_request_and_reply_round_trip(void **state)
{
    (void)state;
    msgpack_sbuffer sb;
    msgpack_zone z;
    struct codec_msg msg;
    char err[256];
    uint32_t size = 0;

    msgpack_sbuffer_init(&sb);
    msgpack_zone_init(&z, 1024);
    assert_int_equal(codec_pack_ring(&sb, 5), 0);
    roundtrip_decode(&sb, &z, &msg);
    assert_string_equal(msg.method, "ring");
    assert_int_equal(msg.msgid, 5);
    msgpack_sbuffer_clear(&sb);
    assert_int_equal(codec_pack_reply_ring(&sb, 5, RING_BYTES), 0);
    roundtrip_decode(&sb, &z, &msg);
    assert_int_equal(codec_parse_reply_ring(msg.result, &size, err, sizeof err), 0);
    assert_int_equal(size, RING_BYTES);
    msgpack_sbuffer_clear(&sb);
    /* A reply that says no descriptor comes is refused. */
    assert_int_equal(codec_pack_reply_empty(&sb, 6), 0);
    roundtrip_decode(&sb, &z, &msg);
    assert_int_equal(codec_parse_reply_ring(msg.result, &size, err, sizeof err), -EINVAL);
    msgpack_zone_destroy(&z);
    msgpack_sbuffer_destroy(&sb);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_handles_come_out_in_order_across_wraps),
        cmocka_unit_test(test_a_full_ring_refuses_until_taken),
        cmocka_unit_test(test_an_impossible_head_is_eproto_and_takes_nothing),
        cmocka_unit_test(test_ring_request_and_reply_round_trip),
    };
    return testskip_exit(cmocka_run_group_tests(tests, NULL, NULL));
}
