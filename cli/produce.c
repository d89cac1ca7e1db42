/* produce.c — the sharr CLI's commands of producers and their consumers: publish NAME
 * (complete and immutable), wait NAME [--published] [--timeout S] (until the array
 * exists or is published) and grow NAME N (a longer growing axis).
 */
#include "produce.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "format.h"

int produce_publish(struct cli *cli)
{
    char what[SHARR_NAME_MAX + 16];
    const char *pos[1] = { 0 };
    unsigned flags;
    int rc;

    rc = cli_parse(cli, NULL, 0, &flags, NULL, pos, 1, "the NAME of an array");
    if (rc != 0)
        return rc < 0 ? 0 : rc;
    snprintf(what, sizeof(what), "publish %s", pos[0]);
    if (cli_connect(cli) != 0)
        return CLI_EXIT_FAIL;
    rc = sharr_publish(cli->conn, pos[0], NULL);
    return rc < 0 ? cli_fail(what, rc) : 0;
}

int produce_wait(struct cli *cli)
{
    static const struct cli_opt spec[] = { { "published", 0, 0 }, { "timeout", 1, 0 } };
    struct sharr_open_opts o = { .size = sizeof(o), .wait_ms = -1, .flags = SHARR_F_NOMAP };
    char what[SHARR_NAME_MAX + 16], *end;
    const char *values[2], *pos[1] = { 0 };
    sharr_array_t *a = NULL;
    unsigned flags;
    double s;
    int rc;

    rc = cli_parse(cli, spec, 2, &flags, values, pos, 1, "the NAME of an array");
    if (rc != 0)
        return rc < 0 ? 0 : rc;
    if (flags & 1u)
        o.flags |= SHARR_F_PUBLISHED;
    if (flags & 2u) {
        errno = 0;
        s = strtod(values[1], &end);
        if (errno != 0 || end == values[1] || *end != '\0' || !(s >= 0) || s > 1e9)
            return cli_usage_error("wait: --timeout takes seconds (e.g. 2.5), not '%s'",
                                   values[1]);
        o.wait_ms = (int64_t)(s * 1000);
    }
    snprintf(what, sizeof(what), "wait %s", pos[0]);
    if (cli_connect(cli) != 0)
        return CLI_EXIT_FAIL;
    rc = sharr_open(cli->conn, pos[0], "r", &o, &a);
    if (rc < 0)
        return cli_fail(what, rc);
    rc = sharr_close(a);
    return rc < 0 ? cli_fail(what, rc) : 0;
}

int produce_grow(struct cli *cli)
{
    char what[SHARR_NAME_MAX + 16], *end;
    const char *pos[2] = { 0 };
    unsigned long long n;
    unsigned flags;
    int rc;

    rc = cli_parse(cli, NULL, 0, &flags, NULL, pos, 2, "the NAME of an array and its new length N");
    if (rc != 0)
        return rc < 0 ? 0 : rc;
    errno = 0;
    n = strtoull(pos[1], &end, 10);
    if (errno != 0 || end == pos[1] || *end != '\0' || pos[1][0] == '-' || n == 0)
        return cli_usage_error("grow: N must be a length of at least 1, not '%s'", pos[1]);
    snprintf(what, sizeof(what), "grow %s", pos[0]);
    if (cli_connect(cli) != 0)
        return CLI_EXIT_FAIL;
    rc = sharr_grow(cli->conn, pos[0], n, NULL);
    return rc < 0 ? cli_fail(what, rc) : 0;
}
