/* tclient.c — a second, exec'ed client program for the integration tests.
 *
 * It knows nothing but what it is given on the command line and $SHARR_SOCKET: it
 * attaches to arrays by name, with no dtype or shape, the way an unrelated program
 * would. Exits 0 when every check passed, 1 on a failed check (with a message on
 * stderr), 2 on a usage error.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "sharr.h"

static int failf(const char *what, int rc)
{
    fprintf(stderr, "tclient: %s: %d %s (%s)\n", what, rc, sharr_strerror(rc),
            sharr_last_error());
    return 1;
}

static int read_file(const char *path, void *buf, size_t len)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return -errno;
    size_t got = 0;
    while (got < len) {
        ssize_t n = read(fd, (char *)buf + got, len - got);
        if (n <= 0) {
            close(fd);
            return n < 0 ? -errno : -EIO;
        }
        got += (size_t)n;
    }
    char extra;
    ssize_t n = read(fd, &extra, 1);
    close(fd);
    return n == 0 ? 0 : -EIO;
}

/* column NAME ROWS COLS FILE: NAME must be a C-order <f4 array of ROWS x COLS whose
 * last column equals, byte for byte, the ROWS floats in FILE. */
static int cmd_column(char **argv)
{
    const char *name = argv[0];
    uint64_t rows = strtoull(argv[1], NULL, 10), cols = strtoull(argv[2], NULL, 10);
    const char *file = argv[3];
    if (rows == 0 || cols == 0)
        return 2;

    float *want = malloc(rows * sizeof *want);
    if (want == NULL)
        return failf("malloc", -ENOMEM);
    int rc = read_file(file, want, rows * sizeof *want);
    if (rc < 0) {
        free(want);
        return failf(file, rc);
    }

    sharr_t *conn = NULL;
    sharr_array_t *arr = NULL;
    int result = 1;
    rc = sharr_connect(NULL, &conn);
    if (rc < 0) {
        failf("sharr_connect", rc);
        goto out;
    }
    rc = sharr_open(conn, name, "r", NULL, &arr);
    if (rc < 0) {
        failf("sharr_open", rc);
        goto out;
    }
    const struct sharr_info *info = sharr_array_info(arr);
    if (strcmp(info->dtype, "<f4") != 0 || info->itemsize != 4 || info->ndim != 2 ||
        info->shape[0] != rows || info->shape[1] != cols || info->order != 'C' ||
        info->nbytes != rows * cols * 4 || strcmp(sharr_array_mode(arr), "r") != 0) {
        fprintf(stderr,
                "tclient: %s is %s ndim %d shape (%" PRIu64 ", %" PRIu64 ") order %c "
                "nbytes %" PRIu64 " mode %s; want <f4 (%" PRIu64 ", %" PRIu64 ") C\n",
                name, info->dtype, info->ndim, info->shape[0], info->shape[1], info->order,
                info->nbytes, sharr_array_mode(arr), rows, cols);
        goto out;
    }
    const float *data = sharr_array_data(arr);
    if (data == NULL) {
        fprintf(stderr, "tclient: %s is not mapped\n", name);
        goto out;
    }
    for (uint64_t r = 0; r < rows; r++) {
        if (memcmp(&data[r * cols + cols - 1], &want[r], sizeof(float)) != 0) {
            fprintf(stderr, "tclient: %s[%" PRIu64 ", %" PRIu64 "] = %a, want %a\n", name, r,
                    cols - 1, (double)data[r * cols + cols - 1], (double)want[r]);
            goto out;
        }
    }
    result = 0;
out:
    if (arr != NULL && (rc = sharr_close(arr)) < 0)
        result = failf("sharr_close", rc);
    sharr_disconnect(conn);
    free(want);
    return result;
}

int main(int argc, char **argv)
{
    if (argc == 6 && strcmp(argv[1], "column") == 0)
        return cmd_column(argv + 2);
    fprintf(stderr, "usage: tclient column NAME ROWS COLS FILE\n");
    return 2;
}
