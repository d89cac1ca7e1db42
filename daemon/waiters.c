/* waiters.c — a hash table of names (FNV-1a, chained, resized by powers of two as
 * names come and go), each with its waiters in a doubly linked list in arrival order;
 * each owner's waiters in a second list; a binary min-heap of deadlines; a queue of
 * woken names whose waiters are still to be answered.
 *
 * Answering takes the waiters out of every index first and calls them after, so a
 * callback that cancels or adds waiters never meets a list being walked. A name stays
 * allocated while a waiter taken out, or the woken queue, still refers to it, so
 * callbacks can read it. Woken and expired waiters are answered WAITERS_BATCH of each
 * per turn by an idle handle, which runs once per turn of the loop while work is left;
 * the timer only starts it. (A timer restarted from its own callback with no delay
 * runs again within the same turn in libuv 1.44, so it cannot spread the work.)
 */
#include "waiters.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#define WAITERS_BUCKETS_MIN 64
#define WAITERS_HEAP_MIN 64
#define WAITERS_NO_HEAP SIZE_MAX
#define WAITERS_NO_DEADLINE UINT64_MAX

struct waiters_name {
    struct waiters_name *chain;   /* next in its bucket */
    uint64_t hash;
    unsigned refs;                /* waiters that name it, in the index or being answered,
                                   * and the woken queue */
    bool indexed;                 /* in the hash table */
    bool woken;                   /* in the woken queue */
    struct waiters_name *woken_next;
    struct waiter *first, *last;  /* waiting, oldest first */
    char name[];
};

struct waiter {
    struct waiters_name *name;
    struct waiter *next, *prev;             /* the name's waiters */
    struct waiters_owner *owner;
    struct waiter *owner_next, *owner_prev; /* the owner's waiters */
    struct waiter *taken_next;              /* out of the indexes, to be answered */
    uint64_t deadline;                      /* uv_now ms, or WAITERS_NO_DEADLINE */
    size_t heap_at;                         /* index in the heap, or WAITERS_NO_HEAP */
    waiters_cb *cb;
    void *arg;
};

static uint64_t waiters_hash(const char *s)
{
    uint64_t h = 14695981039346656037ull;

    for (; *s; s++)
        h = (h ^ (unsigned char)*s) * 1099511628211ull;
    return h;
}

void waiters_init(struct waiters *ws, uv_loop_t *loop, waiters_lookup_cb *lookup,
                  void *lookup_arg)
{
    memset(ws, 0, sizeof(*ws));
    ws->loop = loop;
    ws->lookup = lookup;
    ws->lookup_arg = lookup_arg;
    ws->waking_tail = &ws->waking;
    uv_timer_init(loop, &ws->timer);
    ws->timer.data = ws;
    uv_idle_init(loop, &ws->more);
    ws->more.data = ws;
    ws->on = true;
}

/* Rehash into nb buckets (a power of two); on ENOMEM the table stays as it is, which
 * only makes chains longer. */
static void waiters_rehash(struct waiters *ws, size_t nb)
{
    struct waiters_name **b = calloc(nb, sizeof(*b));

    if (!b)
        return;
    for (size_t i = 0; i < ws->nbuckets; i++) {
        struct waiters_name *n = ws->buckets[i], *next;

        for (; n; n = next) {
            next = n->chain;
            n->chain = b[n->hash & (nb - 1)];
            b[n->hash & (nb - 1)] = n;
        }
    }
    free(ws->buckets);
    ws->buckets = b;
    ws->nbuckets = nb;
}

static struct waiters_name *waiters_name_get(struct waiters *ws, const char *name)
{
    uint64_t h = waiters_hash(name);
    struct waiters_name *n;
    size_t len = strlen(name);

    if (ws->nbuckets == 0)
        waiters_rehash(ws, WAITERS_BUCKETS_MIN);
    if (ws->nbuckets == 0)
        return NULL;
    for (n = ws->buckets[h & (ws->nbuckets - 1)]; n; n = n->chain) {
        if (n->hash == h && strcmp(n->name, name) == 0)
            return n;
    }
    n = malloc(sizeof(*n) + len + 1);
    if (!n)
        return NULL;
    *n = (struct waiters_name){ .hash = h, .indexed = true };
    memcpy(n->name, name, len + 1);
    n->chain = ws->buckets[h & (ws->nbuckets - 1)];
    ws->buckets[h & (ws->nbuckets - 1)] = n;
    if (++ws->nnames > ws->nbuckets)
        waiters_rehash(ws, ws->nbuckets * 2);
    return n;
}

