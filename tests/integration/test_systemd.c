/* test_systemd.c — sharrd under a service manager, with this test standing in for
 * systemd: socket activation (systemd-socket-activate, and descriptors the test
 * passes itself), sd_notify to a datagram socket the test owns (READY=1 only once
 * the store is loaded, STATUS=, WATCHDOG=1, STOPPING=1), journald priority
 * prefixes, the configuration file and its reload on SIGHUP.
 */
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "harness.h"
#include "rawconn.h"
#include "testskip.h"

#define WAIT_MS 20000 /* bound on every wait: turns a hang into a failure */

/* A datagram socket bound in the test's directory: the NOTIFY_SOCKET. */
static int notify_socket(struct harness *h, char *path, size_t len)
{
    struct sockaddr_un a = { .sun_family = AF_UNIX };
    int fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);

    assert_true(fd >= 0);
    snprintf(path, len, "%s/notify.sock", h->dir);
    assert_true(strlen(path) < sizeof a.sun_path);
    memcpy(a.sun_path, path, strlen(path) + 1);
    assert_int_equal(bind(fd, (struct sockaddr *)&a, sizeof a), 0);
    return fd;
}

/* Receive datagrams until one contains want; its text goes to buf. Bounded. */
static void expect_notify(int fd, const char *want, char *buf, size_t len)
{
    for (int waited = 0; waited < WAIT_MS; waited += 100) {
        struct pollfd p = { .fd = fd, .events = POLLIN };
        if (poll(&p, 1, 100) <= 0)
            continue;
        ssize_t n = recv(fd, buf, len - 1, 0);
        assert_true(n >= 0);
        buf[n] = '\0';
        if (strstr(buf, want) != NULL)
            return;
    }
    print_error("no notification with %s arrived\n", want);
    fail();
}

/* Wait for pid to exit; its exit code, or 128 + signal. Bounded. */
static int wait_exit(pid_t pid)
{
    int status;
    for (int waited = 0; waited < WAIT_MS; waited += 5) {
        if (waitpid(pid, &status, WNOHANG) == pid)
            return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
        usleep(5000);
    }
    kill(pid, SIGKILL);
    waitpid(pid, &status, 0);
    print_error("process %d did not exit\n", (int)pid);
    fail();
    return -1;
}

static int stop_daemon(pid_t pid)
{
    assert_int_equal(kill(pid, SIGTERM), 0);
    return wait_exit(pid);
}

/* Connect to path, retrying while the daemon starts; NULL after the bound. */
static sharr_t *connect_retry(const char *path)
{
    for (int waited = 0; waited < WAIT_MS; waited += 5) {
        sharr_t *c = NULL;
        if (sharr_connect(path, &c) == 0)
            return c;
        usleep(5000);
    }
    return NULL;
}

static char *read_file(const char *path)
{
    static char buf[65536];
    return harness_read_text(path, buf, sizeof buf);
}

/* Poll the log file until it contains want. Bounded; 1 if found. */
static int log_has(const char *log, const char *want)
{
    for (int waited = 0; waited < WAIT_MS; waited += 5) {
        if (strstr(read_file(log), want) != NULL)
            return 1;
        usleep(5000);
    }
    print_error("%s never contained \"%s\"; it holds:\n%s\n", log, want, read_file(log));
    return 0;
}

/* A new client is turned away: the daemon answers EMFILE (msgid 0) and closes. Read
 * raw, because a library connect may meet the close before its hello is sent. */
static void expect_refused(const struct harness *h)
{
    struct rawconn rc;
    rawconn_open(&rc, h->sock, 4096);
    rawconn_expect_reply(&rc, 0, "EMFILE", NULL);
    assert_int_equal(rawconn_expect_closed(&rc), 0);
    rawconn_close(&rc);
}

static void write_file(const char *path, const char *text)
{
    FILE *f = fopen(path, "we");
    assert_non_null(f);
    fputs(text, f);
    assert_int_equal(fclose(f), 0);
}

