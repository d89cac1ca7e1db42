/* methods.c — the method table: from one decoded message to the handler of its method
 * (methods_attach.c, methods_jobs.c, methods_query.c, methods_publish.c,
 * methods_grow.c), and hello, which checks the
 * protocol version; an open in libsharr's form goes to its handler straight from its
 * bytes (methods_frame, openframe.h), the attach path's one request. Each request gets exactly one reply; replies are made in
 * methods_reply.c.
 */
#include "methods.h"

#include <errno.h>
#include <inttypes.h>
#include <string.h>
#include <unistd.h>

#include "codec.h"
#include "conn.h"
#include "daemon.h"
#include "methods_attach.h"
#include "methods_grow.h"
#include "methods_jobs.h"
#include "methods_publish.h"
#include "methods_query.h"
#include "methods_reply.h"
#include "openframe.h"
#include "releases.h"

static int methods_hello(struct conn *c, const struct codec_msg *msg)
{
    struct codec_hello p;
    struct codec_hello_reply rep = {
        .version = PROTO_VERSION, .server = "sharrd " SHARR_VERSION_STRING,
        .pid = (uint32_t)getpid(), .id = daemon_of(c)->id,
        .store_id = daemon_of(c)->store.id, .max_name = PROTO_NAME_MAX,
        .max_ndim = PROTO_NDIM_MAX,
        .max_request = (uint32_t)daemon_of(c)->cfg.policy.max_request,
        .list_page_max = PROTO_LIST_PAGE_MAX,
    };
    char err[METHODS_ERR_MAX] = "";
    msgpack_sbuffer sb;
    int r;

    r = codec_parse_hello(msg->params, &p, err, sizeof(err));
    if (r < 0)
        return methods_error(c, msg->msgid, r, "%s", err);
    if (p.version != PROTO_VERSION)
        return methods_error(c, msg->msgid, -EPROTONOSUPPORT, "sharrd speaks protocol %d, the "
                             "client speaks %" PRIu32, PROTO_VERSION, p.version);
    log_debug(&daemon_of(c)->log, "connection %llu: hello from %s", (unsigned long long)c->id,
              p.client);
    conn_reply_init(c, &sb);
    methods_send(c, &sb, codec_pack_reply_hello(&sb, msg->msgid, &rep), -1);
    return 0;
}

/* counts: the answer shows attachments, so what every client posted in its release
 * ring is applied first; such a request walks every connection (and stat aside, every
 * array or attachment), so it ends its uid's turn of the loop. */
static const struct {
    const char *name;
    int (*fn)(struct conn *c, const struct codec_msg *msg);
    bool counts;
} methods_table[] = {
    { "hello", methods_hello, false },     { "create", methods_create, false },
    { "open", methods_open, false },       { "stat", methods_stat, true },
    { "list", methods_list, true },        { "unlink", methods_unlink, false },
    { "release", methods_release, false }, { "sync", methods_sync, false },
    { "stats", methods_stats, true },      { "holders", methods_holders, true },
    { "chmod", methods_chmod, false },     { "chown", methods_chown, false },
    { "ring", methods_ring, false },       { "publish", methods_publish, false },
    { "grow", methods_grow, false },       { "watch", methods_watch, false },
    { "gens", methods_gens, false },
};

bool methods_dispatch(struct conn *c, const msgpack_object *obj, const int *fds, unsigned nfds)
{
    char err[METHODS_ERR_MAX] = "";
    struct codec_msg msg;
    bool heavy = false;
    int known = 0;

    size_t i = 0;

    int r = codec_parse_msg(obj, &msg, &known, err, sizeof(err));

    if (r < 0 && known) {
        methods_error(c, msg.msgid, -EBADMSG, "%s", err);
    } else if (r < 0) {
        if (ratelog_allow(&daemon_of(c)->closings))
            log_warning(&daemon_of(c)->log, "connection %llu (pid %u): not a request (%s): closing",
                        (unsigned long long)c->id, c->peer.pid, err);
        conn_close(c, "malformed message");
    } else if (msg.type == CODEC_REQUEST) {
        daemon_of(c)->requests++;
        while (i < sizeof(methods_table) / sizeof(methods_table[0])
               && strcmp(msg.method, methods_table[i].name) != 0)
            i++;
        if (strcmp(msg.method, "adopt") == 0) {
            methods_adopt(c, &msg, fds, nfds);
            return false;
        }
        /* Only adopt takes a descriptor: any other is closed unused, before the reply. */
        methods_close_fds(fds, nfds);
        nfds = 0;
        if (i < sizeof(methods_table) / sizeof(methods_table[0]) && methods_table[i].counts)
            releases_take_all(daemon_of(c));
        if (i < sizeof(methods_table) / sizeof(methods_table[0]))
            methods_table[i].fn(c, &msg);
        else
            methods_error(c, msg.msgid, -ENOSYS, "unknown method '%s'", msg.method);
        heavy = i < sizeof(methods_table) / sizeof(methods_table[0]) && methods_table[i].counts;
    } else if (msg.type == CODEC_NOTIFY && strcmp(msg.method, "release") == 0) {
        methods_release_notified(c, &msg);
    } /* responses and other notifications from a client need no answer */
    methods_close_fds(fds, nfds);
    return heavy;
}

size_t methods_frame(struct conn *c, const uint8_t *bytes, size_t len)
{
    struct codec_open p;
    uint32_t msgid;
    size_t n;

    if (!openframe_parse(bytes, len, daemon_of(c)->cfg.policy.max_request, &msgid, &p, &n))
        return 0;
    daemon_of(c)->requests++;
    methods_open_parsed(c, msgid, &p);
    return n;
}
