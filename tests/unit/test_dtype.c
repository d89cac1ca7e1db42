/* test_dtype.c — dtype strings and names to canonical typestrs and item sizes.
 *
 * The canonical forms are the ones numpy itself writes in .npy headers
 * (numpy.dtype(x).str), so a header sharr writes reads back as the same dtype.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "dtype.h"
#include "meta.h"
#include "testskip.h"

struct dtype_case {
    const char *in;
    const char *str;
    uint64_t itemsize;
};

static void expect_cases(const struct dtype_case *cases, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        struct dtype d;
        int r = dtype_parse(cases[i].in, &d);
        if (r != 0)
            fail_msg("dtype_parse(\"%s\") = %d, want 0", cases[i].in, r);
        if (strcmp(d.str, cases[i].str) != 0 || d.itemsize != cases[i].itemsize)
            fail_msg("dtype_parse(\"%s\") = %s/%llu, want %s/%llu", cases[i].in, d.str,
                     (unsigned long long)d.itemsize, cases[i].str,
                     (unsigned long long)cases[i].itemsize);
    }
}

/* As expect_cases, for cases whose byte order is the host's: numpy writes it '<' on a
 * little-endian host; elsewhere the test is skipped, with the reason. */
static void expect_native_cases(const struct dtype_case *cases, size_t n)
{
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
    expect_cases(cases, n);
#else
    (void)cases, (void)n;
    testskip("native byte order here is not little-endian");
#endif
}

static void test_dtype_typestrs_are_canonical(void **state)
{
    static const struct dtype_case cases[] = {
        { "<f4", "<f4", 4 },   { ">f8", ">f8", 8 },    { "<f2", "<f2", 2 },
        { "<f16", "<f16", 16 }, { "<i1", "|i1", 1 },   { ">u1", "|u1", 1 },
        { "|u1", "|u1", 1 },   { "|b1", "|b1", 1 },    { "<b1", "|b1", 1 },
        { "<i2", "<i2", 2 },   { "<i4", "<i4", 4 },    { "<i8", "<i8", 8 },
        { ">u2", ">u2", 2 },   { "<u4", "<u4", 4 },    { "<u8", "<u8", 8 },
        { "<c8", "<c8", 8 },   { "<c16", "<c16", 16 }, { ">c32", ">c32", 32 },
        { "|S10", "|S10", 10 }, { "<S3", "|S3", 3 },   { "|V8", "|V8", 8 },
        { "<U10", "<U10", 40 }, { ">U1", ">U1", 4 },
        { "<M8[ns]", "<M8[ns]", 8 }, { "<m8[s]", "<m8[s]", 8 }, { "<M8", "<M8", 8 },
        { ">M8[D]", ">M8[D]", 8 },   { "<M8[us]", "<M8[us]", 8 },
    };

    (void)state;
    expect_cases(cases, sizeof(cases) / sizeof(cases[0]));
}

static void test_dtype_native_order_becomes_little_endian(void **state)
{
    static const struct dtype_case cases[] = {
        { "=f4", "<f4", 4 }, { "|f8", "<f8", 8 }, { "=i1", "|i1", 1 }, { "=U2", "<U2", 8 },
        { "f4", "<f4", 4 },  { "i8", "<i8", 8 },  { "u1", "|u1", 1 },  { "b1", "|b1", 1 },
        { "c8", "<c8", 8 },  { "c16", "<c16", 16 }, { "f2", "<f2", 2 }, { "S5", "|S5", 5 },
    };

    (void)state;
    expect_native_cases(cases, sizeof(cases) / sizeof(cases[0]));
}

static void test_dtype_numpy_names_map_to_typestrs(void **state)
{
    static const struct dtype_case cases[] = {
        { "bool", "|b1", 1 },        { "int8", "|i1", 1 },       { "int16", "<i2", 2 },
        { "int32", "<i4", 4 },       { "int64", "<i8", 8 },      { "uint8", "|u1", 1 },
        { "uint16", "<u2", 2 },      { "uint32", "<u4", 4 },     { "uint64", "<u8", 8 },
        { "float16", "<f2", 2 },     { "float32", "<f4", 4 },    { "float64", "<f8", 8 },
        { "complex64", "<c8", 8 },   { "complex128", "<c16", 16 },
        { "float", "<f8", 8 },       { "int", "<i8", 8 },        { "double", "<f8", 8 },
        { "single", "<f4", 4 },
    };

    (void)state;
    expect_native_cases(cases, sizeof(cases) / sizeof(cases[0]));
}

