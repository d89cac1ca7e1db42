/* test_crash.c — create, overwrite, adopt and unlink are atomic across a daemon killed with
 * SIGKILL: after each restart every array is complete with its metadata or absent,
 * and nothing is left in the store.
 *
 * Kill points come two ways: the daemon's fault hook ($SHARR_FAULT_POINT) stops it
 * at each named step of a create, an overwrite and an unlink, where the outcome is
 * known exactly; then timed SIGKILLs land at arbitrary moments of a stream of large
 * persistent overwrites. The hook is sharrd-test's alone: sharrd, as installed,
 * passes every fault point.
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "fault.h"
#include "testskip.h"

#define OLD_N 4096u        /* elements of the array before an overwrite */
#define NEW_N 8192u        /* ... and after */
#define BIG_N (8u << 20)   /* timed kills: 64 MiB of <u8 per create */

static const uint64_t old_shape[1] = { OLD_N }, new_shape[1] = { NEW_N };

static void make_old(struct harness *h, const char *name)
{
    sharr_t *c = harness_connect(h);
    sharr_array_t *a;
    struct sharr_create_opts o = { .size = sizeof(o), .persist = 1, .overwrite = 1 };
    assert_rc(sharr_create(c, name, "<u8", 1, old_shape, &o, &a), 0);
    fault_fill(sharr_array_data(a), OLD_N * 8, 1);
    assert_rc(sharr_sync(a), 0);
    assert_rc(sharr_close(a), 0);
    sharr_disconnect(c);
}

/* 1: name holds the old array intact; 2: the new one; 0: absent. Fails on anything
 * else (a half-made array). */
static int which(struct harness *h, const char *name)
{
    sharr_t *c = harness_connect(h);
    sharr_array_t *a = NULL;
    int rc = sharr_open(c, name, "r", NULL, &a), kind = 0;
    if (rc == -ENOENT) {
        sharr_disconnect(c);
        return 0;
    }
    assert_rc(rc, 0);
    const struct sharr_info *in = sharr_array_info(a);
    assert_int_equal(in->ndim, 1);
    assert_true(in->persist);
    assert_int_equal(in->perm, 0600);
    assert_int_equal(in->uid, getuid());
    if (in->shape[0] == OLD_N) {
        assert_true(fault_check(sharr_array_data(a), OLD_N * 8, 1));
        kind = 1;
    } else {
        assert_int_equal(in->shape[0], NEW_N);
        kind = 2;
    }
    assert_rc(sharr_close(a), 0);
    sharr_disconnect(c);
    return kind;
}

static int log_has(const struct harness *h, const char *what)
{
    char buf[1 << 16];
    FILE *f = fopen(h->log, "re");
    size_t n = f ? fread(buf, 1, sizeof(buf) - 1, f) : 0;
    if (f)
        fclose(f);
    buf[n] = '\0';
    return strstr(buf, what) != NULL;
}

/* The store holds exactly the .npy and .meta of the arrays that exist. */
static void assert_clean(struct harness *h, int narrays)
{
    char names[4096];
    int n = fault_store_files(h, names, sizeof(names));
    if (n != 2 * narrays)
        print_error("store holds %d files, want %d: %s\n", n, 2 * narrays, names);
    assert_int_equal(n, 2 * narrays);
}

static void test_fault_points_leave_old_or_new(void **state)
{
    static const struct {
        const char *point;
        int committed;
    } points[] = {
        { "create-opened", 0 },      { "create-reserved", 0 },   { "create-flushed", 0 },
        { "create-meta-written", 0 }, { "create-committed", 1 }, { "create-done", 1 },
    };
    struct harness *h = *state;
    int kills = 0;

    for (size_t i = 0; i < sizeof(points) / sizeof(points[0]); i++) {
        for (int overwrite = 0; overwrite <= 1; overwrite++) {
            const char *name = overwrite ? "over" : "fresh";
            harness_daemon_stop(h);
            fault_daemon_start(h, NULL, NULL);
            if (overwrite)
                make_old(h, name);
            fault_daemon_kill(h);
            fault_daemon_start(h, points[i].point, NULL);

            sharr_t *c = harness_connect(h);
            sharr_array_t *a = NULL;
            struct sharr_create_opts o = { .size = sizeof(o), .persist = 1,
                                           .overwrite = overwrite };
            int rc = sharr_create(c, name, "<u8", 1, new_shape, &o, &a);
            assert_int_not_equal(rc, 0);
            sharr_disconnect(c);
            assert_int_equal(fault_daemon_reap(h), 1);
            kills++;

            assert_int_equal(truncate(h->log, 0), 0);
            fault_daemon_start(h, NULL, NULL);
            int kind = which(h, name);
            if (kind != (points[i].committed ? 2 : overwrite))
                print_error("killed at %s (%s): found %d\n", points[i].point, name, kind);
            assert_int_equal(kind, points[i].committed ? 2 : overwrite);
            assert_clean(h, kind != 0);
            /* Leftovers were swept, and said so in the log. */
            if (i < 5)
                assert_true(log_has(h, i == 4 ? "completed the interrupted create"
                                               : "left by an interrupted create"));
            /* Start the next case from an empty store. */
            c = harness_connect(h);
            if (kind)
                assert_rc(sharr_unlink(c, name), 0);
            sharr_disconnect(c);
        }
    }
    /* An unlink killed between its commit (the .meta gone) and the rename of the
     * .npy: the name is gone and the .npy is swept at start. */
    make_old(h, "gone");
    fault_daemon_kill(h);
    fault_daemon_start(h, "unlink-uncommitted", NULL);
    sharr_t *c = harness_connect(h);
    assert_int_not_equal(sharr_unlink(c, "gone"), 0);
    sharr_disconnect(c);
    assert_int_equal(fault_daemon_reap(h), 1);
    kills++;
    fault_daemon_start(h, NULL, NULL);
    assert_int_equal(which(h, "gone"), 0);
    assert_clean(h, 0);
    print_message("%d fault points, each ending in a complete array or none\n", kills);
}

