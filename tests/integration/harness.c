/* harness.c — a real sharrd in a private directory, forked children and programs.
 *
 * Starts sharrd from the build tree with --socket/--store in a fresh mkdtemp
 * directory, waits for it to answer hello, stops it with SIGTERM and insists on a
 * clean exit. Waiting on the daemon is bounded polling, because its start, exit and
 * its noticing of a closed peer are asynchronous; everything else is synchronous.
 */
#include "harness.h"

#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <signal.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

/* Polling bounds: generous enough for a sanitizer build on a loaded 2-core host;
 * they only turn a hang into a failure, never decide a pass. */
#define POLL_STEP_NS (5 * 1000 * 1000L)
#define POLL_STEPS 4000 /* 20 s */

const char *harness_sharrd_path(void) { return HARNESS_SHARRD; }
const char *harness_cli_path(void) { return HARNESS_CLI; }
const char *harness_tclient_path(void) { return HARNESS_TCLIENT; }

static void poll_pause(void)
{
    struct timespec ts = { 0, POLL_STEP_NS };
    nanosleep(&ts, NULL);
}

static int status_code(int status)
{
    if (WIFEXITED(status))
        return WEXITSTATUS(status);
    if (WIFSIGNALED(status))
        return 128 + WTERMSIG(status);
    return -1;
}

void harness_check_rc(int rc, int want, const char *expr, const char *file, int line)
{
    if (rc == want)
        return;
    print_error("%s returned %d (%s), want %d (%s); last error: \"%s\"\n", expr, rc,
                sharr_strerror(rc), want, sharr_strerror(want), sharr_last_error());
    _fail(file, line);
}