static struct waiters_name *waiters_name_find(const struct waiters *ws, const char *name)
{
    uint64_t h = waiters_hash(name);

    if (ws->nbuckets == 0)
        return NULL;
    for (struct waiters_name *n = ws->buckets[h & (ws->nbuckets - 1)]; n; n = n->chain) {
        if (n->hash == h && strcmp(n->name, name) == 0)
            return n;
    }
    return NULL;
}

/* Drop a reference to n; the last one takes it out of the table and frees it. */
static void waiters_name_put(struct waiters *ws, struct waiters_name *n)
{
    struct waiters_name **pp;

    if (--n->refs > 0)
        return;
    if (n->indexed) {
        for (pp = &ws->buckets[n->hash & (ws->nbuckets - 1)]; *pp != n; pp = &(*pp)->chain)
            ;
        *pp = n->chain;
        ws->nnames--;
        if (ws->nnames == 0) {
            free(ws->buckets);
            ws->buckets = NULL;
            ws->nbuckets = 0;
        } else if (ws->nbuckets > WAITERS_BUCKETS_MIN && ws->nnames < ws->nbuckets / 8) {
            waiters_rehash(ws, ws->nbuckets / 2);
        }
    }
    free(n);
}

/* ---- the deadline heap ---- */

static void waiters_heap_set(struct waiters *ws, size_t i, struct waiter *w)
{
    ws->heap[i] = w;
    w->heap_at = i;
}

static void waiters_heap_up(struct waiters *ws, size_t i)
{
    struct waiter *w = ws->heap[i];

    while (i > 0 && ws->heap[(i - 1) / 2]->deadline > w->deadline) {
        waiters_heap_set(ws, i, ws->heap[(i - 1) / 2]);
        i = (i - 1) / 2;
    }
    waiters_heap_set(ws, i, w);
}

static void waiters_heap_down(struct waiters *ws, size_t i)
{
    struct waiter *w = ws->heap[i];

    for (;;) {
        size_t l = 2 * i + 1, m = i;
        uint64_t least = w->deadline;

        if (l < ws->nheap && ws->heap[l]->deadline < least)
            least = ws->heap[m = l]->deadline;
        if (l + 1 < ws->nheap && ws->heap[l + 1]->deadline < least)
            m = l + 1;
        if (m == i)
            break;
        waiters_heap_set(ws, i, ws->heap[m]);
        i = m;
    }
    waiters_heap_set(ws, i, w);
}

static int waiters_heap_push(struct waiters *ws, struct waiter *w)
{
    if (ws->nheap == ws->heapcap) {
        size_t cap = ws->heapcap ? ws->heapcap * 2 : WAITERS_HEAP_MIN;
        struct waiter **heap = realloc(ws->heap, cap * sizeof(*heap));

        if (!heap)
            return -ENOMEM;
        ws->heap = heap;
        ws->heapcap = cap;
    }
    waiters_heap_set(ws, ws->nheap++, w);
    waiters_heap_up(ws, ws->nheap - 1);
    return 0;
}

static void waiters_heap_remove(struct waiters *ws, struct waiter *w)
{
    size_t i = w->heap_at;

    if (i == WAITERS_NO_HEAP)
        return;
    w->heap_at = WAITERS_NO_HEAP;
    if (i != --ws->nheap) {
        struct waiter *moved = ws->heap[ws->nheap];

        waiters_heap_set(ws, i, moved);
        waiters_heap_down(ws, i);
        waiters_heap_up(ws, moved->heap_at);
    }
    /* Give memory back once most waiters with a deadline are gone. */
    if (ws->nheap == 0) {
        free(ws->heap);
        ws->heap = NULL;
        ws->heapcap = 0;
    } else if (ws->heapcap > WAITERS_HEAP_MIN && ws->nheap < ws->heapcap / 4) {
        struct waiter **heap = realloc(ws->heap, ws->heapcap / 2 * sizeof(*heap));

        if (heap) {
            ws->heap = heap;
            ws->heapcap /= 2;
        }
    }
}