/* Fork and exec argv with stdout and stderr to h->log. Before exec the child moves
 * the descriptors fds[0..nfds) to 3.. and sets LISTEN_PID/LISTEN_FDS for itself
 * (nfds > 0), and puts env ("NAME=value", NULL-terminated, may be NULL). */
static pid_t spawn(struct harness *h, const char *const argv[], const int *fds, int nfds,
                   const char *const *env)
{
    fflush(NULL);
    pid_t parent = getpid();
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid != 0)
        return pid;
    harness_daemon_child_prepare(h, parent);
    /* Move the passed descriptors above the target range first, then into place. */
    int tmp[8];
    for (int i = 0; i < nfds; i++)
        tmp[i] = fcntl(fds[i], F_DUPFD, 100);
    for (int i = 0; i < nfds; i++) {
        if (tmp[i] < 0 || dup2(tmp[i], 3 + i) < 0)
            _exit(126);
        close(tmp[i]);
    }
    if (nfds > 0) {
        char pidbuf[16], nbuf[16];
        snprintf(pidbuf, sizeof pidbuf, "%d", (int)getpid());
        snprintf(nbuf, sizeof nbuf, "%d", nfds);
        setenv("LISTEN_PID", pidbuf, 1);
        setenv("LISTEN_FDS", nbuf, 1);
    }
    for (int i = 0; env != NULL && env[i] != NULL; i++)
        putenv((char *)env[i]);
    execv(argv[0], (char *const *)argv);
    _exit(127);
}

static int unix_listener(const char *path)
{
    struct sockaddr_un a = { .sun_family = AF_UNIX };
    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    assert_true(fd >= 0);
    assert_true(strlen(path) < sizeof a.sun_path);
    memcpy(a.sun_path, path, strlen(path) + 1);
    unlink(path);
    assert_int_equal(bind(fd, (struct sockaddr *)&a, sizeof a), 0);
    assert_int_equal(listen(fd, 16), 0);
    return fd;
}

/* Under systemd-socket-activate: the first client starts sharrd; READY=1 comes
 * with a status that counts the persistent array already in the store (so the
 * store was loaded first), WATCHDOG=1 pings follow, SIGTERM sends STOPPING=1. */
static void test_activation_notifies_ready_after_load_then_watchdog_and_stopping(void **state)
{
    struct harness *h = *state;
    char npath[256], msg[512], env_notify[300];
    const char *activate = "/usr/bin/systemd-socket-activate";

    if (access(activate, X_OK) != 0)
        fail_msg("%s is missing: scripts/deps.sh installs systemd", activate);
    sharr_t *c = harness_connect(h);
    sharr_array_t *a = NULL;
    uint64_t shape[1] = { 1000 };
    struct sharr_create_opts o = { .size = sizeof(o), .persist = 1 };
    assert_rc(sharr_create(c, "kept", "<f8", 1, shape, &o, &a), 0);
    ((double *)sharr_array_data(a))[999] = 42.5;
    assert_rc(sharr_sync(a), 0);
    assert_rc(sharr_close(a), 0);
    sharr_disconnect(c);
    assert_int_equal(harness_daemon_stop(h), 0);

    int nfd = notify_socket(h, npath, sizeof npath);
    snprintf(env_notify, sizeof env_notify, "NOTIFY_SOCKET=%s", npath);
    const char *argv[] = { activate, "-l", h->sock, "-E", env_notify,
                           "-E", "WATCHDOG_USEC=200000", harness_sharrd_path(),
                           "--store", h->store, "--config", "", NULL };
    pid_t pid = spawn(h, argv, NULL, 0, NULL);
    c = connect_retry(h->sock);
    assert_non_null(c);
    expect_notify(nfd, "READY=1", msg, sizeof msg);
    assert_non_null(strstr(msg, "STATUS=1 arrays (0 volatile, 1 persistent)"));
    expect_notify(nfd, "WATCHDOG=1", msg, sizeof msg);
    assert_rc(sharr_open(c, "kept", "r", NULL, &a), 0);
    assert_true(((const double *)sharr_array_data(a))[999] == 42.5);
    assert_rc(sharr_close(a), 0);
    sharr_disconnect(c);
    assert_int_equal(kill(pid, SIGTERM), 0);
    expect_notify(nfd, "STOPPING=1", msg, sizeof msg);
    assert_int_equal(wait_exit(pid), 0);
    assert_true(log_has(h->log, "listening on "));
    assert_non_null(strstr(read_file(h->log), h->sock));
    close(nfd);
}

