/* test_limits.c — every resource limit of sharrd, hit on purpose: the error code it
 * answers with (ENOSPC, EDQUOT, EMFILE, E2BIG, ETIMEDOUT, a closed connection), and
 * that the daemon goes on serving everyone else with their arrays intact.
 *
 * Each test starts its own sharrd with small limits (launch.c); per-uid limits are
 * hit by a child running as nobody, since uid 0 is exempt from them.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "asuser.h"
#include "codec.h"
#include "keeper.h"
#include "launch.h"
#include "rawconn.h"
#include "testskip.h"

static struct harness *g_h;

static int create_rc(sharr_t *c, const char *name, uint64_t nbytes)
{
    const uint64_t shape[1] = { nbytes };
    sharr_array_t *a = NULL;
    int rc = sharr_create(c, name, "|u1", 1, shape, NULL, &a);
    if (rc == 0)
        sharr_close(a);
    return rc;
}

static void test_max_bytes_is_enospc_and_counts_unlinked_attached_arrays(void **state)
{
    struct harness *h = *state;
    const char *const flags[] = { "--max-bytes", "64K", NULL };
    launch_daemon(h, flags, 0);
    struct keeper k;
    keeper_start(&k, h); /* 2 KiB */
    const uint64_t big[1] = { 40 * 1024 };
    sharr_array_t *held = NULL;
    assert_rc(sharr_create(k.conn, "big", "|u1", 1, big, NULL, &held), 0);
    assert_rc(create_rc(k.conn, "more", 30 * 1024), -ENOSPC);
    assert_non_null(strstr(sharr_last_error(), "--max-bytes"));
    /* An unlinked array still attached still holds its memory. */
    assert_rc(sharr_unlink(k.conn, "big"), 0);
    assert_rc(create_rc(k.conn, "more", 30 * 1024), -ENOSPC);
    assert_rc(sharr_close(held), 0);
    assert_rc(create_rc(k.conn, "more", 30 * 1024), 0);
    /* Exactly up to the limit fits. */
    struct sharr_stats st = harness_stats(k.conn);
    assert_rc(create_rc(k.conn, "rest", 64 * 1024 - st.bytes), 0);
    assert_rc(create_rc(k.conn, "one", 1), -ENOSPC);
    keeper_check(&k);
    keeper_stop(&k);
}

static int child_bytes_quota(void *arg)
{
    (void)arg;
    sharr_t *c = NULL;
    CHILD_CHECK(sharr_connect(g_h->sock, &c) == 0);
    CHILD_CHECK(create_rc(c, "n1", 12 * 1024) == 0);
    CHILD_CHECK(create_rc(c, "n2", 8 * 1024) == -EDQUOT);
    CHILD_CHECK(strstr(sharr_last_error(), "--max-bytes-per-uid") != NULL);
    CHILD_CHECK(create_rc(c, "n2", 4 * 1024) == 0);
    CHILD_CHECK(sharr_unlink(c, "n1") == 0);
    CHILD_CHECK(create_rc(c, "n3", 12 * 1024) == 0);
    sharr_disconnect(c);
    return 0;
}

static int child_bytes_over_quota(void *arg)
{
    (void)arg;
    sharr_t *c = NULL;
    CHILD_CHECK(sharr_connect(g_h->sock, &c) == 0);
    CHILD_CHECK(create_rc(c, "tiny", 1) == -EDQUOT);
    sharr_disconnect(c);
    return 0;
}

static void test_max_bytes_per_uid_is_edquot_and_root_is_exempt(void **state)
{
    struct harness *h = g_h = *state;
    const char *const flags[] = { "--max-bytes-per-uid", "16K", NULL };
    launch_daemon(h, flags, 0);
    asuser_open_dir(h);
    struct keeper k;
    keeper_start(&k, h);
    assert_int_equal(asuser_run(h, ASUSER_UID, ASUSER_GID, child_bytes_quota, NULL), 0);
    assert_rc(create_rc(k.conn, "root-big", 1024 * 1024), 0);
    /* Giving an array to nobody moves it into nobody's quota. */
    assert_rc(sharr_chown(k.conn, "root-big", ASUSER_UID, SHARR_ID_KEEP), 0);
    assert_int_equal(asuser_run(h, ASUSER_UID, ASUSER_GID, child_bytes_over_quota, NULL), 0);
    keeper_check(&k);
    keeper_stop(&k);
}

