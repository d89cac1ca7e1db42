/* test_perm.c — the one rule for permission bits: 0..0777 are valid, a setuid, setgid
 * or sticky bit or anything larger is not, and the refusal names the bits.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "perm.h"
#include "testskip.h"

static void test_perm_accepts_rwx_bits_only(void **state)
{
    (void)state;
    assert_true(perm_valid(0));
    assert_true(perm_valid(0600));
    assert_true(perm_valid(0777));
    assert_false(perm_valid(01000));
    assert_false(perm_valid(04755));
    assert_false(perm_valid(07777));
    assert_false(perm_valid(UINT64_MAX));
}

static void test_perm_check_explains_a_refusal(void **state)
{
    (void)state;
    char err[128] = "";

    assert_int_equal(perm_check(0640, err, sizeof err), 0);
    assert_string_equal(err, "");
    assert_int_equal(perm_check(04755, err, sizeof err), -EINVAL);
    assert_string_equal(err, "perm 04755: only the bits 0777 are allowed");
    assert_int_equal(perm_check(01000, NULL, 0), -EINVAL);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_perm_accepts_rwx_bits_only),
        cmocka_unit_test(test_perm_check_explains_a_refusal),
    };
    return testskip_exit(cmocka_run_group_tests(tests, NULL, NULL));
}
