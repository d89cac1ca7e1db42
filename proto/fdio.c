/* fdio.c — SCM_RIGHTS send and receive for libsharr and sharrd (fdio.h). */
#include "fdio.h"

#include <errno.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

ssize_t fdio_send(int sock, const void *buf, size_t len, int fd, int flags)
{
    union {
        struct cmsghdr align;
        char buf[CMSG_SPACE(sizeof(int))];
    } ctl;
    struct iovec iov = { .iov_base = (void *)buf, .iov_len = len };
    struct msghdr msg = { .msg_iov = &iov, .msg_iovlen = 1 };
    ssize_t n;

    if (fd >= 0) {
        struct cmsghdr *cm;

        memset(&ctl, 0, sizeof(ctl));
        msg.msg_control = ctl.buf;
        msg.msg_controllen = sizeof(ctl.buf);
        cm = CMSG_FIRSTHDR(&msg);
        cm->cmsg_level = SOL_SOCKET;
        cm->cmsg_type = SCM_RIGHTS;
        cm->cmsg_len = CMSG_LEN(sizeof(int));
        memcpy(CMSG_DATA(cm), &fd, sizeof(int));
    }
    n = sendmsg(sock, &msg, flags | MSG_NOSIGNAL);
    return n < 0 ? -errno : n;
}

ssize_t fdio_recv(int sock, void *buf, size_t len, int flags, int *fds, size_t cap,
                  size_t *ret_nfds, bool *ret_truncated)
{
    union {
        struct cmsghdr align;
        char buf[CMSG_SPACE(sizeof(int) * FDIO_FDS_MAX)];
    } ctl;
    struct iovec iov = { .iov_base = buf, .iov_len = len };
    struct msghdr msg = { .msg_iov = &iov, .msg_iovlen = 1, .msg_control = ctl.buf };
    struct cmsghdr *cm;
    size_t nfds = 0;
    ssize_t n;

    *ret_nfds = 0;
    *ret_truncated = false;
    if (cap > FDIO_FDS_MAX)
        return -EINVAL;
    msg.msg_controllen = CMSG_SPACE(sizeof(int) * cap);
    n = recvmsg(sock, &msg, flags | MSG_CMSG_CLOEXEC);
    if (n < 0)
        return -errno;
    for (cm = CMSG_FIRSTHDR(&msg); cm != NULL; cm = CMSG_NXTHDR(&msg, cm)) {
        size_t k;

        if (cm->cmsg_level != SOL_SOCKET || cm->cmsg_type != SCM_RIGHTS)
            continue;
        k = (cm->cmsg_len - CMSG_LEN(0)) / sizeof(int);
        for (size_t i = 0; i < k; i++) {
            int fd;

            memcpy(&fd, CMSG_DATA(cm) + i * sizeof(int), sizeof(int));
            if (nfds < cap)
                fds[nfds++] = fd;
            else
                close(fd);
        }
    }
    *ret_nfds = nfds;
    *ret_truncated = (msg.msg_flags & MSG_CTRUNC) != 0;
    return n;
}
