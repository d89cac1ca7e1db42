/* test_security_store.c — the store directory must be the daemon's alone: sharrd
 * refuses to start on a store owned by another uid, writable by its group or by
 * others, or inside a directory (or behind a symbolic link) another uid could swap it
 * in, makes the directories it creates private, and a user's own sharrd with nothing
 * configured still keeps its store in its home (STORE.md, SECURITY.md).
 *
 * The test runs as root, as does sharrd; "another uid" is an unprivileged one.
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "asuser.h"
#include "harness.h"
#include "testskip.h"

#define OTHER_UID 61001u

/* Start sharrd on store; 1 if it exited (refused) with its output in h->log, 0 if
 * it came up (it is then stopped again). */
static int refused(struct harness *h, const char *store)
{
    const char *argv[HARNESS_ARGS_MAX];
    int status = 0;
    assert_int_equal(truncate(h->log, 0), 0);
    harness_daemon_argv(h, harness_sharrd_path(), store, NULL, argv);
    pid_t pid = harness_daemon_spawn(h, argv, NULL, NULL);
    int r = harness_daemon_await(h->sock, pid, &status);
    if (r == 1) {
        assert_true(WIFEXITED(status) && WEXITSTATUS(status) != 0);
        return 1;
    }
    kill(pid, r == 0 ? SIGTERM : SIGKILL);
    waitpid(pid, NULL, 0);
    if (r < 0)
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

/* The store dir/store, a link of uid's to target, is refused for why, and victim (a
 * file of target's) stays. */
static void assert_link_refused(struct harness *h, const char *target, const char *dir,
                                uid_t uid, const char *why, const char *victim)
{
    char store[300];
    snprintf(store, sizeof store, "%s/store", dir);
    make_link(target, store, uid);
    assert_true(refused(h, store));
    assert_log_has(h, why);
    assert_exists(victim);
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
    assert_link_refused(h, target, open_dir, OTHER_UID,
                        "is writable by its group or others and not sticky", victim);

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
    assert_link_refused(h, target, sticky, OTHER_UID, "belongs to uid 61001", victim);

    /* Root's link in root's directory, leading through a link in the open one. */
    snprintf(trusted, sizeof trusted, "%s/trusted", h->dir);
    make_dir(trusted, 0755, 0);
    snprintf(via, sizeof via, "%s/via", open_dir);
    make_link(target, via, 0);
    assert_link_refused(h, via, trusted, 0, "is writable by its group or others and not sticky",
                        victim);

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

/* Who a first run is and where its home is (become_user, in the daemon's child). */
struct first_run {
    uint32_t uid;
    const char *home;
};

/* Start sharrd as uid with HOME=home, no --store, no config and no $SHARR_STORE or
 * $XDG_DATA_HOME (a user's first run, as scripts/start.sh does), serving sock; its
 * pid once it answers (fails the test if it exits). */
static void become_user(void *arg)
{
    const struct first_run *fr = arg;
    if (asuser_become(fr->uid, fr->uid) != 0)
        _exit(120);
    setenv("HOME", fr->home, 1);
    unsetenv("XDG_DATA_HOME");
    unsetenv("SHARR_STORE");
}

static pid_t start_as_user(struct harness *h, uint32_t uid, const char *home, const char *sock)
{
    const struct first_run fr = { uid, home };
    const char *const argv[] = { harness_sharrd_path(), "--socket", sock, "--config", "", NULL };
    int status = 0;
    pid_t pid = harness_daemon_spawn(h, argv, become_user, (void *)&fr);
    int r = harness_daemon_await(sock, pid, &status);
    if (r == 1) {
        assert_log_has(h, "listening on");
        fail_msg("sharrd as uid %u exited", (unsigned)uid);
    }
    if (r < 0) {
        kill(pid, SIGKILL);
        waitpid(pid, NULL, 0);
        fail_msg("sharrd as uid %u did not answer", (unsigned)uid);
    }
    return pid;
}

static void stop_pid(pid_t pid)
{
    int status;
    assert_int_equal(kill(pid, SIGTERM), 0);
    assert_int_equal(waitpid(pid, &status, 0), pid);
    assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
}

/* As the user: create (make) or find (!make) the persistent array "mine". */
struct mine {
    const char *sock;
    int make;
};

static int child_mine(void *arg)
{
    const struct mine *m = arg;
    const uint64_t shape[1] = { 8 };
    struct sharr_create_opts o = { .size = sizeof(o), .persist = 1 };
    struct sharr_info in;
    sharr_array_t *a = NULL;
    sharr_t *c = NULL;
    CHILD_CHECK(sharr_connect(m->sock, &c) == 0);
    if (m->make) {
        CHILD_CHECK(sharr_create(c, "mine", "<u8", 1, shape, &o, &a) == 0);
        CHILD_CHECK(sharr_close(a) == 0);
    }
    CHILD_CHECK(sharr_stat(c, "mine", &in) == 0 && in.persist && in.uid == OTHER_UID);
    sharr_disconnect(c);
    return 0;
}

/* A user's own sharrd with nothing configured keeps its store in its home
 * (~/.local/share/sharr), made 0700 on the way, and keeps its arrays across a
 * restart: also when the home is reached through a link of the user's own. */
static void test_default_store_of_an_unprivileged_user_just_works(void **state)
{
    struct harness *h = *state;
    char home[256], link[256], sock[300], store[300];
    struct stat st;
    asuser_open_dir(h);
    snprintf(home, sizeof home, "%s/home", h->dir);
    make_dir(home, 0755, OTHER_UID);
    snprintf(link, sizeof link, "%s/homelink", h->dir);
    make_link(home, link, OTHER_UID);
    snprintf(sock, sizeof sock, "%s/s.sock", home);
    struct mine make = { sock, 1 }, find = { sock, 0 };

    pid_t pid = start_as_user(h, OTHER_UID, home, sock);
    assert_int_equal(asuser_run(h, OTHER_UID, OTHER_UID, child_mine, &make), 0);
    stop_pid(pid);
    snprintf(store, sizeof store, "%s/.local/share/sharr", home);
    assert_int_equal(lstat(store, &st), 0);
    assert_int_equal(st.st_mode & 07777, 0700);
    assert_int_equal(st.st_uid, OTHER_UID);
    pid = start_as_user(h, OTHER_UID, link, sock);
    assert_int_equal(asuser_run(h, OTHER_UID, OTHER_UID, child_mine, &find), 0);
    stop_pid(pid);
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
        cmocka_unit_test_setup_teardown(test_default_store_of_an_unprivileged_user_just_works,
                                        harness_setup, harness_teardown),
        cmocka_unit_test_setup_teardown(test_directories_sharrd_creates_are_private,
                                        harness_setup, harness_teardown),
    };
    return testskip_exit(cmocka_run_group_tests(tests, NULL, NULL));
}
