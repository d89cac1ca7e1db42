/* cli.c — the `sharr` command: ping the daemon, list, inspect, create and remove
 * arrays, and show the daemon's counters, for people (aligned text) and scripts
 * (--json). This file owns the usage text, the global options, the option parser the
 * commands share and the dispatch of a command name; query.c and edit.c own the commands.
 *
 * It uses only the public API of libsharr (sharr.h) and links nothing else of sharr.
 * Exit status: 0 success, 1 an operation failed, 2 bad usage.
 */
#include <getopt.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "cli.h"
#include "edit.h"
#include "produce.h"
#include "query.h"
#include "sharr.h"
#include "watch.h"

static const char cli_usage_short[] =
    "usage: sharr [--socket PATH] ping [--json] | ls [-l] [--json] | info NAME [--json]\n"
    "             | create NAME --dtype T --shape A,B,... [--persist] [--perm MODE]\n"
    "                 [--order C|F] [--overwrite]\n"
    "             | rm NAME | sync NAME [--owner USER] | stats [--json] | top [--json]\n"
    "             | import FILE NAME [--dtype T --shape A,B,... [--offset N] [--order C|F]]\n"
    "                 [--persist] [--perm MODE] [--overwrite]\n"
    "             | import FILE NAME --move [--perm MODE] [--overwrite]\n"
    "             | export NAME FILE [--force] [--owner USER]\n"
    "             | chmod MODE NAME | chown USER[:GROUP] NAME\n"
    "             | publish NAME | wait NAME [--published] [--timeout S] | grow NAME N\n"
    "             | watch [PREFIX] [--json]\n"
    "try 'sharr --help' for more\n";

static const char cli_usage_long[] =
    "usage: sharr [--socket PATH] COMMAND [ARGS]\n"
    "\n"
    "Named N-dimensional arrays shared between processes through sharrd.\n"
    "\n"
    "commands:\n"
    "  ping [--json]             check that sharrd answers: its version, protocol and\n"
    "                            round-trip time\n"
    "  ls [-l] [--json]          list the arrays you may see; -l adds dtype, shape, size,\n"
    "                            kind, permissions, owner, attachments and the processes\n"
    "                            that hold each (pid, command, mode)\n"
    "  info NAME [--json]        everything sharrd knows of one array, with the processes\n"
    "                            attached to it (pid, user, command, mode, since)\n"
    "  create NAME --dtype T --shape A,B,... [--persist] [--perm MODE] [--order C|F]\n"
    "         [--overwrite]      create an array: T is a numpy type (<f4, float32, uint8);\n"
    "                            volatile (in memory) unless --persist; MODE is octal\n"
    "                            (default 0600); --overwrite replaces an existing one\n"
    "  rm NAME                   remove an array's name; processes that have it mapped\n"
    "                            keep their memory until they close it\n"
    "  sync NAME [--owner USER]  return once a persistent array's data and metadata\n"
    "                            are on disk (writes of every process mapping it)\n"
    "  stats [--json]            counters of the whole daemon: arrays and bytes by kind,\n"
    "                            damaged arrays kept aside, connections, capacity and\n"
    "                            free space of each store\n"
    "  top [--json]              per process: the arrays it holds and their bytes; then\n"
    "                            what is still free (also: ps)\n"
    "  import FILE NAME [--dtype T --shape A,B,... [--offset N] [--order C|F]]\n"
    "         [--persist] [--perm MODE] [--overwrite]\n"
    "                            create NAME from FILE: a .npy file (dtype, shape and\n"
    "                            order from its header), or raw bytes of dtype T and\n"
    "                            shape A,B,... starting at byte N (default 0); copied in\n"
    "                            1 MiB chunks, with a progress bar on a terminal\n"
    "  import FILE NAME --move [--perm MODE] [--overwrite]\n"
    "                            make the .npy FILE a persistent array without copying\n"
    "                            it: sharrd takes the file itself into its store and\n"
    "                            FILE's path is removed. FILE must be yours (sharrd's\n"
    "                            uid), have one link and be on the store's filesystem;\n"
    "                            --move implies --persist\n"
    "  export NAME FILE [--force] [--owner USER]\n"
    "                            write the array to FILE as a .npy file, streamed in\n"
    "                            chunks; --force replaces an existing FILE\n"
    "  chmod MODE NAME           set the array's permission bits (octal, e.g. 0640); its\n"
    "                            owner or root only\n"
    "  chown USER[:GROUP] NAME   give the array to USER (root only) and/or GROUP (its\n"
    "                            owner or root); names or numbers, ':GROUP' for the group\n"
    "  publish NAME              mark the array complete and immutable (its owner or\n"
    "                            root): no r+ any more until it is removed\n"
    "  wait NAME [--published] [--timeout S]\n"
    "                            return once the array exists (--published: once it is\n"
    "                            published); ETIMEDOUT after S seconds (default: never)\n"
    "  grow NAME N               make the array's first axis (last, for order F) N long\n"
    "                            in place; processes keep their mappings\n"
    "  watch [PREFIX] [--json]   print a line per event on the arrays you may see whose\n"
    "                            names start with PREFIX (all without): created,\n"
    "                            published, resized, removed, chmod, chown; overflow when\n"
    "                            it fell behind and events were lost. Runs until killed\n"
    "                            or until sharrd stops (then exits 1)\n"
    "\n"
    "  --owner USER (sync, export) opens the array only if it belongs to USER (a name\n"
    "                            or uid), else fails with EACCES: any user may create a\n"
    "                            free name, so name the owner you trust. Names that begin\n"
    "                            uidN. (N a uid) can only be created by uid N and root\n"
    "\n"
    "options:\n"
    "  --socket PATH             sharrd's socket; default: $SHARR_SOCKET, else\n"
    "                            $XDG_RUNTIME_DIR/sharr/sharr.sock, else\n"
    "                            /run/sharr/sharr.sock, else /tmp/sharr-UID/sharr.sock\n"
    "  -h, --help                show this help\n"
    "  --version                 show the versions of sharr, libsharr and the protocol\n"
    "\n"
    "exit status: 0 success, 1 the operation failed, 2 bad usage\n";