/* A (4, 2) <f8 file as numpy's np.save writes it: 128-byte header, then 0..7. */
static void write_numpy_file(const char *path)
{
    static const char dict[] = "{'descr': '<f8', 'fortran_order': False, 'shape': (4, 2), }";
    unsigned char buf[128 + 8 * sizeof(double)];

    memset(buf, ' ', 128);
    memcpy(buf, "\x93NUMPY\x01\x00", 8);
    buf[8] = 118;
    buf[9] = 0;
    memcpy(buf + 10, dict, sizeof dict - 1);
    buf[127] = '\n';
    for (int i = 0; i < 8; i++) {
        double v = i;
        memcpy(buf + 128 + i * sizeof v, &v, sizeof v);
    }
    FILE *f = fopen(path, "we");
    assert_non_null(f);
    assert_int_equal(fwrite(buf, 1, sizeof buf, f), sizeof buf);
    assert_int_equal(fclose(f), 0);
}

/* An adopt killed at each step: after a restart the file is the array (committed,
 * data at 128, the file's own inode) or the array is absent and the file is as it
 * was, with one link; nothing else is left in the store. */
static void test_adopt_fault_points_leave_the_file_or_the_array(void **state)
{
    static const struct {
        const char *point;
        int committed;
    } points[] = {
        { "adopt-linked", 0 },     { "create-meta-written", 0 },
        { "create-committed", 1 }, { "create-done", 1 },
    };
    struct harness *h = *state;
    char src[256];

    snprintf(src, sizeof src, "%s/adoptee.npy", h->dir);
    for (size_t i = 0; i < sizeof(points) / sizeof(points[0]); i++) {
        struct stat before, after;
        write_numpy_file(src);
        assert_int_equal(stat(src, &before), 0);
        fault_daemon_kill(h);
        fault_daemon_start(h, points[i].point, NULL);
        sharr_t *c = harness_connect(h);
        int fd = open(src, O_RDWR | O_CLOEXEC);
        assert_true(fd >= 0);
        assert_int_not_equal(sharr_adopt(c, "adopted", fd, NULL, NULL), 0);
        close(fd);
        sharr_disconnect(c);
        assert_int_equal(fault_daemon_reap(h), 1);
        fault_daemon_start(h, NULL, NULL);

        c = harness_connect(h);
        sharr_array_t *a = NULL;
        int rc = sharr_open(c, "adopted", "r", NULL, &a);
        assert_int_equal(stat(src, &after), 0);
        assert_int_equal(after.st_ino, before.st_ino);
        if (points[i].committed) {
            assert_rc(rc, 0);
            assert_int_equal(sharr_array_info(a)->offset, 128);
            assert_true(((const double *)sharr_array_data(a))[7] == 7.0);
            assert_int_equal(after.st_nlink, 2); /* the client never removed its path */
            assert_rc(sharr_close(a), 0);
            assert_clean(h, 1);
            assert_rc(sharr_unlink(c, "adopted"), 0);
        } else {
            if (rc != -ENOENT)
                print_error("killed at %s: the array exists\n", points[i].point);
            assert_int_equal(rc, -ENOENT);
            assert_int_equal(after.st_nlink, 1);
            assert_clean(h, 0);
        }
        sharr_disconnect(c);
        assert_int_equal(unlink(src), 0);
    }
    print_message("%zu adopt fault points, each ending in the array or the file alone\n",
                  sizeof(points) / sizeof(points[0]));
}

/* Every fault point of the store and of its recovery, as daemon/STORE.md lists them. */
static const char *const all_points[] = {
    "create-opened",  "create-reserved",  "create-flushed", "meta-opened",
    "meta-written",   "create-meta-written", "create-committed", "create-done",
    "adopt-linked",   "adopt-flushed",    "meta-committed", "unlink-uncommitted",
    "unlink-trashed", "sync-opened",      "sync-flushed",   "recover-step",
};

/* The daemon as installed (sharrd, not sharrd-test) has no fault hook: with
 * $SHARR_FAULT_POINT set to any point, recovery (of a leftover record), create,
 * adopt, chmod, sync and unlink all pass that point and the daemon goes on serving. */
