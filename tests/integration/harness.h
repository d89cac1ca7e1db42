/* harness.h — what every integration test needs around a real sharrd.
 *
 * One harness is one fresh mkdtemp directory holding the daemon's socket, store and
 * log, one sharrd process started from the build tree, the forked children of the
 * test, and helpers to run programs and talk to children over pipes. It does not
 * know the wire protocol; tests that speak raw bytes use proto/ themselves.
 */
#ifndef HARNESS_H
#define HARNESS_H

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include <cmocka.h>

#include "sharr.h"
#include "testskip.h"

#define HARNESS_CHILDREN_MAX 16

struct harness {
    char dir[128];    /* the test's private directory, removed at teardown */
    char sock[192];   /* dir/s.sock: the daemon's socket, also in $SHARR_SOCKET */
    char store[192];  /* dir/store: the daemon's store */
    char log[192];    /* dir/sharrd.log: the daemon's stdout and stderr */
    pid_t daemon;     /* 0 when not running */
    pid_t children[HARNESS_CHILDREN_MAX]; /* forked and not yet reaped; 0 = free slot */
};

/* cmocka fixtures: setup makes the directory, starts sharrd, waits until it answers
 * and sets $SHARR_SOCKET; *state is then the struct harness. Teardown kills children
 * the test left behind, stops the daemon (which must exit 0: a crash, a sanitizer
 * report or a leak fails the test) and removes the directory. */
int harness_setup(void **state);
int harness_teardown(void **state);

/* Start sharrd on h's socket and store and wait until a client can connect and
 * finish hello (bounded retries). Fails the test if it does not come up. */
void harness_daemon_start(struct harness *h);

/* The pieces of harness_daemon_start, for tests that start sharrd otherwise.
 * harness_daemon_argv: argv of program serving h's socket, with store (h->store when
 * NULL), no configuration file and then the NULL-terminated extra flags (may be NULL). */
#define HARNESS_ARGS_MAX 32
void harness_daemon_argv(const struct harness *h, const char *program, const char *store,
                         const char *const *extra, const char *argv[HARNESS_ARGS_MAX]);
/* Fork a daemon child (harness_daemon_child_prepare), run child_fn(arg) in it when set
 * (it _exits on failure), exec argv. Returns the child's pid; it is not reaped. */
pid_t harness_daemon_spawn(const struct harness *h, const char *const argv[],
                           void (*child_fn)(void *arg), void *arg);
/* Poll until a client can connect to sock (0), or pid exits first (1, reaped, its wait
 * status in *ret_status), or 20 s pass (-ETIMEDOUT). */
int harness_daemon_await(const char *sock, pid_t pid, int *ret_status);
/* pid becomes h's daemon once it answers; the test fails, with the log's tail, if it
 * exits or does not answer first. */
void harness_daemon_up(struct harness *h, pid_t pid);

/* SIGTERM the daemon and reap it. Returns 0 if it exited with status 0, else -1 after
 * printing what happened and the tail of its log. */
int harness_daemon_stop(struct harness *h);

/* Stop (asserting a clean exit) and start again on the same store. */
void harness_daemon_restart(struct harness *h);

/* A new connection to h's daemon; fails the test on error. */
sharr_t *harness_connect(const struct harness *h);

/* Open name with mode on c and close it at once. Returns sharr_open's result and never
 * fails the test itself, so forked children may call it too. */
int harness_open_rc(sharr_t *c, const char *name, const char *mode);

/* A new volatile 1-d array name of n elements of dtype, with the default options;
 * fails the test on error. */
sharr_array_t *harness_create(sharr_t *c, const char *name, const char *dtype, uint64_t n);

/* Daemon-wide counters; fails the test on error. */
struct sharr_stats harness_stats(sharr_t *conn);

/* Poll the daemon's stats until attachments == want, for the cases where the daemon
 * learns of a change asynchronously (a peer's socket closing). Bounded: returns the
 * last value seen, which the caller asserts on. */
uint64_t harness_wait_attachments(sharr_t *conn, uint64_t want);
/* The same for the number of connections the daemon serves. */
uint64_t harness_wait_connections(sharr_t *conn, uint64_t want);

