/* transfer.c — chunked import into and export out of sharrd's arrays, and the move
 * of a .npy file into the store.
 *
 * Import reads the source with pread into one TRANSFER_CHUNK buffer and pwrites
 * it at the new array's data offset + position into its descriptor (not mapped);
 * holes of a sparse source (SEEK_DATA) and all-zero chunks are skipped because a
 * new array is all zeros. Export copies the descriptor's bytes, which are already a
 * .npy file, to a temporary file and renames it. The progress bar redraws at most
 * once per percent.
 */
#include "transfer.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>


struct transfer_bar {
    FILE *out;
    const char *what;
    uint64_t total;
    int shown;        /* last percent drawn, -1 before the first */
};

static void transfer_bar_show(struct transfer_bar *b, uint64_t done)
{
    int pct = b->total ? (int)(done * 100 / b->total) : 100;

    if (b->out == NULL || pct == b->shown)
        return;
    b->shown = pct;
    fprintf(b->out, "\r%s: %3d%% of %" PRIu64 " MiB", b->what, pct, b->total >> 20);
    if (pct == 100)
        fputc('\n', b->out);
    fflush(b->out);
}

static bool transfer_is_zero(const unsigned char *p, size_t n)
{
    return n == 0 || (p[0] == 0 && memcmp(p, p + 1, n - 1) == 0);
}

