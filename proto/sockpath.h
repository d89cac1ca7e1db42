/* sockpath.h — where the sharrd socket is by default, for the daemon and clients.
 *
 * Candidates in order: $SHARR_SOCKET; $XDG_RUNTIME_DIR/sharr/sharr.sock;
 * /run/sharr/sharr.sock; /tmp/sharr-<uid>/sharr.sock. Pure string and stat work.
 */
#ifndef PROTO_SOCKPATH_H
#define PROTO_SOCKPATH_H

#include <stddef.h>

/* For a client: the first candidate whose socket exists; if none exists, the one a
 * daemon started by this user would create. Returns 0, or -ENAMETOOLONG. */
int sockpath_client(char *out, size_t len);

/* For a daemon started with no --socket: $SHARR_SOCKET if set; else
 * $XDG_RUNTIME_DIR/sharr/sharr.sock if that variable is set; else
 * /run/sharr/sharr.sock for root; else /tmp/sharr-<uid>/sharr.sock.
 * Returns 0, or -ENAMETOOLONG. */
int sockpath_daemon(char *out, size_t len);

#endif
