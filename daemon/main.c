/* main.c — sharrd's entry point: parse the command line, run one daemon, exit.
 *
 * Exit status 0 after a clean shutdown (SIGINT/SIGTERM), 1 when the daemon cannot
 * start (bad flags, socket taken by a live daemon, store unusable), 2 for usage.
 */
#include <signal.h>
#include <stdio.h>

#include "config.h"
#include "daemon.h"

int main(int argc, char **argv)
{
    struct config cfg;
    struct daemon d;
    char err[512] = "";
    int r;

    r = config_parse(argc, argv, &cfg, err, sizeof(err));
    if (r == CONFIG_HELP) {
        config_usage(stdout);
        return 0;
    }
    if (r == CONFIG_VERSION) {
        printf("sharrd %s (protocol %d)\n", SHARR_VERSION_STRING, PROTO_VERSION);
        return 0;
    }
    if (r < 0) {
        fprintf(stderr, "sharrd: %s\n", err);
        return 2;
    }
    /* A client that leaves mid-reply must not kill the daemon; sends use
     * MSG_NOSIGNAL too, this covers every other write. */
    signal(SIGPIPE, SIG_IGN);
    signal(SIGIO, SIG_IGN); /* a file lease broken while openers.c held it */
    r = daemon_start(&d, &cfg, err, sizeof(err));
    if (r < 0)
        log_error(&d.log, "%s", err);
    else
        r = daemon_run(&d);
    daemon_close(&d);
    return r < 0 ? 1 : 0;
}
