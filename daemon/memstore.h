/* memstore.h — volatile arrays: sealed memfd files that live in memory only.
 *
 * A memfd cannot be shrunk or grown once sealed, so no client holding a writable
 * descriptor can make other mappers die of SIGBUS. The daemon maps it only while it
 * builds it, before any client can hold it (a hugetlb file has no write()).
 */
#ifndef DAEMON_MEMSTORE_H
#define DAEMON_MEMSTORE_H

#include <stddef.h>
#include <stdint.h>

#include "hugepages.h"
#include "meta.h"

/* Volatile bytes the kernel can spare, from /proc/meminfo's MemAvailable: a check
 * beside the caps of policy.h, for memory other processes took. A grant holds until
 * memstore_budget_done: pages being allocated on the thread pool are not yet missing
 * from MemAvailable, so a new reading never forgets them. Used on the loop thread
 * only. Zero-initialised means "never read". */
struct memstore_budget {
    uint64_t avail;    /* MemAvailable in bytes at the last reading; UINT64_MAX: unknown */
    uint64_t read_ns;  /* when it was read (a monotonic clock), 0 for never */
    uint64_t before;   /* bytes of creates still running at that reading */
    uint64_t since;    /* bytes granted since that reading */
    uint64_t running;  /* bytes granted and not yet done */
};

/* Grant size bytes of a new volatile array, or refuse them with -ENOSPC and a
 * message in err. What is left is the last reading less what ran at it and what was
 * granted since; /proc/meminfo is read again when the reading is older than
 * MEMSTORE_BUDGET_TTL_NS or size passes half of what is left, so a refusal always
 * rests on a fresh reading. now_ns is a monotonic clock. */
int memstore_budget_take(struct memstore_budget *b, uint64_t size, uint64_t now_ns,
                         char *err, size_t errlen);

/* The create granted size bytes by memstore_budget_take is done (built or failed). */
void memstore_budget_done(struct memstore_budget *b, uint64_t size);

/* Create the memfd of m (m->nbytes of data after the npy header at 4096), backed as
 * hp says (hugepages.h; HUGEPAGES_SMALL: exactly header and data long, else hp->size,
 * whole huge pages): mode 0600, header written, every page allocated
 * (slow for large arrays, so call it on the thread pool), sealed against shrink, grow
 * and further seals. The caller has checked the size against a memstore_budget.
 * Returns 0, or 1 when the hugetlb pool had too few pages left and the array got small
 * pages instead (m->page_size then says so), and sets *ret_fd (O_RDWR, O_CLOEXEC); or
 * a negative errno with a message in err, leaving nothing behind. */
int memstore_create(struct meta *m, const struct hugepages_choice *hp, int *ret_fd,
                    char *err, size_t errlen);

#endif
