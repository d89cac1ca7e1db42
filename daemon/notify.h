/* notify.h — systemd's notification protocol (sd_notify) without libsystemd.
 *
 * Sends "READY=1", "STATUS=...", "STOPPING=1", "WATCHDOG=1" or "FDSTORE=1" datagrams,
 * optionally carrying descriptors, to the socket named by $NOTIFY_SOCKET (a path, or
 * '@' for the abstract namespace). With no $NOTIFY_SOCKET every send is a no-op, so
 * callers need not care whether systemd (or a test standing in for it) is there.
 */
#ifndef DAEMON_NOTIFY_H
#define DAEMON_NOTIFY_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/socket.h>
#include <sys/un.h>

struct notify {
    int fd;                    /* datagram socket, -1 when disabled */
    struct sockaddr_un addr;
    socklen_t addrlen;
};

/* Read $NOTIFY_SOCKET and open a socket to it. Returns 0 (also when the variable is
 * unset: n is then disabled), or a negative errno with a message in err for a
 * malformed variable or a socket that cannot be made. */
int notify_init(struct notify *n, char *err, size_t errlen);

/* Whether notifications go anywhere. */
bool notify_enabled(const struct notify *n);

/* Send one state string ("READY=1\nSTATUS=serving"), with nfds descriptors attached
 * (FDSTORE=1). Returns 0 (also when disabled) or a negative errno. */
int notify_send(const struct notify *n, const char *state, const int *fds, size_t nfds);

/* Close the socket; n is disabled afterwards. Safe on a disabled or zeroed n. */
void notify_close(struct notify *n);

#endif
