/* test_observe.c — who holds what: the holders method, sharr_holders and the
 * commands built on it (ls -l, info, top), against forked processes that really
 * hold arrays; and the holders requests a hostile client can send.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "harness.h"
#include "rawconn.h"
#include "testskip.h"

#define COMM "integ_observe" /* this program's command name, as /proc/PID/comm has it */

/* A child that opens the arrays named in arg ("name:mode name:mode"), reports one
 * byte, and holds them until the parent closes its pipe. */
static int holder(int rfd, int wfd, void *arg)
{
    char spec[256], *save = NULL;
    sharr_t *c = NULL;
    sharr_array_t *held[8];
    int n = 0;

    snprintf(spec, sizeof spec, "%s", (const char *)arg);
    CHILD_CHECK(sharr_connect(NULL, &c) == 0);
    for (char *t = strtok_r(spec, " ", &save); t != NULL; t = strtok_r(NULL, " ", &save)) {
        char *colon = strchr(t, ':');
        *colon = '\0';
        CHILD_CHECK(sharr_open(c, t, colon + 1, NULL, &held[n++]) == 0);
    }
    char ok = 1, quit;
    CHILD_CHECK(chan_put(wfd, &ok, 1) == 0);
    CHILD_CHECK(chan_get(rfd, &quit, 1) == -EPIPE);
    for (int i = 0; i < n; i++)
        sharr_close(held[i]);
    sharr_disconnect(c);
    return 0;
}

static void start_holder(struct harness *h, struct harness_child *ch, const char *spec)
{
    char ok;
    harness_child_start(h, ch, holder, (void *)spec);
    harness_get(ch->from, &ok, 1);
}

/* Let the holder go (its pipe closes) and reap it; its exit code. */
static int release_holder(struct harness *h, struct harness_child *ch)
{
    close(ch->to);
    ch->to = -1;
    return harness_child_wait(h, ch);
}

static void make(sharr_t *c, const char *name, uint64_t n, int persist)
{
    sharr_array_t *a = NULL;
    struct sharr_create_opts o = { .size = sizeof(o), .persist = persist, .flags = SHARR_F_NOMAP };
    assert_rc(sharr_create(c, name, "<f8", 1, &n, &o, &a), 0);
    assert_rc(sharr_close(a), 0);
}

static int64_t now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static void test_holders_name_each_process_with_uid_command_mode_and_time(void **state)
{
    struct harness *h = *state;
    sharr_t *c = harness_connect(h);
    struct harness_child a, b;
    struct sharr_holder hs[8];
    size_t n = 0;
    int more = 1;

    make(c, "weights", 1000, 0);
    make(c, "table", 500, 1);
    int64_t before = now_ns();
    start_holder(h, &a, "weights:r+");
    start_holder(h, &b, "weights:r table:c");
    int64_t after = now_ns();

    assert_rc(sharr_holders(c, "weights", 0, hs, 8, &n, &more), 0);
    assert_int_equal(n, 2);
    assert_int_equal(more, 0);
    assert_int_equal(hs[0].pid, a.pid);
    assert_string_equal(hs[0].mode, "r+");
    assert_int_equal(hs[1].pid, b.pid);
    assert_string_equal(hs[1].mode, "r");
    for (size_t i = 0; i < n; i++) {
        assert_string_equal(hs[i].name, "weights");
        assert_string_equal(hs[i].comm, COMM);
        assert_int_equal(hs[i].uid, getuid());
        assert_int_equal(hs[i].gid, getgid());
        assert_int_equal(hs[i].nbytes, 8000);
        assert_int_equal(hs[i].persist, 0);
        assert_true(hs[i].since_ns >= before && hs[i].since_ns <= after);
    }
    assert_true(hs[0].handle < hs[1].handle);

    /* All arrays, one per page: the cursor walks them in handle order. */
    uint64_t cursor = 0;
    const char *names[3] = { "weights", "weights", "table" };
    for (int i = 0; i < 3; i++) {
        assert_rc(sharr_holders(c, NULL, cursor, hs, 1, &n, &more), 0);
        assert_int_equal(n, 1);
        assert_string_equal(hs[0].name, names[i]);
        assert_int_equal(more, i < 2);
        cursor = hs[0].handle;
    }
    assert_int_equal(hs[0].persist, 1);
    assert_string_equal(hs[0].mode, "c");

    /* An unlinked array is still held, and says so. */
    assert_rc(sharr_unlink(c, "table"), 0);
    assert_rc(sharr_holders(c, "table", 0, hs, 8, &n, &more), 0);
    assert_int_equal(n, 1);
    assert_int_equal(hs[0].unlinked, 1);

    /* A process that leaves holds nothing any more. */
    assert_int_equal(release_holder(h, &b), 0);
    assert_int_equal(harness_wait_attachments(c, 1), 1);
    assert_rc(sharr_holders(c, NULL, 0, hs, 8, &n, &more), 0);
    assert_int_equal(n, 1);
    assert_int_equal(hs[0].pid, a.pid);
    assert_int_equal(release_holder(h, &a), 0);
    assert_rc(sharr_holders(c, "nosuch", 0, hs, 8, &n, &more), 0);
    assert_int_equal(n, 0);
    assert_rc(sharr_holders(c, "../bad", 0, hs, 8, &n, &more), -EINVAL);
    sharr_disconnect(c);
}

