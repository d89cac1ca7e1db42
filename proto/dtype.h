/* dtype.h — element types, as numpy's array-interface type strings.
 *
 * Parses what a user writes ("<f4", "float32", "f4", "uint8", "|S10") into one
 * canonical typestr with its item size. No numpy is needed; only fixed-size types.
 * A record (structured) dtype is numpy's list form, the 'descr' numpy writes in a
 * .npy header ("[('x', '<f4'), ('y', '<i8')]"); its typestr is then "|V<itemsize>".
 */
#ifndef PROTO_DTYPE_H
#define PROTO_DTYPE_H

#include <stddef.h>
#include <stdint.h>

#include "limits.h"

struct dtype {
    char str[PROTO_DTYPE_MAX + 1]; /* canonical typestr: "<f4", "|u1", "|b1", "|S10";
                                    * a record's is "|V<itemsize>" */
    uint64_t itemsize;              /* bytes per element, >= 1 */
    char descr[PROTO_DESCR_MAX + 1]; /* a record: its list form as numpy prints it
                                      * (repr(dtype.descr)); "" for every other type */
};

/* Parse a typestr (byte order '<', '>', '|' or '='; kinds b i u f c S U V m M), a
 * numpy name (bool, int8..int64, uint8..uint64, float16..float64, complex64,
 * complex128, and their short forms), or a record's list form (dtype_parse_descr).
 * '=' and names take the host byte order; one-byte types get '|'. Returns 0 and fills
 * *out, or -EINVAL (out untouched). */
int dtype_parse(const char *in, struct dtype *out);

/* Parse the record description that starts at in[0] ('[') within len bytes: numpy's
 * list form, [(name, type) or (name, type, shape), ...], where type is a typestr or a
 * nested list and shape a tuple of positive integers (a subarray). Python's literal
 * syntax: either quote, any spaces, trailing commas. Names are printable ASCII without
 * quotes or backslashes, unique within their record; '' only names padding (a plain
 * '|V<n>'). Limits: PROTO_DESCR_MAX bytes of canonical text, PROTO_DESCR_DEPTH_MAX
 * levels, PROTO_DESCR_FIELDS_MAX fields, an item size of 1..2^31-1 bytes. No object
 * types, no titles. Bounded: recursion only to the depth limit, no allocation. Fills
 * out->descr with the canonical text (as numpy prints it), out->str with "|V<n>" and
 * out->itemsize, sets *ret_used to the bytes consumed (ret_used NULL: the whole of len
 * must be the list) and returns 0; else -EINVAL with the reason in err (out
 * untouched). */
int dtype_parse_descr(const char *in, size_t len, struct dtype *out, size_t *ret_used,
                      char *err, size_t errlen);

#endif