static void waiters_on_timer(uv_timer_t *t);
static void waiters_on_more(uv_idle_t *idle);

/* Whether the earliest deadline has passed. */
static bool waiters_due(const struct waiters *ws)
{
    return ws->nheap > 0 && ws->heap[0]->deadline <= uv_now(ws->loop);
}

/* The idle handle runs while waits are due or woken names wait for answers; else the
 * timer is due at the earliest deadline, or stopped when none. */
static void waiters_schedule(struct waiters *ws)
{
    uint64_t now = uv_now(ws->loop);

    if (!ws->on)
        return;
    if (waiters_due(ws) || ws->waking)
        uv_idle_start(&ws->more, waiters_on_more);
    else
        uv_idle_stop(&ws->more);
    if (ws->nheap == 0 || waiters_due(ws))
        uv_timer_stop(&ws->timer);
    else
        uv_timer_start(&ws->timer, waiters_on_timer, ws->heap[0]->deadline - now, 0);
}

/* ---- taking out and answering ---- */

/* Take w out of its name's list, its owner's list and the heap. */
static void waiters_take(struct waiters *ws, struct waiter *w)
{
    struct waiters_name *n = w->name;
    struct waiters_owner *o = w->owner;

    if (w->prev)
        w->prev->next = w->next;
    else
        n->first = w->next;
    if (w->next)
        w->next->prev = w->prev;
    else
        n->last = w->prev;
    if (w->owner_prev)
        w->owner_prev->owner_next = w->owner_next;
    else
        o->head = w->owner_next;
    if (w->owner_next)
        w->owner_next->owner_prev = w->owner_prev;
    o->n--;
    if (o->shared)
        (*o->shared)--;
    waiters_heap_remove(ws, w);
    ws->n--;
}

/* Answer w, taken out already, and free it. */
static void waiters_answer_one(struct waiters *ws, struct waiter *w, void *found, int err)
{
    w->cb(w->arg, w->name->name, found, err);
    waiters_name_put(ws, w->name);
    free(w);
}

/* Answer the waiters chained through taken_next, in that order, and free them. */
static void waiters_answer(struct waiters *ws, struct waiter *taken, void *found, int err)
{
    struct waiter *w, *next;

    for (w = taken; w; w = next) {
        next = w->taken_next;
        waiters_answer_one(ws, w, found, err);
    }
}

int waiters_add(struct waiters *ws, const char *name, int64_t timeout_ms,
                struct waiters_owner *owner, waiters_cb *cb, void *arg)
{
    struct waiter *w = malloc(sizeof(*w));
    struct waiters_name *n;

    if (!w)
        return -ENOMEM;
    *w = (struct waiter){ .owner = owner, .deadline = WAITERS_NO_DEADLINE,
                          .heap_at = WAITERS_NO_HEAP, .cb = cb, .arg = arg };
    if (timeout_ms >= 0) {
        w->deadline = uv_now(ws->loop) + (uint64_t)timeout_ms;
        if (waiters_heap_push(ws, w) < 0) {
            free(w);
            return -ENOMEM;
        }
    }
    n = waiters_name_get(ws, name);
    if (!n) {
        waiters_heap_remove(ws, w);
        free(w);
        return -ENOMEM;
    }
    n->refs++;
    w->name = n;
    w->prev = n->last;
    if (n->last)
        n->last->next = w;
    else
        n->first = w;
    n->last = w;
    w->owner_next = owner->head;
    if (owner->head)
        owner->head->owner_prev = w;
    owner->head = w;
    owner->n++;
    if (owner->shared)
        (*owner->shared)++;
    ws->n++;
    if (w->heap_at == 0)
        waiters_schedule(ws);
    return 0;
}

