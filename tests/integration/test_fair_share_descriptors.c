/* test_fair_share_descriptors.c — the descriptors a peer can make sharrd hold: a few
 * per connection however many replies it leaves unread (each still carrying its
 * array's descriptor, unlinked or not), root served while four uids hold all they can
 * at a limit sharrd accepts, and a warning at start when the descriptor limit is
 * below what the other limits need.
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

/* The most descriptors one connection makes sharrd hold, as sharrd(8) states it: its
 * socket, 4 cached descriptions, 16 received descriptors of a half-sent request, 4 of
 * unlinked arrays kept for unread replies, and a release ring's in an unread reply. */
#define CONNECTION_NOFILE 26

/* Create n arrays named prefix-I that every uid may read, and hold none of them. */
static void make_readable_arrays(sharr_t *c, const char *prefix, int n)
{
    for (int i = 0; i < n; i++) {
        char name[64];
        snprintf(name, sizeof name, "%s-%d", prefix, i);
        assert_rc(sharr_close(fairshare_create_readable(c, name, 64)), 0);
    }
}

/* Send opens of prefix-0 .. prefix-(arrays - 1) in turn, count in all, and read no
 * reply: each open needs another description than the last few. */
static void open_in_turn_unread(struct rawconn *rc, const char *prefix, int arrays, int count)
{
    msgpack_sbuffer sb;
    msgpack_sbuffer_init(&sb);
    for (int i = 0; i < count; i++) {
        struct codec_open o = { .mode = META_MODE_R };
        snprintf(o.name, sizeof o.name, "%s-%d", prefix, i % arrays);
        assert_int_equal(codec_pack_open(&sb, 10 + (uint32_t)i, &o), 0);
    }
    rawconn_send_sbuf(rc, &sb);
    msgpack_sbuffer_destroy(&sb);
}

static void test_a_client_that_never_reads_makes_sharrd_hold_few_descriptors(void **state)
{
    struct harness *h = *state;
    enum { ARRAYS = 5, OPENS = 2000 };
    asuser_open_dir(h);
    sharr_t *c = harness_connect(h);
    make_readable_arrays(c, "cycle", ARRAYS);
    int base = launch_count_fds(h->daemon);
    int fd;
    asuser_connect(h, ASUSER_UID, ASUSER_GID, &fd, 1);
    struct rawconn rc;
    rawconn_adopt(&rc, fd, 4096);
    rawconn_hello(&rc, 1);
    open_in_turn_unread(&rc, "cycle", ARRAYS, OPENS);
    assert_int_equal(harness_wait_attachments(c, OPENS), OPENS);
    int held = launch_count_fds(h->daemon);
    print_message("a client that never reads %d opens of %d arrays in turn: sharrd holds %d "
                  "descriptors more\n", OPENS, ARRAYS, held - base);
    assert_true(held - base <= CONNECTION_NOFILE);
    /* Read at last, each reply still brings its array's descriptor. */
    for (int i = 0; i < OPENS; i++) {
        rawconn_expect_reply(&rc, 10 + (uint32_t)i, NULL, NULL);
        int got = rawconn_take_fd(&rc, NULL);
        assert_true(got >= 0);
        close(got);
    }
    rawconn_close(&rc);
    assert_int_equal(harness_wait_attachments(c, 0), 0);
    assert_int_equal(launch_wait_fds(h->daemon, base), base);
    sharr_disconnect(c);
}