/* Descriptors passed by the test: a memfd named in LISTEN_FDNAMES (as the fd store
 * passes them) before the listening socket is tolerated; a socket that is not a
 * listening Unix stream socket makes sharrd refuse to start. */
static void test_activation_takes_the_listening_socket_among_other_fds(void **state)
{
    struct harness *h = *state;
    assert_int_equal(harness_daemon_stop(h), 0);
    int mfd = memfd_create("not-a-socket", MFD_CLOEXEC);
    assert_true(mfd >= 0);
    int lfd = unix_listener(h->sock);
    int fds[2] = { mfd, lfd };
    const char *argv[] = { harness_sharrd_path(), "--store", h->store, "--config", "", NULL };
    const char *env[] = { "LISTEN_FDNAMES=stored:sharr.socket", NULL };
    pid_t pid = spawn(h, argv, fds, 2, env);
    close(mfd);
    close(lfd);
    sharr_t *c = connect_retry(h->sock);
    if (c == NULL)
        print_error("no connection; the log holds:\n%s\n", read_file(h->log));
    assert_non_null(c);
    sharr_array_t *a = NULL;
    uint64_t shape[2] = { 4, 4 };
    assert_rc(sharr_create(c, "served", "<i4", 2, shape, NULL, &a), 0);
    assert_rc(sharr_close(a), 0);
    sharr_disconnect(c);
    assert_int_equal(stop_daemon(pid), 0);
}

static void refuse_socket(struct harness *h, int fd, const char *why)
{
    const char *argv[] = { harness_sharrd_path(), "--store", h->store, "--config", "", NULL };
    truncate(h->log, 0);
    pid_t pid = spawn(h, argv, &fd, 1, NULL);
    close(fd);
    if (wait_exit(pid) != 1)
        print_error("sharrd accepted %s\n", why);
    assert_true(log_has(h->log, "not a listening Unix stream socket"));
}

static void test_activation_refuses_sockets_that_cannot_serve(void **state)
{
    struct harness *h = *state;
    assert_int_equal(harness_daemon_stop(h), 0);

    int pair[2];
    assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, pair), 0);
    close(pair[1]);
    refuse_socket(h, pair[0], "a connected socket");

    int dg = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    assert_true(dg >= 0);
    refuse_socket(h, dg, "a datagram socket");

    int tcp = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    struct sockaddr_in in = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
    if (tcp >= 0 && bind(tcp, (struct sockaddr *)&in, sizeof in) == 0 && listen(tcp, 4) == 0)
        refuse_socket(h, tcp, "a TCP socket");
    else if (tcp >= 0)
        close(tcp);

    /* Nothing was served or broken: a normal start on the same store works. */
    harness_daemon_start(h);
}

/* With $JOURNAL_STREAM naming its stderr, every line carries a priority prefix. */
static void test_log_uses_journal_priorities_when_stderr_is_the_journal(void **state)
{
    struct harness *h = *state;
    assert_int_equal(harness_daemon_stop(h), 0);
    truncate(h->log, 0);
    int fd = open(h->log, O_WRONLY | O_CREAT | O_CLOEXEC, 0600);
    struct stat st;
    assert_int_equal(fstat(fd, &st), 0);
    close(fd);
    char env[64];
    snprintf(env, sizeof env, "JOURNAL_STREAM=%llu:%llu", (unsigned long long)st.st_dev,
             (unsigned long long)st.st_ino);
    const char *envs[] = { env, NULL };
    const char *argv[] = { harness_sharrd_path(), "--socket", h->sock, "--store", h->store,
                           "--config", "", "--log-level", "debug", NULL };
    pid_t pid = spawn(h, argv, NULL, 0, envs);
    sharr_t *c = connect_retry(h->sock);
    assert_non_null(c);
    sharr_disconnect(c);
    assert_int_equal(stop_daemon(pid), 0);
    const char *log = read_file(h->log);
    assert_non_null(strstr(log, "<6>listening on"));
    assert_non_null(strstr(log, "<7>connection 1 opened"));
    assert_null(strstr(log, "sharrd: info:"));
}