int cli_usage_error(const char *fmt, ...)
{
    va_list ap;

    fputs("sharr: ", stderr);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
    fputs(cli_usage_short, stderr);
    return CLI_EXIT_USAGE;
}

/* "sharr: <what>: <why> (ECODE)" on stderr; returns the failure exit status. */
int cli_fail(const char *what, int err)
{
    const char *why = sharr_last_error();

    fprintf(stderr, "sharr: %s: %s (%s)\n", what, why[0] != '\0' ? why : sharr_strerror(err),
            sharr_err_name(err));
    return CLI_EXIT_FAIL;
}

int cli_connect(struct cli *cli)
{
    int rc = sharr_connect(cli->socket, &cli->conn);

    if (rc < 0)
        return cli_fail("connect", rc);
    return 0;
}

int cli_parse(struct cli *cli, const struct cli_opt *spec, size_t nspec, unsigned *ret_flags,
              const char **values, const char **ret_pos, int npos_needed, const char *needs)
{
    struct option longopts[16];
    char shortopts[16] = "+:h";
    size_t ns = strlen(shortopts);
    int npos = 0;
    bool rest_positional = false;

    *ret_flags = 0;
    for (size_t i = 0; i < nspec; i++) {
        longopts[i] = (struct option){ spec[i].name, spec[i].has_arg ? required_argument
                                                                     : no_argument, NULL,
                                       256 + (int)i };
        if (spec[i].short_name != 0) {
            shortopts[ns++] = (char)spec[i].short_name;
            if (spec[i].has_arg)
                shortopts[ns++] = ':';
        }
    }
    longopts[nspec] = (struct option){ "help", no_argument, NULL, 'h' };
    longopts[nspec + 1] = (struct option){ NULL, 0, NULL, 0 };
    shortopts[ns] = '\0';
    opterr = 0;
    optind = 1;
    for (;;) {
        int c = rest_positional ? -1
                                : getopt_long(cli->nargs, cli->args, shortopts, longopts, NULL);

        if (c == -1) {
            if (optind >= cli->nargs)
                break;
            /* After "--" everything is positional, also what looks like an option. */
            if (!rest_positional && strcmp(cli->args[optind - 1], "--") == 0)
                rest_positional = true;
            /* '+' stops at the first positional argument; options may follow it. */
            if (npos == npos_needed)
                return cli_usage_error("unexpected argument '%s'", cli->args[optind]);
            ret_pos[npos++] = cli->args[optind++];
            continue;
        }
        if (c == 'h') {
            fputs(cli_usage_long, stdout);
            return -1;
        }
        if (c == '?')
            return cli_usage_error("unknown option '%s'", cli->args[optind - 1]);
        if (c == ':')
            return cli_usage_error("option '%s' needs a value", cli->args[optind - 1]);
        for (size_t i = 0; i < nspec; i++) {
            if (c == 256 + (int)i || c == spec[i].short_name) {
                *ret_flags |= 1u << i;
                if (spec[i].has_arg)
                    values[i] = optarg;
            }
        }
    }
    if (npos != npos_needed)
        return cli_usage_error("%s needs %s", cli->cmd, needs);
    return 0;
}

