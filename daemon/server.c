/* server.c — listen and accept on the sharrd Unix socket.
 *
 * The socket is polled with a uv_poll_t and accepted with accept4, so each
 * connection is a plain descriptor the connection code reads with recvmsg. At
 * EMFILE the owner first gives back what it can spare (reclaim) and the accept is
 * retried; failing that a spare descriptor is given up to accept and drop the
 * newcomer, so a level-triggered poll does not spin on a connection it cannot take.
 */
#include "server.h"

#include <errno.h>
#include <fcntl.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#define SERVER_LISTEN_FD 3       /* SD_LISTEN_FDS_START */
#define SERVER_ACCEPT_BATCH 64   /* accepts per wakeup, so one burst cannot starve others */

static void server_accept_all(uv_poll_t *poll, int status, int events)
{
    struct server *s = poll->data;
    struct ucred cred;
    socklen_t len;
    int fd;

    (void)events;
    if (status < 0)
        return;
    for (int i = 0; i < SERVER_ACCEPT_BATCH; i++) {
        fd = accept4(s->fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
        if (fd < 0 && (errno == EINTR || errno == ECONNABORTED))
            continue;
        if (fd < 0 && (errno == EMFILE || errno == ENFILE) && s->reclaim
            && s->reclaim(s->cb_arg) > 0)
            continue;
        if (fd < 0 && (errno == EMFILE || errno == ENFILE) && s->spare_fd >= 0) {
            if (ratelog_allow(&s->drops))
                log_warning(s->lg, "out of file descriptors: dropping a new connection");
            close(s->spare_fd);
            fd = accept4(s->fd, NULL, NULL, SOCK_CLOEXEC);
            if (fd >= 0)
                close(fd);
            s->spare_fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
            return;
        }
        if (fd < 0) {
            if (errno != EAGAIN && errno != EWOULDBLOCK)
                log_warning(s->lg, "accept: %s", strerror(errno));
            return;
        }
        len = sizeof(cred);
        if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &len) < 0) {
            log_warning(s->lg, "SO_PEERCRED: %s", strerror(errno));
            close(fd);
            continue;
        }
        s->cb(s->cb_arg, fd, &(struct access_peer){ cred.uid, cred.gid, (uint32_t)cred.pid });
    }
}

/* The listening socket systemd passed: the first of the LISTEN_FDS descriptors from
 * 3 on that is a socket. -ENOENT if no socket was passed to this process; -ENOTSOCK
 * if a passed socket is not a listening AF_UNIX stream socket.
 * Descriptors that are not sockets (memfds from the fd store, named in
 * LISTEN_FDNAMES) are left alone for their owner, as are the variables. */
static int server_activated_fd(char *err, size_t errlen)
{
    const char *pid = getenv("LISTEN_PID"), *fds = getenv("LISTEN_FDS");
    long n = fds ? strtol(fds, NULL, 10) : 0;
    int type = 0, domain = 0, listening = 0;
    socklen_t len = sizeof(int);
    struct stat st;
    int fd;

    if (!pid || !fds || strtol(pid, NULL, 10) != (long)getpid() || n < 1)
        return -ENOENT;
    for (fd = SERVER_LISTEN_FD; fd < SERVER_LISTEN_FD + n; fd++) {
        if (fstat(fd, &st) == 0 && S_ISSOCK(st.st_mode))
            break;
    }
    if (fd == SERVER_LISTEN_FD + n)
        return -ENOENT; /* only stored descriptors (fdstore.c): bind the path */
    if (getsockopt(fd, SOL_SOCKET, SO_DOMAIN, &domain, &len) < 0 || domain != AF_UNIX
        || getsockopt(fd, SOL_SOCKET, SO_TYPE, &type, &len) < 0 || type != SOCK_STREAM
        || getsockopt(fd, SOL_SOCKET, SO_ACCEPTCONN, &listening, &len) < 0 || !listening) {
        snprintf(err, errlen, "the socket passed by systemd (descriptor %d) is not a listening "
                 "Unix stream socket", fd);
        return -ENOTSOCK;
    }
    fcntl(fd, F_SETFD, FD_CLOEXEC);
    fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK);
    return fd;
}

/* Make path's parent directory if missing and check that it is ours (or root's),
 * so nobody else can swap the socket under our clients. */
static int server_prepare_dir(const char *path, char *err, size_t errlen)
{
    char dir[PROTO_PATH_MAX];
    char *slash;
    struct stat st;

    snprintf(dir, sizeof(dir), "%s", path);
    slash = strrchr(dir, '/');
    if (!slash || slash == dir)
        return 0;
    *slash = '\0';
    if (mkdir(dir, geteuid() == 0 ? 0755 : 0700) < 0 && errno != EEXIST) {
        snprintf(err, errlen, "cannot create %s: %s", dir, strerror(errno));
        return -errno;
    }
    if (lstat(dir, &st) < 0 || !S_ISDIR(st.st_mode)) {
        snprintf(err, errlen, "%s is not a directory", dir);
        return -ENOTDIR;
    }
    if (st.st_uid != geteuid() && st.st_uid != 0) {
        snprintf(err, errlen, "%s belongs to uid %u, not to this user", dir, (unsigned)st.st_uid);
        return -EPERM;
    }
    return 0;
}

