/* test_recovery_damaged.c — a record or data file that cannot be verified (edited, cut
 * short, a FIFO, another uid's file, inode 0, one file under two names) makes its
 * array damaged: its files and name are kept, it is counted in stats and logged, every
 * request naming it fails with EIO, other users are told nothing of what it holds,
 * and the daemon serves the rest.
 *
 * The test runs as root, as does its sharrd; arrays belong to two unprivileged uids
 * whose requests come from forked children (recovery.h).
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

static int child_create_volatile_kept(void *arg)
{
    (void)arg;
    const uint64_t shape[1] = { 16 };
    sharr_array_t *a = NULL;
    sharr_t *c = recovery_child_connect();
    CHILD_CHECK(sharr_create(c, "kept", "<u8", 1, shape, NULL, &a) == -EEXIST);
    CHILD_CHECK(strstr(sharr_last_error(), "kept is damaged") != NULL);
    sharr_disconnect(c);
    return 0;
}

/* A record that does not verify (edited, cut short) or data that does not match it:
 * the array is kept aside, logged, counted, its name reserved; repaired, it is back. */
static void test_array_that_does_not_verify_is_kept_aside_with_its_name(void **state)
{
    struct harness *h = *state;
    struct recovery_job kept = { "kept", OLD_N, 0600, 0, 11, 0 };
    recovery_as_user(U1, recovery_child_create, &kept);
    const struct recovery_job made[] = { { "fine", OLD_N, 0644, 0, 12, 0 } };
    recovery_make(h, U2, made, sizeof made / sizeof made[0]);
    char good[256], text[256];
    size_t ngood, n;
    recovery_read_file(h, "kept.meta", good, sizeof good, &ngood);
    char *perm = strstr(good, "perm=0600");
    assert_non_null(perm);

    const char *cases[] = { "edited", "cut", "empty", "no data", "bad header" };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char path[512], npy[512], aside[512];
        snprintf(path, sizeof path, "%s/kept.meta", h->store);
        snprintf(npy, sizeof npy, "%s/kept.npy", h->store);
        snprintf(aside, sizeof aside, "%s/kept.npy.aside", h->dir);
        memcpy(text, good, ngood + 1);
        if (i == 0)
            memcpy(strstr(text, "perm=0600"), "perm=0666", 9); /* its checksum stays */
        recovery_plant(h, "kept.meta", i == 1 ? "sharr-meta 2 ino=1" : i == 2 ? "" : text);
        if (i == 3)
            assert_int_equal(rename(npy, aside), 0);
        if (i == 4) {
            int fd = open(npy, O_WRONLY | O_CLOEXEC);
            assert_true(fd >= 0);
            assert_int_equal(pwrite(fd, "garbage!", 8, 0), 8);
            close(fd);
        }
        assert_int_equal(truncate(h->log, 0), 0);
        harness_daemon_start(h);

        sharr_t *c = harness_connect(h);
        struct sharr_stats st = harness_stats(c);
        sharr_disconnect(c);
        assert_int_equal(st.arrays_damaged, 1);
        assert_int_equal(st.arrays, 1);
        assert_true(harness_log_has(h, "array kept is damaged"));
        if (i == 0) {
            struct harness_run run;
            const char *const plain[] = { harness_cli_path(), "stats", NULL };
            const char *const json[] = { harness_cli_path(), "stats", "--json", NULL };
            harness_run(h, plain, &run);
            assert_int_equal(run.status, 0);
            assert_non_null(strstr(run.out, "damaged arrays    1\n"));
            harness_run_free(&run);
            harness_run(h, json, &run);
            assert_int_equal(run.status, 0);
            harness_check_json(h, run.out, "assert d['arrays_damaged'] == 1, d\n"
                                           "assert d['arrays'] == 1, d");
            harness_run_free(&run);
        }
        recovery_assert_damaged(h, "kept");
        struct recovery_job theirs = { "kept", NEW_N, 0644, 1, 13, -EEXIST };
        recovery_as_user(U2, recovery_child_create, &theirs);
        recovery_as_user(U2, child_create_volatile_kept, NULL);
        /* Not even its owner overwrites it unseen. */
        recovery_as_user(U1, recovery_child_create, &theirs);
        recovery_assert_array(h, "fine", OLD_N, 12, U2, 0644);
        /* Its files are as they were. */
        assert_int_equal(harness_daemon_stop(h), 0);
        recovery_read_file(h, "kept.meta", text, sizeof text, &n);
        if (i == 0)
            assert_non_null(strstr(text, "perm=0666"));
        else if (i >= 3)
            assert_true(n == ngood && memcmp(text, good, n) == 0);
        else
            assert_int_equal(n, i == 1 ? 18 : 0);
        struct stat sb;
        assert_int_equal(stat(i == 3 ? aside : npy, &sb), 0);
        assert_int_equal(sb.st_size, 4096 + OLD_N * 8);
        assert_int_equal(i == 3 ? stat(npy, &sb) : 0, i == 3 ? -1 : 0);

        /* Repaired by hand: the array is back as it was. */
        recovery_plant(h, "kept.meta", good);
        if (i == 3)
            assert_int_equal(rename(aside, npy), 0);
        if (i == 4) {
            int fd = open(npy, O_WRONLY | O_CLOEXEC);
            char head[8];
            assert_true(fd >= 0);
            /* The header sharr wrote starts with numpy's magic and version. */
            memcpy(head, "\x93NUMPY\x01\x00", 8);
            assert_int_equal(pwrite(fd, head, 8, 0), 8);
            close(fd);
        }
        harness_daemon_start(h);
        recovery_assert_array(h, "kept", OLD_N, 11, U1, 0600);
        assert_int_equal(harness_daemon_stop(h), 0);
    }
    harness_daemon_start(h);
}