static int child_arrays_quota(void *arg)
{
    (void)arg;
    sharr_t *c = NULL;
    CHILD_CHECK(sharr_connect(g_h->sock, &c) == 0);
    CHILD_CHECK(create_rc(c, "a1", 8) == 0);
    CHILD_CHECK(create_rc(c, "a2", 8) == 0);
    CHILD_CHECK(create_rc(c, "a3", 8) == -EDQUOT);
    CHILD_CHECK(strstr(sharr_last_error(), "--max-arrays-per-uid") != NULL);
    sharr_disconnect(c);
    return 0;
}

static void test_max_arrays_is_enospc_and_per_uid_is_edquot(void **state)
{
    struct harness *h = g_h = *state;
    const char *const flags[] = { "--max-arrays", "5", "--max-arrays-per-uid", "2", NULL };
    launch_daemon(h, flags, 0);
    asuser_open_dir(h);
    struct keeper k;
    keeper_start(&k, h);
    assert_int_equal(asuser_run(h, ASUSER_UID, ASUSER_GID, child_arrays_quota, NULL), 0);
    assert_rc(create_rc(k.conn, "r1", 8), 0);
    assert_rc(create_rc(k.conn, "r2", 8), 0);
    assert_rc(create_rc(k.conn, "r3", 8), -ENOSPC);
    assert_non_null(strstr(sharr_last_error(), "--max-arrays"));
    assert_int_equal(harness_stats(k.conn).arrays, 5);
    assert_rc(sharr_unlink(k.conn, "r2"), 0);
    assert_rc(create_rc(k.conn, "r3", 8), 0);
    keeper_check(&k);
    keeper_stop(&k);
}

static void test_arrays_found_at_start_count_toward_the_limits(void **state)
{
    struct harness *h = *state;
    sharr_t *c = harness_connect(h);
    const uint64_t shape[1] = { 1000 };
    struct sharr_create_opts persist = { .size = sizeof(persist), .persist = 1 };
    for (int i = 0; i < 3; i++) {
        char name[8];
        snprintf(name, sizeof name, "p%d", i);
        sharr_array_t *a = NULL;
        assert_rc(sharr_create(c, name, "|u1", 1, shape, &persist, &a), 0);
        assert_rc(sharr_close(a), 0);
    }
    sharr_disconnect(c);
    const char *const flags[] = { "--max-arrays", "4", "--max-bytes", "4000", NULL };
    launch_daemon(h, flags, 0);
    c = harness_connect(h);
    assert_int_equal(harness_stats(c).arrays, 3);
    assert_rc(create_rc(c, "fits", 1000), 0);
    assert_rc(create_rc(c, "over", 1), -ENOSPC);
    assert_rc(sharr_unlink(c, "p0"), 0);
    assert_rc(create_rc(c, "again", 1000), 0);
    sharr_disconnect(c);
}

static int child_connections(void *arg)
{
    (void)arg;
    sharr_t *c1 = NULL, *c2 = NULL, *c3 = NULL;
    CHILD_CHECK(sharr_connect(g_h->sock, &c1) == 0);
    CHILD_CHECK(sharr_connect(g_h->sock, &c2) == 0);
    CHILD_CHECK(sharr_connect(g_h->sock, &c3) == -EMFILE);
    CHILD_CHECK(strstr(sharr_last_error(), "--max-connections-per-uid") != NULL);
    sharr_disconnect(c2);
    int rc = -EMFILE;
    /* The daemon sees the close asynchronously: bounded retries. */
    for (int i = 0; i < 2000 && rc == -EMFILE; i++) {
        rc = sharr_connect(g_h->sock, &c3);
        if (rc == -EMFILE)
            usleep(10000);
    }
    CHILD_CHECK(rc == 0);
    sharr_disconnect(c3);
    sharr_disconnect(c1);
    return 0;
}

