/* notify.c — sd_notify datagrams to $NOTIFY_SOCKET, with optional descriptors.
 *
 * Owns one SOCK_DGRAM socket; knows the protocol's addressing and SCM_RIGHTS framing,
 * nothing of what the daemon reports (callers compose the state strings).
 */
#include "notify.h"

#include <errno.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* Linux passes at most SCM_MAX_FD (253) descriptors in one message; callers with
 * more send them in batches. */
#define NOTIFY_FDS_MAX 253

int notify_init(struct notify *n, char *err, size_t errlen)
{
    const char *path = getenv("NOTIFY_SOCKET");
    size_t len;

    memset(n, 0, sizeof(*n));
    n->fd = -1;
    if (path == NULL || path[0] == '\0')
        return 0;
    len = strlen(path);
    if ((path[0] != '/' && path[0] != '@') || len >= sizeof(n->addr.sun_path)) {
        snprintf(err, errlen, "NOTIFY_SOCKET=%s is not an absolute or abstract socket path",
                 path);
        return -EINVAL;
    }
    n->addr.sun_family = AF_UNIX;
    memcpy(n->addr.sun_path, path, len);
    if (path[0] == '@')
        n->addr.sun_path[0] = '\0';
    n->addrlen = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + len);
    n->fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    if (n->fd < 0) {
        int r = -errno;

        snprintf(err, errlen, "notify socket: %s", strerror(errno));
        return r;
    }
    return 0;
}

bool notify_enabled(const struct notify *n)
{
    return n->fd >= 0;
}

int notify_send(const struct notify *n, const char *state, const int *fds, size_t nfds)
{
    struct iovec iov = {.iov_base = (void *)state, .iov_len = strlen(state)};
    struct msghdr msg = {
        .msg_name = (void *)&n->addr, .msg_namelen = n->addrlen,
        .msg_iov = &iov, .msg_iovlen = 1,
    };
    union {
        char buf[CMSG_SPACE(sizeof(int) * NOTIFY_FDS_MAX)];
        struct cmsghdr align;
    } ctl;

    if (n->fd < 0)
        return 0;
    if (nfds > NOTIFY_FDS_MAX)
        return -E2BIG;
    if (nfds > 0) {
        struct cmsghdr *c;

        memset(&ctl, 0, sizeof(ctl));
        msg.msg_control = ctl.buf;
        msg.msg_controllen = CMSG_SPACE(sizeof(int) * nfds);
        c = CMSG_FIRSTHDR(&msg);
        c->cmsg_level = SOL_SOCKET;
        c->cmsg_type = SCM_RIGHTS;
        c->cmsg_len = CMSG_LEN(sizeof(int) * nfds);
        memcpy(CMSG_DATA(c), fds, sizeof(int) * nfds);
    }
    if (sendmsg(n->fd, &msg, MSG_NOSIGNAL) < 0)
        return -errno;
    return 0;
}

void notify_close(struct notify *n)
{
    if (n->fd >= 0)
        close(n->fd);
    n->fd = -1;
}
