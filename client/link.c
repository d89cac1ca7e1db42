/* link.c — one socket to sharrd: connect to it and exchange hello (retrying while a
 * daemon restarts), and send and receive on it with descriptors alongside. It knows
 * the hello exchange but no other method, and nothing of the threads, calls and
 * reconnects of a connection (client.c, call.c).
 */
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "codec.h"
#include "decoder.h"
#include "fdio.h"
#include "proto_limits.h"
#include "link.h"

#define LINK_DIAL_FIRST_DELAY_MS 62

int link_send_all(int fd, const void *buf, size_t len, const int *pass)
{
    const char *p = buf;

    while (len > 0) {
        ssize_t n = fdio_send(fd, p, len, pass != NULL ? *pass : -1, 0);

        if (n == -EINTR)
            continue;
        if (n < 0)
            return (int)n;
        p += n;
        len -= (size_t)n;
        pass = NULL;
    }
    return 0;
}

ssize_t link_recv(int fd, void *buf, size_t len, int *fds, size_t *ret_nfds,
                  bool *ret_truncated)
{
    return fdio_recv(fd, buf, len, 0, fds, LINK_CMSG_FDS, ret_nfds, ret_truncated);
}

void link_close_fds(const int *fds, size_t n)
{
    for (size_t i = 0; i < n; i++)
        close(fds[i]);
}

/* Wait for the reply to hello on a fresh socket; nothing else has been sent, so
 * it is the first message. Any descriptor arriving here is unexpected and closed. */
static int link_await_hello(int fd, struct decoder *dec, struct link *link,
                            char *err, size_t errlen)
{
    struct sharr_server *ret = &link->server;
    char buf[4096];
    char perr[PROTO_TEXT_MAX + 64];
    msgpack_object obj;
    struct codec_msg m;
    struct codec_hello_reply r;
    int rc;

    for (;;) {
        int fds[LINK_CMSG_FDS];
        size_t nfds = 0;
        bool truncated = false;
        ssize_t n;

        rc = decoder_next(dec, &obj);
        if (rc == 1)
            break;
        if (rc < 0) {
            snprintf(err, errlen, "undecodable hello reply from sharrd: %s",
                     sharr_strerror(rc));
            return -EPROTO;
        }
        n = link_recv(fd, buf, sizeof(buf), fds, &nfds, &truncated);
        link_close_fds(fds, nfds);
        if (n == -EINTR)
            continue;
        if (n <= 0) {
            rc = n == 0 ? -ECONNRESET : (int)n;
            snprintf(err, errlen, "connection to sharrd lost during hello: %s",
                     n == 0 ? "closed by sharrd" : sharr_strerror(rc));
            return rc;
        }
        rc = decoder_feed(dec, buf, (size_t)n);
        if (rc < 0) {
            snprintf(err, errlen, "hello reply from sharrd: %s", sharr_strerror(rc));
            return -EPROTO;
        }
    }
    if (codec_parse_msg(&obj, &m, NULL, perr, sizeof(perr)) < 0) {
        snprintf(err, errlen, "malformed hello reply from sharrd: %s", perr);
        return -EPROTO;
    }
    if (m.type != CODEC_RESPONSE || m.msgid != LINK_HELLO_MSGID) {
        snprintf(err, errlen, "sharrd sent something other than the hello reply first");
        return -EPROTO;
    }
    if (m.err != 0) {
        snprintf(err, errlen, "sharrd refused hello: %s",
                 m.errmsg[0] != '\0' ? m.errmsg : sharr_strerror(m.err));
        return m.err;
    }
    if (m.result == NULL || codec_parse_reply_hello(m.result, &r, perr, sizeof(perr)) < 0) {
        snprintf(err, errlen, "malformed hello reply from sharrd: %s",
                 m.result == NULL ? "no result" : perr);
        return -EPROTO;
    }
    if (r.version != PROTO_VERSION) {
        snprintf(err, errlen, "sharrd speaks protocol %u, libsharr speaks %u",
                 r.version, PROTO_VERSION);
        return -EPROTONOSUPPORT;
    }
    memset(ret, 0, sizeof(*ret));
    ret->version = r.version;
    snprintf(ret->server, sizeof(ret->server), "%s", r.server);
    ret->pid = r.pid;
    ret->id = r.id;
    ret->store_id = r.store_id;
#define LINK_LIMITS_COPY(field, key) ret->field = r.field;
    CODEC_LIMITS_FIELDS(LINK_LIMITS_COPY)
#undef LINK_LIMITS_COPY
    link->release_notify = r.release_notify;
    link->release_ring = r.release_ring;
    link->records = r.records;
    link->watch = r.watch;
    link->attach_cache = r.attach_cache;
    return 0;
}

