/* memstore.c — build one volatile array in a memfd.
 *
 * Order matters: size, header, allocation of every page (so a full memory is a
 * clear error now, not a SIGBUS in a client later), then the seals. A small array in
 * small pages gets its header and its pages in one write.
 */
#include "memstore.h"

#include <errno.h>
#include <linux/magic.h>
#include <stdbool.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <sys/vfs.h>
#include <unistd.h>

#include "npy.h"

#ifndef MADV_POPULATE_WRITE
#define MADV_POPULATE_WRITE 23 /* Linux 5.14 */
#endif

#define MEMSTORE_ZEROS 4096 /* bytes of the block of zeros memstore_write_small writes */
#define MEMSTORE_ZEROS_MAX 16 /* blocks of them: arrays of up to 64 KiB of data */
#define MEMSTORE_BUDGET_TTL_NS (1000ull * 1000 * 1000) /* a reading older than 1 s is read again */

/* MemAvailable of /proc/meminfo in bytes, or UINT64_MAX when unknown. */
static uint64_t memstore_available(void)
{
    unsigned long long kib = 0;
    char line[128];
    FILE *f = fopen("/proc/meminfo", "re");
    bool found = false;

    while (f && !found && fgets(line, sizeof(line), f))
        found = sscanf(line, "MemAvailable: %llu kB", &kib) == 1;
    if (f)
        fclose(f);
    return found ? (uint64_t)kib * 1024 : UINT64_MAX;
}

/* a - b, or 0. */
static uint64_t memstore_less(uint64_t a, uint64_t b)
{
    return a > b ? a - b : 0;
}

/* A memfd has no size limit of its own: posix_fallocate would take pages until the
 * OOM killer stepped in, so no more is granted than the kernel has to spare. Reading
 * /proc/meminfo costs more than a small create itself, hence the cached reading. */
int memstore_budget_take(struct memstore_budget *b, uint64_t size, uint64_t now_ns,
                         char *err, size_t errlen)
{
    bool stale = b->read_ns == 0 || now_ns - b->read_ns >= MEMSTORE_BUDGET_TTL_NS;
    uint64_t left = memstore_less(b->avail, b->before + b->since);

    if (stale || size > left / 2) {
        b->avail = memstore_available();
        b->before = b->running;
        b->since = 0;
        b->read_ns = now_ns != 0 ? now_ns : 1;
        left = memstore_less(b->avail, b->before);
    }
    if (b->avail != UINT64_MAX && size > left) {
        snprintf(err, errlen, "not enough memory for a volatile array of %llu bytes: the host "
                 "has %llu available (MemAvailable, less %llu being allocated)",
                 (unsigned long long)size, (unsigned long long)left,
                 (unsigned long long)(b->before + b->since));
        return -ENOSPC;
    }
    b->since = size > UINT64_MAX - b->since ? UINT64_MAX : b->since + size;
    b->running = size > UINT64_MAX - b->running ? UINT64_MAX : b->running + size;
    return 0;
}

void memstore_budget_done(struct memstore_budget *b, uint64_t size)
{
    b->running = memstore_less(b->running, size);
}

int memstore_axis(const struct meta *m)
{
    return meta_grow_axis(m);
}

/* Bytes of one slice of m along its growing axis (0 for a 0-d array). */
static uint64_t memstore_slice(const struct meta *m)
{
    int axis = memstore_axis(m);

    return axis < 0 ? 0 : m->nbytes / m->shape[axis];
}

uint64_t memstore_room(const struct meta *m, uint64_t size)
{
    uint64_t slice = memstore_slice(m);

    return slice == 0 || size < m->offset ? 0 : (size - m->offset) / slice;
}

/* n rounded up to a whole number of pages of page bytes. */
static uint64_t memstore_whole(uint64_t n, uint64_t page)
{
    return (n + page - 1) / page * page;
}

