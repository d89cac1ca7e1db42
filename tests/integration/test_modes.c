/* test_modes.c — the open modes behave as numpy.memmap's, enforced by the kernel.
 *
 * "r" hands out a read-only descriptor and mapping that cannot be made writable;
 * "c" writes stay in the writer's private pages; "r+" writes reach every process;
 * create with overwrite (w+) replaces the array under the name only.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "harness.h"
#include "testskip.h"
#include "proto_limits.h"

#define N 2048u /* float64: four pages of data */

static sharr_array_t *create_pattern(sharr_t *conn, const char *name, double scale)
{
    const uint64_t shape[1] = { N };
    sharr_array_t *arr = NULL;
    assert_rc(sharr_create(conn, name, "<f8", 1, shape, NULL, &arr), 0);
    double *d = sharr_array_data(arr);
    assert_non_null(d);
    for (uint64_t i = 0; i < N; i++)
        d[i] = (double)i * scale;
    return arr;
}

static int all_equal_pattern(const double *d, double scale)
{
    for (uint64_t i = 0; i < N; i++)
        if (d[i] != (double)i * scale)
            return 0;
    return 1;
}

static void test_mode_r_mapping_cannot_be_made_writable(void **state)
{
    struct harness *h = *state;
    sharr_t *conn = harness_connect(h);
    sharr_array_t *rw = create_pattern(conn, "ro", 1.5);

    sharr_array_t *ro = NULL;
    assert_rc(sharr_open(conn, "ro", "r", NULL, &ro), 0);
    assert_string_equal(sharr_array_mode(ro), "r");
    const double *d = sharr_array_data(ro);
    assert_non_null(d);
    assert_true(all_equal_pattern(d, 1.5));
    const struct sharr_info *info = sharr_array_info(ro);
    assert_int_equal(info->offset, PROTO_DATA_OFFSET); /* every created array's */
    long page = sysconf(_SC_PAGESIZE);
    assert_int_equal((uintptr_t)d % (uintptr_t)page, 0);

    int fd = sharr_array_fd(ro);
    assert_true(fd >= 0);
    assert_int_equal(fcntl(fd, F_GETFL) & O_ACCMODE, O_RDONLY);

    errno = 0;
    assert_int_equal(mprotect((void *)d, info->nbytes, PROT_READ | PROT_WRITE), -1);
    assert_int_equal(errno, EACCES);

    size_t len = (size_t)(info->offset + info->nbytes);
    errno = 0;
    void *p = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    assert_true(p == MAP_FAILED);
    assert_int_equal(errno, EACCES);

    /* The same calls on the r+ attachment succeed: the refusal above is the mode's. */
    int wfd = sharr_array_fd(rw);
    assert_int_equal(fcntl(wfd, F_GETFL) & O_ACCMODE, O_RDWR);
    p = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_SHARED, wfd, 0);
    assert_true(p != MAP_FAILED);
    ((double *)((char *)p + info->offset))[3] = -3.0;
    assert_true(d[3] == -3.0);
    assert_int_equal(munmap(p, len), 0);

    assert_rc(sharr_close(ro), 0);
    assert_rc(sharr_close(rw), 0);
    sharr_disconnect(conn);
}

static void test_received_descriptor_is_cloexec_and_blocking(void **state)
{
    struct harness *h = *state;
    sharr_t *conn = harness_connect(h);
    sharr_array_t *created = create_pattern(conn, "flags", 1.0);
    const char *modes[] = { "r", "r+", "c" };
    for (size_t m = 0; m < 3; m++) {
        sharr_array_t *arr = NULL;
        assert_rc(sharr_open(conn, "flags", modes[m], NULL, &arr), 0);
        int fd = sharr_array_fd(arr);
        assert_true(fd >= 0);
        assert_true(fcntl(fd, F_GETFD) & FD_CLOEXEC);
        assert_false(fcntl(fd, F_GETFL) & O_NONBLOCK);
        assert_rc(sharr_close(arr), 0);
    }
    int fd = sharr_array_fd(created);
    assert_true(fcntl(fd, F_GETFD) & FD_CLOEXEC);
    assert_false(fcntl(fd, F_GETFL) & O_NONBLOCK);
    assert_rc(sharr_close(created), 0);
    sharr_disconnect(conn);
}

static int cow_child(int rfd, int wfd, void *arg)
{
    (void)arg;
    sharr_t *conn = NULL;
    sharr_array_t *arr = NULL;
    CHILD_CHECK(sharr_connect(NULL, &conn) == 0);
    CHILD_CHECK(sharr_open(conn, "cow", "c", NULL, &arr) == 0);
    CHILD_CHECK(strcmp(sharr_array_mode(arr), "c") == 0);
    CHILD_CHECK((fcntl(sharr_array_fd(arr), F_GETFL) & O_ACCMODE) == O_RDONLY);
    double *d = sharr_array_data(arr);
    CHILD_CHECK(d != NULL && all_equal_pattern(d, 2.0));
    for (uint64_t i = 0; i < N; i++)
        d[i] = -1.0;
    CHILD_CHECK(chan_put(wfd, "W", 1) == 0);
    char cmd;
    CHILD_CHECK(chan_get(rfd, &cmd, 1) == 0 && cmd == 'q');
    for (uint64_t i = 0; i < N; i++)
        CHILD_CHECK(d[i] == -1.0);
    CHILD_CHECK(sharr_close(arr) == 0);
    sharr_disconnect(conn);
    return 0;
}

