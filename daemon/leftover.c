/* leftover.c — keep, look at again and free the arrays of leftover.h.
 *
 * A volatile array's memfd is the daemon's own description, which the kernel does not
 * count. Every other description of it was made by the daemon for a client (or by
 * root or the daemon's own uid, trusted, through /proc: nobody else may open a file of
 * the daemon's uid with mode 0600). So while the daemon has made none O_RDONLY
 * (registry_array.readers_made), any other is open for writing, and a read lease on
 * the memfd itself tells whether one is left: one fcntl when the array is freed (its
 * close lets the lease go), where asking about every description takes a new one
 * through /proc/self/fd (an open, the lease and a close: several microseconds more to
 * each create and unlink). A persistent array without a name holds an O_RDONLY descriptor
 * of its file (registry_keep_file), asked about as is; freed with no other description
 * left, its file's blocks are given back and its trash removed, in one job on the
 * thread pool (leftover_file_gone), asked again there under a lease held across the cut.
 */
#include "leftover.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <sys/inotify.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "daemon.h"
#include "memstore.h"
#include "openers.h"
#include "procfd.h"

/* 1 when another process holds a's memfd or file (or may: the daemon is out of
 * descriptors to ask with), 0 when none does, or a negative errno when the kernel
 * cannot tell. closing: a is freed at once unless held, and its
 * memfd is the daemon's alone, so a lease on it goes with its close. A persistent
 * array's lease is let go of at once whatever closing says: its file may be opened
 * again to give its blocks back, which would break a lease of the daemon's own. */
static void leftover_read_closes(struct leftover *l, struct registry_array *extra);

static int leftover_held(struct daemon *d, const struct registry_array *a, bool closing)
{
    struct leftover *l = &d->leftover;

    if (a->last_close_wd != 0) {
        leftover_read_closes(l, NULL);
        return a->last_close_wd > 0;
    }
    if (a->fd < 0)
        return -EBADF;
    if (a->meta.persist)
        return openers_probe(a->fd, false);
    if (a->readers_made || !l->own_lease) {
        int r = openers_probe_reopen(d->procfd, a->fd, false);

        /* Out of descriptors, the kernel cannot be asked now: the array stays counted
         * as held, and a later look asks again. */
        return r == -EMFILE || r == -ENFILE ? 1 : r;
    }
    return closing ? openers_probe_closing(a->fd, true) : openers_probe(a->fd, true);
}

static void leftover_sweep(uv_timer_t *t);

/* Take the reports of last closes that came: each marks its array, held or extra (not
 * yet held: NULL for none), let go of (last_close_wd -1). inotify numbers its watches
 * in turn, so a number reported is not that of a watch still on. */
static void leftover_read_closes(struct leftover *l, struct registry_array *extra)
{
    char buf[4096] __attribute__((aligned(__alignof__(struct inotify_event))));
    const struct inotify_event *ev;
    ssize_t n;

    if (l->last_closes < 0)
        return;
    while ((n = read(l->last_closes, buf, sizeof(buf))) > 0)
        for (char *p = buf; p < buf + n; p += sizeof(*ev) + ev->len) {
            ev = (const struct inotify_event *)p;
            if (!(ev->mask & IN_IGNORED))
                continue;
            if (extra != NULL && extra->last_close_wd == ev->wd)
                extra->last_close_wd = -1;
            for (size_t i = 0; i < l->held.n; i++)
                if (l->held.items[i]->last_close_wd == ev->wd)
                    l->held.items[i]->last_close_wd = -1;
        }
}

/* a, volatile and sealed, is read and written by nobody, but descriptions opened with
 * O_PATH may keep its pages, which its seals keep it from giving back: watch its memfd
 * for its last close and close the daemon's descriptor. 0 when that was the last (a
 * is freed now), 1 when some description is left (a stays counted until the watch
 * reports it gone), or a negative errno (a is freed, as before). */
