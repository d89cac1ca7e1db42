/* test_publish.c — publish: an array complete and immutable.
 *
 * A consumer in another process waits for the publish, not the create, and then finds
 * every byte the producer wrote; after the publish r+ is refused, and the kernel
 * refuses a writable mapping of a new descriptor, to the owner and to another uid; a
 * mapping writable before the publish keeps writing (documented); a persistent
 * array's file loses its write bits and stays published across a restart.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "asuser.h"
#include "testskip.h"

#define N (1u << 20) /* bytes of the consumer's array */

static int consumer_child(int rfd, int wfd, void *arg)
{
    (void)arg;
    (void)rfd;
    sharr_t *conn = NULL;
    sharr_array_t *arr = NULL;
    CHILD_CHECK(sharr_connect(NULL, &conn) == 0);
    struct sharr_open_opts opts = { .size = sizeof(opts), .wait_ms = 60000,
                                    .flags = SHARR_F_PUBLISHED };
    CHILD_CHECK(chan_put(wfd, "w", 1) == 0);
    int rc = sharr_open(conn, "product", "r", &opts, &arr);
    CHILD_CHECK(chan_put(wfd, &rc, sizeof rc) == 0);
    CHILD_CHECK(rc == 0);
    CHILD_CHECK(sharr_array_info(arr)->published == 1);
    const uint8_t *v = sharr_array_data(arr);
    uint32_t bad = 0;
    for (uint32_t i = 0; i < N; i++)
        bad += v[i] != (uint8_t)(i * 7 + 1);
    CHILD_CHECK(chan_put(wfd, &bad, sizeof bad) == 0);
    CHILD_CHECK(sharr_close(arr) == 0);
    sharr_disconnect(conn);
    return 0;
}

static void test_consumer_waits_for_publish_then_reads_every_byte(void **state)
{
    struct harness *h = *state;
    sharr_t *conn = harness_connect(h);
    struct harness_child c;
    harness_child_start(h, &c, consumer_child, NULL);
    char ack = 0;
    harness_get(c.from, &ack, 1);
    assert_int_equal(ack, 'w');

    const uint64_t shape[1] = { N };
    sharr_array_t *arr = NULL;
    assert_rc(sharr_create(conn, "product", "|u1", 1, shape, NULL, &arr), 0);
    uint8_t *v = sharr_array_data(arr);
    memset(v, 0xff, N);
    /* Created and written, not published: the consumer is still waiting (the daemon
     * holds one attachment, the producer's). */
    assert_int_equal(harness_stats(conn).attachments, 1);
    for (uint32_t i = 0; i < N; i++)
        v[i] = (uint8_t)(i * 7 + 1);
    assert_int_equal(harness_stats(conn).attachments, 1);
    struct sharr_info info;
    assert_rc(sharr_publish(conn, "product", &info), 0);
    assert_int_equal(info.published, 1);
    int rc = -1;
    uint32_t bad = 1;
    harness_get(c.from, &rc, sizeof rc);
    assert_rc(rc, 0);
    harness_get(c.from, &bad, sizeof bad);
    assert_int_equal(bad, 0);
    assert_int_equal(harness_child_wait(h, &c), 0);
    assert_rc(sharr_close(arr), 0);
    sharr_disconnect(conn);
}

static void test_published_wait_times_out_and_plain_open_says_not_yet(void **state)
{
    struct harness *h = *state;
    sharr_t *conn = harness_connect(h);
    const uint64_t shape[1] = { 16 };
    sharr_array_t *arr = NULL, *other = NULL;
    assert_rc(sharr_create(conn, "draft", "<i4", 1, shape, NULL, &arr), 0);
    struct sharr_open_opts opts = { .size = sizeof(opts), .wait_ms = 200,
                                    .flags = SHARR_F_PUBLISHED };
    assert_rc(sharr_open(conn, "draft", "r", &opts, &other), -ETIMEDOUT);
    opts.wait_ms = 0;
    assert_rc(sharr_open(conn, "draft", "r", &opts, &other), -EAGAIN);
    /* Without the flag an unpublished array opens as before. */
    assert_rc(sharr_open(conn, "draft", "r", NULL, &other), 0);
    assert_int_equal(sharr_array_info(other)->published, 0);
    assert_rc(sharr_close(other), 0);
    assert_rc(sharr_close(arr), 0);
    sharr_disconnect(conn);
}

