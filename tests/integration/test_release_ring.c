/* test_release_ring.c — releases posted through a connection's release ring: seen by
 * every other connection's next question, applied for an idle client by the sweep,
 * before a quota refusal, past a full ring, from a forked child's own ring; and what
 * the daemon does with a ring a hostile client wrote.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "codec.h"
#include "harness.h"
#include "launch.h"
#include "rawconn.h"
#include "ring.h"
#include "testskip.h"

#define OVERFLOW_OPENS (RING_SLOTS + 24)

static void make(sharr_t *c, const char *name)
{
    const uint64_t shape[1] = { 512 };
    struct sharr_create_opts o = { .size = sizeof(o), .flags = SHARR_F_NOMAP };
    sharr_array_t *a = NULL;

    assert_rc(sharr_create(c, name, "<f8", 1, shape, &o, &a), 0);
    assert_rc(sharr_close(a), 0);
}

static uint32_t attached(sharr_t *c, const char *name)
{
    struct sharr_info info;

    assert_rc(sharr_stat(c, name, &info), 0);
    return info.nattached;
}

static void test_a_closed_attachment_is_gone_for_other_connections_at_once(void **state)
{
    struct harness *h = *state;
    sharr_t *c1 = harness_connect(h), *c2 = harness_connect(h);
    sharr_array_t *a = NULL, *b = NULL;

    make(c2, "x");
    assert_rc(sharr_open(c1, "x", "r+", NULL, &a), 0);
    assert_rc(sharr_open(c1, "x", "r", NULL, &b), 0);
    assert_int_equal(attached(c2, "x"), 2);
    assert_rc(sharr_close(a), 0);
    /* c1 sends nothing more: c2's questions alone must see the release. */
    assert_int_equal(attached(c2, "x"), 1);
    assert_int_equal(harness_stats(c2).attachments, 1);
    assert_rc(sharr_close(b), 0);
    assert_int_equal(attached(c2, "x"), 0);
    struct sharr_holder hs[4];
    size_t n = 9;
    int more = 1;
    assert_rc(sharr_holders(c2, "x", 0, hs, 4, &n, &more), 0);
    assert_int_equal(n, 0);
    sharr_disconnect(c1);
    sharr_disconnect(c2);
}

static void test_an_idle_clients_release_frees_an_unlinked_array(void **state)
{
    struct harness *h = *state;
    sharr_t *c1 = harness_connect(h), *c2 = harness_connect(h);
    sharr_array_t *a = NULL;

    make(c2, "gone");
    assert_rc(sharr_open(c1, "gone", "r", NULL, &a), 0);
    /* Warm c1's ring up, so its last close is a post and nothing else. */
    sharr_array_t *w = NULL;
    assert_rc(sharr_open(c1, "gone", "r", NULL, &w), 0);
    assert_rc(sharr_close(w), 0);
    assert_rc(sharr_unlink(c2, "gone"), 0);
    int before = launch_count_fds(h->daemon);
    assert_rc(sharr_close(a), 0);
    /* Neither client says anything now: the daemon's sweep applies the release, the
     * last reference goes, and with it the memfd that kept the pages. */
    assert_int_equal(launch_wait_fds(h->daemon, before - 1), before - 1);
    sharr_disconnect(c1);
    sharr_disconnect(c2);
}

/* The timeout (ms) of the epoll_wait the daemon is blocked in, -1 for none, read from
 * /proc/PID/syscall once the daemon sits in one; fails the test if it never does. */
static long daemon_wait_timeout(pid_t pid)
{
    char path[64], line[256];
    unsigned long nr, args[4];

    snprintf(path, sizeof path, "/proc/%d/syscall", (int)pid);
    for (int i = 0; i < 2000; i++) {
        FILE *f = fopen(path, "r");
        int got = f && fgets(line, sizeof line, f) &&
                  sscanf(line, "%lu %lx %lx %lx %lx", &nr, &args[0], &args[1], &args[2],
                         &args[3]) == 5;
        if (f)
            fclose(f);
        /* x86_64: epoll_wait is 232, epoll_pwait 281; the timeout is the 4th argument. */
        if (got && (nr == 232 || nr == 281))
            return (long)(int)args[3];
        usleep(1000);
    }
    fail_msg("sharrd never blocked in epoll_wait: %s", line);
    return 0;
}

