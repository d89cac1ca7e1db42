/* test_decoder.c — the push decoder: bytes in any split give the same objects,
 * hostile frames end the stream with a sticky error, and buffering is bounded; and over
 * random and mutated frames it answers every call as scan_object and msgpack-c did
 * (tests/support/decoderdiff.c).
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <msgpack.h>

#include "codec.h"
#include "decoder.h"
#include "decoderdiff.h"
#include "proto_limits.h"
#include "testskip.h"

static void pack_open_request(msgpack_sbuffer *sb, uint32_t msgid, const char *name)
{
    struct codec_open o = { .mode = META_MODE_R, .wait_ms = -1 };

    strcpy(o.name, name);
    assert_int_equal(codec_pack_open(sb, msgid, &o), 0);
}

static void assert_open_request(const msgpack_object *obj, uint32_t msgid, const char *name)
{
    struct codec_msg msg;
    struct codec_open o;
    char err[256];

    assert_int_equal(codec_parse_msg(obj, &msg, NULL, err, sizeof(err)), 0);
    assert_int_equal(msg.type, CODEC_REQUEST);
    assert_int_equal(msg.msgid, msgid);
    assert_string_equal(msg.method, "open");
    assert_int_equal(codec_parse_open(msg.params, &o, err, sizeof(err)), 0);
    assert_string_equal(o.name, name);
    assert_int_equal(o.mode, META_MODE_R);
    assert_int_equal(o.wait_ms, -1);
}

static void test_decoder_byte_by_byte_gives_exactly_one_object(void **state)
{
    struct decoder *d = decoder_new(PROTO_REQUEST_MAX, PROTO_DEPTH_MAX);
    msgpack_sbuffer sb;
    msgpack_object obj;
    int got = 0;

    (void)state;
    assert_non_null(d);
    msgpack_sbuffer_init(&sb);
    pack_open_request(&sb, 42, "weights");
    for (size_t i = 0; i < sb.size; i++) {
        int r;
        assert_int_equal(decoder_feed(d, sb.data + i, 1), 0);
        r = decoder_next(d, &obj);
        assert_true(r == 0 || r == 1);
        if (i + 1 < sb.size) {
            assert_int_equal(r, 0);
            assert_int_equal(decoder_pending(d), i + 1);
        } else {
            assert_int_equal(r, 1);
            got++;
            assert_open_request(&obj, 42, "weights");
        }
    }
    assert_int_equal(got, 1);
    assert_int_equal(decoder_next(d, &obj), 0);
    assert_int_equal(decoder_pending(d), 0);
    msgpack_sbuffer_destroy(&sb);
    decoder_free(d);
}

static void test_decoder_two_concatenated_messages_give_two(void **state)
{
    struct decoder *d = decoder_new(PROTO_REQUEST_MAX, PROTO_DEPTH_MAX);
    msgpack_sbuffer sb;
    msgpack_object obj;

    (void)state;
    msgpack_sbuffer_init(&sb);
    pack_open_request(&sb, 1, "first");
    pack_open_request(&sb, 2, "second");
    assert_int_equal(decoder_feed(d, sb.data, sb.size), 0);
    assert_int_equal(decoder_next(d, &obj), 1);
    assert_open_request(&obj, 1, "first");
    assert_int_equal(decoder_next(d, &obj), 1);
    assert_open_request(&obj, 2, "second");
    assert_int_equal(decoder_next(d, &obj), 0);
    msgpack_sbuffer_destroy(&sb);
    decoder_free(d);
}

/* Split points everywhere: the message stream is the same however it arrives. */
static void test_decoder_any_split_gives_the_same_stream(void **state)
{
    msgpack_sbuffer sb;

    (void)state;
    msgpack_sbuffer_init(&sb);
    for (uint32_t i = 0; i < 3; i++)
        pack_open_request(&sb, i, "abc");
    for (size_t cut = 0; cut <= sb.size; cut++) {
        struct decoder *d = decoder_new(PROTO_REQUEST_MAX, PROTO_DEPTH_MAX);
        msgpack_object obj;
        uint32_t seen = 0;
        assert_int_equal(decoder_feed(d, sb.data, cut), 0);
        while (decoder_next(d, &obj) == 1)
            assert_open_request(&obj, seen++, "abc");
        assert_int_equal(decoder_feed(d, sb.data + cut, sb.size - cut), 0);
        while (decoder_next(d, &obj) == 1)
            assert_open_request(&obj, seen++, "abc");
        assert_int_equal(seen, 3);
        decoder_free(d);
    }
    msgpack_sbuffer_destroy(&sb);
}

