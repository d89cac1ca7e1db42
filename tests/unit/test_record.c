/* test_record.c — the .meta record (daemon/record.c): it formats to one exact line
 * with a standard CRC-32C, and nothing but a complete, unaltered record verifies:
 * every cut, every flipped bit, extra bytes and non-canonical fields are refused.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <inttypes.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "record.h"
#include "testskip.h"

static const struct record sample = { RECORD_VERSION, 12345, 1001, 100, 0640,
                                      1700000000123456789 };
/* Its CRC-32C computed independently (Castagnoli; check value of "123456789" is
 * e3069283). */
static const char sample_text[] = "sharr-meta 2 ino=12345 uid=1001 gid=100 perm=0640 "
                                  "ctime=1700000000123456789 crc32c=012c4db1\n";

static int parse(const char *text, size_t len, struct record *r)
{
    char err[256] = "";
    int rc = record_parse(text, len, r, err, sizeof(err));
    if (rc < 0)
        assert_true(err[0] != '\0'); /* every refusal says why */
    return rc;
}

static void test_record_formats_one_exact_line_with_its_crc32c(void **state)
{
    char out[RECORD_MAX];
    (void)state;
    size_t len = record_format(&sample, out);
    assert_int_equal(len, strlen(sample_text));
    assert_memory_equal(out, sample_text, len);
}

static void test_record_round_trips_extreme_values(void **state)
{
    const struct record rs[] = {
        { RECORD_VERSION, UINT64_MAX, UINT32_MAX, UINT32_MAX, 0777, INT64_MIN },
        { RECORD_VERSION, 0, 0, 0, 0, 0 },
        { RECORD_VERSION, 1, 65534, 65534, 0600, INT64_MAX },
    };
    (void)state;
    for (size_t i = 0; i < sizeof(rs) / sizeof(rs[0]); i++) {
        char out[RECORD_MAX];
        struct record back;
        size_t len = record_format(&rs[i], out);
        assert_true(len < RECORD_MAX);
        assert_int_equal(parse(out, len, &back), 0);
        assert_int_equal(back.version, rs[i].version);
        assert_true(back.ino == rs[i].ino);
        assert_int_equal(back.uid, rs[i].uid);
        assert_int_equal(back.gid, rs[i].gid);
        assert_int_equal(back.perm, rs[i].perm);
        assert_true(back.ctime_ns == rs[i].ctime_ns);
    }
}

static void test_record_cut_short_anywhere_is_refused(void **state)
{
    struct record r;
    (void)state;
    for (size_t len = 0; len < strlen(sample_text); len++)
        assert_int_equal(parse(sample_text, len, &r), -EINVAL);
    assert_int_equal(parse(sample_text, strlen(sample_text), &r), 0);
    assert_int_equal(r.perm, 0640);
    assert_int_equal(r.ino, 12345);
}

static void test_record_with_any_bit_flipped_is_refused(void **state)
{
    char text[sizeof(sample_text)];
    size_t len = strlen(sample_text);
    struct record r;
    (void)state;
    for (size_t i = 0; i < len; i++) {
        for (int bit = 0; bit < 8; bit++) {
            memcpy(text, sample_text, len);
            text[i] ^= (char)(1 << bit);
            assert_int_equal(parse(text, len, &r), -EINVAL);
        }
    }
}

static void test_record_with_bytes_added_or_fields_rewritten_is_refused(void **state)
{
    const char *bad[] = {
        /* a second line, trailing bytes, zero padding */
        "sharr-meta 2 ino=12345 uid=1001 gid=100 perm=0640 ctime=1700000000123456789 "
        "crc32c=012c4db1\n\n",
        "sharr-meta 2 ino=12345 uid=1001 gid=100 perm=0640 ctime=1700000000123456789 "
        "crc32c=012c4db1 \n",
        /* the same numbers written otherwise */
        "sharr-meta 2 ino=012345 uid=1001 gid=100 perm=0640 ctime=1700000000123456789 "
        "crc32c=012c4db1\n",
        "sharr-meta 2 ino=12345 uid=1001 gid=100 perm=640 ctime=1700000000123456789 "
        "crc32c=012c4db1\n",
        "sharr-meta 2 ino=12345 uid=1001 gid=100 perm=0640 ctime=1700000000123456789 "
        "crc32c=012C4DB1\n",
        "sharr-meta  2 ino=12345 uid=1001 gid=100 perm=0640 ctime=1700000000123456789 "
        "crc32c=012c4db1\n",
        /* another record's checksum */
        "sharr-meta 2 ino=12345 uid=1001 gid=100 perm=0644 ctime=1700000000123456789 "
        "crc32c=012c4db1\n",
        "", "\n", "sharr-meta 3\n",
    };
    struct record r;
    (void)state;
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        assert_int_equal(parse(bad[i], strlen(bad[i]), &r), -EINVAL);
    char nul[sizeof(sample_text)];
    memcpy(nul, sample_text, sizeof(nul));
    nul[20] = '\0';
    assert_int_equal(parse(nul, strlen(sample_text), &r), -EINVAL);
}

