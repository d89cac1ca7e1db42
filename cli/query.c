/* query.c — the commands that print what sharrd holds and does not change it: ping,
 * ls, info, stats and top (ps), as aligned text for people or JSON for scripts. The
 * tables and value formats are format.c's; the holders of arrays are top.c's.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "cli.h"
#include "format.h"
#include "query.h"
#include "sharr.h"
#include "top.h"

#define CLI_LIST_PAGE 256

static double query_now_ms(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

int query_ping(struct cli *cli)
{
    static const struct cli_opt spec[] = { { "json", 0, 0 } };
    struct sharr_server srv;
    struct sharr_stats st;
    char path[SHARR_SOCKET_MAX];
    const char *pos[1] = { 0 };
    const char *values[1];
    unsigned flags;
    double t0, t1;
    int rc;

    rc = cli_parse(cli, spec, 1, &flags, values, pos, 0, NULL);
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
    t0 = query_now_ms();
    rc = sharr_stats(cli->conn, &st);
    t1 = query_now_ms();
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
static int query_ls_row(struct format_table *t, const struct sharr_info *in,
                        const struct top_holders *hs)
{
    char shape[FORMAT_SHAPE_MAX], size[FORMAT_SIZE_MAX], user[FORMAT_USER_MAX];
    char perm[8], attached[16], held[512];
    char pages[FORMAT_SIZE_MAX];
    const char *cells[10];

    snprintf(perm, sizeof(perm), "%04o", (unsigned)in->perm);
    snprintf(attached, sizeof(attached), "%" PRIu32, in->nattached);
    cells[0] = in->name;
    cells[1] = in->dtype;
    cells[2] = format_shape(in->ndim, in->shape, shape, sizeof(shape));
    cells[3] = format_size(in->nbytes, size, sizeof(size));
    cells[4] = in->published ? (in->persist ? "persistent,published" : "volatile,published")
               : in->persist ? "persistent" : "volatile";
    cells[5] = in->page_size ? format_size(in->page_size, pages, sizeof(pages)) : "-";
    cells[6] = perm;
    cells[7] = format_user(in->uid, user, sizeof(user));
    cells[8] = attached;
    cells[9] = top_holders_brief(hs, in->name, held, sizeof(held));
    return format_table_add(t, cells);
}

int query_ls(struct cli *cli)
{
    static const struct cli_opt spec[] = { { "long", 0, 'l' }, { "json", 0, 0 } };
    static const char *const header[] = { "NAME", "DTYPE", "SHAPE", "SIZE", "KIND", "PAGES",
                                          "PERM", "OWNER", "ATTACHED", "HELD BY" };
    struct top_holders hs = { 0 };
    struct sharr_info *page = NULL;
    struct format_table *table = NULL;
    char after[SHARR_NAME_MAX + 1] = "";
    const char *values[2], *pos[1] = { 0 };
    unsigned flags;
    bool json, lng, first = true;
    int more, rc, status = 0;

    rc = cli_parse(cli, spec, 2, &flags, values, pos, 0, NULL);
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
    table = format_table_new("lllrlrllrl");
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
                    top_json_info(stdout, &page[i], NULL, &hs);
                else
                    format_json_info(stdout, &page[i], NULL);
            } else if (lng) {
                if (query_ls_row(table, &page[i], &hs) < 0) {
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

/* Print rows of (label, value) as two aligned columns on stdout: 0, or the failure exit
 * status after saying "sharr: <what>: out of memory" when the table cannot be built. */
static int query_print_pairs(const char *(*rows)[2], size_t n, const char *what)
{
    struct format_table *t = format_table_new("ll");
    int status = 0;

    for (size_t i = 0; t != NULL && i < n; i++) {
        if (format_table_add(t, rows[i]) < 0) {
            format_table_free(t);
            t = NULL;
        }
    }
    if (t == NULL) {
        fprintf(stderr, "sharr: %s: out of memory\n", what);
        status = CLI_EXIT_FAIL;
    } else {
        format_table_print(t, stdout);
    }
    format_table_free(t);
    return status;
}

