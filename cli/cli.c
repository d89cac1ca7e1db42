/* cli.c — the `sharr` command: ping the daemon, list, inspect, create and remove
 * arrays, and show the daemon's counters, for people (aligned text) and scripts
 * (--json).
 *
 * It uses only the public API of libsharr (sharr.h) and links nothing else of sharr.
 * Exit status: 0 success, 1 an operation failed, 2 bad usage.
 */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "format.h"
#include "owner.h"
#include "sharr.h"
#include "top.h"
#include "transfer.h"

#define CLI_EXIT_FAIL 1
#define CLI_EXIT_USAGE 2
#define CLI_LIST_PAGE 256

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

/* What one run of the command works with. */
struct cli {
    const char *socket; /* NULL: the default */
    sharr_t *conn;
    const char *cmd;
    char *const *args;  /* the command's arguments, args[0] is cmd */
    int nargs;
};

static int cli_usage_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static int cli_usage_error(const char *fmt, ...)
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
static int cli_fail(const char *what, int err)
{
    const char *why = sharr_last_error();

    fprintf(stderr, "sharr: %s: %s (%s)\n", what, why[0] != '\0' ? why : sharr_strerror(err),
            sharr_err_name(err));
    return CLI_EXIT_FAIL;
}

static int cli_connect(struct cli *cli)
{
    int rc = sharr_connect(cli->socket, &cli->conn);

    if (rc < 0)
        return cli_fail("connect", rc);
    return 0;
}

/* Parse the command's options. spec lists them; ret_flags gets one bit per option
 * seen (bit = its index in spec), values[i] the argument of option i. Positional
 * arguments are returned in order through ret_pos (at most maxpos). */
struct cli_opt {
    const char *name;
    int has_arg;
    int short_name; /* 0 if none */
};

static int cli_parse(struct cli *cli, const struct cli_opt *spec, size_t nspec,
                     unsigned *ret_flags, const char **values, const char **ret_pos,
                     int maxpos, int *ret_npos)
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
            if (npos == maxpos)
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
    *ret_npos = npos;
    return 0;
}

