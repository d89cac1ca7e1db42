/* dtype.h — element types, as numpy's array-interface type strings.
 *
 * Parses what a user writes ("<f4", "float32", "f4", "uint8", "|S10") into one
 * canonical typestr with its item size. No numpy is needed; only fixed-size types.
 */
#ifndef PROTO_DTYPE_H
#define PROTO_DTYPE_H

#include <stdint.h>

#include "limits.h"

struct dtype {
    char str[PROTO_DTYPE_MAX + 1]; /* canonical typestr: "<f4", "|u1", "|b1", "|S10" */
    uint64_t itemsize;              /* bytes per element, >= 1 */
};

/* Parse a typestr (byte order '<', '>', '|' or '='; kinds b i u f c S U V m M) or a
 * numpy name (bool, int8..int64, uint8..uint64, float16..float64, complex64,
 * complex128, and their short forms). '=' and names take the host byte order; one-byte
 * types get '|'. Returns 0 and fills *out, or -EINVAL (out untouched). */
int dtype_parse(const char *in, struct dtype *out);

#endif
