/* test_growth.c — a writer that grows or shrinks a persistent array's file behind the
 * daemon's back (fallocate, ftruncate through its r+ descriptor: the kernel lets it).
 *
 * The daemon notices at stat, sync, at start, and while a process may write to the
 * file (a writer attached, or one that kept its descriptor, also across a restart) at
 * list, stats, a create under a byte quota and by a sweep; it charges the blocks
 * beyond the data to the owner, refuses the owner's creates until the file is back
 * within the quota, and reports a file shorter than its data as damaged.
 *
 * And a file that lost its name (unlinked, replaced) held only by descriptors opened
 * with O_PATH, which no lease sees: its blocks are given back once nobody can read or
 * write it, never while somebody can, and never when the file has a name of its own
 * outside the store (an adopter's hard link).
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "asuser.h"
#include "launch.h"
#include "rawconn.h"
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

/* An O_PATH descriptor of the file a's descriptor is open on, made through /proc, as
 * any client can make of a descriptor it was given. */
static int path_of(sharr_array_t *a)
{
    char path[64];

    snprintf(path, sizeof path, "/proc/self/fd/%d", sharr_array_fd(a));
    return open(path, O_PATH | O_CLOEXEC);
}

/* Bytes of disk the files of fds[0..n) still have, into kept[], once the daemon has
 * had the time to give them back: polls fstat (bounded, 4000 x 5 ms) until none has
 * any block left. The sum. */
static uint64_t blocks_left(const int *fds, size_t n, uint64_t *kept)
{
    uint64_t sum = 0;

    for (int i = 0; i < 4000; i++) {
        sum = 0;
        for (size_t j = 0; j < n; j++) {
            struct stat sb;
            kept[j] = fstat(fds[j], &sb) == 0 ? (uint64_t)sb.st_blocks * 512 : UINT64_MAX;
            sum += kept[j];
        }
        if (sum == 0)
            break;
        struct timespec ts = { 0, 5 * 1000 * 1000L };
        nanosleep(&ts, NULL);
    }
    return sum;
}

/* Create a persistent array name of n bytes, each byte fill; the creator's array. */
static sharr_array_t *create_filled(sharr_t *c, const char *name, uint64_t n, int fill,
                                    const struct sharr_create_opts *o)
{
    const uint64_t shape[1] = { n };
    sharr_array_t *a = NULL;

    CHILD_CHECK(sharr_create(c, name, "|u1", 1, shape, o, &a) == 0);
    memset(sharr_array_data(a), fill, n);
    return a;
}

/* Does every byte of p[0..n) hold fill? */
static int all_are(const unsigned char *p, uint64_t n, int fill)
{
    for (uint64_t i = 0; i < n; i++)
        if (p[i] != (unsigned char)fill)
            return 0;
    return 1;
}

#define KEPT_FILES 8
#define KEPT_EACH (768 * 1024ull)

/* What the child holding unlinked persistent files by O_PATH alone saw. */
struct kept_files {
    uint64_t each;           /* data bytes of each file (the parent's) */
    uint32_t mode, owner;    /* of the files, as the client sees them */
    int reopen_errno;        /* an O_RDONLY reopen of one through /proc/self/fd */
    uint64_t held[KEPT_FILES]; /* disk bytes each file had when it was unlinked */
    uint64_t kept[KEPT_FILES]; /* disk bytes each still has after the daemon's free */
};

/* Create KEPT_FILES persistent arrays of k->each bytes in turn under a quota below two, each
 * written whole, held by an O_PATH descriptor made from the creator's descriptor or
 * one opened r+, r or c, then closed and unlinked: every create after the first
 * succeeds only because nothing of the ones before is charged any more. */
static int child_holds_unlinked_files_by_path(void *arg)
{
    static const char *const modes[] = { NULL, "r+", "r", "c" };
    struct kept_files *k = arg;
    int held[KEPT_FILES];
    sharr_t *c = NULL;
    struct stat sb;

    CHILD_CHECK(sharr_connect(g_h->sock, &c) == 0);
    for (int i = 0; i < KEPT_FILES; i++) {
        char name[16];
        sharr_array_t *a, *b = NULL;

        snprintf(name, sizeof name, "disk%d", i);
        a = create_filled(c, name, k->each, i + 1, &persist);
        if (modes[i % 4])
            CHILD_CHECK(sharr_open(c, name, modes[i % 4], NULL, &b) == 0);
        held[i] = path_of(b ? b : a);
        CHILD_CHECK(held[i] >= 0);
        CHILD_CHECK(fstat(held[i], &sb) == 0);
        k->held[i] = (uint64_t)sb.st_blocks * 512;
        k->mode = sb.st_mode & 07777;
        k->owner = sb.st_uid;
        if (b)
            CHILD_CHECK(sharr_close(b) == 0);
        CHILD_CHECK(sharr_close(a) == 0);
        CHILD_CHECK(sharr_unlink(c, name) == 0);
    }
    char path[64];
    snprintf(path, sizeof path, "/proc/self/fd/%d", held[0]);
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    k->reopen_errno = fd < 0 ? errno : 0;
    if (fd >= 0)
        close(fd);
    blocks_left(held, KEPT_FILES, k->kept);
    for (int i = 0; i < KEPT_FILES; i++)
        CHILD_CHECK(close(held[i]) == 0);
    sharr_disconnect(c);
    return 0;
}

