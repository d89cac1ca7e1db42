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

/* A symbolic link another uid made, or one in a directory others may change, on
 * the way to link: make it, as uid, pointing to target. */
static void make_link(const char *target, const char *link, uid_t uid)
{
    assert_int_equal(symlink(target, link), 0);
    assert_int_equal(lchown(link, uid, uid), 0);
}

static void assert_exists(const char *path)
{
    struct stat st;
    if (lstat(path, &st) < 0)
        print_error("%s is gone\n", path);
    assert_int_equal(lstat(path, &st), 0);
}

/* A store reached through a symbolic link that another uid could change (its own
 * link in a sticky directory, any link in a directory others may write, a link in
 * a trusted directory that leads through such a one) is refused as a store inside
 * such a directory is: the link could send sharrd into any directory of its uid,
 * whose .npy files without a record recovery would remove. The directory it leads
 * to is left alone (sharrd creates nothing in it); a link of root's in root's
 * directories still leads to the store. */
static void test_store_reached_through_a_link_another_uid_controls_is_refused(void **state)
{
    struct harness *h = *state;
    char target[256], victim[300], open_dir[256], sticky[256], trusted[256], store[300],
        via[300];
    assert_int_equal(harness_daemon_stop(h), 0);
    snprintf(target, sizeof target, "%s/roots", h->dir);
    make_dir(target, 0700, 0);
    snprintf(victim, sizeof victim, "%s/thesis.npy", target);
    int fd = open(victim, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
    assert_true(fd >= 0);
    close(fd);

    /* Their link in a directory anyone may write (not sticky). */
    snprintf(open_dir, sizeof open_dir, "%s/open", h->dir);
    make_dir(open_dir, 0777, 0);
    snprintf(store, sizeof store, "%s/store", open_dir);
    make_link(target, store, OTHER_UID);
    assert_true(refused(h, store));
    assert_log_has(h, "is writable by its group or others and not sticky");
    assert_exists(victim);

    /* Nor does sharrd create the directories of a store path through their link. */
    char made[300];
    snprintf(store, sizeof store, "%s/store/new/er", open_dir);
    assert_true(refused(h, store));
    assert_log_has(h, "is writable by its group or others and not sticky");
    snprintf(made, sizeof made, "%s/new", target);
    struct stat sb;
    assert_int_equal(lstat(made, &sb), -1);

    /* Their link in a sticky directory (as /tmp): they may replace it at will. */
    snprintf(sticky, sizeof sticky, "%s/sticky", h->dir);
    make_dir(sticky, 01777, 0);
    snprintf(store, sizeof store, "%s/store", sticky);
    make_link(target, store, OTHER_UID);
    assert_true(refused(h, store));
    assert_log_has(h, "belongs to uid 61001");
    assert_exists(victim);

    /* Root's link in root's directory, leading through a link in the open one. */
    snprintf(trusted, sizeof trusted, "%s/trusted", h->dir);
    make_dir(trusted, 0755, 0);
    snprintf(via, sizeof via, "%s/via", open_dir);
    make_link(target, via, 0);
    snprintf(store, sizeof store, "%s/store", trusted);
    make_link(via, store, 0);
    assert_true(refused(h, store));
    assert_log_has(h, "is writable by its group or others and not sticky");
    assert_exists(victim);

    /* Root's links in root's directories lead to the store as ever. */
    char real[256], link[300];
    snprintf(real, sizeof real, "%s/real", h->dir);
    make_dir(real, 0700, 0);
    snprintf(link, sizeof link, "%s/linked", trusted);
    make_link("../real", link, 0);
    assert_false(refused(h, link));
    assert_log_has(h, real);
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
        cmocka_unit_test_setup_teardown(
            test_store_reached_through_a_link_another_uid_controls_is_refused, harness_setup,
            harness_teardown),
        cmocka_unit_test_setup_teardown(test_directories_sharrd_creates_are_private,
                                        harness_setup, harness_teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
