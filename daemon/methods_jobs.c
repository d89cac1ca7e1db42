/* methods_jobs.c — create, adopt, unlink and sync, whose disk work runs on the thread
 * pool as a methods_job that holds references to its connection and array; the loop
 * stays free to answer other clients. Small volatile creates are the exception: they
 * run the same job on the loop (METHODS_INLINE_CREATE_MAX). Names being created are
 * reserved in the registry, so a second create fails and a waiting open waits.
 */
#include "methods_jobs.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "access.h"
#include "conn.h"
#include "descriptors.h"
#include "daemon.h"
#include "fdstore.h"
#include "growth.h"
#include "memstore.h"
#include "methods_attach.h"
#include "methods_reply.h"
#include "perm.h"
#include "procfd.h"
#include "releases.h"
#include "session.h"
#include "shape.h"
#include "watch.h"

/* Volatile arrays of at most this many data bytes are built on the loop thread: the
 * hand-off to the thread pool and back costs 100-300 us here under load, a fifth or
 * more of reserving 16 MiB of pages (about 1 ms), so other clients wait at most that
 * long behind one create. Larger ones go to the pool. */
#define METHODS_INLINE_CREATE_MAX (16ull * 1024 * 1024)
/* From this size on a volatile array may be large enough for huge pages (no huge
 * page is smaller than 256 KiB): its create reads the host afresh. */
#define METHODS_HUGE_READ_MIN (1024ull * 1024)
#define METHODS_HUGE_READ_NS (1000ull * 1000 * 1000)  /* a reading older than 1 s is stale */

/* A request answered later by thread-pool work. */
struct methods_job {
    uv_work_t req;                 /* req.data points back here */
    struct daemon *d;
    struct conn *conn;             /* referenced; NULL when nobody waits for a reply */
    uint32_t msgid;
    struct registry_array *array;  /* referenced, or NULL */
    struct meta meta;              /* create: the array to build; its dtype.descr is NULL
                                    * or the job's own copy (dtype_own), freed with it */
    char trash[STORE_TRASH_MAX];   /* a removed file to delete first, or "" */
    int fd;                        /* create: the new backing descriptor */
    int src_fd;                    /* adopt: the client's file, closed with the job */
    bool adopt;                    /* create made by adopt: reply as stat, not attach */
    bool overwrite;                /* adopt: replace an existing array */
    bool retried;                  /* create, sync: run again after giving up cached
                                    * descriptors */
    uint64_t granted;              /* create: bytes memstore_budget_take granted, given
                                    * back when the job is freed */
    struct hugepages_choice pages; /* create of a volatile array: how its memfd is backed */
    int r;
    char err[METHODS_ERR_MAX];
    struct registry_array *old;    /* create: the array it replaces, referenced, or NULL */
};

static void methods_trash_work(uv_work_t *req);
static void methods_job_done(uv_work_t *req, int status);
static void methods_create_done(uv_work_t *req, int status);

static struct methods_job *methods_job_new(struct daemon *d, struct conn *c, uint32_t msgid,
                                           struct registry_array *a)
{
    /* A create and its unlink each take a job of 2 KiB: the last one freed is kept. */
    struct methods_job *job = d->spare_job ? d->spare_job : malloc(sizeof(*job));

    if (!job)
        return NULL;
    d->spare_job = NULL;
    /* Not zeroed whole: meta, trash and err are 2 KiB that only a create, adopt or
     * trash job fills, and each fills what it reads. */
    job->d = d;
    job->conn = c;
    job->msgid = msgid;
    job->array = a;
    job->meta.dtype.descr = NULL;
    job->meta.dtype.descr_len = 0;
    job->trash[0] = '\0';
    job->fd = -1;
    job->src_fd = -1;
    job->adopt = job->overwrite = job->retried = false;
    job->granted = 0;
    job->r = 0;
    job->err[0] = '\0';
    job->old = NULL;
    job->req.data = job;
    if (c)
        conn_ref(c);
    if (a)
        registry_ref(a);
    return job;
}