static double cli_now_ms(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

static int cli_ping(struct cli *cli)
{
    static const struct cli_opt spec[] = { { "json", 0, 0 } };
    struct sharr_server srv;
    struct sharr_stats st;
    char path[SHARR_SOCKET_MAX];
    const char *pos[1] = { 0 };
    const char *values[1];
    unsigned flags;
    double t0, t1;
    int npos = 0, rc;

    rc = cli_parse(cli, spec, 1, &flags, values, pos, 0, &npos);
    if (rc != 0)
        return rc < 0 ? 0 : rc;
    if (cli->socket != NULL)
        snprintf(path, sizeof(path), "%s", cli->socket);
    else if (sharr_default_socket(path, sizeof(path)) < 0)
        snprintf(path, sizeof(path), "(default socket)");
    if (cli_connect(cli) != 0)
        return CLI_EXIT_FAIL;
    sharr_server_info(cli->conn, &srv);
    /* One request after hello, so the time is a plain round trip, not the connect. */
    t0 = cli_now_ms();
    rc = sharr_stats(cli->conn, &st);
    t1 = cli_now_ms();
    if (rc < 0)
        return cli_fail("ping", rc);
    if (flags & 1u) {
        fputs("{\"server\": ", stdout);
        format_json_string(stdout, srv.server);
        printf(", \"pid\": %" PRIu32 ", \"protocol\": %" PRIu32 ", \"socket\": ", srv.pid,
               srv.version);
        format_json_string(stdout, path);
        printf(", \"round_trip_ms\": %.3f}\n", t1 - t0);
        return 0;
    }
    printf("%s (pid %" PRIu32 ", protocol %" PRIu32 ") at %s: round trip %.3f ms\n",
           srv.server, srv.pid, srv.version, path, t1 - t0);
    return 0;
}

/* One row of ls -l. */
static int cli_ls_row(struct format_table *t, const struct sharr_info *in,
                      const struct top_holders *hs)
{
    char shape[FORMAT_SHAPE_MAX], size[FORMAT_SIZE_MAX], user[FORMAT_USER_MAX];
    char perm[8], attached[16], held[512];
    const char *cells[9];

    snprintf(perm, sizeof(perm), "%04o", (unsigned)in->perm);
    snprintf(attached, sizeof(attached), "%" PRIu32, in->nattached);
    cells[0] = in->name;
    cells[1] = in->dtype;
    cells[2] = format_shape(in->ndim, in->shape, shape, sizeof(shape));
    cells[3] = format_size(in->nbytes, size, sizeof(size));
    cells[4] = in->persist ? "persistent" : "volatile";
    cells[5] = perm;
    cells[6] = format_user(in->uid, user, sizeof(user));
    cells[7] = attached;
    cells[8] = top_holders_brief(hs, in->name, held, sizeof(held));
    return format_table_add(t, cells);
}

static int cli_ls(struct cli *cli)
{
    static const struct cli_opt spec[] = { { "long", 0, 'l' }, { "json", 0, 0 } };
    static const char *const header[] = { "NAME", "DTYPE", "SHAPE", "SIZE", "KIND", "PERM",
                                          "OWNER", "ATTACHED", "HELD BY" };
    struct top_holders hs = { 0 };
    struct sharr_info *page = NULL;
    struct format_table *table = NULL;
    char after[SHARR_NAME_MAX + 1] = "";
    const char *values[2], *pos[1] = { 0 };
    unsigned flags;
    bool json, lng, first = true;
    int npos = 0, more, rc, status = 0;

    rc = cli_parse(cli, spec, 2, &flags, values, pos, 0, &npos);
    if (rc != 0)
        return rc < 0 ? 0 : rc;
    lng = flags & 1u;
    json = flags & 2u;
    if (cli_connect(cli) != 0)
        return CLI_EXIT_FAIL;
    if (lng && (rc = top_holders_fetch(cli->conn, NULL, &hs)) < 0) {
        status = cli_fail("ls", rc);
        goto out;
    }
    page = malloc(CLI_LIST_PAGE * sizeof(*page));
    table = format_table_new("lllrlllrl");
    if (page == NULL || table == NULL || format_table_add(table, header) < 0) {
        fprintf(stderr, "sharr: ls: out of memory\n");
        status = CLI_EXIT_FAIL;
        goto out;
    }
    if (json)
        fputs("[", stdout);
    do {
        size_t n = 0;

        rc = sharr_list(cli->conn, after, page, CLI_LIST_PAGE, &n, &more);
        if (rc < 0) {
            if (json)
                fputs("]\n", stdout);
            status = cli_fail("ls", rc);
            goto out;
        }
        for (size_t i = 0; i < n; i++) {
            if (json) {
                fputs(first ? "\n  " : ",\n  ", stdout);
                if (lng)
                    top_json_info(stdout, &page[i], &hs);
                else
                    format_json_info(stdout, &page[i]);
            } else if (lng) {
                if (cli_ls_row(table, &page[i], &hs) < 0) {
                    fprintf(stderr, "sharr: ls: out of memory\n");
                    status = CLI_EXIT_FAIL;
                    goto out;
                }
            } else {
                puts(page[i].name);
            }
            first = false;
        }
        if (n == 0)
            break;
        snprintf(after, sizeof(after), "%s", page[n - 1].name);
    } while (more);
    if (json)
        fputs(first ? "]\n" : "\n]\n", stdout);
    else if (lng)
        format_table_print(table, stdout);
out:
    top_holders_free(&hs);
    format_table_free(table);
    free(page);
    return status;
}

static int cli_info(struct cli *cli)
{
    static const struct cli_opt spec[] = { { "json", 0, 0 } };
    struct sharr_info in;
    struct format_table *t = NULL;
    char what[SHARR_NAME_MAX + 8];
    char shape[FORMAT_SHAPE_MAX], size[FORMAT_SIZE_MAX + 32], user[FORMAT_USER_MAX + 48];
    char uname[FORMAT_USER_MAX], when[FORMAT_TIME_MAX], perm[8], attached[16];
    char grown[FORMAT_SIZE_MAX], state[FORMAT_SIZE_MAX + 160];
    struct top_holders hs = { 0 };
    const char *values[1], *pos[1] = { 0 };
    unsigned flags;
    int npos = 0, rc, status = 0;

    rc = cli_parse(cli, spec, 1, &flags, values, pos, 1, &npos);
    if (rc != 0)
        return rc < 0 ? 0 : rc;
    if (npos != 1)
        return cli_usage_error("%s needs the NAME of an array", "info");
    snprintf(what, sizeof(what), "info %s", pos[0]);
    if (cli_connect(cli) != 0)
        return CLI_EXIT_FAIL;
    rc = sharr_stat(cli->conn, pos[0], &in);
    if (rc >= 0)
        rc = top_holders_fetch(cli->conn, pos[0], &hs);
    if (rc < 0) {
        top_holders_free(&hs);
        return cli_fail(what, rc);
    }
    if (flags & 1u) {
        top_json_info(stdout, &in, &hs);
        fputc('\n', stdout);
        top_holders_free(&hs);
        return 0;
    }
    format_size(in.nbytes, size, sizeof(size));
    snprintf(size + strlen(size), sizeof(size) - strlen(size), " (%" PRIu64 " bytes)",
             in.nbytes);
    snprintf(user, sizeof(user), "%s (uid %" PRIu32 ", gid %" PRIu32 ")",
             format_user(in.uid, uname, sizeof(uname)), in.uid, in.gid);
    snprintf(perm, sizeof(perm), "%04o", (unsigned)in.perm);
    snprintf(attached, sizeof(attached), "%" PRIu32, in.nattached);
    format_size(in.grown, grown, sizeof(grown));
    snprintf(state, sizeof(state), "%s%s%s%s%s", in.damaged ? "damaged: its file is shorter "
             "than its data (touching the rest raises SIGBUS)" : "",
             in.damaged && in.grown ? "; " : "", in.grown ? "its file has grown by " : "",
             in.grown ? grown : "", in.grown ? " beyond its data (counted in the owner's "
             "quota)" : "");
    {
        const char order[2] = { in.order, '\0' };
        const char *rows[][2] = {
            { "name", in.name },
            { "dtype", in.dtype },
            { "shape", format_shape(in.ndim, in.shape, shape, sizeof(shape)) },
            { "order", order },
            { "size", size },
            { "kind", in.persist ? "persistent" : "volatile" },
            { "path", in.path[0] != '\0' ? in.path : "-" },
            { "perm", perm },
            { "owner", user },
            { "created", format_time_ns(in.ctime_ns, when, sizeof(when)) },
            { "attached", attached },
            { "state", state[0] ? state : "ok" },
        };

        t = format_table_new("ll");
        for (size_t i = 0; t != NULL && i < sizeof(rows) / sizeof(rows[0]); i++) {
            if (format_table_add(t, rows[i]) < 0) {
                format_table_free(t);
                t = NULL;
            }
        }
    }
    if (t == NULL) {
        fprintf(stderr, "sharr: %s: out of memory\n", what);
        status = CLI_EXIT_FAIL;
    } else {
        format_table_print(t, stdout);
        if (hs.n > 0) {
            fputs("\nattached processes:\n", stdout);
            top_holders_table(stdout, &hs, in.name);
        }
    }
    format_table_free(t);
    top_holders_free(&hs);
    return status;
}

/* "100,200" -> shape; 0 or a usage error status. */
static int cli_parse_shape(const char *s, int *ret_ndim, uint64_t *shape)
{
    const char *p = s;
    int ndim = 0;

    while (*p != '\0') {
        char *end;
        unsigned long long v;

        if (ndim == SHARR_NDIM_MAX)
            return cli_usage_error("--shape '%s' has more than 64 dimensions", s);
        if (*p < '0' || *p > '9')
            return cli_usage_error("--shape '%s': dimensions are positive integers "
                                   "separated by commas", s);
        errno = 0;
        v = strtoull(p, &end, 10);
        if (errno != 0 || v == 0 || (*end != ',' && *end != '\0') ||
            (*end == ',' && end[1] == '\0'))
            return cli_usage_error("--shape '%s': dimensions are positive integers "
                                   "separated by commas", s);
        shape[ndim++] = v;
        p = *end == ',' ? end + 1 : end;
    }
    if (ndim == 0)
        return cli_usage_error("--shape '%s' is empty", s);
    *ret_ndim = ndim;
    return 0;
}

static int cli_create(struct cli *cli)
{
    enum { DTYPE, SHAPE, PERSIST, PERM, ORDER, OVERWRITE };
    static const struct cli_opt spec[] = {
        { "dtype", 1, 0 }, { "shape", 1, 0 }, { "persist", 0, 0 },
        { "perm", 1, 0 }, { "order", 1, 0 }, { "overwrite", 0, 0 },
    };
    struct sharr_create_opts opts = { .size = sizeof(opts), .flags = SHARR_F_NOMAP };
    uint64_t shape[SHARR_NDIM_MAX];
    sharr_array_t *a = NULL;
    char what[SHARR_NAME_MAX + 8];
    const char *values[6] = { 0 }, *pos[1] = { 0 };
    unsigned flags;
    int npos = 0, ndim = 0, rc;

    rc = cli_parse(cli, spec, 6, &flags, values, pos, 1, &npos);
    if (rc != 0)
        return rc < 0 ? 0 : rc;
    if (npos != 1)
        return cli_usage_error("%s needs the NAME of the array", "create");
    if (!(flags & (1u << DTYPE)) || !(flags & (1u << SHAPE)))
        return cli_usage_error("%s needs --dtype and --shape", "create");
    rc = cli_parse_shape(values[SHAPE], &ndim, shape);
    if (rc != 0)
        return rc;
    if (flags & (1u << PERM)) {
        char *end;
        unsigned long v = strtoul(values[PERM], &end, 8);

        if (values[PERM][0] == '\0' || *end != '\0' || v == 0 || v > 07777)
            return cli_usage_error("--perm '%s' is not an octal mode like 0640",
                                   values[PERM]);
        opts.perm = (uint32_t)v;
    }
    if (flags & (1u << ORDER)) {
        if (strcmp(values[ORDER], "C") != 0 && strcmp(values[ORDER], "F") != 0)
            return cli_usage_error("--order '%s' is not C or F", values[ORDER]);
        opts.order = values[ORDER][0];
    }
    opts.persist = (flags & (1u << PERSIST)) != 0;
    opts.overwrite = (flags & (1u << OVERWRITE)) != 0;
    snprintf(what, sizeof(what), "create %s", pos[0]);
    if (cli_connect(cli) != 0)
        return CLI_EXIT_FAIL;
    rc = sharr_create(cli->conn, pos[0], values[DTYPE], ndim, shape, &opts, &a);
    if (rc < 0)
        return cli_fail(what, rc);
    rc = sharr_close(a);
    if (rc < 0)
        return cli_fail(what, rc);
    return 0;
}

static int cli_rm(struct cli *cli)
{
    char what[SHARR_NAME_MAX + 8];
    const char *values[1], *pos[1] = { 0 };
    unsigned flags;
    int npos = 0, rc;

    rc = cli_parse(cli, NULL, 0, &flags, values, pos, 1, &npos);
    if (rc != 0)
        return rc < 0 ? 0 : rc;
    if (npos != 1)
        return cli_usage_error("%s needs the NAME of an array", "rm");
    snprintf(what, sizeof(what), "rm %s", pos[0]);
    if (cli_connect(cli) != 0)
        return CLI_EXIT_FAIL;
    rc = sharr_unlink(cli->conn, pos[0]);
    if (rc < 0)
        return cli_fail(what, rc);
    return 0;
}

static int cli_stats(struct cli *cli)
{
    static const struct cli_opt spec[] = { { "json", 0, 0 } };
    struct sharr_stats s;
    struct format_table *t;
    char arrays[96], bytes[128], conns[24], atts[24], vol[96], per[96], pid[16], up[48];
    char damaged[24], grown[FORMAT_SIZE_MAX + 32], memory[3 * FORMAT_SIZE_MAX + 48];
    char s1[FORMAT_SIZE_MAX], s2[FORMAT_SIZE_MAX], s3[FORMAT_SIZE_MAX];
    const char *values[1], *pos[1] = { 0 };
    unsigned flags;
    int npos = 0, rc, status = 0;

    rc = cli_parse(cli, spec, 1, &flags, values, pos, 0, &npos);
    if (rc != 0)
        return rc < 0 ? 0 : rc;
    if (cli_connect(cli) != 0)
        return CLI_EXIT_FAIL;
    rc = sharr_stats(cli->conn, &s);
    if (rc < 0)
        return cli_fail("stats", rc);
    if (flags & 1u) {
        printf("{\"arrays\": %" PRIu64 ", \"arrays_volatile\": %" PRIu64
               ", \"arrays_persistent\": %" PRIu64 ", \"bytes\": %" PRIu64
               ", \"bytes_volatile\": %" PRIu64 ", \"bytes_persistent\": %" PRIu64
               ", \"connections\": %" PRIu64 ", \"attachments\": %" PRIu64
               ", \"persist_capacity\": %" PRIu64 ", \"persist_free\": %" PRIu64
               ", \"volatile_capacity\": %" PRIu64 ", \"volatile_free\": %" PRIu64
               ", \"pid\": %" PRIu32 ", \"uptime_ms\": %" PRId64
               ", \"volatile_limit\": %" PRIu64 ", \"volatile_limit_per_uid\": %" PRIu64
               ", \"volatile_reserved\": %" PRIu64 ", \"bytes_grown\": %" PRIu64
               ", \"arrays_damaged\": %" PRIu64 "}\n",
               s.arrays, s.arrays_volatile, s.arrays_persistent, s.bytes, s.bytes_volatile,
               s.bytes_persistent, s.connections, s.attachments, s.persist_capacity,
               s.persist_free, s.volatile_capacity, s.volatile_free, s.pid, s.uptime_ms,
               s.volatile_limit, s.volatile_limit_per_uid, s.volatile_reserved, s.bytes_grown,
               s.arrays_damaged);
        return 0;
    }
    snprintf(arrays, sizeof(arrays), "%" PRIu64 " (%" PRIu64 " volatile, %" PRIu64
             " persistent)", s.arrays, s.arrays_volatile, s.arrays_persistent);
    snprintf(bytes, sizeof(bytes), "%s (%s volatile, %s persistent)",
             format_size(s.bytes, s1, sizeof(s1)), format_size(s.bytes_volatile, s2, sizeof(s2)),
             format_size(s.bytes_persistent, s3, sizeof(s3)));
    snprintf(memory, sizeof(memory), "%s in use of %s (at most %s per uid)",
             format_size(s.volatile_reserved, s1, sizeof(s1)),
             s.volatile_limit ? format_size(s.volatile_limit, s2, sizeof(s2)) : "no limit",
             s.volatile_limit_per_uid ? format_size(s.volatile_limit_per_uid, s3, sizeof(s3))
                                      : "no limit");
    snprintf(grown, sizeof(grown), "%s grown beyond their data",
             format_size(s.bytes_grown, s1, sizeof(s1)));
    snprintf(conns, sizeof(conns), "%" PRIu64, s.connections);
    snprintf(atts, sizeof(atts), "%" PRIu64, s.attachments);
    snprintf(pid, sizeof(pid), "%" PRIu32, s.pid);
    snprintf(damaged, sizeof(damaged), "%" PRIu64, s.arrays_damaged);
    {
        const char *rows[][2] = {
            { "arrays", arrays },
            { "damaged arrays", damaged },
            { "bytes", bytes },
            { "volatile memory", memory },
            { "persistent files", grown },
            { "connections", conns },
            { "attachments", atts },
            { "volatile store",
              format_space(s.volatile_free, s.volatile_capacity, vol, sizeof(vol)) },
            { "persistent store",
              format_space(s.persist_free, s.persist_capacity, per, sizeof(per)) },
            { "daemon pid", pid },
            { "uptime", format_duration_ms(s.uptime_ms, up, sizeof(up)) },
        };

        t = format_table_new("ll");
        for (size_t i = 0; t != NULL && i < sizeof(rows) / sizeof(rows[0]); i++) {
            if (format_table_add(t, rows[i]) < 0) {
                format_table_free(t);
                t = NULL;
            }
        }
    }
    if (t == NULL) {
        fprintf(stderr, "sharr: stats: out of memory\n");
        status = CLI_EXIT_FAIL;
    } else {
        format_table_print(t, stdout);
    }
    format_table_free(t);
    return status;
}
/* --owner USER (a name or a uid) into *ret_uid; 0 or a usage error status. */
static int cli_parse_owner(const char *s, uint32_t *ret_uid)
{
    char err[256];

    if (owner_parse_user(s, ret_uid, err, sizeof(err)) < 0)
        return cli_usage_error("--owner: %s", err);
    return 0;
}

/* Flush a persistent array to disk: every process's writes through shared mappings
 * are in the page cache, so the daemon's fsync makes them all durable. */
static int cli_sync(struct cli *cli)
{
    static const struct cli_opt spec[] = { { "owner", 1, 0 } };
    char what[SHARR_NAME_MAX + 8];
    const char *values[1], *pos[1] = { 0 };
    struct sharr_open_opts o = { .size = sizeof(o), .flags = SHARR_F_NOMAP };
    sharr_array_t *a = NULL;
    unsigned flags;
    int npos = 0, rc;

    rc = cli_parse(cli, spec, 1, &flags, values, pos, 1, &npos);
    if (rc != 0)
        return rc < 0 ? 0 : rc;
    if (npos != 1)
        return cli_usage_error("%s needs the NAME of an array", "sync");
    if (flags & 1u) {
        rc = cli_parse_owner(values[0], &o.owner);
        if (rc != 0)
            return rc;
        o.flags |= SHARR_F_OWNER;
    }
    snprintf(what, sizeof(what), "sync %s", pos[0]);
    if (cli_connect(cli) != 0)
        return CLI_EXIT_FAIL;
    rc = sharr_open(cli->conn, pos[0], "r", &o, &a);
    if (rc == 0)
        rc = sharr_sync(a);
    if (rc < 0) {
        sharr_close(a);
        return cli_fail(what, rc);
    }
    rc = sharr_close(a);
    return rc < 0 ? cli_fail(what, rc) : 0;
}

/* --perm MODE as octal 1..07777 into *ret; 0 or a usage error status. */
static int cli_parse_perm(const char *s, uint32_t *ret)
{
    char *end;
    unsigned long v = strtoul(s, &end, 8);

    if (s[0] == '\0' || *end != '\0' || v == 0 || v > 07777)
        return cli_usage_error("--perm '%s' is not an octal mode like 0640", s);
    *ret = (uint32_t)v;
    return 0;
}

/* import --move: the daemon takes FILE itself; say what became of it. */
static int cli_import_move(struct cli *cli, const char *path, const char *name,
                           const struct sharr_create_opts *opts)
{
    struct sharr_info info;
    char err[512];
    int unlink_err, rc;

    rc = transfer_move(cli->conn, path, name, opts, &info, &unlink_err, err, sizeof(err));
    if (rc < 0) {
        fprintf(stderr, "sharr: import %s: %s (%s)\n", name, err, sharr_err_name(rc));
        return CLI_EXIT_FAIL;
    }
    printf("moved %s to persistent array %s (%s, %" PRIu64 " bytes of data at byte %" PRIu64
           " of %s), no data copied\n", path, info.name, info.dtype, info.nbytes, info.offset,
           info.path);
    if (unlink_err != 0) {
        fprintf(stderr, "sharr: import %s: the array is made, but %s could not be removed "
                "(%s): it still names the array's file; remove it yourself\n", name, path,
                strerror(unlink_err));
        return CLI_EXIT_FAIL;
    }
    return 0;
}

static int cli_import(struct cli *cli)
{
    enum { DTYPE, SHAPE, OFFSET, ORDER, PERSIST, PERM, OVERWRITE, MOVE };
    static const struct cli_opt spec[] = {
        { "dtype", 1, 0 }, { "shape", 1, 0 }, { "offset", 1, 0 }, { "order", 1, 0 },
        { "persist", 0, 0 }, { "perm", 1, 0 }, { "overwrite", 0, 0 }, { "move", 0, 0 },
    };
    const unsigned raw = (1u << DTYPE) | (1u << SHAPE) | (1u << OFFSET) | (1u << ORDER);
    struct transfer_import how = { .opts = SHARR_CREATE_OPTS_INIT };
    const char *values[8] = { 0 }, *pos[2] = { 0 };
    char what[SHARR_NAME_MAX + 16], err[512];
    unsigned flags;
    int npos = 0, rc;

    rc = cli_parse(cli, spec, 8, &flags, values, pos, 2, &npos);
    if (rc != 0)
        return rc < 0 ? 0 : rc;
    if (npos != 2)
        return cli_usage_error("%s needs a FILE and the NAME of the new array", "import");
    if ((flags & (1u << MOVE)) && (flags & raw))
        return cli_usage_error("--move keeps FILE as it is, and raw data has no .npy header "
                               "to keep: import a raw file without --move to copy it");
    if (!(flags & (1u << DTYPE)) != !(flags & (1u << SHAPE)))
        return cli_usage_error("import of raw data needs both --dtype and --shape");
    if ((flags & ((1u << OFFSET) | (1u << ORDER))) && !(flags & (1u << DTYPE)))
        return cli_usage_error("--offset and --order describe raw data: give --dtype and "
                               "--shape too");
    if (flags & (1u << DTYPE)) {
        how.dtype = values[DTYPE];
        rc = cli_parse_shape(values[SHAPE], &how.ndim, how.shape);
        if (rc != 0)
            return rc;
    }
    if (flags & (1u << OFFSET)) {
        char *end;

        errno = 0;
        how.offset = strtoull(values[OFFSET], &end, 10);
        if (errno != 0 || values[OFFSET][0] < '0' || values[OFFSET][0] > '9' || *end != '\0')
            return cli_usage_error("--offset '%s' is not a byte count", values[OFFSET]);
    }
    if (flags & (1u << ORDER)) {
        if (strcmp(values[ORDER], "C") != 0 && strcmp(values[ORDER], "F") != 0)
            return cli_usage_error("--order '%s' is not C or F", values[ORDER]);
        how.order = values[ORDER][0];
    }
    if ((flags & (1u << PERM)) && (rc = cli_parse_perm(values[PERM], &how.opts.perm)) != 0)
        return rc;
    how.opts.persist = (flags & (1u << PERSIST)) != 0;
    how.opts.overwrite = (flags & (1u << OVERWRITE)) != 0;
    how.progress = isatty(STDERR_FILENO) ? stderr : NULL;
    snprintf(what, sizeof(what), "import %s", pos[1]);
    if (cli_connect(cli) != 0)
        return CLI_EXIT_FAIL;
    if (flags & (1u << MOVE))
        return cli_import_move(cli, pos[0], pos[1], &how.opts);
    rc = transfer_import(cli->conn, pos[0], pos[1], &how, err, sizeof(err));
    if (rc < 0) {
        fprintf(stderr, "sharr: %s: %s (%s)\n", what, err, sharr_err_name(rc));
        return CLI_EXIT_FAIL;
    }
    return 0;
}

static int cli_export(struct cli *cli)
{
    static const struct cli_opt spec[] = { { "force", 0, 'f' }, { "owner", 1, 0 } };
    const char *values[2], *pos[2] = { 0 };
    char what[SHARR_NAME_MAX + 16], err[512];
    uint32_t owner = 0;
    unsigned flags;
    int npos = 0, rc;

    rc = cli_parse(cli, spec, 2, &flags, values, pos, 2, &npos);
    if (rc != 0)
        return rc < 0 ? 0 : rc;
    if (npos != 2)
        return cli_usage_error("%s needs the NAME of an array and a FILE", "export");
    if ((flags & 2u) && (rc = cli_parse_owner(values[1], &owner)) != 0)
        return rc;
    snprintf(what, sizeof(what), "export %s", pos[0]);
    if (cli_connect(cli) != 0)
        return CLI_EXIT_FAIL;
    rc = transfer_export(cli->conn, pos[0], pos[1], (flags & 1u) != 0,
                         (flags & 2u) ? &owner : NULL, isatty(STDERR_FILENO) ? stderr : NULL,
                         err, sizeof(err));
    if (rc < 0) {
        fprintf(stderr, "sharr: %s: %s (%s)\n", what, err, sharr_err_name(rc));
        return CLI_EXIT_FAIL;
    }
    return 0;
}

/* chmod MODE NAME and chown USER[:GROUP] NAME (owner.c reads MODE and USER[:GROUP]). */
static int cli_chperm(struct cli *cli, bool chown)
{
    char what[SHARR_NAME_MAX + 8], err[256];
    const char *values[1], *pos[2] = { 0 };
    uint32_t perm = 0, uid = 0, gid = 0;
    unsigned flags;
    int npos = 0, rc;

    rc = cli_parse(cli, NULL, 0, &flags, values, pos, 2, &npos);
    if (rc != 0)
        return rc < 0 ? 0 : rc;
    if (npos != 2)
        return cli_usage_error("%s needs %s and the NAME of an array", cli->cmd,
                               chown ? "USER[:GROUP]" : "a MODE");
    rc = chown ? owner_parse(pos[0], &uid, &gid, err, sizeof(err))
               : owner_parse_mode(pos[0], &perm, err, sizeof(err));
    if (rc < 0)
        return cli_usage_error("%s: %s", cli->cmd, err);
    snprintf(what, sizeof(what), "%s %s", cli->cmd, pos[1]);
    if (cli_connect(cli) != 0)
        return CLI_EXIT_FAIL;
    rc = chown ? sharr_chown(cli->conn, pos[1], uid, gid) : sharr_chmod(cli->conn, pos[1], perm);
    return rc < 0 ? cli_fail(what, rc) : 0;
}

static int cli_chmod(struct cli *cli)
{
    return cli_chperm(cli, false);
}

static int cli_chown(struct cli *cli)
{
    return cli_chperm(cli, true);
}

static int cli_top(struct cli *cli)
{
    static const struct cli_opt spec[] = { { "json", 0, 0 } };
    const char *values[1], *pos[1] = { 0 };
    unsigned flags;
    int npos = 0, rc;

    rc = cli_parse(cli, spec, 1, &flags, values, pos, 0, &npos);
    if (rc != 0)
        return rc < 0 ? 0 : rc;
    if (cli_connect(cli) != 0)
        return CLI_EXIT_FAIL;
    rc = top_report(cli->conn, (flags & 1u) != 0, stdout);
    if (rc < 0)
        return cli_fail(cli->cmd, rc);
    return 0;
}

static const struct {
    const char *name;
    int (*run)(struct cli *cli);
} cli_commands[] = {
    { "ping", cli_ping }, { "ls", cli_ls }, { "info", cli_info },
    { "create", cli_create }, { "rm", cli_rm }, { "stats", cli_stats },
    { "top", cli_top }, { "ps", cli_top }, { "import", cli_import }, { "export", cli_export },
    { "sync", cli_sync }, { "chmod", cli_chmod }, { "chown", cli_chown },
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
