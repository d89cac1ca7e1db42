/* test_procfd.c — the daemon's /proc/self/fd: the paths and names of its entries, the
 * same text printf makes, for one digit to the largest descriptor; and the reopen,
 * readlink and link through the directory procfd_open gives, and without one.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
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

static void test_procfd_name_is_the_number_printf_makes(void **state)
{
    const int fds[] = { 0, 7, 10, 65536, INT_MAX };
    char want[16], got[12];

    (void)state;
    for (size_t i = 0; i < sizeof(fds) / sizeof(fds[0]); i++) {
        snprintf(want, sizeof(want), "%d", fds[i]);
        assert_ptr_equal(procfd_name(got, fds[i]), got);
        assert_string_equal(got, want);
    }
}

/* A reopen through the directory is a description of its own of the same file, in the
 * mode asked, closed on exec. */
static void test_procfd_reopen_is_a_new_description_of_the_same_file(void **state)
{
    char err[128];
    struct stat a, b;
    int dir = -1, fd = memfd_create("procfd", MFD_CLOEXEC), again;

    (void)state;
    assert_true(fd >= 0);
    assert_int_equal(procfd_open(&dir, err, sizeof(err)), 0);
    assert_true(fcntl(dir, F_GETFD) & FD_CLOEXEC);
    assert_int_equal(pwrite(fd, "abcd", 4, 0), 4);
    again = procfd_reopen(dir, fd, O_RDONLY);
    assert_true(again >= 0);
    assert_int_equal(fstat(fd, &a), 0);
    assert_int_equal(fstat(again, &b), 0);
    assert_int_equal(a.st_ino, b.st_ino);
    assert_int_equal(a.st_dev, b.st_dev);
    assert_int_equal(fcntl(again, F_GETFL) & O_ACCMODE, O_RDONLY);
    assert_true(fcntl(again, F_GETFD) & FD_CLOEXEC);
    assert_int_equal(lseek(fd, 2, SEEK_SET), 2);
    assert_int_equal(lseek(again, 0, SEEK_CUR), 0);
    close(again);
    close(fd);
    close(dir);
}

/* Where a descriptor points, as readlink of /proc/self/fd/N reads it; a link through
 * the directory gives the file a second name. */
static void test_procfd_readlink_and_link_reach_the_file(void **state)
{
    char tmpl[] = "/tmp/procfd-XXXXXX", err[128], path[PATH_MAX], again[PATH_MAX + 8];
    const char *dirname = mkdtemp(tmpl);
    struct stat a, b;
    int dir = -1, d, fd;
    ssize_t n;

    (void)state;
    assert_non_null(dirname);
    assert_int_equal(procfd_open(&dir, err, sizeof(err)), 0);
    snprintf(path, sizeof(path), "%s/one", dirname);
    fd = open(path, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
    assert_true(fd >= 0);
    n = procfd_readlink(dir, fd, again, sizeof(again) - 1);
    assert_int_equal(n, (ssize_t)strlen(path));
    again[n] = '\0';
    assert_string_equal(again, path);
    d = open(dirname, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    assert_true(d >= 0);
    assert_int_equal(procfd_link(dir, fd, d, "two"), 0);
    assert_int_equal(fstatat(d, "two", &b, 0), 0);
    assert_int_equal(fstat(fd, &a), 0);
    assert_int_equal(a.st_ino, b.st_ino);
    assert_int_equal(a.st_nlink, 2);
    assert_int_equal(unlinkat(d, "one", 0), 0);
    assert_int_equal(unlinkat(d, "two", 0), 0);
    /* A file with no name left cannot get one back. */
    assert_int_equal(procfd_link(dir, fd, d, "three"), -ENOENT);
    close(fd);
    close(d);
    assert_int_equal(rmdir(dirname), 0);
    close(dir);
}

/* Without the directory (no /proc at start) every call fails as an open of a path
 * under a missing /proc would. */
static void test_procfd_without_directory_fails_with_enoent(void **state)
{
    char buf[64];
    int fd = open("/dev/null", O_RDONLY | O_CLOEXEC);

    (void)state;
    assert_true(fd >= 0);
    assert_int_equal(procfd_reopen(-1, fd, O_RDONLY), -ENOENT);
    assert_int_equal(procfd_readlink(-1, fd, buf, sizeof(buf)), -ENOENT);
    assert_int_equal(procfd_link(-1, fd, AT_FDCWD, "/tmp/procfd-never"), -ENOENT);
    close(fd);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_procfd_path_is_what_printf_makes),
        cmocka_unit_test(test_procfd_path_opens_the_same_file),
        cmocka_unit_test(test_procfd_name_is_the_number_printf_makes),
        cmocka_unit_test(test_procfd_reopen_is_a_new_description_of_the_same_file),
        cmocka_unit_test(test_procfd_readlink_and_link_reach_the_file),
        cmocka_unit_test(test_procfd_without_directory_fails_with_enoent),
    };
    return testskip_exit(cmocka_run_group_tests(tests, NULL, NULL));
}
