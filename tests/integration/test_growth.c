/* test_growth.c — a writer that grows or shrinks a persistent array's file behind the
 * daemon's back (fallocate, ftruncate through its r+ descriptor: the kernel lets it).
 *
 * The daemon notices at stat, sync, at start, and while a process may write to the
 * file (a writer attached, or one that kept its descriptor, also across a restart) at
 * list, stats, a create under a byte quota and by a sweep; it charges the blocks
 * beyond the data to the owner, refuses the owner's creates until the file is back
 * within the quota, and reports a file shorter than its data as damaged.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "asuser.h"
#include "launch.h"
#include "testskip.h"
#include "proto_limits.h"

#define MIB (1024ull * 1024)

static struct harness *g_h;

static const struct sharr_create_opts persist = { .size = sizeof(persist), .persist = 1 };

static int create_rc(sharr_t *c, const char *name, uint64_t n, const struct sharr_create_opts *o)
{
    const uint64_t shape[1] = { n };
    sharr_array_t *a = NULL;
    int rc = sharr_create(c, name, "|u1", 1, shape, o, &a);
    sharr_close(a);
    return rc;
}

/* Does the daemon's log hold text? */
static int log_has(const struct harness *h, const char *text)
{
    FILE *f = fopen(h->log, "re");
    char line[1024];
    int found = 0;
    while (f && !found && fgets(line, sizeof line, f))
        found = strstr(line, text) != NULL;
    if (f)
        fclose(f);
    return found;
}

/* Poll the log (no request to the daemon) until it holds text; bounded. */
static int log_wait(const struct harness *h, const char *text)
{
    for (int i = 0; i < 4000; i++) {
        if (log_has(h, text))
            return 1;
        struct timespec ts = { 0, 5 * 1000 * 1000L };
        nanosleep(&ts, NULL);
    }
    return 0;
}

static int child_grows_behind_the_quota(void *arg)
{
    (void)arg;
    sharr_t *c = NULL;
    sharr_array_t *a = NULL;
    const uint64_t shape[1] = { 8 };
    CHILD_CHECK(sharr_connect(g_h->sock, &c) == 0);
    CHILD_CHECK(sharr_create(c, "grown", "|u1", 1, shape, &persist, &a) == 0);
    int fd = sharr_array_fd(a);
    /* The kernel lets the holder of an r+ descriptor take disk space. */
    CHILD_CHECK(fallocate(fd, 0, 0, 16 * MIB) == 0);
    CHILD_CHECK(create_rc(c, "next", 8, &persist) == -EDQUOT);
    CHILD_CHECK(strstr(sharr_last_error(), "--max-bytes-per-uid") != NULL);
    CHILD_CHECK(create_rc(c, "next", 8, NULL) == -EDQUOT);
    struct sharr_stats st;
    CHILD_CHECK(sharr_stats(c, &st) == 0);
    /* All the file holds beyond the two pages its header and data take. */
    CHILD_CHECK(st.bytes_grown >= 16 * MIB - 2 * PROTO_DATA_OFFSET);
    CHILD_CHECK(st.bytes == 8 + st.bytes_grown);
    struct sharr_info info;
    CHILD_CHECK(sharr_stat(c, "grown", &info) == 0);
    CHILD_CHECK(info.grown == st.bytes_grown && !info.damaged);
    /* Back to its size: back within bounds. */
    CHILD_CHECK(ftruncate(fd, PROTO_DATA_OFFSET + 8) == 0);
    CHILD_CHECK(create_rc(c, "next", 8, &persist) == 0);
    CHILD_CHECK(sharr_stats(c, &st) == 0);
    CHILD_CHECK(st.bytes == 16 && st.bytes_grown == 0);
    sharr_close(a);
    sharr_disconnect(c);
    return 0;
}

/* fallocate through the r+ descriptor of a persistent array, with a 1 MiB quota:
 * the owner's next create fails with EDQUOT and stats show the bytes; once the file
 * is back to its size, creates work again. */
