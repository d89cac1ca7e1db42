/* transfer.h — move arrays between files and sharrd for the sharr command: import
 * a .npy file (dtype, shape and order from its header) or a raw file of a known
 * dtype and shape, move a .npy file into the daemon's store without copying it, and
 * export an array as a .npy file.
 *
 * Data moves in fixed-size chunks with pread/pwrite on the array's descriptor,
 * never through a mapping of the whole array, so memory use stays at one chunk
 * whatever the size. All-zero chunks are skipped (a new array is already zero and
 * an exported file gets a hole). Uses only the public API of libsharr (sharr.h, whose
 * sharr_npy_parse reads .npy headers); reports errors with a message and never prints
 * on success unless asked for progress.
 */
#ifndef CLI_TRANSFER_H
#define CLI_TRANSFER_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "sharr.h"

#define TRANSFER_CHUNK (1u << 20) /* bytes copied per read/write */

struct transfer_import {
    const char *dtype;      /* raw file: numpy type; NULL reads a .npy header */
    int ndim;               /* raw file: the shape */
    uint64_t shape[SHARR_NDIM_MAX];
    char order;             /* raw file: 'C' (default when 0) or 'F' */
    uint64_t offset;        /* raw file: where the data starts */
    struct sharr_create_opts opts; /* persist, perm, overwrite (from
                                    * SHARR_CREATE_OPTS_INIT) */
    FILE *progress;         /* a progress bar goes here, or NULL */
};

/* Create the array name and fill it from path. On failure the array is removed
 * again. Returns 0, or a negative errno with a message in err. */
int transfer_import(sharr_t *conn, const char *path, const char *name,
                    const struct transfer_import *how, char *err, size_t errlen);

/* Make the .npy file at path the persistent array name without copying it: open it
 * O_RDWR|O_NOFOLLOW, hand it to the daemon (sharr_adopt) and, once the daemon holds
 * it, remove path (only if it still names that file). Returns 0 with *ret_info set,
 * or a negative errno with a message in err; *ret_unlink_err is 0, or the errno of a
 * failed removal of path after the array was made (the file then has two names). */
int transfer_move(sharr_t *conn, const char *path, const char *name,
                  const struct sharr_create_opts *opts, struct sharr_info *ret_info,
                  int *ret_unlink_err, char *err, size_t errlen);

/* Write the array name to path as a .npy file, created through a temporary file
 * in the same directory and renamed into place (an existing path is replaced only
 * with force). owner: the uid the array must belong to (SHARR_F_OWNER), or NULL.
 * Returns 0, or a negative errno with a message in err. */
int transfer_export(sharr_t *conn, const char *name, const char *path, int force,
                    const uint32_t *owner, FILE *progress, char *err, size_t errlen);

#endif