/* Close adopt's copy of the client's file once it is no longer needed: before the
 * reply, so a client that gets one knows the daemon holds nothing of it but the store's. */
static void methods_job_close_src(struct methods_job *job)
{
    if (job->src_fd >= 0)
        close(job->src_fd);
    job->src_fd = -1;
}

static void methods_job_free(struct methods_job *job)
{
    if (job->granted)
        memstore_budget_done(&job->d->membudget, job->granted);
    if (job->conn)
        conn_unref(job->conn);
    if (job->array)
        registry_unref(job->array);
    if (job->old)
        registry_unref(job->old);
    methods_job_close_src(job);
    dtype_own_free(&job->meta.dtype);
    if (!job->d->spare_job)
        job->d->spare_job = job;
    else
        free(job);
}

void methods_jobs_close(struct daemon *d)
{
    free(d->spare_job);
    d->spare_job = NULL;
}

/* Remove a's name now; a persistent array's .npy is left in trash for the pool. */
static int methods_remove(struct daemon *d, struct registry_array *a, char *trash)
{
    int r;

    trash[0] = '\0';
    if (a->meta.persist) {
        /* A process may still hold the file: its space stays taken (leftover.h). */
        registry_keep_file(&d->store, a);
        r = store_unlink(&d->store, a->meta.name, a->meta.uid, trash, &a->trash);
        if (r < 0) {
            if (a->fd >= 0)
                close(a->fd);
            a->fd = -1;
            return r;
        }
    } else {
        fdstore_drop(&d->notify, &a->meta, a->fd);
    }
    registry_remove(&d->registry, a);
    return 0;
}

static void methods_create_work(uv_work_t *req)
{
    struct methods_job *job = req->data;

    if (job->adopt)
        job->r = store_adopt(&job->d->store, job->d->procfd, job->src_fd, &job->meta,
                             &job->fd, job->err, sizeof(job->err));
    else if (job->meta.persist)
        job->r = store_create(&job->d->store, &job->meta, &job->fd, job->err, sizeof(job->err));
    else
        job->r = memstore_create(&job->meta, &job->pages, &job->fd, job->err,
                                 sizeof(job->err));
}

/* The create that replaced old succeeded: remove what is left of old. A persistent
 * array replaced by a persistent one is gone already (the new .npy was renamed over
 * it); a persistent one replaced by a volatile one goes only now, so a crash before
 * this point leaves the old array. */
static void methods_retire(struct daemon *d, struct registry_array *old, bool new_persist)
{
    char trash[STORE_TRASH_MAX] = "";
    struct methods_job *job;

    if (!old->meta.persist) {
        fdstore_drop(&d->notify, &old->meta, old->fd);
        return;
    }
    if (new_persist || store_unlink(&d->store, old->meta.name, old->meta.uid, trash,
                                       &old->trash) < 0
        || !trash[0])
        return;
    job = methods_job_new(d, NULL, 0, NULL);
    if (!job) {
        store_remove_trash(&d->store, trash); /* on the loop, if it must */
        return;
    }
    memcpy(job->trash, trash, sizeof(job->trash));
    uv_queue_work(&d->loop, &job->req, methods_trash_work, methods_job_done);
}

/* Build job's array: a small volatile one on the loop, any other on the pool. */
static int methods_create_start(struct methods_job *job)
{
    if (!job->meta.persist && job->meta.nbytes <= METHODS_INLINE_CREATE_MAX) {
        methods_create_work(&job->req);
        methods_create_done(&job->req, 0);
        return 0;
    }
    return uv_queue_work(&job->d->loop, &job->req, methods_create_work, methods_create_done);
}

/* A volatile array was built. When the hugetlb pool had no room for it (seen as it
 * was chosen, or memstore_create returned 1: the pool ran dry since), say so once
 * until the pool serves a create again; in the second case charge it at the pages it
 * got. */
