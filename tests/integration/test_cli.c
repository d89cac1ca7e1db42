/* test_cli.c — the `sharr` command against a real daemon, as a user runs it.
 *
 * Every command is exec'ed with $SHARR_SOCKET pointing at the test's daemon; its
 * effects are checked through the library, its --json output with Python's json
 * module when /usr/bin/python3 exists. Failures print "sharr: ..." and exit 1; usage
 * errors exit 2 and change nothing.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "harness.h"
#include "meta.h"
#include "stats.h"
#include "testskip.h"

#define ARGS_MAX 16
/* A stats field's wire key as a Python string, for the JSON check. */
#define STATS_KEY(field, type, key, required) "'" key "', "
/* An array record field's wire key, the same way. */
#define INFO_KEY(id, field, key, kind, required) "'" key "', "

/* Run the CLI with the given arguments (NULL-terminated). */
static void run_cli(struct harness *h, struct harness_run *r, ...)
{
    const char *argv[ARGS_MAX + 2] = { harness_cli_path() };
    va_list ap;
    va_start(ap, r);
    int n = 1;
    for (const char *a; (a = va_arg(ap, const char *)) != NULL;) {
        assert_true(n <= ARGS_MAX);
        argv[n++] = a;
    }
    va_end(ap);
    argv[n] = NULL;
    harness_run(h, argv, r);
}

static void expect_success(const struct harness_run *r, const char *what)
{
    if (r->status != 0)
        print_error("sharr %s exited %d:\n%s%s", what, r->status, r->out, r->err);
    assert_int_equal(r->status, 0);
    assert_string_equal(r->err, "");
}

/* The line of text that starts with prefix followed by a space, tab or end of line;
 * copied into line. 1 if found. */
static int find_line(const char *text, const char *prefix, char *line, size_t len)
{
    size_t plen = strlen(prefix);
    for (const char *p = text; *p != '\0';) {
        const char *end = strchr(p, '\n');
        size_t n = end != NULL ? (size_t)(end - p) : strlen(p);
        if (n >= plen && memcmp(p, prefix, plen) == 0 &&
            (n == plen || p[plen] == ' ' || p[plen] == '\t')) {
            snprintf(line, len, "%.*s", (int)n, p);
            return 1;
        }
        p += n + (end != NULL);
    }
    return 0;
}

