/* npy.h — the .npy v1.0 header that starts every array's bytes.
 *
 * The header is padded with spaces so the data begins at PROTO_DATA_OFFSET (4096),
 * page aligned, which numpy.load(path, mmap_mode='r') reads without help. Parsing
 * accepts any .npy version 1.0-3.0 header and is safe on hostile bytes.
 */
#ifndef PROTO_NPY_H
#define PROTO_NPY_H

#include <stddef.h>
#include <stdint.h>

#include "meta.h"

#define NPY_HEADER_LEN PROTO_DATA_OFFSET

/* Write the 4096-byte header for m's dtype, order, ndim and shape into out.
 * Returns 0, or -EINVAL if m's dtype/shape cannot be described. */
int npy_header_format(const struct meta *m, uint8_t out[NPY_HEADER_LEN]);

/* Parse a header from the first len bytes of a file. On success fills m->dtype,
 * m->order, m->ndim, m->shape, m->nbytes (other fields untouched), sets
 * *ret_offset to where the data starts and returns 0. A record's description is
 * written canonical into text, the caller's, and m->dtype.descr points there (text
 * NULL: it must be canonical in buf, and m->dtype.descr points into buf). Returns
 * -EINVAL (not a .npy header, or one sharr cannot represent, e.g. an object dtype)
 * with a message in err, or -EAGAIN if len is too short to hold the whole header. */
int npy_header_parse(const uint8_t *buf, size_t len, struct meta *m, struct dtype_text *text,
                     uint64_t *ret_offset, char *err, size_t errlen);

#endif
