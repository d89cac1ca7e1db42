/* test_disk.c — full disk, full memory, and sync.
 *
 * A create larger than the free space of its store (a 64 MiB tmpfs mounted as the
 * store; skipped when mounting is not permitted) or than the free memory fails at
 * create with ENOSPC and leaves nothing; what exists stays intact and fully mapped.
 * `sharr sync` returns once the data is on disk, where numpy reads it without the
 * daemon.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <unistd.h>

#include "fault.h"
#include "testskip.h"

#define MIB (1024u * 1024u)

static void test_persistent_create_beyond_the_disk_fails_with_enospc(void **state)
{
    struct harness *h = *state;
    char names[1024];

    harness_daemon_stop(h);
    if (mount("none", h->store, "tmpfs", 0, "size=64m,mode=0700") < 0) {
        int e = errno;
        harness_daemon_start(h);
        testskip("cannot mount a 64 MiB tmpfs as the store (%s): needs root with "
                 "CAP_SYS_ADMIN", strerror(e));
    }
    harness_daemon_start(h);
    sharr_t *c = harness_connect(h);
    sharr_array_t *keep, *a = NULL;
    struct sharr_create_opts o = { .size = sizeof(o), .persist = 1 };
    const uint64_t small[1] = { 16 * MIB }, big[1] = { 100 * MIB }, rest[1] = { 60 * MIB };

    assert_rc(sharr_create(c, "keep", "|u1", 1, small, &o, &keep), 0);
    fault_fill(sharr_array_data(keep), 16 * MIB, 5);
    assert_rc(sharr_create(c, "big", "|u1", 1, big, &o, &a), -ENOSPC);
    assert_non_null(strstr(sharr_last_error(), "no space"));
    assert_rc(sharr_create(c, "rest", "|u1", 1, rest, &o, &a), -ENOSPC);
    /* An overwrite that does not fit leaves the old array. */
    struct sharr_create_opts ow = { .size = sizeof(ow), .persist = 1, .overwrite = 1 };
    assert_rc(sharr_create(c, "keep", "|u1", 1, big, &ow, &a), -ENOSPC);
    struct sharr_info in;
    assert_rc(sharr_stat(c, "keep", &in), 0);
    assert_int_equal(in.shape[0], 16 * MIB);
    assert_int_equal(fault_store_files(h, names, sizeof(names)), 2);
    assert_int_equal(harness_stats(c).arrays, 1);
    assert_true(fault_check(sharr_array_data(keep), 16 * MIB, 5));
    /* What fits is fully backed: writing every page raises no SIGBUS. */
    assert_rc(sharr_create(c, "fits", "|u1", 1, small, &o, &a), 0);
    memset(sharr_array_data(a), 0x5a, 16 * MIB);
    assert_rc(sharr_sync(a), 0);
    assert_rc(sharr_close(a), 0);
    assert_rc(sharr_close(keep), 0);
    sharr_disconnect(c);
    assert_int_equal(harness_daemon_stop(h), 0);
    assert_int_equal(umount(h->store), 0);
    harness_daemon_start(h);
}

static void test_volatile_create_beyond_memory_fails_with_enospc(void **state)
{
    struct harness *h = *state;
    sharr_t *c = harness_connect(h);
    sharr_array_t *a = NULL;
    const uint64_t huge[2] = { 1u << 20, 1u << 20 }; /* 1 TiB of |u1 */

    assert_rc(sharr_create(c, "huge", "|u1", 2, huge, NULL, &a), -ENOSPC);
    assert_non_null(strstr(sharr_last_error(), "memory"));
    assert_int_equal(harness_stats(c).arrays, 0);
    struct sharr_info in;
    assert_rc(sharr_stat(c, "huge", &in), -ENOENT);
    sharr_disconnect(c);
}

static void test_sync_then_numpy_loads_without_the_daemon(void **state)
{
    struct harness *h = *state;
    sharr_t *c = harness_connect(h);
    sharr_array_t *a;
    struct sharr_create_opts o = { .size = sizeof(o), .persist = 1 };
    const uint64_t shape[2] = { 1000, 300 };
    struct harness_run r;
    char path[SHARR_PATH_MAX], script[SHARR_PATH_MAX + 256];

    assert_rc(sharr_create(c, "durable", "<i8", 2, shape, &o, &a), 0);
    int64_t *v = sharr_array_data(a);
    for (int64_t i = 0; i < 300000; i++)
        v[i] = i * 3;
    snprintf(path, sizeof(path), "%s", sharr_array_info(a)->path);
    const char *sync_argv[] = { harness_cli_path(), "--socket", h->sock, "sync", "durable", NULL };
    harness_run(h, sync_argv, &r);
    assert_int_equal(r.status, 0);
    harness_run_free(&r);
    const char *bad_argv[] = { harness_cli_path(), "--socket", h->sock, "sync", "nothere", NULL };
    harness_run(h, bad_argv, &r);
    assert_int_equal(r.status, 1);
    assert_non_null(strstr(r.err, "ENOENT"));
    harness_run_free(&r);
    assert_rc(sharr_sync(a), 0);
    assert_rc(sharr_close(a), 0);
    sharr_disconnect(c);
    fault_daemon_kill(h);

    /* python3 and numpy are prerequisites (scripts/deps.sh): without them this fails. */
    snprintf(script, sizeof(script),
             "import numpy\n"
             "a = numpy.load('%s', mmap_mode='r')\n"
             "assert a.shape == (1000, 300) and a.dtype == numpy.int64\n"
             "assert (a.ravel() == numpy.arange(300000) * 3).all()\n", path);
    const char *py_argv[] = { "/usr/bin/python3", "-c", script, NULL };
    harness_run(h, py_argv, &r);
    if (r.status != 0)
        print_error("numpy.load in /usr/bin/python3 (exit %d; scripts/deps.sh installs "
                    "python3-numpy): %s\n", r.status, r.err);
    assert_int_equal(r.status, 0);
    harness_run_free(&r);
    fault_daemon_start(h, NULL, NULL);
    c = harness_connect(h);
    assert_rc(sharr_open(c, "durable", "r", NULL, &a), 0);
    assert_true(((const int64_t *)sharr_array_data(a))[299999] == 299999 * 3);
    assert_rc(sharr_close(a), 0);
    sharr_disconnect(c);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_persistent_create_beyond_the_disk_fails_with_enospc,
                                        harness_setup, harness_teardown),
        cmocka_unit_test_setup_teardown(test_volatile_create_beyond_memory_fails_with_enospc,
                                        harness_setup, harness_teardown),
        cmocka_unit_test_setup_teardown(test_sync_then_numpy_loads_without_the_daemon,
                                        harness_setup, harness_teardown),
    };
    return testskip_exit(cmocka_run_group_tests(tests, NULL, NULL));
}
