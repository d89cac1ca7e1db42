/* test_fair_share.c — what one local user, or a few, can make sharrd hold on its one
 * loop: connections, waiting opens, attachments, unread replies and descriptors. Each
 * is bounded per uid (or in total) by a flag with a default sized against the whole;
 * root keeps connections of its own; refusals and connections closed for what they
 * sent are logged at a bounded rate; memory goes back to the system once the holders
 * leave; one user's batches of requests, a create's waiting opens and expiring waits
 * share the loop with the others, a slice per turn. Everything is measured as counts,
 * bytes and log lines, never time.
 *
 * Other uids connect through asuser_connect (a child running as that uid connects and
 * hands the sockets back), so the test itself speaks for them with rawconn. RSS is the
 * daemon's VmRSS: in a sanitizer build it measures the sanitizer's quarantine and
 * shadow memory rather than sharrd's allocations, so those assertions hold only in a
 * plain build (FAIR_SANITIZED; reported skipped there); the counts are checked in both.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "asuser.h"
#include "codec.h"
#include "keeper.h"
#include "launch.h"
#include "rawconn.h"
#include "testskip.h"

/* Four unprivileged uids (the most the issue asks to hold off root with) and a fifth. */
#define UIDS 4
static const uint32_t fair_uids[UIDS + 1] = { 65534, 65533, 65532, 65531, 65530 };

/* sharrd's defaults, as its --help states them. */
#define DEFAULT_MAX_CONNECTIONS 1024
#define DEFAULT_CONNECTIONS_PER_UID (DEFAULT_MAX_CONNECTIONS / 8)
#define DEFAULT_WAITING_OPENS_PER_UID 4096
/* The most requests of one connection sharrd answers in one turn of its loop. */
#define TURN_REQUESTS 64

/* Why, with the count of what, when rss_meaningful() is false (CTest shows it skipped). */
#define RSS_NOT_CHECKED "sharrd's RSS bounds %s not checked: in a sanitizer build RSS " \
                        "measures the sanitizer's quarantine and shadow memory; the " \
                        "plain build checks them"

static bool rss_meaningful(void)
{
#ifdef FAIR_SANITIZED
    return false;
#else
    return true;
#endif
}

/* The daemon's resident memory in KiB (VmRSS). */
static long daemon_rss_kib(const struct harness *h)
{
    char path[64], line[256];
    long kib = -1;
    snprintf(path, sizeof path, "/proc/%d/status", (int)h->daemon);
    FILE *f = fopen(path, "re");
    assert_non_null(f);
    while (fgets(line, sizeof line, f))
        if (sscanf(line, "VmRSS: %ld kB", &kib) == 1)
            break;
    fclose(f);
    assert_true(kib > 0);
    return kib;
}

/* Poll until the daemon's RSS is at most want KiB (it trims its heap shortly after a
 * large release); returns the last value seen. Bounded: 20 s. */
static long wait_rss_at_most(const struct harness *h, long want)
{
    long kib = daemon_rss_kib(h);
    for (int i = 0; i < 400 && kib > want; i++) {
        usleep(50 * 1000);
        kib = daemon_rss_kib(h);
    }
    return kib;
}

static void raise_own_nofile(rlim_t want)
{
    struct rlimit rl;
    assert_int_equal(getrlimit(RLIMIT_NOFILE, &rl), 0);
    if (rl.rlim_cur < want) {
        rl.rlim_cur = want < rl.rlim_max ? want : rl.rlim_max;
        assert_int_equal(setrlimit(RLIMIT_NOFILE, &rl), 0);
    }
}

/* The error code of a reply object (e[2]), copied into code; "" for success. */
static void reply_code(const msgpack_object *obj, char *code, size_t len)
{
    code[0] = '\0';
    const msgpack_object *e = obj->via.array.ptr;
    if (e[2].type != MSGPACK_OBJECT_MAP)
        return;
    const msgpack_object *c = rawconn_map_get(&e[2], "code");
    assert_non_null(c);
    snprintf(code, len, "%.*s", (int)c->via.str.size, c->via.str.ptr);
}

