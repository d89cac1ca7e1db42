/* test_openframe.c — the open request read from its bytes (openframe.h): it reads what
 * libsharr packs, declines half-sent frames and every form or value it leaves to the
 * general path, and never accepts what that path (decoder, codec_parse_msg,
 * codec_parse_open) would read otherwise: checked on mutations of valid frames.
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
#include "openframe.h"
#include "proto_limits.h"
#include "testskip.h"

/* The general path on buf: 1 and the request when it is a valid open, 0 when it is
 * something else or incomplete, negative when the stream or the request is bad. */
static int general_open(const uint8_t *buf, size_t len, uint32_t *msgid, struct codec_open *o,
                        size_t *used)
{
    struct decoder *d = decoder_new(PROTO_REQUEST_MAX, PROTO_DEPTH_MAX);
    struct codec_msg msg;
    msgpack_object obj;
    char err[256];
    int r;

    assert_non_null(d);
    assert_int_equal(decoder_feed(d, buf, len), 0);
    r = decoder_next(d, &obj);
    if (r > 0) {
        *used = len - decoder_pending(d);
        r = codec_parse_msg(&obj, &msg, NULL, err, sizeof(err));
        if (r == 0 && (msg.type != CODEC_REQUEST || strcmp(msg.method, "open") != 0))
            r = 0;
        else if (r == 0)
            r = codec_parse_open(msg.params, o, err, sizeof(err)) < 0 ? -EINVAL : 1;
        *msgid = msg.msgid;
    }
    decoder_free(d);
    return r;
}

/* openframe on buf must decline, or agree with the general path in every field. */
static bool check_agrees(const uint8_t *buf, size_t len)
{
    struct codec_open fast, slow;
    uint32_t fast_id, slow_id = 0;
    size_t fast_len, slow_len = 0;

    if (!openframe_parse(buf, len, PROTO_REQUEST_MAX, &fast_id, &fast, &fast_len))
        return false;
    assert_int_equal(general_open(buf, len, &slow_id, &slow, &slow_len), 1);
    assert_int_equal(fast_id, slow_id);
    assert_int_equal(fast_len, slow_len);
    assert_string_equal(fast.name, slow.name);
    assert_int_equal(fast.mode, slow.mode);
    assert_int_equal(fast.wait_ms, slow.wait_ms);
    assert_int_equal(fast.has_owner, slow.has_owner);
    assert_int_equal(fast.owner, slow.owner);
    assert_int_equal(fast.published, slow.published);
    return true;
}

static void pack(msgpack_sbuffer *sb, uint32_t msgid, const struct codec_open *o)
{
    msgpack_sbuffer_clear(sb);
    assert_int_equal(codec_pack_open(sb, msgid, o), 0);
}

static void test_openframe_reads_what_libsharr_packs(void **state)
{
    const int64_t waits[] = { 0, -1, 1, 127, 128, 65536, INT64_MAX };
    const uint32_t ids[] = { 0, 1, 127, 128, 255, 256, 65536, UINT32_MAX };
    struct codec_open o = { .name = "a" };
    msgpack_sbuffer sb;

    (void)state;
    msgpack_sbuffer_init(&sb);
    for (int mode = META_MODE_R; mode <= META_MODE_C; mode++) {
        for (size_t w = 0; w < sizeof(waits) / sizeof(waits[0]); w++) {
            for (size_t i = 0; i < sizeof(ids) / sizeof(ids[0]); i++) {
                o.mode = (enum meta_mode)mode;
                o.wait_ms = waits[w];
                o.has_owner = i % 2;
                o.owner = i % 3 ? UINT32_MAX - 1 : ids[i] % 1000;
                o.published = i % 4 == 1;
                memset(o.name, 'n', PROTO_NAME_MAX);
                o.name[i % 2 ? PROTO_NAME_MAX : 1 + i] = '\0';
                pack(&sb, ids[i], &o);
                assert_true(check_agrees((const uint8_t *)sb.data, sb.size));
            }
        }
    }
    msgpack_sbuffer_destroy(&sb);
}

static void test_openframe_declines_a_half_sent_frame(void **state)
{
    struct codec_open o = { .name = "bench.ops", .mode = META_MODE_RPLUS, .has_owner = true };
    struct codec_open got;
    msgpack_sbuffer sb;
    uint32_t id;
    size_t n;

    (void)state;
    msgpack_sbuffer_init(&sb);
    pack(&sb, 7, &o);
    for (size_t cut = 0; cut < sb.size; cut++)
        assert_int_equal(openframe_parse((const uint8_t *)sb.data, cut, PROTO_REQUEST_MAX, &id,
                                         &got, &n), 0);
    /* a frame longer than the limit is the general path's (-E2BIG) */
    assert_int_equal(openframe_parse((const uint8_t *)sb.data, sb.size, sb.size - 1, &id, &got,
                                     &n), 0);
    assert_int_equal(openframe_parse((const uint8_t *)sb.data, sb.size, sb.size, &id, &got, &n),
                     1);
    assert_int_equal(n, sb.size);
    msgpack_sbuffer_destroy(&sb);
}