static void test_installed_sharrd_ignores_every_fault_point(void **state)
{
    struct harness *h = *state;
    const uint64_t shape[1] = { 1000 };
    char src[256], leftover[300];

    snprintf(src, sizeof src, "%s/adoptee.npy", h->dir);
    snprintf(leftover, sizeof leftover, "%s/.tmp-left.meta", h->store);
    for (size_t i = 0; i < sizeof(all_points) / sizeof(all_points[0]); i++) {
        fault_daemon_kill(h);
        FILE *f = fopen(leftover, "we");
        assert_non_null(f);
        assert_int_equal(fclose(f), 0);
        fault_daemon_start_program(h, harness_sharrd_path(), all_points[i], NULL);
        assert_int_equal(access(leftover, F_OK), -1); /* recovery removed it */
        sharr_t *c = harness_connect(h);
        sharr_array_t *a = NULL;
        struct sharr_create_opts o = { .size = sizeof(o), .persist = 1, .overwrite = 1 };
        assert_rc(sharr_create(c, "made", "<u8", 1, shape, &o, &a), 0);
        assert_rc(sharr_close(a), 0);
        assert_rc(sharr_create(c, "made", "<u8", 1, shape, &o, &a), 0); /* an overwrite */
        assert_rc(sharr_sync(a), 0);
        assert_rc(sharr_close(a), 0);
        assert_rc(sharr_chmod(c, "made", 0640), 0);
        assert_rc(sharr_unlink(c, "made"), 0);
        write_numpy_file(src);
        int fd = open(src, O_RDWR | O_CLOEXEC);
        assert_true(fd >= 0);
        assert_rc(sharr_adopt(c, "adopted", fd, NULL, NULL), 0);
        close(fd);
        assert_rc(sharr_unlink(c, "adopted"), 0);
        assert_int_equal(unlink(src), 0);
        assert_int_equal(harness_stats(c).arrays, 0); /* still serving after it all */
        sharr_disconnect(c);
    }
    print_message("%zu fault points set, none stopped the installed sharrd\n",
                  sizeof(all_points) / sizeof(all_points[0]));
}

static int overwriter(int rfd, int wfd, void *arg)
{
    (void)rfd;
    (void)arg;
    sharr_t *c = NULL;
    const uint64_t big[1] = { BIG_N };
    struct sharr_create_opts o = { .size = sizeof(o), .persist = 1, .overwrite = 1 };
    CHILD_CHECK(sharr_connect(NULL, &c) == 0);
    CHILD_CHECK(chan_put(wfd, "R", 1) == 0);
    for (uint64_t i = 0;; i++) {
        sharr_array_t *a = NULL;
        char name[16];
        snprintf(name, sizeof(name), "big%d", (int)(i % 3));
        if (sharr_create(c, name, "|u1", 1, i % 2 ? big : old_shape, &o, &a) < 0)
            break;
        sharr_close(a);
    }
    sharr_disconnect(c);
    return 0;
}

static void test_timed_kills_during_large_overwrites(void **state)
{
    struct harness *h = *state;
    int rounds = (int)(40 * fault_scale());
    if (rounds < 5)
        rounds = 5;
    srand(12345);
    for (int i = 0; i < rounds; i++) {
        struct harness_child ch;
        char ack;
        harness_child_start(h, &ch, overwriter, NULL);
        harness_get(ch.from, &ack, 1);
        struct timespec ts = { 0, (rand() % 40) * 1000000L };
        nanosleep(&ts, NULL);
        fault_daemon_kill(h);
        harness_child_wait(h, &ch);
        fault_daemon_start(h, NULL, NULL);

        sharr_t *c = harness_connect(h);
        struct sharr_stats st = harness_stats(c);
        int n = 0;
        for (int k = 0; k < 3; k++) {
            struct sharr_info in;
            char name[16];
            snprintf(name, sizeof(name), "big%d", k);
            int rc = sharr_stat(c, name, &in);
            if (rc == -ENOENT)
                continue;
            assert_rc(rc, 0);
            assert_true(in.shape[0] == BIG_N || in.shape[0] == OLD_N);
            sharr_array_t *a;
            assert_rc(sharr_open(c, name, "r", NULL, &a), 0);
            assert_rc(sharr_close(a), 0);
            n++;
        }
        assert_int_equal(st.arrays, n);
        sharr_disconnect(c);
        assert_clean(h, n);
    }
    print_message("%d timed kills during large overwrites\n", rounds);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_fault_points_leave_old_or_new, harness_setup,
                                        harness_teardown),
        cmocka_unit_test_setup_teardown(test_adopt_fault_points_leave_the_file_or_the_array,
                                        harness_setup, harness_teardown),
        cmocka_unit_test_setup_teardown(test_timed_kills_during_large_overwrites,
                                        harness_setup, harness_teardown),
        cmocka_unit_test_setup_teardown(test_installed_sharrd_ignores_every_fault_point,
                                        harness_setup, harness_teardown),
    };
    return testskip_exit(cmocka_run_group_tests(tests, NULL, NULL));
}