static void methods_pages_done(struct methods_job *job)
{
    struct daemon *d = job->d;
    struct registry_array *a = job->array;
    struct quota_cost cost;

    if (job->meta.persist)
        return;
    if (job->pages.kind == HUGEPAGES_POOL && job->r == 0) {
        d->huge_short = false;
        return;
    }
    if (job->r == 1) {
        a->meta.page_size = job->meta.page_size;
        cost = quota_cost_of(&a->meta);
        if (a->quota)
            quota_recharge(a->quota, a->meta.uid, a->charged, cost);
        a->charged = cost;
    } else if (!job->pages.pool_short) {
        return;
    }
    if (!d->huge_short)
        log_warning(&d->log, "the hugetlb pool has run out: %s and the large volatile arrays "
                    "after it get %" PRIu32 "-byte pages until it has room again "
                    "(vm.nr_hugepages)", a->meta.name, a->meta.page_size);
    d->huge_short = true;
}

/* The creator's descriptor of the new volatile array, made before the array is served
 * (the reply carries it): at EMFILE/ENFILE the connections' cached ones are given up
 * and it is tried once more. Without one the create fails whole: job->fd is closed and
 * job->r and job->err say why. The descriptor, or -1. */
static int methods_create_reopen(struct methods_job *job)
{
    struct daemon *d = job->d;
    char text[sizeof(job->err) + PROTO_NAME_MAX + 64];
    int fd = procfd_reopen(d->procfd, job->fd, O_RDWR);

    if ((fd == -EMFILE || fd == -ENFILE) && descriptors_drop_all(d, NULL) > 0)
        fd = procfd_reopen(d->procfd, job->fd, O_RDWR);
    if (fd >= 0)
        return fd;
    snprintf(text, sizeof(text), "sharrd could open no descriptor of %s for the reply, so "
             "it was not made: %s", job->meta.name, strerror(-fd));
    memcpy(job->err, text, sizeof(job->err) - 1);
    job->err[sizeof(job->err) - 1] = '\0';
    job->r = fd;
    close(job->fd);
    job->fd = -1;
    return -1;
}

static void methods_create_done(uv_work_t *req, int status)
{
    struct methods_job *job = req->data;
    struct daemon *d = job->d;
    struct registry_array *a = job->array;
    int reply_fd = -1;

    (void)status; /* never cancelled: uv_cancel is not used */
    /* Out of descriptors: the connections' cached ones can go, and the create with them
     * never fails for their sake. Once: another failure is the create's own. */
    if ((job->r == -EMFILE || job->r == -ENFILE) && !job->retried
        && descriptors_drop_all(d, NULL) > 0) {
        job->retried = true;
        job->r = 0;
        job->err[0] = '\0';
        methods_create_start(job);
        return;
    }
    if (job->r >= 0 && !job->adopt && !job->meta.persist && !job->conn->closing)
        reply_fd = methods_create_reopen(job);
    methods_job_close_src(job);
    if (job->r < 0) {
        log_warning(&d->log, "cannot %s %s: %s", job->adopt ? "adopt" : "create", a->meta.name,
                    job->err);
        registry_remove(&d->registry, a);
        /* An overwrite that failed leaves the old array as it was. */
        if (job->old && registry_restore(&d->registry, job->old) < 0)
            log_warning(&d->log, "out of memory: cannot serve %s again", a->meta.name);
        methods_error(job->conn, job->msgid, job->r, "%s", job->err);
    } else {
        methods_pages_done(job);
        log_debug(&d->log, "%s %s %s array %s", job->adopt ? "adopted" : "created",
                  a->meta.persist ? "persistent" : "volatile", a->meta.dtype.str, a->meta.name);
        registry_ready(&d->registry, a, job->fd);
        if (reply_fd >= 0)
            descriptors_put(job->conn, a, META_MODE_RPLUS, reply_fd);
        if (job->adopt)
            growth_watch(d, a); /* the adopter kept its own descriptor of the file */
        if (!a->meta.persist && fdstore_push(&d->notify, &a->meta, a->fd, job->err,
                                             sizeof(job->err)) < 0)
            log_warning(&d->log, "volatile array %s will not survive a restart: %s",
                        a->meta.name, job->err);
        if (job->old)
            methods_retire(d, job->old, a->meta.persist);
        if (job->old)
            watch_emit(&d->watches, EVENT_REMOVED, job->old);
        watch_emit(&d->watches, EVENT_CREATED, a);
        if (!job->conn->closing && job->adopt)
            methods_stat_reply(job->conn, job->msgid, a);
        else if (!job->conn->closing)
            methods_attach_reply(job->conn, job->msgid, a, META_MODE_RPLUS);
    }
    methods_job_free(job);
}