static void test_connection_limits_are_emfile_for_the_newcomer_only(void **state)
{
    struct harness *h = g_h = *state;
    const char *const flags[] = { "--max-connections", "6", "--max-connections-per-uid", "2",
                                  NULL };
    launch_daemon(h, flags, 0);
    asuser_open_dir(h);
    struct keeper k;
    keeper_start(&k, h);
    assert_int_equal(asuser_run(h, ASUSER_UID, ASUSER_GID, child_connections, NULL), 0);
    /* Root is held only by the total. */
    sharr_t *c[5] = { 0 };
    for (int i = 0; i < 5; i++)
        assert_rc(sharr_connect(h->sock, &c[i]), 0);
    assert_int_equal(harness_wait_connections(k.conn, 6), 6);
    sharr_t *over = NULL;
    assert_rc(sharr_connect(h->sock, &over), -EMFILE);
    assert_non_null(strstr(sharr_last_error(), "--max-connections"));
    for (int i = 0; i < 5; i++)
        sharr_disconnect(c[i]);
    assert_int_equal(harness_wait_connections(k.conn, 1), 1);
    keeper_check(&k);
    keeper_stop(&k);
}

static void test_half_sent_request_times_out_with_etimedout(void **state)
{
    struct harness *h = *state;
    const char *const flags[] = { "--request-timeout", "200", NULL };
    launch_daemon(h, flags, 0);
    struct keeper k;
    keeper_start(&k, h);
    /* A quiet connection with nothing half-sent is never timed out. */
    struct rawconn quiet;
    rawconn_open_hello(&quiet, h->sock, 4096);

    struct rawconn rc;
    rawconn_open_hello(&rc, h->sock, 4096);
    msgpack_sbuffer sb;
    msgpack_sbuffer_init(&sb);
    rawconn_pack_name(&sb, 2, "stat", KEEPER_NAME);
    rawconn_send_ok(&rc, sb.data, sb.size - 3);
    msgpack_sbuffer_destroy(&sb);
    rawconn_expect_reply(&rc, 0, "ETIMEDOUT", NULL);
    assert_int_equal(rawconn_expect_closed(&rc), 0);
    rawconn_close(&rc);

    rawconn_send_name(&quiet, 2, "stat", KEEPER_NAME);
    rawconn_expect_reply(&quiet, 2, NULL, NULL);
    rawconn_close(&quiet);
    keeper_check(&k);
    keeper_stop(&k);
}

static void test_client_that_never_reads_is_closed(void **state)
{
    struct harness *h = *state;
    const char *const flags[] = { "--max-queued", "64K", NULL };
    launch_daemon(h, flags, 0);
    struct keeper k;
    keeper_start(&k, h);
    struct rawconn rc;
    rawconn_open_hello(&rc, h->sock, 4096);
    /* Thousands of stats, never a read: far more replies than the socket buffers and
     * the daemon's queue hold. The daemon keeps reading until it drops the client,
     * so this send ends (with EPIPE or ECONNRESET at the latest). */
    msgpack_sbuffer sb;
    msgpack_sbuffer_init(&sb);
    for (uint32_t id = 2; id < 40000; id++)
        rawconn_pack_name(&sb, id, "stat", KEEPER_NAME);
    int r = rawconn_send(&rc, sb.data, sb.size);
    msgpack_sbuffer_destroy(&sb);
    assert_true(r == 0 || r == -EPIPE || r == -ECONNRESET);
    assert_int_equal(harness_wait_connections(k.conn, 1), 1);
    assert_int_equal(rawconn_expect_closed(&rc), 0);
    rawconn_close(&rc);
    keeper_check(&k);
    keeper_stop(&k);
}