static void dump_log(const struct harness *h)
{
    char buf[8192];
    int fd = open(h->log, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return;
    off_t size = lseek(fd, 0, SEEK_END);
    off_t from = size > (off_t)sizeof buf - 1 ? size - (off_t)sizeof buf + 1 : 0;
    ssize_t n = pread(fd, buf, sizeof buf - 1, from);
    close(fd);
    if (n < 0)
        return;
    buf[n] = '\0';
    fprintf(stderr, "---- tail of %s ----\n%s---- end of log ----\n", h->log, buf);
}

void harness_daemon_child_prepare(const struct harness *h, pid_t parent)
{
    int in, out;

    if (prctl(PR_SET_PDEATHSIG, SIGTERM) < 0 || getppid() != parent)
        _exit(125);
    in = open("/dev/null", O_RDONLY | O_CLOEXEC);
    out = open(h->log, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
    if (in < 0 || out < 0 || dup2(in, 0) < 0 || dup2(out, 1) < 0 || dup2(out, 2) < 0)
        _exit(126);
}

void harness_daemon_argv(const struct harness *h, const char *program, const char *store,
                         const char *const *extra, const char *argv[HARNESS_ARGS_MAX])
{
    int n = 0;
    argv[n++] = program;
    argv[n++] = "--socket";
    argv[n++] = h->sock;
    argv[n++] = "--store";
    argv[n++] = store ? store : h->store;
    argv[n++] = "--config";
    argv[n++] = "";
    for (int i = 0; extra && extra[i]; i++) {
        assert_true(n < HARNESS_ARGS_MAX - 1);
        argv[n++] = extra[i];
    }
    argv[n] = NULL;
}

pid_t harness_daemon_spawn(const struct harness *h, const char *const argv[],
                           void (*child_fn)(void *arg), void *arg)
{
    pid_t parent = getpid();
    fflush(NULL);
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        harness_daemon_child_prepare(h, parent);
        if (child_fn)
            child_fn(arg);
        execv(argv[0], (char *const *)argv);
        _exit(127);
    }
    return pid;
}

int harness_daemon_await(const char *sock, pid_t pid, int *ret_status)
{
    for (int i = 0; i < POLL_STEPS; i++) {
        int status;
        if (waitpid(pid, &status, WNOHANG) == pid) {
            *ret_status = status;
            return 1;
        }
        sharr_t *conn = NULL;
        if (sharr_connect(sock, &conn) == 0) {
            sharr_disconnect(conn);
            return 0;
        }
        poll_pause();
    }
    return -ETIMEDOUT;
}

void harness_daemon_up(struct harness *h, pid_t pid)
{
    int status = 0;
    h->daemon = pid;
    int r = harness_daemon_await(h->sock, pid, &status);
    if (r == 0)
        return;
    if (r == 1) {
        h->daemon = 0;
        print_error("sharrd exited during start with status %d\n", status_code(status));
    } else {
        print_error("sharrd did not answer on %s\n", h->sock);
    }
    dump_log(h);
    fail();
}

void harness_daemon_start(struct harness *h)
{
    const char *argv[HARNESS_ARGS_MAX];
    assert_int_equal(h->daemon, 0);
    harness_daemon_argv(h, harness_sharrd_path(), NULL, NULL, argv);
    harness_daemon_up(h, harness_daemon_spawn(h, argv, NULL, NULL));
}

int harness_daemon_stop(struct harness *h)
{
    if (h->daemon == 0)
        return 0;
    pid_t pid = h->daemon;
    h->daemon = 0;
    if (kill(pid, SIGTERM) < 0) {
        fprintf(stderr, "kill(sharrd %d): %s\n", (int)pid, strerror(errno));
        return -1;
    }
    int status = 0;
    for (int i = 0;; i++) {
        pid_t r = waitpid(pid, &status, WNOHANG);
        if (r == pid)
            break;
        if (r < 0) {
            fprintf(stderr, "waitpid(sharrd): %s\n", strerror(errno));
            return -1;
        }
        if (i == POLL_STEPS) {
            fprintf(stderr, "sharrd did not exit on SIGTERM; killing it\n");
            kill(pid, SIGKILL);
            waitpid(pid, &status, 0);
            dump_log(h);
            return -1;
        }
        poll_pause();
    }
    if (status_code(status) != 0) {
        fprintf(stderr, "sharrd exited with status %d on SIGTERM (want 0)\n",
                status_code(status));
        dump_log(h);
        return -1;
    }
    return 0;
}

void harness_daemon_restart(struct harness *h)
{
    assert_int_equal(harness_daemon_stop(h), 0);
    harness_daemon_start(h);
}

sharr_t *harness_connect(const struct harness *h)
{
    sharr_t *conn = NULL;
    assert_rc(sharr_connect(h->sock, &conn), 0);
    assert_non_null(conn);
    return conn;
}

int harness_open_rc(sharr_t *c, const char *name, const char *mode)
{
    sharr_array_t *a = NULL;
    int rc = sharr_open(c, name, mode, NULL, &a);
    if (rc == 0)
        sharr_close(a);
    return rc;
}

sharr_array_t *harness_create(sharr_t *c, const char *name, const char *dtype, uint64_t n)
{
    const uint64_t shape[1] = { n };
    sharr_array_t *a = NULL;
    assert_rc(sharr_create(c, name, dtype, 1, shape, NULL, &a), 0);
    return a;
}

struct sharr_stats harness_stats(sharr_t *conn)
{
    struct sharr_stats st;
    memset(&st, 0, sizeof st);
    assert_rc(sharr_stats(conn, &st), 0);
    return st;
}

static uint64_t wait_stat(sharr_t *conn, size_t field, uint64_t want)
{
    uint64_t seen = 0;
    for (int i = 0; i < POLL_STEPS; i++) {
        struct sharr_stats st = harness_stats(conn);
        memcpy(&seen, (const char *)&st + field, sizeof seen);
        if (seen == want)
            break;
        poll_pause();
    }
    return seen;
}

uint64_t harness_wait_attachments(sharr_t *conn, uint64_t want)
{
    return wait_stat(conn, offsetof(struct sharr_stats, attachments), want);
}

uint64_t harness_wait_connections(sharr_t *conn, uint64_t want)
{
    return wait_stat(conn, offsetof(struct sharr_stats, connections), want);
}

int harness_setup(void **state)
{
    struct harness *h = calloc(1, sizeof *h);
    if (h == NULL)
        return -1;
    const char *tmp = getenv("TMPDIR");
    if (tmp == NULL || tmp[0] == '\0' || strlen(tmp) > 64)
        tmp = "/tmp";
    snprintf(h->dir, sizeof h->dir, "%s/sharr-integ-XXXXXX", tmp);
    if (mkdtemp(h->dir) == NULL) {
        fprintf(stderr, "mkdtemp(%s): %s\n", h->dir, strerror(errno));
        free(h);
        return -1;
    }
    snprintf(h->sock, sizeof h->sock, "%s/s.sock", h->dir);
    snprintf(h->store, sizeof h->store, "%s/store", h->dir);
    snprintf(h->log, sizeof h->log, "%s/sharrd.log", h->dir);
    setenv("SHARR_SOCKET", h->sock, 1);
    *state = h;
    harness_daemon_start(h);
    return 0;
}

static int remove_entry(const char *path, const struct stat *sb, int type, struct FTW *ftw)
{
    (void)sb;
    (void)type;
    (void)ftw;
    return remove(path) < 0 ? -1 : 0;
}

int harness_teardown(void **state)
{
    struct harness *h = *state;
    if (h == NULL)
        return 0;
    for (int i = 0; i < HARNESS_CHILDREN_MAX; i++) {
        if (h->children[i] > 0) {
            kill(h->children[i], SIGKILL);
            waitpid(h->children[i], NULL, 0);
        }
    }
    int rc = harness_daemon_stop(h);
    if (nftw(h->dir, remove_entry, 16, FTW_DEPTH | FTW_PHYS) < 0) {
        fprintf(stderr, "removing %s: %s\n", h->dir, strerror(errno));
        rc = -1;
    }
    free(h);
    *state = NULL;
    return rc;
}

/* ---- children ---- */

_Noreturn void harness_child_fail(const char *file, int line, const char *what)
{
    fprintf(stderr, "%s:%d: child %d: check failed: %s (last error: \"%s\")\n", file, line,
            (int)getpid(), what, sharr_last_error());
    _exit(1);
}

void harness_child_start(struct harness *h, struct harness_child *c, harness_child_fn *fn,
                         void *arg)
{
    int slot = -1;
    for (int i = 0; i < HARNESS_CHILDREN_MAX && slot < 0; i++)
        if (h->children[i] == 0)
            slot = i;
    assert_true(slot >= 0);
    int down[2], up[2];
    assert_int_equal(pipe2(down, O_CLOEXEC), 0);
    assert_int_equal(pipe2(up, O_CLOEXEC), 0);
    fflush(NULL);
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        close(down[1]);
        close(up[0]);
        _exit(fn(down[0], up[1], arg));
    }
    close(down[0]);
    close(up[1]);
    h->children[slot] = pid;
    c->pid = pid;
    c->to = down[1];
    c->from = up[0];
}