static int methods_build(struct methods_job *job, bool overwrite);

/* How a new volatile array of size bytes is backed. A large one reads the host now
 * (the pool's free pages change with every create); a small one can only be affected
 * by shmem_enabled=always, read again at most once a second. */
static struct hugepages_choice methods_pages(struct daemon *d, uint64_t size)
{
    uint64_t now = uv_hrtime();
    bool large = size >= METHODS_HUGE_READ_MIN;

    if (large || d->huge_read_ns == 0 || now - d->huge_read_ns >= METHODS_HUGE_READ_NS) {
        hugepages_read("", large && d->cfg.huge_pages != HUGEPAGES_NEVER
                               && d->cfg.huge_pages != HUGEPAGES_THP, &d->huge);
        d->huge_read_ns = now;
    }
    return hugepages_choose(&d->huge, d->cfg.huge_pages, size);
}

int methods_create(struct conn *c, const struct codec_msg *msg)
{
    struct daemon *d = daemon_of(c);
    struct methods_job *job;
    char err[METHODS_ERR_MAX];
    struct dtype_text text;
    struct codec_create p;
    struct timespec now;
    struct meta *m;
    uint64_t nbytes;
    uint32_t perm;
    int r;

    err[0] = '\0';
    r = codec_parse_create(msg->params, &p, &text, err, sizeof(err));
    if (r < 0)
        return methods_error(c, msg->msgid, r, "%s", err);
    r = shape_nbytes(p.ndim, p.shape, p.dtype.itemsize, &nbytes);
    if (r < 0)
        return methods_error(c, msg->msgid, r, r == -EOVERFLOW ? "%s: the array would be larger "
                             "than 2^62 bytes" : "%s: every dimension must be at least 1", p.name);
    perm = p.perm ? p.perm : 0600;
    if (perm_check(perm, err, sizeof(err)) < 0)
        return methods_error(c, msg->msgid, -EINVAL, "%s", err);
    /* Every descriptor of a memfd is handed out through /proc/self/fd (procfd.h): a
     * volatile array made without it could never be attached, not even by its creator. */
    if (!p.persist && d->procfd < 0)
        return methods_error(c, msg->msgid, -ENOENT, "%s: volatile arrays cannot be created: "
                             "sharrd could not open /proc/self/fd at start (is /proc mounted?); "
                             "persistent arrays are served", p.name);
    if (p.persist && strlen(p.name) > STORE_NAME_MAX)
        return methods_error(c, msg->msgid, -ENAMETOOLONG, "persistent array names are at most "
                             "%d bytes", STORE_NAME_MAX);
    job = methods_job_new(d, c, msg->msgid, NULL);
    if (!job)
        return methods_error(c, msg->msgid, -ENOMEM, "out of memory");
    /* Every field set here rather than the 2 KiB cleared first: names and paths are
     * read up to their NUL. The record description, in text now, becomes the job's. */
    m = &job->meta;
    memcpy(m->name, p.name, strlen(p.name) + 1);
    m->dtype = p.dtype;
    if (dtype_own(&m->dtype) < 0) {
        m->dtype.descr = NULL;
        methods_job_free(job);
        return methods_error(c, msg->msgid, -ENOMEM, "out of memory");
    }
    m->ndim = p.ndim;
    memcpy(m->shape, p.shape, (size_t)p.ndim * sizeof(m->shape[0]));
    m->order = p.order;
    m->nbytes = nbytes;
    m->offset = PROTO_DATA_OFFSET;
    m->persist = p.persist;
    m->perm = perm;
    m->uid = c->peer.uid;
    m->gid = c->peer.gid;
    clock_gettime(CLOCK_REALTIME, &now);
    m->ctime_ns = (int64_t)now.tv_sec * 1000000000 + now.tv_nsec;
    m->nattached = 0;
    m->path[0] = '\0';
    if (m->persist)
        store_npy_path(&d->store, m->name, m->path, sizeof(m->path));
    m->grown = 0;
    m->damaged = false;
    m->published = false;
    m->max_len = 0;
    /* A volatile array's room to grow is fixed now (memstore.h); it must fit as the
     * array would. A persistent one grows as far as the quotas let it. */
    if (!m->persist && memstore_axis(m) >= 0) {
        uint64_t len = m->shape[memstore_axis(m)], room;

        m->max_len = p.max_len > len ? p.max_len : len;
        if (__builtin_mul_overflow(m->nbytes / len, m->max_len, &room)
            || room > PROTO_ARRAY_BYTES_MAX) {
            methods_job_free(job);
            return methods_error(c, msg->msgid, -EOVERFLOW, "%s: room for max_len %" PRIu64
                                 " would be larger than 2^62 bytes", p.name, p.max_len);
        }
    }
    /* The pages are chosen for the data: the room beyond it is a hole until a grow. */
    m->page_size = 0;
    job->pages = (struct hugepages_choice){ 0 };
    if (!m->persist) {
        job->pages = methods_pages(d, m->offset + m->nbytes);
        m->page_size = (uint32_t)job->pages.page_size;
    }
    return methods_build(job, p.overwrite);
}

