/* test_fair_share_waiting_opens.c — the opens one local user, or a few, can leave
 * waiting for a name: bounded per connection and per uid, a few hundred bytes each,
 * their memory returned once they close; waits that expire together, and those a
 * create answers, are answered a slice per turn of the loop.
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

/* Send count waiting opens of names prefix-N (forever) from msgid first, then a
 * stats request with msgid first + count; read replies up to the stats reply. Returns
 * how many opens were refused with EAGAIN (the others wait); *ret_text gets the message
 * of the last refusal. */
static int wait_many(struct rawconn *rc, uint32_t first, int count, const char *prefix,
                     char *ret_text, size_t textlen)
{
    msgpack_sbuffer sb;
    msgpack_sbuffer_init(&sb);
    for (int i = 0; i < count; i++) {
        struct codec_open o = { .mode = META_MODE_R, .wait_ms = -1 };
        snprintf(o.name, sizeof o.name, "%s-%d", prefix, i);
        assert_int_equal(codec_pack_open(&sb, first + (uint32_t)i, &o), 0);
    }
    assert_int_equal(codec_pack_stats(&sb, first + (uint32_t)count), 0);
    rawconn_send_sbuf(rc, &sb);
    msgpack_sbuffer_destroy(&sb);
    int refused = 0;
    for (;;) {
        msgpack_object obj;
        assert_int_equal(rawconn_next(rc, &obj, NULL), 1);
        uint64_t msgid = obj.via.array.ptr[1].via.u64;
        char code[32];
        rawconn_reply_code(&obj, code, sizeof code);
        if (msgid == first + (uint32_t)count) {
            assert_string_equal(code, "");
            break;
        }
        assert_string_equal(code, "EAGAIN");
        if (ret_text)
            rawconn_reply_message(&obj, ret_text, textlen);
        refused++;
    }
    return refused;
}

static void test_waiting_opens_are_bounded_per_connection_and_per_uid(void **state)
{
    struct harness *h = *state;
    const char *const flags[] = { "--max-waiting-opens", "8", "--max-waiting-opens-per-uid",
                                  "20", NULL };
    launch_daemon(h, flags, 0);
    asuser_open_dir(h);
    struct keeper k;
    keeper_start(&k, h);
    struct rawconn rc[3];
    char text[256];
    fairshare_connect_hello_as(h, ASUSER_UID, rc, 3, 4096);
    assert_int_equal(wait_many(&rc[0], 10, 9, "a", text, sizeof text), 1);
    assert_non_null(strstr(text, "--max-waiting-opens"));
    assert_int_equal(wait_many(&rc[1], 10, 9, "b", text, sizeof text), 1);
    /* 16 wait: the uid has room for 4 more. */
    assert_int_equal(wait_many(&rc[2], 10, 6, "c", text, sizeof text), 2);
    assert_non_null(strstr(text, "--max-waiting-opens-per-uid"));
    /* Root is held to the per-connection limit only. */
    struct rawconn root[3];
    for (int i = 0; i < 3; i++) {
        rawconn_open_hello(&root[i], h->sock, 4096);
        assert_int_equal(wait_many(&root[i], 10, 8, "r", NULL, 0), 0);
    }
    /* A create answers the waits for its name; a closed connection gives its waits back
     * to its uid. */
    sharr_array_t *arr = fairshare_create_readable(k.conn, "c-0", 8);
    rawconn_expect_reply(&rc[2], 10, NULL, NULL);
    int fd = rawconn_take_fd(&rc[2], NULL);
    assert_true(fd >= 0);
    close(fd);
    assert_rc(sharr_close(arr), 0);
    rawconn_close(&rc[0]);
    assert_int_equal(harness_wait_connections(k.conn, 6), 6);
    assert_int_equal(wait_many(&rc[2], 30, 6, "d", NULL, 0), 1);
    rawconn_close(&rc[1]);
    rawconn_close(&rc[2]);
    for (int i = 0; i < 3; i++)
        rawconn_close(&root[i]);
    assert_int_equal(harness_wait_connections(k.conn, 1), 1);
    keeper_check(&k);
    keeper_stop(&k);
}

