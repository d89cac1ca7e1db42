/* link.h — one socket to sharrd as link.c makes it: dialled, hello exchanged, and
 * the whole-message send and descriptor-carrying receive every use of it goes through.
 * Nothing here knows of a connection's threads, calls or reconnects (client.c, call.c).
 */
#ifndef CLIENT_LINK_H
#define CLIENT_LINK_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#include "decoder.h"
#include "sharr.h"

#define LINK_HELLO_MSGID 0u       /* hello goes first and alone; calls never use 0 */
#define LINK_CMSG_FDS 32          /* descriptors one recvmsg can take; more is -EPROTO */

/* What a successful dial hands over. */
struct link {
    int fd;
    struct decoder *dec;
    struct sharr_server server;
    bool release_notify;        /* the daemon offered the capability "release_notify" */
    bool release_ring;          /* ... and "release_ring" */
    bool records;               /* ... and "records" */
    bool watch;                 /* ... and "watch" */
};

/* Send all len bytes on fd; with pass (not NULL) that descriptor goes with the first.
 * 0 or a negative errno. */
int link_send_all(int fd, const void *buf, size_t len, const int *pass);

/* One recvmsg with a control buffer, so a descriptor sent with these bytes is never
 * dropped. Descriptors land in fds (at most LINK_CMSG_FDS); *ret_truncated is set
 * when the kernel had more than fit. Returns the bytes read (0 at EOF) or -errno. */
ssize_t link_recv(int fd, void *buf, size_t len, int *fds, size_t *ret_nfds,
                  bool *ret_truncated);

/* Close the n descriptors of fds. */
void link_close_fds(const int *fds, size_t n);

/* Connect to path and exchange hello, up to tries times while the failure is one a
 * (re)starting daemon produces, waiting longer between each. Blocking. 0 and *ret
 * filled (its fd and decoder the caller's), or a negative errno with a message in err. */
int link_dial(const char *path, int tries, struct link *ret, char *err, size_t errlen);

#endif
