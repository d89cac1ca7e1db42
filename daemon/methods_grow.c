/* methods_grow.c — grow: an array's growing axis (the first in C order, the last in F
 * order) gets longer, in place, while clients keep their mappings of the old length.
 *
 * A peer that may write the array may grow it; a published one grows no more. The
 * quota is charged for the new size before the work starts (a grant, as a create's),
 * then the thread pool allocates the new part and rewrites the .npy header
 * (memstore_grow, store_grow); grow_apply, on the loop, is the one place the array's
 * shape changes, and growth_check then measures the file anew (blocks a writer had
 * allocated beyond the old data may now be data). One grow of an array runs at a time.
 */
#include "methods_grow.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "access.h"
#include "conn.h"
#include "daemon.h"
#include "memstore.h"
#include "methods_reply.h"
#include "shape.h"

struct grow_job {
    uv_work_t req;                 /* req.data points back here */
    struct daemon *d;
    struct conn *conn;             /* referenced */
    uint32_t msgid;
    struct registry_array *array;  /* referenced */
    struct meta from, to;          /* the array now and grown, copied for the pool */
    struct quota_cost was;         /* what the quota held for it before */
    uint64_t granted;              /* memory memstore_budget_take granted */
    int fd;                        /* a volatile array's memfd (the array's) */
    int r;
    char err[METHODS_ERR_MAX];
};

/* The grow succeeded: a's shape is to's, and the watchers of its name hear it. */
static void grow_apply(struct daemon *d, struct registry_array *a, const struct meta *to)
{
    memcpy(a->meta.shape, to->shape, sizeof(a->meta.shape));
    a->meta.nbytes = to->nbytes;
    genpage_bump(&d->gens, a->meta.name);
    a->meta.grown = to->grown; /* as charged; growth_check measures it next */
    if (a->named)
        watch_emit(&d->watches, EVENT_RESIZED, a);
}

static void grow_work(uv_work_t *req)
{
    struct grow_job *job = req->data;

    if (job->from.persist)
        job->r = store_grow(&job->d->store, job->from.name, &job->array->file, &job->from,
                            &job->to, job->err, sizeof(job->err));
    else
        job->r = memstore_grow(job->fd, &job->from, &job->to, job->err, sizeof(job->err));
}

static void grow_done(uv_work_t *req, int status)
{
    struct grow_job *job = req->data;
    struct registry_array *a = job->array;

    (void)status; /* never cancelled: uv_cancel is not used */
    a->growing = false;
    if (job->granted)
        memstore_budget_done(&job->d->membudget, job->granted);
    if (job->r < 0) {
        if (a->quota)
            quota_recharge(a->quota, a->meta.uid, a->charged, job->was);
        a->charged = job->was;
        growth_check(job->d, a); /* a failed fallocate may leave blocks behind */
        log_warning(&job->d->log, "cannot grow %s: %s", a->meta.name, job->err);
        if (!job->conn->closing)
            methods_error(job->conn, job->msgid, job->r, "%s", job->err);
    } else {
        grow_apply(job->d, a, &job->to);
        growth_check(job->d, a);
        if (!job->conn->closing)
            methods_stat_reply(job->conn, job->msgid, a);
    }
    conn_unref(job->conn);
    registry_unref(a);
    free(job);
}