static void test_dtype_rejects_what_numpy_lacks_or_sharr_cannot_map(void **state)
{
    static const char *const bad[] = {
        "", "<", "<f", "<f3", "<f1", "<i3", "<i16", "<u0", "<b2", "<c4", "<c64",
        "|S0", "<U0", "|V0", "|S", "|O", "|O8", "<x4", "<f4 ", " <f4", "<f04", "<f+4",
        "<f4x", "float33", "Float32", "INT8", "<M4", "<M8[", "<M8[xs]", "<M8[ns",
        "<M8[ns]x", "<M8[10ns]", "<i8[ns]", "<U1073741824", "|S2147483648",
        "|S99999999999999999999", "<<f4", "object", "str",
    };

    (void)state;
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        struct dtype d;
        memset(&d, 0x5a, sizeof(d));
        if (dtype_parse(bad[i], &d) != -EINVAL)
            fail_msg("dtype_parse(\"%s\") accepted", bad[i]);
        /* out is untouched on failure */
        assert_int_equal((unsigned char)d.str[0], 0x5a);
    }
    assert_int_equal(dtype_parse(NULL, NULL), -EINVAL);
}

static void test_dtype_rejects_input_longer_than_limit(void **state)
{
    char in[PROTO_DTYPE_MAX + 2];
    struct dtype d;

    (void)state;
    memset(in, '0', sizeof(in));
    in[0] = '|';
    in[1] = 'S';
    in[2] = '1';
    in[sizeof(in) - 1] = '\0';
    assert_int_equal(strlen(in), PROTO_DTYPE_MAX + 1);
    assert_int_equal(dtype_parse(in, &d), -EINVAL);
}

static void test_dtype_largest_string_items_fit(void **state)
{
    struct dtype d;

    (void)state;
    assert_int_equal(dtype_parse("|S2147483647", &d), 0);
    assert_int_equal(d.itemsize, 2147483647ull);
    assert_int_equal(dtype_parse("<U536870911", &d), 0);
    assert_int_equal(d.itemsize, 536870911ull * 4);
}

/* numpy's own repr(dtype.descr) of records (printed by numpy 1.24): each parses to
 * itself, with the item size numpy gives and the typestr "|V<itemsize>". */
static void test_dtype_records_read_as_numpy_prints_them(void **state)
{
    static const struct {
        const char *in;
        uint64_t itemsize;
    } cases[] = {
        { "[('x', '<f4'), ('y', '<i8')]", 12 },
        { "[('x', '<f4'), ('', '|V4'), ('y', '<i8')]", 16 },
        { "[('p', [('a', '<i4'), ('b', '|u1', (2, 3))]), ('s', '|S5')]", 15 },
        { "[('a', '<i4'), ('', '|V4'), ('b', '<f8'), ('', '|V8')]", 24 },
        { "[('d', '<M8[ns]'), ('u', '<U3')]", 20 },
        { "[('x', [('y', '<f4')], (2,))]", 8 },
        { "[('x', '>f4')]", 4 },
    };

    (void)state;
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        struct dtype d;
        char want[32];

        if (dtype_parse(cases[i].in, &d) != 0)
            fail_msg("dtype_parse(\"%s\") refused", cases[i].in);
        snprintf(want, sizeof(want), "|V%llu", (unsigned long long)cases[i].itemsize);
        assert_string_equal(d.descr, cases[i].in);
        assert_string_equal(d.str, want);
        assert_int_equal(d.itemsize, cases[i].itemsize);
    }
}

static void test_dtype_record_is_rewritten_in_numpys_form(void **state)
{
    struct dtype d;
    struct dtype_text text;
    size_t used = 0;
    const char *in = "[ (\"x\",'float32' ,), ('y','=i8',3),('z', \"u1\", (2,1,),),] tail";
    char err[128];

    (void)state;
    assert_int_equal(dtype_parse_descr(in, strlen(in), &d, &text, &used, err, sizeof(err)), 0);
    assert_string_equal(d.descr, "[('x', '<f4'), ('y', '<i8', (3,)), ('z', '|u1', (2, 1))]");
    assert_int_equal(d.itemsize, 4 + 24 + 2);
    assert_string_equal(in + used, " tail");
    assert_int_equal(dtype_parse_descr(in, strlen(in), &d, &text, NULL, err, sizeof(err)), -EINVAL);
    assert_non_null(strstr(err, "follows"));
    /* plain types carry no description */
    assert_int_equal(dtype_parse("<f4", &d), 0);
    assert_null(d.descr);
    assert_int_equal(d.descr_len, 0);
}

