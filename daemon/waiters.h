/* waiters.h — opens waiting for a name to be created: indexed by name, so a create
 * answers exactly the waits for its name, and by owner, so a connection that closes
 * cancels exactly its own; each with an optional deadline, kept in one heap under one
 * timer. Every operation costs the same whatever else waits. Creates and deadlines
 * answer at most WAITERS_BATCH woken and WAITERS_BATCH expired waits per turn of the
 * loop: the rest are answered in the next turns, between other clients' requests.
 *
 * A waiter is about a hundred bytes (plus its name once per name waited for), and
 * everything is freed as soon as it is answered: nothing here grows with history.
 * Loop thread only.
 */
#ifndef DAEMON_WAITERS_H
#define DAEMON_WAITERS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <uv.h>

#define WAITERS_BATCH 256 /* woken waits, and expired ones, answered per turn of the loop */

/* Called exactly once per waiter, after it left every index: with what the lookup
 * finds its name as and 0, or with NULL and -ETIMEDOUT or -ECANCELED. name is the name
 * waited for, valid during the call. The callback may add and cancel waiters. */
typedef void waiters_cb(void *arg, const char *name, void *found, int err);

/* What name is found as now, to answer its waits with, or NULL when it is not (any
 * more, or not yet): then its waits go on waiting. */
typedef void *waiters_lookup_cb(void *arg, const char *name);

struct waiter;
struct waiters_name;

/* The waits of one owner (a connection), embedded in it. */
struct waiters_owner {
    struct waiter *head;
    uint64_t n;        /* waiting now */
    uint64_t *shared;  /* or NULL: a count kept with n for a group of owners (a uid) */
};

struct waiters {
    uv_loop_t *loop;
    uv_timer_t timer;               /* due at the earliest deadline */
    uv_idle_t more;                 /* runs the next turn's batch while waits are due */
    bool on;                        /* timer and idle initialised and not closed */
    waiters_lookup_cb *lookup;
    void *lookup_arg;
    struct waiters_name *waking, **waking_tail; /* names found, with waits still to answer */
    struct waiters_name **buckets;  /* names with waiters, hashed; NULL when none */
    size_t nbuckets, nnames;
    struct waiter **heap;           /* waiters with a deadline, earliest first */
    size_t nheap, heapcap;
    uint64_t n;                     /* waiting now */
};

/* lookup(lookup_arg, name) tells what a woken name is found as when its waits are
 * answered. */
void waiters_init(struct waiters *ws, uv_loop_t *loop, waiters_lookup_cb *lookup,
                  void *lookup_arg);

/* Wait for name for timeout_ms (-1: forever) on behalf of owner; cb(arg, ...) is
 * called later. 0 or -ENOMEM. */
int waiters_add(struct waiters *ws, const char *name, int64_t timeout_ms,
                struct waiters_owner *owner, waiters_cb *cb, void *arg);

/* name was found: answer its waits, oldest first, with what lookup finds, from the next
 * turn of the loop on, at most WAITERS_BATCH of all woken names' per turn. */
void waiters_wake(struct waiters *ws, const char *name);

/* Answer every wait of owner with -ECANCELED (at once: they are its own). */
void waiters_cancel(struct waiters *ws, struct waiters_owner *owner);

/* Answer every wait with -ECANCELED and close the timer; no wait may be added after.
 * Idempotent. */
void waiters_close(struct waiters *ws);

#endif
