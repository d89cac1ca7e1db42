/* query.h — the commands that print what sharrd holds (query.c). Each takes one run's
 * state and returns the exit status.
 */
#ifndef SHARR_CLI_QUERY_H
#define SHARR_CLI_QUERY_H

#include "cli.h"

/* ping [--json]: the daemon's version, protocol and round-trip time. */
int query_ping(struct cli *cli);
/* ls [-l] [--json]: the arrays the caller may see. */
int query_ls(struct cli *cli);
/* info NAME [--json]: one array and the processes attached to it. */
int query_info(struct cli *cli);
/* stats [--json]: the daemon's counters. */
int query_stats(struct cli *cli);
/* top [--json] (also ps): per process, the arrays it holds. */
int query_top(struct cli *cli);

#endif