static void test_fallocate_through_rplus_is_charged_and_refuses_the_owners_creates(void **state)
{
    struct harness *h = g_h = *state;
    const char *const flags[] = { "--max-bytes-per-uid", "1M", NULL };
    launch_daemon(h, flags, 0);
    asuser_open_dir(h);
    assert_int_equal(asuser_run(h, ASUSER_UID, ASUSER_GID, child_grows_behind_the_quota, NULL), 0);
    assert_true(log_has(h, "grown"));
}

/* A file cut below its data (ftruncate) is reported as damaged by stat and in the
 * log; restored to its size, it is whole again. */
static void test_file_shrunk_below_its_data_is_reported_damaged(void **state)
{
    struct harness *h = *state;
    sharr_t *c = harness_connect(h);
    const uint64_t shape[1] = { 64 * 1024 };
    sharr_array_t *a = NULL;
    assert_rc(sharr_create(c, "cut", "|u1", 1, shape, &persist, &a), 0);
    struct sharr_info info;
    assert_rc(sharr_stat(c, "cut", &info), 0);
    assert_int_equal(info.damaged, 0);
    assert_int_equal(ftruncate(sharr_array_fd(a), 4096), 0);
    assert_rc(sharr_stat(c, "cut", &info), 0);
    assert_int_equal(info.damaged, 1);
    assert_int_equal(harness_stats(c).arrays_damaged, 1);
    const char *argv[] = { harness_cli_path(), "info", "cut", NULL };
    struct harness_run r;
    harness_run(h, argv, &r);
    assert_int_equal(r.status, 0);
    assert_non_null(strstr(r.out, "damaged: its file is shorter than its data"));
    harness_run_free(&r);
    assert_true(log_has(h, "persistent array cut is damaged"));
    /* list and sync say so too. */
    struct sharr_info page[4];
    size_t n = 0;
    int more = 0;
    assert_rc(sharr_list(c, NULL, page, 4, &n, &more), 0);
    assert_int_equal(n, 1);
    assert_int_equal(page[0].damaged, 1);
    /* Back to its size (zeros where it was cut): whole again. */
    assert_int_equal(ftruncate(sharr_array_fd(a), PROTO_DATA_OFFSET + 64 * 1024), 0);
    assert_rc(sharr_sync(a), 0);
    assert_int_equal(harness_stats(c).arrays_damaged, 0);
    assert_rc(sharr_stat(c, "cut", &info), 0);
    assert_int_equal(info.damaged, 0);
    sharr_close(a);
    sharr_disconnect(c);
}

/* Is the daemon asleep with no timer, waiting on its sockets alone? Its blocked
 * epoll_wait/epoll_pwait then has the timeout -1, an int (/proc/PID/syscall; x86-64
 * and aarch64 numbers). Bounded polling until it is; returns 1 if seen. */
static int daemon_sleeps_without_timer(pid_t pid)
{
    char path[64], text[256];
    snprintf(path, sizeof path, "/proc/%d/syscall", (int)pid);
    for (int i = 0; i < 4000; i++) {
        FILE *f = fopen(path, "re");
        long nr = -1;
        unsigned long long a[4] = { 0 };
        if (f && fgets(text, sizeof text, f) &&
            sscanf(text, "%ld %llx %llx %llx %llx", &nr, &a[0], &a[1], &a[2], &a[3]) == 5 &&
            (nr == 232 || nr == 281 || nr == 22) && (a[3] & 0xffffffffull) == 0xffffffffull) {
            fclose(f);
            return 1;
        }
        if (f)
            fclose(f);
        struct timespec ts = { 0, 5 * 1000 * 1000L };
        nanosleep(&ts, NULL);
    }
    return 0;
}

/* With nothing asked of it, the daemon notices a writer growing a persistent array it
 * holds (the sweep), and once no writer holds one it keeps no timer at all. */
static void test_sweep_notices_growth_and_stops_when_no_writer_is_left(void **state)
{
    struct harness *h = *state;
    assert_true(daemon_sleeps_without_timer(h->daemon));
    sharr_t *c = harness_connect(h);
    const uint64_t shape[1] = { 8 };
    sharr_array_t *a = NULL;
    assert_rc(sharr_create(c, "swept", "|u1", 1, shape, &persist, &a), 0);
    assert_int_equal(fallocate(sharr_array_fd(a), 0, 0, 8 * MIB), 0);
    assert_true(log_wait(h, "grown"));
    sharr_close(a);
    sharr_disconnect(c);
    assert_true(daemon_sleeps_without_timer(h->daemon));
}