/* The configuration file sets the limits; SIGHUP re-reads it: a lower connection
 * limit turns new clients away while the connected ones keep working, and a broken
 * file changes nothing. A broken file at start is an error naming its line. */
static void test_config_file_and_reload_on_sighup(void **state)
{
    struct harness *h = *state;
    char conf[256], confarg[300];
    assert_int_equal(harness_daemon_stop(h), 0);
    snprintf(conf, sizeof conf, "%s/sharrd.conf", h->dir);
    snprintf(confarg, sizeof confarg, "--config=%s", conf);

    write_file(conf, "# test\nmax-connections = 1\nbogus-flag = 3\n");
    const char *argv[] = { harness_sharrd_path(), "--socket", h->sock, "--store", h->store,
                           confarg, NULL };
    truncate(h->log, 0);
    assert_int_equal(wait_exit(spawn(h, argv, NULL, 0, NULL)), 2);
    assert_true(log_has(h->log, "sharrd.conf:3: unknown or incomplete option '--bogus-flag=3'"));

    write_file(conf, "  # limits\n\nmax-connections = 3\nlog-level = \"info\"\n");
    pid_t pid = spawn(h, argv, NULL, 0, NULL);
    sharr_t *c1 = connect_retry(h->sock);
    assert_non_null(c1);
    sharr_t *c2 = harness_connect(h);
    sharr_array_t *a = NULL;
    uint64_t shape[1] = { 64 };
    assert_rc(sharr_create(c1, "held", "|u1", 1, shape, NULL, &a), 0);
    memset(sharr_array_data(a), 7, 64);

    write_file(conf, "max-connections = 2\nlog-level = debug\n");
    assert_int_equal(kill(pid, SIGHUP), 0);
    assert_true(log_has(h->log, "reloaded: log level debug, at most 2 connections"));
    expect_refused(h);
    /* The clients connected before the reload are served as before. */
    struct sharr_info in;
    assert_rc(sharr_stat(c2, "held", &in), 0);
    assert_int_equal(in.nattached, 1);
    sharr_array_t *b = NULL;
    assert_rc(sharr_open(c2, "held", "r", NULL, &b), 0);
    assert_int_equal(((const unsigned char *)sharr_array_data(b))[63], 7);
    assert_rc(sharr_close(b), 0);

    write_file(conf, "max-connections = 0\n");
    assert_int_equal(kill(pid, SIGHUP), 0);
    assert_true(log_has(h->log, "reload failed, the configuration is unchanged"));
    expect_refused(h);
    assert_rc(sharr_stat(c1, "held", &in), 0);

    assert_rc(sharr_close(a), 0);
    sharr_disconnect(c1);
    sharr_disconnect(c2);
    assert_int_equal(stop_daemon(pid), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(
            test_activation_notifies_ready_after_load_then_watchdog_and_stopping,
            harness_setup, harness_teardown),
        cmocka_unit_test_setup_teardown(test_activation_takes_the_listening_socket_among_other_fds,
                                        harness_setup, harness_teardown),
        cmocka_unit_test_setup_teardown(test_activation_refuses_sockets_that_cannot_serve,
                                        harness_setup, harness_teardown),
        cmocka_unit_test_setup_teardown(
            test_log_uses_journal_priorities_when_stderr_is_the_journal, harness_setup,
            harness_teardown),
        cmocka_unit_test_setup_teardown(test_config_file_and_reload_on_sighup, harness_setup,
                                        harness_teardown),
    };
    return testskip_exit(cmocka_run_group_tests(tests, NULL, NULL));
}
