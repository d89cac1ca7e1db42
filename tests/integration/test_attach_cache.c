/* test_attach_cache.c — libsharr's cache of attachments (client/attcache.h) against a
 * real sharrd: an array the process holds, or let go of within T, attaches again with
 * no request (counted by sharrd's stats); the daemon still sees the holder; the
 * cache lets go on unlink, overwrite, chmod, grow, publish, a daemon restart and in a
 * forked child; it keeps at most N idle attachments for at most T. ctest turns the
 * cache off for the other tests ($SHARR_CACHE_MAX=0): each test here sets it.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "asuser.h"
#include "harness.h"

/* A connection with the cache on: at most max idle attachments, kept ms. */
static sharr_t *cached_connect(struct harness *h, const char *max, const char *ms)
{
    setenv("SHARR_CACHE_MAX", max, 1);
    setenv("SHARR_CACHE_MS", ms, 1);
    sharr_t *c = harness_connect(h);
    setenv("SHARR_CACHE_MAX", "0", 1);
    return c;
}

static void make(sharr_t *c, const char *name, uint32_t perm, uint64_t max_len)
{
    const uint64_t shape[1] = { 64 };
    struct sharr_create_opts o = { .size = sizeof(o), .perm = perm, .max_len = max_len };
    sharr_array_t *a = NULL;

    assert_rc(sharr_create(c, name, "<f8", 1, shape, &o, &a), 0);
    ((double *)sharr_array_data(a))[0] = 1.0;
    assert_rc(sharr_close(a), 0);
}

/* Requests sharrd answered, asked on obs (the stats request itself included). */
static uint64_t requests(sharr_t *obs)
{
    return harness_stats(obs).requests;
}

/* Attachments of name the daemon shows, asked on obs. */
static size_t holders(sharr_t *obs, const char *name)
{
    struct sharr_holder hs[8];
    size_t n = 0;
    int more = 0;

    assert_rc(sharr_holders(obs, name, 0, hs, 8, &n, &more), 0);
    return n;
}

/* Open name in mode on c and say whether it took a request (obs counts). */
static int open_counted(sharr_t *c, sharr_t *obs, const char *name, const char *mode,
                        sharr_array_t **ret, uint64_t *ret_requests)
{
    uint64_t before = requests(obs);
    int rc = sharr_open(c, name, mode, NULL, ret);

    /* Minus the stats request that counts them. */
    *ret_requests = requests(obs) - before - 1;
    return rc;
}

static void test_a_held_array_attaches_again_without_a_request(void **state)
{
    struct harness *h = *state;
    sharr_t *obs = harness_connect(h), *c = cached_connect(h, "16", "60000");
    sharr_array_t *a = NULL, *b = NULL;
    uint64_t n;

    make(obs, "x", 0600, 0);
    assert_rc(open_counted(c, obs, "x", "r+", &a, &n), 0);
    assert_true(n >= 1);
    assert_rc(open_counted(c, obs, "x", "r+", &b, &n), 0);
    assert_int_equal(n, 0);
    /* The same mapping, the same array, and one attachment on the daemon's books. */
    assert_ptr_equal(sharr_array_data(a), sharr_array_data(b));
    assert_int_equal(((double *)sharr_array_data(b))[0], 1.0);
    assert_string_equal(sharr_array_mode(b), "r+");
    assert_int_equal(holders(obs, "x"), 1);
    assert_rc(sharr_close(a), 0);
    assert_int_equal(((double *)sharr_array_data(b))[0], 1.0);
    assert_rc(sharr_close(b), 0);
    sharr_disconnect(c);
    assert_int_equal(harness_wait_attachments(obs, 0), 0);
    sharr_disconnect(obs);
}

