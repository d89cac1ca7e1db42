/* test_watch.c — watches against a real sharrd, the watcher in another process: the
 * events of an array's life arrive in order and only for what the watcher may see
 * (as another uid), a watcher that never reads costs the daemon bounded memory and
 * then hears of what it lost once, and the per-uid limit, the one watch of a
 * connection, bad prefixes and a daemon's restart each answer as documented.
 */
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "asuser.h"
#include "codec.h"
#include "decoder.h"
#include "launch.h"
#include "rawconn.h"
#include "testskip.h"

/* What a watcher child reports for each event it reads. */
struct seen {
    int kind;
    char name[SHARR_NAME_MAX + 1];
    uint32_t perm, uid, gid;
    uint64_t lost;
    uint64_t len;   /* the first axis's length after the event */
};

/* The next event of w, waiting for it (bounded by the test's timeout). 1 or the error. */
static int next_event(sharr_watch_t *w, struct sharr_event *ev)
{
    for (;;) {
        int rc = sharr_watch_next(w, ev);
        if (rc != 0)
            return rc;
        struct pollfd p = { .fd = sharr_watch_fd(w), .events = POLLIN };
        if (poll(&p, 1, -1) < 0 && errno != EINTR)
            return -errno;
    }
}

/* Child: watch the prefix it reads from rfd, say 'R', then report each event until it
 * has reported as many as it was told. */
static int watcher_child(int rfd, int wfd, void *arg)
{
    const uint32_t *as = arg; /* NULL: root; else the uid to become */
    char prefix[SHARR_NAME_MAX + 1];
    int want = 0;
    sharr_t *c = NULL;
    sharr_watch_t *w = NULL;

    if (as != NULL)
        CHILD_CHECK(asuser_become(*as, *as) == 0);
    CHILD_CHECK(chan_get(rfd, prefix, sizeof prefix) == 0);
    CHILD_CHECK(chan_get(rfd, &want, sizeof want) == 0);
    CHILD_CHECK(sharr_connect(NULL, &c) == 0);
    CHILD_CHECK(sharr_watch_open(c, prefix, &w) == 0);
    sharr_disconnect(c); /* the watch is a connection of its own */
    CHILD_CHECK(chan_put(wfd, "R", 1) == 0);
    for (int i = 0; i < want; i++) {
        struct sharr_event ev;
        CHILD_CHECK(next_event(w, &ev) == 1);
        struct seen s = { .kind = ev.kind, .perm = ev.info.perm, .uid = ev.info.uid,
                          .gid = ev.info.gid, .lost = ev.lost,
                          .len = ev.info.ndim > 0 ? ev.info.shape[0] : 0 };
        memcpy(s.name, ev.info.name, sizeof s.name);
        CHILD_CHECK(chan_put(wfd, &s, sizeof s) == 0);
    }
    sharr_watch_close(w);
    return 0;
}

static void start_watcher(struct harness *h, struct harness_child *c, const char *prefix,
                          int want, uint32_t *as)
{
    char p[SHARR_NAME_MAX + 1] = "";
    snprintf(p, sizeof p, "%s", prefix);
    harness_child_start(h, c, watcher_child, as);
    harness_put(c->to, p, sizeof p);
    harness_put(c->to, &want, sizeof want);
    char ready = 0;
    harness_get(c->from, &ready, 1);
    assert_int_equal(ready, 'R');
}

static void expect_seen(struct harness_child *c, int kind, const char *name, struct seen *ret)
{
    struct seen s;
    harness_get(c->from, &s, sizeof s);
    if (s.kind != kind || strcmp(s.name, name) != 0)
        fail_msg("expected %s %s, the watcher saw %s %s", sharr_event_name(kind), name,
                 sharr_event_name(s.kind), s.name);
    if (ret)
        *ret = s;
}