static void test_mode_c_writes_stay_private(void **state)
{
    struct harness *h = *state;
    sharr_t *conn = harness_connect(h);
    sharr_array_t *arr = create_pattern(conn, "cow", 2.0);

    struct harness_child c;
    harness_child_start(h, &c, cow_child, NULL);
    char ack = 0;
    harness_get(c.from, &ack, 1);
    assert_int_equal(ack, 'W');

    /* Neither the creator's shared mapping nor a fresh reader sees the child's writes. */
    assert_true(all_equal_pattern(sharr_array_data(arr), 2.0));
    sharr_array_t *reader = NULL;
    assert_rc(sharr_open(conn, "cow", "r", NULL, &reader), 0);
    assert_true(all_equal_pattern(sharr_array_data(reader), 2.0));

    /* Nor do they see this process's own copy-on-write writes. */
    sharr_array_t *mine = NULL;
    assert_rc(sharr_open(conn, "cow", "c", NULL, &mine), 0);
    double *md = sharr_array_data(mine);
    md[0] = 99.0;
    md[N - 1] = 99.0;
    assert_true(all_equal_pattern(sharr_array_data(arr), 2.0));
    assert_true(all_equal_pattern(sharr_array_data(reader), 2.0));

    harness_put(c.to, "q", 1);
    assert_int_equal(harness_child_wait(h, &c), 0);
    assert_rc(sharr_close(mine), 0);
    assert_rc(sharr_close(reader), 0);
    assert_rc(sharr_close(arr), 0);
    sharr_disconnect(conn);
}

static int rplus_child(int rfd, int wfd, void *arg)
{
    (void)arg;
    sharr_t *conn = NULL;
    sharr_array_t *arr = NULL;
    CHILD_CHECK(sharr_connect(NULL, &conn) == 0);
    CHILD_CHECK(sharr_open(conn, "shared", "r+", NULL, &arr) == 0);
    CHILD_CHECK(strcmp(sharr_array_mode(arr), "r+") == 0);
    CHILD_CHECK((fcntl(sharr_array_fd(arr), F_GETFL) & O_ACCMODE) == O_RDWR);
    double *d = sharr_array_data(arr);
    CHILD_CHECK(d != NULL);
    for (uint64_t i = 0; i < N; i++)
        d[i] = (double)i * 3.0;
    CHILD_CHECK(chan_put(wfd, "W", 1) == 0);
    char cmd;
    CHILD_CHECK(chan_get(rfd, &cmd, 1) == 0 && cmd == 'c');
    CHILD_CHECK(d[5] == 7.0);
    CHILD_CHECK(sharr_close(arr) == 0);
    sharr_disconnect(conn);
    return 0;
}

static void test_mode_rplus_writes_are_shared(void **state)
{
    struct harness *h = *state;
    sharr_t *conn = harness_connect(h);
    sharr_array_t *arr = create_pattern(conn, "shared", 0.0);

    struct harness_child c;
    harness_child_start(h, &c, rplus_child, NULL);
    char ack = 0;
    harness_get(c.from, &ack, 1);
    assert_int_equal(ack, 'W');
    double *d = sharr_array_data(arr);
    assert_true(all_equal_pattern(d, 3.0));
    d[5] = 7.0;
    harness_put(c.to, "c", 1);
    assert_int_equal(harness_child_wait(h, &c), 0);

    assert_rc(sharr_close(arr), 0);
    sharr_disconnect(conn);
}

static void test_create_overwrite_replaces_only_the_name(void **state)
{
    struct harness *h = *state;
    sharr_t *conn = harness_connect(h);
    sharr_array_t *old = create_pattern(conn, "ow", 5.0);

    const uint64_t shape[2] = { 3, 4 };
    sharr_array_t *arr = NULL;
    assert_rc(sharr_create(conn, "ow", "<i4", 2, shape, NULL, &arr), -EEXIST);
    assert_null(arr);
    struct sharr_create_opts opts = { .size = sizeof(opts), .overwrite = 1 };
    assert_rc(sharr_create(conn, "ow", "<i4", 2, shape, &opts, &arr), 0);
    const int32_t *v = sharr_array_data(arr);
    for (int i = 0; i < 12; i++)
        assert_int_equal(v[i], 0);

    struct sharr_info info;
    assert_rc(sharr_stat(conn, "ow", &info), 0);
    assert_string_equal(info.dtype, "<i4");
    assert_int_equal(info.ndim, 2);
    assert_int_equal(info.shape[0], 3);
    assert_int_equal(info.shape[1], 4);
    /* The replaced array lives on for whoever still maps it. */
    assert_true(all_equal_pattern(sharr_array_data(old), 5.0));

    assert_rc(sharr_close(arr), 0);
    assert_rc(sharr_close(old), 0);
    sharr_disconnect(conn);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_mode_r_mapping_cannot_be_made_writable,
                                        harness_setup, harness_teardown),
        cmocka_unit_test_setup_teardown(test_received_descriptor_is_cloexec_and_blocking,
                                        harness_setup, harness_teardown),
        cmocka_unit_test_setup_teardown(test_mode_c_writes_stay_private, harness_setup,
                                        harness_teardown),
        cmocka_unit_test_setup_teardown(test_mode_rplus_writes_are_shared, harness_setup,
                                        harness_teardown),
        cmocka_unit_test_setup_teardown(test_create_overwrite_replaces_only_the_name,
                                        harness_setup, harness_teardown),
    };
    return testskip_exit(cmocka_run_group_tests(tests, NULL, NULL));
}
