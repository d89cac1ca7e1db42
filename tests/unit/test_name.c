/* test_name.c — which array names proto accepts, and why the others fail.
 *
 * A valid name must also be a safe file name: these cases pin down that nothing
 * that could be a path, a hidden file or a terminal escape passes.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <string.h>

#include <cmocka.h>

#include "proto_limits.h"
#include "name.h"
#include "testskip.h"

static int check(const char *s)
{
    return name_check(s, strlen(s));
}

static void test_name_accepts_portable_names(void **state)
{
    (void)state;
    assert_int_equal(check("a"), 0);
    assert_int_equal(check("A"), 0);
    assert_int_equal(check("0"), 0);
    assert_int_equal(check("weights-v2.f32_final"), 0);
    assert_int_equal(check("a..b"), 0);
    assert_int_equal(check("-leading-dash"), 0);
    assert_int_equal(check("trailing."), 0);
}

static void test_name_rejects_empty(void **state)
{
    (void)state;
    assert_int_equal(name_check("", 0), -EINVAL);
    assert_int_equal(name_check(NULL, 0), -EINVAL);
}

static void test_name_accepts_max_length_and_rejects_one_more(void **state)
{
    char buf[PROTO_NAME_MAX + 2];

    (void)state;
    memset(buf, 'x', sizeof(buf));
    assert_int_equal(name_check(buf, PROTO_NAME_MAX), 0);
    assert_int_equal(name_check(buf, PROTO_NAME_MAX + 1), -ENAMETOOLONG);
    assert_int_equal(PROTO_NAME_MAX, 255);
}

static void test_name_rejects_path_like_names(void **state)
{
    (void)state;
    assert_int_equal(check("a/b"), -EINVAL);
    assert_int_equal(check("/abs"), -EINVAL);
    assert_int_equal(check(".."), -EINVAL);
    assert_int_equal(check("."), -EINVAL);
    assert_int_equal(check("../etc/passwd"), -EINVAL);
    assert_int_equal(check(".hidden"), -EINVAL);
    assert_int_equal(check("a\\b"), -EINVAL);
}

static void test_name_rejects_nul_inside(void **state)
{
    (void)state;
    assert_int_equal(name_check("ab\0cd", 5), -EINVAL);
    assert_int_equal(name_check("ab\0", 3), -EINVAL);
}

static void test_name_rejects_control_bytes_and_spaces(void **state)
{
    (void)state;
    assert_int_equal(check("a\nb"), -EINVAL);
    assert_int_equal(check("a\tb"), -EINVAL);
    assert_int_equal(check("\x1b[31m"), -EINVAL);
    assert_int_equal(check("a\x7f"), -EINVAL);
    assert_int_equal(check("a b"), -EINVAL);
    assert_int_equal(check("a:b"), -EINVAL);
    assert_int_equal(check("a*"), -EINVAL);
}

static void test_name_rejects_non_ascii_and_invalid_utf8(void **state)
{
    (void)state;
    assert_int_equal(check("caf\xc3\xa9"), -EINVAL);   /* valid UTF-8, not ASCII */
    assert_int_equal(check("a\xff\xfe"), -EINVAL);     /* not UTF-8 at all */
    assert_int_equal(check("\xc0\xaf"), -EINVAL);      /* overlong '/' */
}

static void test_name_too_long_wins_over_bad_bytes(void **state)
{
    char buf[PROTO_NAME_MAX + 1];

    (void)state;
    memset(buf, '/', sizeof(buf));
    assert_int_equal(name_check(buf, sizeof(buf)), -ENAMETOOLONG);
}

static void test_name_user_prefix_reads_the_uid_of_uid_n_dot(void **state)
{
    uint32_t uid = 7;

    (void)state;
    assert_true(name_user_prefix("uid1000.frames", &uid));
    assert_int_equal(uid, 1000);
    assert_true(name_user_prefix("uid0.x", &uid));
    assert_int_equal(uid, 0);
    assert_true(name_user_prefix("uid4294967294.", &uid));
    assert_int_equal(uid, 4294967294u);
    assert_true(name_user_prefix("uid1.a.b", &uid));
    assert_int_equal(uid, 1);
}

static void test_name_user_prefix_gives_other_spellings_to_root(void **state)
{
    uint32_t uid = 7;

    (void)state;
    /* Leading zeros, (uid_t)-1 and anything wider: reserved, and only root's. */
    assert_true(name_user_prefix("uid01000.x", &uid));
    assert_int_equal(uid, 0);
    uid = 7;
    assert_true(name_user_prefix("uid00.x", &uid));
    assert_int_equal(uid, 0);
    uid = 7;
    assert_true(name_user_prefix("uid4294967295.x", &uid));
    assert_int_equal(uid, 0);
    uid = 7;
    assert_true(name_user_prefix("uid99999999999999999999999999.x", &uid));
    assert_int_equal(uid, 0);
}

static void test_name_user_prefix_needs_uid_digits_and_a_dot(void **state)
{
    const char *other[] = { "uid", "uid.", "uid1000", "uid1000x.y", "uidx.1", "Uid1000.x",
                            "UID1000.x", "xuid1000.x", "uid-1.x", "uid 1.x", "u1000.x", "" };
    uint32_t uid = 7;

    (void)state;
    for (size_t i = 0; i < sizeof(other) / sizeof(other[0]); i++) {
        assert_false(name_user_prefix(other[i], &uid));
        assert_int_equal(uid, 7);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_name_accepts_portable_names),
        cmocka_unit_test(test_name_rejects_empty),
        cmocka_unit_test(test_name_accepts_max_length_and_rejects_one_more),
        cmocka_unit_test(test_name_rejects_path_like_names),
        cmocka_unit_test(test_name_rejects_nul_inside),
        cmocka_unit_test(test_name_rejects_control_bytes_and_spaces),
        cmocka_unit_test(test_name_rejects_non_ascii_and_invalid_utf8),
        cmocka_unit_test(test_name_too_long_wins_over_bad_bytes),
        cmocka_unit_test(test_name_user_prefix_reads_the_uid_of_uid_n_dot),
        cmocka_unit_test(test_name_user_prefix_gives_other_spellings_to_root),
        cmocka_unit_test(test_name_user_prefix_needs_uid_digits_and_a_dot),
    };
    return testskip_exit(cmocka_run_group_tests(tests, NULL, NULL));
}