static void make(sharr_t *conn, const char *name, uint32_t perm)
{
    const uint64_t shape[2] = { 3, 4 };
    struct sharr_create_opts o = SHARR_CREATE_OPTS_INIT;
    sharr_array_t *a = NULL;
    o.perm = perm;
    assert_rc(sharr_create(conn, name, "<f4", 2, shape, &o, &a), 0);
    assert_rc(sharr_close(a), 0);
}

static void test_watch_delivers_an_arrays_life_in_order_to_another_process(void **state)
{
    struct harness *h = *state;
    struct harness_child c;
    sharr_t *conn = harness_connect(h);
    struct seen s;

    start_watcher(h, &c, "job.", 6, NULL);
    make(conn, "other.x", 0600);        /* not under the prefix: never reported */
    make(conn, "job.a", 0600);
    assert_rc(sharr_chmod(conn, "job.a", 0644), 0);
    assert_rc(sharr_chown(conn, "job.a", SHARR_ID_KEEP, 123), 0);
    make(conn, "job.b", 0600);
    assert_rc(sharr_unlink(conn, "job.a"), 0);
    assert_rc(sharr_unlink(conn, "other.x"), 0);
    const uint64_t shape[2] = { 3, 4 };
    struct sharr_create_opts o = SHARR_CREATE_OPTS_INIT;
    o.overwrite = 1;
    sharr_array_t *a = NULL;
    assert_rc(sharr_create(conn, "job.b", "<f4", 2, shape, &o, &a), 0); /* w+ */
    assert_rc(sharr_close(a), 0);

    expect_seen(&c, SHARR_EVENT_CREATED, "job.a", &s);
    assert_int_equal(s.perm, 0600);
    expect_seen(&c, SHARR_EVENT_CHMOD, "job.a", &s);
    assert_int_equal(s.perm, 0644);
    expect_seen(&c, SHARR_EVENT_CHOWN, "job.a", &s);
    assert_int_equal(s.gid, 123);
    expect_seen(&c, SHARR_EVENT_CREATED, "job.b", NULL);
    expect_seen(&c, SHARR_EVENT_REMOVED, "job.a", NULL);
    /* An overwrite: the old array goes, a new one comes, under the same name. */
    expect_seen(&c, SHARR_EVENT_REMOVED, "job.b", NULL);
    assert_int_equal(harness_child_wait(h, &c), 0);
    /* ...and it said nothing more: the last event it was told to wait for was the sixth. */
    sharr_disconnect(conn);
}

/* A producer's array: created with room to grow, grown, published, removed; a watcher
 * in another process hears each, in that order, and the resized event carries the
 * new length. */
static void test_watch_delivers_resized_and_published_in_order(void **state)
{
    struct harness *h = *state;
    struct harness_child c;
    sharr_t *conn = harness_connect(h);
    const uint64_t shape[2] = { 3, 4 };
    struct sharr_create_opts o = SHARR_CREATE_OPTS_INIT;
    struct sharr_info info;
    sharr_array_t *a = NULL;
    struct seen s;

    start_watcher(h, &c, "prod.", 4, NULL);
    o.max_len = 10;
    assert_rc(sharr_create(conn, "prod.rows", "<f4", 2, shape, &o, &a), 0);
    assert_rc(sharr_close(a), 0);
    assert_rc(sharr_grow(conn, "prod.rows", 7, &info), 0);
    assert_int_equal(info.shape[0], 7);
    assert_rc(sharr_publish(conn, "prod.rows", &info), 0);
    assert_rc(sharr_unlink(conn, "prod.rows"), 0);

    expect_seen(&c, SHARR_EVENT_CREATED, "prod.rows", NULL);
    expect_seen(&c, SHARR_EVENT_RESIZED, "prod.rows", &s);
    assert_int_equal(s.len, 7);
    expect_seen(&c, SHARR_EVENT_PUBLISHED, "prod.rows", NULL);
    expect_seen(&c, SHARR_EVENT_REMOVED, "prod.rows", NULL);
    assert_int_equal(harness_child_wait(h, &c), 0);
    sharr_disconnect(conn);
}

