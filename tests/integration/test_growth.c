/* test_growth.c — a writer that grows or shrinks a persistent array's file behind the
 * daemon's back (fallocate, ftruncate through its r+ descriptor: the kernel lets it).
 *
 * The daemon notices at stat, list, stats, sync, at a create under a byte quota, at
 * start, and by a sweep while writers hold persistent arrays; it charges the blocks
 * beyond the data to the owner, refuses the owner's creates until the file is back
 * within the quota, and reports a file shorter than its data as damaged.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "asuser.h"
#include "launch.h"
#include "limits.h"

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
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