int query_info(struct cli *cli)
{
    static const struct cli_opt spec[] = { { "json", 0, 0 } };
    struct sharr_info in;
    char what[SHARR_NAME_MAX + 8];
    char shape[FORMAT_SHAPE_MAX], size[FORMAT_SIZE_MAX + 32], user[FORMAT_USER_MAX + 48];
    char uname[FORMAT_USER_MAX], when[FORMAT_TIME_MAX], perm[8], attached[16];
    char grown[FORMAT_SIZE_MAX], state[FORMAT_SIZE_MAX + 160], pages[FORMAT_SIZE_MAX + 16];
    char psize[FORMAT_SIZE_MAX];
    char descr[SHARR_DESCR_MAX + 1];
    struct top_holders hs = { 0 };
    const char *values[1], *pos[1] = { 0 };
    unsigned flags;
    int rc, status = 0;

    rc = cli_parse(cli, spec, 1, &flags, values, pos, 1, "the NAME of an array");
    if (rc != 0)
        return rc < 0 ? 0 : rc;
    snprintf(what, sizeof(what), "info %s", pos[0]);
    if (cli_connect(cli) != 0)
        return CLI_EXIT_FAIL;
    rc = sharr_describe(cli->conn, pos[0], &in, descr, sizeof(descr));
    if (rc >= 0)
        rc = top_holders_fetch(cli->conn, pos[0], &hs);
    if (rc < 0) {
        top_holders_free(&hs);
        return cli_fail(what, rc);
    }
    if (flags & 1u) {
        top_json_info(stdout, &in, descr, &hs);
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
    if (in.page_size)
        snprintf(pages, sizeof(pages), "%s%s", format_size(in.page_size, psize, sizeof(psize)),
                 in.page_size > (uint32_t)sysconf(_SC_PAGESIZE) ? " (huge pages)" : "");
    snprintf(state, sizeof(state), "%s%s%s%s%s", in.damaged ? "damaged: its file is shorter "
             "than its data (touching the rest raises SIGBUS)" : "",
             in.damaged && in.grown ? "; " : "", in.grown ? "its file has grown by " : "",
             in.grown ? grown : "", in.grown ? " beyond its data (counted in the owner's "
             "quota)" : "");
    {
        const char order[2] = { in.order, '\0' };
        const char *rows[][2] = {
            { "name", in.name },
            { "dtype", descr },
            { "shape", format_shape(in.ndim, in.shape, shape, sizeof(shape)) },
            { "order", order },
            { "size", size },
            { "kind", in.persist ? "persistent" : "volatile" },
            { "pages", in.page_size ? pages : "-" },
            { "published", in.published ? "yes: complete and immutable" : "no" },
            { "path", in.path[0] != '\0' ? in.path : "-" },
            { "perm", perm },
            { "owner", user },
            { "created", format_time_ns(in.ctime_ns, when, sizeof(when)) },
            { "attached", attached },
            { "state", state[0] ? state : "ok" },
        };

        status = query_print_pairs(rows, sizeof(rows) / sizeof(rows[0]), what);
    }
    if (status == 0 && hs.n > 0) {
        fputs("\nattached processes:\n", stdout);
        top_holders_table(stdout, &hs, in.name);
    }
    top_holders_free(&hs);
    return status;
}

/* The start of a command whose only option is --json: parse it into *ret_json and
 * connect. Returns 0 to go on, -1 when --help was shown, else the exit status. */
static int query_start_json(struct cli *cli, bool *ret_json)
{
    static const struct cli_opt spec[] = { { "json", 0, 0 } };
    const char *values[1], *pos[1] = { 0 };
    unsigned flags;
    int rc;

    rc = cli_parse(cli, spec, 1, &flags, values, pos, 0, NULL);
    if (rc != 0)
        return rc;
    if (cli_connect(cli) != 0)
        return CLI_EXIT_FAIL;
    *ret_json = (flags & 1u) != 0;
    return 0;
}

int query_stats(struct cli *cli)
{
    struct sharr_stats s;
    char arrays[96], bytes[128], conns[24], atts[24], vol[96], per[96], pid[16], up[48];
    char damaged[24], grown[FORMAT_SIZE_MAX + 96], memory[3 * FORMAT_SIZE_MAX + 48];
    char huge[2 * FORMAT_SIZE_MAX + 48];
    char s1[FORMAT_SIZE_MAX], s2[FORMAT_SIZE_MAX], s3[FORMAT_SIZE_MAX];
    bool json;
    int rc;

    rc = query_start_json(cli, &json);
    if (rc != 0)
        return rc < 0 ? 0 : rc;
    rc = sharr_stats(cli->conn, &s);
    if (rc < 0)
        return cli_fail("stats", rc);
    if (json) {
        printf("{\"arrays\": %" PRIu64 ", \"arrays_volatile\": %" PRIu64
               ", \"arrays_persistent\": %" PRIu64 ", \"bytes\": %" PRIu64
               ", \"bytes_volatile\": %" PRIu64 ", \"bytes_persistent\": %" PRIu64
               ", \"connections\": %" PRIu64 ", \"attachments\": %" PRIu64
               ", \"persist_capacity\": %" PRIu64 ", \"persist_free\": %" PRIu64
               ", \"volatile_capacity\": %" PRIu64 ", \"volatile_free\": %" PRIu64
               ", \"pid\": %" PRIu32 ", \"uptime_ms\": %" PRId64
               ", \"volatile_limit\": %" PRIu64 ", \"volatile_limit_per_uid\": %" PRIu64
               ", \"volatile_reserved\": %" PRIu64 ", \"bytes_grown\": %" PRIu64
               ", \"arrays_damaged\": %" PRIu64 ", \"watches\": %" PRIu64
               ", \"queued_bytes\": %" PRIu64 ", \"requests\": %" PRIu64
               ", \"volatile_huge\": %" PRIu64 ", \"huge_page_size\": %" PRIu64
               ", \"arrays_watched\": %" PRIu64 ", \"sweeps\": %" PRIu64 "}\n",
               s.arrays, s.arrays_volatile, s.arrays_persistent, s.bytes, s.bytes_volatile,
               s.bytes_persistent, s.connections, s.attachments, s.persist_capacity,
               s.persist_free, s.volatile_capacity, s.volatile_free, s.pid, s.uptime_ms,
               s.volatile_limit, s.volatile_limit_per_uid, s.volatile_reserved, s.bytes_grown,
               s.arrays_damaged, s.watches, s.queued_bytes, s.requests, s.volatile_huge,
               s.huge_page_size, s.arrays_watched, s.sweeps);
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
    snprintf(grown, sizeof(grown), "%s grown beyond their data; %" PRIu64 " watched for a "
             "writer (%" PRIu64 " sweeps)", format_size(s.bytes_grown, s1, sizeof(s1)),
             s.arrays_watched, s.sweeps);
    if (s.huge_page_size)
        snprintf(huge, sizeof(huge), "%s in use; new large arrays get %s pages",
                 format_size(s.volatile_huge, s1, sizeof(s1)),
                 format_size(s.huge_page_size, s2, sizeof(s2)));
    else
        snprintf(huge, sizeof(huge), "%s in use; new arrays get small pages",
                 format_size(s.volatile_huge, s1, sizeof(s1)));
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
            { "huge pages", huge },
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

        return query_print_pairs(rows, sizeof(rows) / sizeof(rows[0]), "stats");
    }
}

int query_top(struct cli *cli)
{
    bool json;
    int rc;

    rc = query_start_json(cli, &json);
    if (rc != 0)
        return rc < 0 ? 0 : rc;
    rc = top_report(cli->conn, json, stdout);
    if (rc < 0)
        return cli_fail(cli->cmd, rc);
    return 0;
}
