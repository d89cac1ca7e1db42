/* test_clients.c — clients that die: a client killed while holding 100 arrays
 * leaves nothing held, and after 1,000 client lifecycles (half of them ending in
 * SIGKILL) the daemon's descriptors are back at their baseline and its memory
 * within allocator slack of it.
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "fault.h"
#include "testskip.h"

#define HELD 100
#define RSS_SLACK_KIB 4096 /* malloc arenas and the loop's buffers may keep this much */

static int holder(int rfd, int wfd, void *arg)
{
    (void)arg;
    sharr_t *c = NULL;
    sharr_array_t *a[HELD];
    CHILD_CHECK(sharr_connect(NULL, &c) == 0);
    for (int i = 0; i < HELD; i++) {
        char name[16];
        snprintf(name, sizeof(name), "h%d", i);
        CHILD_CHECK(sharr_open(c, name, i % 3 ? "r" : "r+", NULL, &a[i]) == 0);
    }
    CHILD_CHECK(chan_put(wfd, "H", 1) == 0);
    char never;
    chan_get(rfd, &never, 1);
    return 1;
}

/* Attachments the daemon reports for pid (sharr_holders, all pages). */
static int holdings_of(sharr_t *c, pid_t pid)
{
    struct sharr_holder page[64];
    uint64_t after = 0;
    int count = 0, more = 1;
    while (more) {
        size_t n = 0;
        assert_rc(sharr_holders(c, NULL, after, page, 64, &n, &more), 0);
        for (size_t i = 0; i < n; i++)
            count += page[i].pid == (uint32_t)pid;
        if (n > 0)
            after = page[n - 1].handle;
    }
    return count;
}

static void test_killed_client_holding_100_arrays_releases_all(void **state)
{
    struct harness *h = *state;
    sharr_t *c = harness_connect(h);
    const uint64_t shape[1] = { 512 };
    for (int i = 0; i < HELD; i++) {
        sharr_array_t *a;
        char name[16];
        snprintf(name, sizeof(name), "h%d", i);
        assert_rc(sharr_create(c, name, "<u8", 1, shape, NULL, &a), 0);
        fault_fill(sharr_array_data(a), 512 * 8, (uint64_t)i);
        assert_rc(sharr_close(a), 0);
    }
    int fds = fault_daemon_fds(h, c);
    struct harness_child ch;
    char ack;
    harness_child_start(h, &ch, holder, NULL);
    harness_get(ch.from, &ack, 1);
    assert_int_equal(harness_stats(c).attachments, HELD);
    assert_int_equal(holdings_of(c, ch.pid), HELD);
    assert_true(fault_daemon_fds(h, c) > fds);
    pid_t dead = ch.pid;
    assert_int_equal(kill(ch.pid, SIGKILL), 0);
    assert_int_equal(harness_child_wait(h, &ch), 128 + SIGKILL);
    assert_int_equal(harness_wait_attachments(c, 0), 0);
    assert_int_equal(harness_wait_connections(c, 1), 1);
    assert_int_equal(holdings_of(c, dead), 0);
    assert_int_equal(fault_daemon_fds(h, c), fds);
    for (int i = 0; i < HELD; i++) {
        sharr_array_t *a;
        char name[16];
        snprintf(name, sizeof(name), "h%d", i);
        assert_rc(sharr_open(c, name, "r", NULL, &a), 0);
        assert_true(fault_check(sharr_array_data(a), 512 * 8, (uint64_t)i));
        assert_int_equal(sharr_array_info(a)->nattached, 1);
        assert_rc(sharr_close(a), 0);
    }
    sharr_disconnect(c);
}

/* One client's life: attach the shared array, make and remove one of its own, and
 * either leave properly or be killed holding both. */
static void lifecycle(int i)
{
    fflush(NULL);
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        sharr_t *c = NULL;
        sharr_array_t *base = NULL, *own = NULL;
        const uint64_t shape[1] = { 256 };
        char name[16];
        snprintf(name, sizeof(name), "t%d", i);
        if (sharr_connect(NULL, &c) < 0 || sharr_open(c, "base", "r+", NULL, &base) < 0
            || sharr_create(c, name, "<u8", 1, shape, NULL, &own) < 0)
            _exit(1);
        ((uint64_t *)sharr_array_data(base))[i % 256] += 1;
        if (sharr_unlink(c, name) < 0)
            _exit(1);
        if (i % 2)
            raise(SIGKILL);
        sharr_close(own);
        sharr_close(base);
        sharr_disconnect(c);
        _exit(0);
    }
    int status;
    assert_int_equal(waitpid(pid, &status, 0), pid);
    assert_true((WIFEXITED(status) && WEXITSTATUS(status) == 0)
                || (WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL));
}

static void test_thousand_lifecycles_return_to_baseline(void **state)
{
    struct harness *h = *state;
    sharr_t *c = harness_connect(h);
    sharr_array_t *base;
    const uint64_t shape[1] = { 256 };
    int n = (int)(1000 * fault_scale());

    assert_rc(sharr_create(c, "base", "<u8", 1, shape, NULL, &base), 0);
    for (int i = 0; i < 50; i++)
        lifecycle(i);
    assert_int_equal(harness_wait_connections(c, 1), 1);
    assert_int_equal(harness_wait_attachments(c, 1), 1);
    int fds = fault_daemon_fds(h, c);
    long rss = fault_daemon_rss_kib(h);
    for (int i = 0; i < n; i++)
        lifecycle(i);
    assert_int_equal(harness_wait_connections(c, 1), 1);
    assert_int_equal(harness_wait_attachments(c, 1), 1);
    struct sharr_stats st = harness_stats(c);
    assert_int_equal(st.arrays, 1);
    assert_int_equal(fault_daemon_fds(h, c), fds);
    long after = fault_daemon_rss_kib(h);
    print_message("%d lifecycles: %d descriptors before and after; rss %ld -> %ld KiB\n", n,
                  fds, rss, after);
    fault_assert_rss_at_most(after, rss + RSS_SLACK_KIB, "after the lifecycles");
    uint64_t sum = 0;
    for (int i = 0; i < 256; i++)
        sum += ((const uint64_t *)sharr_array_data(base))[i];
    assert_true(sum == (uint64_t)n + 50);
    assert_rc(sharr_close(base), 0);
    sharr_disconnect(c);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_killed_client_holding_100_arrays_releases_all,
                                        harness_setup, harness_teardown),
        cmocka_unit_test_setup_teardown(test_thousand_lifecycles_return_to_baseline,
                                        harness_setup, harness_teardown),
    };
    return testskip_exit(cmocka_run_group_tests(tests, NULL, NULL));
}