static int leftover_watch_last_close(struct leftover *l, struct registry_array *a)
{
    char path[PROCFD_PATH_MAX];
    int wd;

    if (l->last_closes < 0)
        l->last_closes = inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
    if (l->last_closes < 0)
        return -errno;
    /* The kernel reports IN_DELETE_SELF then IN_IGNORED when the memfd's dentry goes,
     * at the close of the last description of it, whatever its kind. */
    wd = inotify_add_watch(l->last_closes, procfd_path(path, a->fd), IN_DELETE_SELF);
    if (wd < 0)
        return -errno;
    close(a->fd); /* the report comes in this call when it was the last */
    a->fd = -1;
    a->last_close_wd = wd;
    leftover_read_closes(l, a);
    return a->last_close_wd > 0;
}

/* What is left to do for the file of a persistent array without a name, freed: on the
 * thread pool, in one job. */
struct leftover_gone {
    uv_work_t req;      /* req.data points back here */
    struct leftover_gone *next; /* in leftover.gone, until queued */
    struct daemon *d;
    int fd;             /* O_WRONLY, the job's, to cut the file with; -1 for no cut */
    uint64_t trash;     /* the number of its trash name (registry_array.trash); 0 none */
    uint32_t owner;     /* the array's, in its trash name */
    bool remove;        /* remove that trash after the cut */
    uint64_t bytes;     /* what the file had, once cut */
    int r;              /* store_drop_blocks's answer */
    bool cut;           /* a cut was asked for (fd, closed by the job once done) */
    bool opened;        /* not cut: the file was opened again since the loop asked */
    char name[];        /* the array's, for the log */
};

/* Thread pool, or the loop when no job can be had: cut, then remove the trash. */
static void leftover_gone_work(uv_work_t *req)
{
    struct leftover_gone *job = req->data;

    if (job->fd >= 0) {
        /* Asked again, under a write lease held across the cut: the loop asked before
         * this job ran, and a process may have opened the file for reading or writing
         * since (through an O_PATH descriptor, as root or the daemon's uid may, or a
         * name of its own removed since); it keeps its data. One that opens it during
         * the cut waits for the close below, which lets the lease go. */
        int r = openers_probe_closing(job->fd, false);

        if (r == 0)
            job->r = store_drop_blocks(&job->d->store, job->fd, job->trash, job->owner,
                                       &job->bytes);
        else
            job->r = r < 0 ? r : 0;
        job->opened = r == 1;
        close(job->fd);
        job->fd = -1;
    }
    if (job->remove)
        store_remove_trash_number(&job->d->store, job->trash, job->owner);
}

/* What became of the file: said in the log. */
static void leftover_drop_told(struct daemon *d, const char *name, int r, uint64_t bytes)
{
    if (r > 0)
        log_debug(&d->log, "persistent array %s: gave back the %" PRIu64 " bytes of disk "
                  "its file without a name had", name, bytes);
    else if (r == 0)
        log_debug(&d->log, "persistent array %s: its file has a name of its own outside the "
                  "store (or another owner): its blocks are left to it", name);
    else
        log_warning(&d->log, "persistent array %s: cannot give back the blocks of its file, "
                    "which descriptors opened with O_PATH may keep uncounted: %s", name,
                    strerror(-r));
}

static void leftover_gone_done(uv_work_t *req, int status)
{
    struct leftover_gone *job = req->data;

    (void)status; /* never cancelled: uv_cancel is not used */
    if (job->opened)
        log_debug(&job->d->log, "persistent array %s: its file was opened again since its "
                  "free: its blocks are left to that process", job->name);
    else if (job->cut)
        leftover_drop_told(job->d, job->name, job->r, job->bytes);
    free(job);
}

/* Queue every job of d->leftover.gone on the thread pool (run here if one cannot be). */
static void leftover_gone_flush(struct daemon *d)
{
    while (d->leftover.gone) {
        struct leftover_gone *job = d->leftover.gone;

        d->leftover.gone = job->next;
        if (uv_queue_work(&d->loop, &job->req, leftover_gone_work, leftover_gone_done) != 0) {
            leftover_gone_work(&job->req);
            leftover_gone_done(&job->req, 0);
        }
    }
}