/* What create and adopt share once job->meta describes the new array: the name must
 * be free (or overwritable by the peer), the peer's quota must hold it; then the name
 * is reserved and methods_create_work builds it on the pool. On failure replies with
 * the error and frees job; returns 0 or that error. */
static int methods_build(struct methods_job *job, bool overwrite)
{
    struct daemon *d = job->d;
    struct conn *c = job->conn;
    const struct meta *m = &job->meta;
    const char *verb = job->adopt ? "adopt" : "create";
    struct registry_array *old, *a;
    /* Room for two names and a reason; the reply cuts it to PROTO_TEXT_MAX. */
    char err[2 * METHODS_ERR_MAX + 64] = "", why[METHODS_ERR_MAX] = "";
    uint32_t msgid = job->msgid, reserved = 0;
    int r;

    if (!access_may_own(m->name, m->uid, &reserved)) {
        r = -EACCES;
        /* The name's own prefix, "uid", digits and the first dot, as it was written. */
        snprintf(err, sizeof(err), "names that begin %.*s are uid %" PRIu32 "'s: only that "
                 "user or root may %s %s", (int)(strchr(m->name, '.') - m->name + 1), m->name,
                 reserved, verb, m->name);
        goto fail;
    }
    if (store_damaged(&d->store, m->name)) {
        r = -EEXIST;
        methods_damaged_why(d, m->name, err, sizeof(err));
        goto fail;
    }
    old = registry_find(&d->registry, m->name);
    if (old && !old->ready) {
        r = -EEXIST;
        snprintf(err, sizeof(err), "%s is being created", m->name);
        goto fail;
    }
    if (old && !overwrite) {
        r = -EEXIST;
        snprintf(err, sizeof(err), "an array named %s exists (%s overwrites it)", m->name,
                 job->adopt ? "--overwrite" : "mode w+");
        goto fail;
    }
    if (old && !access_is_owner(&old->meta, &c->peer)) {
        r = -EPERM;
        access_owner_text(&old->meta, &c->peer, why, sizeof(why));
        snprintf(err, sizeof(err), "%s belongs to %s: only its owner or root may overwrite it",
                 m->name, why);
        goto fail;
    }
    /* A quota on bytes counts what writers added to the uid's persistent files. */
    if (d->cfg.policy.max_bytes || (d->cfg.policy.max_bytes_per_uid && m->uid != 0))
        growth_check_uid(d, d->cfg.policy.max_bytes ? GROWTH_ANY_UID : m->uid);
    /* An overwrite needs room for both arrays: the old one lives until the new is built. */
    r = quota_check(&d->quota, &d->cfg.policy, m->uid, quota_cost_of(m), why, sizeof(why));
    if (r < 0) {
        /* Unlinked arrays count until their last attachment goes, and then until no
         * process holds them: apply the releases clients have posted but the daemon
         * has not yet read, ask again about those still held, and look again. */
        releases_take_all(d);
        leftover_check(d, r == -EDQUOT ? m->uid : LEFTOVER_ANY_UID);
        r = quota_check(&d->quota, &d->cfg.policy, m->uid, quota_cost_of(m), why, sizeof(why));
    }
    if (r < 0) {
        snprintf(err, sizeof(err), "cannot %s %s: %s", verb, m->name, why);
        goto fail;
    }
    if (!m->persist) {
        r = memstore_budget_take(&d->membudget, job->pages.size, uv_hrtime(), why,
                                 sizeof(why));
        if (r < 0) {
            log_warning(&d->log, "cannot %s %s: %s", verb, m->name, why);
            snprintf(err, sizeof(err), "%s", why);
            goto fail;
        }
        job->granted = job->pages.size;
    }
    /* The old array keeps its files until the new one is committed over them. */
    if (old) {
        registry_ref(old);
        job->old = old;
        registry_remove(&d->registry, old);
    }
    r = registry_add(&d->registry, m, -1, &a);
    if (r < 0) {
        if (old)
            registry_restore(&d->registry, old);
        snprintf(err, sizeof(err), "out of memory");
        goto fail;
    }
    registry_ref(a);
    job->array = a;
    return methods_create_start(job);

fail:
    methods_job_close_src(job);
    methods_error(c, msgid, r, "%s", err);
    methods_job_free(job);
    return r;
}

