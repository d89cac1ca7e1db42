/* test_security_store.c — the store directory must be the daemon's alone: sharrd
 * refuses to start on a store owned by another uid, writable by its group or by
 * others, or inside a directory another uid could swap it in, and makes the
 * directories it creates private (STORE.md, SECURITY.md).
 *
 * The test runs as root, as does sharrd; "another uid" is an unprivileged one.
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "harness.h"
#include "testskip.h"

#define OTHER_UID 61001u
#define STEPS 4000 /* of 5 ms: 20 s, only to turn a hang into a failure */

/* Start sharrd on store; 1 if it exited (refused) with its output in h->log, 0 if
 * it came up (it is then stopped again). */
static int refused(struct harness *h, const char *store)
{
    assert_int_equal(truncate(h->log, 0), 0);
    pid_t parent = getpid();
    fflush(NULL);
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        harness_daemon_child_prepare(h, parent);
        const char *path = harness_sharrd_path();
        execl(path, path, "--socket", h->sock, "--store", store, "--config", "", (char *)NULL);
        _exit(127);
    }
    for (int i = 0; i < STEPS; i++) {
        int status;
        if (waitpid(pid, &status, WNOHANG) == pid) {
            assert_true(WIFEXITED(status) && WEXITSTATUS(status) != 0);
            return 1;
        }
        sharr_t *c = NULL;
        if (sharr_connect(h->sock, &c) == 0) {
            sharr_disconnect(c);
            kill(pid, SIGTERM);
            waitpid(pid, &status, 0);
            return 0;
        }
        struct timespec ts = { 0, 5 * 1000 * 1000L };
        nanosleep(&ts, NULL);
    }
    kill(pid, SIGKILL);
    waitpid(pid, NULL, 0);
    fail_msg("sharrd neither came up nor exited");
    return 0;
}

static void assert_log_has(const struct harness *h, const char *what)
{
    char buf[8192];
    FILE *f = fopen(h->log, "re");
    assert_non_null(f);
    size_t n = fread(buf, 1, sizeof buf - 1, f);
    fclose(f);
    buf[n] = '\0';
    if (!strstr(buf, what))
        print_error("sharrd said \"%s\"; want \"%s\" in it\n", buf, what);
    assert_non_null(strstr(buf, what));
}

static void make_dir(const char *path, mode_t mode, uid_t uid)
{
    assert_int_equal(mkdir(path, 0700), 0);
    assert_int_equal(chown(path, uid, uid), 0);
    assert_int_equal(chmod(path, mode), 0);
}

static void test_store_of_another_uid_is_refused(void **state)
{
    struct harness *h = *state;
    char store[256];
    assert_int_equal(harness_daemon_stop(h), 0);
    snprintf(store, sizeof store, "%s/theirs", h->dir);
    make_dir(store, 0700, OTHER_UID);
    assert_true(refused(h, store));
    assert_log_has(h, "belongs to uid 61001");
    /* The harness's own store is still fine. */
    harness_daemon_start(h);
}

static void test_store_writable_by_group_or_others_is_refused(void **state)
{
    struct harness *h = *state;
    const mode_t modes[] = { 0770, 0730, 0703, 01777, 0707 };
    assert_int_equal(harness_daemon_stop(h), 0);
    for (size_t i = 0; i < sizeof modes / sizeof modes[0]; i++) {
        char store[256];
        snprintf(store, sizeof store, "%s/open%zu", h->dir, i);
        make_dir(store, modes[i], 0);
        assert_true(refused(h, store));
        assert_log_has(h, "is writable by");
    }
    harness_daemon_start(h);
}

static void test_store_inside_a_directory_of_another_uid_is_refused(void **state)
{
    struct harness *h = *state;
    char parent[256], store[300];
    assert_int_equal(harness_daemon_stop(h), 0);
    snprintf(parent, sizeof parent, "%s/home", h->dir);
    make_dir(parent, 0755, OTHER_UID);
    /* They could rename the directory away and put their own in its place. */
    snprintf(store, sizeof store, "%s/store", parent);
    make_dir(store, 0700, 0);
    assert_true(refused(h, store));
    assert_log_has(h, "belongs to uid 61001");
    /* Also when sharrd would create the store there. */
    snprintf(store, sizeof store, "%s/new", parent);
    assert_true(refused(h, store));
    assert_log_has(h, "belongs to uid 61001");
    /* A directory of others with the sticky bit (as /tmp) lets nobody move ours. */
    snprintf(parent, sizeof parent, "%s/shared", h->dir);
    make_dir(parent, 01777, 0);
    snprintf(store, sizeof store, "%s/store", parent);
    assert_false(refused(h, store));
    harness_daemon_start(h);
}

static void test_directories_sharrd_creates_are_private(void **state)
{
    struct harness *h = *state;
    char store[256], part[256];
    struct stat st;
    assert_int_equal(harness_daemon_stop(h), 0);
    snprintf(store, sizeof store, "%s/a/b/store", h->dir);
    assert_false(refused(h, store));
    const char *parts[] = { "a", "a/b", "a/b/store" };
    for (size_t i = 0; i < 3; i++) {
        snprintf(part, sizeof part, "%s/%s", h->dir, parts[i]);
        assert_int_equal(lstat(part, &st), 0);
        assert_int_equal(st.st_mode & 07777, 0700);
        assert_int_equal(st.st_uid, geteuid());
    }
    harness_daemon_start(h);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_store_of_another_uid_is_refused, harness_setup,
                                        harness_teardown),
        cmocka_unit_test_setup_teardown(test_store_writable_by_group_or_others_is_refused,
                                        harness_setup, harness_teardown),
        cmocka_unit_test_setup_teardown(test_store_inside_a_directory_of_another_uid_is_refused,
                                        harness_setup, harness_teardown),
        cmocka_unit_test_setup_teardown(test_directories_sharrd_creates_are_private,
                                        harness_setup, harness_teardown),
    };
    return testskip_exit(cmocka_run_group_tests(tests, NULL, NULL));
}
