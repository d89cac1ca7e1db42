/* attcache.h — the attachments a connection keeps for reuse: an array this process
 * holds, or let go of within the last T milliseconds, is attached again in the same
 * mode with no message to sharrd and no new mapping.
 *
 * An entry owns one daemon attachment (its handle, descriptor and mapping); every
 * sharr_array_t made from it borrows them and holds one local reference. The daemon
 * keeps counting the attachment as long as the entry lives, so sharr holders, ls -l,
 * quotas and a client's death stay right; it is released (through the release ring)
 * when the entry goes: its last handle closed and then dropped for age (T), for room
 * (more than N entries nobody holds), or because it went stale. An entry is stale,
 * and never handed out again, when the counter of its name in sharrd's generation
 * page (proto/gens.h) moved since before it was attached (unlink, overwrite, chmod,
 * chown, grow, publish), when the connection it was made on is gone (sharrd restarted:
 * the new one holds nothing for it), or in a forked child (the attachment is the
 * parent's). Everything here is guarded by the connection's lock.
 */
#ifndef CLIENT_ATTCACHE_H
#define CLIENT_ATTCACHE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "sharr.h"

#define ATTCACHE_MAX_DEFAULT 16      /* N: entries nobody holds ($SHARR_CACHE_MAX) */
#define ATTCACHE_MS_DEFAULT 10000    /* T: how long they are kept ($SHARR_CACHE_MS) */
#define ATTCACHE_MAX_LIMIT 4096      /* the largest N taken from the environment */

struct attcache_entry {
    struct attcache_entry *next; /* in the connection's list while listed */
    unsigned refs;               /* handles borrowing it */
    bool listed;                 /* may still be handed out (in the list) */
    pid_t pid;                   /* the process that attached: only it releases */
    uint64_t gen;                /* the connection generation of the attachment */
    uint64_t handle;
    int fd;
    void *map;
    size_t maplen;
    char mode[3];                /* "r" or "r+" */
    uint32_t slot;               /* the name's slot in the generation page */
    uint64_t slot_gen;           /* its counter read before the attach was asked for */
    uint64_t released_ns;        /* CLOCK_MONOTONIC when its last handle closed */
    struct sharr_info info;      /* the array as attached */
    char descr[];                /* a record's description, else "" */
};

/* A connection's cache: its settings and entries. */
struct attcache {
    struct attcache_entry *head; /* listed entries, newest first */
    size_t nidle;                /* listed entries with no handle */
    size_t max_idle;             /* N; 0: the cache is off */
    uint64_t ttl_ns;             /* T */
};

/* What a miss saw before the attach was asked for, for attcache_keep. */
struct attcache_snap {
    bool ok;                     /* false: do not keep what the attach brings */
    uint64_t gen;
    uint32_t slot;
    uint64_t slot_gen;
};

/* Settings from $SHARR_CACHE_MAX (N, 0 turns the cache off) and $SHARR_CACHE_MS (T, 0
 * lets an entry go at its last close),
 * defaults otherwise; no entries. */
void attcache_init(struct attcache *ac);

/* Look for a listed, current entry of name in mode that an open with flags (and owner,
 * the uid it requires, or NULL) may take. 1: *ret is it, with one more reference. 0: a
 * miss, *snap filled. Stale and expired entries found on the way are dropped. */
int attcache_take(sharr_t *c, const char *name, const char *mode, int flags,
                  const uint32_t *owner, struct attcache_entry **ret,
                  struct attcache_snap *snap);

/* attcache_take for SHARR_F_CACHED_ONLY: the same entry it would hand out, but with
 * no waiting and no I/O: no page fetched, nothing dropped, the lock only tried. 1: *ret
 * is it, with one more reference; 0: not served now (the caller's full open does the
 * rest). */
int attcache_peek(sharr_t *c, const char *name, const char *mode, int flags,
                  const uint32_t *owner, struct attcache_entry **ret);

/* After a miss: make an entry of what the attach brought (fd, map, handle of the
 * attachment of generation gen, info and descr as attached) when snap allows it.
 * Returns the entry with one reference (the caller's handle now borrows fd and map
 * from it), or NULL: the caller keeps them as its own. */
struct attcache_entry *attcache_keep(sharr_t *c, const struct attcache_snap *snap,
                                     const char *mode, uint64_t gen, uint64_t handle, int fd,
                                     void *map, size_t maplen, const struct sharr_info *info,
                                     const char *descr);

/* A handle of e closed: drop its reference; the entry is kept for reuse or let go. */
void attcache_put(sharr_t *c, struct attcache_entry *e);

/* Let go of the entries that went stale or old (any call to sharrd runs this after
 * its reply). */
void attcache_sweep(sharr_t *c);

/* Let go of every entry nobody holds. Returns how many went. */
size_t attcache_drop_idle(sharr_t *c);

/* In a forked child, with the connection's lock (consistent: its state was not being
 * changed at fork): nothing is listed any more; entries nobody holds are unmapped and
 * closed here (their attachments are the parent's); held ones go when their handles
 * close. */
void attcache_after_fork(struct attcache *ac, bool consistent);

/* The connection is being freed: unmap and close every entry (none is held). */
void attcache_free(struct attcache *ac);

#endif