static void test_cli_manages_arrays(void **state)
{
    struct harness *h = *state;
    sharr_t *conn = harness_connect(h);
    struct harness_run r;
    struct sharr_info info;
    char line[1024];

    run_cli(h, &r, "create", "cli-a", "--dtype", "float32", "--shape", "100,200", NULL);
    expect_success(&r, "create cli-a");
    harness_run_free(&r);
    /* The CLI's release went without waiting for the daemon, which applies it (or the
     * disconnect after it) asynchronously to this connection. */
    assert_int_equal(harness_wait_attachments(conn, 0), 0);
    assert_rc(sharr_stat(conn, "cli-a", &info), 0);
    assert_string_equal(info.dtype, "<f4");
    assert_int_equal(info.ndim, 2);
    assert_int_equal(info.shape[0], 100);
    assert_int_equal(info.shape[1], 200);
    assert_int_equal(info.persist, 0);
    assert_int_equal(info.nattached, 0);

    run_cli(h, &r, "create", "cli-p", "--dtype", "<i2", "--shape", "3,4", "--persist",
            "--order", "F", "--perm", "0640", NULL);
    expect_success(&r, "create cli-p");
    harness_run_free(&r);
    assert_rc(sharr_stat(conn, "cli-p", &info), 0);
    assert_string_equal(info.dtype, "<i2");
    assert_int_equal(info.order, 'F');
    assert_int_equal(info.persist, 1);
    assert_int_equal(info.perm, 0640);

    run_cli(h, &r, "ls", NULL);
    expect_success(&r, "ls");
    assert_string_equal(r.out, "cli-a\ncli-p\n");
    harness_run_free(&r);

    run_cli(h, &r, "ls", "-l", NULL);
    expect_success(&r, "ls -l");
    assert_true(find_line(r.out, "cli-a", line, sizeof line));
    assert_non_null(strstr(line, "<f4"));
    assert_non_null(strstr(line, "100"));
    assert_non_null(strstr(line, "200"));
    assert_non_null(strstr(line, "volatile"));
    assert_true(find_line(r.out, "cli-p", line, sizeof line));
    assert_non_null(strstr(line, "<i2"));
    assert_non_null(strstr(line, "persistent"));
    assert_non_null(strstr(line, "0640"));
    harness_run_free(&r);

    run_cli(h, &r, "info", "cli-a", NULL);
    expect_success(&r, "info cli-a");
    assert_non_null(strstr(r.out, "cli-a"));
    assert_non_null(strstr(r.out, "<f4"));
    harness_run_free(&r);

    run_cli(h, &r, "info", "cli-a", "--json", NULL);
    expect_success(&r, "info cli-a --json");
    assert_non_null(strstr(r.out, "\"dtype\": \"<f4\""));
    assert_non_null(strstr(r.out, "\"shape\": [100, 200]"));
    harness_check_json(h, r.out,
               "assert d['name'] == 'cli-a', d\n"
               "assert d['dtype'] == '<f4', d\n"
               "assert d['shape'] == [100, 200], d\n"
               "assert d['persist'] is False, d\n"
               /* every field of the array record; the CLI calls nattached "attached" */
               "keys = {" META_FIELDS(INFO_KEY) "} - {'nattached'} | {'attached'}\n"
               "assert keys <= set(d), keys - set(d)");
    harness_run_free(&r);

    run_cli(h, &r, "stats", NULL);
    expect_success(&r, "stats");
    assert_true(find_line(r.out, "arrays", line, sizeof line));
    assert_non_null(strstr(line, "2"));
    harness_run_free(&r);
    run_cli(h, &r, "stats", "--json", NULL);
    expect_success(&r, "stats --json");
    harness_check_json(h, r.out,
               "assert d['arrays'] == 2, d\n"
               "assert d['arrays_persistent'] == 1, d\n"
               /* every field of the stats record, and no other */
               "assert sorted(d) == sorted([" PROTO_STATS_FIELDS(STATS_KEY) "]), d");
    harness_run_free(&r);

    run_cli(h, &r, "rm", "cli-a", NULL);
    expect_success(&r, "rm cli-a");
    harness_run_free(&r);
    assert_rc(sharr_stat(conn, "cli-a", &info), -ENOENT);
    run_cli(h, &r, "ls", NULL);
    expect_success(&r, "ls");
    assert_string_equal(r.out, "cli-p\n");
    harness_run_free(&r);

    sharr_disconnect(conn);
}

static void expect_failure(const struct harness_run *r, int status, const char *what)
{
    if (r->status != status)
        print_error("sharr %s exited %d, want %d:\n%s%s", what, r->status, status, r->out,
                    r->err);
    assert_int_equal(r->status, status);
    assert_string_equal(r->out, "");
}

static void test_cli_error_prints_sharr_message_and_exits_1(void **state)
{
    struct harness *h = *state;
    struct harness_run r;

    run_cli(h, &r, "info", "missing", NULL);
    expect_failure(&r, 1, "info missing");
    assert_memory_equal(r.err, "sharr: ", 7);
    assert_non_null(strstr(r.err, "missing"));
    assert_non_null(strchr(r.err, '\n'));
    harness_run_free(&r);

    run_cli(h, &r, "rm", "missing", NULL);
    expect_failure(&r, 1, "rm missing");
    assert_memory_equal(r.err, "sharr: ", 7);
    harness_run_free(&r);

    run_cli(h, &r, "create", "twice", "--dtype", "u1", "--shape", "8", NULL);
    expect_success(&r, "create twice");
    harness_run_free(&r);
    run_cli(h, &r, "create", "twice", "--dtype", "u1", "--shape", "8", NULL);
    expect_failure(&r, 1, "create twice, again");
    assert_memory_equal(r.err, "sharr: ", 7);
    harness_run_free(&r);

    char nowhere[256];
    snprintf(nowhere, sizeof nowhere, "%s/no-daemon.sock", h->dir);
    run_cli(h, &r, "--socket", nowhere, "ping", NULL);
    expect_failure(&r, 1, "ping without a daemon");
    assert_memory_equal(r.err, "sharr: ", 7);
    harness_run_free(&r);
}

