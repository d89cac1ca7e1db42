/* asuser.h — forked children that run as an unprivileged uid, so tests running as
 * root can show what the kernel and the daemon refuse to another user.
 *
 * The child drops to ASUSER_UID/ASUSER_GID (nobody) for good before it runs fn.
 */
#ifndef ASUSER_H
#define ASUSER_H

#include "harness.h"
#include "keeper.h"

#define ASUSER_UID 65534u
#define ASUSER_GID 65534u

/* Let other uids reach h's socket (the harness directory is 0700). */
void asuser_open_dir(struct harness *h);
/* asuser_open_dir, then keeper_start: the start of most tests with other users. */
void asuser_keeper_start(struct keeper *k, struct harness *h);

/* Fork, drop to uid/gid (no supplementary groups; dumpable, as a process started as
 * that user is), run fn(arg) and exit with its result. Returns the exit code, or 128 +
 * signal. fn must use CHILD_CHECK, never cmocka asserts. */
int asuser_run(struct harness *h, uint32_t uid, uint32_t gid, int (*fn)(void *arg), void *arg);

/* In a child forked some other way (harness_child_start): drop to uid/gid for good,
 * as asuser_run's child does. 0, or 120 when the drop failed and 121 when it could be
 * undone (asuser_run's exit codes for the same). */
int asuser_become(uint32_t uid, uint32_t gid);
/* n sockets connected to h's daemon by a child running as uid/gid, handed back to
 * the caller in fds (SCM_RIGHTS), so the parent can speak for that uid with rawconn
 * or the library while the daemon sees uid as the peer (SO_PEERCRED is taken at
 * connect). The daemon may have refused some of them (an EMFILE error, then EOF). */
void asuser_connect(struct harness *h, uint32_t uid, uint32_t gid, int *fds, int n);

#endif
