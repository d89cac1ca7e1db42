/* test_shape.c — array byte sizes: exact products, overflow and the size cap.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "proto_limits.h"
#include "shape.h"
#include "testskip.h"

static void test_shape_multiplies_dimensions_and_itemsize(void **state)
{
    const uint64_t s[] = { 1000000, 100 };
    const uint64_t one[] = { 7 };
    uint64_t n = 0;

    (void)state;
    assert_int_equal(shape_nbytes(2, s, 4, &n), 0);
    assert_int_equal(n, 400000000ull);
    assert_int_equal(shape_nbytes(1, one, 1, &n), 0);
    assert_int_equal(n, 7);
}

static void test_shape_overflow_is_eoverflow(void **state)
{
    const uint64_t s[] = { 1ull << 32, 1ull << 32, 2 };
    const uint64_t wraps_to_zero[] = { 1ull << 32, 1ull << 32 };
    const uint64_t big[] = { UINT64_MAX };
    uint64_t n = 12345;

    (void)state;
    assert_int_equal(shape_nbytes(3, s, 8, &n), -EOVERFLOW);
    assert_int_equal(shape_nbytes(2, wraps_to_zero, 1, &n), -EOVERFLOW);
    assert_int_equal(shape_nbytes(1, big, 2, &n), -EOVERFLOW);
    assert_int_equal(n, 12345); /* untouched on failure */
}

static void test_shape_cap_is_array_bytes_max(void **state)
{
    const uint64_t at_cap[] = { 1ull << 31, 1ull << 31 };
    const uint64_t over_cap[] = { (1ull << 31) + 1, 1ull << 31 };
    uint64_t n = 0;

    (void)state;
    assert_int_equal(shape_nbytes(2, at_cap, 1, &n), 0);
    assert_int_equal(n, PROTO_ARRAY_BYTES_MAX);
    assert_int_equal(shape_nbytes(2, at_cap, 2, &n), -EOVERFLOW);
    assert_int_equal(shape_nbytes(2, over_cap, 1, &n), -EOVERFLOW);
}

static void test_shape_of_no_dimensions_is_one_element(void **state)
{
    const uint64_t unused[] = { 0 };
    uint64_t n = 0;

    (void)state;
    assert_int_equal(shape_nbytes(0, NULL, 8, &n), 0);
    assert_int_equal(n, 8);
    n = 0;
    assert_int_equal(shape_nbytes(0, unused, 3, &n), 0);
    assert_int_equal(n, 3);
    assert_int_equal(shape_nbytes(0, NULL, 0, &n), -EINVAL);
}

static void test_shape_rejects_zero_dims_ndim_and_itemsize(void **state)
{
    uint64_t s[PROTO_NDIM_MAX + 1];
    const uint64_t zero[] = { 5, 0, 3 };
    const uint64_t huge_then_zero[] = { UINT64_MAX, UINT64_MAX, 0 };
    uint64_t n;

    (void)state;
    for (size_t i = 0; i < PROTO_NDIM_MAX + 1; i++)
        s[i] = 1;
    assert_int_equal(shape_nbytes(PROTO_NDIM_MAX + 1, s, 4, &n), -EINVAL);
    assert_int_equal(shape_nbytes(PROTO_NDIM_MAX, s, 4, &n), 0);
    assert_int_equal(n, 4);
    assert_int_equal(shape_nbytes(1, s, 0, &n), -EINVAL);
    assert_int_equal(shape_nbytes(3, zero, 4, &n), -EINVAL);
    assert_int_equal(shape_nbytes(3, huge_then_zero, 4, &n), -EINVAL);
    assert_int_equal(shape_nbytes(1, NULL, 4, &n), -EINVAL);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_shape_multiplies_dimensions_and_itemsize),
        cmocka_unit_test(test_shape_overflow_is_eoverflow),
        cmocka_unit_test(test_shape_cap_is_array_bytes_max),
        cmocka_unit_test(test_shape_of_no_dimensions_is_one_element),
        cmocka_unit_test(test_shape_rejects_zero_dims_ndim_and_itemsize),
    };
    return testskip_exit(cmocka_run_group_tests(tests, NULL, NULL));
}