/* A record nested n deep: [('a', [('a', ... '<f4' ...)])]. */
static void nested(char *buf, size_t len, unsigned n)
{
    size_t k = 0;

    for (unsigned i = 0; i < n; i++)
        k += (size_t)snprintf(buf + k, len - k, "[('a', ");
    k += (size_t)snprintf(buf + k, len - k, "'<f4'");
    for (unsigned i = 0; i < n; i++)
        k += (size_t)snprintf(buf + k, len - k, ")]");
}

static void test_dtype_record_nesting_stops_at_limit(void **state)
{
    char buf[4096];
    struct dtype d;
    struct dtype_text text;
    char err[128];

    (void)state;
    nested(buf, sizeof(buf), PROTO_DESCR_DEPTH_MAX);
    assert_int_equal(dtype_parse(buf, &d), 0);
    assert_int_equal(d.itemsize, 4);
    nested(buf, sizeof(buf), PROTO_DESCR_DEPTH_MAX + 1);
    assert_int_equal(dtype_parse_descr(buf, strlen(buf), &d, &text, NULL, err, sizeof(err)),
                     -EINVAL);
    assert_non_null(strstr(err, "nested"));
}

static void test_dtype_record_field_count_stops_at_limit(void **state)
{
    static char buf[16384];
    struct dtype d;
    struct dtype_text text;
    char err[128];
    size_t k = 0;

    (void)state;
    /* 256 fields, half of them in a nested record: the limit counts every level */
    k += (size_t)snprintf(buf + k, sizeof(buf) - k, "[('n', [");
    for (unsigned i = 0; i < PROTO_DESCR_FIELDS_MAX / 2; i++)
        k += (size_t)snprintf(buf + k, sizeof(buf) - k, "('', '|V1'), ");
    k += (size_t)snprintf(buf + k, sizeof(buf) - k, "])");
    for (unsigned i = 1; i < PROTO_DESCR_FIELDS_MAX / 2; i++)
        k += (size_t)snprintf(buf + k, sizeof(buf) - k, ", ('', '|V1')");
    snprintf(buf + k, sizeof(buf) - k, "]");
    assert_int_equal(dtype_parse_descr(buf, strlen(buf), &d, &text, NULL, err, sizeof(err)), 0);
    assert_int_equal(d.itemsize, PROTO_DESCR_FIELDS_MAX - 1);
    snprintf(buf + k, sizeof(buf) - k, ", ('', '|V1')]");
    assert_int_equal(dtype_parse_descr(buf, strlen(buf), &d, &text, NULL, err, sizeof(err)),
                     -EINVAL);
    assert_non_null(strstr(err, "more than 256 fields"));
    /* a million fields claimed by text is stopped without reading it all */
    k = (size_t)snprintf(buf, sizeof(buf), "[");
    while (k + 8 < sizeof(buf))
        k += (size_t)snprintf(buf + k, sizeof(buf) - k, "('','V1'),");
    assert_int_equal(dtype_parse_descr(buf, k, &d, &text, NULL, err, sizeof(err)), -EINVAL);
}

static void test_dtype_record_longer_than_limit_is_refused(void **state)
{
    static char buf[8192];
    struct dtype d;
    struct dtype_text text;
    char err[128];
    size_t k = 0;
    char name[200];

    (void)state;
    memset(name, 'n', sizeof(name) - 1);
    name[sizeof(name) - 1] = '\0';
    k += (size_t)snprintf(buf + k, sizeof(buf) - k, "[");
    for (unsigned i = 0; i < 20; i++)
        k += (size_t)snprintf(buf + k, sizeof(buf) - k, "('%s%u', '<f4'), ", name, i);
    snprintf(buf + k, sizeof(buf) - k, "]");
    assert_int_equal(dtype_parse_descr(buf, strlen(buf), &d, &text, NULL, err, sizeof(err)),
                     -EINVAL);
    assert_non_null(strstr(err, "longer than 3584"));
}