/* The bytes m's memfd spans as memstore_build sizes it: the header and the data, or the
 * room to grow to m->max_len when that is more, in whole pages of page unless page is 0
 * (small pages: the size is exact). */
static uint64_t memstore_extent(const struct meta *m, uint64_t page)
{
    uint64_t room = m->max_len * memstore_slice(m);
    uint64_t n = NPY_HEADER_LEN + (room > m->nbytes ? room : m->nbytes);

    return page != 0 ? memstore_whole(n, page) : n;
}

/* A memfd named after the array: the label shows in /proc/PID/fd and helps whoever
 * debugs memory use. memfds start as 0777: another uid could reopen a read-only
 * descriptor for writing through /proc/self/fd/N, hence the fchmod. */
static int memstore_memfd(const struct meta *m, unsigned flags, char *err, size_t errlen)
{
    char label[64];
    size_t n;
    int fd, r;

    memcpy(label, "sharr:", 6);
    n = strnlen(m->name, sizeof(label) - 7);
    memcpy(label + 6, m->name, n);
    label[6 + n] = '\0';
    fd = memfd_create(label, MFD_CLOEXEC | MFD_ALLOW_SEALING | flags);
    if (fd < 0) {
        r = -errno;
        snprintf(err, errlen, "memfd_create: %s", strerror(errno));
        return r;
    }
    if (fchmod(fd, 0600) < 0) {
        r = -errno;
        snprintf(err, errlen, "cannot restrict the array's mode: %s", strerror(errno));
        close(fd);
        return r;
    }
    return fd;
}

/* Write hlen bytes of header (none when hlen is 0) through a mapping of fd's bytes
 * [start, start + len), and with populate allocate every page of it too
 * (MADV_POPULATE_WRITE; MADV_HUGEPAGE first when thp). The only way to write a
 * hugetlb file (it has no write()), and the only way shmem under shmem_enabled=advise
 * hands out huge pages. The daemon maps array data nowhere else: at create no client
 * holds the memfd yet, and at grow it is sealed against shrinking, so none can cut it
 * under the mapping. */
static int memstore_map_write(int fd, const uint8_t *header, size_t hlen, uint64_t start,
                              uint64_t len, bool thp, bool populate, char *err,
                              size_t errlen)
{
    void *p = mmap(NULL, (size_t)len, PROT_READ | PROT_WRITE, MAP_SHARED, fd, (off_t)start);
    int r = 0;

    if (p == MAP_FAILED) {
        r = -errno;
        snprintf(err, errlen, "cannot map the array: %s", strerror(errno));
        return r;
    }
    if (thp)
        madvise(p, (size_t)len, MADV_HUGEPAGE);
    if (hlen > 0)
        memcpy(p, header, hlen);
    if (populate && madvise(p, (size_t)len, MADV_POPULATE_WRITE) < 0) {
        r = -errno;
        if (r == -ENOMEM || r == -EFAULT)
            r = -ENOSPC;
        snprintf(err, errlen, "not enough memory for %llu bytes of volatile array: %s",
                 (unsigned long long)len, strerror(errno));
    }
    munmap(p, (size_t)len);
    return r;
}

/* Give fd, whose size is set, every page in [start, start + len). */
static int memstore_allocate(int fd, uint64_t start, uint64_t len, bool hugetlb, char *err,
                             size_t errlen)
{
    /* hugetlbfs has fallocate(2) but no write(): glibc's emulation of posix_fallocate
     * would not do there. */
    int r = hugetlb ? (fallocate(fd, 0, (off_t)start, (off_t)len) < 0 ? -errno : 0)
                    : -posix_fallocate(fd, (off_t)start, (off_t)len);

    if (r < 0) {
        if (r == -ENOSPC || r == -ENOMEM)
            r = -ENOSPC;
        snprintf(err, errlen, "not enough memory for %llu bytes of volatile array: %s",
                 (unsigned long long)len, strerror(-r));
    }
    return r;
}

