/* harness.h — what every C benchmark starts with: its command line (--quick,
 * --scratch DIR), a connection to the sharrd under test and that daemon's pid.
 *
 * The daemon is found as every client finds it ($SHARR_SOCKET first); bench/run.sh
 * starts a private one and exports its socket. Nothing here measures anything.
 */
#ifndef BENCH_HARNESS_H
#define BENCH_HARNESS_H

#include <limits.h>
#include <sys/types.h>

#include "sharr.h"

struct harness {
    const char *prog;
    int quick;                  /* --quick: a smoke run, fewer sizes and repetitions */
    char scratch[PATH_MAX];     /* --scratch: a directory on the store's filesystem */
    sharr_t *conn;
    pid_t daemon_pid;
};

/* Parse argv, raise RLIMIT_NOFILE, connect. Prints usage or the error and exits
 * (status 2 or 1) when that fails: a benchmark cannot do anything without it. */
void harness_init(struct harness *h, int argc, char **argv);

/* Disconnect. */
void harness_close(struct harness *h);

/* Print "prog: what: <sharr's last error>" to stderr; returns 1 for main's exit. */
int harness_fail(const struct harness *h, const char *what);

/* Fail the benchmark on a negative sharr result (prints the message and exits 1). */
void harness_check(const struct harness *h, int rc, const char *what);

#endif