static void test_decoder_errors_are_sticky(void **state)
{
    struct decoder *d = decoder_new(PROTO_REQUEST_MAX, PROTO_DEPTH_MAX);
    msgpack_sbuffer sb;
    msgpack_object obj;
    const uint8_t bad = 0xc1;

    (void)state;
    msgpack_sbuffer_init(&sb);
    pack_open_request(&sb, 1, "ok");
    assert_int_equal(decoder_feed(d, sb.data, sb.size), 0);
    assert_int_equal(decoder_feed(d, &bad, 1), 0);
    assert_int_equal(decoder_feed(d, sb.data, sb.size), 0);
    assert_int_equal(decoder_next(d, &obj), 1);
    assert_int_equal(decoder_next(d, &obj), -EBADMSG);
    assert_int_equal(decoder_next(d, &obj), -EBADMSG);
    assert_int_equal(decoder_feed(d, sb.data, sb.size), 0);
    assert_int_equal(decoder_next(d, &obj), -EBADMSG);
    msgpack_sbuffer_destroy(&sb);
    decoder_free(d);
}

static void test_decoder_rejects_huge_array_header_without_allocating(void **state)
{
    struct decoder *d = decoder_new(PROTO_REQUEST_MAX, PROTO_DEPTH_MAX);
    const uint8_t arr[] = { 0xdd, 0xff, 0xff, 0xff, 0xff };
    const uint8_t map[] = { 0xdf, 0xff, 0xff, 0xff, 0xff };
    msgpack_object obj;

    (void)state;
    assert_int_equal(decoder_feed(d, arr, sizeof(arr)), 0);
    assert_int_equal(decoder_next(d, &obj), -E2BIG);
    decoder_free(d);
    d = decoder_new(PROTO_REQUEST_MAX, PROTO_DEPTH_MAX);
    assert_int_equal(decoder_feed(d, map, sizeof(map)), 0);
    assert_int_equal(decoder_next(d, &obj), -E2BIG);
    decoder_free(d);
}

static void test_decoder_rejects_deep_nesting(void **state)
{
    struct decoder *d = decoder_new(PROTO_REQUEST_MAX, PROTO_DEPTH_MAX);
    uint8_t deep[64];
    msgpack_object obj;

    (void)state;
    memset(deep, 0x91, sizeof(deep));
    assert_int_equal(decoder_feed(d, deep, sizeof(deep)), 0);
    assert_int_equal(decoder_next(d, &obj), -ELOOP);
    decoder_free(d);
}

static void test_decoder_refuses_more_than_twice_the_frame_waiting(void **state)
{
    struct decoder *d = decoder_new(100, PROTO_DEPTH_MAX);
    uint8_t nils[250];
    msgpack_object obj;

    (void)state;
    memset(nils, 0xc0, sizeof(nils));
    assert_int_equal(decoder_feed(d, nils, 200), 0);
    assert_int_equal(decoder_feed(d, nils, 1), -ENOBUFS);
    assert_int_equal(decoder_pending(d), 200);
    /* taking objects out frees room again */
    assert_int_equal(decoder_next(d, &obj), 1);
    assert_int_equal(obj.type, MSGPACK_OBJECT_NIL);
    assert_int_equal(decoder_feed(d, nils, 1), 0);
    assert_int_equal(decoder_feed(d, nils, 250), -ENOBUFS);
    decoder_free(d);
}

static void test_decoder_waits_on_truncated_frame(void **state)
{
    struct decoder *d = decoder_new(PROTO_REQUEST_MAX, PROTO_DEPTH_MAX);
    msgpack_sbuffer sb;
    msgpack_object obj;

    (void)state;
    msgpack_sbuffer_init(&sb);
    pack_open_request(&sb, 9, "truncated");
    assert_int_equal(decoder_feed(d, sb.data, sb.size - 1), 0);
    assert_int_equal(decoder_next(d, &obj), 0);
    assert_int_equal(decoder_pending(d), sb.size - 1);
    assert_int_equal(decoder_feed(d, sb.data + sb.size - 1, 1), 0);
    assert_int_equal(decoder_next(d, &obj), 1);
    assert_open_request(&obj, 9, "truncated");
    msgpack_sbuffer_destroy(&sb);
    decoder_free(d);
}

static void test_decoder_frame_over_limit_fails_before_it_arrives(void **state)
{
    struct decoder *d = decoder_new(PROTO_REQUEST_MAX, PROTO_DEPTH_MAX);
    /* [0, 1, "open", [{"name": str32 of 64 KiB ... */
    const uint8_t head[] = { 0x94, 0x00, 0x01, 0xa4, 'o', 'p', 'e', 'n', 0x91, 0x81,
                             0xa4, 'n', 'a', 'm', 'e', 0xdb, 0x00, 0x01, 0x00, 0x00 };
    msgpack_object obj;

    (void)state;
    assert_int_equal(decoder_feed(d, head, sizeof(head)), 0);
    assert_int_equal(decoder_next(d, &obj), -E2BIG);
    decoder_free(d);
}