static void test_waiting_opens_of_four_uids_cost_little_and_their_memory_returns(void **state)
{
    struct harness *h = *state;
    enum { CONNS = 5, OPENS = 1024 };
    asuser_open_dir(h);
    struct keeper k;
    keeper_start(&k, h);
    keeper_check(&k);
    long base = fairshare_rss_kib(h);
    struct rawconn rc[UIDS][CONNS];
    int waiting = 0;
    for (int u = 0; u < UIDS; u++) {
        int uid_waiting = 0;
        fairshare_connect_hello_as(h, fairshare_uids[u], rc[u], CONNS, 65536);
        for (int i = 0; i < CONNS; i++) {
            char prefix[32];
            snprintf(prefix, sizeof prefix, "w%d-%d", u, i);
            uid_waiting += OPENS - wait_many(&rc[u][i], 10, OPENS, prefix, NULL, 0);
        }
        print_message("uid %u: %d waiting opens\n", fairshare_uids[u], uid_waiting);
        assert_int_equal(uid_waiting, DEFAULT_WAITING_OPENS_PER_UID);
        waiting += uid_waiting;
    }
    long during = fairshare_rss_kib(h);
    keeper_check(&k);
    for (int u = 0; u < UIDS; u++)
        for (int i = 0; i < CONNS; i++)
            rawconn_close(&rc[u][i]);
    assert_int_equal(harness_wait_connections(k.conn, 1), 1);
    long after = fairshare_wait_rss_at_most(h, base + 2048);
    print_message("%d waiting opens: rss %ld KiB before, %ld with them (%ld bytes each), "
                  "%ld after\n", waiting, base, during, (during - base) * 1024 / waiting, after);
    if (fairshare_rss_meaningful()) {
        /* A few hundred bytes each (the connections' own buffers included). */
        assert_true((during - base) * 1024 <= (long)waiting * 512);
        assert_true(after <= base + 2048);
    } else {
        testskip_note(RSS_NOT_CHECKED, "of waiting opens");
    }
    keeper_check(&k);
    keeper_stop(&k);
}

/* Send count opens of name waiting wait_ms (-1: forever) from msgid first, then stats
 * (msgid first + count), and read up to the stats reply: none may be answered before. */
static void wait_for_name(struct rawconn *rc, uint32_t first, int count, const char *name,
                          int64_t wait_ms)
{
    msgpack_sbuffer sb;
    msgpack_sbuffer_init(&sb);
    for (int i = 0; i < count; i++) {
        struct codec_open o = { .mode = META_MODE_R, .wait_ms = wait_ms };
        snprintf(o.name, sizeof o.name, "%s", name);
        assert_int_equal(codec_pack_open(&sb, first + (uint32_t)i, &o), 0);
    }
    assert_int_equal(codec_pack_stats(&sb, first + (uint32_t)count), 0);
    rawconn_send_sbuf(rc, &sb);
    msgpack_sbuffer_destroy(&sb);
    rawconn_expect_reply(rc, first + (uint32_t)count, NULL, NULL);
}

static void test_expired_waiting_opens_are_answered_a_slice_per_turn(void **state)
{
    struct harness *h = *state;
    /* sharrd answers at most BATCH expired waits per turn of its loop. */
    enum { WAITS = 4096, OTHERS = 1024, BATCH = 256, WAIT_MS = 1000 };
    const char *const flags[] = { "--max-waiting-opens", "4096", NULL };
    launch_daemon(h, flags, 0);
    struct rawconn w;
    rawconn_open_hello(&w, h->sock, 65536);
    wait_for_name(&w, 10, WAITS, "never", WAIT_MS);
    /* All expire while the daemon is stopped, so its loop finds them due at once, with
     * the same connection's other requests waiting to be read. */
    assert_int_equal(kill(h->daemon, SIGSTOP), 0);
    usleep((WAIT_MS + 200) * 1000);
    msgpack_sbuffer sb;
    msgpack_sbuffer_init(&sb);
    for (int i = 0; i < OTHERS; i++) {
        struct codec_open o = { .mode = META_MODE_R };
        snprintf(o.name, sizeof o.name, "missing-%d", i);
        assert_int_equal(codec_pack_open(&sb, 100000 + (uint32_t)i, &o), 0);
    }
    rawconn_send_sbuf(&w, &sb);
    msgpack_sbuffer_destroy(&sb);
    assert_int_equal(kill(h->daemon, SIGCONT), 0);
    int expired = 0, missing = 0, run = 0, longest = 0;
    while (expired + missing < WAITS + OTHERS) {
        msgpack_object obj;
        assert_int_equal(rawconn_next(&w, &obj, NULL), 1);
        char code[32];
        rawconn_reply_code(&obj, code, sizeof code);
        if (strcmp(code, "ETIMEDOUT") == 0) {
            expired++;
            if (++run > longest)
                longest = run;
        } else {
            assert_string_equal(code, "ENOENT");
            missing++;
            run = 0;
        }
    }
    print_message("%d waits expired together: at most %d answered in a row before the "
                  "connection's other requests\n", WAITS, longest);
    assert_int_equal(expired, WAITS);
    assert_true(longest <= 4 * BATCH);
    rawconn_close(&w);
}