/* The message of an error reply object, or "". */
static void reply_message(const msgpack_object *obj, char *text, size_t len)
{
    text[0] = '\0';
    const msgpack_object *e = obj->via.array.ptr;
    const msgpack_object *m = e[2].type == MSGPACK_OBJECT_MAP ? rawconn_map_get(&e[2], "message")
                                                              : NULL;
    if (m)
        snprintf(text, len, "%.*s", (int)m->via.str.size, m->via.str.ptr);
}

/* Send hello over a socket the daemon may have refused. 0 when it answers, -EMFILE
 * when it refused the connection: an EMFILE error with msgid 0, or the connection
 * closed or reset before an answer (the refusal raced the hello). */
static int hello_or_refused(struct rawconn *rc)
{
    msgpack_sbuffer sb;
    msgpack_sbuffer_init(&sb);
    struct codec_hello hello = { .version = PROTO_VERSION };
    strcpy(hello.client, "test_fair_share");
    assert_int_equal(codec_pack_hello(&sb, 1, &hello), 0);
    (void)rawconn_send(rc, sb.data, sb.size);
    msgpack_sbuffer_destroy(&sb);
    msgpack_object obj;
    int r = rawconn_next(rc, &obj, NULL);
    if (r == 0 || r == -ECONNRESET)
        return -EMFILE;
    assert_int_equal(r, 1);
    char code[32];
    reply_code(&obj, code, sizeof code);
    if (obj.via.array.ptr[1].via.u64 == 1 && code[0] == '\0')
        return 0;
    assert_int_equal(obj.via.array.ptr[1].via.u64, 0);
    assert_string_equal(code, "EMFILE");
    return -EMFILE;
}

/* n connections made as uid (gid the same), adopted with chunk bytes a read into
 * rcs, each having said hello. */
static void connect_hello_as(struct harness *h, uint32_t uid, struct rawconn *rcs, int n,
                             size_t chunk)
{
    int *fds = malloc(sizeof(int) * (size_t)n);
    assert_non_null(fds);
    asuser_connect(h, uid, uid, fds, n);
    for (int i = 0; i < n; i++) {
        rawconn_adopt(&rcs[i], fds[i], chunk);
        rawconn_hello(&rcs[i], 1);
    }
    free(fds);
}

/* Read the replies to count stats from msgid first on b, each one's attachments at
 * least the last (prev to begin with). Returns the last; *ret_most_rise gets the
 * largest rise between two, *ret_during how many saw more than 1 and fewer than
 * total + 1 attachments (stats answered while the others' requests were). */
static uint64_t read_attachment_rises(struct rawconn *b, uint32_t first, int count,
                                      uint64_t prev, uint64_t total, uint64_t *ret_most_rise,
                                      int *ret_during)
{
    uint64_t most_rise = 0;
    int during = 0;
    for (int i = 0; i < count; i++) {
        const msgpack_object *result = NULL;
        rawconn_expect_reply(b, first + (uint32_t)i, NULL, &result);
        struct codec_stats_reply rep;
        char err[256];
        assert_int_equal(codec_parse_reply_stats(result, &rep, err, sizeof err), 0);
        assert_true(rep.attachments >= prev);
        if (rep.attachments - prev > most_rise)
            most_rise = rep.attachments - prev;
        during += rep.attachments > 1 && rep.attachments < total + 1;
        prev = rep.attachments;
    }
    *ret_most_rise = most_rise;
    *ret_during = during;
    return prev;
}

/* ---- finding 4: connections ---- */

/* Connect up to n times as uid and keep the connections the daemon serves in rcs;
 * returns how many it served. */
static int connect_as(struct harness *h, uint32_t uid, struct rawconn *rcs, int n)
{
    int *fds = malloc(sizeof(int) * (size_t)n);
    assert_non_null(fds);
    asuser_connect(h, uid, uid, fds, n);
    int served = 0;
    for (int i = 0; i < n; i++) {
        struct rawconn *rc = &rcs[served];
        rawconn_adopt(rc, fds[i], 4096);
        if (hello_or_refused(rc) == 0)
            served++;
        else
            rawconn_close(rc);
    }
    free(fds);
    return served;
}

