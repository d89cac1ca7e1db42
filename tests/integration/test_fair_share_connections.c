/* test_fair_share_connections.c — the connections one local user, or a few, can make
 * sharrd serve: bounded per uid by a flag with a default sized against the whole, the
 * last few kept for root, and refusals and connections closed for what they sent
 * logged at a bounded rate.
 *
 * Other uids connect through asuser_connect (a child running as that uid connects and
 * hands the sockets back), so the test itself speaks for them with rawconn
 * (fairshare.h). Everything is measured as counts, bytes and log lines, never time.
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "asuser.h"
#include "codec.h"
#include "fairshare.h"
#include "keeper.h"
#include "launch.h"
#include "rawconn.h"
#include "testskip.h"

static void test_four_uids_at_their_connection_limit_leave_root_and_a_fifth_uid_served(
    void **state)
{
    struct harness *h = *state;
    enum { TRY = DEFAULT_MAX_CONNECTIONS / 2 + 16 };
    asuser_open_dir(h);
    fairshare_raise_nofile(4 * TRY + 256);
    sharr_t *mon = harness_connect(h);
    assert_int_equal(harness_wait_connections(mon, 1), 1);
    struct rawconn *rcs = calloc(UIDS * TRY, sizeof *rcs);
    assert_non_null(rcs);
    int served[UIDS], total = 0;
    for (int u = 0; u < UIDS; u++) {
        served[u] = fairshare_connect_as(h, fairshare_uids[u], rcs + total, TRY);
        print_message("uid %u: %d of %d connections served\n", fairshare_uids[u], served[u], TRY);
        total += served[u];
    }
    /* Root and a fifth uid are still served with the default flags. */
    struct rawconn root;
    rawconn_open(&root, h->sock, 4096);
    assert_int_equal(fairshare_hello_or_refused(&root), 0);
    struct rawconn fifth[1];
    assert_int_equal(fairshare_connect_as(h, fairshare_uids[UIDS], fifth, 1), 1);
    /* Each of the four got exactly its default share: an eighth of the total. */
    for (int u = 0; u < UIDS; u++)
        assert_int_equal(served[u], DEFAULT_CONNECTIONS_PER_UID);
    assert_int_equal(harness_stats(mon).connections, (uint64_t)total + 3);
    for (int i = 0; i < total; i++)
        rawconn_close(&rcs[i]);
    rawconn_close(&root);
    rawconn_close(&fifth[0]);
    free(rcs);
    assert_int_equal(harness_wait_connections(mon, 1), 1);
    sharr_disconnect(mon);
}