static void test_a_closed_array_attaches_again_without_a_request_and_stays_a_holder(void **state)
{
    struct harness *h = *state;
    sharr_t *obs = harness_connect(h), *c = cached_connect(h, "16", "60000");
    sharr_array_t *a = NULL;
    uint64_t n;

    make(obs, "x", 0600, 0);
    assert_rc(open_counted(c, obs, "x", "r", &a, &n), 0);
    assert_rc(sharr_close(a), 0);
    /* Kept mapped, so still held: sharr holders and ls -l show this process. */
    struct sharr_holder hs[4];
    size_t k = 0;
    int more = 0;
    assert_rc(sharr_holders(obs, "x", 0, hs, 4, &k, &more), 0);
    assert_int_equal(k, 1);
    assert_int_equal(hs[0].pid, (uint32_t)getpid());
    assert_string_equal(hs[0].mode, "r");
    assert_rc(open_counted(c, obs, "x", "r", &a, &n), 0);
    assert_int_equal(n, 0);
    assert_int_equal(((double *)sharr_array_data(a))[0], 1.0);
    assert_rc(sharr_close(a), 0);
    /* Another mode is another attachment. */
    assert_rc(open_counted(c, obs, "x", "r+", &a, &n), 0);
    assert_true(n >= 1);
    assert_int_equal(holders(obs, "x"), 2);
    assert_rc(sharr_close(a), 0);
    sharr_disconnect(c);
    assert_int_equal(harness_wait_attachments(obs, 0), 0);
    sharr_disconnect(obs);
}

/* One event on x (by obs) after c let go of its attachment: the next open of x on c
 * goes to sharrd, which answers want. */
typedef void event_fn(sharr_t *obs);

static void after_event(struct harness *h, const char *mode, uint64_t max_len, event_fn *ev,
                        int want, double first)
{
    sharr_t *obs = harness_connect(h), *c = cached_connect(h, "16", "60000");
    sharr_array_t *a = NULL;
    uint64_t n;

    make(obs, "x", 0644, max_len);
    assert_rc(open_counted(c, obs, "x", mode, &a, &n), 0);
    assert_rc(sharr_close(a), 0);
    assert_rc(open_counted(c, obs, "x", mode, &a, &n), 0);
    assert_int_equal(n, 0);
    assert_rc(sharr_close(a), 0);
    ev(obs);
    a = NULL;
    assert_rc(open_counted(c, obs, "x", mode, &a, &n), want);
    assert_true(n >= 1);
    if (want == 0) {
        assert_int_equal(((double *)sharr_array_data(a))[0], first);
        assert_rc(sharr_close(a), 0);
    }
    sharr_disconnect(c);
    assert_int_equal(harness_wait_attachments(obs, 0), 0);
    sharr_disconnect(obs);
}

static void ev_unlink(sharr_t *obs)
{
    assert_rc(sharr_unlink(obs, "x"), 0);
    /* The cache let go of the unlinked array at the open that missed. */
}

static void ev_overwrite(sharr_t *obs)
{
    const uint64_t shape[1] = { 64 };
    struct sharr_create_opts o = { .size = sizeof(o), .perm = 0644, .overwrite = 1 };
    sharr_array_t *a = NULL;

    assert_rc(sharr_create(obs, "x", "<f8", 1, shape, &o, &a), 0);
    ((double *)sharr_array_data(a))[0] = 2.0;
    assert_rc(sharr_close(a), 0);
}

static void ev_grow(sharr_t *obs)
{
    struct sharr_info info;

    assert_rc(sharr_grow(obs, "x", 100, &info), 0);
}

static void ev_publish(sharr_t *obs)
{
    assert_rc(sharr_publish(obs, "x", NULL), 0);
}

static void ev_chmod(sharr_t *obs)
{
    assert_rc(sharr_chmod(obs, "x", 0640), 0);
}

static void test_unlink_lets_the_cached_attachment_go(void **state)
{
    after_event(*state, "r", 0, ev_unlink, -ENOENT, 0);
}

static void test_an_unlinked_array_is_let_go_at_the_next_request(void **state)
{
    struct harness *h = *state;
    sharr_t *obs = harness_connect(h), *c = cached_connect(h, "16", "60000");
    sharr_array_t *a = NULL;

    make(obs, "x", 0600, 0);
    assert_rc(sharr_open(c, "x", "r", NULL, &a), 0);
    assert_rc(sharr_close(a), 0);
    assert_int_equal(harness_stats(obs).attachments, 1);
    /* c's own unlink: its reply comes after the daemon bumped the name, and the cache
     * lets go of the attachment as the call returns, not T later. */
    assert_rc(sharr_unlink(c, "x"), 0);
    assert_int_equal(harness_stats(obs).attachments, 0);
    sharr_disconnect(c);
    sharr_disconnect(obs);
}