/* Write the header and size - NPY_HEADER_LEN bytes of zeros after it (at most
 * MEMSTORE_ZEROS_MAX blocks) in one pwritev: shmem gives a page to every byte written,
 * so this allocates what posix_fallocate of [0, size) would, with one system call
 * instead of two. */
static int memstore_write_small(int fd, const uint8_t *header, uint64_t size, char *err,
                                size_t errlen)
{
    static const uint8_t zeros[MEMSTORE_ZEROS];
    struct iovec iov[1 + MEMSTORE_ZEROS_MAX];
    uint64_t left = size - NPY_HEADER_LEN;
    int n = 0, r;
    ssize_t w;

    iov[n++] = (struct iovec){ .iov_base = (void *)header, .iov_len = NPY_HEADER_LEN };
    while (left > 0) {
        size_t k = left < MEMSTORE_ZEROS ? (size_t)left : MEMSTORE_ZEROS;

        iov[n++] = (struct iovec){ .iov_base = (void *)zeros, .iov_len = k };
        left -= k;
    }
    w = pwritev(fd, iov, n, 0);
    if (w == (ssize_t)size)
        return 0;
    /* A short write ran out of memory at the page it stopped at. */
    r = w >= 0 || errno == ENOSPC || errno == ENOMEM ? -ENOSPC : -errno;
    snprintf(err, errlen, "not enough memory for %llu bytes of volatile array: %s",
             (unsigned long long)size, strerror(-r));
    return r;
}

/* Build the memfd of m backed as hp says: sized to its room (whole huge pages in huge
 * pages), header written, the pages of header and data allocated, sealed. */
static int memstore_build(const struct meta *m, const struct hugepages_choice *hp,
                          const uint8_t *header, int *ret_fd, char *err, size_t errlen)
{
    bool hugetlb = hp->kind == HUGEPAGES_POOL, small = hp->kind == HUGEPAGES_SMALL;
    uint64_t size = small ? NPY_HEADER_LEN + m->nbytes : hp->size;
    /* The room to grow into: the caller checked max_len * slice against the limits. */
    uint64_t room = memstore_extent(m, small ? 0 : hp->page_size);
    int fd, r;

    if (room < size)
        room = size;
    fd = memstore_memfd(m, hugetlb ? MFD_HUGETLB : 0, err, errlen);
    if (fd < 0)
        return fd;
    /* The size first in huge pages: shmem_enabled=within_size gives huge pages only
     * below it. Small pages: the header's write and the allocation give it. */
    if (!small && ftruncate(fd, (off_t)room) < 0) {
        r = -errno;
        snprintf(err, errlen, "cannot size the array: %s", strerror(errno));
        goto close_fd;
    }
    if (small && size - NPY_HEADER_LEN <= (uint64_t)MEMSTORE_ZEROS * MEMSTORE_ZEROS_MAX) {
        r = memstore_write_small(fd, header, size, err, errlen);
    } else {
        if (hugetlb || hp->kind == HUGEPAGES_SHMEM_MAPPED) {
            r = memstore_map_write(fd, header, NPY_HEADER_LEN, 0,
                                   hugetlb ? hp->page_size : size, !hugetlb, !hugetlb, err,
                                   errlen);
            if (r < 0)
                goto close_fd;
        } else if (pwrite(fd, header, NPY_HEADER_LEN, 0) != (ssize_t)NPY_HEADER_LEN) {
            r = -EIO;
            snprintf(err, errlen, "cannot write the .npy header");
            goto close_fd;
        }
        r = memstore_allocate(fd, 0, size, hugetlb, err, errlen);
    }
    if (r < 0)
        goto close_fd;
    if (small && room > size && ftruncate(fd, (off_t)room) < 0) {
        r = -errno;
        snprintf(err, errlen, "cannot make room to grow the array: %s", strerror(errno));
        goto close_fd;
    }
    if (fcntl(fd, F_ADD_SEALS, F_SEAL_SHRINK | F_SEAL_GROW) < 0) {
        r = -errno;
        snprintf(err, errlen, "cannot seal the array: %s", strerror(errno));
        goto close_fd;
    }
    *ret_fd = fd;
    return 0;

close_fd:
    close(fd);
    return r;
}