static void test_the_last_connections_are_kept_for_root(void **state)
{
    struct harness *h = *state;
    /* No per-uid limit: only the reserve stands between one uid and the total. */
    const char *const flags[] = { "--max-connections", "40", "--max-connections-per-uid", "0",
                                  "--reserved-root-connections", "4", NULL };
    launch_daemon(h, flags, 0);
    asuser_open_dir(h);
    sharr_t *mon = harness_connect(h);
    assert_int_equal(harness_wait_connections(mon, 1), 1);
    struct rawconn rcs[48];
    int served = fairshare_connect_as(h, ASUSER_UID, rcs, 48);
    /* 40 in all, 4 of them root's: the monitor holds one of the 36 others. */
    assert_int_equal(served, 35);
    struct rawconn root[4];
    for (int i = 0; i < 4; i++) {
        rawconn_open(&root[i], h->sock, 4096);
        assert_int_equal(fairshare_hello_or_refused(&root[i]), 0);
    }
    /* The total holds for root too. */
    struct rawconn over;
    rawconn_open(&over, h->sock, 4096);
    assert_int_equal(fairshare_hello_or_refused(&over), -EMFILE);
    rawconn_close(&over);
    for (int i = 0; i < 4; i++)
        rawconn_close(&root[i]);
    for (int i = 0; i < served; i++)
        rawconn_close(&rcs[i]);
    assert_int_equal(harness_wait_connections(mon, 1), 1);
    sharr_disconnect(mon);
}

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void test_refused_connections_are_logged_at_a_bounded_rate(void **state)
{
    struct harness *h = *state;
    enum { REFUSED = 2000, BURST = 10, PERIOD_S = 10 };
    const char *const flags[] = { "--max-connections", "2", NULL };
    launch_daemon(h, flags, 0);
    sharr_t *a = harness_connect(h), *b = harness_connect(h);
    assert_int_equal(harness_wait_connections(a, 2), 2);
    double t0 = now_s();
    for (int i = 0; i < REFUSED; i++) {
        struct rawconn rc;
        rawconn_open(&rc, h->sock, 4096);
        assert_int_equal(rawconn_expect_closed(&rc), 0);
        rawconn_close(&rc);
    }
    double elapsed = now_s() - t0;
    assert_int_equal(harness_stats(a).connections, 2);
    sharr_disconnect(a);
    sharr_disconnect(b);
    /* A clean stop writes what is still owed of the summary. */
    assert_int_equal(harness_daemon_stop(h), 0);
    unsigned long long suppressed = 0;
    int lines = harness_log_lines(h, "refusing a connection", NULL, NULL);
    int summaries = harness_log_lines(h, "more refused connections not logged", "warning: ",
                              &suppressed);
    print_message("%d refusals in %.1f s: %d lines, %d summaries of %llu more\n", REFUSED,
                  elapsed, lines, summaries, suppressed);
    /* At most BURST lines per period (plus the period the run started in)... */
    assert_true(lines <= BURST * ((int)(elapsed / PERIOD_S) + 2));
    /* ...and every refusal is accounted for, in a line or a summary. */
    assert_int_equal((unsigned long long)lines + suppressed, REFUSED);
    assert_true(summaries >= 1);
}

static void test_connections_closed_for_what_they_sent_are_logged_at_a_bounded_rate(
    void **state)
{
    struct harness *h = *state;
    enum { CLOSED = 2000, BURST = 10, PERIOD_S = 10 };
    /* A byte msgpack never uses, and an integer where a request belongs. */
    static const uint8_t undecodable[] = { 0xc1 }, not_a_request[] = { 0x07 };
    double t0 = now_s();
    for (int i = 0; i < CLOSED; i++) {
        struct rawconn rc;
        rawconn_open(&rc, h->sock, 4096);
        if (i % 2)
            rawconn_send_ok(&rc, undecodable, sizeof undecodable);
        else
            rawconn_send_ok(&rc, not_a_request, sizeof not_a_request);
        assert_int_equal(rawconn_expect_closed(&rc), 0);
        rawconn_close(&rc);
    }
    double elapsed = now_s() - t0;
    sharr_t *c = harness_connect(h);
    assert_int_equal(harness_wait_connections(c, 1), 1);
    sharr_disconnect(c);
    assert_int_equal(harness_daemon_stop(h), 0);
    unsigned long long suppressed = 0;
    int lines = harness_log_lines(h, "): closing", NULL, NULL);
    int summaries = harness_log_lines(h, "more connections closed for what they sent not logged",
                              "warning: ", &suppressed);
    print_message("%d connections closed for bad bytes in %.1f s: %d lines, %d summaries of "
                  "%llu more\n", CLOSED, elapsed, lines, summaries, suppressed);
    assert_true(lines <= BURST * ((int)(elapsed / PERIOD_S) + 2));
    assert_int_equal((unsigned long long)lines + suppressed, CLOSED);
    assert_true(summaries >= 1);
}

#define T(fn) cmocka_unit_test_setup_teardown(fn, harness_setup, harness_teardown)

int main(void)
{
    const struct CMUnitTest tests[] = {
        T(test_four_uids_at_their_connection_limit_leave_root_and_a_fifth_uid_served),
        T(test_the_last_connections_are_kept_for_root),
        T(test_refused_connections_are_logged_at_a_bounded_rate),
        T(test_connections_closed_for_what_they_sent_are_logged_at_a_bounded_rate),
    };
    return testskip_exit(cmocka_run_group_tests(tests, NULL, NULL));
}