static void leftover_gone_queue(uv_idle_t *idle)
{
    leftover_gone_flush(idle->data);
    uv_idle_stop(idle);
}

/* a, persistent and without a name, is freed now (or, with cut -1, kept as held): with
 * cut a writable description of its file (else -1), cut the file (store_drop_blocks,
 * which cuts it only when no name but the store's trash leads to it any more), then
 * remove its trash when that is a's to do (trash_by_free, taken here): one job on the
 * thread pool, where a large file's blocks are freed without holding the loop. cut is
 * the job's. */
static void leftover_file_gone(struct daemon *d, struct registry_array *a, int cut)
{
    size_t len = strlen(a->meta.name) + 1;
    bool remove = a->trash_by_free && a->trash != 0;
    struct leftover_gone *job;

    a->trash_by_free = false;
    if (cut < 0 && !remove)
        return;
    job = malloc(sizeof(*job) + len);
    if (!job) {
        /* Left to the next start's recovery, which removes every trash. */
        log_warning(&d->log, "out of memory: the file of persistent array %s is left in the "
                    "store's trash until the next start", a->meta.name);
        if (cut >= 0)
            close(cut);
        return;
    }
    job->req.data = job;
    job->d = d;
    job->fd = cut;
    job->trash = a->trash;
    job->owner = a->meta.uid;
    job->remove = remove;
    job->bytes = 0;
    job->r = 0;
    job->cut = cut >= 0;
    job->opened = false;
    memcpy(job->name, a->meta.name, len);
    /* Queued at the loop's next turn (an idle handle, which also keeps the loop from
     * waiting for input meanwhile): an unlink's reply goes first, and the pool's work
     * does not come before it on a busy CPU. */
    job->next = d->leftover.gone;
    d->leftover.gone = job;
    if (d->leftover.gone_on)
        uv_idle_start(&d->leftover.gone_idle, leftover_gone_queue);
    else
        leftover_gone_flush(d);
}

/* a, persistent and without a name, is read and written by nobody (the lease said
 * so), but descriptions opened with O_PATH may keep its file, and with it its disk
 * blocks, once its charge is gone: a writable description of the file to cut it with
 * (leftover_file_gone) into *ret_cut, or -1 when none can be had. 0 when a is to be
 * freed now, or 1 when the daemon is out of descriptors for it: a stays counted and is
 * asked about again (as leftover_held does). */
static int leftover_open_cut(struct daemon *d, struct registry_array *a, int *ret_cut)
{
    int fd, r;

    *ret_cut = -1;
    fd = procfd_reopen(d->procfd, a->fd, O_WRONLY);
    /* Published (0400) by a daemon that is not root: the daemon's own file is made
     * writable to its owner again, once no name but its trash leads to it. */
    if (fd == -EACCES) {
        r = store_unreached(&d->store, a->fd, a->trash, a->meta.uid);
        if (r <= 0) {
            leftover_drop_told(d, a->meta.name, r, 0);
            return 0;
        }
        if (fchmod(a->fd, 0600) == 0)
            fd = procfd_reopen(d->procfd, a->fd, O_WRONLY);
    }
    if (fd == -EMFILE || fd == -ENFILE)
        return 1;
    if (fd < 0) {
        leftover_drop_told(d, a->meta.name, fd, 0);
        return 0;
    }
    *ret_cut = fd;
    return 0;
}

void leftover_init(struct daemon *d)
{
    int fd, r = -ENOMEM;

    /* Made now, not when a published array is first held by O_PATH alone: a daemon out
     * of descriptors then would let that array go uncounted. */
    d->leftover.last_closes = inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
    d->leftover.gone = NULL;
    d->leftover.gone_on = uv_idle_init(&d->loop, &d->leftover.gone_idle) == 0;
    d->leftover.gone_idle.data = d;
    sweep_init(&d->leftover.held, &d->loop, d, leftover_sweep, LEFTOVER_SWEEP_MS, NULL);
    fd = memfd_create("sharr:probe", MFD_CLOEXEC);
    if (fd >= 0) {
        r = openers_probe_reopen(d->procfd, fd, false);
        /* A memfd's own description is not counted as a writer: alone, it gets a read
         * lease. A kernel that counted it would refuse one always; then ask anew. */
        d->leftover.own_lease = r == 0 && openers_probe(fd, true) == 0;
        close(fd);
    }
    if (r < 0)
        log_warning(&d->log, "the kernel cannot tell sharrd who still holds a file (file "
                    "leases: %s): arrays released but still open or mapped in a process "
                    "stop counting against the limits", strerror(-r));
}