static void test_request_over_max_request_is_e2big(void **state)
{
    struct harness *h = *state;
    const char *const flags[] = { "--max-request", "1K", NULL };
    launch_daemon(h, flags, 0);
    struct keeper k;
    keeper_start(&k, h);
    struct sharr_server info;
    assert_rc(sharr_server_info(k.conn, &info), 0);
    assert_int_equal(info.max_request, 1024);
    msgpack_sbuffer sb;
    msgpack_sbuffer_init(&sb);
    struct rawconn rc;
    rawconn_open_hello(&rc, h->sock, 4096);
    rawconn_pack_padded_stat(&sb, 2, KEEPER_NAME, 1024);
    rawconn_send_sbuf(&rc, &sb);
    rawconn_expect_reply(&rc, 2, NULL, NULL);
    rawconn_pack_padded_stat(&sb, 3, KEEPER_NAME, 1025);
    rawconn_send(&rc, sb.data, sb.size);
    rawconn_expect_reply(&rc, 0, "E2BIG", NULL);
    assert_int_equal(rawconn_expect_closed(&rc), 0);
    rawconn_close(&rc);
    msgpack_sbuffer_destroy(&sb);
    keeper_check(&k);
    keeper_stop(&k);
}

static void test_limit_flags_out_of_range_are_refused(void **state)
{
    struct harness *h = *state;
    const char *bad[][2] = {
        { "--max-bytes", "-1" },          { "--max-bytes", "12Q" },
        { "--max-bytes", "12 " },         { "--max-bytes", "1KK" },
        { "--max-bytes", "99999999999T" }, { "--max-arrays", "x" },
        { "--max-arrays-per-uid", "5000000000" }, { "--max-connections-per-uid", "1000001" },
        { "--request-timeout", "0" },     { "--max-queued", "1K" },
        { "--max-request", "65537" },     { "--max-request", "100" },
        { "--reserved-root-connections", "x" }, { "--max-waiting-opens", "0" },
        { "--max-waiting-opens-per-uid", "-1" }, { "--max-attachments-per-uid", "1K" },
        { "--max-queued-total", "1K" },  { "--max-queued-total", "2T" },
        { "--max-watches-per-uid", "x" }, { "--max-watches-per-uid", "1000001" },
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        const char *const argv[] = { bad[i][0], bad[i][1], NULL };
        struct harness_run run;
        launch_run(h, argv, &run);
        assert_int_equal(run.status, 2);
        assert_non_null(strstr(run.err, bad[i][0]));
        harness_run_free(&run);
    }
    /* Root's reserve must leave the others a connection. */
    const char *const reserve[] = { "--max-connections", "8", "--reserved-root-connections",
                                    "8", NULL };
    struct harness_run bad_reserve;
    launch_run(h, reserve, &bad_reserve);
    assert_int_equal(bad_reserve.status, 2);
    assert_non_null(strstr(bad_reserve.err, "--reserved-root-connections"));
    harness_run_free(&bad_reserve);
    const char *const help[] = { harness_sharrd_path(), "--help", NULL };
    struct harness_run run;
    harness_run(h, help, &run);
    assert_int_equal(run.status, 0);
    const char *flags[] = { "--max-bytes ", "--max-bytes-per-uid", "--max-arrays ",
                            "--max-arrays-per-uid", "--max-connections ",
                            "--max-connections-per-uid", "--request-timeout", "--max-queued",
                            "--max-request", "--socket-mode", "--reserved-root-connections",
                            "--max-waiting-opens ", "--max-waiting-opens-per-uid",
                            "--max-attachments-per-uid", "--max-queued-total",
                            "--max-watches-per-uid" };
    for (size_t i = 0; i < sizeof flags / sizeof flags[0]; i++)
        assert_non_null(strstr(run.out, flags[i]));
    harness_run_free(&run);
}

#define T(fn) cmocka_unit_test_setup_teardown(fn, harness_setup, harness_teardown)

int main(void)
{
    const struct CMUnitTest tests[] = {
        T(test_max_bytes_is_enospc_and_counts_unlinked_attached_arrays),
        T(test_max_bytes_per_uid_is_edquot_and_root_is_exempt),
        T(test_max_arrays_is_enospc_and_per_uid_is_edquot),
        T(test_arrays_found_at_start_count_toward_the_limits),
        T(test_connection_limits_are_emfile_for_the_newcomer_only),
        T(test_half_sent_request_times_out_with_etimedout),
        T(test_client_that_never_reads_is_closed),
        T(test_request_over_max_request_is_e2big),
        T(test_limit_flags_out_of_range_are_refused),
    };
    return testskip_exit(cmocka_run_group_tests(tests, NULL, NULL));
}
