/* watch.h — connections that subscribed to events on names (the method watch): which
 * ones watch which prefix, and sending each of them the events (proto/event.h) on the
 * arrays it may see, as msgpack-RPC notifications.
 *
 * A watcher costs the daemon bounded memory however slowly it reads: once its unread
 * events reach WATCH_QUEUE_MAX bytes (or all reply queues together reach
 * --max-queued-total), later events are counted, not queued, and when it has read
 * everything it gets one overflow event with that count. The methods decide when an
 * event happened and call watch_emit; this file decides who hears it.
 */
#ifndef DAEMON_WATCH_H
#define DAEMON_WATCH_H

#include <stddef.h>
#include <stdint.h>

#include "event.h"
#include "proto_limits.h"
#include "meta.h"
#include "policy.h"

struct conn;
struct registry_array;

/* Bytes of unread events one watcher may leave queued in the daemon (never more than
 * half of --max-queued, so a slow watcher is told of an overflow, not disconnected). */
#define WATCH_QUEUE_MAX (256u * 1024)

struct watch {
    struct conn *conn;          /* the watcher; not referenced: watch_remove runs in its close */
    char prefix[PROTO_NAME_MAX + 1]; /* names that start with it; "" for every name */
    size_t prefix_len;
    uint64_t lost;              /* events not queued since the last one that was */
    struct watch *prev, *next;
};

struct watches {
    const struct policy *policy; /* --max-watches-per-uid, --max-queued (not copied) */
    struct watch *head;         /* newest first */
    size_t n;
};

/* An empty set of watches under policy (which must outlive ws). */
void watch_init(struct watches *ws, const struct policy *policy);

/* Make c a watcher of the names starting with prefix ("" for all), counted in its
 * uid's record (c->uid->watches). 0 and *ret (the caller keeps it for watch_remove);
 * -EMFILE past --max-watches-per-uid for c's uid (never for uid 0); -ENOMEM; with a
 * message in err. */
int watch_add(struct watches *ws, struct conn *c, const char *prefix, struct watch **ret,
              char *err, size_t errlen);

/* w stops watching (its connection closes, its uid's record still there); NULL is a
 * no-op. */
void watch_remove(struct watches *ws, struct watch *w);

/* kind happened to a (its metadata as it is now; for EVENT_REMOVED as it was when it
 * lost its name): tell every watcher whose prefix a's name starts with and that may
 * see a (access_may_see, as stat and list decide). */
void watch_emit(struct watches *ws, enum event_kind kind, const struct registry_array *a);

/* As watch_emit for a change of owner, group or mode (EVENT_CHOWN, EVENT_CHMOD):
 * before is a's metadata before it, so a watcher that may see a before or after hears
 * of it (one that just lost sight of it learns so). */
void watch_emit_change(struct watches *ws, enum event_kind kind, const struct registry_array *a,
                       const struct meta *before);

/* w's connection sent every reply it had queued: if events were lost while it was
 * full, send the overflow event now (conn_hooks.on_drained). */
void watch_drained(struct watch *w);

#endif
