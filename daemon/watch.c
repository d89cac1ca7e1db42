/* watch.c — the watchers and what each hears: an event on an array goes, packed once,
 * to every watcher whose prefix the name starts with and that may see the array (the
 * rule of stat and list). A watcher whose unread events fill its share (WATCH_QUEUE_MAX)
 * or meet full queues daemon-wide loses the events after, counted; once it has read
 * everything it gets one overflow event with the count, and hears events again. How
 * the bytes travel is conn.c's; when an event happens is the methods'.
 */
#include "watch.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "access.h"
#include "codec.h"
#include "conn.h"
#include "registry.h"

void watch_init(struct watches *ws, const struct policy *policy)
{
    ws->policy = policy;
    ws->head = NULL;
    ws->n = 0;
}

int watch_add(struct watches *ws, struct conn *c, const char *prefix, struct watch **ret,
              char *err, size_t errlen)
{
    uint64_t most = ws->policy->max_watches_per_uid;
    struct watch *w;

    if (c->peer.uid != 0 && most && c->uid->watches >= most) {
        snprintf(err, errlen, "uid %" PRIu32 " has the most watches allowed (%" PRIu64
                 ", --max-watches-per-uid): close one", c->peer.uid, most);
        return -EMFILE;
    }
    w = calloc(1, sizeof(*w));
    if (!w) {
        snprintf(err, errlen, "out of memory");
        return -ENOMEM;
    }
    w->conn = c;
    w->prefix_len = strlen(prefix);
    memcpy(w->prefix, prefix, w->prefix_len + 1);
    w->next = ws->head;
    if (w->next)
        w->next->prev = w;
    ws->head = w;
    ws->n++;
    c->uid->watches++;
    *ret = w;
    return 0;
}

void watch_remove(struct watches *ws, struct watch *w)
{
    if (!w)
        return;
    if (w->prev)
        w->prev->next = w->next;
    else
        ws->head = w->next;
    if (w->next)
        w->next->prev = w->prev;
    ws->n--;
    if (w->conn->uid)
        w->conn->uid->watches--;
    free(w);
}

/* Whether w hears of the array m describes: its name starts with w's prefix and w's
 * peer may see it. */
static bool watch_hears(const struct watch *w, const struct meta *m)
{
    return strncmp(m->name, w->prefix, w->prefix_len) == 0 && access_may_see(m, &w->conn->peer);
}

/* Whether w's connection may queue len more bytes of events: within its share, and
 * not while it has replies waiting and all queues together are full. */
static bool watch_room(const struct watches *ws, const struct watch *w, size_t len)
{
    const struct conn *c = w->conn;
    size_t most = ws->policy->max_queued / 2;

    if (most > WATCH_QUEUE_MAX)
        most = WATCH_QUEUE_MAX;
    if (c->out_head && conn_queues_full(c->pool))
        return false;
    return conn_queued_memory(c) + conn_reply_cost(len) <= most;
}

/* Queue a copy of the len bytes at data for w's connection. 0, or a negative errno
 * when the connection is closed now, and w with it (freed: not to be touched). */
static int watch_send(struct watch *w, const char *data, size_t len)
{
    char *copy = malloc(len);

    if (!copy) {
        w->lost++;
        return 0;
    }
    memcpy(copy, data, len);
    return conn_send(w->conn, copy, len, -1);
}

/* Tell w how many events it lost, now that it read everything queued before. 0, or a
 * negative errno when w is gone with its connection. */
static int watch_overflow(struct watch *w)
{
    struct codec_event e = { .kind = EVENT_OVERFLOW, .lost = w->lost };
    msgpack_sbuffer sb;
    int r;

    msgpack_sbuffer_init(&sb);
    r = codec_pack_event(&sb, &e);
    if (r == 0) {
        w->lost = 0;
        r = watch_send(w, sb.data, sb.size);
    }
    msgpack_sbuffer_destroy(&sb);
    return r == -ENOMEM ? 0 : r;
}

void watch_drained(struct watch *w)
{
    if (w && w->lost && !w->conn->closing)
        (void)watch_overflow(w);
}

/* Send kind on m (before: m as it was, or NULL) to the watchers that hear of either. */
static void watch_deliver(struct watches *ws, enum event_kind kind, const struct meta *m,
                          const struct meta *before)
{
    struct codec_event e = { .kind = kind };
    struct watch *w, *next;
    msgpack_sbuffer sb;
    int packed = 0;

    msgpack_sbuffer_init(&sb);
    for (w = ws->head; w; w = next) {
        next = w->next; /* a send may close w's connection, never another's */
        if (w->conn->closing || (!watch_hears(w, m) && !(before && watch_hears(w, before))))
            continue;
        /* After a loss, nothing more until the watcher has read what was queued. */
        if (w->lost && w->conn->out_head) {
            w->lost++;
            continue;
        }
        if (w->lost && watch_overflow(w) < 0)
            continue;
        if (packed == 0) {
            e.meta = *m;
            packed = codec_pack_event(&sb, &e) == 0 ? 1 : -1;
        }
        if (packed < 0 || !watch_room(ws, w, sb.size))
            w->lost++;
        else
            (void)watch_send(w, sb.data, sb.size);
    }
    msgpack_sbuffer_destroy(&sb);
}

void watch_emit(struct watches *ws, enum event_kind kind, const struct registry_array *a)
{
    if (ws->head && a->ready)
        watch_deliver(ws, kind, &a->meta, NULL);
}

void watch_emit_change(struct watches *ws, enum event_kind kind, const struct registry_array *a,
                       const struct meta *before)
{
    if (ws->head && a->ready)
        watch_deliver(ws, kind, &a->meta, before);
}
