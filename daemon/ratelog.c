/* ratelog.c — periods of RATELOG_PERIOD_MS that begin at the first event after the
 * last one ended: the first RATELOG_BURST events of a period are written, the rest
 * counted; the first held-back event starts a timer for the end of its period, which
 * writes the count.
 */
#include "ratelog.h"

static void ratelog_summary(struct ratelog *rl)
{
    if (rl->held == 0)
        return;
    log_warning(rl->lg, "%llu more %s not logged in the last %u s (at most %u lines per %u s)",
                (unsigned long long)rl->held, rl->what, RATELOG_PERIOD_MS / 1000, RATELOG_BURST,
                RATELOG_PERIOD_MS / 1000);
    rl->held = 0;
}

static void ratelog_on_period_end(uv_timer_t *t)
{
    ratelog_summary(t->data);
}

void ratelog_init(struct ratelog *rl, uv_loop_t *loop, const struct log_ctx *lg,
                  const char *what)
{
    *rl = (struct ratelog){ .lg = lg, .what = what };
    uv_timer_init(loop, &rl->timer);
    uv_unref((uv_handle_t *)&rl->timer);
    rl->timer.data = rl;
    rl->on = true;
}

bool ratelog_allow(struct ratelog *rl)
{
    uint64_t now = uv_now(rl->timer.loop);

    if (rl->lines == 0 || now - rl->start_ms >= RATELOG_PERIOD_MS) {
        ratelog_summary(rl); /* a period that ended before its timer ran */
        rl->start_ms = now;
        rl->lines = 0;
    }
    if (rl->lines < RATELOG_BURST) {
        rl->lines++;
        return true;
    }
    if (rl->held++ == 0 && rl->on)
        uv_timer_start(&rl->timer, ratelog_on_period_end, rl->start_ms + RATELOG_PERIOD_MS - now,
                       0);
    return false;
}

void ratelog_close(struct ratelog *rl)
{
    if (!rl->on)
        return;
    ratelog_summary(rl);
    uv_close((uv_handle_t *)&rl->timer, NULL);
    rl->on = false;
}
