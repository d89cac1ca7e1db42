/* hugepages.h — which pages a new volatile array gets: the system's small pages,
 * shmem transparent huge pages, or pages of the hugetlb pool, from --huge-pages and
 * what the kernel offers (the pool's free pages, shmem_enabled).
 *
 * Only the choice lives here; memstore.c builds the memfd it describes, methods_jobs.c
 * charges the array at the page size chosen and logs when the pool runs out.
 */
#ifndef DAEMON_HUGEPAGES_H
#define DAEMON_HUGEPAGES_H

#include <stdbool.h>
#include <stdint.h>

/* An array is large enough for huge pages from this many of them: rounding it up to
 * whole huge pages then adds less than a quarter to its memory. */
#define HUGEPAGES_MIN_PAGES 4

/* --huge-pages: what the administrator allows. */
enum hugepages_mode {
    HUGEPAGES_AUTO = 0, /* hugetlb when the pool has room, else THP when shmem allows it */
    HUGEPAGES_NEVER,
    HUGEPAGES_THP,
    HUGEPAGES_HUGETLB,
};

/* /sys/kernel/mm/transparent_hugepage/shmem_enabled, as it bears on a memfd. */
enum hugepages_shmem {
    HUGEPAGES_SHMEM_NEVER = 0, /* never, deny, or unreadable */
    HUGEPAGES_SHMEM_ADVISE,    /* huge pages only where a mapping asks (MADV_HUGEPAGE) */
    HUGEPAGES_SHMEM_WITHIN,    /* within_size: huge pages wholly below the file's size */
    HUGEPAGES_SHMEM_ALWAYS,    /* always, force: every page huge, the last one too, for
                                * every memfd, whatever sharrd asks */
};

/* What the host offers, read by hugepages_read. */
struct hugepages_host {
    enum hugepages_shmem shmem;
    uint64_t pmd;         /* the THP size (hpage_pmd_size), 0 when none */
    uint64_t tlb;         /* the default hugetlb page size (Hugepagesize), 0 when none */
    uint64_t tlb_total;   /* pages in that pool (nr_hugepages) */
    uint64_t tlb_free;    /* of them free and not reserved */
};

/* How one array's memfd is backed. */
enum hugepages_kind {
    HUGEPAGES_SMALL = 0,    /* the system's page size */
    HUGEPAGES_SHMEM,        /* shmem THP that posix_fallocate allocates */
    HUGEPAGES_SHMEM_MAPPED, /* shmem THP under advise: allocated through a mapping with
                             * MADV_HUGEPAGE */
    HUGEPAGES_POOL,         /* MFD_HUGETLB, from the hugetlb pool */
};

/* A choice for one array. */
struct hugepages_choice {
    enum hugepages_kind kind;
    uint64_t page_size;  /* the pages it is counted in */
    uint64_t size;       /* its memfd's size: header and data, rounded up to whole
                          * page_size unless kind is HUGEPAGES_SMALL */
    bool pool_short;     /* the mode allows hugetlb and the pool has pages, too few of
                          * them free for this array: it ran out */
};

/* "never", "thp", "hugetlb", "auto" -> mode; 0 or -EINVAL. */
int hugepages_mode_parse(const char *s, enum hugepages_mode *ret_mode);
/* mode -> its name. */
const char *hugepages_mode_name(enum hugepages_mode mode);

/* Read what the host offers; with pool, also the hugetlb pool's counts (else they are
 * 0). root is prepended to every path ("" on a real system; tests point it at a tree
 * of their own). Missing files mean "not offered". Never fails. */
void hugepages_read(const char *root, bool pool, struct hugepages_host *ret);

/* The pages an array of size bytes (header and data) gets under mode on host h. An
 * array of at least HUGEPAGES_MIN_PAGES huge pages takes hugetlb pages (modes auto and
 * hugetlb) when the pool has that many free, else shmem THP (modes auto and thp) when
 * shmem_enabled is not never; pool_short says the pool exists but lacked the room.
 * Under shmem_enabled=always the kernel backs every memfd with huge pages whatever
 * sharrd asks: then every array not in the pool is sized and counted in them. Else
 * small pages, the size exact. */
struct hugepages_choice hugepages_choose(const struct hugepages_host *h,
                                         enum hugepages_mode mode, uint64_t size);

/* The huge page size a large array created under mode on h would get (the pool's
 * when it has free pages, else the THP size when shmem allows THP), or 0. */
uint64_t hugepages_size_now(const struct hugepages_host *h, enum hugepages_mode mode);

#endif