static int child_creates_one(void *arg)
{
    sharr_t *c = NULL;
    CHILD_CHECK(sharr_connect(g_h->sock, &c) == 0);
    CHILD_CHECK(create_rc(c, "small", 8, &persist) == *(int *)arg);
    sharr_disconnect(c);
    return 0;
}

/* Growth while the daemon was down is charged when it starts. */
static void test_growth_found_at_start_is_charged(void **state)
{
    struct harness *h = g_h = *state;
    asuser_open_dir(h);
    sharr_t *c = harness_connect(h);
    assert_rc(create_rc(c, "offline", 8, &persist), 0);
    assert_rc(sharr_chown(c, "offline", ASUSER_UID, ASUSER_GID), 0);
    struct sharr_info info;
    assert_rc(sharr_stat(c, "offline", &info), 0);
    sharr_disconnect(c);
    assert_int_equal(harness_daemon_stop(h), 0);
    int fd = open(info.path, O_RDWR | O_CLOEXEC);
    assert_true(fd >= 0);
    assert_int_equal(fallocate(fd, 0, 0, 16 * MIB), 0);
    close(fd);
    const char *const flags[] = { "--max-bytes-per-uid", "1M", NULL };
    launch_daemon(h, flags, 0);
    int want = -EDQUOT;
    assert_int_equal(asuser_run(h, ASUSER_UID, ASUSER_GID, child_creates_one, &want), 0);
    c = harness_connect(h);
    struct sharr_stats st = harness_stats(c);
    assert_true(st.bytes_grown >= 16 * MIB - 2 * PROTO_DATA_OFFSET);
    assert_int_equal(st.bytes, 8 + st.bytes_grown);
    assert_true(log_has(h, "persistent array offline: its file has grown by"));
    sharr_disconnect(c);
}

/* Watching a persistent array written to never keeps it, or its quota, alive: once
 * unlinked and released, its bytes are free for the next create at once. */
static void test_watch_never_holds_an_unlinked_arrays_quota(void **state)
{
    struct harness *h = *state;
    const char *const flags[] = { "--max-bytes", "64K", NULL };
    launch_daemon(h, flags, 0);
    sharr_t *c = harness_connect(h);
    for (int i = 0; i < 3; i++) {
        char name[16];
        snprintf(name, sizeof name, "p%d", i);
        assert_rc(create_rc(c, name, 40 * 1024, &persist), 0);
        assert_rc(sharr_unlink(c, name), 0);
    }
    assert_int_equal(harness_stats(c).bytes, 0);
    sharr_disconnect(c);
}

/* Let the daemon's clock run ms: polls stats (no sleep decides anything) until its
 * uptime has grown by ms, then asks once more, so every timer due by then has run. */
static void daemon_wait(sharr_t *c, int64_t ms)
{
    struct sharr_stats st;
    CHILD_CHECK(sharr_stats(c, &st) == 0);
    const int64_t until = st.uptime_ms + ms;
    while (st.uptime_ms < until) {
        struct timespec ts = { 0, 20 * 1000 * 1000L };
        nanosleep(&ts, NULL);
        CHILD_CHECK(sharr_stats(c, &st) == 0);
    }
    CHILD_CHECK(sharr_stats(c, &st) == 0);
}

static int child_grows_through_a_kept_descriptor(void *arg)
{
    (void)arg;
    sharr_t *c = NULL;
    sharr_array_t *a = NULL;
    const uint64_t shape[1] = { 8 };
    struct sharr_stats st;
    CHILD_CHECK(sharr_connect(g_h->sock, &c) == 0);
    CHILD_CHECK(sharr_create(c, "kept", "|u1", 1, shape, &persist, &a) == 0);
    int fd = dup(sharr_array_fd(a));
    CHILD_CHECK(fd >= 0);
    /* Released (stats applies the release at once), and left alone for a few sweeps. */
    CHILD_CHECK(sharr_close(a) == 0);
    daemon_wait(c, 3000);
    CHILD_CHECK(fallocate(fd, 0, 0, 16 * MIB) == 0);
    CHILD_CHECK(create_rc(c, "next", 8, &persist) == -EDQUOT);
    CHILD_CHECK(strstr(sharr_last_error(), "--max-bytes-per-uid") != NULL);
    CHILD_CHECK(sharr_stats(c, &st) == 0);
    CHILD_CHECK(st.bytes_grown >= 16 * MIB - 2 * PROTO_DATA_OFFSET);
    /* Back to its size and closed: within bounds, and nothing left to watch. */
    CHILD_CHECK(ftruncate(fd, PROTO_DATA_OFFSET + 8) == 0);
    CHILD_CHECK(close(fd) == 0);
    CHILD_CHECK(create_rc(c, "next", 8, &persist) == 0);
    sharr_disconnect(c);
    return 0;
}

