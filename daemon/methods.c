/* methods.c — one function per protocol method, from parsed params to reply.
 *
 * create, adopt and sync, and the deletion of unlinked files, run their disk work on
 * the thread pool as a methods_job that holds references to its connection and array;
 * the loop stays free to answer other clients. Small volatile creates are the
 * exception: they run the same job on the loop (METHODS_INLINE_CREATE_MAX). Names
 * being created are reserved in the registry, so a second create fails and a waiting
 * open waits.
 */
#include "methods.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/statvfs.h>
#include <time.h>
#include <unistd.h>

#include "access.h"
#include "codec.h"
#include "conn.h"
#include "daemon.h"
#include "errcode.h"
#include "holders.h"
#include "fdstore.h"
#include "growth.h"
#include "memstore.h"
#include "ownership.h"
#include "perm.h"
#include "releases.h"
#include "ring.h"
#include "shape.h"

#define METHODS_ERR_MAX (PROTO_TEXT_MAX + 1)
/* Volatile arrays of at most this many data bytes are built on the loop thread: the
 * hand-off to the thread pool and back costs 100-300 us here under load, a fifth or
 * more of reserving 16 MiB of pages (about 1 ms), so other clients wait at most that
 * long behind one create. Larger ones go to the pool. */
#define METHODS_INLINE_CREATE_MAX (16ull * 1024 * 1024)

/* A request answered later by thread-pool work. */
struct methods_job {
    uv_work_t req;                 /* req.data points back here */
    struct daemon *d;
    struct conn *conn;             /* referenced; NULL when nobody waits for a reply */
    uint32_t msgid;
    struct registry_array *array;  /* referenced, or NULL */
    struct meta meta;              /* create: the array to build */
    char trash[STORE_TRASH_MAX];   /* a removed file to delete first, or "" */
    int fd;                        /* create: the new backing descriptor */
    int src_fd;                    /* adopt: the client's file, closed with the job */
    bool adopt;                    /* create made by adopt: reply as stat, not attach */
    bool overwrite;                /* adopt: replace an existing array */
    bool retried;                  /* create, sync: run again after giving up cached
                                    * descriptors */
    uint64_t granted;              /* create: bytes memstore_budget_take granted, given
                                    * back when the job is freed */
    int r;
    char err[METHODS_ERR_MAX];
    struct registry_array *old;    /* create: the array it replaces, referenced, or NULL */
};

static void methods_trash_work(uv_work_t *req);
static void methods_job_done(uv_work_t *req, int status);
static void methods_create_done(uv_work_t *req, int status);
static int methods_stat_reply(struct conn *c, uint32_t msgid, const struct registry_array *a);

/* Send the message packed into sb (r: the packer's result) with an optional fd sent
 * once (not taken), or with the descriptor of a in mode when a is not NULL (conn.h). */
static void methods_send_with(struct conn *c, msgpack_sbuffer *sb, int r, int fd,
                              struct registry_array *a, enum meta_mode mode)
{
    size_t len = sb->size;

    if (r < 0) {
        msgpack_sbuffer_destroy(sb);
        conn_close(c, "out of memory");
        return;
    }
    if (a)
        conn_send_array(c, msgpack_sbuffer_release(sb), len, a, mode);
    else
        conn_send(c, msgpack_sbuffer_release(sb), len, fd);
}

static void methods_send(struct conn *c, msgpack_sbuffer *sb, int r, int fd)
{
    methods_send_with(c, sb, r, fd, NULL, META_MODE_R);
}

static void methods_close_fds(const int *fds, unsigned nfds)
{
    for (unsigned i = 0; i < nfds; i++)
        close(fds[i]);
}

