/* store_grow.c — a persistent array's first axis grows: its .npy takes more space,
 * then a new header, in the order that leaves the old array or the new one after a
 * crash (daemon/STORE.md, "Grow"). The record (<name>.meta) holds no shape, so the
 * .npy's header is the one commit point, written with one pwrite within its first page.
 */
#include "store.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "npy.h"

int store_grow(const struct store *s, const char *name, const struct store_file_id *id,
               const struct meta *from, const struct meta *to, char *err, size_t errlen)
{
    uint8_t header[NPY_HEADER_LEN];
    const char *step;
    int fd, r;

    r = npy_header_format(to, header);
    if (r < 0 || from->offset != NPY_HEADER_LEN) {
        snprintf(err, errlen, "cannot describe %s in a .npy header", name);
        return -EINVAL;
    }
    r = store_reopen(s, name, id, O_RDWR, &fd);
    if (r < 0) {
        snprintf(err, errlen, "cannot reopen the file of %s: %s", name, strerror(-r));
        return r;
    }
    /* The space first, durable: a crash from here on leaves the old header over a
     * longer file, the old array (the blocks beyond count as grown, growth.h). */
    step = "reserve space for";
    r = -posix_fallocate(fd, 0, (off_t)(to->offset + to->nbytes));
    if (r == 0 && fsync(fd) < 0)
        r = -errno;
    if (r < 0)
        goto fail;
    store_fault(s, "grow-reserved");
    /* The commit: one write of the whole header, whose text (under 512 bytes for up
     * to about 20 dimensions) lies within one sector and one page. */
    step = "write the header of";
    r = pwrite(fd, header, sizeof(header), 0) == (ssize_t)sizeof(header) ? 0 : -EIO;
    if (r < 0)
        goto fail;
    store_fault(s, "grow-written");
    step = "flush";
    if (fsync(fd) < 0) {
        r = -errno;
        goto fail;
    }
    store_fault(s, "grow-done");
    close(fd);
    return 0;

fail:
    close(fd);
    if (r == -ENOSPC || r == -EFBIG || r == -EDQUOT) {
        r = -ENOSPC;
        snprintf(err, errlen, "no space in %s for %llu more bytes of %s", s->path,
                 (unsigned long long)(to->nbytes - from->nbytes), name);
    } else {
        snprintf(err, errlen, "cannot %s %s in %s: %s", step, name, s->path, strerror(-r));
    }
    return r;
}
