/* watch.c — a watch: its own socket to sharrd, subscribed with the method watch, and
 * the event notifications read from it without blocking (sharr_watch_next), for the
 * caller's poll loop. No thread and no lock: a watch is used by one thread at a time.
 * The socket is link.c's; it shares nothing with the sharr_t it was opened from but
 * that connection's socket path.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "codec.h"
#include "conn.h"
#include "decoder.h"
#include "event.h"
#include "fdio.h"
#include "link.h"

#define WATCH_DIAL_TRIES 5          /* as a reconnect: 62+125+250+500 ms in all */
#define WATCH_MSGID 1u              /* the watch request's; hello's is 0 */
#define WATCH_RECV_CHUNK (64u * 1024)

/* struct sharr_event keeps its size for the whole ABI (sharr.h). */
_Static_assert(sizeof(struct sharr_event) == 2128, "sharr_event: take new fields from reserved");
#define WATCH_KIND_CHECK(id, wire, number)                                                \
    _Static_assert(SHARR_EVENT_##id == EVENT_##id, "SHARR_EVENT_" #id " is not event.h's");
EVENT_KINDS(WATCH_KIND_CHECK)
#undef WATCH_KIND_CHECK

struct sharr_watch {
    int fd;
    struct decoder *dec;
    int dead;                       /* 0, or the error every later call returns */
    char dead_msg[PROTO_TEXT_MAX + 64];
    char buf[WATCH_RECV_CHUNK];
};

const char *sharr_event_name(int kind)
{
    const char *name = event_kind_name(kind);

    return name ? name : "unknown";
}

/* The watch is over: every later sharr_watch_next returns err with this message. */
static int watch_die(sharr_watch_t *w, int err, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static int watch_die(sharr_watch_t *w, int err, const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(w->dead_msg, sizeof(w->dead_msg), fmt, ap);
    va_end(ap);
    w->dead = err;
    return client_fail(err, "%s", w->dead_msg);
}

/* Read once into the decoder: 1 when bytes came, 0 when none are there (blocking is
 * false), or the error that ended the watch. */
static int watch_read(sharr_watch_t *w, bool blocking)
{
    int fds[FDIO_FDS_MAX];
    size_t nfds = 0;
    bool truncated = false;
    ssize_t n;
    int rc;

    do {
        n = fdio_recv(w->fd, w->buf, sizeof(w->buf), blocking ? 0 : MSG_DONTWAIT, fds,
                      FDIO_FDS_MAX, &nfds, &truncated);
    } while (n == -EINTR);
    link_close_fds(fds, nfds); /* a watch is sent no descriptor */
    if (n == -EAGAIN || n == -EWOULDBLOCK)
        return 0;
    if (n == 0)
        return watch_die(w, -ECONNRESET, "sharrd closed the watch (it stopped or restarted): "
                         "events since are lost");
    if (n < 0)
        return watch_die(w, (int)n, "the watch's connection to sharrd failed: %s",
                         sharr_strerror((int)n));
    rc = decoder_feed(w->dec, w->buf, (size_t)n);
    if (rc < 0)
        return watch_die(w, -EPROTO, "undecodable events from sharrd: %s", sharr_strerror(rc));
    return 1;
}

/* The next whole message in *ret_obj: 1, 0 when none is complete, or the error that
 * ended the watch. */
static int watch_decode(sharr_watch_t *w, msgpack_object *ret_obj)
{
    int rc = decoder_next(w->dec, ret_obj);

    if (rc < 0)
        return watch_die(w, -EPROTO, "undecodable events from sharrd: %s", sharr_strerror(rc));
    return rc;
}

/* Send the watch request on a fresh link and wait for its answer. */
static int watch_subscribe(sharr_watch_t *w, const char *prefix, const char *path)
{
    struct codec_watch p;
    char perr[PROTO_TEXT_MAX + 64];
    msgpack_sbuffer sb;
    msgpack_object obj;
    struct codec_msg m;
    int rc;

    snprintf(p.prefix, sizeof(p.prefix), "%s", prefix);
    msgpack_sbuffer_init(&sb);
    rc = codec_pack_watch(&sb, WATCH_MSGID, &p);
    if (rc == 0)
        rc = link_send_all(w->fd, sb.data, sb.size, NULL);
    msgpack_sbuffer_destroy(&sb);
    if (rc < 0)
        return client_fail(rc, "sending watch to sharrd at %s: %s", path, sharr_strerror(rc));
    while ((rc = watch_decode(w, &obj)) == 0) {
        rc = watch_read(w, true);
        if (rc < 0)
            return rc;
    }
    if (rc < 0)
        return rc;
    if (codec_parse_msg(&obj, &m, NULL, perr, sizeof(perr)) < 0 || m.type != CODEC_RESPONSE
        || m.msgid != WATCH_MSGID)
        return client_fail(-EPROTO, "sharrd answered watch with something else");
    if (m.err != 0)
        return client_fail(m.err, "sharrd refused the watch: %s",
                           m.errmsg[0] ? m.errmsg : sharr_strerror(m.err));
    return 0;
}

int sharr_watch_open(sharr_t *conn, const char *prefix, sharr_watch_t **ret_watch)
{
    char err[CLIENT_MSG_MAX];
    struct link link;
    sharr_watch_t *w;
    int rc;

    if (conn == NULL || ret_watch == NULL)
        return client_fail(-EINVAL, "sharr_watch_open: conn and ret_watch must not be NULL");
    if (prefix == NULL)
        prefix = "";
    if (prefix[0] != '\0' && (rc = client_check_name(prefix)) < 0)
        return client_fail(rc, "the prefix of a watch must be the start of an array name: %s",
                           sharr_last_error());
    w = calloc(1, sizeof(*w));
    if (w == NULL)
        return client_fail(-ENOMEM, "out of memory");
    rc = link_dial(conn->path, WATCH_DIAL_TRIES, &link, err, sizeof(err));
    if (rc < 0) {
        free(w);
        return client_fail(rc, "%s", err);
    }
    w->fd = link.fd;
    w->dec = link.dec;
    if (!link.watch)
        rc = client_fail(-EOPNOTSUPP, "sharrd at %s does not offer watches (an older "
                         "daemon): upgrade it", conn->path);
    else
        rc = watch_subscribe(w, prefix, conn->path);
    if (rc < 0) {
        sharr_watch_close(w);
        return rc;
    }
    *ret_watch = w;
    return 0;
}

int sharr_watch_fd(const sharr_watch_t *watch)
{
    if (watch == NULL)
        return client_fail(-EINVAL, "sharr_watch_fd: watch is NULL");
    return watch->fd;
}

/* Fill *ret from the message obj: 1 for an event, 0 for anything to skip (a kind this
 * library does not know), or the error that ended the watch. */
static int watch_event(sharr_watch_t *w, const msgpack_object *obj, struct sharr_event *ret)
{
    char perr[PROTO_TEXT_MAX + 64];
    struct codec_event e;
    struct codec_msg m;

    if (codec_parse_msg(obj, &m, NULL, perr, sizeof(perr)) < 0)
        return watch_die(w, -EPROTO, "malformed message from sharrd: %s", perr);
    /* A daemon that drops the connection says why first, as msgid 0's error. */
    if (m.type == CODEC_RESPONSE && m.err != 0)
        return watch_die(w, m.err, "sharrd ended the watch: %s",
                         m.errmsg[0] ? m.errmsg : sharr_strerror(m.err));
    if (m.type != CODEC_NOTIFY || strcmp(m.method, "event") != 0)
        return 0;
    if (codec_parse_event(m.params, &e, perr, sizeof(perr)) < 0)
        return watch_die(w, -EPROTO, "malformed event from sharrd: %s", perr);
    if (e.kind == 0)
        return 0;
    memset(ret, 0, sizeof(*ret));
    ret->kind = e.kind;
    ret->lost = e.lost;
    if (e.kind != EVENT_OVERFLOW)
        catalog_info_from_meta(&e.meta, &ret->info);
    return 1;
}

int sharr_watch_next(sharr_watch_t *watch, struct sharr_event *ret_event)
{
    msgpack_object obj;
    int rc;

    if (watch == NULL || ret_event == NULL)
        return client_fail(-EINVAL, "sharr_watch_next: watch and ret_event must not be NULL");
    if (watch->dead)
        return client_fail(watch->dead, "%s", watch->dead_msg);
    for (;;) {
        rc = watch_decode(watch, &obj);
        if (rc < 0)
            return rc;
        if (rc > 0) {
            rc = watch_event(watch, &obj, ret_event);
            if (rc != 0)
                return rc;
            continue; /* skipped: the next message */
        }
        rc = watch_read(watch, false);
        if (rc <= 0)
            return rc;
    }
}

void sharr_watch_close(sharr_watch_t *watch)
{
    if (watch == NULL)
        return;
    if (watch->fd >= 0)
        close(watch->fd);
    decoder_free(watch->dec);
    free(watch);
}