/* Fail the test unless rc == want, printing the expression, both errnos and the
 * library's last message. */
#define assert_rc(expr, want) harness_check_rc((expr), (want), #expr, __FILE__, __LINE__)
void harness_check_rc(int rc, int want, const char *expr, const char *file, int line);

/* ---- forked children ----
 * A child runs fn(rfd, wfd, arg) and _exits with its return value; it reads commands
 * from rfd and writes reports to wfd. A child must never use cmocka's asserts (they
 * would unwind into the parent's test runner copy): it uses CHILD_CHECK. */
struct harness_child {
    pid_t pid;
    int to;   /* parent writes here, child reads it as rfd */
    int from; /* parent reads here, child writes it as wfd */
};

typedef int harness_child_fn(int rfd, int wfd, void *arg);

void harness_child_start(struct harness *h, struct harness_child *c, harness_child_fn *fn,
                         void *arg);
/* Reap the child; returns its exit code, or 128 + signal if it was killed. Closes
 * the pipes. */
int harness_child_wait(struct harness *h, struct harness_child *c);

#define CHILD_CHECK(cond)                                                              \
    do {                                                                               \
        if (!(cond)) {                                                                 \
            harness_child_fail(__FILE__, __LINE__, #cond);                             \
        }                                                                              \
    } while (0)
_Noreturn void harness_child_fail(const char *file, int line, const char *what);

/* Move exactly len bytes over a pipe. 0, or -EPIPE when the other end closed first,
 * or another negative errno. */
int chan_put(int fd, const void *buf, size_t len);
int chan_get(int fd, void *buf, size_t len);
/* chan_put over a socket (send with MSG_NOSIGNAL): a closed peer is -EPIPE, no signal. */
int chan_send(int fd, const void *buf, size_t len);
/* The parent's side: the same, failing the test on error. */
void harness_put(int fd, const void *buf, size_t len);
void harness_get(int fd, void *buf, size_t len);

/* Lines of h's log that contain what, and in *ret_sum (when not NULL) the sum of the
 * first number after each occurrence of after (when not NULL) in those lines. */
int harness_log_lines(const struct harness *h, const char *what, const char *after,
                      unsigned long long *ret_sum);
/* Whether a line of h's log contains what. */
int harness_log_has(const struct harness *h, const char *what);

/* A .npy version 1 header of HARNESS_NPY_HEADER bytes holding dict (numpy's header
 * dictionary, padded with spaces and ended by a newline) into buf. */
#define HARNESS_NPY_HEADER 128
void harness_npy_header(unsigned char buf[HARNESS_NPY_HEADER], const char *dict);

/* The first len - 1 bytes of the file at path in buf, NUL-terminated ("" when it
 * cannot be read); returns buf. */
char *harness_read_text(const char *path, char *buf, size_t len);

/* ---- programs ---- */
struct harness_run {
    int status;  /* exit code, or 128 + signal */
    char *out;   /* everything written to stdout, NUL-terminated */
    char *err;   /* everything written to stderr, NUL-terminated */
};

/* Run argv[0] (an absolute path) with argv, stdin from /dev/null, and wait for it.
 * Fails the test if it cannot be started. Free the result with harness_run_free. */
void harness_run(struct harness *h, const char *const argv[], struct harness_run *ret);
void harness_run_free(struct harness_run *r);

/* Check JSON text (a program's --json output) with Debian's Python: script sees the
 * parsed value as d and fails the test by raising. /usr/bin/python3 is a prerequisite
 * (scripts/deps.sh): the test fails without it. */
void harness_check_json(struct harness *h, const char *json, const char *script);

/* In a child forked (by parent) to exec a daemon: die with the parent, so a test
 * killed by its timeout leaves no daemon running; stdin from /dev/null, stdout and
 * stderr appended to the test's log. _exits 125/126 when it cannot. */
void harness_daemon_child_prepare(const struct harness *h, pid_t parent);

/* Paths of the programs under test, from the build tree. */
const char *harness_sharrd_path(void);
const char *harness_cli_path(void);
const char *harness_tclient_path(void);

#endif