int harness_child_wait(struct harness *h, struct harness_child *c)
{
    int status = 0;
    pid_t r;
    do {
        r = waitpid(c->pid, &status, 0);
    } while (r < 0 && errno == EINTR);
    assert_int_equal(r, c->pid);
    for (int i = 0; i < HARNESS_CHILDREN_MAX; i++)
        if (h->children[i] == c->pid)
            h->children[i] = 0;
    close(c->to);
    close(c->from);
    c->pid = 0;
    c->to = c->from = -1;
    return status_code(status);
}

/* Move len bytes between buf and fd: written (CHAN_WRITE), sent (CHAN_SEND) or read
 * (CHAN_READ); the contract of chan_put, chan_send and chan_get. */
enum chan_way { CHAN_WRITE, CHAN_SEND, CHAN_READ };

static int chan_move(int fd, void *buf, size_t len, enum chan_way way)
{
    char *p = buf;
    while (len > 0) {
        ssize_t n = way == CHAN_READ   ? read(fd, p, len)
                    : way == CHAN_SEND ? send(fd, p, len, MSG_NOSIGNAL)
                                       : write(fd, p, len);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0)
            return -errno;
        if (n == 0)
            return -EPIPE;
        p += n;
        len -= (size_t)n;
    }
    return 0;
}

int chan_put(int fd, const void *buf, size_t len)
{
    return chan_move(fd, (void *)buf, len, CHAN_WRITE);
}

int chan_send(int fd, const void *buf, size_t len)
{
    return chan_move(fd, (void *)buf, len, CHAN_SEND);
}

int chan_get(int fd, void *buf, size_t len)
{
    return chan_move(fd, buf, len, CHAN_READ);
}

