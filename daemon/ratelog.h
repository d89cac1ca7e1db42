/* ratelog.h — a log line that peers can make the daemon repeat at will (a refused
 * connection), written at most RATELOG_BURST times per RATELOG_PERIOD_MS. The lines
 * held back are counted and told in one summary line when their period ends (or at
 * close), so the log shows every event without letting a peer flood it.
 *
 * One struct ratelog per kind of line; it owns a timer of the loop, unreferenced so
 * it never keeps the loop alive.
 */
#ifndef DAEMON_RATELOG_H
#define DAEMON_RATELOG_H

#include <stdbool.h>
#include <stdint.h>

#include <uv.h>

#include "log.h"

#define RATELOG_BURST 10
#define RATELOG_PERIOD_MS 10000

struct ratelog {
    const struct log_ctx *lg;
    const char *what;      /* what a held-back line is about, plural ("refused connections") */
    uv_timer_t timer;      /* ends a period in which lines were held back */
    bool on;               /* timer initialised and not closed */
    uint64_t start_ms;     /* uv_now when the period began */
    unsigned lines;        /* written in this period */
    uint64_t held;         /* held back in this period */
};

/* Set up rl on loop; what (a string that outlives rl) names the events in the summary:
 * "N more <what> not logged". */
void ratelog_init(struct ratelog *rl, uv_loop_t *loop, const struct log_ctx *lg,
                  const char *what);

/* Whether to write the line of one more event now; when not, the event is counted for
 * the summary. */
bool ratelog_allow(struct ratelog *rl);

/* Write the summary still owed and close the timer. Idempotent. */
void ratelog_close(struct ratelog *rl);

#endif
