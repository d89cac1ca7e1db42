/* trim.c — count noted frees and run malloc_trim(0) once they reach TRIM_AFTER:
 * glibc then returns every whole free page of its heaps (madvise), not only the top
 * of the heap as it does by itself. Elsewhere than glibc it does nothing.
 */
#include "trim.h"

#ifdef __GLIBC__
#include <malloc.h>
#endif

static void trim_on_timer(uv_timer_t *timer)
{
    struct trim *t = timer->data;

    t->freed = 0;
#ifdef __GLIBC__
    malloc_trim(0);
#endif
}

void trim_init(struct trim *t, uv_loop_t *loop)
{
    uv_timer_init(loop, &t->timer);
    uv_unref((uv_handle_t *)&t->timer);
    t->timer.data = t;
    t->freed = 0;
    t->on = true;
}

void trim_note(struct trim *t, size_t bytes)
{
    t->freed += bytes;
    if (t->on && t->freed >= TRIM_AFTER && !uv_is_active((uv_handle_t *)&t->timer))
        uv_timer_start(&t->timer, trim_on_timer, TRIM_DELAY_MS, 0);
}

void trim_close(struct trim *t)
{
    if (!t->on)
        return;
    uv_close((uv_handle_t *)&t->timer, NULL);
    t->on = false;
}
