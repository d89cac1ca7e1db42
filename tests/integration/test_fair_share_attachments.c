/* test_fair_share_attachments.c — the attachments one local user can make sharrd hold
 * are bounded per uid (root exempt), and one user's batches of opens and releases
 * share the loop with the others: a slice per turn, one share per uid however many
 * connections it has.
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

static struct harness *g_h;

static int child_attachments(void *arg)
{
    (void)arg;
    sharr_t *c1 = NULL, *c2 = NULL;
    sharr_array_t *a[101] = { 0 };
    CHILD_CHECK(sharr_connect(g_h->sock, &c1) == 0);
    CHILD_CHECK(sharr_connect(g_h->sock, &c2) == 0);
    for (int i = 0; i < 100; i++)
        CHILD_CHECK(sharr_open(i % 2 ? c1 : c2, "shared", "r", NULL, &a[i]) == 0);
    CHILD_CHECK(sharr_open(c1, "shared", "r", NULL, &a[100]) == -EMFILE);
    CHILD_CHECK(strstr(sharr_last_error(), "--max-attachments-per-uid") != NULL);
    CHILD_CHECK(sharr_open(c2, "shared", "r", NULL, &a[100]) == -EMFILE);
    CHILD_CHECK(sharr_close(a[0]) == 0);
    CHILD_CHECK(sharr_open(c1, "shared", "r", NULL, &a[0]) == 0);
    for (int i = 0; i < 100; i++)
        CHILD_CHECK(sharr_close(a[i]) == 0);
    sharr_disconnect(c1);
    sharr_disconnect(c2);
    return 0;
}

static void test_attachments_are_bounded_per_uid(void **state)
{
    struct harness *h = g_h = *state;
    const char *const flags[] = { "--max-attachments-per-uid", "100", NULL };
    launch_daemon(h, flags, 0);
    asuser_open_dir(h);
    sharr_t *c = harness_connect(h);
    sharr_array_t *own = fairshare_create_readable(c, "shared", 64);
    assert_int_equal(asuser_run(h, ASUSER_UID, ASUSER_GID, child_attachments, NULL), 0);
    /* Root is exempt. */
    sharr_array_t *more[150];
    for (int i = 0; i < 150; i++)
        assert_rc(sharr_open(c, "shared", "r", NULL, &more[i]), 0);
    for (int i = 0; i < 150; i++)
        assert_rc(sharr_close(more[i]), 0);
    assert_rc(sharr_close(own), 0);
    assert_int_equal(harness_wait_attachments(c, 0), 0);
    sharr_disconnect(c);
}

struct sender {
    struct rawconn *rc;
    const char *bytes;
    size_t len;
    int r;
};

static void *sender_main(void *arg)
{
    struct sender *s = arg;
    s->r = rawconn_send(s->rc, s->bytes, s->len);
    return NULL;
}

static void test_a_batch_of_releases_shares_the_loop_with_another_client(void **state)
{
    struct harness *h = *state;
    enum { N = 20000, STATS = 2000, CHUNK = 500 };
    asuser_open_dir(h);
    sharr_t *c = harness_connect(h);
    sharr_array_t *own = fairshare_create_readable(c, "shared", 64);
    /* A: another uid holding N attachments of it. */
    int fd;
    asuser_connect(h, ASUSER_UID, ASUSER_GID, &fd, 1);
    struct rawconn a;
    rawconn_adopt(&a, fd, 65536);
    rawconn_hello(&a, 1);
    uint64_t *handles = malloc(sizeof(uint64_t) * N);
    assert_non_null(handles);
    msgpack_sbuffer sb;
    msgpack_sbuffer_init(&sb);
    for (int base = 0; base < N; base += CHUNK) {
        for (int i = base; i < base + CHUNK; i++) {
            struct codec_open o = { .mode = META_MODE_R };
            strcpy(o.name, "shared");
            assert_int_equal(codec_pack_open(&sb, 2 + (uint32_t)i, &o), 0);
        }
        rawconn_send_sbuf(&a, &sb);
        for (int i = base; i < base + CHUNK; i++) {
            const msgpack_object *result = NULL;
            rawconn_expect_reply(&a, 2 + (uint32_t)i, NULL, &result);
            struct codec_attach_reply rep;
            char err[256];
            int has_fd = 0;
            assert_int_equal(codec_parse_reply_attach(result, &rep, &has_fd, err, sizeof err), 0);
            handles[i] = rep.handle;
            int got;
            while ((got = rawconn_take_fd(&a, NULL)) >= 0)
                close(got);
        }
    }
    assert_int_equal(harness_stats(c).attachments, N + 1);
    /* A's releases as notifications, one buffer; B's stats, one buffer. */
    for (int i = 0; i < N; i++) {
        struct codec_release r = { .handle = handles[i] };
        assert_int_equal(codec_pack_release_notify(&sb, &r), 0);
    }
    msgpack_sbuffer st;
    msgpack_sbuffer_init(&st);
    for (int i = 0; i < STATS; i++)
        assert_int_equal(codec_pack_stats(&st, 2 + (uint32_t)i), 0);
    struct rawconn b;
    rawconn_open_hello(&b, h->sock, 65536);
    /* Both arrive while the daemon is stopped, so its loop finds both ready at once. */
    assert_int_equal(kill(h->daemon, SIGSTOP), 0);
    rawconn_send_ok(&b, st.data, st.size);
    size_t off = 0;
    for (;;) {
        ssize_t n = send(a.fd, sb.data + off, sb.size - off, MSG_DONTWAIT | MSG_NOSIGNAL);
        if (n <= 0)
            break;
        off += (size_t)n;
    }
    print_message("%zu of %zu bytes of releases and all %zu of stats sent before the loop "
                  "ran\n", off, sb.size, st.size);
    assert_true(off >= 65536);
    struct sender s = { &a, sb.data + off, sb.size - off, 0 };
    pthread_t t;
    assert_int_equal(pthread_create(&t, NULL, sender_main, &s), 0);
    assert_int_equal(kill(h->daemon, SIGCONT), 0);
    /* Attachments as each of B's stats saw them. */
    uint64_t prev = N + 1, most_drop = 0;
    int during = 0;
    for (int i = 0; i < STATS; i++) {
        const msgpack_object *result = NULL;
        rawconn_expect_reply(&b, 2 + (uint32_t)i, NULL, &result);
        struct codec_stats_reply rep;
        char err[256];
        assert_int_equal(codec_parse_reply_stats(result, &rep, err, sizeof err), 0);
        assert_true(rep.attachments <= prev);
        if (prev - rep.attachments > most_drop)
            most_drop = prev - rep.attachments;
        during += rep.attachments > 1 && rep.attachments < N + 1;
        prev = rep.attachments;
    }
    assert_int_equal(pthread_join(t, NULL), 0);
    assert_int_equal(s.r, 0);
    print_message("B's stats answered during A's %d releases: %d; most releases between two "
                  "of them: %llu\n", N, during, (unsigned long long)most_drop);
    /* A's batch went a bounded slice per turn, B answered between the slices. */
    assert_true(most_drop <= 4 * TURN_REQUESTS);
    assert_true(during >= N / (4 * TURN_REQUESTS));
    assert_int_equal(harness_wait_attachments(c, 1), 1);
    msgpack_sbuffer_destroy(&sb);
    msgpack_sbuffer_destroy(&st);
    free(handles);
    rawconn_close(&a);
    rawconn_close(&b);
    assert_rc(sharr_close(own), 0);
    sharr_disconnect(c);
}