static void test_overwrite_gives_the_new_array_not_the_cached_one(void **state)
{
    after_event(*state, "r", 0, ev_overwrite, 0, 2.0);
}

static void test_grow_gives_the_new_length_not_the_cached_one(void **state)
{
    struct harness *h = *state;

    after_event(h, "r+", 200, ev_grow, 0, 1.0);
}

static void test_publish_never_hands_out_a_cached_writable_attachment(void **state)
{
    after_event(*state, "r+", 0, ev_publish, -EROFS, 0);
}

static void test_chmod_asks_sharrd_again(void **state)
{
    after_event(*state, "r", 0, ev_chmod, 0, 1.0);
}

/* As nobody: open x in mode r and close it (cached), tell the parent, wait for its
 * chmod, open again: the revoked permission must hold. */
static int revoked_child(int rfd, int wfd, void *arg)
{
    char go;
    sharr_array_t *a = NULL;
    int rc;

    (void)arg;
    if (asuser_become(ASUSER_UID, ASUSER_GID) != 0)
        return 120;
    setenv("SHARR_CACHE_MAX", "16", 1);
    setenv("SHARR_CACHE_MS", "60000", 1);
    sharr_t *c = NULL;
    CHILD_CHECK(sharr_connect(NULL, &c) == 0);
    CHILD_CHECK(sharr_open(c, "x", "r", NULL, &a) == 0);
    CHILD_CHECK(sharr_close(a) == 0);
    CHILD_CHECK(sharr_open(c, "x", "r", NULL, &a) == 0); /* a hit */
    CHILD_CHECK(sharr_close(a) == 0);
    CHILD_CHECK(chan_put(wfd, "r", 1) == 0);
    CHILD_CHECK(chan_get(rfd, &go, 1) == 0);
    rc = sharr_open(c, "x", "r", NULL, &a);
    CHILD_CHECK(chan_put(wfd, &rc, sizeof(rc)) == 0);
    sharr_disconnect(c);
    return 0;
}

static void test_a_revoked_read_permission_holds_from_the_next_attach(void **state)
{
    struct harness *h = *state;
    struct harness_child ch;
    sharr_t *obs = harness_connect(h);
    char ready;
    int rc;

    asuser_open_dir(h);
    make(obs, "x", 0644, 0);
    harness_child_start(h, &ch, revoked_child, NULL);
    harness_get(ch.from, &ready, 1);
    assert_int_equal(holders(obs, "x"), 1); /* the child's idle cached attachment */
    assert_rc(sharr_chmod(obs, "x", 0600), 0);
    harness_put(ch.to, "g", 1);
    harness_get(ch.from, &rc, sizeof(rc));
    assert_int_equal(rc, -EACCES);
    assert_int_equal(harness_child_wait(h, &ch), 0);
    sharr_disconnect(obs);
}

static void test_a_daemon_restart_lets_the_cached_attachment_go(void **state)
{
    struct harness *h = *state;
    sharr_t *c = cached_connect(h, "16", "60000"), *obs = NULL;
    sharr_array_t *a = NULL;
    uint64_t n;

    make(c, "p", 0600, 0);
    {
        /* A persistent array, so it is there after the restart. */
        const uint64_t shape[1] = { 64 };
        struct sharr_create_opts o = { .size = sizeof(o), .persist = 1 };
        assert_rc(sharr_create(c, "q", "<f8", 1, shape, &o, &a), 0);
        assert_rc(sharr_close(a), 0);
    }
    assert_rc(sharr_open(c, "q", "r", NULL, &a), 0);
    assert_rc(sharr_close(a), 0);
    harness_daemon_restart(h);
    obs = harness_connect(h);
    /* The new sharrd holds nothing for c: the open asks it, and it sees the holder. */
    assert_rc(open_counted(c, obs, "q", "r", &a, &n), 0);
    assert_true(n >= 1);
    assert_int_equal(holders(obs, "q"), 1);
    assert_rc(sharr_close(a), 0);
    /* The first open on the new connection also fetches its generation page; from
     * the next one on the cache serves c again. */
    assert_rc(sharr_open(c, "q", "r", NULL, &a), 0);
    assert_rc(sharr_close(a), 0);
    assert_rc(open_counted(c, obs, "q", "r", &a, &n), 0);
    assert_int_equal(n, 0);
    assert_rc(sharr_close(a), 0);
    sharr_disconnect(c);
    assert_int_equal(harness_wait_attachments(obs, 0), 0);
    sharr_disconnect(obs);
}

