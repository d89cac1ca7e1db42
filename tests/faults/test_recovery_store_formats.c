/* test_recovery_store_formats.c — stores written otherwise than by this daemon still
 * load: one of the record format before this one (whose cut-short chmod only ever
 * narrows the bits) and one copied file by file to new inodes.
 *
 * The test runs as root, as does its sharrd; arrays belong to an unprivileged uid whose
 * requests come from forked children (recovery.h).
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "model.h"
#include "recovery.h"
#include "testskip.h"

/* A store written by sharr before records named their data (version 1 records)
 * loads; an older daemon's cut-short chmod only ever narrows the bits. */
static void test_store_of_version_1_records_loads_and_never_widens(void **state)
{
    struct harness *h = *state;
    const struct recovery_job made[] = {
        { "old1", OLD_N, 0600, 0, 21, 0 },
        { "old2", OLD_N, 0600, 0, 22, 0 },
    };
    recovery_make(h, U1, made, sizeof made / sizeof made[0]);
    recovery_plant(h, "old1.meta", "sharr-meta 1 61001 61001 640 1700000000000000000\n");
    recovery_plant(h, "old2.meta", "sharr-meta 1 61001 61001 644 1700000000000000000\n");
    recovery_plant(h, ".tmp-old2.meta", "sharr-meta 1 61001 61001 600 1700000000000000000\n");
    harness_daemon_start(h);
    recovery_assert_array(h, "old1", OLD_N, 21, U1, 0640);
    recovery_assert_array(h, "old2", OLD_N, 22, U1, 0600);
    /* A chmod writes the record of today. */
    sharr_t *c = harness_connect(h);
    assert_rc(sharr_chmod(c, "old1", 0600), 0);
    sharr_disconnect(c);
    char text[256];
    size_t n;
    recovery_read_file(h, "old1.meta", text, sizeof text, &n);
    assert_memory_equal(text, "sharr-meta 2 ", 13);
    recovery_read_file(h, "old2.meta", text, sizeof text, &n);
    assert_non_null(strstr(text, "perm=0600"));
    harness_daemon_restart(h);
    recovery_assert_array(h, "old1", OLD_N, 21, U1, 0600);
    recovery_assert_array(h, "old2", OLD_N, 22, U1, 0600);
    char why[1024];
    assert_int_equal(model_store_clean(h, 2, why, sizeof why), 0);
}

/* Copied file by file (new inodes), the store still loads, and records them. */
static void test_store_copied_file_by_file_loads_and_records_the_new_inodes(void **state)
{
    struct harness *h = *state;
    const struct recovery_job made[] = { { "copied", OLD_N, 0640, 0, 31, 0 } };
    recovery_make(h, U1, made, sizeof made / sizeof made[0]);
    char from[512], to[512], cmd[1200];
    snprintf(from, sizeof from, "%s/copied.npy", h->store);
    snprintf(to, sizeof to, "%s/copied.npy.new", h->store);
    snprintf(cmd, sizeof cmd, "cp -p '%s' '%s'", from, to);
    assert_int_equal(system(cmd), 0);
    assert_int_equal(rename(to, from), 0);
    assert_int_equal(truncate(h->log, 0), 0);
    harness_daemon_start(h);
    recovery_assert_array(h, "copied", OLD_N, 31, U1, 0640);
    assert_true(harness_log_has(h, "recording its new inode"));
    struct stat sb;
    char text[256], want[64];
    size_t n;
    assert_int_equal(stat(from, &sb), 0);
    recovery_read_file(h, "copied.meta", text, sizeof text, &n);
    snprintf(want, sizeof want, "ino=%llu ", (unsigned long long)sb.st_ino);
    assert_non_null(strstr(text, want));
}

#define T(fn) cmocka_unit_test_setup_teardown(fn, recovery_setup, harness_teardown)

int main(void)
{
    const struct CMUnitTest tests[] = {
        T(test_store_of_version_1_records_loads_and_never_widens),
        T(test_store_copied_file_by_file_loads_and_records_the_new_inodes),
    };
    return testskip_exit(cmocka_run_group_tests(tests, NULL, NULL));
}