/* A descriptor opened with O_PATH (through /proc/self/fd, from any descriptor of an
 * array a client was given) is neither a reader nor a writer, so no lease sees it, yet
 * it keeps an unlinked file and its blocks. With a 1 MiB quota a user could so fill
 * the store's filesystem, 768 KiB at a time, each charged only until its unlink: a
 * file freed with no reader or writer left has no block left either. The client
 * cannot reopen the file for reading or writing (the daemon's, 0600), so nothing it
 * could reach is lost. */
static void check_unlinked_files_held_by_path(struct harness *h, const char *quota,
                                             uint64_t each)
{
    const char *const flags[] = { "--max-bytes-per-uid", quota, NULL };
    uint64_t kept = 0;

    g_h = h;
    launch_daemon(h, flags, 0);
    asuser_open_dir(h);
    struct kept_files *k = mmap(NULL, sizeof *k, PROT_READ | PROT_WRITE,
                                MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    assert_true(k != MAP_FAILED);
    memset(k, 0, sizeof *k);
    k->each = each;
    assert_int_equal(asuser_run(h, ASUSER_UID, ASUSER_GID, child_holds_unlinked_files_by_path,
                                k), 0);
    printf("file mode %o owner %u; O_RDONLY reopen: %s\n", k->mode, k->owner,
           strerror(k->reopen_errno));
    assert_int_equal(k->mode & 0077, 0);
    assert_int_equal(k->owner, geteuid());
    assert_int_equal(k->reopen_errno, EACCES);
    for (int i = 0; i < KEPT_FILES; i++) {
        printf("held by O_PATH %d: %llu bytes of disk while named, %llu after its free\n", i,
               (unsigned long long)k->held[i], (unsigned long long)k->kept[i]);
        assert_true(k->held[i] >= each);
        kept += k->kept[i];
    }
    printf("all unlinked, none charged: the files keep %llu bytes\n", (unsigned long long)kept);
    assert_int_equal(kept, 0);
    munmap(k, sizeof *k);
}

static void test_unlinked_files_held_only_by_o_path_descriptors_keep_no_uncounted_disk(
    void **state)
{
    check_unlinked_files_held_by_path(*state, "1M", KEPT_EACH);
}

/* The same with files of more than 1 MiB of disk each, which sharrd cuts on its thread
 * pool rather than at once. */
static void test_large_unlinked_files_held_only_by_o_path_descriptors_keep_no_disk(
    void **state)
{
    check_unlinked_files_held_by_path(*state, "4M", 3 * MIB);
}

/* What the child holding files by O_PATH and by a writer's mapping saw. */
struct kept_beside {
    int refused;            /* a 768 KiB create, while the holders hold both files */
    uint64_t disk_held[2];  /* disk bytes each file has then */
    int intact;             /* the holders read their data back */
    int created;            /* the same create once they let go */
    uint64_t kept[2];       /* disk bytes each file keeps then */
};

/* Two persistent arrays, each held by an O_PATH descriptor and by an r+ holder that
 * reads and writes it across its unlink: one by a mapping kept after its release (the
 * sweep finds it let go), one by an attachment (freed at its close). */
static int child_holds_by_path_beside_a_writer(void *arg)
{
    struct kept_beside *k = arg;
    const size_t len = PROTO_DATA_OFFSET + KEPT_EACH;
    sharr_array_t *a, *b = NULL, *att = NULL;
    unsigned char *map;
    sharr_t *c = NULL;
    int held[2];
    struct stat sb;

    CHILD_CHECK(sharr_connect(g_h->sock, &c) == 0);
    a = create_filled(c, "mapped", KEPT_EACH, 5, &persist);
    CHILD_CHECK(sharr_open(c, "mapped", "r+", NULL, &b) == 0);
    map = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_SHARED, sharr_array_fd(b), 0);
    CHILD_CHECK(map != MAP_FAILED);
    held[0] = path_of(b);
    CHILD_CHECK(held[0] >= 0 && sharr_close(b) == 0 && sharr_close(a) == 0);
    CHILD_CHECK(sharr_unlink(c, "mapped") == 0);
    a = create_filled(c, "attached", KEPT_EACH, 6, &persist);
    CHILD_CHECK(sharr_open(c, "attached", "r+", NULL, &att) == 0);
    held[1] = path_of(att);
    CHILD_CHECK(held[1] >= 0 && sharr_close(a) == 0);
    CHILD_CHECK(sharr_unlink(c, "attached") == 0);
    /* A few sweeps, and a create refused for quota, each of which looks again at
     * what is held: both files are still charged. */
    daemon_wait(c, 2500);
    k->refused = create_rc(c, "probe", KEPT_EACH, &persist);
    for (int i = 0; i < 2; i++) {
        CHILD_CHECK(fstat(held[i], &sb) == 0);
        k->disk_held[i] = (uint64_t)sb.st_blocks * 512;
    }
    memset(map + PROTO_DATA_OFFSET, 7, 4096);
    memset(sharr_array_data(att), 8, 4096);
    k->intact = all_are(map + PROTO_DATA_OFFSET, 4096, 7)
                && all_are(map + PROTO_DATA_OFFSET + 4096, KEPT_EACH - 4096, 5)
                && all_are(sharr_array_data(att), 4096, 8)
                && all_are((unsigned char *)sharr_array_data(att) + 4096, KEPT_EACH - 4096, 6);
    CHILD_CHECK(munmap(map, len) == 0);
    CHILD_CHECK(sharr_close(att) == 0);
    blocks_left(held, 2, k->kept);
    k->created = create_rc(c, "probe", KEPT_EACH, &persist);
    CHILD_CHECK(close(held[0]) == 0 && close(held[1]) == 0);
    sharr_disconnect(c);
    return 0;
}