/* xorshift64*: the same frames on every run. */
static uint64_t rnd_next(uint64_t *s)
{
    *s ^= *s >> 12;
    *s ^= *s << 25;
    *s ^= *s >> 27;
    return *s * 2685821657736338717ull;
}

static uint32_t rnd_below(uint64_t *s, uint32_t n)
{
    return (uint32_t)(rnd_next(s) % n);
}

/* A random value of every msgpack type and width, nested at most depth deep. */
static void pack_random(msgpack_packer *pk, uint64_t *s, unsigned depth)
{
    static const char bytes[300] = "abcdefghijklmnopqrstuvwxyz";
    uint32_t n;

    switch (rnd_below(s, depth > 0 ? 14 : 11)) {
    case 0: msgpack_pack_nil(pk); break;
    case 1: rnd_below(s, 2) ? msgpack_pack_true(pk) : msgpack_pack_false(pk); break;
    case 2: msgpack_pack_uint64(pk, rnd_next(s) >> rnd_below(s, 64)); break;
    case 3: msgpack_pack_int64(pk, -(int64_t)(rnd_next(s) >> (1 + rnd_below(s, 63)))); break;
    case 4: msgpack_pack_fix_int8(pk, (int8_t)rnd_next(s)); break;
    case 5: msgpack_pack_float(pk, (float)(rnd_next(s) % 1000) / 7.0f); break;
    case 6: msgpack_pack_double(pk, rnd_below(s, 4) ? (double)rnd_next(s) / 3.0 : 0.0 / 0.0);
        break;
    case 7:
        n = rnd_below(s, 8) ? rnd_below(s, 40) : rnd_below(s, 300);
        msgpack_pack_str(pk, n);
        msgpack_pack_str_body(pk, bytes, n);
        break;
    case 8:
        n = rnd_below(s, 300);
        msgpack_pack_bin(pk, n);
        msgpack_pack_bin_body(pk, bytes, n);
        break;
    case 9:
        n = rnd_below(s, 3) ? 1u << rnd_below(s, 5) : rnd_below(s, 20);
        msgpack_pack_ext(pk, n, (int8_t)rnd_next(s));
        msgpack_pack_ext_body(pk, bytes, n);
        break;
    case 10: msgpack_pack_uint16(pk, (uint16_t)rnd_next(s)); break;
    case 11: case 12:
        n = rnd_below(s, 6) ? rnd_below(s, 6) : rnd_below(s, 20);
        msgpack_pack_array(pk, n);
        for (uint32_t i = 0; i < n; i++)
            pack_random(pk, s, depth - 1);
        break;
    default:
        n = rnd_below(s, 6);
        msgpack_pack_map(pk, n);
        for (uint32_t i = 0; i < 2 * n; i++)
            pack_random(pk, s, depth - 1);
        break;
    }
}

/* Check bytes against the reference fed whole, byte by byte, cut at every byte into
 * two pieces, and in random pieces. */
static void assert_decodes_as_reference(const uint8_t *b, size_t n, size_t max_len,
                                        unsigned max_depth, uint64_t *s, bool every_cut)
{
    size_t cuts[64];
    char why[256];

    if (decoderdiff_check(b, n, max_len, max_depth, NULL, 0, why, sizeof(why)) < 0)
        fail_msg("whole, %zu bytes, max_len %zu, depth %u: %s", n, max_len, max_depth, why);
    for (size_t c = 0; every_cut && c <= n; c++) {
        if (decoderdiff_check(b, n, max_len, max_depth, &c, 1, why, sizeof(why)) < 0)
            fail_msg("cut at %zu of %zu, max_len %zu, depth %u: %s", c, n, max_len,
                     max_depth, why);
    }
    if (every_cut && n <= 512) {
        size_t *all = malloc((n + 1) * sizeof(*all));

        assert_non_null(all);
        for (size_t c = 0; c <= n; c++)
            all[c] = c;
        if (decoderdiff_check(b, n, max_len, max_depth, all, n + 1, why, sizeof(why)) < 0)
            fail_msg("byte by byte, %zu bytes, max_len %zu, depth %u: %s", n, max_len,
                     max_depth, why);
        free(all);
    }
    for (size_t k = 0, c = 0; k < 64; k++) {
        c += n > 0 ? rnd_below(s, (uint32_t)(n / 8 + 2)) : 0;
        cuts[k] = c < n ? c : n;
    }
    if (decoderdiff_check(b, n, max_len, max_depth, cuts, 64, why, sizeof(why)) < 0)
        fail_msg("random pieces, %zu bytes, max_len %zu, depth %u: %s", n, max_len,
                 max_depth, why);
}