static void test_a_create_answers_the_opens_waiting_for_it_a_slice_per_turn(void **state)
{
    struct harness *h = *state;
    /* Four uids, each at its default limit of waiting opens, all for one name. */
    enum { CONNS = 4, PER_CONN = DEFAULT_WAITING_OPENS_PER_UID / CONNS,
           WAITS = UIDS * CONNS * PER_CONN, STATS = 2000, BATCH = 256 };
    asuser_open_dir(h);
    fairshare_raise_nofile(1024);
    struct rawconn rc[UIDS][CONNS];
    for (int u = 0; u < UIDS; u++) {
        fairshare_connect_hello_as(h, fairshare_uids[u], rc[u], CONNS, 65536);
        for (int i = 0; i < CONNS; i++)
            wait_for_name(&rc[u][i], 10, PER_CONN, "awaited", -1);
    }
    struct rawconn b, maker;
    rawconn_open_hello(&b, h->sock, 65536);
    rawconn_open_hello(&maker, h->sock, 65536);
    msgpack_sbuffer st, cr;
    msgpack_sbuffer_init(&st);
    msgpack_sbuffer_init(&cr);
    for (int i = 0; i < STATS; i++)
        assert_int_equal(codec_pack_stats(&st, 2 + (uint32_t)i), 0);
    struct codec_create c = { .ndim = 1, .shape = { 8 }, .order = 'C', .perm = 0644 };
    strcpy(c.name, "awaited");
    assert_int_equal(dtype_parse("|u1", &c.dtype), 0);
    assert_int_equal(codec_pack_create(&cr, 2, &c), 0);
    /* B's stats and the create arrive while the daemon is stopped, so its loop finds
     * both ready at once. */
    assert_int_equal(kill(h->daemon, SIGSTOP), 0);
    rawconn_send_sbuf(&b, &st);
    rawconn_send_sbuf(&maker, &cr);
    assert_int_equal(kill(h->daemon, SIGCONT), 0);
    rawconn_expect_reply(&maker, 2, NULL, NULL);
    int fd = rawconn_take_fd(&maker, NULL);
    assert_true(fd >= 0);
    close(fd);
    /* Attachments as each of B's stats saw them (none before): the create's own, then
     * the waits'. */
    uint64_t most_rise = 0;
    int during = 0;
    uint64_t last = fairshare_read_attachment_rises(&b, 2, STATS, 0, WAITS, &most_rise, &during);
    assert_int_equal(last, WAITS + 1);
    /* Every wait was answered with the array. */
    for (int u = 0; u < UIDS; u++) {
        for (int i = 0; i < CONNS; i++) {
            for (int k = 0; k < PER_CONN; k++) {
                rawconn_expect_reply(&rc[u][i], 10 + (uint32_t)k, NULL, NULL);
                int got;
                while ((got = rawconn_take_fd(&rc[u][i], NULL)) >= 0)
                    close(got);
            }
            rawconn_close(&rc[u][i]);
        }
    }
    print_message("B's stats answered while a create answered %d waiting opens: %d; most "
                  "answered between two of them: %llu\n", WAITS, during,
                  (unsigned long long)most_rise);
    assert_true(most_rise <= 4 * BATCH);
    assert_true(during >= WAITS / (4 * BATCH));
    msgpack_sbuffer_destroy(&st);
    msgpack_sbuffer_destroy(&cr);
    rawconn_close(&b);
    rawconn_close(&maker);
}

#define T(fn) cmocka_unit_test_setup_teardown(fn, harness_setup, harness_teardown)

int main(void)
{
    const struct CMUnitTest tests[] = {
        T(test_waiting_opens_are_bounded_per_connection_and_per_uid),
        T(test_waiting_opens_of_four_uids_cost_little_and_their_memory_returns),
        T(test_expired_waiting_opens_are_answered_a_slice_per_turn),
        T(test_a_create_answers_the_opens_waiting_for_it_a_slice_per_turn),
    };
    return testskip_exit(cmocka_run_group_tests(tests, NULL, NULL));
}