/* Blocks are given back only when nobody can read or write the file: an unlinked
 * array that a writer still maps, or still has attached, keeps its data (written and
 * read back after sweeps that looked at it) and its charge beside an O_PATH holder;
 * once the writer lets go, its blocks go, whether the sweep or the close frees it. */
static void test_unlinked_file_held_by_o_path_and_a_writer_keeps_its_data_until_let_go(
    void **state)
{
    struct harness *h = g_h = *state;
    const char *const flags[] = { "--max-bytes-per-uid", "2M", NULL };

    launch_daemon(h, flags, 0);
    asuser_open_dir(h);
    struct kept_beside *k = mmap(NULL, sizeof *k, PROT_READ | PROT_WRITE,
                                 MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    assert_true(k != MAP_FAILED);
    memset(k, 0, sizeof *k);
    assert_int_equal(asuser_run(h, ASUSER_UID, ASUSER_GID, child_holds_by_path_beside_a_writer,
                                k), 0);
    printf("held: a create %s, disk %llu and %llu, data %s; let go: a create %s, disk %llu "
           "and %llu\n", strerror(-k->refused), (unsigned long long)k->disk_held[0],
           (unsigned long long)k->disk_held[1], k->intact ? "intact" : "LOST",
           strerror(-k->created), (unsigned long long)k->kept[0], (unsigned long long)k->kept[1]);
    assert_int_equal(k->refused, -EDQUOT);
    assert_true(k->disk_held[0] >= KEPT_EACH && k->disk_held[1] >= KEPT_EACH);
    assert_true(k->intact);
    assert_int_equal(k->created, 0);
    assert_int_equal(k->kept[0], 0);
    assert_int_equal(k->kept[1], 0);
    munmap(k, sizeof *k);
}

/* What the child overwriting held arrays saw. */
struct kept_over {
    int intact;           /* the holders of the old files read their data back */
    int replaced;         /* the new arrays hold their own data */
    uint64_t disk_held[2]; /* disk bytes the old files have while held */
    uint64_t kept[2];     /* and once let go */
};

/* Two persistent arrays, each mapped r+ after its release and held by O_PATH, then
 * replaced by w+: one by a persistent array (its file is renamed over), one by a
 * volatile one (its file goes to the store's trash). */
static int child_overwrites_held_arrays(void *arg)
{
    static const char *const names[] = { "over.persistent", "over.volatile" };
    const struct sharr_create_opts over[] = {
        { .size = sizeof(over[0]), .persist = 1, .overwrite = 1 },
        { .size = sizeof(over[1]), .overwrite = 1 },
    };
    const size_t len = PROTO_DATA_OFFSET + KEPT_EACH;
    struct kept_over *k = arg;
    unsigned char *map[2];
    sharr_t *c = NULL;
    int held[2];
    struct stat sb;

    k->intact = k->replaced = 1;
    CHILD_CHECK(sharr_connect(g_h->sock, &c) == 0);
    for (int i = 0; i < 2; i++) {
        sharr_array_t *a = create_filled(c, names[i], KEPT_EACH, 5 + i, &persist), *b;

        map[i] = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_SHARED, sharr_array_fd(a), 0);
        CHILD_CHECK(map[i] != MAP_FAILED);
        held[i] = path_of(a);
        CHILD_CHECK(held[i] >= 0 && sharr_close(a) == 0);
        b = create_filled(c, names[i], KEPT_EACH, 9, &over[i]);
        CHILD_CHECK(sharr_close(b) == 0);
    }
    daemon_wait(c, 2500);
    for (int i = 0; i < 2; i++) {
        sharr_array_t *b = NULL;

        CHILD_CHECK(fstat(held[i], &sb) == 0);
        k->disk_held[i] = (uint64_t)sb.st_blocks * 512;
        k->intact &= all_are(map[i] + PROTO_DATA_OFFSET, KEPT_EACH, 5 + i);
        CHILD_CHECK(sharr_open(c, names[i], "r", NULL, &b) == 0);
        k->replaced &= all_are(sharr_array_data(b), KEPT_EACH, 9);
        CHILD_CHECK(sharr_close(b) == 0);
        CHILD_CHECK(munmap(map[i], len) == 0);
    }
    blocks_left(held, 2, k->kept);
    CHILD_CHECK(close(held[0]) == 0 && close(held[1]) == 0);
    sharr_disconnect(c);
    return 0;
}

/* An overwrite (w+) of a persistent array whose file a writer still maps leaves that
 * writer its data, whether the new array is persistent (renamed over the old file) or
 * volatile (the old file goes to the trash); once the writer lets go, the old file's
 * blocks go although an O_PATH descriptor still holds it. */
