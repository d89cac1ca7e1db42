/* procfd.h — the daemon's own /proc/self/fd: one directory descriptor opened at start,
 * through which it reopens one of its descriptors with a new open file description,
 * probes it for other openers, reads where it points or links it into the store
 * (openat and its kin with the descriptor's number as the name: no path of
 * /proc/self/fd/N to resolve each time, a third of a reopen's cost), and the
 * /proc/self/fd/N path for the one call that takes no directory (inotify_add_watch).
 */
#ifndef SHARR_DAEMON_PROCFD_H
#define SHARR_DAEMON_PROCFD_H

#include <stddef.h>
#include <string.h>
#include <sys/types.h>

/* "/proc/self/fd/" and the ten digits of the largest int, with the NUL. */
#define PROCFD_PATH_MAX 32

/* The decimal name of descriptor fd (>= 0) in its /proc/self/fd directory into out
 * (12 bytes: ten digits and the NUL); returns out. Written without printf: every
 * create and attach forms one or two, and snprintf was a tenth of a create's cost. */
static inline char *procfd_name(char out[12], int fd)
{
    char digits[12];
    size_t n = 0;
    unsigned v = fd < 0 ? 0 : (unsigned)fd;

    do {
        digits[n++] = (char)('0' + v % 10);
        v /= 10;
    } while (v > 0);
    for (size_t i = 0; i < n; i++)
        out[i] = digits[n - 1 - i];
    out[n] = '\0';
    return out;
}

/* The path of descriptor fd (>= 0) into out; returns out. */
static inline char *procfd_path(char out[PROCFD_PATH_MAX], int fd)
{
    static const char prefix[] = "/proc/self/fd/";

    memcpy(out, prefix, sizeof(prefix) - 1);
    procfd_name(out + sizeof(prefix) - 1, fd);
    return out;
}

/* Open the calling process's /proc/self/fd directory (O_RDONLY, O_DIRECTORY,
 * O_CLOEXEC) into *ret_dir, the caller's to close. It names the descriptors of that
 * process: any of its threads may use it (they share one descriptor table), never
 * another process (a child would reach its parent's descriptors). 0, or a negative
 * errno (-ENOENT when /proc is not mounted) with a message in err. */
int procfd_open(int *ret_dir, char *err, size_t errlen);

/* A new open file description of the file open on fd, opened with flags (O_CLOEXEC
 * added) through dir, procfd_open's directory: the new descriptor, or a negative errno
 * (-ENOENT when dir is -1, as without /proc). */
int procfd_reopen(int dir, int fd, int flags);

/* readlink of fd's entry in dir into buf (size bytes, not NUL-terminated): the length
 * read or a negative errno (-ENOENT when dir is -1). */
ssize_t procfd_readlink(int dir, int fd, char *buf, size_t size);

/* Link the file open on fd as name in todir (linkat with AT_SYMLINK_FOLLOW, the one way
 * to give a name to a file known only by a descriptor without CAP_DAC_READ_SEARCH):
 * 0 or a negative errno (-ENOENT when dir is -1 or the file has no name left). */
int procfd_link(int dir, int fd, int todir, const char *name);

#endif
