/* log.h — the daemon's log: one line per message on stderr, either plain
 * ("sharrd: warning: message") or, when stderr is connected to the journal, with
 * the syslog priority prefix journald reads ("<4>message").
 *
 * Only the daemon logs; the codec and the client library never do. The level
 * filter and the format live in a struct log_ctx owned by the daemon, not in a global.
 */
#ifndef DAEMON_LOG_H
#define DAEMON_LOG_H

#include <stdbool.h>

enum log_level { LOG_LEVEL_ERROR = 0, LOG_LEVEL_WARNING, LOG_LEVEL_INFO, LOG_LEVEL_DEBUG };

struct log_ctx {
    enum log_level level; /* lines above this level are dropped */
    bool journal;         /* prefix lines with "<priority>" for journald */
};

/* "error", "warning", "info", "debug" -> level; 0 or -EINVAL. */
int log_level_parse(const char *s, enum log_level *ret_level);

/* The name of a level, as log_level_parse reads it. */
const char *log_level_name(enum log_level level);

/* Whether stderr is the journal stream systemd set up ($JOURNAL_STREAM names the
 * device and inode of stderr), so lines should carry priority prefixes. */
bool log_stderr_is_journal(void);

/* Write one line if level passes the filter. A trailing newline is added. */
void log_msg(const struct log_ctx *lg, enum log_level level, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

#define log_error(lg, ...) log_msg((lg), LOG_LEVEL_ERROR, __VA_ARGS__)
#define log_warning(lg, ...) log_msg((lg), LOG_LEVEL_WARNING, __VA_ARGS__)
#define log_info(lg, ...) log_msg((lg), LOG_LEVEL_INFO, __VA_ARGS__)
#define log_debug(lg, ...) log_msg((lg), LOG_LEVEL_DEBUG, __VA_ARGS__)

#endif