static const struct {
    const char *name;
    int (*run)(struct cli *cli);
} cli_commands[] = {
    { "ping", query_ping }, { "ls", query_ls }, { "info", query_info },
    { "create", edit_create }, { "rm", edit_rm }, { "stats", query_stats },
    { "top", query_top }, { "ps", query_top }, { "import", edit_import }, { "export", edit_export },
    { "sync", edit_sync }, { "chmod", edit_chmod }, { "chown", edit_chown },
    { "publish", produce_publish }, { "wait", produce_wait }, { "grow", produce_grow },
    { "watch", watch_run },
};

int main(int argc, char **argv)
{
    struct cli cli = { 0 };
    int i = 1;
    int status = -1;

    /* Global options end at the command name. */
    for (; i < argc && argv[i][0] == '-'; i++) {
        if (strcmp(argv[i], "-h") == 0 || strcmp(argv[i], "--help") == 0) {
            fputs(cli_usage_long, stdout);
            return 0;
        }
        if (strcmp(argv[i], "--version") == 0) {
            printf("sharr %d.%d.%d (libsharr %s, protocol %" PRIu32 ")\n",
                   SHARR_VERSION_MAJOR, SHARR_VERSION_MINOR, SHARR_VERSION_PATCH,
                   sharr_version(), sharr_protocol_version());
            return 0;
        }
        if (strcmp(argv[i], "--socket") == 0) {
            if (i + 1 >= argc)
                return cli_usage_error("option '%s' needs a value", argv[i]);
            cli.socket = argv[++i];
        } else if (strncmp(argv[i], "--socket=", 9) == 0) {
            cli.socket = argv[i] + 9;
        } else {
            return cli_usage_error("unknown option '%s'", argv[i]);
        }
    }
    if (i >= argc)
        return cli_usage_error("%s", "no command given");
    cli.cmd = argv[i];
    cli.args = argv + i;
    cli.nargs = argc - i;
    for (size_t c = 0; c < sizeof(cli_commands) / sizeof(cli_commands[0]); c++) {
        if (strcmp(cli.cmd, cli_commands[c].name) == 0)
            status = cli_commands[c].run(&cli);
    }
    if (status < 0)
        return cli_usage_error("unknown command '%s'", cli.cmd);
    sharr_disconnect(cli.conn);
    if (fflush(stdout) != 0 || ferror(stdout)) {
        perror("sharr: writing the output");
        return CLI_EXIT_FAIL;
    }
    return status;
}