/* Connect to path and exchange hello. Blocking; called without the lock. */
static int link_dial_once(const char *path, struct link *ret, char *err, size_t errlen)
{
    struct sockaddr_un sa = { .sun_family = AF_UNIX };
    struct codec_hello hello = { .version = PROTO_VERSION };
    msgpack_sbuffer sb;
    struct decoder *dec = NULL;
    int fd = -1;
    int rc;

    msgpack_sbuffer_init(&sb);
    snprintf(hello.client, sizeof(hello.client), "libsharr %s", SHARR_VERSION_STRING);
    memcpy(sa.sun_path, path, strlen(path) + 1);
    fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0) {
        rc = -errno;
        snprintf(err, errlen, "socket: %s", sharr_strerror(rc));
        goto out;
    }
    if (connect(fd, (const struct sockaddr *)&sa, sizeof(sa)) < 0) {
        rc = -errno;
        snprintf(err, errlen, "cannot connect to sharrd at %s: %s%s", path,
                 sharr_strerror(rc),
                 rc == -ENOENT || rc == -ECONNREFUSED ? " (is sharrd running?)" : "");
        goto out;
    }
    dec = decoder_new(PROTO_RESPONSE_MAX, PROTO_DEPTH_MAX);
    if (dec == NULL) {
        rc = -ENOMEM;
        snprintf(err, errlen, "out of memory");
        goto out;
    }
    rc = codec_pack_hello(&sb, LINK_HELLO_MSGID, &hello);
    if (rc < 0) {
        snprintf(err, errlen, "out of memory");
        goto out;
    }
    rc = link_send_all(fd, sb.data, sb.size, NULL);
    /* A daemon over a connection limit says why (EMFILE) and closes at once, maybe
     * before hello went out: its reason still waits to be read. */
    if ((rc == -EPIPE || rc == -ECONNRESET)
        && link_await_hello(fd, dec, ret, err, errlen) == -EMFILE) {
        rc = -EMFILE;
        goto out;
    }
    if (rc < 0) {
        snprintf(err, errlen, "sending hello to sharrd at %s: %s", path, sharr_strerror(rc));
        goto out;
    }
    rc = link_await_hello(fd, dec, ret, err, errlen);
    if (rc < 0)
        goto out;
    ret->fd = fd;
    ret->dec = dec;
    fd = -1;
    dec = NULL;
out:
    decoder_free(dec);
    if (fd >= 0)
        close(fd);
    msgpack_sbuffer_destroy(&sb);
    return rc;
}

/* Failures a daemon that is (re)starting produces: no socket file yet, nobody
 * listening on it, a full backlog, or a connection dropped during hello. */
static bool link_dial_retryable(int err)
{
    return err == -ENOENT || err == -ECONNREFUSED || err == -EAGAIN ||
           err == -ECONNRESET || err == -EPIPE || err == -EINTR;
}

int link_dial(const char *path, int tries, struct link *ret, char *err, size_t errlen)
{
    long delay_ms = LINK_DIAL_FIRST_DELAY_MS;
    int rc;

    for (int i = 1;; i++) {
        struct timespec ts;

        rc = link_dial_once(path, ret, err, errlen);
        if (rc >= 0 || i >= tries || !link_dial_retryable(rc))
            break;
        ts.tv_sec = delay_ms / 1000;
        ts.tv_nsec = (delay_ms % 1000) * 1000000L;
        while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
            ;
        delay_ms *= 2;
    }
    if (rc < 0 && tries > 1 && link_dial_retryable(rc)) {
        size_t len = strlen(err);

        snprintf(err + len, errlen - len, " (gave up after %d tries)", tries);
    }
    return rc;
}
