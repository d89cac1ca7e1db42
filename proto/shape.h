/* shape.h — overflow-checked size arithmetic of an N-dimensional array.
 */
#ifndef PROTO_SHAPE_H
#define PROTO_SHAPE_H

#include <stdint.h>

/* The data bytes of an array of ndim dimensions: product of shape times itemsize
 * (ndim 0, numpy's 0-d array, is one element; shape may then be NULL).
 * Returns 0 and sets *ret_nbytes; -EINVAL if ndim is above PROTO_NDIM_MAX, a
 * dimension is 0 or itemsize is 0; -EOVERFLOW if the product overflows or exceeds
 * PROTO_ARRAY_BYTES_MAX. */
int shape_nbytes(uint32_t ndim, const uint64_t *shape, uint64_t itemsize,
                 uint64_t *ret_nbytes);

#endif
