/* growth.c — notice, charge and report persistent files that writers grew or cut.
 *
 * The fresh and watched lists hold no reference: an array leaves them when it is
 * freed (growth_forget), or when a sweep finds that no process can write to its file
 * any more, after one last look. It is on one of them at most (watch_fresh says
 * which). An array without a name is looked at through the descriptor it kept of its
 * file (registry_keep_file).
 */
#include "growth.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "daemon.h"
#include "openers.h"

#define GROWTH_BLOCK_MIN 4096u
#define GROWTH_BLOCK_MAX (1u << 20)
#define GROWTH_SLACK_DIVISOR 64 /* room for the filesystem's own blocks */

static void growth_sweep(uv_timer_t *t);
static void growth_sweep_fresh(uv_timer_t *t);

/* A drop moved a to another place of its list. */
static void growth_moved(struct registry_array *a, size_t slot)
{
    a->watch_slot = slot + 1;
}

void growth_init(struct daemon *d)
{
    sweep_init(&d->growth.fresh, &d->loop, d, growth_sweep_fresh, GROWTH_SWEEP_MS,
               growth_moved);
    sweep_init(&d->growth.watched, &d->loop, d, growth_sweep, GROWTH_SWEEP_MS, growth_moved);
}

/* The list a is on (a->watch_slot set). */
static struct sweep *growth_list_of(struct daemon *d, const struct registry_array *a)
{
    return a->watch_fresh ? &d->growth.fresh : &d->growth.watched;
}

void growth_close(struct daemon *d)
{
    struct sweep *lists[] = { &d->growth.fresh, &d->growth.watched };

    for (size_t l = 0; l < 2; l++) {
        for (size_t i = 0; i < lists[l]->n; i++)
            lists[l]->items[i]->watch_slot = 0;
        sweep_close(lists[l]);
    }
}

void growth_measure(const struct meta *m, const struct stat *st, uint64_t *ret_grown,
                    bool *ret_damaged)
{
    uint64_t size = m->offset + m->nbytes, block = (uint64_t)st->st_blksize;
    uint64_t allocated = (uint64_t)st->st_blocks * 512, need, slack;

    if (block < GROWTH_BLOCK_MIN || block > GROWTH_BLOCK_MAX)
        block = GROWTH_BLOCK_MIN;
    need = size > UINT64_MAX - block ? UINT64_MAX : (size + block - 1) / block * block;
    /* Extent or indirect blocks of a large file, an extended attribute block of a
     * small one: the filesystem's, not a writer's. */
    slack = need / GROWTH_SLACK_DIVISOR > block ? need / GROWTH_SLACK_DIVISOR : block;
    *ret_grown = allocated > need && allocated - need > slack ? allocated - need : 0;
    *ret_damaged = st->st_size < 0 || (uint64_t)st->st_size < size;
}

void growth_report_found(struct daemon *d, const struct meta *m)
{
    if (m->grown)
        log_warning(&d->log, "persistent array %s: its file has grown by %" PRIu64 " bytes "
                    "beyond its data; they count against the quota of uid %" PRIu32,
                    m->name, m->grown, m->uid);
    if (m->damaged)
        log_warning(&d->log, "persistent array %s is damaged: its file is shorter than its "
                    "%" PRIu64 " bytes of data (cut by a writer); processes that touch the "
                    "missing part get SIGBUS", m->name, m->offset + m->nbytes);
}

