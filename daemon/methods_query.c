/* methods_query.c — stat, list, stats, holders, chmod and chown: requests answered at
 * once from the registry and the store, without attaching, and watch. holders.c collects the
 * attachments, ownership.c decides and records chmod and chown.
 */
#include "methods_query.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include "access.h"
#include "conn.h"
#include "daemon.h"
#include "growth.h"
#include "holders.h"
#include "hugepages.h"
#include "methods_reply.h"
#include "ownership.h"
#include "session.h"
#include "watch.h"

/* Entries of a list or holders page while the reply queues are full (conn_queues_full):
 * its reader pages on with "more", so what such a reply adds beyond the cap is small. */
#define METHODS_PAGE_WHEN_FULL 16

int methods_stat(struct conn *c, const struct codec_msg *msg)
{
    struct registry_array *a = methods_lookup(c, msg, true);
    msgpack_sbuffer sb;

    if (!a)
        return -ENOENT;
    growth_check(daemon_of(c), a);
    conn_reply_init(c, &sb);
    methods_send(c, &sb, codec_pack_reply_stat(&sb, msg->msgid, &a->meta), -1);
    return 0;
}

int methods_list(struct conn *c, const struct codec_msg *msg)
{
    const struct meta *page[PROTO_LIST_PAGE_MAX];
    struct registry *reg = &daemon_of(c)->registry;
    char err[METHODS_ERR_MAX] = "";
    struct codec_list p;
    msgpack_sbuffer sb;
    bool more = false;
    size_t n = 0;
    int r;

    r = codec_parse_list(msg->params, &p, err, sizeof(err));
    if (r < 0)
        return methods_error(c, msg->msgid, r, "%s", err);
    if (conn_queues_full(&daemon_of(c)->conns) && p.limit > METHODS_PAGE_WHEN_FULL)
        p.limit = METHODS_PAGE_WHEN_FULL;
    for (size_t i = registry_after(reg, p.after); i < reg->n; i++) {
        struct registry_array *a = reg->arrays[i];
        if (!a->ready || !access_may_see(&a->meta, &c->peer))
            continue;
        if (n == p.limit) {
            more = true;
            break;
        }
        /* What a file nobody can write to showed at the last look still holds. */
        if (growth_may_change(a))
            growth_check(daemon_of(c), a);
        page[n++] = &a->meta;
    }
    conn_reply_init(c, &sb);
    methods_send(c, &sb, codec_pack_reply_list(&sb, msg->msgid, page, n, more, p.table), -1);
    return 0;
}

static void methods_statvfs(const char *path, uint64_t *ret_capacity, uint64_t *ret_free)
{
    struct statvfs st;

    if (statvfs(path, &st) == 0) {
        *ret_capacity = (uint64_t)st.f_blocks * st.f_frsize;
        *ret_free = (uint64_t)st.f_bavail * st.f_frsize;
    }
}

int methods_stats(struct conn *c, const struct codec_msg *msg)
{
    struct daemon *d = daemon_of(c);
    uint32_t page = (uint32_t)sysconf(_SC_PAGESIZE);
    struct hugepages_host host;
    struct codec_stats_reply s;
    msgpack_sbuffer sb;

    memset(&s, 0, sizeof(s));
    /* The files writers hold may have grown since anyone looked, and arrays let go of
     * may be closed at last. */
    growth_check_uid(d, GROWTH_ANY_UID);
    leftover_check(d, LEFTOVER_ANY_UID);
    for (size_t i = 0; i < d->registry.n; i++) {
        const struct registry_array *a = d->registry.arrays[i];
        uint64_t bytes = a->meta.nbytes + a->meta.grown;
        if (!a->ready)
            continue;
        s.arrays++;
        s.bytes += bytes;
        *(a->meta.persist ? &s.arrays_persistent : &s.arrays_volatile) += 1;
        *(a->meta.persist ? &s.bytes_persistent : &s.bytes_volatile) += bytes;
        s.bytes_grown += a->meta.grown;
        s.arrays_damaged += a->meta.damaged;
        if (!a->meta.persist && a->meta.page_size > page)
            s.volatile_huge += a->charged.memory;
    }
    s.arrays_damaged += d->store.ndamaged;
    s.volatile_limit = d->cfg.policy.max_volatile_bytes;
    s.volatile_limit_per_uid = d->cfg.policy.max_volatile_bytes_per_uid;
    s.volatile_reserved = d->quota.memory;
    hugepages_read("", true, &host);
    s.huge_page_size = hugepages_size_now(&host, d->cfg.huge_pages);
    s.connections = d->conns.n;
    s.attachments = d->registry.nattached;
    s.watches = d->watches.n;
    s.arrays_watched = growth_watched(d);
    s.sweeps = d->growth.sweeps;
    s.queued_bytes = d->conns.queued_total;
    s.requests = d->requests;
    methods_statvfs(d->store.path, &s.persist_capacity, &s.persist_free);
    methods_statvfs("/dev/shm", &s.volatile_capacity, &s.volatile_free);
    s.pid = (uint32_t)getpid();
    s.uptime_ms = (int64_t)((uv_hrtime() - d->start_ns) / 1000000);
    conn_reply_init(c, &sb);
    methods_send(c, &sb, codec_pack_reply_stats(&sb, msg->msgid, &s), -1);
    return 0;
}