static void test_the_sweep_runs_only_while_an_unlinked_array_is_attached(void **state)
{
    struct harness *h = *state;
#if !defined(__x86_64__)
    testskip("reads epoll_wait's timeout from /proc/PID/syscall by x86_64's numbers");
#endif
    sharr_t *c1 = harness_connect(h), *c2 = harness_connect(h);
    sharr_array_t *a = NULL, *w = NULL;

    make(c2, "swept");
    assert_rc(sharr_open(c1, "swept", "r", NULL, &w), 0);
    assert_rc(sharr_close(w), 0); /* c1 has a ring now */
    assert_rc(sharr_open(c1, "swept", "r", NULL, &a), 0);
    assert_int_equal(daemon_wait_timeout(h->daemon), -1);
    assert_rc(sharr_unlink(c2, "swept"), 0);
    long t = daemon_wait_timeout(h->daemon);
    assert_true(t >= 0 && t <= 1000);
    assert_rc(sharr_close(a), 0);
    /* Once the sweep has taken the release, an idle daemon sets no timer again. */
    for (int i = 0; i < 200 && (t = daemon_wait_timeout(h->daemon)) != -1; i++)
        usleep(50 * 1000);
    assert_int_equal(t, -1);
    sharr_disconnect(c1);
    sharr_disconnect(c2);
}

static void test_a_posted_release_is_applied_before_a_quota_refusal(void **state)
{
    struct harness *h = *state;
    const char *const flags[] = { "--max-arrays", "1", NULL };
    launch_daemon(h, flags, 0);
    sharr_t *c1 = harness_connect(h), *c2 = harness_connect(h);
    sharr_array_t *a = NULL;

    make(c1, "first");
    assert_rc(sharr_open(c1, "first", "r", NULL, &a), 0);
    assert_rc(sharr_unlink(c1, "first"), 0);
    /* Unlinked but attached: it still counts, so there is no room. */
    sharr_array_t *no = NULL;
    const uint64_t shape[1] = { 8 };
    assert_rc(sharr_create(c2, "second", "<f8", 1, shape, NULL, &no), -ENOSPC);
    assert_rc(sharr_close(a), 0);
    make(c2, "second");
    sharr_disconnect(c1);
    sharr_disconnect(c2);
}

static void test_releases_past_a_full_ring_still_arrive(void **state)
{
    struct harness *h = *state;
    sharr_t *c1 = harness_connect(h), *c2 = harness_connect(h);
    static sharr_array_t *as[OVERFLOW_OPENS];
    struct sharr_open_opts o = { .size = sizeof(o), .flags = SHARR_F_NOMAP };

    make(c2, "many");
    for (size_t i = 0; i < OVERFLOW_OPENS; i++)
        assert_rc(sharr_open(c1, "many", "r", &o, &as[i]), 0);
    assert_int_equal(attached(c2, "many"), OVERFLOW_OPENS);
    /* More closes in a row than the ring has slots, with no request between. */
    for (size_t i = 0; i < OVERFLOW_OPENS; i++)
        assert_rc(sharr_close(as[i]), 0);
    assert_int_equal(attached(c2, "many"), 0);
    assert_int_equal(harness_stats(c2).attachments, 0);
    sharr_disconnect(c1);
    sharr_disconnect(c2);
}

/* Opens and closes "kid" on the connection it inherited, reports, and waits. */
static int forked_closer(int rfd, int wfd, void *arg)
{
    sharr_t *c = arg;
    sharr_array_t *a = NULL;
    char ok = 1, quit;

    CHILD_CHECK(sharr_open(c, "kid", "r", NULL, &a) == 0);
    CHILD_CHECK(sharr_close(a) == 0);
    CHILD_CHECK(chan_put(wfd, &ok, 1) == 0);
    CHILD_CHECK(chan_get(rfd, &quit, 1) == -EPIPE);
    return 0;
}

