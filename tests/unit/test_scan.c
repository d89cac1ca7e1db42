/* test_scan.c — the allocation-free msgpack check that runs before the unpacker.
 *
 * Every buffer handed to scan_object is a heap copy of exactly its length, so
 * AddressSanitizer catches any read past the bytes the scanner was given.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <msgpack.h>

#include "proto_limits.h"
#include "scan.h"
#include "testskip.h"

/* scan_object over an exact-size heap copy of bytes. */
static int scan_copy(const void *bytes, size_t len, size_t max_len, unsigned depth,
                     size_t *ret_len)
{
    uint8_t *copy = malloc(len > 0 ? len : 1);
    int r;

    assert_non_null(copy);
    if (len > 0)
        memcpy(copy, bytes, len);
    r = scan_object(copy, len, max_len, depth, ret_len);
    free(copy);
    return r;
}

static void test_scan_finds_end_of_each_type(void **state)
{
    msgpack_sbuffer sb;
    msgpack_packer pk;
    size_t ends[32], n = 0, off = 0, len;

    (void)state;
    msgpack_sbuffer_init(&sb);
    msgpack_packer_init(&pk, &sb, msgpack_sbuffer_write);
#define MARK() (ends[n++] = sb.size)
    msgpack_pack_nil(&pk); MARK();
    msgpack_pack_true(&pk); MARK();
    msgpack_pack_uint8(&pk, 200); MARK();
    msgpack_pack_uint16(&pk, 60000); MARK();
    msgpack_pack_uint32(&pk, 4000000000u); MARK();
    msgpack_pack_uint64(&pk, UINT64_MAX); MARK();
    msgpack_pack_int8(&pk, -100); MARK();
    msgpack_pack_int64(&pk, INT64_MIN); MARK();
    msgpack_pack_float(&pk, 1.5f); MARK();
    msgpack_pack_double(&pk, 2.5); MARK();
    msgpack_pack_str_with_body(&pk, "abc", 3); MARK();
    {
        char big[70000];
        memset(big, 'x', sizeof(big));
        msgpack_pack_str_with_body(&pk, big, 40); MARK();      /* str8 */
        msgpack_pack_str_with_body(&pk, big, 300); MARK();     /* str16 */
        msgpack_pack_str_with_body(&pk, big, 70000); MARK();   /* str32 */
        msgpack_pack_bin_with_body(&pk, big, 5); MARK();
        msgpack_pack_bin_with_body(&pk, big, 300); MARK();
        msgpack_pack_bin_with_body(&pk, big, 70000); MARK();
        msgpack_pack_ext_with_body(&pk, big, 1, 7); MARK();    /* fixext1 */
        msgpack_pack_ext_with_body(&pk, big, 16, 7); MARK();   /* fixext16 */
        msgpack_pack_ext_with_body(&pk, big, 3, 7); MARK();    /* ext8 */
        msgpack_pack_ext_with_body(&pk, big, 300, 7); MARK();  /* ext16 */
        msgpack_pack_ext_with_body(&pk, big, 70000, 7); MARK(); /* ext32 */
    }
    msgpack_pack_array(&pk, 0); MARK();
    msgpack_pack_map(&pk, 0); MARK();
    msgpack_pack_array(&pk, 20);
    for (int i = 0; i < 20; i++)
        msgpack_pack_int(&pk, i);
    MARK();
    msgpack_pack_map(&pk, 1);
    msgpack_pack_str_with_body(&pk, "k", 1);
    msgpack_pack_array(&pk, 2);
    msgpack_pack_nil(&pk);
    msgpack_pack_map(&pk, 0);
    MARK();
#undef MARK
    for (size_t i = 0; i < n; i++) {
        int r = scan_copy(sb.data + off, sb.size - off, 1 << 20, PROTO_DEPTH_MAX, &len);
        assert_int_equal(r, 1);
        assert_int_equal(len, ends[i] - off);
        off = ends[i];
    }
    msgpack_sbuffer_destroy(&sb);
}

/* Every prefix of sb's bytes needs more; all of them are one object, which fits in room
 * and nests no deeper than depth. */
