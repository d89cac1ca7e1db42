/* test_fair_share_unread_replies.c — clients that send requests and never read the
 * replies are held together to the total reply cap (--max-queued-total), small
 * replies or full pages, while a client that reads is served in full; the memory goes
 * back to the system once they leave.
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

static void test_clients_that_never_read_are_held_to_the_total_reply_cap(void **state)
{
    struct harness *h = *state;
    enum { CLIENTS = 8, REQUESTS = 6000, CAP_KIB = 4096 };
    const char *const flags[] = { "--max-queued-total", "4M", NULL };
    launch_daemon(h, flags, 0);
    struct keeper k;
    keeper_start(&k, h);
    keeper_check(&k);
    long base = fairshare_rss_kib(h);
    /* Each sends stats requests that fit its socket buffer at once, and never reads. */
    msgpack_sbuffer sb;
    msgpack_sbuffer_init(&sb);
    for (int i = 0; i < REQUESTS; i++)
        assert_int_equal(codec_pack_stats(&sb, 2 + (uint32_t)i), 0);
    struct rawconn rc[CLIENTS];
    for (int i = 0; i < CLIENTS; i++) {
        rawconn_open_hello(&rc[i], h->sock, 4096);
        ssize_t n = send(rc[i].fd, sb.data, sb.size, MSG_DONTWAIT | MSG_NOSIGNAL);
        assert_int_equal(n, (ssize_t)sb.size);
    }
    msgpack_sbuffer_destroy(&sb);
    /* Until the daemon says its reply queues are full, or holds far more than the cap
     * (which a sanitizer's RSS does at once). */
    long during = fairshare_rss_kib(h);
    for (int i = 0; i < 400 && harness_log_lines(h, "reply queues hold", NULL, NULL) == 0
                    && (!fairshare_rss_meaningful() || during < base + 8 * CAP_KIB); i++) {
        usleep(50 * 1000);
        during = fairshare_rss_kib(h);
    }
    keeper_check(&k);
    during = fairshare_rss_kib(h);
    for (int i = 0; i < CLIENTS; i++)
        rawconn_close(&rc[i]);
    assert_int_equal(harness_wait_connections(k.conn, 1), 1);
    long after = fairshare_wait_rss_at_most(h, base + 2048);
    print_message("%d clients that never read: rss %ld KiB before, %ld with them, %ld after\n",
                  CLIENTS, base, during, after);
    if (fairshare_rss_meaningful()) {
        assert_true(during <= base + 2 * CAP_KIB + 4096);
        assert_true(after <= base + 2048);
    } else {
        testskip_note(RSS_NOT_CHECKED, "of unread replies");
    }
    assert_true(harness_log_lines(h, "reply queues hold", NULL, NULL) >= 1);
    keeper_check(&k);
    keeper_stop(&k);
}