void leftover_close(struct daemon *d)
{
    struct sweep *held = &d->leftover.held;
    struct registry_array **items = held->items;
    size_t n = held->n;

    if (!held->on)
        return;
    if (d->leftover.last_closes >= 0)
        close(d->leftover.last_closes);
    d->leftover.last_closes = -1;
    /* Closed first, so that freeing them keeps nothing more. */
    held->items = NULL;
    held->n = 0;
    sweep_close(held);
    for (size_t i = 0; i < n; i++)
        registry_unref(items[i]);
    free(items);
    /* The daemon's last turn of the loop runs them (daemon_close). */
    leftover_gone_flush(d);
    if (d->leftover.gone_on)
        uv_close((uv_handle_t *)&d->leftover.gone_idle, NULL);
    d->leftover.gone_on = false;
}

bool leftover_keep(struct daemon *d, struct registry_array *a)
{
    size_t slot;
    int held, cut = -1;

    /* Not held, a is freed now (daemon_on_last): its memfd is closed, and with it a
     * lease, unless systemd's fd store keeps a copy of it. Shutting down, a persistent
     * one's trash is left to the next start's recovery. */
    if (!d->leftover.held.on)
        return false;
    held = leftover_held(d, a, !notify_enabled(&d->notify));
    /* Nobody reads or writes it: descriptions opened with O_PATH, which no lease sees,
     * keep no memory either. */
    if (held == 0 && !a->meta.persist && a->fd >= 0
        && memstore_drop_pages(a->fd, &a->meta) == -EPERM)
        held = leftover_watch_last_close(&d->leftover, a);
    /* Nor disk: a persistent array's file keeps its blocks while it is open. Root and
     * the daemon's uid may reopen the file through an O_PATH descriptor: their own
     * arrays are left whole, and what such a descriptor keeps is theirs. */
    if (held == 0 && a->meta.persist && a->fd >= 0 && a->meta.uid != 0
        && a->meta.uid != (uint32_t)geteuid())
        held = leftover_open_cut(d, a, &cut);
    if (held > 0 && sweep_add(&d->leftover.held, a, &slot) < 0) {
        log_warning(&d->log, "out of memory: %s is freed while a process still holds it",
                    a->meta.name);
        held = 0;
    }
    if (a->meta.persist) /* kept, its trash goes now: the unlink is durable at once */
        leftover_file_gone(d, a, held > 0 ? -1 : cut);
    if (held <= 0)
        return false;
    registry_ref(a);
    log_debug(&d->log, "%s array %s is released but still held by a process: its %" PRIu64
              " bytes count against uid %" PRIu32 " until it is closed",
              a->meta.persist ? "persistent" : "volatile", a->meta.name, a->meta.nbytes,
              a->meta.uid);
    return true;
}

/* Still held by a process: kept; else let go. */
static enum sweep_verdict leftover_look(void *ctx, struct registry_array *a)
{
    return leftover_held(ctx, a, false) > 0 ? SWEEP_KEEP : SWEEP_DROP;
}

/* The list's reference goes: a is freed. */
static void leftover_let_go(void *ctx, struct registry_array *a)
{
    (void)ctx;
    registry_unref(a);
}

void leftover_check(struct daemon *d, uint32_t uid)
{
    sweep_pass(&d->leftover.held, uid, LEFTOVER_BATCH, leftover_look, leftover_let_go, d);
}

static void leftover_sweep(uv_timer_t *t)
{
    leftover_check(t->data, LEFTOVER_ANY_UID);
}