static void methods_adopt_check_work(uv_work_t *req)
{
    struct methods_job *job = req->data;

    job->r = store_adopt_check(&job->d->store, job->d->procfd, job->src_fd, &job->meta,
                               job->err, sizeof(job->err));
}

/* The file is fit to adopt: go on as a create of what its header describes. */
static void methods_adopt_checked(uv_work_t *req, int status)
{
    struct methods_job *job = req->data;

    (void)status; /* never cancelled: uv_cancel is not used */
    if (job->conn->closing) {
        methods_job_free(job);
        return;
    }
    if (job->r < 0) {
        methods_job_close_src(job);
        methods_error(job->conn, job->msgid, job->r, "cannot adopt %s: %s", job->meta.name,
                      job->err);
        methods_job_free(job);
        return;
    }
    job->err[0] = '\0';
    methods_build(job, job->overwrite);
}

/* adopt: the client's file becomes a persistent array. Takes the descriptors. */
int methods_adopt(struct conn *c, const struct codec_msg *msg, const int *fds,
                         unsigned nfds)
{
    struct daemon *d = daemon_of(c);
    struct methods_job *job;
    char err[METHODS_ERR_MAX] = "";
    struct codec_adopt p;
    struct timespec now;
    struct meta m;
    int r;

    r = codec_parse_adopt(msg->params, &p, err, sizeof(err));
    if (r == 0 && nfds != 1) {
        r = -EINVAL;
        snprintf(err, sizeof(err), "adopt: send exactly one descriptor, the file, with the "
                 "request (%u came)", nfds);
    } else if (r == 0 && !perm_valid(p.perm)) {
        r = perm_check(p.perm, err, sizeof(err));
    } else if (r == 0 && strlen(p.name) > STORE_NAME_MAX) {
        r = -ENAMETOOLONG;
        snprintf(err, sizeof(err), "persistent array names are at most %d bytes",
                 STORE_NAME_MAX);
    }
    job = r == 0 ? methods_job_new(d, c, msg->msgid, NULL) : NULL;
    if (r == 0 && !job) {
        r = -ENOMEM;
        snprintf(err, sizeof(err), "out of memory");
    }
    if (r < 0) {
        methods_close_fds(fds, nfds);
        return methods_error(c, msg->msgid, r, "%s", err);
    }
    job->src_fd = fds[0];
    memset(&m, 0, sizeof(m));
    memcpy(m.name, p.name, sizeof(m.name));
    m.persist = true;
    m.perm = p.perm ? p.perm : 0600;
    m.uid = c->peer.uid;
    m.gid = c->peer.gid;
    clock_gettime(CLOCK_REALTIME, &now);
    m.ctime_ns = (int64_t)now.tv_sec * 1000000000 + now.tv_nsec;
    store_npy_path(&d->store, m.name, m.path, sizeof(m.path));
    job->meta = m;
    job->adopt = true;
    job->overwrite = p.overwrite;
    return uv_queue_work(&d->loop, &job->req, methods_adopt_check_work, methods_adopt_checked);
}