void harness_put(int fd, const void *buf, size_t len)
{
    int rc = chan_put(fd, buf, len);
    if (rc != 0)
        print_error("writing to a child: %s\n", strerror(-rc));
    assert_int_equal(rc, 0);
}

void harness_get(int fd, void *buf, size_t len)
{
    int rc = chan_get(fd, buf, len);
    if (rc != 0)
        print_error("reading from a child: %s\n", rc == -EPIPE ? "it exited" : strerror(-rc));
    assert_int_equal(rc, 0);
}

/* ---- programs ---- */

static char *slurp(const char *path)
{
    FILE *f = fopen(path, "re");
    if (f == NULL)
        return NULL;
    size_t cap = 4096, len = 0;
    char *buf = malloc(cap);
    while (buf != NULL) {
        size_t n = fread(buf + len, 1, cap - len - 1, f);
        len += n;
        if (n == 0)
            break;
        if (cap - len - 1 == 0) {
            char *bigger = realloc(buf, cap * 2);
            if (bigger == NULL) {
                free(buf);
                buf = NULL;
                break;
            }
            buf = bigger;
            cap *= 2;
        }
    }
    fclose(f);
    if (buf != NULL)
        buf[len] = '\0';
    return buf;
}

void harness_run(struct harness *h, const char *const argv[], struct harness_run *ret)
{
    char out_path[256], err_path[256];
    snprintf(out_path, sizeof out_path, "%s/run.out", h->dir);
    snprintf(err_path, sizeof err_path, "%s/run.err", h->dir);
    fflush(NULL);
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        int in = open("/dev/null", O_RDONLY);
        int out = open(out_path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
        int err = open(err_path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
        if (in < 0 || out < 0 || err < 0 || dup2(in, 0) < 0 || dup2(out, 1) < 0 ||
            dup2(err, 2) < 0)
            _exit(126);
        execv(argv[0], (char *const *)argv);
        _exit(127);
    }
    int status = 0;
    pid_t r;
    do {
        r = waitpid(pid, &status, 0);
    } while (r < 0 && errno == EINTR);
    assert_int_equal(r, pid);
    ret->status = status_code(status);
    ret->out = slurp(out_path);
    ret->err = slurp(err_path);
    assert_non_null(ret->out);
    assert_non_null(ret->err);
}

void harness_run_free(struct harness_run *r)
{
    free(r->out);
    free(r->err);
    r->out = r->err = NULL;
}

void harness_check_json(struct harness *h, const char *json, const char *script)
{
    char path[256], code[1024];
    struct harness_run r;
    FILE *f;

    snprintf(path, sizeof path, "%s/check.json", h->dir);
    f = fopen(path, "we");
    assert_non_null(f);
    fputs(json, f);
    assert_int_equal(fclose(f), 0);
    snprintf(code, sizeof code, "import json, sys\nd = json.load(open(sys.argv[1]))\n%s\n",
             script);
    const char *argv[] = { "/usr/bin/python3", "-c", code, path, NULL };
    harness_run(h, argv, &r);
    if (r.status != 0)
        print_error("json check in /usr/bin/python3 (exit %d) failed on:\n%s\n%s",
                    r.status, json, r.err);
    assert_int_equal(r.status, 0);
    harness_run_free(&r);
}

int harness_log_lines(const struct harness *h, const char *what, const char *after,
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

int harness_log_has(const struct harness *h, const char *what)
{
    return harness_log_lines(h, what, NULL, NULL) > 0;
}

void harness_npy_header(unsigned char buf[HARNESS_NPY_HEADER], const char *dict)
{
    size_t len = strlen(dict);
    assert_true(len <= HARNESS_NPY_HEADER - 11);
    memset(buf, ' ', HARNESS_NPY_HEADER);
    memcpy(buf, "\x93NUMPY\x01\x00", 8);
    buf[8] = HARNESS_NPY_HEADER - 10;
    buf[9] = 0;
    memcpy(buf + 10, dict, len);
    buf[HARNESS_NPY_HEADER - 1] = '\n';
}

char *harness_read_text(const char *path, char *buf, size_t len)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    ssize_t n = fd >= 0 ? read(fd, buf, len - 1) : -1;
    if (fd >= 0)
        close(fd);
    buf[n > 0 ? n : 0] = '\0';
    return buf;
}