static void expect_one_whole_object(const msgpack_sbuffer *sb, size_t room, unsigned depth)
{
    size_t len;

    for (size_t cut = 0; cut < sb->size; cut++)
        assert_int_equal(scan_copy(sb->data, cut, room, depth, &len), 0);
    assert_int_equal(scan_copy(sb->data, sb->size, room, depth, &len), 1);
    assert_int_equal(len, sb->size);
}

static void test_scan_every_prefix_needs_more(void **state)
{
    msgpack_sbuffer sb;
    msgpack_packer pk;

    (void)state;
    msgpack_sbuffer_init(&sb);
    msgpack_packer_init(&pk, &sb, msgpack_sbuffer_write);
    msgpack_pack_array(&pk, 4);
    msgpack_pack_uint32(&pk, 0);
    msgpack_pack_uint32(&pk, 70000);
    msgpack_pack_str_with_body(&pk, "create", 6);
    msgpack_pack_array(&pk, 1);
    msgpack_pack_map(&pk, 2);
    msgpack_pack_str_with_body(&pk, "shape", 5);
    msgpack_pack_array(&pk, 2);
    msgpack_pack_uint64(&pk, 1ull << 40);
    msgpack_pack_double(&pk, 3.0);
    msgpack_pack_str_with_body(&pk, "bin", 3);
    msgpack_pack_bin_with_body(&pk, "\0\1\2", 3);
    expect_one_whole_object(&sb, PROTO_REQUEST_MAX, PROTO_DEPTH_MAX);
    msgpack_sbuffer_destroy(&sb);
}

/* A list page's shape: an array of rows of short values (fixints, nil, booleans,
 * short strings), which the scan reads without classifying one by one; rows close
 * and the page goes on. Every prefix needs more; one byte less room than the whole
 * is too big as soon as the owed elements say so. */
static void test_scan_rows_of_short_values_end_exactly(void **state)
{
    msgpack_sbuffer sb;
    msgpack_packer pk;
    size_t len;

    (void)state;
    msgpack_sbuffer_init(&sb);
    msgpack_packer_init(&pk, &sb, msgpack_sbuffer_write);
    msgpack_pack_array(&pk, 3);
    for (int row = 0; row < 3; row++) {
        msgpack_pack_array(&pk, 6);
        msgpack_pack_str_with_body(&pk, "a00012", 6);
        msgpack_pack_uint32(&pk, (uint32_t)row);
        msgpack_pack_nil(&pk);
        msgpack_pack_true(&pk);
        msgpack_pack_array(&pk, 1); /* a row with a nested short array */
        msgpack_pack_int32(&pk, -3);
        msgpack_pack_str_with_body(&pk, "", 0);
    }
    expect_one_whole_object(&sb, sb.size, 8);
    assert_int_equal(scan_copy(sb.data, sb.size, sb.size - 1, 8, &len), -E2BIG);
    /* Two objects back to back: the first ends where it ends. */
    msgpack_pack_uint32(&pk, 7);
    assert_int_equal(scan_copy(sb.data, sb.size, sb.size, 8, &len), 1);
    assert_int_equal(len, sb.size - 1);
    msgpack_sbuffer_destroy(&sb);
}

static void test_scan_rejects_0xc1_anywhere(void **state)
{
    const uint8_t top[] = { 0xc1 };
    const uint8_t nested[] = { 0x92, 0x01, 0xc1 };
    const uint8_t in_map_key[] = { 0x81, 0xc1, 0x01 };
    size_t len;

    (void)state;
    assert_int_equal(scan_copy(top, sizeof(top), 100, 8, &len), -EBADMSG);
    assert_int_equal(scan_copy(nested, sizeof(nested), 100, 8, &len), -EBADMSG);
    assert_int_equal(scan_copy(in_map_key, sizeof(in_map_key), 100, 8, &len), -EBADMSG);
}

/* 5 bytes claiming 2^32-1 elements or bytes are refused at once, without waiting
 * for (or allocating for) data that could never fit. */