static void methods_trash_work(uv_work_t *req)
{
    struct methods_job *job = req->data;

    store_remove_trash(&job->d->store, job->trash);
}

static void methods_job_done(uv_work_t *req, int status)
{
    (void)status;
    methods_job_free(req->data);
}

int methods_unlink(struct conn *c, const struct codec_msg *msg)
{
    struct daemon *d = daemon_of(c);
    struct registry_array *a = methods_lookup(c, msg, false); /* the owner needs no read bit */
    char trash[STORE_TRASH_MAX], whose[32];
    struct methods_job *job;
    int r;

    if (!a)
        return -ENOENT;
    if (!access_is_owner(&a->meta, &c->peer)) {
        access_owner_text(&a->meta, &c->peer, whose, sizeof(whose));
        return methods_error(c, msg->msgid, -EPERM, "%s belongs to %s: only its owner or root "
                             "may unlink it", a->meta.name, whose);
    }
    registry_ref(a); /* for the event: the name may have been its last reference */
    r = methods_remove(d, a, trash);
    if (r < 0) {
        log_warning(&d->log, "cannot unlink %s: %s", a->meta.name, strerror(-r));
        methods_error(c, msg->msgid, r, "cannot unlink %s: %s", a->meta.name, strerror(-r));
        registry_unref(a);
        return r;
    }
    watch_emit(&d->watches, EVENT_REMOVED, a);
    /* Ours the last reference, a is freed or kept as held now: its trash goes then
     * (leftover.h), with the cut of its file in the same job. */
    if (trash[0] && a->fd >= 0 && a->refs == 1) {
        a->trash_by_free = true;
        trash[0] = '\0';
    }
    registry_unref(a);
    methods_empty(c, msg->msgid);
    job = trash[0] ? methods_job_new(d, NULL, 0, NULL) : NULL;
    if (!job) {
        store_remove_trash(&d->store, trash); /* on the loop, if it must */
        return 0;
    }
    memcpy(job->trash, trash, sizeof(job->trash));
    return uv_queue_work(&d->loop, &job->req, methods_trash_work, methods_job_done);
}

/* The array's .npy is opened by name (the daemon keeps no descriptor of it), checked
 * to be the array's file, fsynced and closed. The name and identity read here do not
 * change once the array is ready. */
