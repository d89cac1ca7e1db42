/* memstore.c — build one volatile array in a memfd.
 *
 * Order matters: size, header, allocation of every page (so a full memory is a
 * clear error now, not a SIGBUS in a client later), then the seals.
 */
#include "memstore.h"

#include <errno.h>
#include <stdbool.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "npy.h"

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

int memstore_create(const struct meta *m, int *ret_fd, char *err, size_t errlen)
{
    uint8_t header[NPY_HEADER_LEN];
    uint64_t size = NPY_HEADER_LEN + m->nbytes;
    /* The room to grow into: the caller checked max_len * slice against the limits. */
    uint64_t room = memstore_axis(m) < 0 || m->max_len <= m->shape[memstore_axis(m)]
                    ? size : NPY_HEADER_LEN + m->max_len * memstore_slice(m);
    char label[64];
    size_t n;
    int fd, r;

    r = npy_header_format(m, header);
    if (r < 0) {
        snprintf(err, errlen, "cannot describe %s in a .npy header", m->dtype.str);
        return r;
    }
    /* The label shows in /proc/PID/fd and helps whoever debugs memory use. */
    memcpy(label, "sharr:", 6);
    n = strnlen(m->name, sizeof(label) - 7);
    memcpy(label + 6, m->name, n);
    label[6 + n] = '\0';
    fd = memfd_create(label, MFD_CLOEXEC | MFD_ALLOW_SEALING);
    if (fd < 0) {
        r = -errno;
        snprintf(err, errlen, "memfd_create: %s", strerror(errno));
        return r;
    }
    /* memfds start as 0777: another uid could reopen a read-only descriptor for
     * writing through /proc/self/fd/N. The header's write and posix_fallocate then
     * give the file its size. */
    if (fchmod(fd, 0600) < 0) {
        r = -errno;
        snprintf(err, errlen, "cannot restrict the array's mode: %s", strerror(errno));
        goto close_fd;
    }
    if (pwrite(fd, header, sizeof(header), 0) != (ssize_t)sizeof(header)) {
        r = -EIO;
        snprintf(err, errlen, "cannot write the .npy header");
        goto close_fd;
    }
    r = -posix_fallocate(fd, 0, (off_t)size);
    if (r < 0) {
        if (r == -ENOSPC || r == -ENOMEM)
            r = -ENOSPC;
        snprintf(err, errlen, "not enough memory for %llu bytes of volatile array: %s",
                 (unsigned long long)size, strerror(-r));
        goto close_fd;
    }
    if (room > size && ftruncate(fd, (off_t)room) < 0) {
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

int memstore_publish(int fd)
{
    return fcntl(fd, F_ADD_SEALS, F_SEAL_FUTURE_WRITE | F_SEAL_SEAL) < 0 ? -errno : 0;
}

bool memstore_published(int fd)
{
    int seals = fcntl(fd, F_GET_SEALS);

    return seals >= 0 && (seals & (F_SEAL_FUTURE_WRITE | F_SEAL_WRITE));
}

int memstore_grow(int fd, const struct meta *from, const struct meta *to, char *err,
                  size_t errlen)
{
    uint8_t header[NPY_HEADER_LEN];
    int r;

    r = npy_header_format(to, header);
    if (r < 0) {
        snprintf(err, errlen, "cannot describe %s in a .npy header", to->dtype.str);
        return r;
    }
    /* Only the new part is allocated; F_SEAL_GROW lets it be, within the size. */
    r = -posix_fallocate(fd, (off_t)(from->offset + from->nbytes),
                         (off_t)(to->nbytes - from->nbytes));
    if (r < 0) {
        if (r == -ENOSPC || r == -ENOMEM)
            r = -ENOSPC;
        snprintf(err, errlen, "not enough memory for %llu more bytes of volatile array: %s",
                 (unsigned long long)(to->nbytes - from->nbytes), strerror(-r));
        return r;
    }
    if (pwrite(fd, header, sizeof(header), 0) != (ssize_t)sizeof(header)) {
        snprintf(err, errlen, "cannot rewrite the .npy header");
        return -EIO;
    }
    return 0;
}