/* What any request of another uid naming a damaged array is answered: each answer
 * must hold none of the words in secret. */
struct snoop {
    const char *name;
    const char *secret[4];
};

static int child_snoop(void *arg)
{
    const struct snoop *sn = arg;
    const uint64_t shape[1] = { 16 };
    struct sharr_create_opts persist = { .size = sizeof(persist), .persist = 1, .overwrite = 1 };
    sharr_array_t *a = NULL;
    struct sharr_info in;
    char said[6][512];
    sharr_t *c = recovery_child_connect();

    CHILD_CHECK(sharr_open(c, sn->name, "r", NULL, &a) == -EIO);
    snprintf(said[0], sizeof said[0], "%s", sharr_last_error());
    CHILD_CHECK(sharr_stat(c, sn->name, &in) == -EIO);
    snprintf(said[1], sizeof said[1], "%s", sharr_last_error());
    CHILD_CHECK(sharr_create(c, sn->name, "<u8", 1, shape, NULL, &a) == -EEXIST);
    snprintf(said[2], sizeof said[2], "%s", sharr_last_error());
    CHILD_CHECK(sharr_create(c, sn->name, "<u8", 1, shape, &persist, &a) == -EEXIST);
    snprintf(said[3], sizeof said[3], "%s", sharr_last_error());
    CHILD_CHECK(sharr_chmod(c, sn->name, 0666) == -EIO);
    snprintf(said[4], sizeof said[4], "%s", sharr_last_error());
    CHILD_CHECK(sharr_unlink(c, sn->name) == -EIO);
    snprintf(said[5], sizeof said[5], "%s", sharr_last_error());
    sharr_disconnect(c);
    for (int i = 0; i < 6; i++) {
        CHILD_CHECK(strstr(said[i], "is damaged") != NULL);
        for (int k = 0; k < 4 && sn->secret[k]; k++)
            if (strstr(said[i], sn->secret[k])) {
                fprintf(stderr, "another uid was told \"%s\"\n", said[i]);
                return 1;
            }
    }
    return 0;
}

/* A damaged array's answers to other users tell it is damaged, not what its record
 * or data hold: not the owner or bits of a record that does not verify (one whose
 * checksum matches but whose bits are not allowed), not the sizes in a data file
 * shorter than its header. The log has the whole story for the operator. */