/* Reply with an error; returns err so handlers can end with `return methods_error(...)`. */
static int methods_error(struct conn *c, uint32_t msgid, int err, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

static int methods_error(struct conn *c, uint32_t msgid, int err, const char *fmt, ...)
{
    char text[METHODS_ERR_MAX];
    msgpack_sbuffer sb;
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(text, sizeof(text), fmt, ap);
    va_end(ap);
    log_debug(&c->d->log, "connection %llu: request %" PRIu32 ": %s: %s",
              (unsigned long long)c->id, msgid, errcode_name(err), text);
    msgpack_sbuffer_init(&sb);
    methods_send(c, &sb, codec_pack_error(&sb, msgid, err, text), -1);
    return err;
}

static int methods_empty(struct conn *c, uint32_t msgid)
{
    msgpack_sbuffer sb;

    msgpack_sbuffer_init(&sb);
    methods_send(c, &sb, codec_pack_reply_empty(&sb, msgid), -1);
    return 0;
}

/* Why name, found damaged at start (STORE.md), cannot be used, into out (the whole
 * story, with the store's path, is in the daemon's log). */
static void methods_damaged_why(const struct daemon *d, const char *name, char *out,
                                size_t len)
{
    snprintf(out, len, "array %.100s is damaged: %.110s; its name stays reserved",
             name, store_damaged(&d->store, name));
}

/* The answer to any request but create naming an array found damaged at start. */
static int methods_damaged(struct conn *c, uint32_t msgid, const char *name)
{
    char why[METHODS_ERR_MAX];

    methods_damaged_why(c->d, name, why, sizeof(why));
    return methods_error(c, msgid, -EIO, "%s", why);
}

static struct methods_job *methods_job_new(struct daemon *d, struct conn *c, uint32_t msgid,
                                           struct registry_array *a)
{
    struct methods_job *job = malloc(sizeof(*job));

    if (!job)
        return NULL;
    *job = (struct methods_job){ .d = d, .conn = c, .msgid = msgid, .array = a, .fd = -1,
                                 .src_fd = -1 };
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
    free(job);
}

/* Attach a to c in mode and reply with the metadata, the handle and a descriptor:
 * the description c was handed for (a, mode) before when c still caches it. */
static int methods_attach_reply(struct conn *c, uint32_t msgid, struct registry_array *a,
                                 enum meta_mode mode)
{
    struct registry *reg = &c->d->registry;
    struct codec_attach_reply rep;
    struct registry_attach att;
    char err[METHODS_ERR_MAX];
    msgpack_sbuffer sb;
    int fd, r;

    /* The reply takes the descriptor from c's cache when it is sent (conn.h); this
     * makes sure there is one to take. */
    r = conn_descriptor(c, a, mode, &fd);
    if (r == -ESTALE || (r == -ENOENT && a->meta.persist)) {
        /* Only a change to the store behind the daemon's back gets here: the daemon
         * renames a file over a name only for an array that already replaced a. */
        log_warning(&c->d->log, "cannot reopen %s: %s/%s.npy is %s", a->meta.name,
                    c->d->store.path, a->meta.name, r == -ESTALE ? "another file than the "
                    "one the daemon created (changed by hand?)" : "missing (removed by hand?)");
        return methods_error(c, msgid, r, "cannot open %s: its file in the store was changed "
                             "behind sharrd's back", a->meta.name);
    }
    if (r < 0) {
        log_warning(&c->d->log, "cannot reopen %s: %s", a->meta.name, strerror(-r));
        return methods_error(c, msgid, r, "cannot open %s: %s", a->meta.name, strerror(-r));
    }
    registry_attach(reg, a, mode, &att);
    r = conn_attach_add(c, &att, err, sizeof(err));
    if (r < 0) {
        registry_detach(reg, &att);
        return methods_error(c, msgid, r, "%s", err);
    }
    if (mode == META_MODE_RPLUS)
        growth_watch(c->d, a);
    rep = (struct codec_attach_reply){ .meta = a->meta, .handle = att.handle };
    msgpack_sbuffer_init(&sb);
    methods_send_with(c, &sb, codec_pack_reply_attach(&sb, msgid, &rep), -1, a, mode);
    return 0;
}

/* Remove a's name now; a persistent array's .npy is left in trash for the pool. */
static int methods_remove(struct daemon *d, struct registry_array *a, char *trash)
{
    int r;

    trash[0] = '\0';
    if (a->meta.persist) {
        /* A process may still hold the file: its space stays taken (leftover.h). */
        registry_keep_file(&d->store, a);
        r = store_unlink(&d->store, a->meta.name, trash);
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

static int methods_hello(struct conn *c, const struct codec_msg *msg)
{
    struct codec_hello p;
    struct codec_hello_reply rep = {
        .version = PROTO_VERSION, .server = "sharrd " SHARR_VERSION_STRING,
        .pid = (uint32_t)getpid(), .max_name = PROTO_NAME_MAX, .max_ndim = PROTO_NDIM_MAX,
        .max_request = (uint32_t)c->d->cfg.policy.max_request,
        .list_page_max = PROTO_LIST_PAGE_MAX,
    };
    char err[METHODS_ERR_MAX] = "";
    msgpack_sbuffer sb;
    int r;

    r = codec_parse_hello(msg->params, &p, err, sizeof(err));
    if (r < 0)
        return methods_error(c, msg->msgid, r, "%s", err);
    if (p.version != PROTO_VERSION)
        return methods_error(c, msg->msgid, -EPROTONOSUPPORT, "sharrd speaks protocol %d, the "
                             "client speaks %" PRIu32, PROTO_VERSION, p.version);
    log_debug(&c->d->log, "connection %llu: hello from %s", (unsigned long long)c->id, p.client);
    msgpack_sbuffer_init(&sb);
    methods_send(c, &sb, codec_pack_reply_hello(&sb, msg->msgid, &rep), -1);
    return 0;
}

static void methods_create_work(uv_work_t *req)
{
    struct methods_job *job = req->data;

    if (job->adopt)
        job->r = store_adopt(&job->d->store, job->src_fd, &job->meta, &job->fd, job->err,
                             sizeof(job->err));
    else if (job->meta.persist)
        job->r = store_create(&job->d->store, &job->meta, &job->fd, job->err, sizeof(job->err));
    else
        job->r = memstore_create(&job->meta, &job->fd, job->err, sizeof(job->err));
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
    if (new_persist || store_unlink(&d->store, old->meta.name, trash) < 0 || !trash[0])
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

static void methods_create_done(uv_work_t *req, int status)
{
    struct methods_job *job = req->data;
    struct daemon *d = job->d;
    struct registry_array *a = job->array;

    (void)status; /* never cancelled: uv_cancel is not used */
    /* Out of descriptors: the connections' cached ones can go, and the create with them
     * never fails for their sake. Once: another failure is the create's own. */
    if ((job->r == -EMFILE || job->r == -ENFILE) && !job->retried
        && daemon_uncache(d, NULL) > 0) {
        job->retried = true;
        job->r = 0;
        job->err[0] = '\0';
        methods_create_start(job);
        return;
    }
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
        log_debug(&d->log, "%s %s %s array %s", job->adopt ? "adopted" : "created",
                  a->meta.persist ? "persistent" : "volatile", a->meta.dtype.str, a->meta.name);
        registry_ready(&d->registry, a, job->fd);
        if (job->adopt)
            growth_watch(d, a); /* the adopter kept its own descriptor of the file */
        if (!a->meta.persist && fdstore_push(&d->notify, &a->meta, a->fd, job->err,
                                             sizeof(job->err)) < 0)
            log_warning(&d->log, "volatile array %s will not survive a restart: %s",
                        a->meta.name, job->err);
        if (job->old)
            methods_retire(d, job->old, a->meta.persist);
        if (!job->conn->closing && job->adopt)
            methods_stat_reply(job->conn, job->msgid, a);
        else if (!job->conn->closing)
            methods_attach_reply(job->conn, job->msgid, a, META_MODE_RPLUS);
    }
    methods_job_free(job);
}

static int methods_build(struct methods_job *job, bool overwrite);

static int methods_create(struct conn *c, const struct codec_msg *msg)
{
    struct daemon *d = c->d;
    struct methods_job *job;
    char err[METHODS_ERR_MAX] = "";
    struct codec_create p;
    struct timespec now;
    struct meta m;
    int r;

    r = codec_parse_create(msg->params, &p, err, sizeof(err));
    if (r < 0)
        return methods_error(c, msg->msgid, r, "%s", err);
    memset(&m, 0, sizeof(m));
    memcpy(m.name, p.name, sizeof(m.name));
    m.dtype = p.dtype;
    m.ndim = p.ndim;
    memcpy(m.shape, p.shape, sizeof(m.shape));
    m.order = p.order;
    m.offset = PROTO_DATA_OFFSET;
    m.persist = p.persist;
    m.perm = p.perm ? p.perm : 0600;
    m.uid = c->peer.uid;
    m.gid = c->peer.gid;
    clock_gettime(CLOCK_REALTIME, &now);
    m.ctime_ns = (int64_t)now.tv_sec * 1000000000 + now.tv_nsec;
    r = shape_nbytes(m.ndim, m.shape, m.dtype.itemsize, &m.nbytes);
    if (r < 0)
        return methods_error(c, msg->msgid, r, r == -EOVERFLOW ? "%s: the array would be larger "
                             "than 2^62 bytes" : "%s: every dimension must be at least 1", p.name);
    if (perm_check(m.perm, err, sizeof(err)) < 0)
        return methods_error(c, msg->msgid, -EINVAL, "%s", err);
    if (m.persist && strlen(m.name) > STORE_NAME_MAX)
        return methods_error(c, msg->msgid, -ENAMETOOLONG, "persistent array names are at most "
                             "%d bytes", STORE_NAME_MAX);
    if (m.persist)
        store_npy_path(&d->store, m.name, m.path, sizeof(m.path));
    job = methods_job_new(d, c, msg->msgid, NULL);
    if (!job)
        return methods_error(c, msg->msgid, -ENOMEM, "out of memory");
    job->meta = m;
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
        r = memstore_budget_take(&d->membudget, m->offset + m->nbytes, uv_hrtime(), why,
                                 sizeof(why));
        if (r < 0) {
            log_warning(&d->log, "cannot %s %s: %s", verb, m->name, why);
            snprintf(err, sizeof(err), "%s", why);
            goto fail;
        }
        job->granted = m->offset + m->nbytes;
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

    job->r = store_adopt_check(&job->d->store, job->src_fd, &job->meta, job->err,
                               sizeof(job->err));
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
static int methods_adopt(struct conn *c, const struct codec_msg *msg, const int *fds,
                         unsigned nfds)
{
    struct daemon *d = c->d;
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

/* Refuse an open of a, which the peer may see, whose owner is not one the peer may
 * trust (owner: the uid it required, or NULL). */
static int methods_open_untrusted(struct conn *c, uint32_t msgid, const struct registry_array *a,
                                  const uint32_t *owner)
{
    const struct meta *m = &a->meta;
    uint32_t reserved = 0;

    if (owner && m->uid != *owner)
        return methods_error(c, msgid, -EACCES, "%s belongs to uid %" PRIu32 ", not to uid %"
                             PRIu32 " as the open requires (owner)", m->name, m->uid, *owner);
    access_may_own(m->name, m->uid, &reserved);
    return methods_error(c, msgid, -EACCES, "%s lies in uid %" PRIu32 "'s names but belongs to "
                         "uid %" PRIu32 " (made before such names were reserved): only its "
                         "owner or root may open it", m->name, reserved, m->uid);
}

/* Answer an open of a ready array, if its owner is one the peer trusts (owner: the
 * uid it required, or NULL) and the peer may open it in mode. */
static int methods_open_ready(struct conn *c, uint32_t msgid, struct registry_array *a,
                               enum meta_mode mode, const uint32_t *owner)
{
    const struct meta *m = &a->meta;

    /* A peer that may not see a may open it in no mode; it gets one answer, whatever
     * owner it named, so that owner= cannot be used to guess whose a is. */
    if (!access_may_see(m, &c->peer))
        return methods_error(c, msgid, -EACCES, "uid %" PRIu32 " may not open %s in mode %s",
                             c->peer.uid, m->name, meta_mode_name(mode));
    /* The owner the open asked for; and in a user's names, that user or root: an array
     * there of someone else (made before such names were reserved) is trusted by
     * nobody but its owner and root. */
    if ((owner && m->uid != *owner) ||
        (!access_may_own(m->name, m->uid, NULL) && !access_is_owner(m, &c->peer)))
        return methods_open_untrusted(c, msgid, a, owner);
    if (!access_may_open(m, &c->peer, mode))
        return methods_error(c, msgid, -EACCES, "uid %" PRIu32 " may not open %s in mode %s "
                             "(owner uid %" PRIu32 " gid %" PRIu32 ", perm %04" PRIo32 ")",
                             c->peer.uid, m->name, meta_mode_name(mode), m->uid, m->gid,
                             m->perm);
    return methods_attach_reply(c, msgid, a, mode);
}

/* An open waiting for its name: all it needs to answer later (the name is the
 * waiter's). Small, since a peer may have --max-waiting-opens-per-uid of them. */
struct methods_wait {
    struct conn *conn;  /* referenced */
    int64_t wait_ms;
    uint32_t msgid;
    enum meta_mode mode;
    bool has_owner;     /* only an array of owner will do */
    uint32_t owner;
};

static void methods_open_woken(void *arg, const char *name, void *found, int err)
{
    struct methods_wait *w = arg;

    if (err == -ETIMEDOUT)
        methods_error(w->conn, w->msgid, err, "no array named %s appeared within %lld ms",
                      name, (long long)w->wait_ms);
    else if (err == 0 && !w->conn->closing)
        methods_open_ready(w->conn, w->msgid, found, w->mode, w->has_owner ? &w->owner : NULL);
    conn_unref(w->conn);
    free(w);
}

static int methods_open(struct conn *c, const struct codec_msg *msg)
{
    const struct policy *pol = &c->d->cfg.policy;
    char err[METHODS_ERR_MAX] = "";
    struct registry_array *a;
    struct methods_wait *w;
    struct codec_open p;
    int r;

    r = codec_parse_open(msg->params, &p, err, sizeof(err));
    if (r < 0)
        return methods_error(c, msg->msgid, r, "%s", err);
    a = registry_find(&c->d->registry, p.name);
    if (a && a->ready)
        return methods_open_ready(c, msg->msgid, a, p.mode, p.has_owner ? &p.owner : NULL);
    if (!a && store_damaged(&c->d->store, p.name))
        return methods_damaged(c, msg->msgid, p.name);
    if (p.wait_ms == 0)
        return methods_error(c, msg->msgid, -ENOENT, "no array named %s", p.name);
    if (c->waits.n >= pol->max_waiting_opens)
        return methods_error(c, msg->msgid, -EAGAIN, "this connection already waits for %"
                             PRIu64 " names, the most allowed (--max-waiting-opens)",
                             c->waits.n);
    if (c->peer.uid != 0 && pol->max_waiting_opens_per_uid
        && *c->waits.shared >= pol->max_waiting_opens_per_uid)
        return methods_error(c, msg->msgid, -EAGAIN, "uid %" PRIu32 " already waits for %"
                             PRIu64 " names, the most allowed (--max-waiting-opens-per-uid)",
                             c->peer.uid, *c->waits.shared);
    w = malloc(sizeof(*w));
    if (!w)
        return methods_error(c, msg->msgid, -ENOMEM, "out of memory");
    *w = (struct methods_wait){ .conn = c, .wait_ms = p.wait_ms, .msgid = msg->msgid,
                                .mode = p.mode, .has_owner = p.has_owner, .owner = p.owner };
    r = registry_wait(&c->d->registry, p.name, p.wait_ms, &c->waits, methods_open_woken, w);
    if (r < 0) {
        free(w);
        return methods_error(c, msg->msgid, r, "out of memory");
    }
    conn_ref(c);
    return 0;
}

/* The ready array named in params (that the peer may see, if need_see), or NULL
 * after an error reply. */
static struct registry_array *methods_lookup(struct conn *c, const struct codec_msg *msg,
                                             bool need_see)
{
    char err[METHODS_ERR_MAX] = "";
    struct registry_array *a;
    struct codec_name p;
    int r;

    r = codec_parse_name(msg->params, &p, err, sizeof(err));
    if (r < 0) {
        methods_error(c, msg->msgid, r, "%s", err);
        return NULL;
    }
    a = registry_find(&c->d->registry, p.name);
    if (!a && store_damaged(&c->d->store, p.name)) {
        methods_damaged(c, msg->msgid, p.name);
        return NULL;
    }
    if (!a || !a->ready) {
        methods_error(c, msg->msgid, -ENOENT, "no array named %s", p.name);
        return NULL;
    }
    if (need_see && !access_may_see(&a->meta, &c->peer)) {
        methods_error(c, msg->msgid, -EACCES, "uid %" PRIu32 " may not read %s", c->peer.uid,
                      p.name);
        return NULL;
    }
    return a;
}

static int methods_stat_reply(struct conn *c, uint32_t msgid, const struct registry_array *a)
{
    msgpack_sbuffer sb;

    msgpack_sbuffer_init(&sb);
    methods_send(c, &sb, codec_pack_reply_stat(&sb, msgid, &a->meta), -1);
    return 0;
}

static int methods_stat(struct conn *c, const struct codec_msg *msg)
{
    struct registry_array *a = methods_lookup(c, msg, true);
    msgpack_sbuffer sb;

    if (!a)
        return -ENOENT;
    growth_check(c->d, a);
    msgpack_sbuffer_init(&sb);
    methods_send(c, &sb, codec_pack_reply_stat(&sb, msg->msgid, &a->meta), -1);
    return 0;
}

static int methods_list(struct conn *c, const struct codec_msg *msg)
{
    const struct meta *page[PROTO_LIST_PAGE_MAX];
    struct registry *reg = &c->d->registry;
    char err[METHODS_ERR_MAX] = "";
    struct codec_list p;
    msgpack_sbuffer sb;
    bool more = false;
    size_t n = 0;
    int r;

    r = codec_parse_list(msg->params, &p, err, sizeof(err));
    if (r < 0)
        return methods_error(c, msg->msgid, r, "%s", err);
    if (conn_queues_full(c->d) && p.limit > CONN_PAGE_WHEN_FULL)
        p.limit = CONN_PAGE_WHEN_FULL;
    for (size_t i = registry_after(reg, p.after); i < reg->n; i++) {
        struct registry_array *a = reg->arrays[i];
        if (!a->ready || !access_may_see(&a->meta, &c->peer))
            continue;
        if (n == p.limit) {
            more = true;
            break;
        }
        growth_check(c->d, a);
        page[n++] = &a->meta;
    }
    msgpack_sbuffer_init(&sb);
    methods_send(c, &sb, codec_pack_reply_list(&sb, msg->msgid, page, n, more, p.table), -1);
    return 0;
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

static int methods_unlink(struct conn *c, const struct codec_msg *msg)
{
    struct daemon *d = c->d;
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
    r = methods_remove(d, a, trash);
    if (r < 0) {
        log_warning(&d->log, "cannot unlink %s: %s", a->meta.name, strerror(-r));
        return methods_error(c, msg->msgid, r, "cannot unlink %s: %s", a->meta.name, strerror(-r));
    }
    methods_empty(c, msg->msgid);
    job = trash[0] ? methods_job_new(d, NULL, 0, NULL) : NULL;
    if (!job) {
        store_remove_trash(&d->store, trash); /* on the loop, if it must */
        return 0;
    }
    memcpy(job->trash, trash, sizeof(job->trash));
    return uv_queue_work(&d->loop, &job->req, methods_trash_work, methods_job_done);
}

/* Drop one attachment of c named by release params; err says why it could not. */
static int methods_release_apply(struct conn *c, const msgpack_object *params, char *err,
                                 size_t errlen)
{
    struct registry_attach att;
    struct codec_release p;
    int r;

    r = codec_parse_release(params, &p, err, errlen);
    if (r < 0)
        return r;
    if (conn_attach_take(c, p.handle, &att) < 0) {
        snprintf(err, errlen, "no attachment with handle %" PRIu64 " on this connection",
                 p.handle);
        return -EBADF;
    }
    registry_detach(&c->d->registry, &att);
    return 0;
}

static int methods_release(struct conn *c, const struct codec_msg *msg)
{
    char err[METHODS_ERR_MAX] = "";
    int r = methods_release_apply(c, msg->params, err, sizeof(err));

    if (r < 0)
        return methods_error(c, msg->msgid, r, "%s", err);
    return methods_empty(c, msg->msgid);
}

/* release as a notification: the same effect, and no reply, whatever happened. */
static void methods_release_notified(struct conn *c, const struct codec_msg *msg)
{
    char err[METHODS_ERR_MAX] = "";
    int r = methods_release_apply(c, msg->params, err, sizeof(err));

    if (r < 0)
        log_debug(&c->d->log, "connection %llu: release notification: %s: %s",
                  (unsigned long long)c->id, errcode_name(r), err);
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
        && daemon_uncache(job->d, NULL) > 0) {
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
    att = attachments_find(&c->atts, p.handle);
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

static int methods_sync(struct conn *c, const struct codec_msg *msg)
{
    struct registry_array *a = methods_sync_target(c, msg);
    struct methods_job *job;

    if (!a)
        return -ENOENT;
    if (!a->meta.persist)
        return methods_empty(c, msg->msgid); /* memory has nothing to flush to */
    job = methods_job_new(c->d, c, msg->msgid, a);
    if (!job)
        return methods_error(c, msg->msgid, -ENOMEM, "out of memory");
    return uv_queue_work(&c->d->loop, &job->req, methods_sync_work, methods_sync_done);
}

static void methods_statvfs(const char *path, uint64_t *ret_capacity, uint64_t *ret_free)
{
    struct statvfs st;

    if (statvfs(path, &st) == 0) {
        *ret_capacity = (uint64_t)st.f_blocks * st.f_frsize;
        *ret_free = (uint64_t)st.f_bavail * st.f_frsize;
    }
}

static int methods_stats(struct conn *c, const struct codec_msg *msg)
{
    struct daemon *d = c->d;
    struct codec_stats_reply s;
    msgpack_sbuffer sb;

    memset(&s, 0, sizeof(s));
    /* The files writers hold may have grown since anyone looked, and arrays let go of
     * may be closed at last. */
    growth_check_uid(d, GROWTH_ANY_UID);
    leftover_check(d, LEFTOVER_ANY_UID);
    for (size_t i = 0; i < d->registry.n; i++) {
        const struct registry_array *a = d->registry.arrays[i];
        uint64_t bytes = a->meta.nbytes + a->meta.grown;
        if (!a->ready)
            continue;
        s.arrays++;
        s.bytes += bytes;
        *(a->meta.persist ? &s.arrays_persistent : &s.arrays_volatile) += 1;
        *(a->meta.persist ? &s.bytes_persistent : &s.bytes_volatile) += bytes;
        s.bytes_grown += a->meta.grown;
        s.arrays_damaged += a->meta.damaged;
    }
    s.arrays_damaged += d->store.ndamaged;
    s.volatile_limit = d->cfg.policy.max_volatile_bytes;
    s.volatile_limit_per_uid = d->cfg.policy.max_volatile_bytes_per_uid;
    s.volatile_reserved = d->quota.memory;
    s.connections = d->nconns;
    s.attachments = d->registry.nattached;
    methods_statvfs(d->store.path, &s.persist_capacity, &s.persist_free);
    methods_statvfs("/dev/shm", &s.volatile_capacity, &s.volatile_free);
    s.pid = (uint32_t)getpid();
    s.uptime_ms = (int64_t)((uv_hrtime() - d->start_ns) / 1000000);
    msgpack_sbuffer_init(&sb);
    methods_send(c, &sb, codec_pack_reply_stats(&sb, msg->msgid, &s), -1);
    return 0;
}

/* One page of the attachments the peer may see (holders.c collects them). */
static int methods_holders(struct conn *c, const struct codec_msg *msg)
{
    char err[METHODS_ERR_MAX] = "";
    struct codec_holders p;
    struct codec_holder *page;
    msgpack_sbuffer sb;
    bool more = false;
    size_t n = 0;
    int r;

    r = codec_parse_holders(msg->params, &p, err, sizeof(err));
    if (r < 0)
        return methods_error(c, msg->msgid, r, "%s", err);
    if (conn_queues_full(c->d) && p.limit > CONN_PAGE_WHEN_FULL)
        p.limit = CONN_PAGE_WHEN_FULL;
    page = malloc((size_t)p.limit * sizeof(*page));
    r = page ? holders_collect(c->d, &c->peer, &p, page, &n, &more) : -ENOMEM;
    if (r < 0) {
        free(page);
        return methods_error(c, msg->msgid, r, "out of memory");
    }
    msgpack_sbuffer_init(&sb);
    methods_send(c, &sb, codec_pack_reply_holders(&sb, msg->msgid, page, n, more), -1);
    free(page);
    return 0;
}

/* chmod and chown (ownership.c decides and records); both answer with the stat result. */
static int methods_chmod(struct conn *c, const struct codec_msg *msg)
{
    char err[METHODS_ERR_MAX] = "";
    struct registry_array *a;
    struct codec_chmod p;
    int r = codec_parse_chmod(msg->params, &p, err, sizeof(err));

    if (r < 0)
        return methods_error(c, msg->msgid, r, "%s", err);
    a = methods_lookup(c, msg, false);
    if (!a)
        return -ENOENT;
    r = ownership_chmod(c->d, &c->peer, a, p.perm, err, sizeof(err));
    if (r < 0)
        return methods_error(c, msg->msgid, r, "%s", err);
    return methods_stat_reply(c, msg->msgid, a);
}

static int methods_chown(struct conn *c, const struct codec_msg *msg)
{
    char err[METHODS_ERR_MAX] = "";
    struct registry_array *a;
    struct codec_chown p;
    int r = codec_parse_chown(msg->params, &p, err, sizeof(err));

    if (r < 0)
        return methods_error(c, msg->msgid, r, "%s", err);
    a = methods_lookup(c, msg, false);
    if (!a)
        return -ENOENT;
    r = ownership_chown(c->d, &c->peer, a, p.has_uid ? &p.uid : NULL, p.has_gid ? &p.gid : NULL,
                        err, sizeof(err));
    if (r < 0)
        return methods_error(c, msg->msgid, r, "%s", err);
    return methods_stat_reply(c, msg->msgid, a);
}

/* The connection's release ring (releases.h), made once; its descriptor goes with the
 * reply. */
static int methods_ring(struct conn *c, const struct codec_msg *msg)
{
    char err[METHODS_ERR_MAX] = "";
    msgpack_sbuffer sb;
    int fd, r;

    r = releases_ring_new(c, &fd, err, sizeof(err));
    if (r == -EEXIST)
        return methods_error(c, msg->msgid, r, "this connection has its release ring");
    if (r < 0)
        return methods_error(c, msg->msgid, r, "%s", err);
    msgpack_sbuffer_init(&sb);
    methods_send(c, &sb, codec_pack_reply_ring(&sb, msg->msgid, RING_BYTES), fd);
    conn_release_fd(c, fd); /* the daemon keeps its mapping, not the descriptor */
    return 0;
}

/* counts: the answer shows attachments, so what every client posted in its release
 * ring is applied first; such a request walks every connection (and stat aside, every
 * array or attachment), so it ends its uid's turn of the loop. */
static const struct {
    const char *name;
    int (*fn)(struct conn *c, const struct codec_msg *msg);
    bool counts;
} methods_table[] = {
    { "hello", methods_hello, false },     { "create", methods_create, false },
    { "open", methods_open, false },       { "stat", methods_stat, true },
    { "list", methods_list, true },        { "unlink", methods_unlink, false },
    { "release", methods_release, false }, { "sync", methods_sync, false },
    { "stats", methods_stats, true },      { "holders", methods_holders, true },
    { "chmod", methods_chmod, false },     { "chown", methods_chown, false },
    { "ring", methods_ring, false },
};

bool methods_dispatch(struct conn *c, const msgpack_object *obj, const int *fds, unsigned nfds)
{
    char err[METHODS_ERR_MAX] = "";
    struct codec_msg msg;
    bool heavy = false;
    int known = 0;

    size_t i = 0;

    int r = codec_parse_msg(obj, &msg, &known, err, sizeof(err));

    if (r < 0 && known) {
        methods_error(c, msg.msgid, -EBADMSG, "%s", err);
    } else if (r < 0) {
        if (ratelog_allow(&c->d->closings))
            log_warning(&c->d->log, "connection %llu (pid %u): not a request (%s): closing",
                        (unsigned long long)c->id, c->peer.pid, err);
        conn_close(c, "malformed message");
    } else if (msg.type == CODEC_REQUEST) {
        while (i < sizeof(methods_table) / sizeof(methods_table[0])
               && strcmp(msg.method, methods_table[i].name) != 0)
            i++;
        if (strcmp(msg.method, "adopt") == 0) {
            methods_adopt(c, &msg, fds, nfds);
            return false;
        }
        /* Only adopt takes a descriptor: any other is closed unused, before the reply. */
        methods_close_fds(fds, nfds);
        nfds = 0;
        if (i < sizeof(methods_table) / sizeof(methods_table[0]) && methods_table[i].counts)
            releases_take_all(c->d);
        if (i < sizeof(methods_table) / sizeof(methods_table[0]))
            methods_table[i].fn(c, &msg);
        else
            methods_error(c, msg.msgid, -ENOSYS, "unknown method '%s'", msg.method);
        heavy = i < sizeof(methods_table) / sizeof(methods_table[0]) && methods_table[i].counts;
    } else if (msg.type == CODEC_NOTIFY && strcmp(msg.method, "release") == 0) {
        methods_release_notified(c, &msg);
    } /* responses and other notifications from a client need no answer */
    methods_close_fds(fds, nfds);
    return heavy;
}
