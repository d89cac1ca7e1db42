/* openers.c — the lease probe of openers.h.
 *
 * F_SETLEASE fails with EAGAIN when the lease would conflict with an open: for a
 * write lease, any description of the file but the caller's (its own counts once,
 * as a reader); for a read lease, any description open for writing.
 */
#include "openers.h"

#include <errno.h>
#include <fcntl.h>
#include <unistd.h>

#include "procfd.h"

int openers_probe(int fd, bool writers_only)
{
    if (fcntl(fd, F_SETLEASE, writers_only ? F_RDLCK : F_WRLCK) < 0)
        return errno == EAGAIN ? 1 : -errno;
    /* Held for a few instructions: an open that came in between waited only that long. */
    if (fcntl(fd, F_SETLEASE, F_UNLCK) < 0)
        return -errno;
    return 0;
}

int openers_probe_reopen(int fd, bool writers_only)
{
    char path[PROCFD_PATH_MAX];
    int probe, r;

    probe = open(procfd_path(path, fd), O_RDONLY | O_CLOEXEC);
    if (probe < 0)
        return -errno;
    r = openers_probe(probe, writers_only);
    close(probe);
    return r;
}
