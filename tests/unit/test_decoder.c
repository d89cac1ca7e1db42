/* test_decoder.c — the push decoder: bytes in any split give the same objects,
 * hostile frames end the stream with a sticky error, and buffering is bounded.
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
#include "decoder.h"
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
    };
    return testskip_exit(cmocka_run_group_tests(tests, NULL, NULL));
}
