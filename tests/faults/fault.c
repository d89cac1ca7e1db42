/* fault.c — sharrd under faults: fault points, SIGKILL, a stand-in for systemd's fd
 * store, and what the daemon holds (descriptors, memory, store files).
 *
 * Waiting is bounded polling, as in harness.c; the bounds only turn a hang into a
 * failure and never decide a pass.
 */
#include "fault.h"

#include "launch.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define FAULT_POLL_NS (5 * 1000 * 1000L)
#define FAULT_POLL_STEPS 4000 /* 20 s */

static void fault_pause(void)
{
    struct timespec ts = { 0, FAULT_POLL_NS };
    nanosleep(&ts, NULL);
}

double fault_scale(void)
{
    const char *s = getenv("SHARR_FAULTS_SCALE");
    double v = s ? atof(s) : 1.0;
    return v > 0 ? v : 1.0;
}

/* Handle one datagram; called with the lock held. */
static void fault_fdstore_handle(struct fault_fdstore *s, const char *text, const int *fds,
                                 size_t nfds)
{
    const char *fdname = strstr(text, "FDNAME=");
    char name[64] = "";
    size_t len;

    if (fdname) {
        fdname += 7;
        len = strcspn(fdname, "\n");
        if (len < sizeof(name)) {
            memcpy(name, fdname, len);
            name[len] = '\0';
        }
    }
    if (strstr(text, "FDSTOREREMOVE=1")) {
        for (size_t i = 0; i < s->n;) {
            if (strcmp(s->names[i], name) == 0) {
                close(s->fds[i]);
                s->fds[i] = s->fds[s->n - 1];
                memcpy(s->names[i], s->names[s->n - 1], sizeof(s->names[i]));
                s->n--;
            } else {
                i++;
            }
        }
    }
    for (size_t i = 0; i < nfds; i++) {
        if (strstr(text, "FDSTORE=1") && s->n < FAULT_STORE_MAX) {
            s->fds[s->n] = fds[i];
            snprintf(s->names[s->n], sizeof(s->names[s->n]), "%s", name[0] ? name : "stored");
            s->n++;
        } else {
            close(fds[i]);
        }
    }
}

/* Read what is queued now; returns 1 if a datagram was read. Lock held. */
static int fault_fdstore_read(struct fault_fdstore *s)
{
    union {
        struct cmsghdr align;
        char buf[CMSG_SPACE(sizeof(int) * 253)];
    } ctl;
    char text[1024];
    struct iovec iov = { text, sizeof(text) - 1 };
    struct msghdr msg = { .msg_iov = &iov, .msg_iovlen = 1, .msg_control = ctl.buf,
                          .msg_controllen = sizeof(ctl.buf) };
    int fds[253];
    size_t nfds = 0;
    ssize_t n = recvmsg(s->sock, &msg, MSG_DONTWAIT | MSG_CMSG_CLOEXEC);

    if (n < 0)
        return 0;
    text[n] = '\0';
    for (struct cmsghdr *c = CMSG_FIRSTHDR(&msg); c; c = CMSG_NXTHDR(&msg, c)) {
        if (c->cmsg_level != SOL_SOCKET || c->cmsg_type != SCM_RIGHTS)
            continue;
        size_t k = (c->cmsg_len - CMSG_LEN(0)) / sizeof(int);
        memcpy(fds + nfds, CMSG_DATA(c), k * sizeof(int));
        nfds += k;
    }
    fault_fdstore_handle(s, text, fds, nfds);
    return 1;
}

static void *fault_fdstore_thread(void *arg)
{
    struct fault_fdstore *s = arg;

    for (;;) {
        struct pollfd p = { s->sock, POLLIN, 0 };
        poll(&p, 1, 20);
        pthread_mutex_lock(&s->lock);
        int stop = s->stop;
        while (fault_fdstore_read(s))
            ;
        pthread_mutex_unlock(&s->lock);
        if (stop)
            return NULL;
    }
}