static void test_a_forked_child_releases_through_a_ring_of_its_own(void **state)
{
    struct harness *h = *state;
    sharr_t *c = harness_connect(h), *q = harness_connect(h);
    sharr_array_t *a = NULL;
    struct harness_child ch;
    char ok;

    make(q, "kid");
    /* The parent's connection has a ring before the fork. */
    assert_rc(sharr_open(c, "kid", "r", NULL, &a), 0);
    assert_rc(sharr_close(a), 0);
    assert_rc(sharr_open(c, "kid", "r", NULL, &a), 0);
    harness_child_start(h, &ch, forked_closer, c);
    harness_get(ch.from, &ok, 1);
    /* The child is alive and idle; its release is known, the parent's hold too. */
    assert_int_equal(attached(q, "kid"), 1);
    close(ch.to);
    ch.to = -1;
    assert_int_equal(harness_child_wait(h, &ch), 0);
    assert_rc(sharr_close(a), 0);
    assert_int_equal(attached(q, "kid"), 0);
    sharr_disconnect(c);
    sharr_disconnect(q);
}

/* A raw connection with its ring mapped; returns the mapping. */
static void *raw_ring(struct rawconn *rc, const struct harness *h)
{
    msgpack_sbuffer sb;
    const msgpack_object *res = NULL;
    void *map;
    int fd;

    rawconn_open(rc, h->sock, 4096);
    rawconn_hello(rc, 0);
    msgpack_sbuffer_init(&sb);
    assert_int_equal(codec_pack_ring(&sb, 1), 0);
    rawconn_send_sbuf(rc, &sb);
    rawconn_expect_reply(rc, 1, NULL, &res);
    assert_int_equal(rawconn_map_get(res, "size")->via.u64, RING_BYTES);
    fd = rawconn_take_fd(rc, NULL);
    assert_true(fd >= 0);
    /* Sealed: the client cannot shrink the page under the daemon's mapping. */
    assert_int_equal(ftruncate(fd, 0), -1);
    assert_int_equal(errno, EPERM);
    map = mmap(NULL, RING_BYTES, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    assert_true(map != MAP_FAILED);
    close(fd);
    msgpack_sbuffer_destroy(&sb);
    return map;
}

static void raw_request(struct rawconn *rc, uint32_t msgid, const char *want_code)
{
    msgpack_sbuffer sb;

    msgpack_sbuffer_init(&sb);
    assert_int_equal(codec_pack_stats(&sb, msgid), 0);
    rawconn_send_sbuf(rc, &sb);
    rawconn_expect_reply(rc, msgid, want_code, NULL);
    msgpack_sbuffer_destroy(&sb);
}

static void test_a_second_ring_on_one_connection_is_eexist_and_nothing_leaks(void **state)
{
    struct harness *h = *state;
    sharr_t *c = harness_connect(h);
    /* Only c is connected: the daemon's count is steady. */
    assert_int_equal(harness_wait_connections(c, 1), 1);
    int before = launch_count_fds(h->daemon);
    struct rawconn rc;
    msgpack_sbuffer sb;
    void *map = raw_ring(&rc, h);

    msgpack_sbuffer_init(&sb);
    assert_int_equal(codec_pack_ring(&sb, 2), 0);
    rawconn_send_sbuf(&rc, &sb);
    rawconn_expect_reply(&rc, 2, "EEXIST", NULL);
    raw_request(&rc, 3, NULL);
    /* The daemon keeps its mapping of the ring, not a descriptor. */
    assert_int_equal(launch_count_fds(h->daemon), before + 1);
    msgpack_sbuffer_destroy(&sb);
    munmap(map, RING_BYTES);
    rawconn_close(&rc);
    assert_int_equal(launch_wait_fds(h->daemon, before), before);
    sharr_disconnect(c);
}

static void test_a_corrupt_ring_closes_only_its_connection(void **state)
{
    struct harness *h = *state;
    sharr_t *c = harness_connect(h);
    sharr_array_t *a = NULL;
    struct rawconn rc;
    void *map = raw_ring(&rc, h);

    make(c, "kept");
    assert_rc(sharr_open(c, "kept", "r+", NULL, &a), 0);
    ((double *)sharr_array_data(a))[0] = 42;
    /* A head further ahead than the ring has slots. */
    __atomic_store_n((uint64_t *)((char *)map + RING_HEAD_AT), (uint64_t)RING_SLOTS + 1,
                     __ATOMIC_RELEASE);
    msgpack_sbuffer sb;
    msgpack_sbuffer_init(&sb);
    assert_int_equal(codec_pack_stats(&sb, 2), 0);
    rawconn_send_sbuf(&rc, &sb);
    assert_int_equal(rawconn_expect_closed(&rc), 0);
    msgpack_sbuffer_destroy(&sb);
    munmap(map, RING_BYTES);
    rawconn_close(&rc);
    /* Everyone else is served as before, the array intact. */
    assert_int_equal(attached(c, "kept"), 1);
    sharr_array_t *b = NULL;
    assert_rc(sharr_open(c, "kept", "r", NULL, &b), 0);
    assert_true(((const double *)sharr_array_data(b))[0] == 42);
    assert_rc(sharr_close(b), 0);
    assert_rc(sharr_close(a), 0);
    sharr_disconnect(c);
}

static void test_a_ring_cannot_release_another_connections_attachment(void **state)
{
    struct harness *h = *state;
    sharr_t *c = harness_connect(h);
    sharr_array_t *a = NULL, *probe = NULL;
    struct rawconn rc;
    void *map = raw_ring(&rc, h);

    make(c, "theirs");
    assert_rc(sharr_open(c, "theirs", "r", NULL, &a), 0);
    /* Handles are numbered daemon-wide: every handle up to the next one is tried. */
    assert_rc(sharr_open(c, "theirs", "r", NULL, &probe), 0);
    for (uint64_t handle = 0; handle < 64; handle++)
        assert_int_equal(ring_post(map, handle), 0);
    raw_request(&rc, 2, NULL);
    assert_int_equal(attached(c, "theirs"), 2);
    assert_rc(sharr_close(probe), 0);
    assert_rc(sharr_close(a), 0);
    assert_int_equal(attached(c, "theirs"), 0);
    munmap(map, RING_BYTES);
    rawconn_close(&rc);
    sharr_disconnect(c);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(
            test_a_closed_attachment_is_gone_for_other_connections_at_once, harness_setup,
            harness_teardown),
        cmocka_unit_test_setup_teardown(test_an_idle_clients_release_frees_an_unlinked_array,
                                        harness_setup, harness_teardown),
        cmocka_unit_test_setup_teardown(
            test_the_sweep_runs_only_while_an_unlinked_array_is_attached, harness_setup,
            harness_teardown),
        cmocka_unit_test_setup_teardown(
            test_a_posted_release_is_applied_before_a_quota_refusal, harness_setup,
            harness_teardown),
        cmocka_unit_test_setup_teardown(test_releases_past_a_full_ring_still_arrive,
                                        harness_setup, harness_teardown),
        cmocka_unit_test_setup_teardown(
            test_a_forked_child_releases_through_a_ring_of_its_own, harness_setup,
            harness_teardown),
        cmocka_unit_test_setup_teardown(
            test_a_second_ring_on_one_connection_is_eexist_and_nothing_leaks, harness_setup,
            harness_teardown),
        cmocka_unit_test_setup_teardown(test_a_corrupt_ring_closes_only_its_connection,
                                        harness_setup, harness_teardown),
        cmocka_unit_test_setup_teardown(
            test_a_ring_cannot_release_another_connections_attachment, harness_setup,
            harness_teardown),
    };
    return testskip_exit(cmocka_run_group_tests(tests, NULL, NULL));
}
