/* test_persist_fds.c — a persistent array costs sharrd no descriptor while it sits in
 * the registry: the daemon keeps its .npy's identity and reopens it by name for each
 * attach and sync, so it serves more persistent arrays than its descriptor limit,
 * across a restart and an overwrite, and refuses a file changed behind its back.
 *
 * Counts are read from /proc/<pid>/fd of the real daemon (launch.c).
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "launch.h"
#include "testskip.h"

#define PERSIST_FDS_MANY 150 /* more than the limit of the small daemon below */

static const struct sharr_create_opts persist_opts = { .size = sizeof(persist_opts), .persist = 1 };

/* Create persistent arrays a0..a<n-1>, each of 16 int32 holding its index, on a
 * connection of their own that is gone when this returns (with its cached descriptions). */
static void create_many(const struct harness *h, int n)
{
    const uint64_t shape[1] = { 16 };
    sharr_t *c = harness_connect(h);

    for (int i = 0; i < n; i++) {
        char name[32];
        sharr_array_t *a = NULL;
        snprintf(name, sizeof(name), "a%d", i);
        assert_rc(sharr_create(c, name, "<i4", 1, shape, &persist_opts, &a), 0);
        for (int k = 0; k < 16; k++)
            ((int32_t *)sharr_array_data(a))[k] = i;
        assert_rc(sharr_close(a), 0);
    }
    sharr_disconnect(c);
}

/* Every a<i> attaches read-only and holds its index. */
static void check_many(sharr_t *c, int n)
{
    for (int i = 0; i < n; i++) {
        char name[32];
        sharr_array_t *a = NULL;
        snprintf(name, sizeof(name), "a%d", i);
        assert_rc(sharr_open(c, name, "r", NULL, &a), 0);
        assert_int_equal(((const int32_t *)sharr_array_data(a))[15], i);
        assert_rc(sharr_close(a), 0);
    }
}

/* The daemon's descriptors with c connected, after a round trip on c. */
static int count_with(const struct harness *h, sharr_t *c)
{
    (void)harness_stats(c);
    return launch_count_fds(h->daemon);
}

static void test_persistent_arrays_leave_the_daemons_descriptor_count_flat(void **state)
{
    struct harness *h = *state;
    sharr_t *c = harness_connect(h);
    int base = count_with(h, c);

    assert_true(base > 0);
    create_many(h, PERSIST_FDS_MANY);
    (void)harness_wait_connections(c, 1);
    assert_int_equal(harness_stats(c).arrays, PERSIST_FDS_MANY);
    assert_int_equal(launch_wait_fds(h->daemon, base), base);
    sharr_disconnect(c);
}

static void test_daemon_with_a_small_descriptor_limit_serves_more_persistent_arrays(
    void **state)
{
    struct harness *h = *state;

    launch_daemon(h, NULL, 64);
    create_many(h, PERSIST_FDS_MANY);
    sharr_t *c = harness_connect(h);
    assert_int_equal(harness_stats(c).arrays_persistent, PERSIST_FDS_MANY);
    check_many(c, PERSIST_FDS_MANY);
    sharr_disconnect(c);
}

static void test_persistent_arrays_found_at_restart_leave_the_count_flat(void **state)
{
    struct harness *h = *state;
    sharr_t *c = harness_connect(h);
    int base = count_with(h, c);

    sharr_disconnect(c);
    create_many(h, PERSIST_FDS_MANY);
    harness_daemon_restart(h);
    c = harness_connect(h);
    assert_int_equal(harness_stats(c).arrays_persistent, PERSIST_FDS_MANY);
    assert_int_equal(launch_wait_fds(h->daemon, base), base);
    check_many(c, PERSIST_FDS_MANY);
    sharr_disconnect(c);
}

/* The old array loses its name to the new one: a new attach, even on the connection
 * holding the old one, gets the new array; the old mapping keeps the old contents. */
static void test_overwrite_gives_new_attaches_the_new_array_and_keeps_the_old_mapping(
    void **state)
{
    struct harness *h = *state;
    const uint64_t shape[1] = { 8 };
    const struct sharr_create_opts over = { .size = sizeof(over), .persist = 1, .overwrite = 1 };
    sharr_t *holder = harness_connect(h), *writer = harness_connect(h);
    sharr_array_t *old = NULL, *fresh = NULL, *again = NULL;

    assert_rc(sharr_create(holder, "ow", "<i4", 1, shape, &persist_opts, &old), 0);
    ((int32_t *)sharr_array_data(old))[0] = 1;
    assert_rc(sharr_create(writer, "ow", "<i4", 1, shape, &over, &fresh), 0);
    ((int32_t *)sharr_array_data(fresh))[0] = 2;
    assert_rc(sharr_open(holder, "ow", "r+", NULL, &again), 0);
    assert_int_equal(((int32_t *)sharr_array_data(again))[0], 2);
    assert_int_equal(((int32_t *)sharr_array_data(old))[0], 1);
    ((int32_t *)sharr_array_data(old))[0] = 3; /* reaches only the old, unnamed file */
    assert_int_equal(((int32_t *)sharr_array_data(again))[0], 2);
    assert_rc(sharr_close(again), 0);
    assert_rc(sharr_close(fresh), 0);
    assert_rc(sharr_close(old), 0);
    sharr_disconnect(writer);
    sharr_disconnect(holder);
}

/* sync reopens the file by name: it works on a named array; once the name is gone
 * the request finds no array (ENOENT), and the held mapping stays usable. */
