/* sweep.c — the list, the timer and the batched passes of sweep.h. A drop moves the
 * last array into the slot let go of, so a pass that resumes there looks at it next;
 * an array moved that way may be looked at twice in a pass or wait for the next,
 * both harmless to what growth.c and leftover.c do with a look.
 */
#include "sweep.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "registry.h"

void sweep_init(struct sweep *s, uv_loop_t *loop, void *data, uv_timer_cb tick,
                uint64_t period_ms, void (*moved)(struct registry_array *, size_t))
{
    memset(s, 0, sizeof(*s));
    uv_timer_init(loop, &s->timer);
    s->timer.data = data;
    s->tick = tick;
    s->period_ms = period_ms;
    s->moved = moved;
    s->on = true;
}

void sweep_close(struct sweep *s)
{
    free(s->items);
    s->items = NULL;
    s->n = s->cap = s->next = 0;
    if (s->on) {
        uv_close((uv_handle_t *)&s->timer, NULL);
        s->on = false;
    }
}

int sweep_add(struct sweep *s, struct registry_array *a, size_t *ret_slot)
{
    if (s->n == s->cap) {
        size_t cap = s->cap ? s->cap * 2 : 16;
        struct registry_array **items = realloc(s->items, cap * sizeof(*items));

        if (!items)
            return -ENOMEM;
        s->items = items;
        s->cap = cap;
    }
    *ret_slot = s->n;
    s->items[s->n++] = a;
    if (s->on && !uv_is_active((uv_handle_t *)&s->timer))
        uv_timer_start(&s->timer, s->tick, s->period_ms, s->period_ms);
    return 0;
}

void sweep_again(struct sweep *s, uint64_t ms)
{
    if (s->on && s->n > 0)
        uv_timer_start(&s->timer, s->tick, ms, s->period_ms);
}

void sweep_drop(struct sweep *s, size_t slot)
{
    s->items[slot] = s->items[--s->n];
    if (slot < s->n && s->moved)
        s->moved(s->items[slot], slot);
    if (s->n == 0 && s->on)
        uv_timer_stop(&s->timer);
}

void sweep_pass(struct sweep *s, uint32_t uid, size_t batch,
                enum sweep_verdict (*look)(void *ctx, struct registry_array *a),
                void (*let_go)(void *ctx, struct registry_array *a), void *ctx)
{
    size_t steps = s->n, looked = 0;

    if (s->n <= batch)
        s->next = 0;
    /* One step per array there was: each is kept or let go, whose slot then holds one
     * not yet looked at. */
    for (; steps > 0 && s->n > 0 && looked < batch; steps--) {
        struct registry_array *a;

        if (s->next >= s->n)
            s->next = 0;
        a = s->items[s->next];
        if (uid != SWEEP_ANY_UID && a->meta.uid != uid) {
            s->next++;
            continue;
        }
        looked++;
        if (look(ctx, a) == SWEEP_KEEP) {
            s->next++;
            continue;
        }
        sweep_drop(s, s->next);
        if (let_go)
            let_go(ctx, a);
    }
}