/* Refuse what cannot grow a to len along axis, into err; fills *to. 0 or -errno. */
static int grow_check(const struct registry_array *a, const struct access_peer *peer,
                      uint64_t len, struct meta *to, char *err, size_t errlen)
{
    const struct meta *m = &a->meta;
    int axis = memstore_axis(m);

    if (!access_may_open(m, peer, META_MODE_RPLUS)) {
        snprintf(err, errlen, "uid %" PRIu32 " may not write %s, so may not grow it",
                 peer->uid, m->name);
        return -EACCES;
    }
    if (m->published) {
        snprintf(err, errlen, "%s is published: it is immutable until it is unlinked", m->name);
        return -EROFS;
    }
    if (a->growing) {
        snprintf(err, errlen, "%s is being grown already", m->name);
        return -EBUSY;
    }
    if (axis < 0) {
        snprintf(err, errlen, "%s is a 0-d array: it has no axis to grow", m->name);
        return -EINVAL;
    }
    if (len < m->shape[axis]) {
        snprintf(err, errlen, "%s has %" PRIu64 " along axis %d: grow makes it longer, never "
                 "shorter (other processes map it)", m->name, m->shape[axis], axis);
        return -EINVAL;
    }
    if (m->persist && m->offset != PROTO_DATA_OFFSET) {
        snprintf(err, errlen, "%s was adopted with numpy's %" PRIu64 "-byte header: only an "
                 "array with sharr's %d-byte header can grow", m->name, m->offset,
                 PROTO_DATA_OFFSET);
        return -EINVAL;
    }
    if (!m->persist && len > m->max_len) {
        snprintf(err, errlen, "%s has room for %" PRIu64 " along axis %d in memory, fixed when "
                 "it was made (max_len): create it with a larger max_len", m->name,
                 m->max_len, axis);
        return -EFBIG;
    }
    /* Blocks a writer allocated beyond the data (grown) become data as the file grows
     * over them: the grow is charged its size, and growth_check measures what is left
     * beyond once it is done. */
    *to = *m;
    to->shape[axis] = len;
    to->grown = 0;
    if (shape_nbytes(to->ndim, to->shape, to->dtype.itemsize, &to->nbytes) < 0) {
        snprintf(err, errlen, "%s would be larger than 2^62 bytes", m->name);
        return -EOVERFLOW;
    }
    return 0;
}

/* Charge the quota for to before the work starts; fills job->was and job->granted. */
static int grow_charge(struct daemon *d, struct grow_job *job, char *err, size_t errlen)
{
    struct registry_array *a = job->array;
    struct quota_cost now = quota_cost_of(&job->to);
    struct quota_cost more = {
        .bytes = now.bytes > a->charged.bytes ? now.bytes - a->charged.bytes : 0,
        .memory = now.memory > a->charged.memory ? now.memory - a->charged.memory : 0,
    };
    char why[160]; /* the quota's message; the reply is cut to PROTO_TEXT_MAX anyway */
    int r;

    r = quota_check_more(&d->quota, &d->cfg.policy, a->meta.uid, more, why, sizeof(why));
    if (r == 0 && more.memory) {
        r = memstore_budget_take(&d->membudget, more.memory, uv_hrtime(), why, sizeof(why));
        job->granted = r == 0 ? more.memory : 0;
    }
    if (r < 0) {
        snprintf(err, errlen, "cannot grow %.*s: %.*s", 64, a->meta.name, 160, why);
        return r;
    }
    job->was = a->charged;
    if (a->quota)
        quota_recharge(a->quota, a->meta.uid, a->charged, now);
    a->charged = now;
    return 0;
}

int methods_grow(struct conn *c, const struct codec_msg *msg)
{
    struct daemon *d = daemon_of(c);
    char err[METHODS_ERR_MAX] = "";
    struct registry_array *a;
    struct grow_job *job;
    struct codec_grow p;
    int r;

    r = codec_parse_grow(msg->params, &p, err, sizeof(err));
    if (r < 0)
        return methods_error(c, msg->msgid, r, "%s", err);
    a = methods_lookup(c, msg, true);
    if (!a)
        return -ENOENT;
    job = calloc(1, sizeof(*job));
    if (!job)
        return methods_error(c, msg->msgid, -ENOMEM, "out of memory");
    job->array = a;
    job->from = a->meta;
    r = grow_check(a, &c->peer, p.len, &job->to, err, sizeof(err));
    if (r == 0 && job->to.nbytes == a->meta.nbytes) {
        free(job);
        return methods_stat_reply(c, msg->msgid, a);
    }
    if (r == 0)
        r = grow_charge(d, job, err, sizeof(err));
    if (r < 0) {
        free(job);
        return methods_error(c, msg->msgid, r, "%s", err);
    }
    *job = (struct grow_job){ .d = d, .conn = c, .msgid = msg->msgid, .array = a,
                              .from = job->from, .to = job->to, .was = job->was,
                              .granted = job->granted, .fd = a->fd };
    job->req.data = job;
    conn_ref(c);
    registry_ref(a);
    a->growing = true;
    r = uv_queue_work(&d->loop, &job->req, grow_work, grow_done);
    if (r < 0) {
        job->r = r;
        snprintf(job->err, sizeof(job->err), "cannot queue the work: %s", uv_strerror(r));
        grow_done(&job->req, 0);
    }
    return 0;
}