static void test_damaged_array_tells_other_users_nothing_of_its_record_or_data(void **state)
{
    struct harness *h = *state;
    const struct recovery_job made[] = {
        { "setuid", OLD_N, 0600, 0, 51, 0 },
        { "short", OLD_N, 0600, 0, 52, 0 },
    };
    recovery_make(h, U1, made, sizeof made / sizeof made[0]);

    /* setuid: a record whose checksum matches, with bits 04640 */
    char path[512];
    struct stat sb;
    snprintf(path, sizeof path, "%s/setuid.npy", h->store);
    assert_int_equal(stat(path, &sb), 0);
    recovery_plant_record(h, "setuid.meta", (unsigned long long)sb.st_ino, "4640");
    /* short: its data cut to half of what its header describes */
    snprintf(path, sizeof path, "%s/short.npy", h->store);
    assert_int_equal(truncate(path, 4096 + OLD_N * 4), 0);
    assert_int_equal(truncate(h->log, 0), 0);
    harness_daemon_start(h);

    assert_true(harness_log_has(h, "4640"));
    assert_true(harness_log_has(h, "32768"));
    struct snoop s1 = { "setuid", { "4640", "640", "61001", NULL } };
    recovery_as_user(U2, child_snoop, &s1);
    struct snoop s2 = { "short", { "32768", "20480", "61001", NULL } };
    recovery_as_user(U2, child_snoop, &s2);
}

/* A record or data file that is not a regular file (a FIFO, which blocks whoever
 * opens it to read until a writer comes) is damaged, and the daemon does not wait
 * for it: it starts and serves the rest. */
static void test_record_that_is_a_fifo_is_damaged_and_never_waited_for(void **state)
{
    struct harness *h = *state;
    const struct recovery_job made[] = {
        { "fifo1", OLD_N, 0600, 0, 41, 0 },
        { "fifo2", OLD_N, 0600, 0, 42, 0 },
        { "fifo3", OLD_N, 0600, 0, 43, 0 },
    };
    recovery_make(h, U1, made, sizeof made / sizeof made[0]);
    const char *fifos[] = { "fifo1.meta", ".tmp-fifo2.meta", "fifo3.npy" };
    for (size_t i = 0; i < sizeof fifos / sizeof fifos[0]; i++) {
        char path[512];
        snprintf(path, sizeof path, "%s/%s", h->store, fifos[i]);
        unlink(path);
        assert_int_equal(mkfifo(path, 0600), 0);
    }
    /* fifo2: a version 1 record, so that recovery reads the .tmp- one beside it. */
    recovery_plant(h, "fifo2.meta", "sharr-meta 1 61001 61001 640 1700000000000000000\n");
    /* A daemon stuck in its recovery answers no hello, and a client waits for one
     * forever: the alarm (its default action ends the test) turns that into a failure. */
    alarm(60);
    harness_daemon_start(h);
    alarm(0);

    sharr_t *conn = harness_connect(h);
    struct sharr_stats st = harness_stats(conn);
    sharr_disconnect(conn);
    assert_int_equal(st.arrays_damaged, 2);
    recovery_assert_damaged(h, "fifo1");
    recovery_assert_damaged(h, "fifo3");
    recovery_assert_array(h, "fifo2", OLD_N, 42, U1, 0640);
}

/* A data file in the store that another uid owns (a hard link to that user's file
 * outside, or a copy that kept its owner) is not served: its owner could write it,
 * or fchmod a read-only descriptor sharrd hands out and reopen it for writing,
 * whatever the record's bits say. One with looser bits than 0600 is served and made
 * 0600, so no holder of a read-only descriptor can reopen it for writing. */
