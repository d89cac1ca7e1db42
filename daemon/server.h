/* server.h — the listening socket: bind it (or take it from systemd socket
 * activation), accept connections with their peer credentials, remove it at stop.
 *
 * It knows nothing of the protocol; each accepted descriptor goes to a callback.
 */
#ifndef DAEMON_SERVER_H
#define DAEMON_SERVER_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#include <uv.h>

#include "access.h"
#include "proto_limits.h"
#include "log.h"
#include "ratelog.h"

/* Takes fd (non-blocking, O_CLOEXEC) and must close it or hand it on. */
typedef void server_accept_cb(void *arg, int fd, const struct access_peer *peer);

struct server {
    uv_poll_t poll;
    int fd;                     /* listening socket, -1 when stopped */
    int spare_fd;               /* held so a connection can be accepted and dropped at EMFILE */
    char path[PROTO_PATH_MAX];
    dev_t dev;                  /* the socket file we bound: removed at stop only if */
    ino_t ino;                  /* nobody replaced it meanwhile */
    bool bound;                 /* false when systemd passed us the socket */
    const struct log_ctx *lg;
    struct ratelog drops;       /* "dropping a new connection" lines, at a bounded rate */
    server_accept_cb *cb;
    void *cb_arg;
    /* Or NULL: at EMFILE/ENFILE, close what descriptors cb_arg can spare and say how
     * many; the accept is tried again before a newcomer is dropped. */
    size_t (*reclaim)(void *cb_arg);
};

/* Listen on path. With LISTEN_PID/LISTEN_FDS from systemd, use the first passed
 * descriptor that is a socket instead (it must be a listening AF_UNIX stream
 * socket; passed descriptors that are not sockets are ignored). Otherwise create path's parent directory (0700; 0755 for root) if
 * missing, refuse if a live daemon answers on path (-EADDRINUSE), replace a stale
 * socket file, and bind under a umask that gives the socket file the permission
 * bits mode (config.h: 0600, 0666 for root, or --socket-mode). Returns 0, or a
 * negative errno with a message in err. */
int server_start(struct server *s, uv_loop_t *loop, const char *path, unsigned mode,
                 const struct log_ctx *lg, server_accept_cb *cb, void *cb_arg, char *err,
                 size_t errlen);

/* Stop accepting, close the socket and remove its file if we created it.
 * Idempotent; safe after a failed start. */
void server_stop(struct server *s);

#endif