/* A writer that released the array but kept its descriptor can still grow the file:
 * the daemon keeps looking while any process holds the file open for writing, so the
 * growth is charged and the owner's creates refused as if it were still attached. */
static void test_growth_through_a_descriptor_kept_after_release_is_charged(void **state)
{
    struct harness *h = g_h = *state;
    const char *const flags[] = { "--max-bytes-per-uid", "1M", NULL };
    launch_daemon(h, flags, 0);
    asuser_open_dir(h);
    assert_int_equal(asuser_run(h, ASUSER_UID, ASUSER_GID, child_grows_through_a_kept_descriptor,
                                NULL), 0);
    assert_true(daemon_sleeps_without_timer(h->daemon));
}

static int child_grows_an_unlinked_file(void *arg)
{
    (void)arg;
    sharr_t *c = NULL;
    sharr_array_t *a = NULL;
    const uint64_t shape[1] = { 8 };
    CHILD_CHECK(sharr_connect(g_h->sock, &c) == 0);
    CHILD_CHECK(sharr_create(c, "gone", "|u1", 1, shape, &persist, &a) == 0);
    int fd = dup(sharr_array_fd(a));
    CHILD_CHECK(fd >= 0);
    CHILD_CHECK(sharr_close(a) == 0);
    CHILD_CHECK(sharr_unlink(c, "gone") == 0);
    /* Its name is gone, its file is not: 16 MiB of disk through the kept descriptor. */
    CHILD_CHECK(fallocate(fd, 0, 0, 16 * MIB) == 0);
    CHILD_CHECK(create_rc(c, "next", 8, &persist) == -EDQUOT);
    CHILD_CHECK(strstr(sharr_last_error(), "--max-bytes-per-uid") != NULL);
    /* Closed: the file and its charge are gone. */
    CHILD_CHECK(close(fd) == 0);
    CHILD_CHECK(create_rc(c, "next", 8, &persist) == 0);
    /* The same for a file replaced by w+: the old one is still there while held. */
    const struct sharr_create_opts over = { .size = sizeof(over), .persist = 1, .overwrite = 1 };
    CHILD_CHECK(sharr_create(c, "replaced", "|u1", 1, shape, &persist, &a) == 0);
    fd = dup(sharr_array_fd(a));
    CHILD_CHECK(fd >= 0);
    CHILD_CHECK(sharr_close(a) == 0);
    CHILD_CHECK(create_rc(c, "replaced", 8, &over) == 0);
    CHILD_CHECK(fallocate(fd, 0, 0, 16 * MIB) == 0);
    CHILD_CHECK(create_rc(c, "last", 8, &persist) == -EDQUOT);
    CHILD_CHECK(close(fd) == 0);
    CHILD_CHECK(create_rc(c, "last", 8, &persist) == 0);
    sharr_disconnect(c);
    return 0;
}

/* An unlinked (or replaced) persistent array whose file a process still holds keeps
 * its disk space, so it counts against its owner until the last descriptor closes,
 * with what a writer grew it by. */
static void test_unlinked_file_grown_through_a_kept_descriptor_is_charged(void **state)
{
    struct harness *h = g_h = *state;
    const char *const flags[] = { "--max-bytes-per-uid", "1M", NULL };
    launch_daemon(h, flags, 0);
    asuser_open_dir(h);
    assert_int_equal(asuser_run(h, ASUSER_UID, ASUSER_GID, child_grows_an_unlinked_file, NULL),
                     0);
}

