/* log.c — format and filter the daemon's log lines.
 *
 * One line per call, written with a single fprintf so lines from the loop and
 * from thread-pool jobs do not interleave mid-line.
 */
#include "log.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

static const char *const log_names[] = { "error", "warning", "info", "debug" };

int log_level_parse(const char *s, enum log_level *ret_level)
{
    for (size_t i = 0; i < sizeof(log_names) / sizeof(log_names[0]); i++) {
        if (strcmp(s, log_names[i]) == 0) {
            *ret_level = (enum log_level)i;
            return 0;
        }
    }
    return -EINVAL;
}

void log_msg(const struct log_ctx *lg, enum log_level level, const char *fmt, ...)
{
    char line[1024];
    va_list ap;

    if (level > lg->level)
        return;
    va_start(ap, fmt);
    vsnprintf(line, sizeof(line), fmt, ap);
    va_end(ap);
    fprintf(stderr, "sharrd: %s: %s\n", log_names[level], line);
}
