/* asuser.c — run a piece of a test as another uid in a forked child.
 *
 * The child forgets its parent's connections (the library reconnects after fork),
 * drops groups, gid and uid in that order, and checks the drop cannot be undone.
 * asuser_connect's child passes its sockets back over a socketpair.
 */
#include "asuser.h"

#include <errno.h>
#include <grp.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

void asuser_open_dir(struct harness *h)
{
    assert_int_equal(chmod(h->dir, 0711), 0);
}

void asuser_keeper_start(struct keeper *k, struct harness *h)
{
    asuser_open_dir(h);
    keeper_start(k, h);
}

int asuser_become(uint32_t uid, uint32_t gid)
{
    if (setgroups(0, NULL) < 0 || setgid(gid) < 0 || setuid(uid) < 0)
        return 120;
    if (setuid(0) == 0)
        return 121;
    prctl(PR_SET_DUMPABLE, 1);
    return 0;
}

int asuser_run(struct harness *h, uint32_t uid, uint32_t gid, int (*fn)(void *arg), void *arg)
{
    (void)h;
    fflush(NULL);
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        int r = asuser_become(uid, gid);
        _exit(r != 0 ? r : fn(arg));
    }
    int status = 0;
    assert_int_equal(waitpid(pid, &status, 0), pid);
    if (WIFEXITED(status))
        return WEXITSTATUS(status);
    return 128 + (WIFSIGNALED(status) ? WTERMSIG(status) : 0);
}

/* Child: connect n times to path and pass each socket over chan. */
static int asuser_connect_child(const char *path, int chan, int n)
{
    struct sockaddr_un addr = { .sun_family = AF_UNIX };
    if (strlen(path) >= sizeof addr.sun_path)
        return 3;
    memcpy(addr.sun_path, path, strlen(path) + 1);
    for (int i = 0; i < n; i++) {
        union {
            struct cmsghdr align;
            char buf[CMSG_SPACE(sizeof(int))];
        } ctl;
        char byte = 'c';
        struct iovec iov = { &byte, 1 };
        struct msghdr msg = { .msg_iov = &iov, .msg_iovlen = 1, .msg_control = ctl.buf,
                              .msg_controllen = sizeof ctl.buf };
        int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
        if (fd < 0 || connect(fd, (struct sockaddr *)&addr, sizeof addr) < 0)
            return 1;
        memset(&ctl, 0, sizeof ctl);
        struct cmsghdr *cm = CMSG_FIRSTHDR(&msg);
        cm->cmsg_level = SOL_SOCKET;
        cm->cmsg_type = SCM_RIGHTS;
        cm->cmsg_len = CMSG_LEN(sizeof(int));
        memcpy(CMSG_DATA(cm), &fd, sizeof fd);
        if (sendmsg(chan, &msg, MSG_NOSIGNAL) != 1)
            return 2;
        close(fd);
    }
    return 0;
}

void asuser_connect(struct harness *h, uint32_t uid, uint32_t gid, int *fds, int n)
{
    int sv[2];
    assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv), 0);
    fflush(NULL);
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        close(sv[0]);
        if (setgroups(0, NULL) < 0 || setgid(gid) < 0 || setuid(uid) < 0)
            _exit(120);
        if (setuid(0) == 0)
            _exit(121);
        _exit(asuser_connect_child(h->sock, sv[1], n));
    }
    close(sv[1]);
    for (int i = 0; i < n; i++) {
        union {
            struct cmsghdr align;
            char buf[CMSG_SPACE(sizeof(int))];
        } ctl;
        char byte;
        struct iovec iov = { &byte, 1 };
        struct msghdr msg = { .msg_iov = &iov, .msg_iovlen = 1, .msg_control = ctl.buf,
                              .msg_controllen = sizeof ctl.buf };
        ssize_t got;
        do {
            got = recvmsg(sv[0], &msg, MSG_CMSG_CLOEXEC);
        } while (got < 0 && errno == EINTR);
        assert_int_equal(got, 1);
        struct cmsghdr *cm = CMSG_FIRSTHDR(&msg);
        assert_non_null(cm);
        assert_int_equal(cm->cmsg_type, SCM_RIGHTS);
        memcpy(&fds[i], CMSG_DATA(cm), sizeof(int));
    }
    close(sv[0]);
    int status = 0;
    assert_int_equal(waitpid(pid, &status, 0), pid);
    assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
}