static void test_scan_rejects_huge_headers_from_header_alone(void **state)
{
    const uint8_t heads[][6] = {
        { 0xdd, 0xff, 0xff, 0xff, 0xff }, /* array32 */
        { 0xdf, 0xff, 0xff, 0xff, 0xff }, /* map32 */
        { 0xdb, 0xff, 0xff, 0xff, 0xff }, /* str32 */
        { 0xc6, 0xff, 0xff, 0xff, 0xff }, /* bin32 */
        { 0xc9, 0xff, 0xff, 0xff, 0xff, 0x01 }, /* ext32 */
    };
    const size_t sizes[] = { 5, 5, 5, 5, 6 };
    const uint8_t arr16[] = { 0xdc, 0xff, 0xff };
    const uint8_t map16_half[] = { 0xde, 0x01, 0xf5 }; /* 501 pairs = 1002 elements */
    size_t len;

    (void)state;
    for (size_t i = 0; i < 5; i++)
        assert_int_equal(scan_copy(heads[i], sizes[i], PROTO_REQUEST_MAX, PROTO_DEPTH_MAX, &len),
                         -E2BIG);
    assert_int_equal(scan_copy(arr16, sizeof(arr16), 1000, 8, &len), -E2BIG);
    assert_int_equal(scan_copy(map16_half, sizeof(map16_half), 1000, 8, &len), -E2BIG);
}

static void test_scan_object_of_exactly_max_len_fits(void **state)
{
    uint8_t s[1 + 1 + 98];
    size_t len = 0;

    (void)state;
    s[0] = 0xd9; /* str8 of 98 bytes: 100 bytes in all */
    s[1] = 98;
    memset(s + 2, 'a', 98);
    assert_int_equal(scan_copy(s, sizeof(s), 100, 8, &len), 1);
    assert_int_equal(len, 100);
    assert_int_equal(scan_copy(s, sizeof(s), 99, 8, &len), -E2BIG);
    /* The header alone already says it cannot fit. */
    assert_int_equal(scan_copy(s, 2, 99, 8, &len), -E2BIG);
}

/* Elements still owed by enclosing containers count against the limit too. */
static void test_scan_counts_elements_owed_by_parents(void **state)
{
    /* [str8(96), x]: 1 + 2 + 96 + >= 1 = 100 bytes at least. */
    uint8_t s[2 + 1];
    size_t len;

    (void)state;
    s[0] = 0x92;
    s[1] = 0xd9;
    s[2] = 96;
    assert_int_equal(scan_copy(s, sizeof(s), 99, 8, &len), -E2BIG);
    assert_int_equal(scan_copy(s, sizeof(s), 100, 8, &len), 0);
}

static void test_scan_bytes_beyond_max_len_are_too_big(void **state)
{
    uint8_t arr[200];
    size_t len;

    (void)state;
    /* array16 of 150 nils: 153 bytes, limit 100: the count alone is too big. */
    arr[0] = 0xdc;
    arr[1] = 0;
    arr[2] = 150;
    memset(arr + 3, 0xc0, 150);
    assert_int_equal(scan_copy(arr, 153, 100, 8, &len), -E2BIG);
    /* nested fixarrays whose counts each look small but add up past the limit */
    memset(arr, 0x9f, sizeof(arr));
    assert_int_equal(scan_copy(arr, 40, 30, 32, &len), -E2BIG);
}

static void test_scan_depth_limit_is_exact(void **state)
{
    uint8_t nest[40];
    size_t len;

    (void)state;
    memset(nest, 0x91, sizeof(nest));
    nest[PROTO_DEPTH_MAX] = 0xc0; /* 8 arrays around a nil */
    assert_int_equal(scan_copy(nest, PROTO_DEPTH_MAX + 1, 100, PROTO_DEPTH_MAX, &len), 1);
    assert_int_equal(len, PROTO_DEPTH_MAX + 1);
    memset(nest, 0x91, sizeof(nest));
    nest[PROTO_DEPTH_MAX + 1] = 0xc0; /* 9 */
    assert_int_equal(scan_copy(nest, PROTO_DEPTH_MAX + 2, 100, PROTO_DEPTH_MAX, &len), -ELOOP);
    /* maps nest too, and the error comes as soon as the ninth header arrives */
    memset(nest, 0x81, sizeof(nest));
    for (int i = 0; i < 9; i++) {
        nest[2 * i] = 0x81;
        nest[2 * i + 1] = 0x00; /* key 0, value: the next map */
    }
    assert_int_equal(scan_copy(nest, 17, 100, PROTO_DEPTH_MAX, &len), -ELOOP);
    /* empty containers do not open a level */
    memset(nest, 0x91, sizeof(nest));
    nest[PROTO_DEPTH_MAX] = 0x90;
    assert_int_equal(scan_copy(nest, PROTO_DEPTH_MAX + 1, 100, PROTO_DEPTH_MAX, &len), 1);
    assert_int_equal(scan_object(nest, 1, 100, 33, &len), -EINVAL);
}

