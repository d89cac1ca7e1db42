/* procfd.c — the daemon's /proc/self/fd directory of procfd.h and the calls made
 * through it. It keeps no state: the directory descriptor is the caller's (struct
 * daemon's procfd).
 */
#include "procfd.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <unistd.h>

int procfd_open(int *ret_dir, char *err, size_t errlen)
{
    int dir = open("/proc/self/fd", O_RDONLY | O_DIRECTORY | O_CLOEXEC);

    if (dir < 0) {
        int r = -errno;

        snprintf(err, errlen, "cannot open /proc/self/fd: %s%s", strerror(errno),
                 r == -ENOENT ? " (is /proc mounted?)" : "");
        return r;
    }
    *ret_dir = dir;
    return 0;
}

int procfd_reopen(int dir, int fd, int flags)
{
    char name[12];
    int r;

    if (dir < 0)
        return -ENOENT;
    r = openat(dir, procfd_name(name, fd), flags | O_CLOEXEC);
    return r < 0 ? -errno : r;
}

ssize_t procfd_readlink(int dir, int fd, char *buf, size_t size)
{
    char name[12];
    ssize_t n;

    if (dir < 0)
        return -ENOENT;
    n = readlinkat(dir, procfd_name(name, fd), buf, size);
    return n < 0 ? -errno : n;
}

int procfd_link(int dir, int fd, int todir, const char *name)
{
    char from[12];

    if (dir < 0)
        return -ENOENT;
    return linkat(dir, procfd_name(from, fd), todir, name, AT_SYMLINK_FOLLOW) < 0 ? -errno
                                                                                : 0;
}