/* Hostile or impossible descriptions: each refused with a reason, out untouched. */
static void test_dtype_record_rejects_hostile_descriptions(void **state)
{
    static const struct {
        const char *in;
        const char *why;
    } bad[] = {
        { "[('x', '<f4')", "closed by" },
        { "[('x', '<f4'", "not closed" },
        { "[('x, '<f4')]", "type" },
        { "[('x', '<f4)]", "not terminated" },
        { "[(", "quoted" },
        { "[", "not terminated" },
        { "[]", "zero-size" },
        { "[('x', [])]", "zero-size" },
        { "[('x', '<f4', (0,))]", "zero-size" },
        { "[('x', '<f4', ())]", "tuple" },
        { "[('x', '<f4', (-1,))]", "tuple" },
        { "[('x', '|S2147483647'), ('y', '|u1')]", "larger than" },
        { "[('x', '<f8', (268435456,))]", "larger than" },
        { "[('x', '<f8', (65536, 65536, 65536, 65536))]", "larger than" },
        { "[('x', '<f4', (99999999999999999999,))]", "tuple" },
        { "[('x', '<f4'), ('x', '<i8')]", "more than once" },
        { "[('p', [('a', '<f4'), ('a', '<f4')])]", "more than once" },
        { "[('\xc3\xa9', '<f4')]", "ASCII" },
        { "[('a\\'b', '<f4')]", "ASCII" },
        { "[('a\tb', '<f4')]", "ASCII" },
        { "[('x', '|O')]", "objects" },
        { "[('x', 'O')]", "objects" },
        { "[('x', '<f4\x01')]", "ASCII" },
        { "[(('t', 'x'), '<f4')]", "titles" },
        { "[('', '<f4')]", "padding" },
        { "[('', '|V4', (2,))]", "padding" },
        { "[('x', '<f4') ('y', '<f4')]", "commas" },
        { "[('x', '<f4')]]", "follows" },
        { "[('x')]", "no type" },
        { "{'names': ['x'], 'formats': ['<f4']}", "list" },
        { "[('x', '<f4', (1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,"
          "1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1))]",
          "dimensions" },
    };

    (void)state;
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        struct dtype d;
        struct dtype_text text;
        char err[160];

        memset(&d, 0x5a, sizeof(d));
        if (dtype_parse_descr(bad[i].in, strlen(bad[i].in), &d, &text, NULL, err, sizeof(err)) !=
            -EINVAL)
            fail_msg("accepted: %s", bad[i].in);
        if (strstr(err, bad[i].why) == NULL)
            fail_msg("%s: message \"%s\" does not say \"%s\"", bad[i].in, err, bad[i].why);
        assert_int_equal((unsigned char)d.str[0], 0x5a);
        assert_int_equal(d.descr_len, 0x5a5a5a5a);
        if (bad[i].in[0] == '[' && dtype_parse(bad[i].in, &d) != -EINVAL)
            fail_msg("dtype_parse accepted: %s", bad[i].in);
    }
    assert_int_equal(dtype_parse_descr(NULL, 0, NULL, NULL, NULL, NULL, 0), -EINVAL);
}

/* The parser reads no byte past len, wherever the text stops (a .npy header's text is
 * not NUL-terminated): every prefix of a description, in an exact-size heap copy that
 * ASan guards, is refused. (fuzz_npy found a read past a subarray's dimension.) */
static void test_dtype_record_reads_nothing_past_its_length(void **state)
{
    const char *full = "[('x', '<f4', 9), ('p', [('a', '<i4'), ('b', '|u1', (2, 3))]), "
                       "('', '|V3'), ('t', '<M8[ns]')]";
    struct dtype d;
    struct dtype_text text;

    (void)state;
    for (size_t len = 0; len < strlen(full); len++) {
        char *copy = malloc(len > 0 ? len : 1);

        assert_non_null(copy);
        memcpy(copy, full, len);
        if (dtype_parse_descr(copy, len, &d, &text, NULL, NULL, 0) != -EINVAL)
            fail_msg("accepted a prefix of %zu bytes", len);
        free(copy);
    }
    assert_int_equal(dtype_parse_descr(full, strlen(full), &d, &text, NULL, NULL, 0), 0);
}

/* A plain dtype, and so every array's metadata, carries no room for a description:
 * a record's is a view of text kept elsewhere (5.5 KB a struct meta when it was
 * inline, 1.9 KB before records and now). */