/* One page of the attachments the peer may see (holders.c collects them). */
int methods_holders(struct conn *c, const struct codec_msg *msg)
{
    char err[METHODS_ERR_MAX] = "";
    struct codec_holders p;
    struct codec_holder *page;
    msgpack_sbuffer sb;
    bool more = false;
    size_t n = 0;
    int r;

    r = codec_parse_holders(msg->params, &p, err, sizeof(err));
    if (r < 0)
        return methods_error(c, msg->msgid, r, "%s", err);
    if (conn_queues_full(&daemon_of(c)->conns) && p.limit > METHODS_PAGE_WHEN_FULL)
        p.limit = METHODS_PAGE_WHEN_FULL;
    page = malloc((size_t)p.limit * sizeof(*page));
    r = page ? holders_collect(daemon_of(c), &c->peer, &p, page, &n, &more) : -ENOMEM;
    if (r < 0) {
        free(page);
        return methods_error(c, msg->msgid, r, "out of memory");
    }
    conn_reply_init(c, &sb);
    methods_send(c, &sb, codec_pack_reply_holders(&sb, msg->msgid, page, n, more), -1);
    free(page);
    return 0;
}

/* chmod (perm set) or chown (uid and gid, NULL to keep, when perm is NULL) of the array
 * msg names, as ownership.c decides and records; the change is announced to attach caches
 * and watchers, and the answer is the stat result. err holds what parsing left there. */
static int methods_change_owner(struct conn *c, const struct codec_msg *msg,
                                const uint32_t *perm, const uint32_t *uid,
                                const uint32_t *gid, char err[METHODS_ERR_MAX])
{
    struct registry_array *a = methods_lookup(c, msg, false);
    struct meta before;
    int r;

    if (!a)
        return -ENOENT;
    before = a->meta;
    r = perm ? ownership_chmod(daemon_of(c), &c->peer, a, *perm, err, METHODS_ERR_MAX)
             : ownership_chown(daemon_of(c), &c->peer, a, uid, gid, err, METHODS_ERR_MAX);
    if (r < 0)
        return methods_error(c, msg->msgid, r, "%s", err);
    genpage_bump(&daemon_of(c)->gens, a->meta.name); /* checked again at the next attach */
    watch_emit_change(&daemon_of(c)->watches, perm ? EVENT_CHMOD : EVENT_CHOWN, a, &before);
    return methods_stat_reply(c, msg->msgid, a);
}

int methods_chmod(struct conn *c, const struct codec_msg *msg)
{
    char err[METHODS_ERR_MAX] = "";
    struct codec_chmod p;
    int r = codec_parse_chmod(msg->params, &p, err, sizeof(err));

    if (r < 0)
        return methods_error(c, msg->msgid, r, "%s", err);
    return methods_change_owner(c, msg, &p.perm, NULL, NULL, err);
}

int methods_chown(struct conn *c, const struct codec_msg *msg)
{
    char err[METHODS_ERR_MAX] = "";
    struct codec_chown p;
    int r = codec_parse_chown(msg->params, &p, err, sizeof(err));

    if (r < 0)
        return methods_error(c, msg->msgid, r, "%s", err);
    return methods_change_owner(c, msg, NULL, p.has_uid ? &p.uid : NULL,
                                p.has_gid ? &p.gid : NULL, err);
}

int methods_watch(struct conn *c, const struct codec_msg *msg)
{
    struct session *s = session_of(c);
    char err[METHODS_ERR_MAX] = "";
    struct codec_watch p;
    int r = codec_parse_watch(msg->params, &p, err, sizeof(err));

    if (r < 0)
        return methods_error(c, msg->msgid, r, "%s", err);
    if (s->watch)
        return methods_error(c, msg->msgid, -EBUSY, "this connection watches already (one "
                             "watch per connection: open another)");
    r = watch_add(&daemon_of(c)->watches, c, p.prefix, &s->watch, err, sizeof(err));
    if (r < 0)
        return methods_error(c, msg->msgid, r, "%s", err);
    return methods_empty(c, msg->msgid);
}
