/* cli.h — what the `sharr` command's files share: one run's state (struct cli), the
 * option parser every command calls, and the usage and failure messages with their exit
 * statuses. cli.c owns these and the dispatch of a command name to its function;
 * query.c and edit.c own the commands.
 */
#ifndef SHARR_CLI_H
#define SHARR_CLI_H

#include <stddef.h>

#include "sharr.h"

#define CLI_EXIT_FAIL 1
#define CLI_EXIT_USAGE 2

/* What one run of the command works with. */
struct cli {
    const char *socket; /* NULL: the default */
    sharr_t *conn;
    const char *cmd;
    char *const *args;  /* the command's arguments, args[0] is cmd */
    int nargs;
};

/* An option a command takes: its long name, whether it has a value, its short letter. */
struct cli_opt {
    const char *name;
    int has_arg;
    int short_name; /* 0 if none */
};

/* "sharr: <message>" and the short usage on stderr; returns CLI_EXIT_USAGE. */
int cli_usage_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* "sharr: <what>: <why> (ECODE)" on stderr; returns the failure exit status. */
int cli_fail(const char *what, int err);

/* Connect cli->conn to sharrd; 0, or the failure exit status after saying why. */
int cli_connect(struct cli *cli);

/* Parse the command's options. spec lists them; ret_flags gets one bit per option
 * seen (bit = its index in spec), values[i] the argument of option i. The command takes
 * exactly npos_needed positional arguments, returned in order through ret_pos; with
 * fewer, the usage error says "<command> needs <needs>". Returns 0, -1 if --help was
 * shown (the command is done), or a usage error status. */
int cli_parse(struct cli *cli, const struct cli_opt *spec, size_t nspec, unsigned *ret_flags,
              const char **values, const char **ret_pos, int npos_needed, const char *needs);

#endif