static int transfer_fail(int r, char *err, size_t errlen, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

static int transfer_fail(int r, char *err, size_t errlen, const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(err, errlen, fmt, ap);
    va_end(ap);
    return r;
}

/* Read exactly n bytes at off; -EIO at a premature end. */
static int transfer_pread(int fd, void *buf, size_t n, uint64_t off)
{
    size_t got = 0;

    while (got < n) {
        ssize_t k = pread(fd, (char *)buf + got, n - got, (off_t)(off + got));

        if (k < 0 && errno == EINTR)
            continue;
        if (k < 0)
            return -errno;
        if (k == 0)
            return -EIO;
        got += (size_t)k;
    }
    return 0;
}

static int transfer_pwrite(int fd, const void *buf, size_t n, uint64_t off)
{
    size_t put = 0;

    while (put < n) {
        ssize_t k = pwrite(fd, (const char *)buf + put, n - put, (off_t)(off + put));

        if (k < 0 && errno == EINTR)
            continue;
        if (k < 0)
            return -errno;
        put += (size_t)k;
    }
    return 0;
}

/* The dtype, shape, order and data offset of the .npy file fd, into *ret, and its dtype
 * as sharr_create takes it (a record's description, or the typestr) into descr. */
static int transfer_npy_header(int fd, const char *path, uint64_t size, struct sharr_info *ret,
                               char descr[SHARR_DESCR_MAX + 1], char *err, size_t errlen)
{
    size_t n = size < SHARR_NPY_HEADER_MAX ? (size_t)size : SHARR_NPY_HEADER_MAX;
    uint8_t *buf = malloc(n ? n : 1);
    int r;

    if (buf == NULL)
        return transfer_fail(-ENOMEM, err, errlen, "out of memory");
    r = transfer_pread(fd, buf, n, 0);
    if (r < 0) {
        free(buf);
        return transfer_fail(r, err, errlen, "cannot read %s: %s", path, strerror(-r));
    }
    r = sharr_npy_describe(buf, n, ret, descr, SHARR_DESCR_MAX + 1);
    free(buf);
    if (r == -EAGAIN || r == -EINVAL)
        return transfer_fail(-EINVAL, err, errlen, "%s is not a .npy file sharr can hold: %s "
                             "(for raw data give --dtype and --shape)", path,
                             sharr_last_error());
    return r;
}

/* Copy nbytes from src at soff to dst at doff, skipping what is zero. */
static int transfer_copy(int src, uint64_t soff, int dst, uint64_t doff, uint64_t nbytes,
                         struct transfer_bar *bar, bool sparse_dst, char *err, size_t errlen)
{
    unsigned char *buf = malloc(TRANSFER_CHUNK);
    uint64_t pos = 0;
    int r = 0;

    if (buf == NULL)
        return transfer_fail(-ENOMEM, err, errlen, "out of memory");
    while (pos < nbytes) {
        size_t n = nbytes - pos < TRANSFER_CHUNK ? (size_t)(nbytes - pos) : TRANSFER_CHUNK;
        off_t data = lseek(src, (off_t)(soff + pos), SEEK_DATA);

        /* A hole of the source reads as zeros: jump whole chunks of it. */
        if (data < 0 && errno == ENXIO)
            break;
        if (data >= 0 && (uint64_t)data >= soff + pos + TRANSFER_CHUNK) {
            uint64_t skip = ((uint64_t)data - soff - pos) / TRANSFER_CHUNK * TRANSFER_CHUNK;

            pos = skip < nbytes - pos ? pos + skip : nbytes;
            transfer_bar_show(bar, pos);
            continue;
        }
        r = transfer_pread(src, buf, n, soff + pos);
        if (r < 0) {
            transfer_fail(r, err, errlen, "reading at byte %" PRIu64 ": %s", soff + pos,
                          r == -EIO ? "the file ends early" : strerror(-r));
            break;
        }
        if (!sparse_dst || !transfer_is_zero(buf, n)) {
            r = transfer_pwrite(dst, buf, n, doff + pos);
            if (r < 0) {
                transfer_fail(r, err, errlen, "writing at byte %" PRIu64 ": %s", doff + pos,
                              strerror(-r));
                break;
            }
        }
        pos += n;
        transfer_bar_show(bar, pos);
    }
    if (r == 0)
        transfer_bar_show(bar, nbytes);
    free(buf);
    return r;
}

int transfer_import(sharr_t *conn, const char *path, const char *name,
                    const struct transfer_import *how, char *err, size_t errlen)
{
    struct sharr_create_opts opts = how->opts;
    struct transfer_bar bar = { how->progress, name, 0, -1 };
    const struct sharr_info *info;
    sharr_array_t *a = NULL;
    uint64_t offset = how->offset, avail;
    struct stat st;
    struct sharr_info m;
    char descr[SHARR_DESCR_MAX + 1];
    int fd, r;

    fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
    if (fd < 0)
        return transfer_fail(-errno, err, errlen, "cannot open %s: %s", path, strerror(errno));
    if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)) {
        r = transfer_fail(-EINVAL, err, errlen, "%s is not a regular file", path);
        goto out;
    }
    memset(&m, 0, sizeof(m));
    if (how->dtype == NULL) {
        r = transfer_npy_header(fd, path, (uint64_t)st.st_size, &m, descr, err, errlen);
        if (r < 0)
            goto out;
        offset = m.offset;
        opts.order = m.order;
    } else {
        m.ndim = how->ndim;
        memcpy(m.shape, how->shape, sizeof(m.shape));
        opts.order = how->order ? how->order : 'C';
    }
    opts.flags = SHARR_F_NOMAP;
    r = sharr_create(conn, name, how->dtype ? how->dtype : descr, m.ndim, m.shape,
                     &opts, &a);
    if (r < 0) {
        transfer_fail(r, err, errlen, "%s", sharr_last_error());
        goto out;
    }
    info = sharr_array_info(a);
    avail = (uint64_t)st.st_size > offset ? (uint64_t)st.st_size - offset : 0;
    if (avail != info->nbytes) {
        r = transfer_fail(-EINVAL, err, errlen, "%s holds %" PRIu64 " bytes of data after byte "
                          "%" PRIu64 "; %s of that shape needs %" PRIu64, path, avail, offset,
                          info->dtype, info->nbytes);
        goto fail;
    }
    bar.total = info->nbytes;
    posix_fadvise(fd, 0, 0, POSIX_FADV_SEQUENTIAL);
    r = transfer_copy(fd, offset, sharr_array_fd(a), info->offset, info->nbytes, &bar, true,
                      err, errlen);
    if (r == 0 && info->persist && (r = sharr_sync(a)) < 0)
        transfer_fail(r, err, errlen, "%s", sharr_last_error());
    if (r == 0)
        goto out;
fail:
    sharr_unlink(conn, name);