static void test_four_uids_at_their_connection_limit_leave_root_and_a_fifth_uid_served(
    void **state)
{
    struct harness *h = *state;
    enum { TRY = DEFAULT_MAX_CONNECTIONS / 2 + 16 };
    asuser_open_dir(h);
    raise_own_nofile(4 * TRY + 256);
    sharr_t *mon = harness_connect(h);
    assert_int_equal(harness_wait_connections(mon, 1), 1);
    struct rawconn *rcs = calloc(UIDS * TRY, sizeof *rcs);
    assert_non_null(rcs);
    int served[UIDS], total = 0;
    for (int u = 0; u < UIDS; u++) {
        served[u] = connect_as(h, fair_uids[u], rcs + total, TRY);
        print_message("uid %u: %d of %d connections served\n", fair_uids[u], served[u], TRY);
        total += served[u];
    }
    /* Root and a fifth uid are still served with the default flags. */
    struct rawconn root;
    rawconn_open(&root, h->sock, 4096);
    assert_int_equal(hello_or_refused(&root), 0);
    struct rawconn fifth[1];
    assert_int_equal(connect_as(h, fair_uids[UIDS], fifth, 1), 1);
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
    int served = connect_as(h, ASUSER_UID, rcs, 48);
    /* 40 in all, 4 of them root's: the monitor holds one of the 36 others. */
    assert_int_equal(served, 35);
    struct rawconn root[4];
    for (int i = 0; i < 4; i++) {
        rawconn_open(&root[i], h->sock, 4096);
        assert_int_equal(hello_or_refused(&root[i]), 0);
    }
    /* The total holds for root too. */
    struct rawconn over;
    rawconn_open(&over, h->sock, 4096);
    assert_int_equal(hello_or_refused(&over), -EMFILE);
    rawconn_close(&over);
    for (int i = 0; i < 4; i++)
        rawconn_close(&root[i]);
    for (int i = 0; i < served; i++)
        rawconn_close(&rcs[i]);
    assert_int_equal(harness_wait_connections(mon, 1), 1);
    sharr_disconnect(mon);
}

/* Lines of h's log that contain what, and the sum of the first number after each
 * occurrence of after (when after is not NULL) in those lines. */
