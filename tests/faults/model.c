/* model.c — persistent operations run by a test client, the daemon's expected reply
 * and effect, and the check of a name and of the store after a restart (model.h).
 *
 * model_do runs in forked children of any uid, so it reports errors by return value
 * and never asserts.
 */
#include "model.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

const char *model_kind_name(enum model_kind kind)
{
    static const char *const names[MODEL_KINDS] = {
        "create", "overwrite", "chmod", "chown", "unlink", "adopt", "sync", "fill",
        "grow", "publish",
    };
    return kind < MODEL_KINDS ? names[kind] : "?";
}

int model_write_npy(const struct model_op *op)
{
    char dict[128];
    unsigned char head[128];
    uint64_t *data;
    int fd, n, r = 0;

    n = snprintf(dict, sizeof(dict), "{'descr': '<u8', 'fortran_order': False, 'shape': "
                 "(%" PRIu64 ",), }", op->n);
    memset(head, ' ', sizeof(head));
    memcpy(head, "\x93NUMPY\x01\x00", 8);
    head[8] = 118;
    head[9] = 0;
    memcpy(head + 10, dict, (size_t)n);
    head[127] = '\n';
    data = malloc(op->n * 8);
    if (!data)
        return -ENOMEM;
    fault_fill(data, op->n * 8, op->seed);
    fd = open(op->path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    if (fd < 0 || write(fd, head, sizeof(head)) != (ssize_t)sizeof(head)
        || write(fd, data, op->n * 8) != (ssize_t)(op->n * 8))
        r = errno ? -errno : -EIO;
    if (fd >= 0 && close(fd) < 0 && r == 0)
        r = -errno;
    free(data);
    return r;
}

static int model_adopt(sharr_t *c, const struct model_op *op, const struct sharr_create_opts *o)
{
    int r = model_write_npy(op), fd;

    if (r < 0)
        return r;
    fd = open(op->path, O_RDWR | O_CLOEXEC);
    if (fd < 0)
        return -errno;
    r = sharr_adopt(c, op->name, fd, o, NULL);
    close(fd);
    /* The array has the file now; the path was only the way in. */
    if (r == 0)
        unlink(op->path);
    return r;
}

static int model_open_do(sharr_t *c, const struct model_op *op)
{
    sharr_array_t *a = NULL;
    int r = sharr_open(c, op->name, op->kind == MODEL_FILL ? "r+" : "r", NULL, &a);

    if (r < 0)
        return r;
    if (op->kind == MODEL_FILL)
        fault_fill(sharr_array_data(a), sharr_array_info(a)->shape[0] * 8, op->seed);
    r = sharr_sync(a);
    int rc = sharr_close(a);
    return r < 0 ? r : rc;
}

int model_do(sharr_t *c, const struct model_op *op)
{
    const uint64_t shape[1] = { op->n };
    struct sharr_create_opts o = { .size = sizeof(o), .persist = 1, .perm = op->perm };
    sharr_array_t *a = NULL;
    int r;

    switch (op->kind) {
    case MODEL_CREATE:
    case MODEL_OVERWRITE:
        o.overwrite = op->kind == MODEL_OVERWRITE;
        r = sharr_create(c, op->name, "<u8", 1, shape, &o, &a);
        return r < 0 ? r : sharr_close(a);
    case MODEL_CHMOD:
        return sharr_chmod(c, op->name, op->perm);
    case MODEL_CHOWN:
        return sharr_chown(c, op->name, op->uid, op->gid);
    case MODEL_UNLINK:
        return sharr_unlink(c, op->name);
    case MODEL_ADOPT:
        o.overwrite = 1;
        return model_adopt(c, op, &o);
    case MODEL_SYNC:
    case MODEL_FILL:
        return model_open_do(c, op);
    case MODEL_GROW:
        return sharr_grow(c, op->name, op->n, NULL);
    case MODEL_PUBLISH:
        return sharr_publish(c, op->name, NULL);
    default:
        return -EINVAL;
    }
}

int model_expect(const struct model_state *s, const struct model_op *op)
{
    switch (op->kind) {
    case MODEL_FILL:
        return s->published ? -EROFS : 0;
    case MODEL_GROW:
        /* methods_grow.c checks in this order */
        if (s->published)
            return -EROFS;
        return op->n < s->n || s->adopted ? -EINVAL : 0;
    default:
        return 0;
    }
}

struct model_state model_apply(const struct model_state *s, const struct model_op *op,
                               uint32_t uid, uint32_t gid)
{
    struct model_state t = *s;

    if (model_expect(s, op) != 0)
        return t;
    switch (op->kind) {
    case MODEL_CREATE:
    case MODEL_OVERWRITE:
    case MODEL_ADOPT:
        t = (struct model_state){ .exists = 1, .n = op->n, .uid = uid, .gid = gid,
                                  .perm = op->perm,
                                  .seed = op->kind == MODEL_ADOPT ? op->seed : 0,
                                  .nseed = op->n, .adopted = op->kind == MODEL_ADOPT };
        break;
    case MODEL_CHMOD:
        t.perm = op->perm;
        break;
    case MODEL_CHOWN:
        if (op->uid != SHARR_ID_KEEP)
            t.uid = op->uid;
        if (op->gid != SHARR_ID_KEEP)
            t.gid = op->gid;
        break;
    case MODEL_UNLINK:
        t = (struct model_state){ 0 };
        break;
    case MODEL_FILL:
        t.seed = op->seed;
        t.nseed = t.n;
        break;
    case MODEL_GROW:
        t.n = op->n; /* the data stays, the new part is zero */
        break;
    case MODEL_PUBLISH:
        t.published = 1;
        break;
    default:
        break;
    }
    return t;
}

void model_describe(const struct model_state *s, char *out, size_t len)
{
    if (!s->exists)
        snprintf(out, len, "absent");
    else
        snprintf(out, len, "%" PRIu64 " elements, uid %" PRIu32 " gid %" PRIu32 " perm %04"
                 PRIo32 ", data %s%" PRIu64 " over %" PRIu64 " then zero%s%s", s->n, s->uid,
                 s->gid, s->perm, s->seed == MODEL_SEED_ANY ? "any " : "of seed ",
                 s->seed == MODEL_SEED_ANY ? 0 : s->seed, s->nseed,
                 s->published ? ", published" : "", s->adopted ? ", adopted" : "");
}

/* The first nseed of n elements are seed's (or any, or zero), the rest zero. */
static int model_data_is(const void *data, uint64_t n, uint64_t seed, uint64_t nseed)
{
    const uint64_t *w = data;
    uint64_t from = seed == 0 ? 0 : nseed < n ? nseed : n;

    if (seed != 0 && seed != MODEL_SEED_ANY && !fault_check(data, from * 8, seed))
        return 0;
    for (uint64_t i = from; i < n; i++)
        if (w[i] != 0)
            return 0;
    return 1;
}

int model_match(sharr_t *c, const char *name, const struct model_state *ok, int nok,
                char *why, size_t len)
{
    sharr_array_t *a = NULL;
    int r = sharr_open(c, name, "r", NULL, &a);

    if (r < 0) {
        for (int i = 0; i < nok; i++)
            if (r == -ENOENT && !ok[i].exists)
                return i;
        snprintf(why, len, "open: %s (%s)", sharr_strerror(r), sharr_last_error());
        return -1;
    }
    const struct sharr_info *in = sharr_array_info(a);
    int found = -1;
    for (int i = 0; i < nok && found < 0; i++) {
        if (ok[i].exists && in->ndim == 1 && in->shape[0] == ok[i].n && in->uid == ok[i].uid
            && in->gid == ok[i].gid && in->perm == ok[i].perm && in->persist
            && strcmp(in->dtype, "<u8") == 0 && !in->published == !ok[i].published
            && (in->offset == 4096) == !ok[i].adopted
            && model_data_is(sharr_array_data(a), ok[i].n, ok[i].seed, ok[i].nseed))
            found = i;
    }
    if (found < 0)
        snprintf(why, len, "%" PRIu64 " elements, uid %" PRIu32 " gid %" PRIu32 " perm %04"
                 PRIo32 ", data %s%s, header %" PRIu64 " bytes", in->shape[0], in->uid,
                 in->gid, in->perm,
                 model_data_is(sharr_array_data(a), in->shape[0], 0, 0) ? "zero" : "not zero",
                 in->published ? ", published" : "", in->offset);
    sharr_close(a);
    return found;
}

int model_store_clean(const struct harness *h, int narrays, char *why, size_t len)
{
    struct dirent *de;
    int files = 0, stray = 0;
    size_t used = 0;
    DIR *d = opendir(h->store);

    if (!d) {
        snprintf(why, len, "opendir %s: %s", h->store, strerror(errno));
        return -1;
    }
    why[0] = '\0';
    while ((de = readdir(d)) != NULL) {
        if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0 ||
            strcmp(de->d_name, ".store-id") == 0)  /* the store's identity */
            continue;
        files++;
        stray += de->d_name[0] == '.';
        if (used + strlen(de->d_name) + 2 < len) {
            used += (size_t)snprintf(why + used, len - used, "%s ", de->d_name);
        }
    }
    closedir(d);
    return files == 2 * narrays && stray == 0 ? 0 : -1;
}