static void test_a_uid_gets_one_share_of_each_turn_however_many_connections_it_has(
    void **state)
{
    struct harness *h = *state;
    /* Four uids with 16 connections each pipeline opens; root pipelines stats. */
    enum { CONNS = 16, OPENS = 1000, STATS = 500,
           TOTAL = UIDS * CONNS * OPENS };
    asuser_open_dir(h);
    fairshare_raise_nofile(1024);
    sharr_t *c = harness_connect(h);
    sharr_array_t *own = fairshare_create_readable(c, "shared", 64);
    struct rawconn rc[UIDS][CONNS];
    for (int u = 0; u < UIDS; u++)
        fairshare_connect_hello_as(h, fairshare_uids[u], rc[u], CONNS, 65536);
    msgpack_sbuffer opens, st;
    msgpack_sbuffer_init(&opens);
    msgpack_sbuffer_init(&st);
    for (int i = 0; i < OPENS; i++) {
        struct codec_open o = { .mode = META_MODE_R };
        strcpy(o.name, "shared");
        assert_int_equal(codec_pack_open(&opens, 10 + (uint32_t)i, &o), 0);
    }
    for (int i = 0; i < STATS; i++)
        assert_int_equal(codec_pack_stats(&st, 2 + (uint32_t)i), 0);
    struct rawconn b;
    rawconn_open_hello(&b, h->sock, 65536);
    /* Everything arrives while the daemon is stopped, so its loop finds it at once. */
    assert_int_equal(kill(h->daemon, SIGSTOP), 0);
    for (int u = 0; u < UIDS; u++)
        for (int i = 0; i < CONNS; i++)
            assert_int_equal(send(rc[u][i].fd, opens.data, opens.size,
                                  MSG_DONTWAIT | MSG_NOSIGNAL), (ssize_t)opens.size);
    rawconn_send_ok(&b, st.data, st.size);
    assert_int_equal(kill(h->daemon, SIGCONT), 0);
    /* The four uids' opens answered between two of root's stats, as root saw them. */
    uint64_t most_rise = 0;
    int during = 0;
    fairshare_read_attachment_rises(&b, 2, STATS, 1, TOTAL, &most_rise, &during);
    assert_int_equal(harness_wait_attachments(c, TOTAL + 1), TOTAL + 1);
    print_message("root's stats answered while %d connections of %d uids made %d opens: %d; "
                  "most opens between two of them: %llu\n", UIDS * CONNS, UIDS, TOTAL, during,
                  (unsigned long long)most_rise);
    /* Each uid had a turn's share (TURN_REQUESTS) between two of root's, not one per
     * connection. */
    assert_true(most_rise <= 2 * UIDS * TURN_REQUESTS);
    assert_true(during >= TOTAL / (2 * UIDS * TURN_REQUESTS));
    for (int u = 0; u < UIDS; u++)
        for (int i = 0; i < CONNS; i++)
            rawconn_close(&rc[u][i]);
    rawconn_close(&b);
    msgpack_sbuffer_destroy(&opens);
    msgpack_sbuffer_destroy(&st);
    assert_int_equal(harness_wait_attachments(c, 1), 1);
    assert_rc(sharr_close(own), 0);
    sharr_disconnect(c);
}

#define T(fn) cmocka_unit_test_setup_teardown(fn, harness_setup, harness_teardown)

int main(void)
{
    const struct CMUnitTest tests[] = {
        T(test_attachments_are_bounded_per_uid),
        T(test_a_batch_of_releases_shares_the_loop_with_another_client),
        T(test_a_uid_gets_one_share_of_each_turn_however_many_connections_it_has),
    };
    return testskip_exit(cmocka_run_group_tests(tests, NULL, NULL));
}
