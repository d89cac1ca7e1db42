/* storeid.c — the identity of a persistent store, kept as one line in `.store-id` in
 * its directory: `sharr-store 1 id=<16 hex digits> crc32c=<8 hex digits>\n`, the
 * checksum (record_crc32c) over what precedes it. Reads, verifies and, the first
 * time, draws and commits it; never touches an array's files.
 */
#include "storeid.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <uv.h>

#include "record.h"

#define STOREID_MAX 64

static size_t storeid_format(uint64_t id, char out[STOREID_MAX])
{
    int n = snprintf(out, STOREID_MAX, "sharr-store 1 id=%016" PRIx64 " ", id);
    uint32_t crc = record_crc32c(out, (size_t)n);

    n += snprintf(out + n, STOREID_MAX - (size_t)n, "crc32c=%08" PRIx32 "\n", crc);
    return (size_t)n;
}

/* 0 and *ret_id when the len bytes at text are exactly the line storeid_format
 * writes for a non-zero id; -EINVAL otherwise. */
static int storeid_parse(const char *text, size_t len, uint64_t *ret_id)
{
    char again[STOREID_MAX];
    uint64_t id;

    if (len < 31 || len >= STOREID_MAX || memchr(text, '\0', len) != NULL ||
        strncmp(text, "sharr-store 1 id=", 17) != 0)
        return -EINVAL;
    if (sscanf(text + 17, "%16" SCNx64, &id) != 1 || id == 0)
        return -EINVAL;
    if (storeid_format(id, again) != len || memcmp(again, text, len) != 0)
        return -EINVAL;
    *ret_id = id;
    return 0;
}

static int storeid_read(int dirfd, uint64_t *ret_id)
{
    char buf[STOREID_MAX];
    ssize_t n;
    int fd = openat(dirfd, STOREID_FILE, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);

    if (fd < 0)
        return -errno;
    do
        n = read(fd, buf, sizeof(buf));
    while (n < 0 && errno == EINTR);
    close(fd);
    if (n < 0)
        return -errno;
    return storeid_parse(buf, (size_t)n, ret_id);
}

static int storeid_write(int dirfd, uint64_t id)
{
    char line[STOREID_MAX];
    size_t len = storeid_format(id, line);
    ssize_t n;
    int r = 0, fd;

    if (unlinkat(dirfd, STOREID_TMP, 0) < 0 && errno != ENOENT)
        return -errno;
    fd = openat(dirfd, STOREID_TMP, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC,
                0600);
    if (fd < 0)
        return -errno;
    do
        n = write(fd, line, len);
    while (n < 0 && errno == EINTR);
    if (n < 0 || (size_t)n != len)
        r = n < 0 ? -errno : -EIO;
    else if (fsync(fd) < 0)
        r = -errno;
    close(fd);
    if (r == 0 && renameat(dirfd, STOREID_TMP, dirfd, STOREID_FILE) < 0)
        r = -errno;
    if (r == 0 && fsync(dirfd) < 0)
        r = -errno;
    if (r < 0)
        unlinkat(dirfd, STOREID_TMP, 0);
    return r;
}

int storeid_load(int dirfd, uint64_t *ret_id, int *ret_replaced, char *err, size_t errlen)
{
    uint64_t id = 0;
    int r = storeid_read(dirfd, &id);

    if (r == 0) {
        *ret_id = id;
        *ret_replaced = 0;
        return 0;
    }
    if (r != -ENOENT && r != -EINVAL) {
        snprintf(err, errlen, "cannot read %s: %s", STOREID_FILE, strerror(-r));
        return r;
    }
    do {  /* synchronous (no loop): the kernel's getrandom */
        int rr = uv_random(NULL, NULL, &id, sizeof(id), 0, NULL);
        if (rr < 0) {
            snprintf(err, errlen, "cannot draw the store's id: %s", uv_strerror(rr));
            return rr;
        }
    } while (id == 0);
    int w = storeid_write(dirfd, id);
    if (w < 0) {
        snprintf(err, errlen, "cannot write %s: %s", STOREID_FILE, strerror(-w));
        return w;
    }
    *ret_id = id;
    *ret_replaced = r == -EINVAL;
    return 0;
}
