/* fdstore.h — volatile arrays kept across a daemon restart in systemd's file
 * descriptor store (FDSTORE=1 over sd_notify), and taken back at start.
 *
 * Each array is stored as two descriptors under one FDNAME
 * "sharr-array.<inode>.<ctime>.<uid>.<gid>.<perm>": its sealed data memfd and a small
 * write-sealed memfd with what its .npy header cannot hold (name, owner, permission
 * bits, creation time). Messages go through
 * the daemon's notify socket: without $NOTIFY_SOCKET everything here is a no-op and
 * volatile arrays end with the daemon.
 */
#ifndef DAEMON_FDSTORE_H
#define DAEMON_FDSTORE_H

#include <stdbool.h>
#include <stddef.h>

#include "log.h"
#include "meta.h"
#include "notify.h"

/* Store the volatile array m with its data memfd fd (not taken). 0 (also when
 * disabled), or a negative errno with a message in err. */
int fdstore_push(const struct notify *n, const struct meta *m, int fd, char *err,
                 size_t errlen);
/* The owner, group or bits of the stored volatile array backed by fd changed from old
 * to m: the new record is stored before the old one is removed, so a crash between
 * leaves both and fdstore_load keeps the newer. 0 or a negative errno with a message. */
int fdstore_update(const struct notify *n, const struct meta *old, const struct meta *m,
                   int fd, char *err, size_t errlen);
/* Remove the stored descriptors of the volatile array m backed by fd. 0 or -errno. */
int fdstore_drop(const struct notify *n, const struct meta *m, int fd);

/* Called by fdstore_load for each array taken back; takes ownership of fd (the data
 * memfd, O_RDWR, O_CLOEXEC). Returns 0, or a negative errno when the array cannot be
 * served (a name already taken): fdstore_load then drops it from the store. */
typedef int fdstore_found_cb(void *arg, const struct meta *m, int fd);

/* Take the descriptors the service manager passed to this process
 * ($LISTEN_PID, $LISTEN_FDS, $LISTEN_FDNAMES) whose names are ours; leave every
 * other one (the listening socket) alone and the environment as it is. Pairs that
 * are incomplete or invalid are logged, closed and removed from the store; of two
 * arrays of one name (a crash during an overwrite) the newer is kept. Returns the
 * number of arrays handed to cb. */
size_t fdstore_load(const struct notify *n, const struct log_ctx *lg, fdstore_found_cb *cb,
                    void *arg);

#endif