static void test_data_file_another_uid_owns_or_may_write_is_never_served_so(void **state)
{
    struct harness *h = *state;
    const struct recovery_job made[] = {
        { "lent", OLD_N, 0644, 0, 71, 0 },
        { "loose", OLD_N, 0644, 0, 72, 0 },
    };
    recovery_make(h, U2, made, sizeof made / sizeof made[0]);
    char outside[512], npy[512];
    snprintf(outside, sizeof outside, "%s/theirs.npy", h->dir);
    snprintf(npy, sizeof npy, "%s/lent.npy", h->store);
    recovery_plant_copy(h, "lent.npy", "lent.copy");
    recovery_plant_rename(h, "lent.copy", "../theirs.npy");
    assert_int_equal(chown(outside, U1, U1), 0);
    assert_int_equal(unlink(npy), 0);
    assert_int_equal(link(outside, npy), 0);
    snprintf(npy, sizeof npy, "%s/loose.npy", h->store);
    assert_int_equal(chmod(npy, 0666), 0);
    harness_daemon_start(h);

    sharr_t *c = harness_connect(h);
    struct sharr_stats st = harness_stats(c);
    sharr_disconnect(c);
    assert_int_equal(st.arrays_damaged, 1);
    recovery_assert_damaged(h, "lent");
    recovery_assert_array(h, "loose", OLD_N, 72, U2, 0644);
    struct stat sb;
    assert_int_equal(stat(npy, &sb), 0);
    assert_int_equal(sb.st_mode & 07777, 0600);
}

/* A record naming inode 0 (which no file has; recovery's "not a regular file") with
 * a directory where its data would be in flight: damaged, and its files stay exactly
 * as they are, nothing renamed. */
static void test_record_of_inode_0_renames_nothing(void **state)
{
    struct harness *h = *state;
    char path[512];
    assert_int_equal(harness_daemon_stop(h), 0);
    recovery_plant_record(h, "zero.meta", 0, "0600");
    snprintf(path, sizeof path, "%s/.inflight-zero.npy", h->store);
    assert_int_equal(mkdir(path, 0700), 0);
    harness_daemon_start(h);
    recovery_assert_damaged(h, "zero");
    struct stat sb;
    assert_int_equal(lstat(path, &sb), 0);
    assert_true(S_ISDIR(sb.st_mode));
    snprintf(path, sizeof path, "%s/zero.npy", h->store);
    assert_int_equal(lstat(path, &sb), -1);
}

/* Two names whose records name one file (a hard link made by hand, and the record
 * copied with it): the first in name order is served, the other is damaged, rather
 * than two arrays of their own owners and bits sharing each other's data. */
static void test_two_names_of_one_data_file_are_not_both_served(void **state)
{
    struct harness *h = *state;
    const struct recovery_job made[] = { { "twin1", OLD_N, 0600, 0, 81, 0 } };
    recovery_make(h, U1, made, sizeof made / sizeof made[0]);
    char from[512], to[512];
    snprintf(from, sizeof from, "%s/twin1.npy", h->store);
    snprintf(to, sizeof to, "%s/twin2.npy", h->store);
    assert_int_equal(link(from, to), 0);
    recovery_plant_copy(h, "twin1.meta", "twin2.meta");
    harness_daemon_start(h);
    sharr_t *c = harness_connect(h);
    struct sharr_stats st = harness_stats(c);
    sharr_disconnect(c);
    assert_int_equal(st.arrays_damaged, 1);
    recovery_assert_array(h, "twin1", OLD_N, 81, U1, 0600);
    recovery_assert_damaged(h, "twin2");
}

#define T(fn) cmocka_unit_test_setup_teardown(fn, recovery_setup, harness_teardown)

int main(void)
{
    const struct CMUnitTest tests[] = {
        T(test_array_that_does_not_verify_is_kept_aside_with_its_name),
        T(test_record_that_is_a_fifo_is_damaged_and_never_waited_for),
        T(test_damaged_array_tells_other_users_nothing_of_its_record_or_data),
        T(test_data_file_another_uid_owns_or_may_write_is_never_served_so),
        T(test_record_of_inode_0_renames_nothing),
        T(test_two_names_of_one_data_file_are_not_both_served),
    };
    return testskip_exit(cmocka_run_group_tests(tests, NULL, NULL));
}
