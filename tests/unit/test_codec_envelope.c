/* test_codec_envelope.c — msgpack-RPC envelopes and frames: notifications, every
 * wrong type at every envelope position, malformed envelopes, truncated, oversized
 * and non-msgpack frames, and encoders that leave the buffer whole when they refuse.
 *
 * Messages are encoded, fed through a real decoder and parsed, exactly as on a
 * connection; hostile ones are built as msgpack objects and decoded the same way.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <msgpack.h>

#include "codec.h"
#include "codecwire.h"
#include "decoder.h"
#include "proto_limits.h"
#include "testskip.h"

static void test_codec_notification_parses(void **state)
{
    struct wire *w = *state;
    msgpack_object_kv kv[] = { { o_str("name"), o_str("a") } };
    msgpack_object params[] = { o_map(kv, 1) };
    msgpack_object env[] = { o_uint(2), o_str("created"), o_array(params, 1) };
    struct codec_msg msg;
    char err[256];

    assert_int_equal(codec_parse_msg(wire_object(w, o_array(env, 3)), &msg, NULL, err,
                                     sizeof(err)), 0);
    assert_int_equal(msg.type, CODEC_NOTIFY);
    assert_string_equal(msg.method, "created");
    assert_non_null(msg.params);
    assert_int_equal(msg.params->type, MSGPACK_OBJECT_MAP);
}

/* Malformed envelopes. */

static void expect_bad_envelope(struct wire *w, msgpack_object env, int want_known)
{
    struct codec_msg msg;
    char err[256] = "";
    int known = -1;

    assert_int_equal(codec_parse_msg(wire_object(w, env), &msg, &known, err, sizeof(err)),
                     -EBADMSG);
    assert_int_equal(known, want_known);
    assert_true(strncmp(err, "envelope", 8) == 0);
}

static void test_codec_rejects_wrong_types_at_every_envelope_position(void **state)
{
    struct wire *w = *state;
    msgpack_object_kv kv[] = { { o_str("name"), o_str("a") } };
    msgpack_object params[] = { o_map(kv, 1) };
    msgpack_object good[] = { o_uint(0), o_uint(7), o_str("stat"), o_array(params, 1) };
    msgpack_object wrong[16];
    size_t nwrong = wrong_values(wrong);
    struct codec_msg msg;
    char err[256];

    assert_int_equal(codec_parse_msg(wire_object(w, o_array(good, 4)), &msg, NULL, err,
                                     sizeof(err)), 0);
    for (size_t pos = 0; pos < 4; pos++) {
        for (size_t i = 0; i < nwrong; i++) {
            msgpack_object env[4];
            memcpy(env, good, sizeof(good));
            if (wrong[i].type == good[pos].type)
                continue;
            env[pos] = wrong[i];
            /* a type of 1 or 2 makes a different (and here malformed) envelope */
            if (pos == 0 && wrong[i].type == MSGPACK_OBJECT_POSITIVE_INTEGER)
                continue;
            expect_bad_envelope(w, o_array(env, 4), pos >= 2 ? 1 : 0);
        }
    }
}