static void test_watch_hears_nothing_of_arrays_it_may_not_read(void **state)
{
    struct harness *h = *state;
    struct harness_child c;
    uint32_t nobody = ASUSER_UID;
    sharr_t *conn = harness_connect(h);
    struct seen s;

    asuser_open_dir(h);
    start_watcher(h, &c, "", 5, &nobody);
    make(conn, "priv", 0600);                 /* root's alone */
    make(conn, "pub", 0644);
    assert_rc(sharr_chmod(conn, "priv", 0640), 0);   /* still not nobody's to read */
    assert_rc(sharr_chown(conn, "priv", SHARR_ID_KEEP, 7), 0);
    assert_rc(sharr_chmod(conn, "pub", 0600), 0);    /* nobody loses sight: told once */
    assert_rc(sharr_chmod(conn, "pub", 0640), 0);    /* unseen before and after */
    assert_rc(sharr_unlink(conn, "priv"), 0);
    assert_rc(sharr_unlink(conn, "pub"), 0);
    make(conn, "p.hidden", 0600);
    assert_rc(sharr_chown(conn, "p.hidden", ASUSER_UID, SHARR_ID_KEEP), 0); /* now its own */
    assert_rc(sharr_unlink(conn, "p.hidden"), 0);
    make(conn, "last", 0644);

    expect_seen(&c, SHARR_EVENT_CREATED, "pub", NULL);
    expect_seen(&c, SHARR_EVENT_CHMOD, "pub", &s);
    assert_int_equal(s.perm, 0600);
    expect_seen(&c, SHARR_EVENT_CHOWN, "p.hidden", &s);
    assert_int_equal(s.uid, ASUSER_UID);
    expect_seen(&c, SHARR_EVENT_REMOVED, "p.hidden", NULL);
    expect_seen(&c, SHARR_EVENT_CREATED, "last", NULL);
    assert_int_equal(harness_child_wait(h, &c), 0);
    sharr_disconnect(conn);
}

/* ---- a watcher that never reads ---- */

#define FLOOD_EVENTS 1000000
#define FLOOD_BATCH 512

/* Child: watch everything, say 'R', read nothing until told 'G'; then read until the
 * overflow, say so, and read on until "end" is created; report what it counted. */
static int sleeper_child(int rfd, int wfd, void *arg)
{
    (void)arg;
    sharr_t *c = NULL;
    sharr_watch_t *w = NULL;
    struct sharr_event ev;
    uint64_t counts[3] = { 0, 0, 0 }; /* chmods, overflows, lost */
    char go = 0;

    CHILD_CHECK(sharr_connect(NULL, &c) == 0);
    CHILD_CHECK(sharr_watch_open(c, "", &w) == 0);
    sharr_disconnect(c);
    CHILD_CHECK(chan_put(wfd, "R", 1) == 0);
    CHILD_CHECK(chan_get(rfd, &go, 1) == 0 && go == 'G');
    for (;;) {
        CHILD_CHECK(next_event(w, &ev) == 1);
        if (ev.kind == SHARR_EVENT_CHMOD) {
            counts[0]++;
        } else if (ev.kind == SHARR_EVENT_OVERFLOW) {
            counts[1]++;
            counts[2] += ev.lost;
            CHILD_CHECK(chan_put(wfd, "O", 1) == 0);
        } else if (ev.kind == SHARR_EVENT_CREATED && strcmp(ev.info.name, "end") == 0) {
            break;
        }
    }
    CHILD_CHECK(chan_put(wfd, counts, sizeof counts) == 0);
    sharr_watch_close(w);
    return 0;
}

