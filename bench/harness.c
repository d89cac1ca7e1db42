/* harness.c — the command line and the daemon connection shared by the benchmarks.
 *
 * The daemon's pid comes from its hello reply; the benchmarks place it on CPUs and
 * read its memory from /proc, which needs it to run on this host and be visible.
 */
#include "harness.h"

#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "proc.h"

static void harness_usage(FILE *f, const char *prog)
{
    fprintf(f, "usage: %s [--quick] [--scratch DIR]\n"
               "  --quick        smoke run: fewer sizes, shorter runs (< 1 minute in all)\n"
               "  --scratch DIR  directory on the store's filesystem for the floor's files\n"
               "                 (default $TMPDIR or /tmp)\n"
               "The daemon is the one libsharr finds: $SHARR_SOCKET first.\n", prog);
}

void harness_init(struct harness *h, int argc, char **argv)
{
    static const struct option options[] = {
        { "quick", no_argument, NULL, 'q' },
        { "scratch", required_argument, NULL, 's' },
        { "help", no_argument, NULL, 'h' },
        { NULL, 0, NULL, 0 },
    };
    const char *tmp = getenv("TMPDIR");
    struct sharr_server srv;
    int c, rc;

    memset(h, 0, sizeof(*h));
    h->prog = strrchr(argv[0], '/') != NULL ? strrchr(argv[0], '/') + 1 : argv[0];
    snprintf(h->scratch, sizeof(h->scratch), "%s", tmp != NULL && tmp[0] ? tmp : "/tmp");
    while ((c = getopt_long(argc, argv, "", options, NULL)) != -1) {
        switch (c) {
        case 'q':
            h->quick = 1;
            break;
        case 's':
            snprintf(h->scratch, sizeof(h->scratch), "%s", optarg);
            break;
        case 'h':
            harness_usage(stdout, h->prog);
            exit(0);
        default:
            harness_usage(stderr, h->prog);
            exit(2);
        }
    }
    if (optind != argc) {
        harness_usage(stderr, h->prog);
        exit(2);
    }
    /* A benchmark with many connections or arrays needs more than 1024 descriptors. */
    proc_raise_nofile();
    rc = sharr_connect(NULL, &h->conn);
    if (rc < 0)
        exit(harness_fail(h, "connect to sharrd"));
    rc = sharr_server_info(h->conn, &srv);
    if (rc < 0)
        exit(harness_fail(h, "server info"));
    h->daemon_pid = (pid_t)srv.pid;
    if (h->daemon_pid <= 0 || (kill(h->daemon_pid, 0) < 0 && errno == ESRCH)) {
        fprintf(stderr, "%s: sharrd reports pid %d, which is not visible here\n", h->prog,
                (int)h->daemon_pid);
        exit(1);
    }
}

void harness_close(struct harness *h)
{
    sharr_disconnect(h->conn);
    h->conn = NULL;
}

int harness_fail(const struct harness *h, const char *what)
{
    fprintf(stderr, "%s: %s: %s\n", h->prog, what, sharr_last_error());
    return 1;
}

void harness_check(const struct harness *h, int rc, const char *what)
{
    if (rc < 0)
        exit(harness_fail(h, what));
}
