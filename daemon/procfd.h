/* procfd.h — the /proc/self/fd/N path of one of the daemon's own descriptors, through
 * which it reopens a memfd with a new open file description, probes it for other
 * openers or links it into the store. Written without printf: every create and
 * attach forms one or two of these, and snprintf was a tenth of a create's cost.
 */
#ifndef SHARR_DAEMON_PROCFD_H
#define SHARR_DAEMON_PROCFD_H

#include <string.h>

/* "/proc/self/fd/" and the ten digits of the largest int, with the NUL. */
#define PROCFD_PATH_MAX 32

/* The path of descriptor fd (>= 0) into out; returns out. */
static inline char *procfd_path(char out[PROCFD_PATH_MAX], int fd)
{
    static const char prefix[] = "/proc/self/fd/";
    char digits[12];
    size_t n = 0;
    unsigned v = fd < 0 ? 0 : (unsigned)fd;

    do {
        digits[n++] = (char)('0' + v % 10);
        v /= 10;
    } while (v > 0);
    memcpy(out, prefix, sizeof(prefix) - 1);
    for (size_t i = 0; i < n; i++)
        out[sizeof(prefix) - 1 + i] = digits[n - 1 - i];
    out[sizeof(prefix) - 1 + n] = '\0';
    return out;
}

#endif
