/* test_pack.c — pack.h's direct msgpack writers: the bytes of each form at every width
 * boundary are msgpack-c's own, so any reader of msgpack-c's output reads them alike.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <msgpack.h>

#include "pack.h"
#include "testskip.h"

/* Room for the longest string written here and its header. */
#define TEST_PACK_ROOM (70000 + PACK_HEAD_MAX)

/* What msgpack-c writes for one value: filled by the caller through pk. */
struct expected {
    msgpack_sbuffer sb;
    msgpack_packer pk;
};

static void expected_init(struct expected *e)
{
    msgpack_sbuffer_init(&e->sb);
    msgpack_packer_init(&e->pk, &e->sb, msgpack_sbuffer_write);
}

/* The bytes pack.h wrote into buf up to end equal msgpack-c's in e (which is freed). */
static void assert_same_bytes(struct expected *e, const char *buf, const char *end)
{
    assert_int_equal((size_t)(end - buf), e->sb.size);
    assert_memory_equal(buf, e->sb.data, e->sb.size);
    msgpack_sbuffer_destroy(&e->sb);
}

/* pack_int (is_signed, of (int64_t)bits) or pack_uint (of bits) writes what msgpack-c
 * writes for the same integer. */
static void assert_integer_same(bool is_signed, uint64_t bits)
{
    char buf[PACK_UINT_MAX];
    struct expected e;

    expected_init(&e);
    if (is_signed) {
        msgpack_pack_int64(&e.pk, (int64_t)bits);
        assert_same_bytes(&e, buf, pack_int(buf, (int64_t)bits));
    } else {
        msgpack_pack_uint64(&e.pk, bits);
        assert_same_bytes(&e, buf, pack_uint(buf, bits));
    }
}

static void test_pack_integers_are_msgpack_c_at_every_width(void **state)
{
    static const uint64_t unsigned_values[] = {
        0, 1, 127, 128, 255, 256, 65535, 65536, 4294967295ull, 4294967296ull, UINT64_MAX,
    };
    static const int64_t signed_values[] = {
        0, 5, 1700000000000000000ll, INT64_MAX, -1, -32, -33, -128, -129, -32768, -32769,
        INT32_MIN, (int64_t)INT32_MIN - 1, INT64_MIN,
    };

    (void)state;
    for (size_t i = 0; i < sizeof(unsigned_values) / sizeof(unsigned_values[0]); i++)
        assert_integer_same(false, unsigned_values[i]);
    for (size_t i = 0; i < sizeof(signed_values) / sizeof(signed_values[0]); i++)
        assert_integer_same(true, (uint64_t)signed_values[i]);
}

static void test_pack_str_is_msgpack_c_at_every_header_width(void **state)
{
    static const size_t lengths[] = { 0, 1, 31, 32, 255, 256, 65535, 65536, 70000 };
    char *text = malloc(70000), *buf = malloc(TEST_PACK_ROOM);
    struct expected e;

    (void)state;
    assert_non_null(text);
    assert_non_null(buf);
    memset(text, 'x', 70000);
    for (size_t i = 0; i < sizeof(lengths) / sizeof(lengths[0]); i++) {
        expected_init(&e);
        msgpack_pack_str_with_body(&e.pk, text, lengths[i]);
        assert_same_bytes(&e, buf, pack_str(buf, text, lengths[i]));
    }
    free(text);
    free(buf);
}

static void test_pack_array_map_and_bool_headers_are_msgpack_c(void **state)
{
    static const uint32_t counts[] = { 0, 13, 15, 16, 64, 65535, 65536 };
    char buf[PACK_HEAD_MAX];
    struct expected e;

    (void)state;
    for (size_t i = 0; i < sizeof(counts) / sizeof(counts[0]); i++) {
        expected_init(&e);
        msgpack_pack_array(&e.pk, counts[i]);
        assert_same_bytes(&e, buf, pack_array(buf, counts[i]));
        expected_init(&e);
        msgpack_pack_map(&e.pk, counts[i]);
        assert_same_bytes(&e, buf, pack_map(buf, counts[i]));
    }
    expected_init(&e);
    msgpack_pack_true(&e.pk);
    assert_same_bytes(&e, buf, pack_bool(buf, true));
    expected_init(&e);
    msgpack_pack_false(&e.pk);
    assert_same_bytes(&e, buf, pack_bool(buf, false));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_pack_integers_are_msgpack_c_at_every_width),
        cmocka_unit_test(test_pack_str_is_msgpack_c_at_every_header_width),
        cmocka_unit_test(test_pack_array_map_and_bool_headers_are_msgpack_c),
    };

    return testskip_exit(cmocka_run_group_tests(tests, NULL, NULL));
}
