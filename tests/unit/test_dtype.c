/* test_dtype.c — dtype strings and names to canonical typestrs and item sizes.
 *
 * The canonical forms are the ones numpy itself writes in .npy headers
 * (numpy.dtype(x).str), so a header sharr writes reads back as the same dtype.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <string.h>

#include <cmocka.h>

#include "dtype.h"
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
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
    expect_cases(cases, sizeof(cases) / sizeof(cases[0]));
#else
    testskip("native byte order here is not little-endian");
#endif
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
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
    expect_cases(cases, sizeof(cases) / sizeof(cases[0]));
#else
    testskip("native byte order here is not little-endian");
#endif
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

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_dtype_typestrs_are_canonical),
        cmocka_unit_test(test_dtype_native_order_becomes_little_endian),
        cmocka_unit_test(test_dtype_numpy_names_map_to_typestrs),
        cmocka_unit_test(test_dtype_rejects_what_numpy_lacks_or_sharr_cannot_map),
        cmocka_unit_test(test_dtype_rejects_input_longer_than_limit),
        cmocka_unit_test(test_dtype_largest_string_items_fit),
    };
    return testskip_exit(cmocka_run_group_tests(tests, NULL, NULL));
}