/* A deterministic random object tree; the scanner must agree with the packer. */
static uint64_t rng_next(uint64_t *s)
{
    *s ^= *s << 13;
    *s ^= *s >> 7;
    *s ^= *s << 17;
    return *s;
}

static void pack_random(msgpack_packer *pk, uint64_t *rng, int depth)
{
    char body[300];
    unsigned kind = (unsigned)(rng_next(rng) % (depth < 6 ? 10 : 8));
    uint64_t v = rng_next(rng);
    size_t n;

    memset(body, 'z', sizeof(body));
    switch (kind) {
    case 0: msgpack_pack_nil(pk); break;
    case 1: msgpack_pack_uint64(pk, v >> (v % 64)); break;
    case 2: msgpack_pack_int64(pk, -(int64_t)(v >> (1 + v % 63))); break;
    case 3: msgpack_pack_double(pk, (double)v); break;
    case 4: msgpack_pack_str_with_body(pk, body, v % 300); break;
    case 5: msgpack_pack_bin_with_body(pk, body, v % 300); break;
    case 6: msgpack_pack_ext_with_body(pk, body, v % 20, 1); break;
    case 7: msgpack_pack_false(pk); break;
    case 8:
        n = v % 20;
        msgpack_pack_array(pk, n);
        for (size_t i = 0; i < n; i++)
            pack_random(pk, rng, depth + 1);
        break;
    default:
        n = v % 10;
        msgpack_pack_map(pk, n);
        for (size_t i = 0; i < 2 * n; i++)
            pack_random(pk, rng, depth + 1);
        break;
    }
}

static void test_scan_agrees_with_msgpack_on_random_objects(void **state)
{
    uint64_t rng = 0x9e3779b97f4a7c15ull;

    (void)state;
    for (int round = 0; round < 500; round++) {
        msgpack_sbuffer sb;
        msgpack_packer pk;
        size_t len = 0;

        msgpack_sbuffer_init(&sb);
        msgpack_packer_init(&pk, &sb, msgpack_sbuffer_write);
        pack_random(&pk, &rng, 0);
        assert_int_equal(scan_copy(sb.data, sb.size, sb.size, 32, &len), 1);
        assert_int_equal(len, sb.size);
        if (sb.size > 1)
            assert_int_equal(scan_copy(sb.data, sb.size - 1, sb.size, 32, &len), 0);
        msgpack_sbuffer_destroy(&sb);
    }
}

static void test_scan_survives_random_bytes(void **state)
{
    uint64_t rng = 12345;
    uint8_t buf[64];

    (void)state;
    for (int round = 0; round < 20000; round++) {
        size_t len = 0, n = 1 + rng_next(&rng) % sizeof(buf);
        int r;
        for (size_t i = 0; i < n; i++)
            buf[i] = (uint8_t)rng_next(&rng);
        r = scan_copy(buf, n, 48, PROTO_DEPTH_MAX, &len);
        assert_true(r == 1 || r == 0 || r == -E2BIG || r == -ELOOP || r == -EBADMSG);
        if (r == 1)
            assert_true(len >= 1 && len <= n && len <= 48);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_scan_finds_end_of_each_type),
        cmocka_unit_test(test_scan_every_prefix_needs_more),
        cmocka_unit_test(test_scan_rows_of_short_values_end_exactly),
        cmocka_unit_test(test_scan_rejects_0xc1_anywhere),
        cmocka_unit_test(test_scan_rejects_huge_headers_from_header_alone),
        cmocka_unit_test(test_scan_object_of_exactly_max_len_fits),
        cmocka_unit_test(test_scan_counts_elements_owed_by_parents),
        cmocka_unit_test(test_scan_bytes_beyond_max_len_are_too_big),
        cmocka_unit_test(test_scan_depth_limit_is_exact),
        cmocka_unit_test(test_scan_agrees_with_msgpack_on_random_objects),
        cmocka_unit_test(test_scan_survives_random_bytes),
    };
    return testskip_exit(cmocka_run_group_tests(tests, NULL, NULL));
}