static void test_sync_of_a_persistent_array_works_and_is_enoent_once_unlinked(void **state)
{
    struct harness *h = *state;
    const uint64_t shape[1] = { 1024 };
    sharr_t *c = harness_connect(h), *other = harness_connect(h);
    sharr_array_t *a = NULL;

    assert_rc(sharr_create(c, "synced", "<u1", 1, shape, &persist_opts, &a), 0);
    memset(sharr_array_data(a), 7, 1024);
    assert_rc(sharr_sync(a), 0);
    assert_rc(sharr_unlink(other, "synced"), 0);
    assert_rc(sharr_sync(a), -ENOENT);
    assert_int_equal(((unsigned char *)sharr_array_data(a))[1023], 7);
    assert_rc(sharr_close(a), 0);
    sharr_disconnect(other);
    sharr_disconnect(c);
}

/* sync acts on the attachment, not on whatever the name means now: once the name was
 * removed and created again, syncing the old attachment finds its own array unlinked
 * (ENOENT) instead of flushing the new array of that name; the new one syncs. */
static void test_sync_after_unlink_and_recreate_is_enoent_not_a_sync_of_the_new_array(
    void **state)
{
    struct harness *h = *state;
    const uint64_t shape[1] = { 64 };
    sharr_t *c = harness_connect(h), *other = harness_connect(h);
    sharr_array_t *old = NULL, *fresh = NULL;

    assert_rc(sharr_create(c, "again", "<u1", 1, shape, &persist_opts, &old), 0);
    assert_rc(sharr_sync(old), 0);
    assert_rc(sharr_unlink(other, "again"), 0);
    assert_rc(sharr_create(other, "again", "<u1", 1, shape, &persist_opts, &fresh), 0);
    assert_rc(sharr_sync(old), -ENOENT);
    assert_non_null(strstr(sharr_last_error(), "again"));
    assert_rc(sharr_sync(fresh), 0);
    assert_rc(sharr_close(fresh), 0);
    assert_rc(sharr_close(old), 0);
    sharr_disconnect(other);
    sharr_disconnect(c);
}

/* An attachment made before sharrd restarted has no handle the new daemon knows: its
 * sync flushes the attachment's own descriptor, which is the array's file, and the
 * data written before and after the restart is in the .npy. */
static void test_sync_after_a_daemon_restart_flushes_the_attachments_own_file(void **state)
{
    struct harness *h = *state;
    const uint64_t shape[1] = { 64 };
    sharr_t *c = harness_connect(h);
    sharr_array_t *a = NULL;
    struct sharr_info info;
    unsigned char got[2];

    assert_rc(sharr_create(c, "through", "<u1", 1, shape, &persist_opts, &a), 0);
    ((unsigned char *)sharr_array_data(a))[0] = 5;
    harness_daemon_restart(h);
    ((unsigned char *)sharr_array_data(a))[63] = 9;
    assert_rc(sharr_sync(a), 0);
    assert_rc(sharr_stat(c, "through", &info), 0);
    int fd = open(info.path, O_RDONLY | O_CLOEXEC);
    assert_true(fd >= 0);
    assert_int_equal(pread(fd, &got[0], 1, (off_t)info.offset), 1);
    assert_int_equal(pread(fd, &got[1], 1, (off_t)info.offset + 63), 1);
    close(fd);
    assert_int_equal(got[0], 5);
    assert_int_equal(got[1], 9);
    assert_rc(sharr_close(a), 0);
    sharr_disconnect(c);
}

/* A .npy replaced by hand in the store is never handed out for the array the daemon
 * knew: the reopen checks the inode and answers ESTALE. */
static void test_npy_replaced_behind_the_daemons_back_is_estale(void **state)
{
    struct harness *h = *state;
    const uint64_t shape[1] = { 16 };
    char path[256], other[256];
    sharr_t *c = harness_connect(h);
    sharr_array_t *a = NULL;

    assert_rc(sharr_create(c, "t", "<u1", 1, shape, &persist_opts, &a), 0);
    assert_rc(sharr_close(a), 0);
    sharr_disconnect(c); /* no cached description of t is left */
    snprintf(path, sizeof(path), "%s/t.npy", h->store);
    snprintf(other, sizeof(other), "%s/t.copy", h->store);
    assert_int_equal(link(path, other), 0);
    assert_int_equal(unlink(path), 0);
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fclose(f);
    c = harness_connect(h);
    assert_rc(sharr_open(c, "t", "r", NULL, &a), -ESTALE);
    assert_non_null(strstr(sharr_last_error(), "behind sharrd's back"));
    sharr_disconnect(c);
    assert_int_equal(unlink(path), 0);
    assert_int_equal(rename(other, path), 0);
}

int main(void)
{
#define T(fn) cmocka_unit_test_setup_teardown(fn, harness_setup, harness_teardown)
    const struct CMUnitTest tests[] = {
        T(test_persistent_arrays_leave_the_daemons_descriptor_count_flat),
        T(test_daemon_with_a_small_descriptor_limit_serves_more_persistent_arrays),
        T(test_persistent_arrays_found_at_restart_leave_the_count_flat),
        T(test_overwrite_gives_new_attaches_the_new_array_and_keeps_the_old_mapping),
        T(test_sync_of_a_persistent_array_works_and_is_enoent_once_unlinked),
        T(test_sync_after_unlink_and_recreate_is_enoent_not_a_sync_of_the_new_array),
        T(test_sync_after_a_daemon_restart_flushes_the_attachments_own_file),
        T(test_npy_replaced_behind_the_daemons_back_is_estale),
    };
#undef T
    return testskip_exit(cmocka_run_group_tests(tests, NULL, NULL));
}
