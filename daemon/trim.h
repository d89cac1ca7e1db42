/* trim.h — hand the memory the daemon freed back to the system. glibc keeps freed
 * heap memory for reuse, so the replies, waiting opens and attachments of a burst that
 * then left would stay in the daemon's RSS for good. The frees that matter are counted
 * here; once they add up to TRIM_AFTER bytes, malloc_trim(0) runs TRIM_DELAY_MS later,
 * once for the whole burst.
 *
 * Loop thread only; the timer is unreferenced, so it never keeps the loop alive.
 */
#ifndef DAEMON_TRIM_H
#define DAEMON_TRIM_H

#include <stdbool.h>
#include <stddef.h>

#include <uv.h>

#define TRIM_AFTER (1024u * 1024)
#define TRIM_DELAY_MS 100

struct trim {
    uv_timer_t timer;
    bool on;       /* timer initialised and not closed */
    size_t freed;  /* bytes noted since the last trim */
};

void trim_init(struct trim *t, uv_loop_t *loop);

/* About bytes of heap memory were just freed. */
void trim_note(struct trim *t, size_t bytes);

/* Close the timer. Idempotent. */
void trim_close(struct trim *t);

#endif