void waiters_wake(struct waiters *ws, const char *name)
{
    struct waiters_name *n = waiters_name_find(ws, name);

    if (!n || n->woken)
        return;
    /* The queue's reference keeps n while its waiters are answered. */
    n->woken = true;
    n->refs++;
    n->woken_next = NULL;
    *ws->waking_tail = n;
    ws->waking_tail = &n->woken_next;
    waiters_schedule(ws);
}

/* Take the first woken name off the queue and drop the queue's reference. */
static void waiters_woken_pop(struct waiters *ws)
{
    struct waiters_name *n = ws->waking;

    ws->waking = n->woken_next;
    if (!ws->waking)
        ws->waking_tail = &ws->waking;
    n->woken = false;
    waiters_name_put(ws, n);
}

/* Answer up to most waiters of woken names, oldest name first, with what each name is
 * found as now; a name no longer found leaves the queue and its waiters wait on. */
static void waiters_answer_woken(struct waiters *ws, unsigned most)
{
    while (most > 0 && ws->waking) {
        struct waiters_name *n = ws->waking;
        struct waiter *taken = NULL, **tail = &taken;
        void *found = n->first ? ws->lookup(ws->lookup_arg, n->name) : NULL;

        if (!found) {
            waiters_woken_pop(ws);
            continue;
        }
        for (; most > 0 && n->first; most--) {
            struct waiter *w = n->first;

            waiters_take(ws, w);
            w->taken_next = NULL;
            *tail = w;
            tail = &w->taken_next;
        }
        /* Done with n: its taken waiters' references keep it for their answers. */
        if (!n->first)
            waiters_woken_pop(ws);
        waiters_answer(ws, taken, found, 0);
    }
}

/* Answer up to most waiters whose deadline has passed, earliest first: with
 * -ETIMEDOUT, or with the array when their name was woken and is still found (it came
 * in time, only its answer waited for a turn). */
static void waiters_answer_expired(struct waiters *ws, unsigned most)
{
    struct waiter *taken = NULL, **tail = &taken, *w, *next;

    for (; most > 0 && waiters_due(ws); most--) {
        w = ws->heap[0];
        waiters_take(ws, w);
        w->taken_next = NULL;
        *tail = w;
        tail = &w->taken_next;
    }
    for (w = taken; w; w = next) {
        void *found = w->name->woken ? ws->lookup(ws->lookup_arg, w->name->name) : NULL;

        next = w->taken_next;
        waiters_answer_one(ws, w, found, found ? 0 : -ETIMEDOUT);
    }
}

/* One turn's share: a batch of expired waits and a batch of woken ones. */
static void waiters_run(struct waiters *ws)
{
    waiters_answer_expired(ws, WAITERS_BATCH);
    waiters_answer_woken(ws, WAITERS_BATCH);
    waiters_schedule(ws);
}

static void waiters_on_more(uv_idle_t *idle)
{
    waiters_run(idle->data);
}

static void waiters_on_timer(uv_timer_t *t)
{
    waiters_run(t->data);
}

void waiters_cancel(struct waiters *ws, struct waiters_owner *owner)
{
    struct waiter *taken = NULL;

    /* The owner's list runs newest first: prepending each puts the oldest first. */
    while (owner->head) {
        struct waiter *w = owner->head;

        waiters_take(ws, w);
        w->taken_next = taken;
        taken = w;
    }
    waiters_schedule(ws);
    waiters_answer(ws, taken, NULL, -ECANCELED);
}

void waiters_close(struct waiters *ws)
{
    struct waiter *taken = NULL, **tail = &taken;

    if (!ws->on)
        return;
    for (size_t i = 0; i < ws->nbuckets; i++) {
        for (struct waiters_name *n = ws->buckets[i]; n; n = n->chain) {
            for (struct waiter *w = n->first; w; w = w->next) {
                *tail = w;
                tail = &w->taken_next;
            }
        }
    }
    *tail = NULL;
    for (struct waiter *w = taken; w; w = w->taken_next)
        waiters_take(ws, w);
    while (ws->waking)
        waiters_woken_pop(ws);
    ws->on = false;
    uv_close((uv_handle_t *)&ws->timer, NULL);
    uv_close((uv_handle_t *)&ws->more, NULL);
    waiters_answer(ws, taken, NULL, -ECANCELED);
}