static void test_replies_left_unread_still_carry_the_descriptors_of_unlinked_arrays(
    void **state)
{
    struct harness *h = *state;
    /* Persistent arrays (a file that goes with its name), as many as a connection
     * caches, opened in turn by a client that reads its replies only after all were
     * unlinked. */
    enum { ARRAYS = 4, OPENS = 1200 };
    sharr_t *c = harness_connect(h);
    const uint64_t shape[1] = { 64 };
    struct sharr_create_opts persistent = { .size = sizeof(persistent), .persist = 1,
                                            .perm = 0644 };
    for (int i = 0; i < ARRAYS; i++) {
        char name[32];
        sharr_array_t *a = NULL;
        snprintf(name, sizeof name, "gone-%d", i);
        assert_rc(sharr_create(c, name, "|u1", 1, shape, &persistent, &a), 0);
        assert_rc(sharr_close(a), 0);
    }
    struct rawconn rc;
    rawconn_open_hello(&rc, h->sock, 4096);
    open_in_turn_unread(&rc, "gone", ARRAYS, OPENS);
    assert_int_equal(harness_wait_attachments(c, OPENS), OPENS);
    for (int i = 0; i < ARRAYS; i++) {
        char name[32];
        snprintf(name, sizeof name, "gone-%d", i);
        assert_rc(sharr_unlink(c, name), 0);
    }
    for (int i = 0; i < OPENS; i++) {
        rawconn_expect_reply(&rc, 10 + (uint32_t)i, NULL, NULL);
        int fd = rawconn_take_fd(&rc, NULL);
        assert_true(fd >= 0);
        struct stat st;
        assert_int_equal(fstat(fd, &st), 0);
        assert_true(st.st_size >= 4096 + 64);
        close(fd);
    }
    rawconn_close(&rc);
    assert_int_equal(harness_wait_attachments(c, 0), 0);
    sharr_disconnect(c);
}

/* Send 1 byte of a request with 16 descriptors, and no more. */
static void half_send_with_descriptors(struct rawconn *rc)
{
    union {
        struct cmsghdr align;
        char buf[CMSG_SPACE(sizeof(int) * 16)];
    } ctl;
    int fds[16];
    uint8_t first = 0x94; /* [0, msgid, method, params] begins */
    struct iovec iov = { &first, 1 };
    struct msghdr msg = { .msg_iov = &iov, .msg_iovlen = 1, .msg_control = ctl.buf,
                          .msg_controllen = sizeof ctl.buf };
    memset(&ctl, 0, sizeof ctl);
    struct cmsghdr *cm = CMSG_FIRSTHDR(&msg);
    cm->cmsg_level = SOL_SOCKET;
    cm->cmsg_type = SCM_RIGHTS;
    cm->cmsg_len = CMSG_LEN(sizeof fds);
    for (int i = 0; i < 16; i++) {
        fds[i] = open("/dev/null", O_RDONLY | O_CLOEXEC);
        assert_true(fds[i] >= 0);
    }
    memcpy(CMSG_DATA(cm), fds, sizeof fds);
    assert_int_equal(sendmsg(rc->fd, &msg, MSG_NOSIGNAL), 1);
    for (int i = 0; i < 16; i++)
        close(fds[i]);
}