static void test_decoder_answers_as_scan_and_unpack_over_random_and_mutated_frames(void **state)
{
    static const size_t max_lens[] = { PROTO_REQUEST_MAX, 4096, 200, 64, 9, 1 };
    static const unsigned depths[] = { PROTO_DEPTH_MAX, 32, 3, 1, 0, 33 };
    uint64_t s = 0x9e3779b97f4a7c15ull;
    msgpack_sbuffer sb;
    msgpack_packer pk;

    (void)state;
    msgpack_sbuffer_init(&sb);
    msgpack_packer_init(&pk, &sb, msgpack_sbuffer_write);
    for (unsigned iter = 0; iter < 400; iter++) {
        unsigned frames = 1 + rnd_below(&s, 4);
        size_t max_len = max_lens[rnd_below(&s, 6)];
        unsigned depth = rnd_below(&s, 3) ? PROTO_DEPTH_MAX : depths[rnd_below(&s, 6)];
        uint8_t *b;
        size_t n;

        msgpack_sbuffer_clear(&sb);
        for (unsigned f = 0; f < frames; f++) {
            if (rnd_below(&s, 4) == 0)
                pack_open_request(&sb, (uint32_t)rnd_next(&s), "some/array");
            else
                pack_random(&pk, &s, 1 + rnd_below(&s, 5));
        }
        n = sb.size;
        b = malloc(n + 8);
        assert_non_null(b);
        memcpy(b, sb.data, n);
        assert_decodes_as_reference(b, n, max_len, depth, &s, iter % 4 == 0);
        /* mutated: bytes changed, cut short, 0xc1 or a header's count made huge */
        for (unsigned m = 0; m < 6 && n > 0; m++) {
            size_t at = rnd_below(&s, (uint32_t)n), len = n;
            uint8_t keep = b[at];

            switch (rnd_below(&s, 4)) {
            case 0: b[at] = (uint8_t)rnd_next(&s); break;
            case 1: b[at] = 0xc1; break;
            case 2: b[at] ^= (uint8_t)(1u << rnd_below(&s, 8)); break;
            default: len = at; break;
            }
            assert_decodes_as_reference(b, len, max_len, depth, &s, iter % 16 == 0);
            b[at] = keep;
        }
        free(b);
    }
    msgpack_sbuffer_destroy(&sb);
}

/* Frames with more elements than the decoder keeps objects for, nested as deep as
 * scan_object allows, and a count of elements for which the bytes are not all there. */
static void test_decoder_answers_as_scan_and_unpack_for_large_and_deep_frames(void **state)
{
    uint64_t s = 42;
    msgpack_sbuffer sb;
    msgpack_packer pk;

    (void)state;
    msgpack_sbuffer_init(&sb);
    msgpack_packer_init(&pk, &sb, msgpack_sbuffer_write);
    msgpack_pack_array(&pk, 9000);
    for (unsigned i = 0; i < 9000; i++)
        msgpack_pack_nil(&pk);
    msgpack_pack_map(&pk, 3000);
    for (unsigned i = 0; i < 6000; i++)
        msgpack_pack_uint32(&pk, i);
    msgpack_pack_array(&pk, 300);
    for (unsigned i = 0; i < 300; i++) {
        msgpack_pack_array(&pk, 20);
        for (unsigned j = 0; j < 20; j++)
            msgpack_pack_uint8(&pk, (uint8_t)j);
    }
    for (unsigned i = 0; i < 32; i++)
        msgpack_pack_array(&pk, 1);
    msgpack_pack_str(&pk, 0);
    assert_decodes_as_reference((const uint8_t *)sb.data, sb.size, PROTO_REQUEST_MAX, 32, &s,
                                false);
    assert_decodes_as_reference((const uint8_t *)sb.data, sb.size, PROTO_RESPONSE_MAX,
                                PROTO_DEPTH_MAX, &s, false);
    msgpack_sbuffer_destroy(&sb);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_decoder_byte_by_byte_gives_exactly_one_object),
        cmocka_unit_test(test_decoder_two_concatenated_messages_give_two),
        cmocka_unit_test(test_decoder_any_split_gives_the_same_stream),
        cmocka_unit_test(test_decoder_errors_are_sticky),
        cmocka_unit_test(test_decoder_rejects_huge_array_header_without_allocating),
        cmocka_unit_test(test_decoder_rejects_deep_nesting),
        cmocka_unit_test(test_decoder_refuses_more_than_twice_the_frame_waiting),
        cmocka_unit_test(test_decoder_waits_on_truncated_frame),
        cmocka_unit_test(test_decoder_frame_over_limit_fails_before_it_arrives),
        cmocka_unit_test(test_decoder_answers_as_scan_and_unpack_over_random_and_mutated_frames),
        cmocka_unit_test(test_decoder_answers_as_scan_and_unpack_for_large_and_deep_frames),
    };
    return testskip_exit(cmocka_run_group_tests(tests, NULL, NULL));
}