/* n chmods of name on rc, FLOOD_BATCH at a time without waiting for the replies. */
static void flood_chmod(struct rawconn *rc, const char *name, long n)
{
    struct decoder *dec = decoder_new(PROTO_RESPONSE_MAX, PROTO_DEPTH_MAX);
    static char buf[64 * 1024];
    msgpack_sbuffer sb;
    uint32_t msgid = 10;

    assert_non_null(dec);
    msgpack_sbuffer_init(&sb);
    for (long done = 0; done < n;) {
        long batch = n - done < FLOOD_BATCH ? n - done : FLOOD_BATCH;
        for (long i = 0; i < batch; i++) {
            struct codec_chmod p = { .perm = (done + i) % 2 ? 0600 : 0640 };
            snprintf(p.name, sizeof p.name, "%s", name);
            assert_int_equal(codec_pack_chmod(&sb, msgid++, &p), 0);
        }
        rawconn_send_sbuf(rc, &sb);
        for (long got = 0; got < batch;) {
            msgpack_object obj;
            int r = decoder_next(dec, &obj);
            assert_true(r >= 0);
            if (r == 1) {
                struct codec_msg m;
                char err[256];
                assert_int_equal(codec_parse_msg(&obj, &m, NULL, err, sizeof err), 0);
                assert_int_equal(m.err, 0);
                got++;
                continue;
            }
            ssize_t k = read(rc->fd, buf, sizeof buf);
            assert_true(k > 0);
            assert_int_equal(decoder_feed(dec, buf, (size_t)k), 0);
        }
        done += batch;
    }
    msgpack_sbuffer_destroy(&sb);
    decoder_free(dec);
}

static void test_watcher_that_never_reads_costs_bounded_memory(void **state)
{
    struct harness *h = *state;
    struct harness_child c;
    sharr_t *conn = harness_connect(h);
    struct rawconn rc;

    make(conn, "spam", 0600);
    harness_child_start(h, &c, sleeper_child, NULL);
    char ready = 0;
    harness_get(c.from, &ready, 1);
    assert_int_equal(ready, 'R');

    rawconn_open(&rc, h->sock, 64 * 1024);
    rawconn_hello(&rc, 1);
    flood_chmod(&rc, "spam", FLOOD_EVENTS);
    rawconn_close(&rc);

    /* A million events at a few hundred bytes each would be hundreds of megabytes:
     * the daemon holds at most the watcher's share (WATCH_QUEUE_MAX, 256 KiB) and
     * keeps it connected. */
    struct sharr_stats st = harness_stats(conn);
    assert_int_equal(st.watches, 1);
    if (st.queued_bytes > 256 * 1024 + 4096)
        fail_msg("the daemon holds %llu bytes of unread events", (unsigned long long)st.queued_bytes);
    assert_true(st.queued_bytes > 0); /* the watcher's share is full */

    harness_put(c.to, "G", 1);
    char over = 0;
    harness_get(c.from, &over, 1);
    assert_int_equal(over, 'O');
    make(conn, "end", 0600);
    uint64_t counts[3];
    harness_get(c.from, counts, sizeof counts);
    assert_int_equal(harness_child_wait(h, &c), 0);
    /* One overflow, and every event either arrived or was counted as lost. */
    assert_int_equal(counts[1], 1);
    assert_true(counts[2] > 0);
    assert_int_equal(counts[0] + counts[2], FLOOD_EVENTS);
    /* The watch ends with its connection, once the daemon has seen it close. */
    uint64_t watches = 1;
    for (int i = 0; i < 500 && watches != 0; i++) {
        watches = harness_stats(conn).watches;
        if (watches != 0)
            usleep(10000);
    }
    assert_int_equal(watches, 0);
    sharr_disconnect(conn);
}

/* ---- limits and refusals ---- */

static int watches_as_nobody(void *arg)
{
    (void)arg;
    sharr_t *c = NULL;
    sharr_watch_t *w1 = NULL, *w2 = NULL, *w3 = NULL;
    CHILD_CHECK(sharr_connect(NULL, &c) == 0);
    CHILD_CHECK(sharr_watch_open(c, "", &w1) == 0);
    CHILD_CHECK(sharr_watch_open(c, "a", &w2) == 0);
    CHILD_CHECK(sharr_watch_open(c, "b", &w3) == -EMFILE);
    CHILD_CHECK(strstr(sharr_last_error(), "--max-watches-per-uid") != NULL);
    sharr_watch_close(w1);
    /* The count goes down as a watch closes (once the daemon has seen it close). */
    int rc = -EMFILE;
    for (int i = 0; i < 200 && rc == -EMFILE; i++) {
        rc = sharr_watch_open(c, "b", &w3);
        if (rc == -EMFILE)
            usleep(10000);
    }
    CHILD_CHECK(rc == 0);
    sharr_watch_close(w2);
    sharr_watch_close(w3);
    sharr_disconnect(c);
    return 0;
}

