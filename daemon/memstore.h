/* memstore.h — volatile arrays: sealed memfd files that live in memory only.
 *
 * A memfd cannot be shrunk or grown once sealed, so no client holding a writable
 * descriptor can make other mappers die of SIGBUS. The daemon maps it only while it
 * builds it, before any client can hold it, and while it grows it, sealed against
 * shrinking (a hugetlb file has no write(); shmem gives huge pages under advise only
 * through a mapping).
 */
#ifndef DAEMON_MEMSTORE_H
#define DAEMON_MEMSTORE_H

#include <stdbool.h>
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
 * hp says (hugepages.h; HUGEPAGES_SMALL: small pages, else whole huge pages of
 * hp->page_size): mode 0600, header written, every page of the data allocated (slow
 * for large arrays, so call it on the thread pool), sealed against shrink and grow.
 * Its size has room for m->max_len along the growing axis (memstore_axis) when that
 * is more than the array's length, rounded up to whole huge pages in huge pages: the
 * room is a hole, no memory until memstore_grow. Seals are per file, not per
 * descriptor: a memfd the daemon could grow, a client's r+ descriptor could grow too,
 * so the size is fixed here and growth only fills it. Not sealed against further
 * seals, so that memstore_publish can add its own. The caller has checked the size
 * against a memstore_budget. Returns 0, or 1 when the hugetlb pool had too few pages
 * left and the array got small pages instead (m->page_size then says so), and sets
 * *ret_fd (O_RDWR, O_CLOEXEC); or a negative errno with a message in err, leaving
 * nothing behind. */
int memstore_create(struct meta *m, const struct hugepages_choice *hp, int *ret_fd,
                    char *err, size_t errlen);

/* The axis an array grows along: the first in C order, the last in F order; -1 for
 * a 0-d array, which cannot grow. */
int memstore_axis(const struct meta *m);

/* The length m->max_len says the growing axis has room for, read back from fd's size
 * (st_size): (size - offset) / bytes of one slice along the axis. A memfd in huge
 * pages is whole pages long, so this can be more than the max_len it was created
 * with: what the pages hold. */
uint64_t memstore_room(const struct meta *m, uint64_t size);

/* Publish the memfd fd: sealed against writing (F_SEAL_FUTURE_WRITE) and against any
 * further seal. Mappings writable before stay writable; write(2), a new writable
 * shared mapping (as owner, as anyone) and mprotect to writable fail with EPERM.
 * 0 or -errno (-EPERM: a writer sealed it against seals itself). */
int memstore_publish(int fd);

/* Whether the memfd fd is published (sealed against writing). */
bool memstore_published(int fd);

/* Give back every page of the volatile array m on fd, which nobody reads or writes any
 * more (openers.h found no other description open for reading or writing) and which
 * is about to be freed. A description opened with O_PATH, which a client can make of
 * any descriptor it was given, is seen by no lease yet keeps the file and its pages
 * until it closes; it cannot read, write or map them, so they go now. The length
 * punched is the memfd's size as memstore_create made it (its room to grow included),
 * known from m without asking the kernel. Not for a published array (its
 * F_SEAL_FUTURE_WRITE refuses with -EPERM). 0 or -errno. */
int memstore_drop_pages(int fd, const struct meta *m);

/* Grow the memfd fd of the array from to the array to (the same but a longer growing
 * axis, within the room memstore_create left): the new pages are allocated first, in
 * whole pages of from->page_size (hugetlb by fallocate, shmem huge pages through a
 * mapping of the new part only, advised MADV_HUGEPAGE), then the header rewritten in
 * one pwrite, or through a mapping of the first page for hugetlb, which has no write. Thread pool (allocation is slow). 0, or a
 * negative errno (-ENOSPC when memory is short) with a message in err; on failure
 * the header still describes from. */
int memstore_grow(int fd, const struct meta *from, const struct meta *to, char *err,
                  size_t errlen);

#endif