static void test_cli_usage_error_exits_2(void **state)
{
    struct harness *h = *state;
    struct harness_run r;
    const char *cases[][10] = {
        { NULL },
        { "frobnicate", NULL },
        { "info", NULL },
        { "rm", NULL },
        { "create", "u", NULL },
        { "create", "u", "--dtype", "f4", NULL },
        { "create", "u", "--dtype", "f4", "--shape", "0", NULL },
        { "create", "u", "--dtype", "f4", "--shape", "3,", NULL },
        { "ls", "--bogus", NULL },
        /* Permission bits are 0777 at most (proto/perm.c): the CLI says so itself. */
        { "create", "u", "--dtype", "f4", "--shape", "3", "--perm", "04755", NULL },
        { "create", "u", "--dtype", "f4", "--shape", "3", "--perm", "0", NULL },
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        const char *argv[12] = { harness_cli_path() };
        for (size_t j = 0; cases[i][j] != NULL; j++)
            argv[j + 1] = cases[i][j];
        harness_run(h, argv, &r);
        expect_failure(&r, 2, cases[i][0] != NULL ? cases[i][0] : "(no command)");
        assert_non_null(strstr(r.err, "usage"));
        harness_run_free(&r);
    }
    sharr_t *conn = harness_connect(h);
    assert_int_equal(harness_stats(conn).arrays, 0);
    sharr_disconnect(conn);
}

/* create and import take --max-len, the room a volatile array may grow into: grow
 * reaches it and no further; a bad value, or --max-len with --move (which adopts a
 * file as it is), is a usage error. */
static void test_cli_create_and_import_take_max_len(void **state)
{
    struct harness *h = *state;
    struct harness_run r;
    struct sharr_info info;
    char raw[256];
    FILE *f;

    run_cli(h, &r, "create", "cli-g", "--dtype", "u1", "--shape", "2,3", "--max-len", "10",
            NULL);
    expect_success(&r, "create --max-len");
    harness_run_free(&r);
    sharr_t *conn = harness_connect(h);
    assert_int_equal(sharr_stat(conn, "cli-g", &info), 0);
    assert_int_equal(info.max_len, 10);
    assert_int_equal(info.shape[0], 2);
    run_cli(h, &r, "grow", "cli-g", "10", NULL);
    expect_success(&r, "grow to max_len");
    harness_run_free(&r);
    run_cli(h, &r, "grow", "cli-g", "11", NULL);
    expect_failure(&r, 1, "grow past max_len");
    assert_non_null(strstr(r.err, "EFBIG"));
    harness_run_free(&r);
    assert_int_equal(sharr_stat(conn, "cli-g", &info), 0);
    assert_int_equal(info.shape[0], 10);

    snprintf(raw, sizeof(raw), "%s/raw.bin", h->dir);
    f = fopen(raw, "wb");
    assert_non_null(f);
    assert_int_equal(fwrite("abcd", 1, 4, f), 4);
    assert_int_equal(fclose(f), 0);
    run_cli(h, &r, "import", raw, "cli-i", "--dtype", "u1", "--shape", "4", "--max-len", "8",
            NULL);
    expect_success(&r, "import --max-len");
    harness_run_free(&r);
    assert_int_equal(sharr_stat(conn, "cli-i", &info), 0);
    assert_int_equal(info.max_len, 8);

    const char *bad[][10] = {
        { "create", "u", "--dtype", "f4", "--shape", "3", "--max-len", "x", NULL },
        { "create", "u", "--dtype", "f4", "--shape", "3", "--max-len", "-1", NULL },
        { "create", "u", "--dtype", "f4", "--shape", "3", "--max-len", "", NULL },
        { "import", raw, "u", "--move", "--max-len", "9", NULL },
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        const char *argv[12] = { harness_cli_path() };
        for (size_t j = 0; bad[i][j] != NULL; j++)
            argv[j + 1] = bad[i][j];
        harness_run(h, argv, &r);
        expect_failure(&r, 2, bad[i][0]);
        assert_non_null(strstr(r.err, "--max-len"));
        harness_run_free(&r);
    }
    assert_int_equal(harness_stats(conn).arrays, 2);
    sharr_disconnect(conn);
}

#define T(fn) cmocka_unit_test_setup_teardown(fn, harness_setup, harness_teardown)

int main(void)
{
    const struct CMUnitTest tests[] = {
        T(test_cli_manages_arrays),
        T(test_cli_error_prints_sharr_message_and_exits_1),
        T(test_cli_usage_error_exits_2),
        T(test_cli_create_and_import_take_max_len),
    };
    return testskip_exit(cmocka_run_group_tests(tests, NULL, NULL));
}