int memstore_create(struct meta *m, const struct hugepages_choice *hp, int *ret_fd,
                    char *err, size_t errlen)
{
    struct hugepages_choice small = { .kind = HUGEPAGES_SMALL,
                                      .page_size = (uint64_t)sysconf(_SC_PAGESIZE) };
    uint8_t header[NPY_HEADER_LEN];
    int r;

    r = npy_header_format(m, header);
    if (r < 0) {
        snprintf(err, errlen, "cannot describe %s in a .npy header", m->dtype.str);
        return r;
    }
    r = memstore_build(m, hp, header, ret_fd, err, errlen);
    /* The pool ran dry since the choice (another create, another program): small
     * pages serve as well, only slower to fault in. */
    if (hp->kind == HUGEPAGES_POOL && (r == -ENOMEM || r == -ENOSPC)) {
        r = memstore_build(m, &small, header, ret_fd, err, errlen);
        if (r == 0) {
            m->page_size = (uint32_t)small.page_size;
            return 1;
        }
    }
    return r;
}

int memstore_publish(int fd)
{
    return fcntl(fd, F_ADD_SEALS, F_SEAL_FUTURE_WRITE | F_SEAL_SEAL) < 0 ? -errno : 0;
}

bool memstore_published(int fd)
{
    int seals = fcntl(fd, F_GET_SEALS);

    return seals >= 0 && (seals & (F_SEAL_FUTURE_WRITE | F_SEAL_WRITE));
}

/* The whole file as memstore_build sized it, not only the array's present length: a
 * grow allocated pages up to that, and a writer may have written into the room beyond
 * it. A memfd kept across a restart (fdstore.c) has its max_len read back from its size,
 * which gives that size again. */
int memstore_drop_pages(int fd, const struct meta *m)
{
    uint64_t sys = (uint64_t)sysconf(_SC_PAGESIZE);
    uint64_t size = memstore_extent(m, m->page_size > sys ? m->page_size : 0);

    return fallocate(fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, 0, (off_t)size) < 0
               ? -errno
               : 0;
}

int memstore_grow(int fd, const struct meta *from, const struct meta *to, char *err,
                  size_t errlen)
{
    uint64_t sys = (uint64_t)sysconf(_SC_PAGESIZE);
    uint64_t page = from->page_size > sys ? from->page_size : 0;
    uint64_t start = from->offset + from->nbytes, end = to->offset + to->nbytes;
    uint8_t header[NPY_HEADER_LEN];
    struct statfs fs;
    bool hugetlb;
    int r;

    r = npy_header_format(to, header);
    if (r < 0) {
        snprintf(err, errlen, "cannot describe %s in a .npy header", to->dtype.str);
        return r;
    }
    hugetlb = fstatfs(fd, &fs) == 0 && fs.f_type == HUGETLBFS_MAGIC;
    /* Only the new part is allocated; F_SEAL_GROW lets it be, within the size. In huge
     * pages the memfd is whole pages long and the pages up to start's are there. */
    if (page != 0) {
        start = memstore_whole(start, page);
        end = memstore_whole(end, page);
    }
    if (end > start) {
        if (page != 0 && !hugetlb)
            r = memstore_map_write(fd, NULL, 0, start, end - start, true, true, err, errlen);
        else
            r = memstore_allocate(fd, start, end - start, hugetlb, err, errlen);
        if (r < 0)
            return r;
    }
    if (hugetlb)
        return memstore_map_write(fd, header, sizeof(header), 0, page, false, false, err,
                                  errlen);
    if (pwrite(fd, header, sizeof(header), 0) != (ssize_t)sizeof(header)) {
        snprintf(err, errlen, "cannot rewrite the .npy header");
        return -EIO;
    }
    return 0;
}