void growth_check(struct daemon *d, struct registry_array *a)
{
    struct meta *m = &a->meta;
    struct quota_cost cost;
    uint64_t grown;
    bool damaged;
    struct stat st;

    if (!m->persist || !a->ready)
        return;
    if (a->named ? store_stat(&d->store, m->name, &a->file, &st) < 0
                 : a->fd < 0 || fstat(a->fd, &st) < 0)
        return;
    growth_measure(m, &st, &grown, &damaged);
    if (grown != m->grown) {
        if (grown && !m->grown)
            log_warning(&d->log, "persistent array %s: a writer has grown its file by %"
                        PRIu64 " bytes beyond its data; they count against the quota of "
                        "uid %" PRIu32, m->name, grown, m->uid);
        else if (!grown)
            log_info(&d->log, "persistent array %s: its file is back to the size of its data",
                     m->name);
        m->grown = grown;
        cost = quota_cost_of(m);
        if (a->quota)
            quota_recharge(a->quota, m->uid, a->charged, cost);
        a->charged = cost;
    }
    if (damaged != m->damaged) {
        if (damaged)
            log_warning(&d->log, "persistent array %s is damaged: a writer cut its file to %"
                        PRId64 " bytes, below the %" PRIu64 " its data needs; processes that "
                        "touch the missing part get SIGBUS", m->name, (int64_t)st.st_size,
                        m->offset + m->nbytes);
        else
            log_info(&d->log, "persistent array %s: its file holds all its data again",
                     m->name);
        m->damaged = damaged;
    }
}

/* Can a process still write to a's file? A writer attached can; else the kernel is
 * asked whether any description of the file is open for writing (a writer may have
 * kept its descriptor, or a mapping, after its release, or the adopter its own).
 * When it cannot tell, attached writers are all that count. */
static bool growth_writable(struct daemon *d, const struct registry_array *a)
{
    int fd, r;

    if (a->writers > 0)
        return true;
    if (!a->named)
        return a->fd >= 0 && openers_probe(a->fd, true) > 0;
    r = store_reopen(&d->store, a->meta.name, &a->file, O_RDONLY, &fd);
    if (r < 0)
        return false;
    r = openers_probe(fd, true);
    close(fd);
    return r > 0;
}

/* What one pass does (growth_pass). */
struct growth_pass {
    struct daemon *d;
    bool sweep;     /* let go of the arrays no process can write to any more */
    size_t probes;  /* kernel questions asked so far */
    size_t most;    /* and at most */
    size_t gone;    /* arrays let go of */
};

/* Check a; a sweep of the watched list also lets go of it when no process can write
 * to its file any more, asking the kernel about at most GROWTH_PROBES arrays a pass
 * (the others wait). */
static enum sweep_verdict growth_look(void *ctx, struct registry_array *a)
{
    struct growth_pass *p = ctx;

    growth_check(p->d, a);
    if (p->sweep && a->writers == 0 && p->probes++ < p->most && !growth_writable(p->d, a)) {
        a->watch_slot = 0;
        p->gone++;
        return SWEEP_DROP;
    }
    return SWEEP_KEEP;
}

/* Check a fresh array; a sweep, once its writers have released it, asks the kernel
 * (up to GROWTH_FRESH_PROBES a pass) whether a process can still write to its file:
 * if none can, lets go of it; else moves it to the watched list. */
static enum sweep_verdict growth_look_fresh(void *ctx, struct registry_array *a)
{
    struct growth_pass *p = ctx;
    size_t slot;

    growth_check(p->d, a);
    if (!p->sweep || a->writers > 0 || p->probes >= p->most)
        return SWEEP_KEEP;
    p->probes++;
    if (!growth_writable(p->d, a)) {
        a->watch_slot = 0;
        p->gone++;
        return SWEEP_DROP;
    }
    if (sweep_add(&p->d->growth.watched, a, &slot) < 0)
        return SWEEP_KEEP; /* out of memory: asked again at the next pass */
    a->watch_slot = slot + 1;
    a->watch_fresh = false;
    return SWEEP_DROP;
}

/* Look at up to batch arrays of list (fresh or watched) of uid (or of all), going on
 * from where the last look stopped so that every one gets its turn. *ret_gone (or
 * NULL): how many a sweep let go of. Returns how many the kernel was asked about. */