/* Records of sharr before they named their data: exactly as it wrote them. */
static void test_record_of_version_1_is_read_only_in_its_exact_form(void **state)
{
    const char v1[] = "sharr-meta 1 1001 100 640 1700000000123456789\n";
    struct record r;
    (void)state;
    assert_int_equal(parse(v1, strlen(v1), &r), 0);
    assert_int_equal(r.version, 1);
    assert_int_equal(r.uid, 1001);
    assert_int_equal(r.gid, 100);
    assert_int_equal(r.perm, 0640);
    assert_true(r.ctime_ns == 1700000000123456789);
    for (size_t len = 0; len < strlen(v1); len++)
        assert_int_equal(parse(v1, len, &r), -EINVAL);
    const char *bad[] = {
        "sharr-meta 1 1001 100 0640 1700000000123456789\n",
        "sharr-meta 1 1001 100 640 1700000000123456789 \n",
        "sharr-meta 1 1001 100 7777 1700000000123456789\n", /* bits beyond 0777 */
        "sharr-meta 1 1001 100 640\n",
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        assert_int_equal(parse(bad[i], strlen(bad[i]), &r), -EINVAL);
}

static void test_record_with_bits_beyond_0777_is_refused(void **state)
{
    struct record big = sample, r;
    char out[RECORD_MAX];
    (void)state;
    big.perm = 04755;
    assert_int_equal(parse(out, record_format(&big, out), &r), -EINVAL);
}

/* CRC-32C one bit at a time, straight from the polynomial: the reference. */
static uint32_t crc32c_by_bits(const unsigned char *p, size_t len)
{
    uint32_t crc = 0xffffffffu;

    for (size_t i = 0; i < len; i++) {
        crc ^= p[i];
        for (int b = 0; b < 8; b++)
            crc = (crc >> 1) ^ (0x82f63b78u & (0u - (crc & 1u)));
    }
    return ~crc;
}

/* Every length from empty to past the longest record, at every alignment of an
 * eight-byte step, gives the polynomial's CRC; and the standard check value. */
static void test_record_crc32c_is_the_castagnoli_crc_at_every_length(void **state)
{
    unsigned char buf[RECORD_MAX + 16];
    uint32_t seed = 12345;

    (void)state;
    assert_int_equal(record_crc32c("123456789", 9), 0xe3069283u);
    for (size_t i = 0; i < sizeof(buf); i++) {
        seed = seed * 1103515245u + 12345u;
        buf[i] = (unsigned char)(seed >> 16);
    }
    for (size_t off = 0; off < 8; off++)
        for (size_t len = 0; off + len <= sizeof(buf); len++)
            assert_int_equal(record_crc32c((const char *)buf + off, len),
                             crc32c_by_bits(buf + off, len));
}

/* The line is printf's "%llu %u %u %04o %lld" at the extremes of every field, with
 * its checksum, and reads back. */
static void test_record_format_writes_numbers_as_printf_at_their_extremes(void **state)
{
    const struct record cases[] = {
        { RECORD_VERSION, 0, 0, 0, 0, 0 },
        { RECORD_VERSION, UINT64_MAX, UINT32_MAX, UINT32_MAX, 0777, INT64_MAX },
        { RECORD_VERSION, 1, 7, 10, 01, INT64_MIN },
        { RECORD_VERSION, 4096, 1000, 1000, 0640, -1 },
        { RECORD_VERSION, 9, 99, 100, 0100, 1700000000123456789 },
    };
    char out[RECORD_MAX], want[RECORD_MAX], err[128];

    (void)state;
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        const struct record *c = &cases[i];
        struct record back;
        int n = snprintf(want, sizeof(want),
                         "sharr-meta 2 ino=%" PRIu64 " uid=%" PRIu32 " gid=%" PRIu32
                         " perm=%04" PRIo32 " ctime=%" PRId64 " crc32c=",
                         c->ino, c->uid, c->gid, c->perm, c->ctime_ns);

        snprintf(want + n, sizeof(want) - (size_t)n, "%08" PRIx32 "\n",
                 record_crc32c(want, (size_t)n));
        assert_int_equal(record_format(c, out), strlen(want));
        assert_string_equal(out, want);
        assert_int_equal(record_parse(out, strlen(out), &back, err, sizeof(err)), 0);
        assert_true(back.ino == c->ino && back.uid == c->uid && back.gid == c->gid &&
                    back.perm == c->perm && back.ctime_ns == c->ctime_ns);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_record_formats_one_exact_line_with_its_crc32c),
        cmocka_unit_test(test_record_crc32c_is_the_castagnoli_crc_at_every_length),
        cmocka_unit_test(test_record_format_writes_numbers_as_printf_at_their_extremes),
        cmocka_unit_test(test_record_round_trips_extreme_values),
        cmocka_unit_test(test_record_cut_short_anywhere_is_refused),
        cmocka_unit_test(test_record_with_any_bit_flipped_is_refused),
        cmocka_unit_test(test_record_with_bytes_added_or_fields_rewritten_is_refused),
        cmocka_unit_test(test_record_of_version_1_is_read_only_in_its_exact_form),
        cmocka_unit_test(test_record_with_bits_beyond_0777_is_refused),
    };
    return testskip_exit(cmocka_run_group_tests(tests, NULL, NULL));
}