void fault_fdstore_init(struct fault_fdstore *s, const struct harness *h)
{
    struct sockaddr_un sa = { .sun_family = AF_UNIX };
    int one = 1;

    memset(s, 0, sizeof(*s));
    snprintf(s->path, sizeof(s->path), "%s/notify.sock", h->dir);
    assert_true(strlen(s->path) < sizeof(sa.sun_path));
    memcpy(sa.sun_path, s->path, strlen(s->path) + 1);
    s->sock = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    assert_true(s->sock >= 0);
    assert_int_equal(bind(s->sock, (struct sockaddr *)&sa, sizeof(sa)), 0);
    setsockopt(s->sock, SOL_SOCKET, SO_PASSCRED, &one, sizeof(one));
    pthread_mutex_init(&s->lock, NULL);
    assert_int_equal(pthread_create(&s->thread, NULL, fault_fdstore_thread, s), 0);
}

size_t fault_fdstore_drain(struct fault_fdstore *s)
{
    size_t n;

    pthread_mutex_lock(&s->lock);
    while (fault_fdstore_read(s))
        ;
    n = s->n;
    pthread_mutex_unlock(&s->lock);
    return n;
}

void fault_fdstore_close(struct fault_fdstore *s)
{
    pthread_mutex_lock(&s->lock);
    s->stop = 1;
    pthread_mutex_unlock(&s->lock);
    pthread_join(s->thread, NULL);
    for (size_t i = 0; i < s->n; i++)
        close(s->fds[i]);
    s->n = 0;
    close(s->sock);
    unlink(s->path);
    pthread_mutex_destroy(&s->lock);
}

/* What the daemon's child sets up before exec: its fault point, and the descriptors
 * of the fd store as systemd passes them ($LISTEN_FDS from 3, $NOTIFY_SOCKET). */
struct fault_child {
    const char *point;
    const struct fault_fdstore *s;
    size_t n;
    const int *fds;
    const char *names;
};

static void fault_child_prepare(void *arg)
{
    const struct fault_child *fc = arg;
    size_t n = fc->n;
    char num[32];
    if (fc->point)
        setenv("SHARR_FAULT_POINT", fc->point, 1);
    if (fc->s) {
        int tmp[FAULT_STORE_MAX];
        setenv("NOTIFY_SOCKET", fc->s->path, 1);
        for (size_t i = 0; i < n; i++)
            if ((tmp[i] = fcntl(fc->fds[i], F_DUPFD_CLOEXEC, 3 + (int)n + 16)) < 0)
                _exit(124);
        for (size_t i = 0; i < n; i++)
            if (dup2(tmp[i], 3 + (int)i) < 0)
                _exit(124);
        if (n > 0) {
            snprintf(num, sizeof(num), "%zu", n);
            setenv("LISTEN_FDS", num, 1);
            setenv("LISTEN_FDNAMES", fc->names, 1);
            snprintf(num, sizeof(num), "%d", (int)getpid());
            setenv("LISTEN_PID", num, 1);
        }
    }
    /* Nothing else of the test's reaches the daemon, as under systemd, so its
     * descriptor counts compare across restarts. */
    close_range(3 + (unsigned)n, ~0u, 0);
}

/* Start the program sharrd as fault_daemon_start does; returns 0 once it answers, or
 * 1 if it died of SIGKILL (its fault point) before (only when may_die). */
static int fault_daemon_launch(struct harness *h, const char *sharrd, const char *point,
                               struct fault_fdstore *s, int may_die)
{
    char names[FAULT_STORE_MAX * 65] = "";
    int fds[FAULT_STORE_MAX];
    size_t n = 0;
    const char *argv[HARNESS_ARGS_MAX];

    assert_int_equal(h->daemon, 0);
    if (s) {
        fault_fdstore_drain(s);
        pthread_mutex_lock(&s->lock);
        n = s->n;
        memcpy(fds, s->fds, n * sizeof(int));
        for (size_t i = 0; i < n; i++) {
            strcat(names, i ? ":" : "");
            strcat(names, s->names[i]);
        }
    }
    struct fault_child fc = { point, s, n, fds, names };
    harness_daemon_argv(h, sharrd, NULL, NULL, argv);
    pid_t pid = harness_daemon_spawn(h, argv, fault_child_prepare, &fc);
    if (s)
        pthread_mutex_unlock(&s->lock);
    if (!may_die) {
        harness_daemon_up(h, pid);
        return 0;
    }
    int status = 0;
    h->daemon = pid;
    int r = harness_daemon_await(h->sock, pid, &status);
    if (r == 1) {
        h->daemon = 0;
        if (WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL)
            return 1;
        print_error("sharrd exited during start (status 0x%x)\n", status);
        fail();
    }
    if (r < 0) {
        print_error("sharrd did not answer on %s\n", h->sock);
        fail();
    }
    return 0;
}