static size_t growth_pass(struct daemon *d, struct sweep *list, uint32_t uid, size_t batch,
                          bool sweep, size_t *ret_gone)
{
    bool fresh = list == &d->growth.fresh;
    struct growth_pass p = { d, sweep, 0, fresh ? GROWTH_FRESH_PROBES : GROWTH_PROBES, 0 };

    sweep_pass(list, uid, batch, fresh ? growth_look_fresh : growth_look, NULL, &p);
    if (ret_gone)
        *ret_gone = p.gone;
    return p.probes < p.most ? p.probes : p.most;
}

void growth_check_uid(struct daemon *d, uint32_t uid)
{
    size_t fresh = d->growth.fresh.n, batch = GROWTH_BATCH;

    if (fresh > 0 && d->growth.watched.n > 0)
        batch = GROWTH_BATCH / 2;
    growth_pass(d, &d->growth.fresh, uid, batch, false, NULL);
    growth_pass(d, &d->growth.watched, uid, GROWTH_BATCH - (fresh < batch ? fresh : batch),
                false, NULL);
}

/* The CPU time the daemon's loop thread has used, in ns. */
static uint64_t growth_cpu_ns(void)
{
    struct timespec ts;

    if (clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts) < 0)
        return 0;
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/* A sweep pass of list. One that may have left more to let go of (busy) has the next
 * come after GROWTH_SHARE times the CPU time it took (a pass preempted by other
 * processes is not made to wait longer; the timer counts from the loop's time, taken
 * before the pass), else after GROWTH_SWEEP_MS. A fresh pass is busy when it asked
 * the kernel about any; a watched one when it let go of at least a quarter of those
 * it asked about (files writers held that they have let go of since): arrays writers
 * keep open are asked about GROWTH_PROBES a second. */
static void growth_sweep_list(struct daemon *d, struct sweep *list)
{
    uint64_t start = growth_cpu_ns(), ms;
    size_t asked, gone;
    bool busy;

    d->growth.sweeps++;
    asked = growth_pass(d, list, GROWTH_ANY_UID, GROWTH_BATCH, true, &gone);
    busy = list == &d->growth.fresh ? asked > 0 : gone > 0 && gone * 4 >= asked;
    if (!busy)
        return;
    ms = ((growth_cpu_ns() - start) * GROWTH_SHARE + 999999) / 1000000;
    sweep_again(list, ms < 1 ? 1 : ms < GROWTH_SWEEP_MS ? ms : GROWTH_SWEEP_MS);
}

static void growth_sweep(uv_timer_t *t)
{
    struct daemon *d = t->data;

    growth_sweep_list(d, &d->growth.watched);
}

static void growth_sweep_fresh(uv_timer_t *t)
{
    struct daemon *d = t->data;

    growth_sweep_list(d, &d->growth.fresh);
}

size_t growth_watched(const struct daemon *d)
{
    return d->growth.fresh.n + d->growth.watched.n;
}

void growth_forget(struct daemon *d, struct registry_array *a)
{
    if (a->watch_slot) {
        size_t slot = a->watch_slot - 1;

        a->watch_slot = 0;
        sweep_drop(growth_list_of(d, a), slot);
    }
}

bool growth_may_change(const struct registry_array *a)
{
    return a->meta.persist && (a->watch_slot != 0 || a->writers > 0);
}

void growth_watch(struct daemon *d, struct registry_array *a)
{
    size_t slot;

    if (!a->meta.persist || (a->watch_slot && a->watch_fresh) || !d->growth.fresh.on)
        return;
    if (sweep_add(&d->growth.fresh, a, &slot) < 0) {
        /* Not on the fresh list: still looked at by its stat and sync, by list while
         * it is attached r+, and by the watched sweep if it is on that list. */
        log_warning(&d->log, "out of memory: %s is not swept for growth", a->meta.name);
        return;
    }
    growth_forget(d, a); /* off the watched list, if on it */
    a->watch_slot = slot + 1;
    a->watch_fresh = true;
}