static void test_watches_per_uid_are_limited_and_root_is_exempt(void **state)
{
    struct harness *h = *state;
    const char *const flags[] = { "--max-watches-per-uid", "2", NULL };

    launch_daemon(h, flags, 0);
    asuser_open_dir(h);
    assert_int_equal(asuser_run(h, ASUSER_UID, ASUSER_GID, watches_as_nobody, NULL), 0);
    sharr_t *conn = harness_connect(h);
    sharr_watch_t *w[3];
    for (int i = 0; i < 3; i++)
        assert_rc(sharr_watch_open(conn, "", &w[i]), 0);
    for (int i = 0; i < 3; i++)
        sharr_watch_close(w[i]);
    sharr_disconnect(conn);
}

static void test_one_watch_per_connection_and_bad_prefixes_are_refused(void **state)
{
    struct harness *h = *state;
    struct rawconn rc;
    msgpack_sbuffer sb;
    struct codec_watch p = { "" };

    rawconn_open(&rc, h->sock, 4096);
    rawconn_hello(&rc, 1);
    msgpack_sbuffer_init(&sb);
    snprintf(p.prefix, sizeof p.prefix, ".hidden");
    assert_int_equal(codec_pack_watch(&sb, 2, &p), 0);
    rawconn_send_sbuf(&rc, &sb);
    rawconn_expect_reply(&rc, 2, "EINVAL", NULL);
    snprintf(p.prefix, sizeof p.prefix, "ok.");
    assert_int_equal(codec_pack_watch(&sb, 3, &p), 0);
    rawconn_send_sbuf(&rc, &sb);
    rawconn_expect_reply(&rc, 3, NULL, NULL);
    assert_int_equal(codec_pack_watch(&sb, 4, &p), 0);
    rawconn_send_sbuf(&rc, &sb);
    rawconn_expect_reply(&rc, 4, "EBUSY", NULL);
    msgpack_sbuffer_destroy(&sb);
    rawconn_close(&rc);

    sharr_t *conn = harness_connect(h);
    sharr_watch_t *w = NULL;
    assert_rc(sharr_watch_open(conn, "a/b", &w), -EINVAL);
    assert_null(w);
    sharr_disconnect(conn);
}

static void test_watch_ends_with_econnreset_when_the_daemon_restarts(void **state)
{
    struct harness *h = *state;
    sharr_t *conn = harness_connect(h);
    sharr_watch_t *w = NULL;
    struct sharr_event ev;

    assert_rc(sharr_watch_open(conn, "", &w), 0);
    assert_rc(sharr_watch_next(w, &ev), 0);
    harness_daemon_restart(h);
    assert_rc(next_event(w, &ev), -ECONNRESET);
    assert_rc(sharr_watch_next(w, &ev), -ECONNRESET);
    sharr_watch_close(w);
    sharr_disconnect(conn);
}


/* ---- sharr watch ---- */

/* Start `sharr watch ARGS...` with its stdout on a pipe; *ret_out is the read end. */
static pid_t start_cli_watch(const char *a1, const char *a2, int *ret_out)
{
    int p[2];
    assert_int_equal(pipe(p), 0);
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        dup2(p[1], 1);
        close(p[0]);
        close(p[1]);
        execl(harness_cli_path(), harness_cli_path(), "watch", a1, a2, (char *)NULL);
        _exit(127);
    }
    close(p[1]);
    *ret_out = p[0];
    return pid;
}

