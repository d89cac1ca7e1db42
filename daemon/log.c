/* log.c — format and filter the daemon's log lines.
 *
 * One line per call, written with a single fprintf so lines from the loop and
 * from thread-pool jobs do not interleave mid-line. Under journald the line is
 * "<N>message" with N the syslog priority (3 error, 4 warning, 6 info, 7 debug);
 * journald adds the program name and time itself.
 */
#include "log.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static const char *const log_names[] = { "error", "warning", "info", "debug" };
static const int log_priorities[] = { 3, 4, 6, 7 };

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

const char *log_level_name(enum log_level level)
{
    return log_names[level];
}

bool log_stderr_is_journal(void)
{
    const char *env = getenv("JOURNAL_STREAM");
    unsigned long long dev, ino;
    struct stat st;

    if (env == NULL || sscanf(env, "%llu:%llu", &dev, &ino) != 2)
        return false;
    if (fstat(STDERR_FILENO, &st) < 0)
        return false;
    return (unsigned long long)st.st_dev == dev && (unsigned long long)st.st_ino == ino;
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
    if (lg->journal)
        fprintf(stderr, "<%d>%s\n", log_priorities[level], line);
    else
        fprintf(stderr, "sharrd: %s: %s\n", log_names[level], line);
}