/* In a forked child: an open of what the parent caches is the child's own attachment. */
static int fork_child(int rfd, int wfd, void *arg)
{
    sharr_t *c = arg;
    sharr_array_t *a = NULL;
    struct sharr_holder hs[8];
    size_t n = 0;
    int more = 0, mine = 0;
    char go;

    (void)rfd;
    CHILD_CHECK(sharr_open(c, "x", "r", NULL, &a) == 0);
    CHILD_CHECK(((double *)sharr_array_data(a))[0] == 1.0);
    CHILD_CHECK(sharr_holders(c, "x", 0, hs, 8, &n, &more) == 0);
    for (size_t i = 0; i < n; i++)
        mine += hs[i].pid == (uint32_t)getpid();
    CHILD_CHECK(mine == 1);
    CHILD_CHECK(chan_put(wfd, &n, sizeof(n)) == 0);
    CHILD_CHECK(chan_get(rfd, &go, 1) == 0);
    CHILD_CHECK(sharr_close(a) == 0);
    return 0;
}

static void test_a_forked_child_never_uses_the_parents_cached_attachment(void **state)
{
    struct harness *h = *state;
    sharr_t *obs = harness_connect(h), *c = cached_connect(h, "16", "60000");
    struct harness_child ch;
    sharr_array_t *a = NULL;
    size_t n = 0;

    make(obs, "x", 0600, 0);
    assert_rc(sharr_open(c, "x", "r", NULL, &a), 0);
    assert_rc(sharr_close(a), 0);
    harness_child_start(h, &ch, fork_child, c);
    harness_get(ch.from, &n, sizeof(n));
    assert_int_equal(n, 2); /* the parent's cached one and the child's own */
    harness_put(ch.to, "g", 1);
    assert_int_equal(harness_child_wait(h, &ch), 0);
    /* The parent's cache still serves the parent. */
    uint64_t k;
    assert_rc(open_counted(c, obs, "x", "r", &a, &k), 0);
    assert_int_equal(k, 0);
    assert_rc(sharr_close(a), 0);
    sharr_disconnect(c);
    assert_int_equal(harness_wait_attachments(obs, 0), 0);
    sharr_disconnect(obs);
}

static void test_at_most_n_idle_attachments_are_kept(void **state)
{
    struct harness *h = *state;
    sharr_t *obs = harness_connect(h), *c = cached_connect(h, "2", "60000");
    const char *names[3] = { "n0", "n1", "n2" };
    sharr_array_t *a = NULL;
    uint64_t k;

    for (int i = 0; i < 3; i++)
        make(obs, names[i], 0600, 0);
    for (int i = 0; i < 3; i++) {
        assert_rc(sharr_open(c, names[i], "r", NULL, &a), 0);
        assert_rc(sharr_close(a), 0);
    }
    /* n0, let go of first, went when n2 was let go of. */
    assert_int_equal(harness_stats(obs).attachments, 2);
    assert_int_equal(holders(obs, "n0"), 0);
    assert_rc(open_counted(c, obs, "n2", "r", &a, &k), 0);
    assert_int_equal(k, 0);
    assert_rc(sharr_close(a), 0);
    assert_rc(open_counted(c, obs, "n0", "r", &a, &k), 0);
    assert_true(k >= 1);
    assert_rc(sharr_close(a), 0);
    sharr_disconnect(c);
    assert_int_equal(harness_wait_attachments(obs, 0), 0);
    sharr_disconnect(obs);
}

