/* watch.c — the sharr watch command: a watch (sharr_watch_open) polled in a loop, each
 * event printed as one line and flushed at once, so a pipe or a log follows it live:
 * "KIND NAME DTYPE SHAPE PERM USER" (an overflow says how many events were lost), or
 * with --json one object per line.
 */
#include "watch.h"

#include <errno.h>
#include <inttypes.h>
#include <poll.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "format.h"

static void watch_print(const struct sharr_event *ev, bool json)
{
    const struct sharr_info *in = &ev->info;
    char shape[FORMAT_SHAPE_MAX], user[FORMAT_USER_MAX];

    if (json) {
        printf("{\"event\": \"%s\", ", sharr_event_name(ev->kind));
        if (ev->kind == SHARR_EVENT_OVERFLOW) {
            printf("\"lost\": %" PRIu64 "}\n", ev->lost);
        } else {
            printf("\"array\": ");
            format_json_info(stdout, in, NULL);
            printf("}\n");
        }
    } else if (ev->kind == SHARR_EVENT_OVERFLOW) {
        printf("overflow %" PRIu64 " events lost: list again to catch up\n", ev->lost);
    } else {
        printf("%s %s %s %s %04o %s %s\n", sharr_event_name(ev->kind), in->name, in->dtype,
               format_shape(in->ndim, in->shape, shape, sizeof(shape)), (unsigned)in->perm,
               format_user(in->uid, user, sizeof(user)), in->persist ? "persistent" : "volatile");
    }
    fflush(stdout);
}

int watch_run(struct cli *cli)
{
    static const struct cli_opt spec[] = { { "json", 0, 0 } };
    const char *values[1], *pos[1] = { "" };
    struct sharr_event ev;
    sharr_watch_t *w = NULL;
    unsigned flags;
    int npos = 0, rc;

    for (int i = 1; i < cli->nargs; i++)
        npos += cli->args[i][0] != '-' || cli->args[i][1] == '\0';
    if (npos > 1)
        return cli_usage_error("watch takes at most one PREFIX");
    rc = cli_parse(cli, spec, 1, &flags, values, pos, npos, "PREFIX");
    if (rc != 0)
        return rc < 0 ? 0 : rc;
    if (cli_connect(cli) != 0)
        return CLI_EXIT_FAIL;
    rc = sharr_watch_open(cli->conn, pos[0], &w);
    if (rc < 0)
        return cli_fail("watch", rc);
    for (;;) {
        struct pollfd p = { .fd = sharr_watch_fd(w), .events = POLLIN };

        while ((rc = sharr_watch_next(w, &ev)) == 1)
            watch_print(&ev, (flags & 1u) != 0);
        if (rc < 0)
            break;
        if (poll(&p, 1, -1) < 0 && errno != EINTR) {
            rc = -errno;
            break;
        }
    }
    sharr_watch_close(w);
    return cli_fail("watch", rc);
}
