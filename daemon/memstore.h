/* memstore.h — volatile arrays: sealed memfd files that live in memory only.
 *
 * A memfd cannot be shrunk or grown once sealed, so no client holding a writable
 * descriptor can make other mappers die of SIGBUS. The daemon never maps it.
 */
#ifndef DAEMON_MEMSTORE_H
#define DAEMON_MEMSTORE_H

#include <stddef.h>
#include <stdint.h>

#include "meta.h"

/* Volatile bytes the kernel can spare, from /proc/meminfo's MemAvailable, read
 * again only when old or when creates since the last reading approach it. Used on
 * the loop thread only. Zero-initialised means "never read". */
struct memstore_budget {
    uint64_t avail;    /* MemAvailable in bytes at the last reading; UINT64_MAX: unknown */
    uint64_t spent;    /* bytes granted since that reading */
    uint64_t read_ns;  /* when it was read (a monotonic clock), 0 for never */
};

/* Grant size bytes of a new volatile array, or refuse them with -ENOSPC and a
 * message in err. /proc/meminfo is read again when the last reading is older than
 * MEMSTORE_BUDGET_TTL_NS or when size plus what was granted since it exceeds half
 * of it, so a refusal always rests on a fresh reading. now_ns is a monotonic clock. */
int memstore_budget_take(struct memstore_budget *b, uint64_t size, uint64_t now_ns,
                         char *err, size_t errlen);

/* Create the memfd of m (m->nbytes of data after the npy header at 4096): mode
 * 0600, header written, every page allocated (posix_fallocate: slow for large
 * arrays, so call it on the thread pool), sealed against shrink, grow and further
 * seals. The caller has checked the size against a memstore_budget. Returns 0 and
 * sets *ret_fd (O_RDWR, O_CLOEXEC), or a negative errno with a message in err;
 * nothing is left behind on failure. */
int memstore_create(const struct meta *m, int *ret_fd, char *err, size_t errlen);

#endif
