/* edit.c — the commands that make, change, move or remove arrays: create, rm, sync,
 * import, export, chmod and chown, with the readers of their option values (shape,
 * permission bits, owner). The copying of files is transfer.c's; users, groups and
 * modes are read by owner.c.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"
#include "edit.h"
#include "owner.h"
#include "sharr.h"
#include "transfer.h"

/* "100,200" -> shape; 0 or a usage error status. */
static int edit_parse_shape(const char *s, int *ret_ndim, uint64_t *shape)
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

/* --perm MODE, an octal mode as chmod takes it (owner_parse_mode) but not 0, into *ret;
 * 0 or a usage error status. */
static int edit_parse_perm(const char *s, uint32_t *ret)
{
    char err[128];

    if (owner_parse_mode(s, ret, err, sizeof(err)) < 0)
        return cli_usage_error("--perm %s", err);
    if (*ret == 0)
        return cli_usage_error("--perm '%s': a new array needs some permission bits "
                               "(without --perm it gets 0600)", s);
    return 0;
}

/* --order C|F into *ret; 0 or a usage error status. */
static int edit_parse_order(const char *s, char *ret)
{
    if (strcmp(s, "C") != 0 && strcmp(s, "F") != 0)
        return cli_usage_error("--order '%s' is not C or F", s);
    *ret = s[0];
    return 0;
}

/* --max-len N (the length a volatile array's growing axis may reach) into *ret; 0 or
 * a usage error status. */
static int edit_parse_max_len(const char *s, uint64_t *ret)
{
    unsigned long long v;
    char *end;

    errno = 0;
    v = strtoull(s, &end, 10);
    if (s[0] < '0' || s[0] > '9' || errno != 0 || *end != '\0')
        return cli_usage_error("--max-len '%s' is not a length (a whole number of rows)", s);
    *ret = v;
    return 0;
}