static void test_codec_rejects_malformed_envelopes(void **state)
{
    struct wire *w = *state;
    msgpack_object_kv kv[] = { { o_str("name"), o_str("a") } };
    msgpack_object_kv nonstr_key[] = { { o_uint(1), o_str("ENOENT") } };
    msgpack_object_kv bad_code[] = { { o_str("code"), o_uint(2) } };
    msgpack_object_kv no_code[] = { { o_str("message"), o_str("x") } };
    msgpack_object_kv bad_message[] = { { o_str("code"), o_str("ENOENT") },
                                        { o_str("message"), o_uint(1) } };
    msgpack_object one_map[] = { o_map(kv, 1) };
    msgpack_object two_maps[] = { o_map(kv, 1), o_map(kv, 1) };
    msgpack_object a_nil[] = { o_nil() };
    char method16[PROTO_METHOD_MAX + 1];

    memset(method16, 'm', sizeof(method16));
    {
        msgpack_object e[] = { o_uint(3), o_uint(1), o_str("stat"), o_array(one_map, 1) };
        expect_bad_envelope(w, o_array(e, 4), 0); /* type 3 */
    }
    {
        msgpack_object e[] = { o_uint(0), o_uint(1ull << 32), o_str("stat"),
                               o_array(one_map, 1) };
        expect_bad_envelope(w, o_array(e, 4), 0); /* msgid beyond 32 bits */
    }
    {
        msgpack_object e[] = { o_uint(0), o_uint(1), o_str("stat") };
        expect_bad_envelope(w, o_array(e, 3), 1); /* too short, msgid known */
    }
    {
        msgpack_object e[] = { o_uint(0), o_uint(1), o_str("stat"), o_array(one_map, 1),
                               o_nil() };
        expect_bad_envelope(w, o_array(e, 5), 1);
    }
    {
        msgpack_object e[] = { o_uint(0), o_uint(1), o_strn(method16, sizeof(method16)),
                               o_array(one_map, 1) };
        expect_bad_envelope(w, o_array(e, 4), 1); /* method over PROTO_METHOD_MAX */
    }
    {
        msgpack_object e[] = { o_uint(0), o_uint(1), o_str(""), o_array(one_map, 1) };
        expect_bad_envelope(w, o_array(e, 4), 1);
    }
    {
        msgpack_object e[] = { o_uint(0), o_uint(1), o_strn("st\0t", 4), o_array(one_map, 1) };
        expect_bad_envelope(w, o_array(e, 4), 1);
    }
    {
        msgpack_object e[] = { o_uint(0), o_uint(1), o_str("stat"), o_array(two_maps, 2) };
        expect_bad_envelope(w, o_array(e, 4), 1);
    }
    {
        msgpack_object e[] = { o_uint(0), o_uint(1), o_str("stat"), o_array(a_nil, 1) };
        expect_bad_envelope(w, o_array(e, 4), 1);
    }
    expect_bad_envelope(w, o_array(NULL, 0), 0);
    expect_bad_envelope(w, o_map(kv, 1), 0);
    expect_bad_envelope(w, o_str("hello"), 0);
    {
        msgpack_object e[] = { o_uint(1), o_uint(1), o_str("boom"), o_map(NULL, 0) };
        expect_bad_envelope(w, o_array(e, 4), 0); /* error must be nil or a map */
    }
    {
        msgpack_object e[] = { o_uint(1), o_uint(1), o_nil(), o_nil() };
        expect_bad_envelope(w, o_array(e, 4), 0); /* success needs a result map */
    }
    {
        msgpack_object e[] = { o_uint(1), o_uint(1), o_nil(), o_array(NULL, 0) };
        expect_bad_envelope(w, o_array(e, 4), 0);
    }
    {
        msgpack_object e[] = { o_uint(1), o_uint(1), o_map(bad_code, 1), o_nil() };
        expect_bad_envelope(w, o_array(e, 4), 0);
    }
    {
        msgpack_object e[] = { o_uint(1), o_uint(1), o_map(no_code, 1), o_nil() };
        expect_bad_envelope(w, o_array(e, 4), 0);
    }
    {
        msgpack_object e[] = { o_uint(1), o_uint(1), o_map(bad_message, 2), o_nil() };
        expect_bad_envelope(w, o_array(e, 4), 0);
    }
    {
        msgpack_object e[] = { o_uint(1), o_uint(1), o_map(nonstr_key, 1), o_nil() };
        expect_bad_envelope(w, o_array(e, 4), 0);
    }
    {
        msgpack_object e[] = { o_uint(2), o_str("x") };
        expect_bad_envelope(w, o_array(e, 2), 0);
    }
    {
        msgpack_object e[] = { o_uint(2), o_uint(5), o_array(NULL, 0) };
        expect_bad_envelope(w, o_array(e, 3), 0);
    }
}

/* Frames on the wire. */

static void test_codec_rejects_truncated_frame(void **state)
{
    struct decoder *d = decoder_new(PROTO_REQUEST_MAX, PROTO_DEPTH_MAX);
    struct codec_create c = { .name = "a", .ndim = 1, .shape = { 3 } };
    msgpack_sbuffer sb;
    msgpack_object obj;

    (void)state;
    assert_int_equal(dtype_parse("<f4", &c.dtype), 0);
    msgpack_sbuffer_init(&sb);
    assert_int_equal(codec_pack_create(&sb, 1, &c), 0);
    /* every truncation waits for more and never yields an object */
    for (size_t cut = 1; cut < sb.size; cut++) {
        struct decoder *t = decoder_new(PROTO_REQUEST_MAX, PROTO_DEPTH_MAX);
        assert_int_equal(decoder_feed(t, sb.data, cut), 0);
        assert_int_equal(decoder_next(t, &obj), 0);
        assert_int_equal(decoder_pending(t), cut);
        decoder_free(t);
    }
    assert_int_equal(decoder_feed(d, sb.data, sb.size), 0);
    assert_int_equal(decoder_next(d, &obj), 1);
    msgpack_sbuffer_destroy(&sb);
    decoder_free(d);
}