/* What another uid may do with a published array it may read and write by its bits. */
static int other_uid_cannot_write_published(void *arg)
{
    (void)arg;
    sharr_t *conn = NULL;
    sharr_array_t *arr = NULL;
    CHILD_CHECK(sharr_connect(NULL, &conn) == 0);
    CHILD_CHECK(sharr_open(conn, "sealed", "r+", NULL, &arr) == -EROFS);
    CHILD_CHECK(sharr_publish(conn, "sealed", NULL) == -EPERM);
    CHILD_CHECK(sharr_open(conn, "sealed", "r", NULL, &arr) == 0);
    int fd = sharr_array_fd(arr);
    CHILD_CHECK(mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0) == MAP_FAILED);
    char path[64];
    snprintf(path, sizeof path, "/proc/self/fd/%d", fd);
    CHILD_CHECK(open(path, O_RDWR) < 0);
    CHILD_CHECK(((const int32_t *)sharr_array_data(arr))[3] == 33);
    CHILD_CHECK(sharr_close(arr) == 0);
    sharr_disconnect(conn);
    return 0;
}

static void test_published_volatile_refuses_rplus_and_kernel_refuses_writable_map(void **state)
{
    struct harness *h = *state;
    asuser_open_dir(h);
    sharr_t *conn = harness_connect(h);
    const uint64_t shape[1] = { 4096 };
    struct sharr_create_opts co = { .size = sizeof(co), .perm = 0666 };
    sharr_array_t *arr = NULL, *writer = NULL, *ro = NULL;
    assert_rc(sharr_create(conn, "sealed", "<i4", 1, shape, &co, &arr), 0);
    /* An r+ attachment made before the publish, not mapped by the library. */
    struct sharr_open_opts oo = { .size = sizeof(oo), .flags = SHARR_F_NOMAP };
    assert_rc(sharr_open(conn, "sealed", "r+", &oo, &writer), 0);
    int32_t *v = sharr_array_data(arr);
    v[3] = 33;
    assert_rc(sharr_publish(conn, "sealed", NULL), 0);
    assert_rc(sharr_publish(conn, "sealed", NULL), 0); /* again: no change */

    assert_rc(sharr_open(conn, "sealed", "r+", NULL, &ro), -EROFS);
    /* The owner's new descriptor, reopened for writing (root may): the seal refuses a
     * writable shared mapping and write(2). */
    assert_rc(sharr_open(conn, "sealed", "r", NULL, &ro), 0);
    char path[64];
    snprintf(path, sizeof path, "/proc/self/fd/%d", sharr_array_fd(ro));
    int rw = open(path, O_RDWR | O_CLOEXEC);
    assert_true(rw >= 0);
    errno = 0;
    assert_ptr_equal(mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_SHARED, rw, 0), MAP_FAILED);
    assert_int_equal(errno, EPERM);
    assert_int_equal(pwrite(rw, "x", 1, 4096), -1);
    assert_int_equal(errno, EPERM);
    /* So does the r+ descriptor handed out before the publish. */
    int wfd = sharr_array_fd(writer);
    assert_ptr_equal(mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_SHARED, wfd, 0), MAP_FAILED);
    assert_int_equal(errno, EPERM);
    /* A read-only shared mapping of it cannot be made writable either. */
    void *m = mmap(NULL, 4096, PROT_READ, MAP_SHARED, wfd, 0);
    assert_true(m != MAP_FAILED);
    assert_int_equal(mprotect(m, 4096, PROT_READ | PROT_WRITE), -1);
    munmap(m, 4096);
    close(rw);
    /* The producer's mapping, writable since the create, still writes (documented:
     * publish when the writing is done), and readers see it. */
    v[5] = 55;
    assert_int_equal(((const int32_t *)sharr_array_data(ro))[5], 55);
    assert_int_equal(asuser_run(h, ASUSER_UID, ASUSER_GID, other_uid_cannot_write_published,
                                NULL), 0);
    struct sharr_info info;
    assert_rc(sharr_stat(conn, "sealed", &info), 0);
    assert_int_equal(info.published, 1);
    /* w+ on the name makes a new, unpublished array. */
    sharr_array_t *fresh = NULL;
    co.overwrite = 1;
    assert_rc(sharr_create(conn, "sealed", "<i4", 1, shape, &co, &fresh), 0);
    assert_int_equal(sharr_array_info(fresh)->published, 0);
    assert_rc(sharr_close(fresh), 0);
    assert_rc(sharr_close(ro), 0);
    assert_rc(sharr_close(writer), 0);
    assert_rc(sharr_close(arr), 0);
    sharr_disconnect(conn);
}

