/* fdcache.h — one connection's cache of the descriptions it was handed: up to
 * FDCACHE_SIZE reopened descriptors keyed by (array, mode), the least recently used
 * given up first.
 *
 * Bookkeeping only: it never opens or closes a descriptor. descriptors.c decides what
 * becomes of one it gets back (closes it, or leaves it to a queued reply that still
 * carries it). Each entry holds a reference to its array, so a key never
 * names an array freed and reallocated at the same address.
 */
#ifndef DAEMON_FDCACHE_H
#define DAEMON_FDCACHE_H

#include <stdint.h>

#include "meta.h"
#include "registry.h"

/* Descriptors one connection may keep: each costs the daemon one descriptor until
 * the entry is given up (LRU, the array removed, the connection closed, or any
 * descriptor allocation of the daemon failing with EMFILE/ENFILE). */
#define FDCACHE_SIZE 4

struct fdcache_entry {
    struct registry_array *array; /* referenced; NULL for a free slot */
    enum meta_mode mode;
    int fd;                       /* reopened in mode: O_RDWR for r+, else O_RDONLY */
    uint64_t used;                /* fdcache.clock when last found or put */
};

struct fdcache {
    struct fdcache_entry e[FDCACHE_SIZE];
    uint64_t clock;
};

void fdcache_init(struct fdcache *fc);

/* The descriptor cached for (a, mode), now the most recently used, or -1. */
int fdcache_find(struct fdcache *fc, const struct registry_array *a, enum meta_mode mode);

/* Cache fd (taken) for (a, mode), which must not be cached yet; takes a reference
 * to a. Returns the descriptor given up to make room (the caller's now), or -1. */
int fdcache_put(struct fdcache *fc, struct registry_array *a, enum meta_mode mode, int fd);

/* Give up one entry of a (of any array when a is NULL): its array reference is
 * dropped and its descriptor returned (the caller's now), with its mode in *ret_mode
 * (may be NULL); -1 when none is left. */
int fdcache_take(struct fdcache *fc, const struct registry_array *a, enum meta_mode *ret_mode);

#endif