static void test_idle_attachments_are_kept_at_most_t(void **state)
{
    struct harness *h = *state;
    sharr_t *obs = harness_connect(h), *c = cached_connect(h, "16", "50");
    const struct timespec pause = { 0, 200 * 1000000 };
    sharr_array_t *a = NULL;
    uint64_t k;

    make(obs, "x", 0600, 0);
    make(obs, "y", 0600, 0);
    assert_rc(sharr_open(c, "x", "r", NULL, &a), 0);
    assert_rc(sharr_close(a), 0);
    nanosleep(&pause, NULL);
    /* Older than T: the next use of the cache lets it go, and the open asks sharrd. */
    assert_rc(open_counted(c, obs, "x", "r", &a, &k), 0);
    assert_true(k >= 1);
    assert_int_equal(holders(obs, "x"), 1);
    sharr_array_t *b = NULL;
    assert_rc(sharr_open(c, "y", "r", NULL, &b), 0);
    assert_rc(sharr_close(b), 0);
    nanosleep(&pause, NULL);
    assert_rc(sharr_close(a), 0); /* this close lets y go: older than T */
    assert_int_equal(holders(obs, "y"), 0);
    sharr_disconnect(c);
    assert_int_equal(harness_wait_attachments(obs, 0), 0);
    sharr_disconnect(obs);
}

static void test_the_cache_is_off_with_n_zero(void **state)
{
    struct harness *h = *state;
    sharr_t *obs = harness_connect(h), *c = cached_connect(h, "0", "60000");
    sharr_array_t *a = NULL;
    uint64_t k;

    make(obs, "x", 0600, 0);
    assert_rc(sharr_open(c, "x", "r", NULL, &a), 0);
    assert_rc(sharr_close(a), 0);
    assert_int_equal(holders(obs, "x"), 0);
    assert_rc(open_counted(c, obs, "x", "r", &a, &k), 0);
    assert_true(k >= 1);
    assert_rc(sharr_close(a), 0);
    sharr_disconnect(c);
    sharr_disconnect(obs);
}

/* T = 0 keeps nothing after its last close: the close itself lets the attachment go
 * (sharrd sees no holder), though handles still open share one attachment. */
static void test_t_zero_lets_go_at_the_last_close(void **state)
{
    struct harness *h = *state;
    sharr_t *obs = harness_connect(h), *c = cached_connect(h, "16", "0");
    sharr_array_t *a = NULL, *b = NULL;
    uint64_t k;

    make(obs, "x", 0600, 0);
    assert_rc(sharr_open(c, "x", "r", NULL, &a), 0);
    assert_rc(open_counted(c, obs, "x", "r", &b, &k), 0);
    assert_int_equal(k, 0);
    assert_int_equal(holders(obs, "x"), 1);
    assert_rc(sharr_close(b), 0);
    assert_int_equal(holders(obs, "x"), 1);
    assert_rc(sharr_close(a), 0);
    assert_int_equal(holders(obs, "x"), 0);
    sharr_disconnect(c);
    sharr_disconnect(obs);
}

/* sharr_open with SHARR_F_CACHED_ONLY on c, and the requests it took (obs counts). */
static int cached_only(sharr_t *c, sharr_t *obs, const char *name, const char *mode, int flags,
                       sharr_array_t **ret, uint64_t *ret_requests)
{
    struct sharr_open_opts o = { .size = sizeof(o), .flags = SHARR_F_CACHED_ONLY | flags };
    uint64_t before = requests(obs);
    int rc;

    *ret = NULL;
    rc = sharr_open(c, name, mode, &o, ret);
    *ret_requests = requests(obs) - before - 1;
    return rc;
}

/* SHARR_F_CACHED_ONLY hands out what the cache holds, the same mapping as a plain
 * open would, and otherwise says -EAGAIN without a request: a miss, a mode or flag
 * the cache never serves, a stale entry, a connection with the cache off. */