out:
    if (a != NULL)
        sharr_close(a);
    close(fd);
    return r;
}

int transfer_export(sharr_t *conn, const char *name, const char *path, int force,
                    const uint32_t *owner, FILE *progress, char *err, size_t errlen)
{
    struct sharr_open_opts oo = { .size = sizeof(oo), .flags = SHARR_F_NOMAP | (owner ? SHARR_F_OWNER : 0),
                                  .owner = owner ? *owner : 0 };
    struct transfer_bar bar = { progress, name, 0, -1 };
    const struct sharr_info *info;
    sharr_array_t *a = NULL;
    char *tmp = NULL;
    struct stat st;
    mode_t mask;
    int fd = -1, r;

    if (!force && lstat(path, &st) == 0)
        return transfer_fail(-EEXIST, err, errlen, "%s exists (--force replaces it)", path);
    r = sharr_open(conn, name, "r", &oo, &a);
    if (r < 0)
        return transfer_fail(r, err, errlen, "%s", sharr_last_error());
    info = sharr_array_info(a);
    tmp = malloc(strlen(path) + 16);
    if (tmp == NULL) {
        r = transfer_fail(-ENOMEM, err, errlen, "out of memory");
        goto out;
    }
    sprintf(tmp, "%s.partXXXXXX", path);
    fd = mkostemp(tmp, O_CLOEXEC);
    if (fd < 0) {
        r = transfer_fail(-errno, err, errlen, "cannot create %s: %s", tmp, strerror(errno));
        free(tmp);
        tmp = NULL;
        goto out;
    }
    bar.total = info->offset + info->nbytes;
    r = transfer_copy(sharr_array_fd(a), 0, fd, 0, info->offset + info->nbytes, &bar, true,
                      err, errlen);
    /* Skipped zeros at the end still count: the file gets its full size. */
    if (r == 0 && ftruncate(fd, (off_t)(info->offset + info->nbytes)) < 0)
        r = transfer_fail(-errno, err, errlen, "cannot size %s: %s", tmp, strerror(errno));
    mask = umask(0);
    umask(mask);
    if (r == 0 && fchmod(fd, 0666 & ~mask) < 0)
        r = transfer_fail(-errno, err, errlen, "cannot chmod %s: %s", tmp, strerror(errno));
    if (r == 0 && fsync(fd) < 0)
        r = transfer_fail(-errno, err, errlen, "cannot write %s: %s", tmp, strerror(errno));
    if (r == 0 && rename(tmp, path) < 0)
        r = transfer_fail(-errno, err, errlen, "cannot rename %s to %s: %s", tmp, path,
                          strerror(errno));
out:
    if (fd >= 0)
        close(fd);
    if (tmp != NULL && r < 0)
        unlink(tmp);
    free(tmp);
    sharr_close(a);
    return r;
}

int transfer_move(sharr_t *conn, const char *path, const char *name,
                  const struct sharr_create_opts *opts, struct sharr_info *ret_info,
                  int *ret_unlink_err, char *err, size_t errlen)
{
    struct stat held, now;
    int fd, r;

    *ret_unlink_err = 0;
    /* O_RDWR shows the daemon that this user may write the file it will own. */
    fd = open(path, O_RDWR | O_NOFOLLOW | O_NOCTTY | O_CLOEXEC);
    if (fd < 0) {
        r = -errno;
        return transfer_fail(r, err, errlen, "cannot open %s for reading and writing: %s",
                             path, strerror(-r));
    }
    r = sharr_adopt(conn, name, fd, opts, ret_info);
    if (r < 0) {
        close(fd);
        return transfer_fail(r, err, errlen, "%s", sharr_last_error());
    }
    /* The store holds the file's other name now. Remove this one only if it still
     * names the file that was sent. */
    if (fstat(fd, &held) < 0 || lstat(path, &now) < 0)
        *ret_unlink_err = errno;
    else if (held.st_dev != now.st_dev || held.st_ino != now.st_ino)
        *ret_unlink_err = ESTALE;
    else if (unlink(path) < 0)
        *ret_unlink_err = errno;
    close(fd);
    return 0;
}