static int log_lines(const struct harness *h, const char *what, const char *after,
                     unsigned long long *ret_sum)
{
    FILE *f = fopen(h->log, "re");
    assert_non_null(f);
    char line[2048];
    int n = 0;
    unsigned long long sum = 0;
    while (fgets(line, sizeof line, f)) {
        if (!strstr(line, what))
            continue;
        n++;
        const char *p = after ? strstr(line, after) : NULL;
        if (p)
            sum += strtoull(p + strlen(after), NULL, 10);
    }
    fclose(f);
    if (ret_sum)
        *ret_sum = sum;
    return n;
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
    int lines = log_lines(h, "refusing a connection", NULL, NULL);
    int summaries = log_lines(h, "more refused connections not logged", "warning: ",
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
    int lines = log_lines(h, "): closing", NULL, NULL);
    int summaries = log_lines(h, "more connections closed for what they sent not logged",
                              "warning: ", &suppressed);
    print_message("%d connections closed for bad bytes in %.1f s: %d lines, %d summaries of "
                  "%llu more\n", CLOSED, elapsed, lines, summaries, suppressed);
    assert_true(lines <= BURST * ((int)(elapsed / PERIOD_S) + 2));
    assert_int_equal((unsigned long long)lines + suppressed, CLOSED);
    assert_true(summaries >= 1);
}

/* ---- finding 5: waiting opens ---- */

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
        reply_code(&obj, code, sizeof code);
        if (msgid == first + (uint32_t)count) {
            assert_string_equal(code, "");
            break;
        }
        assert_string_equal(code, "EAGAIN");
        if (ret_text)
            reply_message(&obj, ret_text, textlen);
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
    connect_hello_as(h, ASUSER_UID, rc, 3, 4096);
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
    sharr_array_t *arr = NULL;
    const uint64_t shape[1] = { 8 };
    struct sharr_create_opts open_to_all = { .size = sizeof(open_to_all), .perm = 0644 };
    assert_rc(sharr_create(k.conn, "c-0", "|u1", 1, shape, &open_to_all, &arr), 0);
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
    long base = daemon_rss_kib(h);
    struct rawconn rc[UIDS][CONNS];
    int waiting = 0;
    for (int u = 0; u < UIDS; u++) {
        int uid_waiting = 0;
        connect_hello_as(h, fair_uids[u], rc[u], CONNS, 65536);
        for (int i = 0; i < CONNS; i++) {
            char prefix[32];
            snprintf(prefix, sizeof prefix, "w%d-%d", u, i);
            uid_waiting += OPENS - wait_many(&rc[u][i], 10, OPENS, prefix, NULL, 0);
        }
        print_message("uid %u: %d waiting opens\n", fair_uids[u], uid_waiting);
        assert_int_equal(uid_waiting, DEFAULT_WAITING_OPENS_PER_UID);
        waiting += uid_waiting;
    }
    long during = daemon_rss_kib(h);
    keeper_check(&k);
    for (int u = 0; u < UIDS; u++)
        for (int i = 0; i < CONNS; i++)
            rawconn_close(&rc[u][i]);
    assert_int_equal(harness_wait_connections(k.conn, 1), 1);
    long after = wait_rss_at_most(h, base + 2048);
    print_message("%d waiting opens: rss %ld KiB before, %ld with them (%ld bytes each), "
                  "%ld after\n", waiting, base, during, (during - base) * 1024 / waiting, after);
    if (rss_meaningful()) {
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
        reply_code(&obj, code, sizeof code);
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
    raise_own_nofile(1024);
    struct rawconn rc[UIDS][CONNS];
    for (int u = 0; u < UIDS; u++) {
        connect_hello_as(h, fair_uids[u], rc[u], CONNS, 65536);
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
    uint64_t last = read_attachment_rises(&b, 2, STATS, 0, WAITS, &most_rise, &during);
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

/* ---- finding 6: attachments ---- */

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
    sharr_array_t *own = NULL;
    const uint64_t shape[1] = { 64 };
    struct sharr_create_opts open_to_all = { .size = sizeof(open_to_all), .perm = 0644 };
    assert_rc(sharr_create(c, "shared", "|u1", 1, shape, &open_to_all, &own), 0);
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
    sharr_array_t *own = NULL;
    const uint64_t shape[1] = { 64 };
    struct sharr_create_opts open_to_all = { .size = sizeof(open_to_all), .perm = 0644 };
    assert_rc(sharr_create(c, "shared", "|u1", 1, shape, &open_to_all, &own), 0);
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
    raise_own_nofile(1024);
    sharr_t *c = harness_connect(h);
    sharr_array_t *own = NULL;
    const uint64_t shape[1] = { 64 };
    struct sharr_create_opts open_to_all = { .size = sizeof(open_to_all), .perm = 0644 };
    assert_rc(sharr_create(c, "shared", "|u1", 1, shape, &open_to_all, &own), 0);
    struct rawconn rc[UIDS][CONNS];
    for (int u = 0; u < UIDS; u++)
        connect_hello_as(h, fair_uids[u], rc[u], CONNS, 65536);
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
    read_attachment_rises(&b, 2, STATS, 1, TOTAL, &most_rise, &during);
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

/* ---- finding 7: clients that never read ---- */

static void test_clients_that_never_read_are_held_to_the_total_reply_cap(void **state)
{
    struct harness *h = *state;
    enum { CLIENTS = 8, REQUESTS = 6000, CAP_KIB = 4096 };
    const char *const flags[] = { "--max-queued-total", "4M", NULL };
    launch_daemon(h, flags, 0);
    struct keeper k;
    keeper_start(&k, h);
    keeper_check(&k);
    long base = daemon_rss_kib(h);
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
    long during = daemon_rss_kib(h);
    for (int i = 0; i < 400 && log_lines(h, "reply queues hold", NULL, NULL) == 0
                    && (!rss_meaningful() || during < base + 8 * CAP_KIB); i++) {
        usleep(50 * 1000);
        during = daemon_rss_kib(h);
    }
    keeper_check(&k);
    during = daemon_rss_kib(h);
    for (int i = 0; i < CLIENTS; i++)
        rawconn_close(&rc[i]);
    assert_int_equal(harness_wait_connections(k.conn, 1), 1);
    long after = wait_rss_at_most(h, base + 2048);
    print_message("%d clients that never read: rss %ld KiB before, %ld with them, %ld after\n",
                  CLIENTS, base, during, after);
    if (rss_meaningful()) {
        assert_true(during <= base + 2 * CAP_KIB + 4096);
        assert_true(after <= base + 2048);
    } else {
        testskip_note(RSS_NOT_CHECKED, "of unread replies");
    }
    assert_true(log_lines(h, "reply queues hold", NULL, NULL) >= 1);
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
    long base = daemon_rss_kib(h);
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
    for (int i = 0; i < 400 && log_lines(h, "reply queues hold", NULL, NULL) == 0; i++) {
        usleep(50 * 1000);
        st = harness_stats(c);
    }
    long during = daemon_rss_kib(h);
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
    long left = wait_rss_at_most(h, base + 2048);
    print_message("%d clients that never read pages of %d: rss %ld KiB before, %ld with "
                  "them (cap %d KiB), %ld after; another client listed them in %d pages\n",
                  CLIENTS, ARRAYS, base, during, CAP_KIB, left, pages);
    if (rss_meaningful()) {
        assert_true(during <= base + 2 * CAP_KIB + 4096);
        assert_true(left <= base + 2048);
    }
    assert_true(log_lines(h, "reply queues hold", NULL, NULL) >= 1);
    for (int i = 0; i < ARRAYS; i++)
        assert_rc(sharr_close(held[i]), 0);
    free(held);
    sharr_disconnect(c);
}

/* ---- descriptors a peer can make sharrd hold ---- */

/* The most descriptors one connection makes sharrd hold, as sharrd(8) states it: its
 * socket, 4 cached descriptions, 16 received descriptors of a half-sent request, 4 of
 * unlinked arrays kept for unread replies, and a release ring's in an unread reply. */
#define CONNECTION_NOFILE 26

/* Create n arrays named prefix-I that every uid may read, and hold none of them. */
static void make_readable_arrays(sharr_t *c, const char *prefix, int n)
{
    const uint64_t shape[1] = { 64 };
    struct sharr_create_opts open_to_all = { .size = sizeof(open_to_all), .perm = 0644 };
    for (int i = 0; i < n; i++) {
        char name[64];
        sharr_array_t *a = NULL;
        snprintf(name, sizeof name, "%s-%d", prefix, i);
        assert_rc(sharr_create(c, name, "|u1", 1, shape, &open_to_all, &a), 0);
        assert_rc(sharr_close(a), 0);
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
    int warned = log_lines(h, "descriptor limit", NULL, NULL);
    launch_daemon(h, flags, NOFILE);
    assert_int_equal(log_lines(h, "descriptor limit", NULL, NULL), warned);
    asuser_open_dir(h);
    sharr_t *mon = harness_connect(h);
    make_readable_arrays(mon, "cycle", CYCLE);
    /* Half of each uid's connections never read the replies to opens of arrays in turn;
     * the other half hold a half-sent request with descriptors. */
    struct rawconn rc[UIDS][PER_UID];
    for (int u = 0; u < UIDS; u++)
        connect_hello_as(h, fair_uids[u], rc[u], PER_UID, 4096);
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
    assert_int_equal(hello_or_refused(&root), 0);
    sharr_t *r = NULL;
    assert_rc(sharr_connect(h->sock, &r), 0);
    sharr_array_t *made = NULL, *opened = NULL;
    const uint64_t shape[1] = { 4096 };
    assert_rc(sharr_create(r, "roots", "<f8", 1, shape, NULL, &made), 0);
    assert_rc(sharr_open(r, "roots", "r", NULL, &opened), 0);
    struct sharr_stats st;
    assert_rc(sharr_stats(r, &st), 0);
    struct rawconn fifth[1];
    assert_int_equal(connect_as(h, fair_uids[UIDS], fifth, 1), 1);
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

/* ---- finding 9: descriptors ---- */

static void test_start_warns_when_the_descriptor_limit_is_below_what_the_limits_need(
    void **state)
{
    struct harness *h = *state;
    /* 28 connections of CONNECTION_NOFILE and 200 arrays fit in 1024 with sharrd's own. */
    const char *const fits[] = { "--max-connections", "28", "--max-arrays", "200", NULL };
    int before = log_lines(h, "descriptor limit", NULL, NULL);
    launch_daemon(h, fits, 1024);
    assert_int_equal(harness_daemon_stop(h), 0);
    assert_int_equal(log_lines(h, "descriptor limit", NULL, NULL), before);
    /* 100 connections need more than one descriptor each. */
    const char *const shares[] = { "--max-connections", "100", "--max-arrays", "200", NULL };
    launch_daemon(h, shares, 1024);
    assert_int_equal(harness_daemon_stop(h), 0);
    assert_int_equal(log_lines(h, "descriptor limit", NULL, NULL), before + 1);
    before++;
    const char *const over[] = { "--max-connections", "600", "--max-arrays", "600", NULL };
    launch_daemon(h, over, 1024);
    assert_int_equal(harness_daemon_stop(h), 0);
    assert_int_equal(log_lines(h, "descriptor limit", NULL, NULL), before + 1);
    assert_int_equal(log_lines(h, "descriptor limit", "--max-connections (", NULL), before + 1);
    /* The defaults (1024 connections, 100000 arrays) need more than 1024 too. */
    launch_daemon(h, NULL, 1024);
    assert_int_equal(harness_daemon_stop(h), 0);
    assert_int_equal(log_lines(h, "descriptor limit", NULL, NULL), before + 2);
}

#define T(fn) cmocka_unit_test_setup_teardown(fn, harness_setup, harness_teardown)

int main(void)
{
    const struct CMUnitTest tests[] = {
        T(test_four_uids_at_their_connection_limit_leave_root_and_a_fifth_uid_served),
        T(test_the_last_connections_are_kept_for_root),
        T(test_refused_connections_are_logged_at_a_bounded_rate),
        T(test_connections_closed_for_what_they_sent_are_logged_at_a_bounded_rate),
        T(test_waiting_opens_are_bounded_per_connection_and_per_uid),
        T(test_waiting_opens_of_four_uids_cost_little_and_their_memory_returns),
        T(test_expired_waiting_opens_are_answered_a_slice_per_turn),
        T(test_a_create_answers_the_opens_waiting_for_it_a_slice_per_turn),
        T(test_attachments_are_bounded_per_uid),
        T(test_a_batch_of_releases_shares_the_loop_with_another_client),
        T(test_a_uid_gets_one_share_of_each_turn_however_many_connections_it_has),
        T(test_clients_that_never_read_are_held_to_the_total_reply_cap),
        T(test_clients_that_never_read_full_pages_are_held_to_the_total_reply_cap),
        T(test_a_client_that_never_reads_makes_sharrd_hold_few_descriptors),
        T(test_four_uids_holding_descriptors_leave_root_served_at_a_limit_sharrd_accepts),
        T(test_replies_left_unread_still_carry_the_descriptors_of_unlinked_arrays),
        T(test_start_warns_when_the_descriptor_limit_is_below_what_the_limits_need),
    };
    return testskip_exit(cmocka_run_group_tests(tests, NULL, NULL));
}
