/* sweep.h — a list of arrays the daemon looks at again and again: a timer that runs
 * while the list is not empty, and passes that look at a bounded batch of them (of one
 * uid, or of all), going on where the last pass stopped so every one gets its turn.
 * growth.c (files a writer may still change) and leftover.c (arrays released but still
 * held by a process) each keep one; what a look does and whether the array stays is
 * theirs. The list holds no reference itself.
 */
#ifndef SHARR_DAEMON_SWEEP_H
#define SHARR_DAEMON_SWEEP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <uv.h>

#define SWEEP_ANY_UID UINT32_MAX

struct registry_array;

/* What a look at one array says: keep it listed, or take it off (its slot then holds
 * another, looked at next). */
enum sweep_verdict { SWEEP_KEEP, SWEEP_DROP };

struct sweep {
    uv_timer_t timer;              /* active only while the list is not empty */
    bool on;                       /* timer initialised and not closed */
    uv_timer_cb tick;              /* what the timer runs */
    uint64_t period_ms;
    struct registry_array **items;
    size_t n, cap;
    size_t next;                   /* where the next pass begins */
    /* Told an array's new place when a drop moves it (NULL: nobody asks). */
    void (*moved)(struct registry_array *a, size_t slot);
};

/* Initialise s on loop; the timer runs tick (with timer.data = data) every period_ms
 * while the list is not empty. */
void sweep_init(struct sweep *s, uv_loop_t *loop, void *data, uv_timer_cb tick,
                uint64_t period_ms, void (*moved)(struct registry_array *, size_t));

/* Close the timer and free the list (its arrays are the caller's to let go of first:
 * s->items[0..s->n)). Idempotent. */
void sweep_close(struct sweep *s);

/* List a; starts the timer. 0, or -ENOMEM (a is not listed). *ret_slot: its place. */
int sweep_add(struct sweep *s, struct registry_array *a, size_t *ret_slot);

/* The next pass comes in ms (then every period_ms again), when any are listed: a list
 * with a backlog asks for a pass again soon. */
void sweep_again(struct sweep *s, uint64_t ms);

/* Take the array at slot off the list (the last one takes its place and is told);
 * the timer stops when the list is empty. */
void sweep_drop(struct sweep *s, size_t slot);

/* One pass: look(ctx, a) for listed arrays of uid (SWEEP_ANY_UID: all), at most batch
 * of them, from where the last pass stopped; a SWEEP_DROP takes the array off the
 * list and then, when let_go is not NULL, hands it to let_go(ctx, a) (which may free
 * it). Few listed (batch or fewer): all of them, from the first. look must not add
 * to or drop from s itself. */
void sweep_pass(struct sweep *s, uint32_t uid, size_t batch,
                enum sweep_verdict (*look)(void *ctx, struct registry_array *a),
                void (*let_go)(void *ctx, struct registry_array *a), void *ctx);

#endif