/* An (8,) |u1 .npy file, as numpy writes it, at path; its descriptor, O_RDWR. */
static int write_small_npy(const char *path)
{
    unsigned char buf[HARNESS_NPY_HEADER + 8];
    harness_npy_header(buf, "{'descr': '|u1', 'fortran_order': False, 'shape': (8,), }");
    memset(buf + HARNESS_NPY_HEADER, 7, 8);
    int fd = open(path, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    assert_true(fd >= 0);
    assert_int_equal(write(fd, buf, sizeof buf), (ssize_t)sizeof buf);
    return fd;
}

/* The process that adopted a file keeps its own descriptor of it: growth through that
 * descriptor is charged as a writer's is, though it never attached the array. */
static void test_growth_through_the_adopters_descriptor_is_charged(void **state)
{
    struct harness *h = *state;
    const char *const flags[] = { "--max-bytes", "1M", NULL };
    launch_daemon(h, flags, 0);
    char path[256];
    snprintf(path, sizeof path, "%s/adoptme.npy", h->dir);
    int fd = write_small_npy(path);
    sharr_t *c = harness_connect(h);
    assert_rc(sharr_adopt(c, "adopted", fd, NULL, NULL), 0);
    assert_int_equal(unlink(path), 0);
    assert_int_equal(fallocate(fd, 0, 0, 16 * MIB), 0);
    assert_rc(create_rc(c, "next", 8, &persist), -ENOSPC);
    assert_non_null(strstr(sharr_last_error(), "--max-bytes"));
    assert_true(harness_stats(c).bytes_grown >= 16 * MIB - 2 * PROTO_DATA_OFFSET);
    assert_int_equal(ftruncate(fd, 128 + 8), 0);
    assert_int_equal(close(fd), 0);
    assert_rc(create_rc(c, "next", 8, &persist), 0);
    sharr_disconnect(c);
    assert_true(daemon_sleeps_without_timer(h->daemon));
}

/* The first entry of a list of every array named name, or fails. */
static struct sharr_info listed(sharr_t *c, const char *name)
{
    struct sharr_info page[8];
    size_t n = 0;
    int more = 0;
    assert_rc(sharr_list(c, NULL, page, 8, &n, &more), 0);
    for (size_t i = 0; i < n; i++)
        if (strcmp(page[i].name, name) == 0)
            return page[i];
    fail_msg("%s is not listed", name);
    return page[0];
}

/* list looks again only at the files a process may write to: one cut through a held
 * r+ descriptor shows at once; one nobody holds keeps what the last look found (only
 * root, by hand in the store, can change it) until stat or sync looks again. */
static void test_list_looks_again_only_at_files_a_writer_may_hold(void **state)
{
    struct harness *h = *state;
    const uint64_t shape[1] = { 64 * 1024 };
    sharr_array_t *held = NULL;
    struct sharr_info info;

    sharr_t *c = harness_connect(h);
    assert_rc(create_rc(c, "idle", 64 * 1024, &persist), 0);
    assert_rc(sharr_stat(c, "idle", &info), 0);
    /* The creator's connection cached the file open for writing: it goes with it. */
    sharr_disconnect(c);
    assert_true(daemon_sleeps_without_timer(h->daemon)); /* nothing left to watch */
    c = harness_connect(h);
    assert_rc(sharr_create(c, "held", "|u1", 1, shape, &persist, &held), 0);

    assert_int_equal(truncate(info.path, 4096), 0); /* root, by hand */
    assert_int_equal(ftruncate(sharr_array_fd(held), 4096), 0);
    assert_int_equal(listed(c, "held").damaged, 1);
    assert_int_equal(listed(c, "idle").damaged, 0);
    assert_rc(sharr_stat(c, "idle", &info), 0);
    assert_int_equal(info.damaged, 1);
    assert_int_equal(listed(c, "idle").damaged, 1);
    assert_rc(sharr_close(held), 0);
    sharr_disconnect(c);
}

/* A writer that kept its descriptor across a restart of the daemon is watched by the
 * new one: list sees it cut the file. */
static void test_writer_kept_across_a_restart_is_seen_by_list(void **state)
{
    struct harness *h = *state;
    const uint64_t shape[1] = { 64 * 1024 };
    sharr_array_t *a = NULL;

    sharr_t *c = harness_connect(h);
    assert_rc(sharr_create(c, "kept", "|u1", 1, shape, &persist, &a), 0);
    int fd = dup(sharr_array_fd(a));
    assert_true(fd >= 0);
    sharr_close(a);
    sharr_disconnect(c);
    harness_daemon_restart(h);
    c = harness_connect(h);
    assert_int_equal(listed(c, "kept").damaged, 0);
    assert_int_equal(ftruncate(fd, 4096), 0);
    assert_int_equal(listed(c, "kept").damaged, 1);
    close(fd);
    sharr_disconnect(c);
}

/* Creates in a burst, each closed at once (a writable descriptor handed out each
 * time, so each file is watched), and the creator gone: the sweep asks about many of
 * them in each pass, not GROWTH_PROBES (64) a pass, so it soon looks at none. */
static void test_burst_of_released_creates_is_let_go_in_few_sweeps(void **state)
{
    enum { burst = 1024, asked_per_pass = 128 };
    struct harness *h = *state;
    sharr_t *c = harness_connect(h);
    char name[32];

    for (int i = 0; i < burst; i++) {
        snprintf(name, sizeof name, "burst.%04d", i);
        assert_rc(create_rc(c, name, 8, &persist), 0);
    }
    /* Its connection's cached descriptors go with it: nobody can write any of them. */
    sharr_disconnect(c);
    c = harness_connect(h);
    struct sharr_stats first = harness_stats(c), st = first;
    const uint64_t most = first.arrays_watched / asked_per_pass + 3;
    for (int polls = 0; st.arrays_watched > 0 && polls < 1000000; polls++) {
        if (st.sweeps - first.sweeps > most)
            fail_msg("%" PRIu64 " arrays still watched after %" PRIu64 " sweeps (of %" PRIu64
                     " watched after the burst; at most %" PRIu64 " sweeps expected)",
                     st.arrays_watched, st.sweeps - first.sweeps, first.arrays_watched, most);
        struct timespec ts = { 0, 10 * 1000 * 1000L };
        nanosleep(&ts, NULL);
        st = harness_stats(c);
    }
    assert_int_equal(st.arrays_watched, 0);
    assert_int_equal(st.arrays_persistent, burst);
    sharr_disconnect(c);
    assert_true(daemon_sleeps_without_timer(h->daemon));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(
            test_fallocate_through_rplus_is_charged_and_refuses_the_owners_creates,
            harness_setup, harness_teardown),
        cmocka_unit_test_setup_teardown(test_file_shrunk_below_its_data_is_reported_damaged,
                                        harness_setup, harness_teardown),
        cmocka_unit_test_setup_teardown(
            test_sweep_notices_growth_and_stops_when_no_writer_is_left, harness_setup,
            harness_teardown),
        cmocka_unit_test_setup_teardown(test_growth_found_at_start_is_charged, harness_setup,
                                        harness_teardown),
        cmocka_unit_test_setup_teardown(test_watch_never_holds_an_unlinked_arrays_quota,
                                        harness_setup, harness_teardown),
        cmocka_unit_test_setup_teardown(
            test_growth_through_a_descriptor_kept_after_release_is_charged, harness_setup,
            harness_teardown),
        cmocka_unit_test_setup_teardown(
            test_unlinked_file_grown_through_a_kept_descriptor_is_charged, harness_setup,
            harness_teardown),
        cmocka_unit_test_setup_teardown(test_growth_through_the_adopters_descriptor_is_charged,
                                        harness_setup, harness_teardown),
        cmocka_unit_test_setup_teardown(test_list_looks_again_only_at_files_a_writer_may_hold,
                                        harness_setup, harness_teardown),
        cmocka_unit_test_setup_teardown(test_writer_kept_across_a_restart_is_seen_by_list,
                                        harness_setup, harness_teardown),
        cmocka_unit_test_setup_teardown(test_burst_of_released_creates_is_let_go_in_few_sweeps,
                                        harness_setup, harness_teardown),
    };
    return testskip_exit(cmocka_run_group_tests(tests, NULL, NULL));
}
