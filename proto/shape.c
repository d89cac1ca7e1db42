/* shape.c — the byte size of an array, computed without silent overflow.
 *
 * Every size the daemon reserves and every mapping a client makes comes from
 * shape_nbytes, so a hostile shape can never wrap around to a small allocation.
 */
#include "shape.h"

#include <errno.h>
#include <stddef.h>

#include "proto_limits.h"

int shape_nbytes(uint32_t ndim, const uint64_t *shape, uint64_t itemsize,
                 uint64_t *ret_nbytes)
{
    uint64_t total = itemsize;

    /* ndim 0 is numpy's 0-d array: one element, and no dimension to read. */
    if (ndim > PROTO_NDIM_MAX || (shape == NULL && ndim > 0) || itemsize == 0)
        return -EINVAL;
    for (uint32_t i = 0; i < ndim; i++) {
        if (shape[i] == 0)
            return -EINVAL;
    }
    /* All dimensions are checked for zero first, so the result does not depend on
     * whether an overflow happens to come before a zero dimension. */
    for (uint32_t i = 0; i < ndim; i++) {
        if (__builtin_mul_overflow(total, shape[i], &total))
            return -EOVERFLOW;
        if (total > PROTO_ARRAY_BYTES_MAX)
            return -EOVERFLOW;
    }
    *ret_nbytes = total;
    return 0;
}