static void test_codec_rejects_oversized_request(void **state)
{
    struct decoder *d = decoder_new(PROTO_REQUEST_MAX, PROTO_DEPTH_MAX);
    static char filler[PROTO_REQUEST_MAX];
    msgpack_object_kv kv[] = { { o_str("name"), o_str("a") },
                               { o_str("junk"), o_strn(filler, sizeof(filler) - 64) } };
    msgpack_object params[] = { o_map(kv, 2) };
    msgpack_object env[] = { o_uint(0), o_uint(1), o_str("stat"), o_array(params, 1) };
    msgpack_sbuffer sb;
    msgpack_packer pk;
    msgpack_object obj;

    (void)state;
    msgpack_sbuffer_init(&sb);
    msgpack_packer_init(&pk, &sb, msgpack_sbuffer_write);
    assert_int_equal(msgpack_pack_object(&pk, o_array(env, 4)), 0);
    assert_true(sb.size <= PROTO_REQUEST_MAX); /* just fits */
    assert_int_equal(decoder_feed(d, sb.data, sb.size), 0);
    assert_int_equal(decoder_next(d, &obj), 1);
    msgpack_sbuffer_destroy(&sb);

    kv[1].val = o_strn(filler, sizeof(filler));
    msgpack_sbuffer_init(&sb);
    msgpack_packer_init(&pk, &sb, msgpack_sbuffer_write);
    assert_int_equal(msgpack_pack_object(&pk, o_array(env, 4)), 0);
    assert_int_equal(decoder_feed(d, sb.data, 64), 0); /* the header is enough to know */
    assert_int_equal(decoder_next(d, &obj), -E2BIG);
    msgpack_sbuffer_destroy(&sb);
    decoder_free(d);
}

static void test_codec_rejects_non_msgpack_and_deep_or_huge_frames(void **state)
{
    const uint8_t c1[] = { 0x94, 0x00, 0x01, 0xc1 };
    const uint8_t huge_params[] = { 0x94, 0x00, 0x01, 0xa4, 's', 't', 'a', 't',
                                    0x91, 0xdf, 0xff, 0xff, 0xff, 0xff };
    uint8_t deep[4 + PROTO_DEPTH_MAX + 2];
    struct {
        const uint8_t *bytes;
        size_t len;
        int want;
    } cases[] = {
        { c1, sizeof(c1), -EBADMSG },
        { huge_params, sizeof(huge_params), -E2BIG },
        { deep, sizeof(deep), -ELOOP },
    };
    msgpack_object obj;

    (void)state;
    memset(deep, 0x91, sizeof(deep));
    for (size_t i = 0; i < 3; i++) {
        struct decoder *d = decoder_new(PROTO_REQUEST_MAX, PROTO_DEPTH_MAX);
        assert_int_equal(decoder_feed(d, cases[i].bytes, cases[i].len), 0);
        assert_int_equal(decoder_next(d, &obj), cases[i].want);
        decoder_free(d);
    }
}

/* Encoders leave the buffer as it was when they refuse. */
static void test_codec_encoders_refuse_bad_structs_whole(void **state)
{
    struct codec_create c = { .name = "a", .ndim = PROTO_NDIM_MAX + 1 };
    struct codec_attach_reply a;
    msgpack_sbuffer sb;

    (void)state;
    sample_meta(&a.meta, "a");
    a.meta.ndim = PROTO_NDIM_MAX + 1;
    msgpack_sbuffer_init(&sb);
    assert_int_equal(codec_pack_reply_empty(&sb, 1), 0);
    {
        size_t before = sb.size;
        assert_int_equal(codec_pack_create(&sb, 2, &c), -EINVAL);
        assert_int_equal(codec_pack_reply_attach(&sb, 2, &a), -EINVAL);
        assert_int_equal(codec_pack_reply_stat(&sb, 2, &a.meta), -EINVAL);
        assert_int_equal(sb.size, before);
    }
    msgpack_sbuffer_destroy(&sb);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_codec_notification_parses, wire_setup,
                                        wire_teardown),
        cmocka_unit_test_setup_teardown(test_codec_rejects_wrong_types_at_every_envelope_position,
                                        wire_setup, wire_teardown),
        cmocka_unit_test_setup_teardown(test_codec_rejects_malformed_envelopes, wire_setup,
                                        wire_teardown),
        cmocka_unit_test(test_codec_rejects_truncated_frame),
        cmocka_unit_test(test_codec_rejects_oversized_request),
        cmocka_unit_test(test_codec_rejects_non_msgpack_and_deep_or_huge_frames),
        cmocka_unit_test(test_codec_encoders_refuse_bad_structs_whole),
    };
    return testskip_exit(cmocka_run_group_tests(tests, NULL, NULL));
}