int edit_create(struct cli *cli)
{
    enum { DTYPE, SHAPE, PERSIST, PERM, ORDER, OVERWRITE, MAX_LEN };
    static const struct cli_opt spec[] = {
        { "dtype", 1, 0 }, { "shape", 1, 0 }, { "persist", 0, 0 },
        { "perm", 1, 0 }, { "order", 1, 0 }, { "overwrite", 0, 0 }, { "max-len", 1, 0 },
    };
    struct sharr_create_opts opts = { .size = sizeof(opts), .flags = SHARR_F_NOMAP };
    uint64_t shape[SHARR_NDIM_MAX];
    sharr_array_t *a = NULL;
    char what[SHARR_NAME_MAX + 8];
    const char *values[7] = { 0 }, *pos[1] = { 0 };
    unsigned flags;
    int ndim = 0, rc;

    rc = cli_parse(cli, spec, 7, &flags, values, pos, 1, "the NAME of the array");
    if (rc != 0)
        return rc < 0 ? 0 : rc;
    if (!(flags & (1u << DTYPE)) || !(flags & (1u << SHAPE)))
        return cli_usage_error("%s needs --dtype and --shape", "create");
    rc = edit_parse_shape(values[SHAPE], &ndim, shape);
    if (rc != 0)
        return rc;
    if ((flags & (1u << PERM)) && (rc = edit_parse_perm(values[PERM], &opts.perm)) != 0)
        return rc;
    if ((flags & (1u << ORDER)) && (rc = edit_parse_order(values[ORDER], &opts.order)) != 0)
        return rc;
    if ((flags & (1u << MAX_LEN)) &&
        (rc = edit_parse_max_len(values[MAX_LEN], &opts.max_len)) != 0)
        return rc;
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

int edit_rm(struct cli *cli)
{
    char what[SHARR_NAME_MAX + 8];
    const char *values[1], *pos[1] = { 0 };
    unsigned flags;
    int rc;

    rc = cli_parse(cli, NULL, 0, &flags, values, pos, 1, "the NAME of an array");
    if (rc != 0)
        return rc < 0 ? 0 : rc;
    snprintf(what, sizeof(what), "rm %s", pos[0]);
    if (cli_connect(cli) != 0)
        return CLI_EXIT_FAIL;
    rc = sharr_unlink(cli->conn, pos[0]);
    if (rc < 0)
        return cli_fail(what, rc);
    return 0;
}

/* --owner USER (a name or a uid) into *ret_uid; 0 or a usage error status. */
static int edit_parse_owner(const char *s, uint32_t *ret_uid)
{
    char err[256];

    if (owner_parse_user(s, ret_uid, err, sizeof(err)) < 0)
        return cli_usage_error("--owner: %s", err);
    return 0;
}

/* Flush a persistent array to disk: every process's writes through shared mappings
 * are in the page cache, so the daemon's fsync makes them all durable. */
int edit_sync(struct cli *cli)
{
    static const struct cli_opt spec[] = { { "owner", 1, 0 } };
    char what[SHARR_NAME_MAX + 8];
    const char *values[1], *pos[1] = { 0 };
    struct sharr_open_opts o = { .size = sizeof(o), .flags = SHARR_F_NOMAP };
    sharr_array_t *a = NULL;
    unsigned flags;
    int rc;

    rc = cli_parse(cli, spec, 1, &flags, values, pos, 1, "the NAME of an array");
    if (rc != 0)
        return rc < 0 ? 0 : rc;
    if (flags & 1u) {
        rc = edit_parse_owner(values[0], &o.owner);
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

/* import --move: the daemon takes FILE itself; say what became of it. */
static int edit_import_move(struct cli *cli, const char *path, const char *name,
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

int edit_import(struct cli *cli)
{
    enum { DTYPE, SHAPE, OFFSET, ORDER, PERSIST, PERM, OVERWRITE, MOVE, MAX_LEN };
    static const struct cli_opt spec[] = {
        { "dtype", 1, 0 }, { "shape", 1, 0 }, { "offset", 1, 0 }, { "order", 1, 0 },
        { "persist", 0, 0 }, { "perm", 1, 0 }, { "overwrite", 0, 0 }, { "move", 0, 0 },
        { "max-len", 1, 0 },
    };
    const unsigned raw = (1u << DTYPE) | (1u << SHAPE) | (1u << OFFSET) | (1u << ORDER);
    struct transfer_import how = { .opts = SHARR_CREATE_OPTS_INIT };
    const char *values[9] = { 0 }, *pos[2] = { 0 };
    char what[SHARR_NAME_MAX + 16], err[512];
    unsigned flags;
    int rc;

    rc = cli_parse(cli, spec, 9, &flags, values, pos, 2, "a FILE and the NAME of the new array");
    if (rc != 0)
        return rc < 0 ? 0 : rc;
    if ((flags & (1u << MOVE)) && (flags & raw))
        return cli_usage_error("--move keeps FILE as it is, and raw data has no .npy header "
                               "to keep: import a raw file without --move to copy it");
    if ((flags & (1u << MOVE)) && (flags & (1u << MAX_LEN)))
        return cli_usage_error("--max-len sets a volatile array's room to grow, and --move "
                               "makes a persistent one (which grows as far as quotas allow)");
    if (!(flags & (1u << DTYPE)) != !(flags & (1u << SHAPE)))
        return cli_usage_error("import of raw data needs both --dtype and --shape");
    if ((flags & ((1u << OFFSET) | (1u << ORDER))) && !(flags & (1u << DTYPE)))
        return cli_usage_error("--offset and --order describe raw data: give --dtype and "
                               "--shape too");
    if (flags & (1u << DTYPE)) {
        how.dtype = values[DTYPE];
        rc = edit_parse_shape(values[SHAPE], &how.ndim, how.shape);
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
    if ((flags & (1u << ORDER)) && (rc = edit_parse_order(values[ORDER], &how.order)) != 0)
        return rc;
    if ((flags & (1u << PERM)) && (rc = edit_parse_perm(values[PERM], &how.opts.perm)) != 0)
        return rc;
    if ((flags & (1u << MAX_LEN)) &&
        (rc = edit_parse_max_len(values[MAX_LEN], &how.opts.max_len)) != 0)
        return rc;
    how.opts.persist = (flags & (1u << PERSIST)) != 0;
    how.opts.overwrite = (flags & (1u << OVERWRITE)) != 0;
    how.progress = isatty(STDERR_FILENO) ? stderr : NULL;
    snprintf(what, sizeof(what), "import %s", pos[1]);
    if (cli_connect(cli) != 0)
        return CLI_EXIT_FAIL;
    if (flags & (1u << MOVE))
        return edit_import_move(cli, pos[0], pos[1], &how.opts);
    rc = transfer_import(cli->conn, pos[0], pos[1], &how, err, sizeof(err));
    if (rc < 0) {
        fprintf(stderr, "sharr: %s: %s (%s)\n", what, err, sharr_err_name(rc));
        return CLI_EXIT_FAIL;
    }
    return 0;
}

int edit_export(struct cli *cli)
{
    static const struct cli_opt spec[] = { { "force", 0, 'f' }, { "owner", 1, 0 } };
    const char *values[2], *pos[2] = { 0 };
    char what[SHARR_NAME_MAX + 16], err[512];
    uint32_t owner = 0;
    unsigned flags;
    int rc;

    rc = cli_parse(cli, spec, 2, &flags, values, pos, 2, "the NAME of an array and a FILE");
    if (rc != 0)
        return rc < 0 ? 0 : rc;
    if ((flags & 2u) && (rc = edit_parse_owner(values[1], &owner)) != 0)
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
static int edit_chperm(struct cli *cli, bool chown)
{
    char what[SHARR_NAME_MAX + 8], err[256];
    const char *values[1], *pos[2] = { 0 };
    uint32_t perm = 0, uid = 0, gid = 0;
    unsigned flags;
    int rc;

    rc = cli_parse(cli, NULL, 0, &flags, values, pos, 2,
                   chown ? "USER[:GROUP] and the NAME of an array"
                         : "a MODE and the NAME of an array");
    if (rc != 0)
        return rc < 0 ? 0 : rc;
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

int edit_chmod(struct cli *cli)
{
    return edit_chperm(cli, false);
}

int edit_chown(struct cli *cli)
{
    return edit_chperm(cli, true);
}