static void test_cached_only_serves_a_hit_and_refuses_the_rest_without_a_request(void **state)
{
    struct harness *h = *state;
    sharr_t *obs = harness_connect(h), *c = cached_connect(h, "16", "60000");
    sharr_t *off = cached_connect(h, "0", "60000");
    sharr_array_t *a = NULL, *b = NULL;
    uint64_t k;

    make(obs, "x", 0600, 0);
    assert_rc(cached_only(c, obs, "x", "r+", 0, &b, &k), -EAGAIN);
    assert_int_equal(k, 0);
    assert_null(b);
    assert_rc(sharr_open(c, "x", "r+", NULL, &a), 0);
    assert_rc(cached_only(c, obs, "x", "r+", 0, &b, &k), 0);
    assert_int_equal(k, 0);
    assert_ptr_equal(sharr_array_data(b), sharr_array_data(a));
    assert_int_equal(sharr_array_info(b)->ctime_ns, sharr_array_info(a)->ctime_ns);
    assert_string_equal(sharr_array_mode(b), "r+");
    assert_rc(sharr_close(b), 0);
    assert_rc(sharr_close(a), 0);
    /* Let go of, kept within T: still served. */
    assert_rc(cached_only(c, obs, "x", "r+", 0, &b, &k), 0);
    assert_int_equal(k, 0);
    assert_int_equal(((double *)sharr_array_data(b))[0], 1.0);
    assert_rc(sharr_close(b), 0);
    assert_int_equal(holders(obs, "x"), 1);
    /* What the cache never serves, or not in this mode. */
    assert_rc(cached_only(c, obs, "x", "r", 0, &b, &k), -EAGAIN);
    assert_int_equal(k, 0);
    assert_rc(cached_only(c, obs, "x", "c", 0, &b, &k), -EAGAIN);
    assert_int_equal(k, 0);
    assert_rc(cached_only(c, obs, "x", "r+", SHARR_F_POPULATE, &b, &k), -EAGAIN);
    assert_int_equal(k, 0);
    assert_rc(cached_only(off, obs, "x", "r+", 0, &b, &k), -EAGAIN);
    assert_int_equal(k, 0);
    /* Arguments a plain open refuses: the open without the flag says why. */
    assert_rc(cached_only(c, obs, "x", "w+", 0, &b, &k), -EAGAIN);
    assert_rc(cached_only(c, obs, "x", "r+", 0x1000, &b, &k), -EAGAIN);
    assert_int_equal(k, 0);
    /* Stale: the name was unlinked and made again. The entry is not handed out, and
     * the full open that follows attaches the new array. */
    assert_rc(sharr_unlink(obs, "x"), 0);
    make(obs, "x", 0600, 0);
    assert_rc(cached_only(c, obs, "x", "r+", 0, &b, &k), -EAGAIN);
    assert_int_equal(k, 0);
    struct sharr_info now;
    assert_rc(sharr_stat(obs, "x", &now), 0);
    assert_rc(sharr_open(c, "x", "r+", NULL, &a), 0);
    assert_int_equal(sharr_array_info(a)->ctime_ns, now.ctime_ns);
    assert_rc(sharr_close(a), 0);
    sharr_disconnect(off);
    sharr_disconnect(c);
    assert_int_equal(harness_wait_attachments(obs, 0), 0);
    sharr_disconnect(obs);
}

#define T(fn) cmocka_unit_test_setup_teardown(fn, harness_setup, harness_teardown)

int main(void)
{
    const struct CMUnitTest tests[] = {
        T(test_a_held_array_attaches_again_without_a_request),
        T(test_a_closed_array_attaches_again_without_a_request_and_stays_a_holder),
        T(test_unlink_lets_the_cached_attachment_go),
        T(test_an_unlinked_array_is_let_go_at_the_next_request),
        T(test_overwrite_gives_the_new_array_not_the_cached_one),
        T(test_grow_gives_the_new_length_not_the_cached_one),
        T(test_publish_never_hands_out_a_cached_writable_attachment),
        T(test_chmod_asks_sharrd_again),
        T(test_a_revoked_read_permission_holds_from_the_next_attach),
        T(test_a_daemon_restart_lets_the_cached_attachment_go),
        T(test_a_forked_child_never_uses_the_parents_cached_attachment),
        T(test_at_most_n_idle_attachments_are_kept),
        T(test_idle_attachments_are_kept_at_most_t),
        T(test_the_cache_is_off_with_n_zero),
        T(test_t_zero_lets_go_at_the_last_close),
        T(test_cached_only_serves_a_hit_and_refuses_the_rest_without_a_request),
    };

    return testskip_exit(cmocka_run_group_tests(tests, NULL, NULL));
}