static void test_dtype_plain_types_carry_no_description_bytes(void **state)
{
    (void)state;
    assert_true(sizeof(struct dtype) <= 64);
    assert_true(sizeof(struct meta) <= META_SIZE_MAX);
}

/* Without a text buffer the view points into the input, which must be canonical
 * already; with one, any form numpy reads is rewritten there. */
static void test_dtype_record_view_points_into_canonical_input_or_the_buffer(void **state)
{
    const char *canonical = "[('x', '<f4'), ('y', '<i8')] tail";
    const char *loose = "[('x','<f4'),('y','<i8')]";
    struct dtype_text text;
    struct dtype d;
    size_t used;
    char err[160];

    (void)state;
    assert_int_equal(dtype_parse_descr(canonical, strlen(canonical), &d, NULL, &used, err,
                                       sizeof(err)), 0);
    assert_ptr_equal(d.descr, canonical);
    assert_int_equal(d.descr_len, used);
    assert_int_equal(used, strlen("[('x', '<f4'), ('y', '<i8')]"));
    assert_int_equal(dtype_parse_descr(loose, strlen(loose), &d, NULL, NULL, err, sizeof(err)),
                     -EINVAL);
    assert_non_null(strstr(err, "numpy prints"));
    assert_int_equal(dtype_parse_descr(loose, strlen(loose), &d, &text, NULL, err, sizeof(err)),
                     0);
    assert_ptr_equal(d.descr, text.s);
    assert_string_equal(text.s, "[('x', '<f4'), ('y', '<i8')]");
    assert_int_equal(d.descr_len, strlen(text.s));
}

/* dtype_own makes a NUL-terminated copy that outlives the text parsed (ASan checks the
 * free); dtype_keep copies into the caller's buffer; both leave plain types alone. */
static void test_dtype_own_and_keep_copy_the_description(void **state)
{
    char *in = strdup("[('a', '<i4'), ('b', '|u1', (2,))]");
    struct dtype_text text;
    struct dtype d, plain, kept;

    (void)state;
    assert_non_null(in);
    assert_int_equal(dtype_parse(in, &d), 0);
    kept = d;
    assert_int_equal(dtype_own(&d), 0);
    dtype_keep(&kept, &text);
    memset(in, 'z', strlen(in));
    free(in);
    assert_string_equal(d.descr, "[('a', '<i4'), ('b', '|u1', (2,))]");
    assert_string_equal(kept.descr, d.descr);
    assert_ptr_equal(kept.descr, text.s);
    assert_int_equal(d.descr_len, strlen(d.descr));
    dtype_own_free(&d);
    assert_null(d.descr);
    assert_int_equal(d.descr_len, 0);
    assert_int_equal(dtype_parse("<f8", &plain), 0);
    assert_int_equal(dtype_own(&plain), 0);
    assert_null(plain.descr);
    dtype_keep(&plain, &text);
    assert_null(plain.descr);
    dtype_own_free(&plain);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_dtype_typestrs_are_canonical),
        cmocka_unit_test(test_dtype_native_order_becomes_little_endian),
        cmocka_unit_test(test_dtype_numpy_names_map_to_typestrs),
        cmocka_unit_test(test_dtype_rejects_what_numpy_lacks_or_sharr_cannot_map),
        cmocka_unit_test(test_dtype_rejects_input_longer_than_limit),
        cmocka_unit_test(test_dtype_largest_string_items_fit),
        cmocka_unit_test(test_dtype_records_read_as_numpy_prints_them),
        cmocka_unit_test(test_dtype_record_is_rewritten_in_numpys_form),
        cmocka_unit_test(test_dtype_record_nesting_stops_at_limit),
        cmocka_unit_test(test_dtype_record_field_count_stops_at_limit),
        cmocka_unit_test(test_dtype_record_longer_than_limit_is_refused),
        cmocka_unit_test(test_dtype_record_rejects_hostile_descriptions),
        cmocka_unit_test(test_dtype_plain_types_carry_no_description_bytes),
        cmocka_unit_test(test_dtype_record_view_points_into_canonical_input_or_the_buffer),
        cmocka_unit_test(test_dtype_own_and_keep_copy_the_description),
        cmocka_unit_test(test_dtype_record_reads_nothing_past_its_length),
    };
    return testskip_exit(cmocka_run_group_tests(tests, NULL, NULL));
}