static void test_published_persistent_file_loses_write_bits_across_restart(void **state)
{
    struct harness *h = *state;
    sharr_t *conn = harness_connect(h);
    const uint64_t shape[2] = { 3, 5 };
    struct sharr_create_opts co = { .size = sizeof(co), .persist = 1 };
    sharr_array_t *arr = NULL, *ro = NULL;
    assert_rc(sharr_create(conn, "disk", "<f8", 2, shape, &co, &arr), 0);
    ((double *)sharr_array_data(arr))[14] = 2.5;
    struct sharr_info info;
    assert_rc(sharr_publish(conn, "disk", &info), 0);
    struct stat st;
    assert_int_equal(stat(info.path, &st), 0);
    assert_int_equal(st.st_mode & 07777, 0400);
    assert_rc(sharr_open(conn, "disk", "r+", NULL, &ro), -EROFS);
    assert_rc(sharr_close(arr), 0);
    sharr_disconnect(conn);

    harness_daemon_restart(h);
    conn = harness_connect(h);
    assert_rc(sharr_stat(conn, "disk", &info), 0);
    assert_int_equal(info.published, 1);
    assert_rc(sharr_open(conn, "disk", "r+", NULL, &ro), -EROFS);
    assert_rc(sharr_open(conn, "disk", "c", NULL, &ro), 0);
    assert_true(((const double *)sharr_array_data(ro))[14] == 2.5);
    assert_rc(sharr_close(ro), 0);
    assert_rc(sharr_grow(conn, "disk", 9, NULL), -EROFS);
    /* Unlinked, the name is free for a new array, writable as any. */
    assert_rc(sharr_unlink(conn, "disk"), 0);
    assert_rc(sharr_create(conn, "disk", "<f8", 2, shape, &co, &arr), 0);
    assert_int_equal(sharr_array_info(arr)->published, 0);
    assert_rc(sharr_close(arr), 0);
    sharr_disconnect(conn);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_consumer_waits_for_publish_then_reads_every_byte,
                                        harness_setup, harness_teardown),
        cmocka_unit_test_setup_teardown(
            test_published_wait_times_out_and_plain_open_says_not_yet, harness_setup,
            harness_teardown),
        cmocka_unit_test_setup_teardown(
            test_published_volatile_refuses_rplus_and_kernel_refuses_writable_map,
            harness_setup, harness_teardown),
        cmocka_unit_test_setup_teardown(
            test_published_persistent_file_loses_write_bits_across_restart, harness_setup,
            harness_teardown),
    };
    return testskip_exit(cmocka_run_group_tests(tests, NULL, NULL));
}