static void test_overwrite_of_a_held_persistent_array_keeps_the_holders_data(void **state)
{
    struct harness *h = g_h = *state;

    asuser_open_dir(h);
    struct kept_over *k = mmap(NULL, sizeof *k, PROT_READ | PROT_WRITE,
                               MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    assert_true(k != MAP_FAILED);
    memset(k, 0, sizeof *k);
    assert_int_equal(asuser_run(h, ASUSER_UID, ASUSER_GID, child_overwrites_held_arrays, k), 0);
    printf("held: disk %llu and %llu, data %s, new arrays %s; let go: disk %llu and %llu\n",
           (unsigned long long)k->disk_held[0], (unsigned long long)k->disk_held[1],
           k->intact ? "intact" : "LOST", k->replaced ? "their own" : "WRONG",
           (unsigned long long)k->kept[0], (unsigned long long)k->kept[1]);
    assert_true(k->intact);
    assert_true(k->replaced);
    assert_true(k->disk_held[0] >= KEPT_EACH && k->disk_held[1] >= KEPT_EACH);
    assert_int_equal(k->kept[0], 0);
    assert_int_equal(k->kept[1], 0);
    munmap(k, sizeof *k);
}

/* In the daemon's child: run sharrd as the unprivileged test uid. */
static void become_unprivileged(void *arg)
{
    (void)arg;
    if (asuser_become(ASUSER_UID, ASUSER_GID) != 0)
        _exit(120);
}

/* A published persistent array's file has no write bit (0400), which keeps a daemon
 * that is not root (sharr.service's) from opening it for writing, its owner though it
 * is: held only by an O_PATH descriptor once unlinked, an array of another uid than
 * the daemon's (and not root's) still gives its blocks back. Root, as the client here,
 * creates it, gives it to that uid, publishes it and holds it. */
static void test_published_file_of_a_daemon_not_root_held_by_o_path_keeps_no_disk(
    void **state)
{
    struct harness *h = g_h = *state;
    char dir[256], sock[300], store[300];
    sharr_array_t *a, *b = NULL;
    uint64_t disk, kept = 0;
    int status = 0, held;
    struct stat sb;
    sharr_t *c = NULL;

    asuser_open_dir(h);
    snprintf(dir, sizeof dir, "%s/unprivileged", h->dir);
    assert_int_equal(mkdir(dir, 0700), 0);
    assert_int_equal(chown(dir, ASUSER_UID, ASUSER_GID), 0);
    snprintf(sock, sizeof sock, "%s/s.sock", dir);
    snprintf(store, sizeof store, "%s/store", dir);
    const char *const argv[] = { harness_sharrd_path(), "--socket", sock, "--store", store,
                                 "--config", "", NULL };
    pid_t pid = harness_daemon_spawn(h, argv, become_unprivileged, NULL);
    assert_int_equal(harness_daemon_await(sock, pid, &status), 0);
    assert_rc(sharr_connect(sock, &c), 0);
    a = create_filled(c, "published", KEPT_EACH, 4, &persist);
    assert_rc(sharr_close(a), 0);
    assert_rc(sharr_chown(c, "published", 1001, SHARR_ID_KEEP), 0);
    assert_rc(sharr_publish(c, "published", NULL), 0);
    assert_rc(sharr_open(c, "published", "r", NULL, &b), 0);
    held = path_of(b);
    assert_true(held >= 0);
    assert_int_equal(fstat(held, &sb), 0);
    disk = (uint64_t)sb.st_blocks * 512;
    assert_rc(sharr_close(b), 0);
    assert_rc(sharr_unlink(c, "published"), 0);
    blocks_left(&held, 1, &kept);
    printf("published file of a daemon as uid %u: mode %o, %llu bytes of disk, %llu after "
           "its free\n", ASUSER_UID, (unsigned)(sb.st_mode & 07777), (unsigned long long)disk,
           (unsigned long long)kept);
    assert_int_equal(close(held), 0);
    sharr_disconnect(c);
    assert_int_equal(kill(pid, SIGTERM), 0);
    assert_int_equal(waitpid(pid, &status, 0), pid);
    assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
    assert_int_equal(sb.st_mode & 07777, 0400);
    assert_true(disk >= KEPT_EACH);
    assert_int_equal(kept, 0);
}

/* A .npy at path in the harness directory (the store's filesystem) with KEPT_EACH
 * bytes of fill, adopted as name, the adopter's descriptor closed: path stays its own
 * name of the file. Returns the file's disk bytes. */
static uint64_t adopt_keeping_a_link(struct harness *h, sharr_t *c, const char *path,
                                     const char *name, int fill)
{
    unsigned char header[HARNESS_NPY_HEADER];
    unsigned char *data = malloc(KEPT_EACH);
    struct stat sb;
    int fd;

    assert_non_null(data);
    harness_npy_header(header, "{'descr': '|u1', 'fortran_order': False, "
                               "'shape': (786432,), }");
    memset(data, fill, KEPT_EACH);
    fd = open(path, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    assert_true(fd >= 0);
    assert_int_equal(write(fd, header, sizeof header), (ssize_t)sizeof header);
    assert_int_equal(write(fd, data, KEPT_EACH), (ssize_t)KEPT_EACH);
    free(data);
    assert_rc(sharr_adopt(c, name, fd, NULL, NULL), 0);
    /* Another uid's array: root's own are never cut (root may reopen them). */
    assert_rc(sharr_chown(c, name, ASUSER_UID, SHARR_ID_KEEP), 0);
    assert_int_equal(fstat(fd, &sb), 0);
    assert_int_equal(sb.st_nlink, 2); /* path, and the store's name */
    assert_int_equal(close(fd), 0);
    (void)h;
    return (uint64_t)sb.st_blocks * 512;
}

/* The file at path still holds a header and KEPT_EACH bytes of fill, and has disk
 * bytes of blocks. */
static void assert_file_whole(const char *path, int fill, uint64_t disk)
{
    unsigned char *data = malloc(HARNESS_NPY_HEADER + KEPT_EACH);
    struct stat sb;
    int fd = open(path, O_RDONLY | O_CLOEXEC);

    assert_non_null(data);
    assert_true(fd >= 0);
    assert_int_equal(fstat(fd, &sb), 0);
    printf("%s: %llu bytes, %llu of disk (%llu before)\n", path, (unsigned long long)sb.st_size,
           (unsigned long long)sb.st_blocks * 512, (unsigned long long)disk);
    assert_int_equal(sb.st_size, HARNESS_NPY_HEADER + KEPT_EACH);
    assert_int_equal((uint64_t)sb.st_blocks * 512, disk);
    assert_int_equal(read(fd, data, HARNESS_NPY_HEADER + KEPT_EACH),
                     (ssize_t)(HARNESS_NPY_HEADER + KEPT_EACH));
    assert_int_equal(memcmp(data, "\x93NUMPY", 6), 0);
    assert_true(all_are(data + HARNESS_NPY_HEADER, KEPT_EACH, fill));
    free(data);
    close(fd);
}

/* A file adopted while its adopter kept its own name for it (a hard link outside the
 * store) is the adopter's file again once the array goes: neither an unlink nor an
 * overwrite (by a persistent or a volatile array) takes its blocks, although nobody
 * holds it open. The daemon says so in its log, which the test waits for. */
static void test_adopted_file_with_its_own_link_keeps_its_data_after_unlink_or_overwrite(
    void **state)
{
    struct harness *h = *state;
    static const char *const names[] = { "adopted.unlinked", "adopted.persistent",
                                         "adopted.volatile" };
    const struct sharr_create_opts over[] = {
        { .size = sizeof(over[0]), .persist = 1, .overwrite = 1 },
        { .size = sizeof(over[1]), .overwrite = 1 },
    };
    const char *const flags[] = { "--log-level", "debug", NULL };
    char path[3][256], line[300];
    uint64_t disk[3];

    launch_daemon(h, flags, 0);
    sharr_t *c = harness_connect(h);
    for (int i = 0; i < 3; i++) {
        snprintf(path[i], sizeof path[i], "%s/%s.npy", h->dir, names[i]);
        disk[i] = adopt_keeping_a_link(h, c, path[i], names[i], 3 + i);
        assert_true(disk[i] >= KEPT_EACH);
    }
    assert_rc(sharr_unlink(c, names[0]), 0);
    for (int i = 1; i < 3; i++) {
        const uint64_t shape[1] = { 8 };
        sharr_array_t *b = NULL;
        assert_rc(sharr_create(c, names[i], "|u1", 1, shape, &over[i - 1], &b), 0);
        sharr_close(b);
    }
    for (int i = 0; i < 3; i++) {
        snprintf(line, sizeof line, "persistent array %s: its file has a name of its own",
                 names[i]);
        assert_true(log_wait(h, line));
        assert_file_whole(path[i], 3 + i, disk[i]);
    }
    sharr_disconnect(c);
}

/* What the client of a daemon of its own uid saw. */
struct kept_own {
    const char *sock; /* that daemon's */
    uint64_t disk;    /* disk bytes of the file once the daemon let go of it */
    int reopened;     /* an O_RDONLY reopen through /proc/self/fd worked */
    int intact;       /* and read the data back */
};

/* Create a persistent array, hold it by an O_PATH descriptor alone, unlink it, wait
 * until the daemon has been through its free (a sync's reply, after a few of its
 * sweeps), then reopen the file through /proc/self/fd, as the file's owner may. */
static int child_reopens_its_own_unlinked_file(void *arg)
{
    struct kept_own *k = arg;
    unsigned char *data = malloc(KEPT_EACH);
    sharr_array_t *a;
    sharr_t *c = NULL;
    char path[64];
    struct stat sb;
    int held, fd;

    CHILD_CHECK(data != NULL);
    CHILD_CHECK(sharr_connect(k->sock, &c) == 0);
    a = create_filled(c, "own", KEPT_EACH, 0x3c, &persist);
    held = path_of(a);
    CHILD_CHECK(held >= 0 && sharr_close(a) == 0);
    CHILD_CHECK(sharr_unlink(c, "own") == 0);
    daemon_wait(c, 2500);
    CHILD_CHECK(fstat(held, &sb) == 0);
    k->disk = (uint64_t)sb.st_blocks * 512;
    snprintf(path, sizeof path, "/proc/self/fd/%d", held);
    fd = open(path, O_RDONLY | O_CLOEXEC);
    k->reopened = fd >= 0;
    k->intact = fd >= 0 && pread(fd, data, KEPT_EACH, PROTO_DATA_OFFSET) == (ssize_t)KEPT_EACH
                && all_are(data, KEPT_EACH, 0x3c);
    if (fd >= 0)
        close(fd);
    close(held);
    free(data);
    sharr_disconnect(c);
    return 0;
}

/* A daemon run as a user's own uid (a per-user sharrd) serves clients of that uid,
 * which own the store's files: an O_PATH descriptor such a client kept of an unlinked
 * array's file can be reopened for reading, so the file's data is still within its
 * reach and must not be taken from it. */
static void test_unlinked_file_its_owner_can_reopen_by_o_path_keeps_its_data(void **state)
{
    struct harness *h = g_h = *state;
    char dir[256], sock[300], store[300];
    int status = 0, rc;

    asuser_open_dir(h);
    snprintf(dir, sizeof dir, "%s/own", h->dir);
    assert_int_equal(mkdir(dir, 0700), 0);
    assert_int_equal(chown(dir, ASUSER_UID, ASUSER_GID), 0);
    snprintf(sock, sizeof sock, "%s/s.sock", dir);
    snprintf(store, sizeof store, "%s/store", dir);
    const char *const argv[] = { harness_sharrd_path(), "--socket", sock, "--store", store,
                                 "--config", "", NULL };
    pid_t pid = harness_daemon_spawn(h, argv, become_unprivileged, NULL);
    assert_int_equal(harness_daemon_await(sock, pid, &status), 0);
    struct kept_own *k = mmap(NULL, sizeof *k, PROT_READ | PROT_WRITE,
                              MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    assert_true(k != MAP_FAILED);
    memset(k, 0, sizeof *k);
    k->sock = sock;
    rc = asuser_run(h, ASUSER_UID, ASUSER_GID, child_reopens_its_own_unlinked_file, k);
    assert_int_equal(kill(pid, SIGTERM), 0);
    assert_int_equal(waitpid(pid, &status, 0), pid);
    printf("a client of a daemon of its own uid: %llu bytes of disk after the free, reopen "
           "%s, data %s\n", (unsigned long long)k->disk, k->reopened ? "worked" : "refused",
           k->intact ? "intact" : "LOST");
    assert_int_equal(rc, 0);
    assert_true(k->reopened);
    assert_true(k->intact);
    munmap(k, sizeof *k);
}

/* A daemon with one thread in its pool, for stall_the_pool, and a small persistent
 * array "stall" for it, made by a connection of its own whose descriptors the daemon
 * keeps no more. Returns a new connection, the only one. */
static sharr_t *launch_with_one_pool_thread(struct harness *h)
{
    sharr_t *c;

    assert_int_equal(setenv("UV_THREADPOOL_SIZE", "1", 1), 0);
    launch_daemon(h, NULL, 0);
    assert_int_equal(unsetenv("UV_THREADPOOL_SIZE"), 0);
    c = harness_connect(h);
    assert_int_equal(create_rc(c, "stall", 8, &persist), 0);
    sharr_disconnect(c);
    harness_wait_connections(c = harness_connect(h), 1);
    return c;
}

/* A persistent array "kept" of KEPT_EACH bytes of 0x5a, made on c and given to
 * ASUSER_UID (root's own arrays are never cut: root may reopen them), then let go of:
 * the O_PATH descriptor of its file that stays, the test's. */
static int kept_by_path(sharr_t *c)
{
    const uint64_t shape[1] = { KEPT_EACH };
    sharr_array_t *a = NULL;
    int held;

    assert_rc(sharr_create(c, "kept", "|u1", 1, shape, &persist, &a), 0);
    memset(sharr_array_data(a), 0x5a, KEPT_EACH);
    assert_rc(sharr_chown(c, "kept", ASUSER_UID, SHARR_ID_KEEP), 0);
    held = path_of(a);
    assert_true(held >= 0);
    assert_rc(sharr_close(a), 0);
    return held;
}

/* The thread pool of a daemon run with one thread is kept busy: a sync of name (a
 * small persistent array nobody holds) is sent on rc as msgid, whose reopen of the
 * file by name waits on a write lease the test holds on it. Returns the lease's
 * descriptor once the daemon's open waits on it (the pool's one thread is stuck
 * there); closing it (or F_UNLCK) lets the pool go on. */
static int stall_the_pool(struct harness *h, struct rawconn *rc, uint32_t msgid,
                          const char *name)
{
    char path[400];
    int fd, i;

    snprintf(path, sizeof path, "%s/%s.npy", h->store, name);
    fd = open(path, O_RDONLY | O_CLOEXEC);
    assert_true(fd >= 0);
    signal(SIGIO, SIG_IGN); /* the lease's break is told to its holder by SIGIO */
    assert_int_equal(fcntl(fd, F_SETLEASE, F_WRLCK), 0);
    rawconn_send_name(rc, msgid, "sync", name);
    for (i = 0; i < 4000 && fcntl(fd, F_GETLEASE) == F_WRLCK; i++) {
        struct timespec ts = { 0, 5 * 1000 * 1000L };
        nanosleep(&ts, NULL);
    }
    assert_int_not_equal(fcntl(fd, F_GETLEASE), F_WRLCK);
    return fd;
}

/* The daemon looks for readers and writers of a freed file on its loop and gives its
 * blocks back later, on its thread pool: a process that opens the file for reading in
 * between (through an O_PATH descriptor it kept, as root or the daemon's own uid may,
 * or by a hard link it then removes) is a reader when the blocks go, and must keep
 * reading its data. The pool is held busy (one thread, stuck on a lease) so that the
 * open comes between the two, every time. */
static void test_file_opened_between_its_free_and_the_pools_cut_keeps_its_data(void **state)
{
    struct harness *h = *state;
    unsigned char *data = malloc(KEPT_EACH);
    struct rawconn rc;
    char path[64];
    struct stat sb;
    int held, lease, reader;

    assert_non_null(data);
    sharr_t *c = launch_with_one_pool_thread(h);
    held = kept_by_path(c);
    rawconn_open_hello(&rc, h->sock, 4096);
    lease = stall_the_pool(h, &rc, 2, "stall");
    /* Freed by its unlink, nobody reading or writing it: its cut is queued. */
    assert_rc(sharr_unlink(c, "kept"), 0);
    snprintf(path, sizeof path, "/proc/self/fd/%d", held);
    reader = open(path, O_RDONLY | O_CLOEXEC);
    assert_true(reader >= 0);
    assert_int_equal(pread(reader, data, KEPT_EACH, PROTO_DATA_OFFSET), (ssize_t)KEPT_EACH);
    assert_true(all_are(data, KEPT_EACH, 0x5a));
    assert_int_equal(close(lease), 0);
    rawconn_expect_reply(&rc, 2, NULL, NULL);
    /* The pool's one thread runs its jobs in turn: this sync's reply comes after the
     * job of the freed file has run. */
    rawconn_send_name(&rc, 3, "sync", "stall");
    rawconn_expect_reply(&rc, 3, NULL, NULL);
    memset(data, 0, KEPT_EACH);
    assert_int_equal(pread(reader, data, KEPT_EACH, PROTO_DATA_OFFSET), (ssize_t)KEPT_EACH);
    assert_int_equal(fstat(reader, &sb), 0);
    printf("a reader opened before the pool's job: %llu bytes of disk after it, data %s\n",
           (unsigned long long)sb.st_blocks * 512, all_are(data, KEPT_EACH, 0x5a) ? "intact"
                                                                                   : "LOST");
    assert_true(all_are(data, KEPT_EACH, 0x5a));
    assert_true((uint64_t)sb.st_blocks * 512 >= KEPT_EACH);
    close(reader);
    close(held);
    free(data);
    signal(SIGIO, SIG_DFL);
    rawconn_close(&rc);
    sharr_disconnect(c);
}

/* Store files whose names begin with prefix. */
static int store_count(const struct harness *h, const char *prefix)
{
    DIR *dir = opendir(h->store);
    struct dirent *e;
    int n = 0;

    assert_non_null(dir);
    while ((e = readdir(dir)) != NULL)
        n += strncmp(e->d_name, prefix, strlen(prefix)) == 0;
    closedir(dir);
    return n;
}

/* sharrd killed after an unlink's reply, its job still queued behind a pool held busy:
 * the next start leaves no trash, the unlinked array stays gone and uncharged, another
 * array keeps its data, and the file an O_PATH descriptor of another uid keeps has its
 * blocks given back all the same (that is what the job was for). */
static void test_kill_with_a_freed_files_job_queued_recovers_clean(void **state)
{
    struct harness *h = *state;
    sharr_array_t *other = NULL;
    struct sharr_info in;
    struct rawconn rc;
    struct stat sb;
    int held, lease, status;

    sharr_t *c = launch_with_one_pool_thread(h);
    other = create_filled(c, "other", KEPT_EACH, 0x33, &persist);
    assert_rc(sharr_chown(c, "other", ASUSER_UID, SHARR_ID_KEEP), 0);
    assert_rc(sharr_close(other), 0);
    held = kept_by_path(c);
    rawconn_open_hello(&rc, h->sock, 4096);
    lease = stall_the_pool(h, &rc, 2, "stall");
    assert_rc(sharr_unlink(c, "kept"), 0);
    /* Let the idle handle queue the job behind the stalled one. */
    assert_rc(sharr_stat(c, "other", &in), 0);
    assert_int_equal(kill(h->daemon, SIGKILL), 0);
    assert_int_equal(waitpid(h->daemon, &status, 0), h->daemon);
    h->daemon = 0;
    assert_int_equal(close(lease), 0);
    rawconn_close(&rc);
    sharr_disconnect(c);
    signal(SIGIO, SIG_DFL);
    printf("after the kill: %d trash file(s) in the store\n", store_count(h, ".trash"));
    launch_daemon(h, NULL, 0);
    c = harness_connect(h);
    printf("after the restart: %d trash file(s) in the store\n", store_count(h, ".trash"));
    assert_int_equal(store_count(h, ".trash"), 0);
    assert_rc(sharr_stat(c, "kept", &in), -ENOENT);
    struct sharr_stats st = harness_stats(c);
    assert_int_equal(st.arrays_persistent, 2); /* stall and other */
    assert_rc(sharr_open(c, "other", "r", NULL, &other), 0);
    assert_true(all_are(sharr_array_data(other), KEPT_EACH, 0x33));
    assert_rc(sharr_close(other), 0);
    sharr_disconnect(c);
    assert_int_equal(fstat(held, &sb), 0);
    printf("the unlinked file an O_PATH descriptor keeps: %llu bytes of disk after the restart\n",
           (unsigned long long)sb.st_blocks * 512);
    assert_int_equal(sb.st_blocks, 0);
    close(held);
}

#define TERM_PENDING 300

/* SIGTERM with hundreds of freed files' jobs queued behind a pool held busy: sharrd
 * exits 0 once the pool is let go, and leaves neither trash nor the blocks of files
 * O_PATH descriptors of another uid keep. */
static void test_sigterm_with_hundreds_of_freed_files_jobs_queued_exits_clean(void **state)
{
    struct harness *h = *state;
    int held[TERM_PENDING];
    uint64_t kept[TERM_PENDING];
    struct rawconn rc;
    int lease, status;

    sharr_t *c = launch_with_one_pool_thread(h);
    rawconn_open_hello(&rc, h->sock, 4096);
    lease = stall_the_pool(h, &rc, 2, "stall");
    for (int i = 0; i < TERM_PENDING; i++) {
        char name[32];
        snprintf(name, sizeof name, "t%d", i);
        sharr_array_t *a = create_filled(c, name, 8192, 0x44, &persist);
        held[i] = path_of(a);
        assert_true(held[i] >= 0);
        assert_rc(sharr_close(a), 0);
        assert_rc(sharr_chown(c, name, ASUSER_UID, SHARR_ID_KEEP), 0);
        assert_rc(sharr_unlink(c, name), 0);
    }
    sharr_disconnect(c);
    assert_int_equal(kill(h->daemon, SIGTERM), 0);
    struct timespec ts = { 0, 200 * 1000 * 1000L };
    nanosleep(&ts, NULL);
    assert_int_equal(close(lease), 0);
    rawconn_close(&rc);
    assert_int_equal(waitpid(h->daemon, &status, 0), h->daemon);
    h->daemon = 0;
    signal(SIGIO, SIG_DFL);
    printf("sharrd's status 0x%x; %d trash file(s) left\n", status, store_count(h, ".trash"));
    assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
    uint64_t sum = blocks_left(held, TERM_PENDING, kept);
    printf("%llu bytes of disk left in the %d files O_PATH descriptors keep\n",
           (unsigned long long)sum, TERM_PENDING);
    int trash = store_count(h, ".trash");
    launch_daemon(h, NULL, 0);
    printf("after a restart: %d trash file(s), %llu bytes kept\n", store_count(h, ".trash"),
           (unsigned long long)blocks_left(held, TERM_PENDING, kept));
    for (int i = 0; i < TERM_PENDING; i++)
        close(held[i]);
    assert_int_equal(trash, 0);
    assert_int_equal(sum, 0);
}

#define CYCLES 4000
#define CYCLE_KEEP 40 /* an O_PATH descriptor kept of every this many */

/* uid 65534: CYCLES creates and unlinks of small persistent arrays, an O_PATH
 * descriptor kept of every CYCLE_KEEP-th; every kept file ends with no block. */
static int child_cycles_create_unlink(void *arg)
{
    int held[CYCLES / CYCLE_KEEP], n = 0;
    uint64_t kept[CYCLES / CYCLE_KEEP];
    sharr_t *c = NULL;

    (void)arg;
    CHILD_CHECK(sharr_connect(g_h->sock, &c) == 0);
    for (int i = 0; i < CYCLES; i++) {
        sharr_array_t *a = create_filled(c, "cycle", 4096, 0x66, &persist);
        if (i % CYCLE_KEEP == 0)
            CHILD_CHECK((held[n++] = path_of(a)) >= 0);
        CHILD_CHECK(sharr_close(a) == 0);
        CHILD_CHECK(sharr_unlink(c, "cycle") == 0);
    }
    sharr_disconnect(c);
    uint64_t sum = blocks_left(held, (size_t)n, kept);
    printf("%d files kept by O_PATH: %llu bytes of disk left\n", n, (unsigned long long)sum);
    CHILD_CHECK(sum == 0);
    return 0;
}

static void test_many_create_unlink_cycles_of_another_uid_leave_nothing(void **state)
{
    struct harness *h = *state;

    g_h = h;
    launch_daemon(h, NULL, 0);
    asuser_open_dir(h);
    sharr_t *c = harness_connect(h);
    int fds0 = launch_count_fds(h->daemon);
    long rss0 = launch_rss_kib(h->daemon);
    assert_int_equal(asuser_run(h, ASUSER_UID, ASUSER_GID, child_cycles_create_unlink, NULL), 0);
    harness_wait_connections(c, 1);
    int fds1 = launch_wait_fds(h->daemon, fds0);
    long rss1 = launch_rss_kib(h->daemon);
    int trash = store_count(h, ".trash");
    printf("daemon fds %d -> %d, rss %ld -> %ld KiB, %d trash file(s)\n", fds0, fds1, rss0,
           rss1, trash);
    sharr_disconnect(c);
    assert_int_equal(fds1, fds0);
    assert_int_equal(trash, 0);
#ifdef __SANITIZE_ADDRESS__
    printf("RSS not checked: in a sanitizer build it measures the sanitizer's quarantine "
           "and shadow memory; the plain build checks it\n");
#else
    assert_true(rss1 <= rss0 + 2048);
#endif
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(
            test_unlinked_file_its_owner_can_reopen_by_o_path_keeps_its_data,
            harness_setup, harness_teardown),
        cmocka_unit_test_setup_teardown(
            test_file_opened_between_its_free_and_the_pools_cut_keeps_its_data,
            harness_setup, harness_teardown),
        cmocka_unit_test_setup_teardown(test_kill_with_a_freed_files_job_queued_recovers_clean,
                                        harness_setup, harness_teardown),
        cmocka_unit_test_setup_teardown(
            test_sigterm_with_hundreds_of_freed_files_jobs_queued_exits_clean, harness_setup,
            harness_teardown),
        cmocka_unit_test_setup_teardown(
            test_many_create_unlink_cycles_of_another_uid_leave_nothing, harness_setup,
            harness_teardown),
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
        cmocka_unit_test_setup_teardown(
            test_unlinked_files_held_only_by_o_path_descriptors_keep_no_uncounted_disk,
            harness_setup, harness_teardown),
        cmocka_unit_test_setup_teardown(
            test_large_unlinked_files_held_only_by_o_path_descriptors_keep_no_disk,
            harness_setup, harness_teardown),
        cmocka_unit_test_setup_teardown(
            test_unlinked_file_held_by_o_path_and_a_writer_keeps_its_data_until_let_go,
            harness_setup, harness_teardown),
        cmocka_unit_test_setup_teardown(
            test_overwrite_of_a_held_persistent_array_keeps_the_holders_data, harness_setup,
            harness_teardown),
        cmocka_unit_test_setup_teardown(
            test_published_file_of_a_daemon_not_root_held_by_o_path_keeps_no_disk,
            harness_setup, harness_teardown),
        cmocka_unit_test_setup_teardown(
            test_adopted_file_with_its_own_link_keeps_its_data_after_unlink_or_overwrite,
            harness_setup, harness_teardown),
    };
    return testskip_exit(cmocka_run_group_tests(tests, NULL, NULL));
}
