/* openers.h — whether any process still holds a file open: asked of the kernel by
 * taking a file lease and dropping it at once (fcntl F_SETLEASE), which works only
 * while no other open file description of the file exists (F_WRLCK) or none open
 * for writing (F_RDLCK). A mapping keeps its description, so mappings count too.
 *
 * The daemon uses it to keep counting what a client holds after it let go of its
 * attachments (leftover.c) and to keep watching a file a writer can still change
 * (growth.c). It owns no state; a lease never outlives the call, but for
 * openers_probe_closing's, which the close that follows ends. A lease being broken
 * sends SIGIO to the daemon, which main.c ignores.
 */
#ifndef DAEMON_OPENERS_H
#define DAEMON_OPENERS_H

#include <stdbool.h>

/* Does any other open file description of fd's file exist (writers_only: any open
 * for writing)? fd must be O_RDONLY and the daemon's only description of the file,
 * apart from a memfd's own (memfd_create's description is not counted by the
 * kernel). With writers_only, fd may also be that memfd's own description (O_RDWR,
 * but not counted as a writer): one system call when a writer is there, two when
 * none is. 1 yes, 0 no, or a negative errno when the kernel cannot tell (leases
 * disabled by fs.leases-enable, a filesystem without leases, a file of another uid
 * for a daemon without CAP_LEASE). */
int openers_probe(int fd, bool writers_only);

/* openers_probe of fd, which the caller closes next, as the last descriptor of its
 * description anywhere (none sent on, not even to systemd's fd store): a lease taken
 * is left to that close to let go, one system call fewer, or held until then while
 * the caller works on the file (leftover.c's cut). Without writers_only fd may also
 * be O_WRONLY, the daemon's only description of the file. */
int openers_probe_closing(int fd, bool writers_only);

/* openers_probe of a new O_RDONLY description of the file open on fd, made through
 * procfd, the daemon's /proc/self/fd (procfd.h), for a memfd whose own O_RDWR
 * descriptor is the daemon's: an open, the lease and a close (which lets the lease
 * go). */
int openers_probe_reopen(int procfd, int fd, bool writers_only);

#endif