/* -EADDRINUSE if a daemon answers on addr; remove a stale socket file; 0 if the
 * path is free now. */
static int server_claim_path(const struct sockaddr_un *addr, char *err, size_t errlen)
{
    struct stat st;
    int fd, r;

    if (lstat(addr->sun_path, &st) < 0)
        return errno == ENOENT ? 0 : -errno;
    if (!S_ISSOCK(st.st_mode)) {
        snprintf(err, errlen, "%s exists and is not a socket", addr->sun_path);
        return -EEXIST;
    }
    fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return -errno;
    r = connect(fd, (const struct sockaddr *)addr, sizeof(*addr)) == 0 ? -EADDRINUSE
        : errno == ECONNREFUSED ? 0 : -errno;
    close(fd);
    if (r == -EADDRINUSE)
        snprintf(err, errlen, "another sharrd is serving %s", addr->sun_path);
    else if (r == 0 && unlink(addr->sun_path) < 0 && errno != ENOENT)
        r = -errno;
    if (r < 0 && r != -EADDRINUSE)
        snprintf(err, errlen, "cannot replace %s: %s", addr->sun_path, strerror(-r));
    return r;
}

static int server_bind(struct server *s, const char *path, unsigned mode, char *err,
                       size_t errlen)
{
    struct sockaddr_un addr = { .sun_family = AF_UNIX };
    struct stat st;
    mode_t old;
    int r;

    if (strlen(path) >= sizeof(addr.sun_path)) {
        snprintf(err, errlen, "socket path %s is longer than %zu bytes", path,
                 sizeof(addr.sun_path) - 1);
        return -ENAMETOOLONG;
    }
    memcpy(addr.sun_path, path, strlen(path) + 1);
    r = server_prepare_dir(path, err, errlen);
    if (r == 0)
        r = server_claim_path(&addr, err, errlen);
    if (r < 0)
        return r;
    s->fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (s->fd < 0) {
        snprintf(err, errlen, "socket: %s", strerror(errno));
        return -errno;
    }
    old = umask(~(mode_t)mode & 0777);
    r = bind(s->fd, (const struct sockaddr *)&addr, sizeof(addr)) < 0 ? -errno : 0;
    umask(old);
    if (r == 0 && stat(path, &st) == 0) {
        s->bound = true;
        s->dev = st.st_dev;
        s->ino = st.st_ino;
    }
    if (r == 0 && listen(s->fd, SOMAXCONN) < 0)
        r = -errno;
    if (r < 0)
        snprintf(err, errlen, "cannot listen on %s: %s", path, strerror(-r));
    return r;
}

int server_start(struct server *s, uv_loop_t *loop, const char *path, unsigned mode,
                 const struct log_ctx *lg, server_accept_cb *cb, void *cb_arg, char *err,
                 size_t errlen)
{
    int r;

    memset(s, 0, sizeof(*s));
    s->fd = -1;
    s->lg = lg;
    s->cb = cb;
    s->cb_arg = cb_arg;
    s->spare_fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
    snprintf(s->path, sizeof(s->path), "%s", path);
    r = server_activated_fd(err, errlen);
    if (r >= 0) {
        struct sockaddr_un addr;
        socklen_t alen = sizeof(addr);

        s->fd = r;
        /* Report the path systemd bound, which may differ from --socket. */
        if (getsockname(s->fd, (struct sockaddr *)&addr, &alen) == 0
            && alen > offsetof(struct sockaddr_un, sun_path) && addr.sun_path[0] == '/')
            snprintf(s->path, sizeof(s->path), "%.*s",
                     (int)(alen - offsetof(struct sockaddr_un, sun_path)), addr.sun_path);
    } else if (r == -ENOENT)
        r = server_bind(s, path, mode, err, errlen);
    if (r < 0)
        goto fail;
    r = uv_poll_init(loop, &s->poll, s->fd);
    if (r < 0) {
        snprintf(err, errlen, "cannot poll the socket: %s", uv_strerror(r));
        goto fail;
    }
    s->poll.data = s;
    ratelog_init(&s->drops, loop, lg, "connections dropped for want of descriptors");
    uv_poll_start(&s->poll, UV_READABLE, server_accept_all);
    return 0;

fail:
    server_stop(s);
    return r;
}

static void server_closed(uv_handle_t *h)
{
    struct server *s = h->data;

    close(s->fd);
    s->fd = -1;
}

void server_stop(struct server *s)
{
    struct stat st;

    if (s->bound && lstat(s->path, &st) == 0 && st.st_dev == s->dev && st.st_ino == s->ino)
        unlink(s->path);
    s->bound = false;
    ratelog_close(&s->drops);
    if (s->spare_fd >= 0)
        close(s->spare_fd);
    s->spare_fd = -1;
    if (s->poll.data && !uv_is_closing((uv_handle_t *)&s->poll)) {
        uv_close((uv_handle_t *)&s->poll, server_closed);
    } else if (!s->poll.data && s->fd >= 0) {
        close(s->fd); /* never polled: a start that failed */
        s->fd = -1;
    }
}