/* A fault point needs sharrd-test, the daemon built with its test hooks; without one
 * the tests run sharrd as installed. */
static const char *fault_sharrd(const char *point)
{
    return point ? FAULT_SHARRD_TEST : harness_sharrd_path();
}

void fault_daemon_start(struct harness *h, const char *point, struct fault_fdstore *s)
{
    fault_daemon_launch(h, fault_sharrd(point), point, s, 0);
}

void fault_daemon_start_program(struct harness *h, const char *sharrd, const char *point,
                                struct fault_fdstore *s)
{
    fault_daemon_launch(h, sharrd, point, s, 0);
}

int fault_daemon_start_or_die(struct harness *h, const char *point)
{
    return fault_daemon_launch(h, fault_sharrd(point), point, NULL, 1);
}

void fault_daemon_kill(struct harness *h)
{
    int status;

    assert_true(h->daemon > 0);
    assert_int_equal(kill(h->daemon, SIGKILL), 0);
    assert_int_equal(waitpid(h->daemon, &status, 0), h->daemon);
    h->daemon = 0;
}

int fault_daemon_reap(struct harness *h)
{
    int status;

    for (int i = 0; i < FAULT_POLL_STEPS; i++) {
        if (waitpid(h->daemon, &status, WNOHANG) == h->daemon) {
            h->daemon = 0;
            return WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL;
        }
        fault_pause();
    }
    print_error("sharrd is still running: it never reached its fault point, or it has no "
                "fault hook (only sharrd-test, built with SHARR_TEST_HOOKS, has one)\n");
    return 0;
}

int fault_daemon_fds(const struct harness *h, sharr_t *c)
{
    (void)harness_stats(c);
    int n = launch_count_fds(h->daemon);
    assert_true(n >= 0);
    return n;
}

long fault_daemon_rss_kib(const struct harness *h)
{
    return launch_rss_kib(h->daemon);
}

void fault_assert_rss_at_most(long kib, long limit_kib, const char *what)
{
#ifdef FAULT_SANITIZED
    testskip_note("sharrd's RSS %s (%ld KiB, at most %ld wanted) not checked: in a "
                  "sanitizer build it measures the sanitizer's quarantine and shadow "
                  "memory; the plain build checks it", what, kib, limit_kib);
#else
    if (kib > limit_kib)
        fail_msg("sharrd's RSS %s is %ld KiB, more than %ld", what, kib, limit_kib);
#endif
}

int fault_store_files(const struct harness *h, char *names, size_t len)
{
    struct dirent *de;
    int n = 0;

    names[0] = '\0';
    DIR *d = opendir(h->store);
    assert_non_null(d);
    while ((de = readdir(d)) != NULL) {
        if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0 ||
            strcmp(de->d_name, ".store-id") == 0)  /* the store's identity */
            continue;
        n++;
        if (strlen(names) + strlen(de->d_name) + 2 < len) {
            strcat(names, de->d_name);
            strcat(names, " ");
        }
    }
    closedir(d);
    return n;
}

static uint64_t fault_mix(uint64_t x)
{
    x ^= x >> 33;
    x *= 0xff51afd7ed558ccdULL;
    x ^= x >> 33;
    return x;
}

void fault_fill(void *data, uint64_t nbytes, uint64_t seed)
{
    uint64_t *w = data;
    for (uint64_t i = 0; i < nbytes / 8; i++)
        w[i] = fault_mix(seed * 0x9e3779b97f4a7c15ULL + i);
}

int fault_check(const void *data, uint64_t nbytes, uint64_t seed)
{
    const uint64_t *w = data;
    for (uint64_t i = 0; i < nbytes / 8; i++)
        if (w[i] != fault_mix(seed * 0x9e3779b97f4a7c15ULL + i))
            return 0;
    return 1;
}