/* Frames the general path refuses, or reads as another request: declined, each. */
static void test_openframe_declines_what_the_general_path_refuses(void **state)
{
#define F(...) { (const uint8_t[]){ __VA_ARGS__ }, sizeof((const uint8_t[]){ __VA_ARGS__ }) }
    const struct { const uint8_t *b; size_t n; } bad[] = {
        /* name ".x": not a valid name */
        F(0x94, 0x00, 0x01, 0xa4, 'o', 'p', 'e', 'n', 0x91, 0x81, 0xa4, 'n', 'a', 'm', 'e',
          0xa2, '.', 'x'),
        /* no name */
        F(0x94, 0x00, 0x01, 0xa4, 'o', 'p', 'e', 'n', 0x91, 0x80),
        /* name twice */
        F(0x94, 0x00, 0x01, 0xa4, 'o', 'p', 'e', 'n', 0x91, 0x82, 0xa4, 'n', 'a', 'm', 'e',
          0xa1, 'x', 0xa4, 'n', 'a', 'm', 'e', 0xa1, 'y'),
        /* mode "w" */
        F(0x94, 0x00, 0x01, 0xa4, 'o', 'p', 'e', 'n', 0x91, 0x82, 0xa4, 'n', 'a', 'm', 'e',
          0xa1, 'x', 0xa4, 'm', 'o', 'd', 'e', 0xa1, 'w'),
        /* wait_ms -2 */
        F(0x94, 0x00, 0x01, 0xa4, 'o', 'p', 'e', 'n', 0x91, 0x82, 0xa4, 'n', 'a', 'm', 'e',
          0xa1, 'x', 0xa7, 'w', 'a', 'i', 't', '_', 'm', 's', 0xfe),
        /* owner 4294967295 */
        F(0x94, 0x00, 0x01, 0xa4, 'o', 'p', 'e', 'n', 0x91, 0x82, 0xa4, 'n', 'a', 'm', 'e',
          0xa1, 'x', 0xa5, 'o', 'w', 'n', 'e', 'r', 0xce, 0xff, 0xff, 0xff, 0xff),
        /* published 1, not a boolean */
        F(0x94, 0x00, 0x01, 0xa4, 'o', 'p', 'e', 'n', 0x91, 0x82, 0xa4, 'n', 'a', 'm', 'e',
          0xa1, 'x', 0xa9, 'p', 'u', 'b', 'l', 'i', 's', 'h', 'e', 'd', 0x01),
        /* a response, not a request */
        F(0x94, 0x01, 0x01, 0xa4, 'o', 'p', 'e', 'n', 0x91, 0x81, 0xa4, 'n', 'a', 'm', 'e',
          0xa1, 'x'),
        /* msgid negative */
        F(0x94, 0x00, 0xff, 0xa4, 'o', 'p', 'e', 'n', 0x91, 0x81, 0xa4, 'n', 'a', 'm', 'e',
          0xa1, 'x'),
        /* a name with a NUL */
        F(0x94, 0x00, 0x01, 0xa4, 'o', 'p', 'e', 'n', 0x91, 0x81, 0xa4, 'n', 'a', 'm', 'e',
          0xa2, 'x', 0x00),
    };
#undef F
    struct codec_open o;
    uint32_t id;
    size_t n;

    (void)state;
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        assert_int_equal(openframe_parse(bad[i].b, bad[i].n, PROTO_REQUEST_MAX, &id, &o, &n), 0);
        assert_true(general_open(bad[i].b, bad[i].n, &id, &o, &n) <= 0);
    }
}

/* xorshift64: the same mutations every run. */
static uint64_t next_rand(uint64_t *s)
{
    *s ^= *s << 13;
    *s ^= *s >> 7;
    *s ^= *s << 17;
    return *s;
}

static void test_openframe_agrees_with_the_general_path_on_mutations(void **state)
{
    struct codec_open o = { .name = "bench.ops", .mode = META_MODE_R, .wait_ms = 300,
                            .has_owner = true, .owner = 1000, .published = true };
    uint8_t buf[512];
    uint64_t seed = 0x9e3779b97f4a7c15u;
    unsigned accepted = 0;
    msgpack_sbuffer sb;

    (void)state;
    msgpack_sbuffer_init(&sb);
    pack(&sb, 300, &o);
    assert_true(sb.size < sizeof(buf) / 2);
    for (unsigned round = 0; round < 300000; round++) {
        size_t len = sb.size;
        unsigned edits = 1 + next_rand(&seed) % 3;

        memcpy(buf, sb.data, len);
        for (unsigned e = 0; e < edits; e++) {
            uint64_t r = next_rand(&seed);
            size_t at = (size_t)(r >> 8) % len;

            switch (r % 4) {
            case 0: /* a byte replaced */
                buf[at] = (uint8_t)(r >> 32);
                break;
            case 1: /* a bit flipped */
                buf[at] ^= (uint8_t)(1u << ((r >> 32) % 8));
                break;
            case 2: /* a byte inserted */
                if (len + 1 < sizeof(buf)) {
                    memmove(buf + at + 1, buf + at, len - at);
                    buf[at] = (uint8_t)(r >> 32);
                    len++;
                }
                break;
            default: /* a byte removed */
                if (len > 1) {
                    memmove(buf + at, buf + at + 1, len - at - 1);
                    len--;
                }
                break;
            }
        }
        accepted += check_agrees(buf, len);
    }
    /* the mutations that keep a valid open (a name's letters, the ids) were read */
    assert_true(accepted > 1000);
    msgpack_sbuffer_destroy(&sb);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_openframe_reads_what_libsharr_packs),
        cmocka_unit_test(test_openframe_declines_a_half_sent_frame),
        cmocka_unit_test(test_openframe_declines_what_the_general_path_refuses),
        cmocka_unit_test(test_openframe_agrees_with_the_general_path_on_mutations),
    };
    return testskip_exit(cmocka_run_group_tests(tests, NULL, NULL));
}
