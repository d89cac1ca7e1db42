/* openers.c — the lease probe of openers.h.
 *
 * F_SETLEASE fails with EAGAIN when the lease would conflict with an open: for a
 * write lease, any description of the file but the caller's (its own counts once,
 * as a reader); for a read lease, any description open for writing. A lease is the
 * description's: closing the last descriptor of it lets the lease go too.
 */
#include "openers.h"

#include <errno.h>
#include <fcntl.h>
#include <unistd.h>

#include "procfd.h"

/* Take the lease openers_probe asks with: 1 when another description is in the way,
 * 0 when it is taken (the caller lets it go), or a negative errno. */
static int openers_lease(int fd, bool writers_only)
{
    if (fcntl(fd, F_SETLEASE, writers_only ? F_RDLCK : F_WRLCK) < 0)
        return errno == EAGAIN ? 1 : -errno;
    return 0;
}

int openers_probe(int fd, bool writers_only)
{
    int r = openers_lease(fd, writers_only);

    /* Held for a few instructions: an open that came in between waited only that long. */
    if (r == 0 && fcntl(fd, F_SETLEASE, F_UNLCK) < 0)
        return -errno;
    return r;
}

int openers_probe_closing(int fd, bool writers_only)
{
    return openers_lease(fd, writers_only);
}

int openers_probe_reopen(int procfd, int fd, bool writers_only)
{
    int probe, r;

    probe = procfd_reopen(procfd, fd, O_RDONLY);
    if (probe < 0)
        return probe;
    r = openers_lease(probe, writers_only);
    close(probe); /* the only descriptor of its description: a lease taken goes with it */
    return r;
}