/* Another user sees no holders of an array it may not read. */
static void test_holders_hide_arrays_the_caller_may_not_read(void **state)
{
    struct harness *h = *state;
    if (geteuid() != 0)
        testskip("acting as another user needs root");
    sharr_t *c = harness_connect(h);
    struct harness_child a;
    /* The other user must reach the socket in the test's directory. */
    assert_int_equal(chmod(h->dir, 0711), 0);
    make(c, "private", 10, 0);
    start_holder(h, &a, "private:r");
    fflush(NULL);
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        sharr_t *o = NULL;
        struct sharr_holder hs[4];
        size_t n = 9;
        int more;
        if (setgid(65534) < 0 || setuid(65534) < 0)
            _exit(3);
        if (sharr_connect(h->sock, &o) < 0 || sharr_holders(o, NULL, 0, hs, 4, &n, &more) < 0)
            _exit(4);
        _exit(n == 0 ? 0 : 5);
    }
    int status;
    assert_int_equal(waitpid(pid, &status, 0), pid);
    assert_true(WIFEXITED(status));
    assert_int_equal(WEXITSTATUS(status), 0);
    assert_int_equal(release_holder(h, &a), 0);
    sharr_disconnect(c);
}

static void run_cli(struct harness *h, struct harness_run *r, ...)
{
    const char *argv[12] = { harness_cli_path() };
    va_list ap;
    int n = 1;
    va_start(ap, r);
    for (const char *s; (s = va_arg(ap, const char *)) != NULL;)
        argv[n++] = s;
    va_end(ap);
    argv[n] = NULL;
    harness_run(h, argv, r);
    if (r->status != 0)
        print_error("sharr exited %d:\n%s%s", r->status, r->out, r->err);
    assert_int_equal(r->status, 0);
}

static void test_cli_ls_info_and_top_show_the_holders(void **state)
{
    struct harness *h = *state;
    sharr_t *c = harness_connect(h);
    struct harness_child a, b;
    struct harness_run r;
    char want[128], script[512];

    make(c, "grid", 1024, 0);
    make(c, "idle", 8, 0);
    start_holder(h, &a, "grid:r+");
    start_holder(h, &b, "grid:r idle:r");

    run_cli(h, &r, "ls", "-l", NULL);
    assert_non_null(strstr(r.out, "HELD BY"));
    snprintf(want, sizeof want, "%d " COMM " r+, %d " COMM " r", (int)a.pid, (int)b.pid);
    assert_non_null(strstr(r.out, want));
    harness_run_free(&r);

    run_cli(h, &r, "info", "grid", NULL);
    assert_non_null(strstr(r.out, "attached processes:"));
    snprintf(want, sizeof want, "%d", (int)b.pid);
    assert_non_null(strstr(r.out, want));
    harness_run_free(&r);

    run_cli(h, &r, "info", "grid", "--json", NULL);
    snprintf(script, sizeof script,
             "assert [(x['pid'], x['mode'], x['comm']) for x in d['holders']] == "
             "[(%d, 'r+', '" COMM "'), (%d, 'r', '" COMM "')], d", (int)a.pid, (int)b.pid);
    harness_check_json(h, r.out, script);
    harness_run_free(&r);

    run_cli(h, &r, "ls", "-l", "--json", NULL);
    harness_check_json(h, r.out, "m = {x['name']: x for x in d}\n"
                         "assert len(m['grid']['holders']) == 2 and len(m['idle']['holders']) == 1");
    harness_run_free(&r);

    run_cli(h, &r, "ping", "--json", NULL);
    harness_check_json(h, r.out, "assert d['protocol'] == 1 and d['pid'] > 0 and d['round_trip_ms'] >= 0");
    harness_run_free(&r);

    run_cli(h, &r, "top", NULL);
    assert_non_null(strstr(r.out, "free: volatile store"));
    assert_non_null(strstr(r.out, "grid (r), idle (r)"));
    harness_run_free(&r);

    run_cli(h, &r, "top", "--json", NULL);
    snprintf(script, sizeof script,
             "p = {x['pid']: x for x in d['processes']}\n"
             "assert p[%d]['bytes'] == 8192 and p[%d]['arrays'] == 1, p\n"
             "assert p[%d]['bytes'] == 8192 + 64 and p[%d]['arrays'] == 2, p\n"
             "assert d['volatile_capacity'] > 0 and d['arrays'] == 2, d",
             (int)a.pid, (int)a.pid, (int)b.pid, (int)b.pid);
    harness_check_json(h, r.out, script);
    harness_run_free(&r);

    /* b inherited a's pipe when it was forked: release it first. */
    assert_int_equal(release_holder(h, &b), 0);
    assert_int_equal(release_holder(h, &a), 0);
    sharr_disconnect(c);
}

