/* floor.c — the SCM_RIGHTS floor server and its client calls.
 *
 * The server is a forked child with an epoll loop; the listening socket is bound
 * before the fork, so a client may connect as soon as floor_start returns. Requests
 * are fixed-size; the first byte says whether the reply carries the descriptor.
 */
#include "floor.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#define FLOOR_EVENTS 64

static int floor_send_reply(int conn, int fd)
{
    char reply[FLOOR_REPLY_LEN] = { 'R' };
    union {
        struct cmsghdr h;
        char buf[CMSG_SPACE(sizeof(int))];
    } ctl;
    struct iovec iov = { .iov_base = reply, .iov_len = sizeof(reply) };
    struct msghdr msg = { .msg_iov = &iov, .msg_iovlen = 1 };

    if (fd >= 0) {
        memset(&ctl, 0, sizeof(ctl));
        msg.msg_control = ctl.buf;
        msg.msg_controllen = sizeof(ctl.buf);
        struct cmsghdr *c = CMSG_FIRSTHDR(&msg);
        c->cmsg_level = SOL_SOCKET;
        c->cmsg_type = SCM_RIGHTS;
        c->cmsg_len = CMSG_LEN(sizeof(int));
        memcpy(CMSG_DATA(c), &fd, sizeof(int));
    }
    /* A reply this small always fits the socket buffer whole. */
    return sendmsg(conn, &msg, MSG_NOSIGNAL) == (ssize_t)sizeof(reply) ? 0 : -1;
}

static void floor_serve(int lsock, int fd)
{
    struct epoll_event ev = { .events = EPOLLIN }, evs[FLOOR_EVENTS];
    int ep = epoll_create1(EPOLL_CLOEXEC);

    ev.data.fd = lsock;
    if (ep < 0 || epoll_ctl(ep, EPOLL_CTL_ADD, lsock, &ev) < 0)
        _exit(1);
    for (;;) {
        int n = epoll_wait(ep, evs, FLOOR_EVENTS, -1);

        for (int i = 0; i < n; i++) {
            int s = evs[i].data.fd;
            char req[FLOOR_REQUEST_LEN];

            if (s == lsock) {
                int c = accept4(lsock, NULL, NULL, SOCK_CLOEXEC);
                ev.data.fd = c;
                if (c >= 0 && epoll_ctl(ep, EPOLL_CTL_ADD, c, &ev) < 0)
                    close(c);
                continue;
            }
            /* A client sends one whole request with one send: it arrives whole. */
            if (recv(s, req, sizeof(req), MSG_WAITALL) != (ssize_t)sizeof(req) ||
                floor_send_reply(s, req[0] == 'A' ? fd : -1) < 0)
                close(s);
        }
    }
}

/* A stream socket and the address of path, for floor_start to bind and floor_connect
 * to connect: the socket, or a negative errno. */
static int floor_socket(const char *path, struct sockaddr_un *addr)
{
    int s;

    memset(addr, 0, sizeof(*addr));
    addr->sun_family = AF_UNIX;
    if (strlen(path) >= sizeof(addr->sun_path))
        return -ENAMETOOLONG;
    memcpy(addr->sun_path, path, strlen(path) + 1);
    s = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    return s < 0 ? -errno : s;
}

int floor_start(struct floor_server *f, const char *path, int fd)
{
    struct sockaddr_un addr;
    int s, err;

    s = floor_socket(path, &addr);
    if (s < 0)
        return s;
    unlink(path);
    if (bind(s, (struct sockaddr *)&addr, sizeof(addr)) < 0 || listen(s, 1024) < 0) {
        err = -errno;
        close(s);
        return err;
    }
    fflush(NULL);
    f->pid = fork();
    if (f->pid < 0) {
        err = -errno;
        close(s);
        unlink(path);
        return err;
    }
    if (f->pid == 0)
        floor_serve(s, fd);
    close(s);
    memcpy(f->path, path, strlen(path) + 1);
    return 0;
}

void floor_stop(struct floor_server *f)
{
    if (f->pid > 0) {
        kill(f->pid, SIGTERM);
        while (waitpid(f->pid, NULL, 0) < 0 && errno == EINTR)
            ;
        unlink(f->path);
    }
    f->pid = 0;
}

int floor_connect(const char *path)
{
    struct sockaddr_un addr;
    int s, err;

    s = floor_socket(path, &addr);
    if (s < 0)
        return s;
    if (connect(s, (struct sockaddr *)&addr, sizeof(addr)) < 0) {
        err = -errno;
        close(s);
        return err;
    }
    return s;
}

/* Send a request of the given kind and read the whole reply; the first read has a
 * control buffer (as libsharr's does) so the descriptor is never dropped. */
static int floor_call(int sock, char kind, int *ret_fd)
{
    char req[FLOOR_REQUEST_LEN] = { kind }, reply[FLOOR_REPLY_LEN];
    union {
        struct cmsghdr h;
        char buf[CMSG_SPACE(sizeof(int))];
    } ctl;
    size_t got = 0;
    int fd = -1;

    if (send(sock, req, sizeof(req), MSG_NOSIGNAL) != (ssize_t)sizeof(req))
        return -errno;
    while (got < sizeof(reply)) {
        struct iovec iov = { .iov_base = reply + got, .iov_len = sizeof(reply) - got };
        struct msghdr msg = { .msg_iov = &iov, .msg_iovlen = 1,
                              .msg_control = ctl.buf, .msg_controllen = sizeof(ctl.buf) };
        ssize_t r = recvmsg(sock, &msg, MSG_CMSG_CLOEXEC);

        if (r <= 0) {
            if (fd >= 0)
                close(fd);
            return r == 0 ? -ECONNRESET : -errno;
        }
        for (struct cmsghdr *c = CMSG_FIRSTHDR(&msg); c; c = CMSG_NXTHDR(&msg, c)) {
            if (c->cmsg_level == SOL_SOCKET && c->cmsg_type == SCM_RIGHTS && fd < 0)
                memcpy(&fd, CMSG_DATA(c), sizeof(int));
        }
        got += (size_t)r;
    }
    if (ret_fd != NULL)
        *ret_fd = fd;
    else if (fd >= 0)
        close(fd);
    return 0;
}

int floor_fetch(int sock, int *ret_fd)
{
    int fd = -1;
    int r = floor_call(sock, 'A', &fd);

    if (r == 0 && fd < 0)
        return -EPROTO;
    if (r == 0)
        *ret_fd = fd;
    return r;
}

int floor_ping(int sock)
{
    return floor_call(sock, 'P', NULL);
}