/* Everything fd gives until EOF (malloc'd, NUL-terminated); fd is closed. */
static char *read_all(int fd)
{
    size_t len = 0, cap = 4096;
    char *buf = malloc(cap);
    ssize_t n;
    assert_non_null(buf);
    while ((n = read(fd, buf + len, cap - len - 1)) > 0) {
        len += (size_t)n;
        if (cap - len < 2) {
            cap *= 2;
            buf = realloc(buf, cap);
            assert_non_null(buf);
        }
    }
    buf[len] = '\0';
    close(fd);
    return buf;
}

static void test_cli_watch_prints_one_line_per_event(void **state)
{
    struct harness *h = *state;
    sharr_t *conn = harness_connect(h);
    int jfd, tfd, status;

    pid_t jpid = start_cli_watch("job.", "--json", &jfd);
    pid_t tpid = start_cli_watch("--", NULL, &tfd); /* every name, as text */
    uint64_t watches = 0;
    for (int i = 0; i < 500 && watches < 2; i++) {
        watches = harness_stats(conn).watches;
        if (watches < 2)
            usleep(10000);
    }
    assert_int_equal(watches, 2);
    make(conn, "other", 0600);
    make(conn, "job.a", 0600);
    assert_rc(sharr_chmod(conn, "job.a", 0640), 0);
    assert_rc(sharr_unlink(conn, "job.a"), 0);
    sharr_disconnect(conn);
    /* Both have the events queued or read; a stopping daemon ends them with status 1. */
    harness_daemon_restart(h);
    char *json = read_all(jfd);
    char *text = read_all(tfd);
    assert_int_equal(waitpid(jpid, &status, 0), jpid);
    assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 1);
    assert_int_equal(waitpid(tpid, &status, 0), tpid);
    assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 1);

    /* One JSON object per line, about job.a only. */
    size_t n = strlen(json);
    char *list = malloc(2 * n + 8);
    assert_non_null(list);
    char *q = list;
    *q++ = '[';
    for (char *line = strtok(json, "\n"); line; line = strtok(NULL, "\n"))
        q += sprintf(q, "%s%s", q == list + 1 ? "" : ",", line);
    strcpy(q, "]");
    harness_check_json(h, list,
                       "assert [e['event'] for e in d] == ['created', 'chmod', 'removed'], d\n"
                       "assert all(e['array']['name'] == 'job.a' for e in d), d\n"
                       "assert d[1]['array']['perm'] == 0o640, d\n"
                       "assert d[0]['array']['shape'] == [3, 4], d\n");
    free(list);
    const char *want[] = { "created other <f4 3x4 0600 root volatile",
                           "created job.a <f4 3x4 0600 root volatile",
                           "chmod job.a <f4 3x4 0640 root volatile",
                           "removed job.a <f4 3x4 0640 root volatile" };
    char *at = text;
    for (size_t i = 0; i < sizeof want / sizeof want[0]; i++) {
        size_t len = strlen(want[i]);
        if (strncmp(at, want[i], len) != 0 || at[len] != '\n')
            fail_msg("line %zu: expected '%s', got:\n%s", i + 1, want[i], text);
        at += len + 1;
    }
    assert_string_equal(at, "");
    free(json);
    free(text);
}

#define T(fn) cmocka_unit_test_setup_teardown(fn, harness_setup, harness_teardown)

int main(void)
{
    const struct CMUnitTest tests[] = {
        T(test_watch_delivers_an_arrays_life_in_order_to_another_process),
        T(test_watch_delivers_resized_and_published_in_order),
        T(test_watch_hears_nothing_of_arrays_it_may_not_read),
        T(test_watcher_that_never_reads_costs_bounded_memory),
        T(test_watches_per_uid_are_limited_and_root_is_exempt),
        T(test_one_watch_per_connection_and_bad_prefixes_are_refused),
        T(test_watch_ends_with_econnreset_when_the_daemon_restarts),
        T(test_cli_watch_prints_one_line_per_event),
    };
    return testskip_exit(cmocka_run_group_tests(tests, NULL, NULL));
}