/* Hostile holders requests get EINVAL; the daemon then serves on, arrays intact. */
static void test_holders_rejects_bad_params_and_serves_on(void **state)
{
    struct harness *h = *state;
    sharr_t *c = harness_connect(h);
    sharr_array_t *arr = NULL;
    uint64_t n8 = 8;
    assert_rc(sharr_create(c, "kept", "<f8", 1, &n8, NULL, &arr), 0);
    ((double *)sharr_array_data(arr))[7] = 3.25;

    struct rawconn rc;
    rawconn_open(&rc, h->sock, 4096);
    rawconn_hello(&rc, 0);
    static const char *const bad[][2] = {
        { "limit", "0" }, { "limit", "5000" }, { "after", "s" }, { "name", "../x" },
        { "name", "" }, { "limit", "-1" },
    };
    for (uint32_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        msgpack_sbuffer sb;
        msgpack_packer pk;
        msgpack_sbuffer_init(&sb);
        msgpack_packer_init(&pk, &sb, msgpack_sbuffer_write);
        msgpack_pack_array(&pk, 4);
        msgpack_pack_uint32(&pk, 0);
        msgpack_pack_uint32(&pk, i + 1);
        msgpack_pack_str_with_body(&pk, "holders", 7);
        msgpack_pack_array(&pk, 1);
        msgpack_pack_map(&pk, 1);
        msgpack_pack_str_with_body(&pk, bad[i][0], strlen(bad[i][0]));
        const char *v = bad[i][1];
        if (strcmp(bad[i][0], "name") == 0 || strcmp(v, "s") == 0)
            msgpack_pack_str_with_body(&pk, v, strlen(v));
        else if (v[0] == '-')
            msgpack_pack_int64(&pk, -1);
        else
            msgpack_pack_uint64(&pk, strtoull(v, NULL, 10));
        rawconn_send_sbuf(&rc, &sb);
        rawconn_expect_reply(&rc, i + 1, "EINVAL", NULL);
        msgpack_sbuffer_destroy(&sb);
    }
    /* Params that are not a map (a malformed envelope), and no params at all (all). */
    static const uint8_t not_map[] = { 0x94, 0x00, 0x20, 0xa7, 'h', 'o', 'l', 'd', 'e', 'r',
                                       's', 0x91, 0x05 };
    rawconn_send_ok(&rc, not_map, sizeof not_map);
    rawconn_expect_reply(&rc, 0x20, "EBADMSG", NULL);
    static const uint8_t none[] = { 0x94, 0x00, 0x21, 0xa7, 'h', 'o', 'l', 'd', 'e', 'r', 's',
                                    0x90 };
    const msgpack_object *res = NULL;
    rawconn_send_ok(&rc, none, sizeof none);
    rawconn_expect_reply(&rc, 0x21, NULL, &res);
    const msgpack_object *list = rawconn_map_get(res, "holders");
    assert_non_null(list);
    assert_int_equal(list->via.array.size, 1);
    rawconn_close(&rc);

    struct sharr_holder hs[2];
    size_t n = 0;
    int more;
    assert_rc(sharr_holders(c, "kept", 0, hs, 2, &n, &more), 0);
    assert_int_equal(n, 1);
    sharr_array_t *again = NULL;
    assert_rc(sharr_open(c, "kept", "r", NULL, &again), 0);
    assert_true(((const double *)sharr_array_data(again))[7] == 3.25);
    assert_rc(sharr_close(again), 0);
    assert_rc(sharr_close(arr), 0);
    sharr_disconnect(c);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(
            test_holders_name_each_process_with_uid_command_mode_and_time, harness_setup,
            harness_teardown),
        cmocka_unit_test_setup_teardown(test_holders_hide_arrays_the_caller_may_not_read,
                                        harness_setup, harness_teardown),
        cmocka_unit_test_setup_teardown(test_cli_ls_info_and_top_show_the_holders,
                                        harness_setup, harness_teardown),
        cmocka_unit_test_setup_teardown(test_holders_rejects_bad_params_and_serves_on,
                                        harness_setup, harness_teardown),
    };
    return testskip_exit(cmocka_run_group_tests(tests, NULL, NULL));
}