static void test_clients_that_never_read_full_pages_are_held_to_the_total_reply_cap(
    void **state)
{
    struct harness *h = *state;
    /* Pages of 1,024 arrays and holders with names of 255 bytes, each some 300 KB. */
    enum { ARRAYS = 1024, CLIENTS = 64, REQUESTS = 20, CAP_KIB = 4096 };
    const char *const flags[] = { "--max-queued-total", "4M", NULL };
    launch_daemon(h, flags, 0);
    sharr_t *c = harness_connect(h);
    sharr_array_t **held = calloc(ARRAYS, sizeof *held);
    assert_non_null(held);
    const uint64_t shape[1] = { 1 };
    for (int i = 0; i < ARRAYS; i++) {
        char name[PROTO_NAME_MAX + 1];
        memset(name, 'n', PROTO_NAME_MAX - 5);
        snprintf(name + PROTO_NAME_MAX - 5, 6, "%05d", i);
        assert_rc(sharr_create(c, name, "|u1", 1, shape, NULL, &held[i]), 0);
    }
    long base = fairshare_rss_kib(h);
    msgpack_sbuffer lists, holders;
    msgpack_sbuffer_init(&lists);
    msgpack_sbuffer_init(&holders);
    for (int i = 0; i < REQUESTS; i++) {
        struct codec_list l = { .limit = PROTO_LIST_PAGE_MAX, .table = true };
        struct codec_holders hd = { .limit = PROTO_LIST_PAGE_MAX };
        assert_int_equal(codec_pack_list(&lists, 2 + (uint32_t)i, &l), 0);
        assert_int_equal(codec_pack_holders(&holders, 2 + (uint32_t)i, &hd), 0);
    }
    struct rawconn rc[CLIENTS];
    for (int i = 0; i < CLIENTS; i++) {
        const msgpack_sbuffer *sb = i % 2 ? &holders : &lists;
        rawconn_open_hello(&rc[i], h->sock, 4096);
        assert_int_equal(send(rc[i].fd, sb->data, sb->size, MSG_DONTWAIT | MSG_NOSIGNAL),
                         (ssize_t)sb->size);
    }
    msgpack_sbuffer_destroy(&lists);
    msgpack_sbuffer_destroy(&holders);
    /* Each client's first page is answered at least; then the queues are full. */
    struct sharr_stats st = harness_stats(c);
    for (int i = 0; i < 400 && harness_log_lines(h, "reply queues hold", NULL, NULL) == 0; i++) {
        usleep(50 * 1000);
        st = harness_stats(c);
    }
    long during = fairshare_rss_kib(h);
    assert_int_equal(st.connections, CLIENTS + 1);
    /* A client that reads is served in full meanwhile: every page of the listing and
     * of the holders (shorter ones while the queues are full), a create and an open. */
    struct sharr_info *page = calloc(PROTO_LIST_PAGE_MAX, sizeof *page);
    struct sharr_holder *hp = calloc(PROTO_LIST_PAGE_MAX, sizeof *hp);
    assert_non_null(page);
    assert_non_null(hp);
    size_t listed = 0, n = 0;
    int more = 1, pages = 0;
    char after[PROTO_NAME_MAX + 1] = "";
    while (more) {
        assert_rc(sharr_list(c, after, page, PROTO_LIST_PAGE_MAX, &n, &more), 0);
        assert_true(n > 0);
        listed += n;
        pages++;
        snprintf(after, sizeof after, "%s", page[n - 1].name);
    }
    uint64_t last = 0;
    size_t holding = 0;
    for (more = 1; more;) {
        assert_rc(sharr_holders(c, NULL, last, hp, PROTO_LIST_PAGE_MAX, &n, &more), 0);
        assert_true(n > 0);
        holding += n;
        last = hp[n - 1].handle;
    }
    sharr_array_t *made = NULL, *opened = NULL;
    assert_rc(sharr_create(c, "while-full", "|u1", 1, shape, NULL, &made), 0);
    assert_rc(sharr_open(c, "while-full", "r", NULL, &opened), 0);
    assert_rc(sharr_close(opened), 0);
    assert_rc(sharr_close(made), 0);
    assert_int_equal(listed, ARRAYS);
    assert_int_equal(holding, ARRAYS);
    free(page);
    free(hp);
    for (int i = 0; i < CLIENTS; i++)
        rawconn_close(&rc[i]);
    assert_int_equal(harness_wait_connections(c, 1), 1);
    long left = fairshare_wait_rss_at_most(h, base + 2048);
    print_message("%d clients that never read pages of %d: rss %ld KiB before, %ld with "
                  "them (cap %d KiB), %ld after; another client listed them in %d pages\n",
                  CLIENTS, ARRAYS, base, during, CAP_KIB, left, pages);
    if (fairshare_rss_meaningful()) {
        assert_true(during <= base + 2 * CAP_KIB + 4096);
        assert_true(left <= base + 2048);
    }
    assert_true(harness_log_lines(h, "reply queues hold", NULL, NULL) >= 1);
    for (int i = 0; i < ARRAYS; i++)
        assert_rc(sharr_close(held[i]), 0);
    free(held);
    sharr_disconnect(c);
}

#define T(fn) cmocka_unit_test_setup_teardown(fn, harness_setup, harness_teardown)

int main(void)
{
    const struct CMUnitTest tests[] = {
        T(test_clients_that_never_read_are_held_to_the_total_reply_cap),
        T(test_clients_that_never_read_full_pages_are_held_to_the_total_reply_cap),
    };
    return testskip_exit(cmocka_run_group_tests(tests, NULL, NULL));
}
