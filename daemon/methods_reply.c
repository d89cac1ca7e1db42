/* methods_reply.c — how every method answers (methods_reply.h): replies packed by the
 * codec and queued on the connection, error replies with their message, and the lookup
 * of a named array that answers for itself when there is none. Knows no method.
 */
#include "methods_reply.h"

#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <unistd.h>

#include "access.h"
#include "conn.h"
#include "descriptors.h"
#include "daemon.h"
#include "errcode.h"

/* Send the message packed into sb (r: the packer's result) with an optional fd sent
 * once (not taken), or with the descriptor of a in mode when a is not NULL (descriptors.h). */
void methods_send_with(struct conn *c, msgpack_sbuffer *sb, int r, int fd,
                              struct registry_array *a, enum meta_mode mode)
{
    size_t len = sb->size;

    if (r < 0) {
        msgpack_sbuffer_destroy(sb);
        conn_close(c, "out of memory");
        return;
    }
    if (a)
        descriptors_send(c, msgpack_sbuffer_release(sb), len, a, mode);
    else
        conn_send(c, msgpack_sbuffer_release(sb), len, fd);
}

void methods_send(struct conn *c, msgpack_sbuffer *sb, int r, int fd)
{
    methods_send_with(c, sb, r, fd, NULL, META_MODE_R);
}

void methods_close_fds(const int *fds, unsigned nfds)
{
    for (unsigned i = 0; i < nfds; i++)
        close(fds[i]);
}

/* Reply with an error; returns err so handlers can end with `return methods_error(...)`. */
int methods_error(struct conn *c, uint32_t msgid, int err, const char *fmt, ...)
{
    char text[METHODS_ERR_MAX];
    msgpack_sbuffer sb;
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(text, sizeof(text), fmt, ap);
    va_end(ap);
    log_debug(&daemon_of(c)->log, "connection %llu: request %" PRIu32 ": %s: %s",
              (unsigned long long)c->id, msgid, errcode_name(err), text);
    conn_reply_init(c, &sb);
    methods_send(c, &sb, codec_pack_error(&sb, msgid, err, text), -1);
    return err;
}

int methods_empty(struct conn *c, uint32_t msgid)
{
    msgpack_sbuffer sb;

    conn_reply_init(c, &sb);
    methods_send(c, &sb, codec_pack_reply_empty(&sb, msgid), -1);
    return 0;
}

/* Why name, found damaged at start (STORE.md), cannot be used, into out (the whole
 * story, with the store's path, is in the daemon's log). */
void methods_damaged_why(const struct daemon *d, const char *name, char *out,
                                size_t len)
{
    snprintf(out, len, "array %.100s is damaged: %.110s; its name stays reserved",
             name, store_damaged(&d->store, name));
}

/* The answer to any request but create naming an array found damaged at start. */
int methods_damaged(struct conn *c, uint32_t msgid, const char *name)
{
    char why[METHODS_ERR_MAX];

    methods_damaged_why(daemon_of(c), name, why, sizeof(why));
    return methods_error(c, msgid, -EIO, "%s", why);
}

/* The ready array named in params (that the peer may see, if need_see), or NULL
 * after an error reply. */
struct registry_array *methods_lookup(struct conn *c, const struct codec_msg *msg,
                                             bool need_see)
{
    char err[METHODS_ERR_MAX] = "";
    struct registry_array *a;
    struct codec_name p;
    int r;

    r = codec_parse_name(msg->params, &p, err, sizeof(err));
    if (r < 0) {
        methods_error(c, msg->msgid, r, "%s", err);
        return NULL;
    }
    a = registry_find(&daemon_of(c)->registry, p.name);
    if (!a && store_damaged(&daemon_of(c)->store, p.name)) {
        methods_damaged(c, msg->msgid, p.name);
        return NULL;
    }
    if (!a || !a->ready) {
        methods_error(c, msg->msgid, -ENOENT, "no array named %s", p.name);
        return NULL;
    }
    if (need_see && !access_may_see(&a->meta, &c->peer)) {
        methods_error(c, msg->msgid, -EACCES, "uid %" PRIu32 " may not read %s", c->peer.uid,
                      p.name);
        return NULL;
    }
    return a;
}

int methods_stat_reply(struct conn *c, uint32_t msgid, const struct registry_array *a)
{
    msgpack_sbuffer sb;

    conn_reply_init(c, &sb);
    methods_send(c, &sb, codec_pack_reply_stat(&sb, msgid, &a->meta), -1);
    return 0;
}