static void methods_sync_work(uv_work_t *req)
{
    struct methods_job *job = req->data;
    const struct registry_array *a = job->array;
    int r = store_sync(&job->d->store, a->meta.name, &a->file);

    job->r = r;
    if (r < 0)
        snprintf(job->err, sizeof(job->err), "%s %.200s: %s", r == -ESTALE || r == -ENOENT
                 ? "cannot reopen the file of" : "fsync of", a->meta.name, strerror(-r));
}

static void methods_sync_done(uv_work_t *req, int status)
{
    struct methods_job *job = req->data;

    (void)status;
    /* Out of descriptors for the reopen: as for a create, the connections' cached ones
     * go and the sync runs once more. */
    if ((job->r == -EMFILE || job->r == -ENFILE) && !job->retried
        && descriptors_drop_all(job->d, NULL) > 0) {
        job->retried = true;
        job->r = 0;
        job->err[0] = '\0';
        if (uv_queue_work(&job->d->loop, &job->req, methods_sync_work, methods_sync_done) == 0)
            return;
        job->r = -EMFILE;
        snprintf(job->err, sizeof(job->err), "cannot sync %.200s: out of descriptors",
                 job->array->meta.name);
    }
    /* Unlinked or replaced while the sync was queued: its data has no name left to be
     * durable under (a restart will not bring it back), so there is nothing to flush
     * and the sync succeeds, as if it had run just before the unlink. */
    if ((job->r == -ESTALE || job->r == -ENOENT) && !job->array->named)
        job->r = 0;
    if (job->r < 0) {
        log_warning(&job->d->log, "%s", job->err);
        methods_error(job->conn, job->msgid, job->r, "%s", job->err);
    } else {
        growth_check(job->d, job->array); /* its blocks are all counted once flushed */
        methods_empty(job->conn, job->msgid);
    }
    methods_job_free(job);
}

/* The array a sync names: the attachment's (its handle must be one of c's), or, from a
 * client older than handles, the array the name means now. NULL once answered. */
static struct registry_array *methods_sync_target(struct conn *c, const struct codec_msg *msg)
{
    char err[METHODS_ERR_MAX] = "";
    const struct registry_attach *att;
    struct codec_sync p;
    int r;

    r = codec_parse_sync(msg->params, &p, err, sizeof(err));
    if (r < 0) {
        methods_error(c, msg->msgid, r, "%s", err);
        return NULL;
    }
    if (!p.has_handle)
        return methods_lookup(c, msg, true);
    att = attachments_find(&session_of(c)->atts, p.handle);
    if (!att) {
        methods_error(c, msg->msgid, -EBADF, "no attachment with handle %" PRIu64
                      " on this connection", p.handle);
        return NULL;
    }
    if (p.name[0] != '\0' && strcmp(p.name, att->array->meta.name) != 0) {
        methods_error(c, msg->msgid, -EINVAL, "handle %" PRIu64 " is an attachment of %s, "
                      "not of %s", p.handle, att->array->meta.name, p.name);
        return NULL;
    }
    /* Its data has no name left to be durable under; the name may mean another array
     * now, which is not this attachment's to flush. */
    if (!att->array->named) {
        methods_error(c, msg->msgid, -ENOENT, "%s was unlinked or replaced since this "
                      "attachment was made: its data is no longer any name's",
                      att->array->meta.name);
        return NULL;
    }
    return att->array;
}

int methods_sync(struct conn *c, const struct codec_msg *msg)
{
    struct registry_array *a = methods_sync_target(c, msg);
    struct methods_job *job;

    if (!a)
        return -ENOENT;
    if (!a->meta.persist)
        return methods_empty(c, msg->msgid); /* memory has nothing to flush to */
    job = methods_job_new(daemon_of(c), c, msg->msgid, a);
    if (!job)
        return methods_error(c, msg->msgid, -ENOMEM, "out of memory");
    return uv_queue_work(&daemon_of(c)->loop, &job->req, methods_sync_work, methods_sync_done);
}