static void test_four_uids_holding_descriptors_leave_root_served_at_a_limit_sharrd_accepts(
    void **state)
{
    struct harness *h = *state;
    /* Each uid may hold 8 connections; the limit is the least sharrd does not warn of. */
    enum { CONNECTIONS = 64, ARRAYS = 64, PER_UID = CONNECTIONS / 8, CYCLE = 5, OPENS = 2000,
           NOFILE = CONNECTIONS * CONNECTION_NOFILE + ARRAYS + 64 };
    const char *const flags[] = { "--max-connections", "64", "--max-arrays", "64", NULL };
    int warned = harness_log_lines(h, "descriptor limit", NULL, NULL);
    launch_daemon(h, flags, NOFILE);
    assert_int_equal(harness_log_lines(h, "descriptor limit", NULL, NULL), warned);
    asuser_open_dir(h);
    sharr_t *mon = harness_connect(h);
    make_readable_arrays(mon, "cycle", CYCLE);
    /* Half of each uid's connections never read the replies to opens of arrays in turn;
     * the other half hold a half-sent request with descriptors. */
    struct rawconn rc[UIDS][PER_UID];
    for (int u = 0; u < UIDS; u++)
        fairshare_connect_hello_as(h, fairshare_uids[u], rc[u], PER_UID, 4096);
    for (int u = 0; u < UIDS; u++) {
        for (int i = 0; i < PER_UID; i++) {
            if (i % 2)
                half_send_with_descriptors(&rc[u][i]);
            else
                open_in_turn_unread(&rc[u][i], "cycle", CYCLE, OPENS);
        }
    }
    uint64_t opens = (uint64_t)UIDS * PER_UID / 2 * OPENS;
    uint64_t seen = harness_wait_attachments(mon, opens);
    print_message("four uids: %llu of %llu opens answered unread; sharrd holds %d descriptors "
                  "of its limit %d\n", (unsigned long long)seen, (unsigned long long)opens,
                  launch_count_fds(h->daemon), NOFILE);
    /* Root connects, creates, opens and gets stats; so does a fifth uid. */
    struct rawconn root;
    rawconn_open(&root, h->sock, 4096);
    assert_int_equal(fairshare_hello_or_refused(&root), 0);
    sharr_t *r = NULL;
    assert_rc(sharr_connect(h->sock, &r), 0);
    sharr_array_t *made = NULL, *opened = NULL;
    const uint64_t shape[1] = { 4096 };
    assert_rc(sharr_create(r, "roots", "<f8", 1, shape, NULL, &made), 0);
    assert_rc(sharr_open(r, "roots", "r", NULL, &opened), 0);
    struct sharr_stats st;
    assert_rc(sharr_stats(r, &st), 0);
    struct rawconn fifth[1];
    assert_int_equal(fairshare_connect_as(h, fairshare_uids[UIDS], fifth, 1), 1);
    assert_int_equal(seen, opens);
    assert_rc(sharr_close(opened), 0);
    assert_rc(sharr_close(made), 0);
    sharr_disconnect(r);
    rawconn_close(&root);
    rawconn_close(&fifth[0]);
    for (int u = 0; u < UIDS; u++)
        for (int i = 0; i < PER_UID; i++)
            rawconn_close(&rc[u][i]);
    assert_int_equal(harness_wait_connections(mon, 1), 1);
    sharr_disconnect(mon);
}

static void test_start_warns_when_the_descriptor_limit_is_below_what_the_limits_need(
    void **state)
{
    struct harness *h = *state;
    /* 28 connections of CONNECTION_NOFILE and 200 arrays fit in 1024 with sharrd's own. */
    const char *const fits[] = { "--max-connections", "28", "--max-arrays", "200", NULL };
    int before = harness_log_lines(h, "descriptor limit", NULL, NULL);
    launch_daemon(h, fits, 1024);
    assert_int_equal(harness_daemon_stop(h), 0);
    assert_int_equal(harness_log_lines(h, "descriptor limit", NULL, NULL), before);
    /* 100 connections need more than one descriptor each. */
    const char *const shares[] = { "--max-connections", "100", "--max-arrays", "200", NULL };
    launch_daemon(h, shares, 1024);
    assert_int_equal(harness_daemon_stop(h), 0);
    assert_int_equal(harness_log_lines(h, "descriptor limit", NULL, NULL), before + 1);
    before++;
    const char *const over[] = { "--max-connections", "600", "--max-arrays", "600", NULL };
    launch_daemon(h, over, 1024);
    assert_int_equal(harness_daemon_stop(h), 0);
    assert_int_equal(harness_log_lines(h, "descriptor limit", NULL, NULL), before + 1);
    assert_int_equal(harness_log_lines(h, "descriptor limit", "--max-connections (", NULL), before + 1);
    /* The defaults (1024 connections, 100000 arrays) need more than 1024 too. */
    launch_daemon(h, NULL, 1024);
    assert_int_equal(harness_daemon_stop(h), 0);
    assert_int_equal(harness_log_lines(h, "descriptor limit", NULL, NULL), before + 2);
}

#define T(fn) cmocka_unit_test_setup_teardown(fn, harness_setup, harness_teardown)

int main(void)
{
    const struct CMUnitTest tests[] = {
        T(test_a_client_that_never_reads_makes_sharrd_hold_few_descriptors),
        T(test_four_uids_holding_descriptors_leave_root_served_at_a_limit_sharrd_accepts),
        T(test_replies_left_unread_still_carry_the_descriptors_of_unlinked_arrays),
        T(test_start_warns_when_the_descriptor_limit_is_below_what_the_limits_need),
    };
    return testskip_exit(cmocka_run_group_tests(tests, NULL, NULL));
}
