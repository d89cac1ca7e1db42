/* test_procfd.c — the daemon's /proc/self/fd/N paths: the same text printf makes, for
 * one digit to the largest descriptor, and a path that opens the descriptor itself.
 */
#include <fcntl.h>
#include <limits.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "procfd.h"
#include "testskip.h"

static void test_procfd_path_is_what_printf_makes(void **state)
{
    const int fds[] = { 0, 7, 9, 10, 99, 100, 4095, 65536, 1000000, INT_MAX };
    char want[64], got[PROCFD_PATH_MAX];

    (void)state;
    for (size_t i = 0; i < sizeof(fds) / sizeof(fds[0]); i++) {
        snprintf(want, sizeof(want), "/proc/self/fd/%d", fds[i]);
        assert_ptr_equal(procfd_path(got, fds[i]), got);
        assert_string_equal(got, want);
    }
}

static void test_procfd_path_opens_the_same_file(void **state)
{
    char path[PROCFD_PATH_MAX];
    struct stat a, b;
    int fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
    int again;

    (void)state;
    assert_true(fd >= 0);
    again = open(procfd_path(path, fd), O_RDONLY | O_CLOEXEC);
    assert_true(again >= 0);
    assert_int_equal(fstat(fd, &a), 0);
    assert_int_equal(fstat(again, &b), 0);
    assert_int_equal(a.st_ino, b.st_ino);
    assert_int_equal(a.st_dev, b.st_dev);
    close(again);
    close(fd);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_procfd_path_is_what_printf_makes),
        cmocka_unit_test(test_procfd_path_opens_the_same_file),
    };
    return testskip_exit(cmocka_run_group_tests(tests, NULL, NULL));
}
