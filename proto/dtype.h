/* dtype.h — element types, as numpy's array-interface type strings.
 *
 * Parses what a user writes ("<f4", "float32", "f4", "uint8", "|S10") into one
 * canonical typestr with its item size. No numpy is needed; only fixed-size types.
 * A record (structured) dtype is numpy's list form, the 'descr' numpy writes in a
 * .npy header ("[('x', '<f4'), ('y', '<i8')]"); its typestr is then "|V<itemsize>".
 *
 * struct dtype holds a record's description by reference, so that the many plain
 * arrays do not carry 3.5 KB of unused text each: descr is a view, never freed through
 * the dtype. Its lifetime is its owner's, and each owner says so where it keeps one:
 * a parser points it into its input (the decoded message, the .npy header) or into a
 * text buffer its caller passes; whoever keeps a dtype longer than that makes its own
 * copy with dtype_own and frees it with dtype_own_free, or with dtype_keep into a
 * struct dtype_text of its own.
 */
#ifndef PROTO_DTYPE_H
#define PROTO_DTYPE_H

#include <stddef.h>
#include <stdint.h>

#include "proto_limits.h"

struct dtype {
    char str[PROTO_DTYPE_MAX + 1]; /* canonical typestr: "<f4", "|u1", "|b1", "|S10";
                                    * a record's is "|V<itemsize>" */
    uint64_t itemsize;              /* bytes per element, >= 1 */
    const char *descr;              /* a record: its list form as numpy prints it
                                     * (repr(dtype.descr)), descr_len bytes, not
                                     * NUL-terminated unless dtype_own made it; NULL for
                                     * every other type. Borrowed: see above. */
    uint32_t descr_len;             /* bytes at descr, 1..PROTO_DESCR_MAX; 0 when NULL */
};

/* Where a parser writes a record's canonical description when its input may not be. */
struct dtype_text {
    char s[PROTO_DESCR_MAX + 1];
};

/* Parse a typestr (byte order '<', '>', '|' or '='; kinds b i u f c S U V m M), a
 * numpy name (bool, int8..int64, uint8..uint64, float16..float64, complex64,
 * complex128, and their short forms), or a record's list form (dtype_parse_descr).
 * '=' and names take the host byte order; one-byte types get '|'. A record's list form
 * must be canonical here (as dtype_parse_descr writes it), and out->descr then points
 * into in. Returns 0 and fills *out, or -EINVAL (out untouched). */
int dtype_parse(const char *in, struct dtype *out);

/* Parse the record description that starts at in[0] ('[') within len bytes: numpy's
 * list form, [(name, type) or (name, type, shape), ...], where type is a typestr or a
 * nested list and shape a tuple of positive integers (a subarray). Python's literal
 * syntax: either quote, any spaces, trailing commas. Names are printable ASCII without
 * quotes or backslashes, unique within their record; '' only names padding (a plain
 * '|V<n>'). Limits: PROTO_DESCR_MAX bytes of canonical text, PROTO_DESCR_DEPTH_MAX
 * levels, PROTO_DESCR_FIELDS_MAX fields, an item size of 1..2^31-1 bytes. No object
 * types, no titles. Bounded: recursion only to the depth limit, no allocation. Writes
 * the canonical text (as numpy prints it) into text and points out->descr at it; text
 * NULL: the input must be canonical already (what every parser passes on, e.g. a
 * reply from sharrd), and out->descr points into in. Fills out->str with "|V<n>" and
 * out->itemsize, sets *ret_used to the bytes consumed (ret_used NULL: the whole of len
 * must be the list) and returns 0; else -EINVAL with the reason in err (out
 * untouched). */
int dtype_parse_descr(const char *in, size_t len, struct dtype *out, struct dtype_text *text,
                      size_t *ret_used, char *err, size_t errlen);

/* Make dt's description dt's own: a NUL-terminated heap copy replaces the view (a
 * dtype without one is left as it is). The owner frees it with dtype_own_free before
 * it forgets dt, and copies dt by value only as a view it does not free. 0 or
 * -ENOMEM (dt untouched). */
int dtype_own(struct dtype *dt);

/* Make dt's description live as long as text, the caller's: copied there (with a NUL)
 * and the view pointed at it. For a caller that keeps a dtype on its stack past the
 * buffer it was parsed from; a dtype without one is left as it is. */
void dtype_keep(struct dtype *dt, struct dtype_text *text);

/* Free the copy dtype_own made of dt's description and clear the view; a dtype
 * without a description is left as it is. Only for a dtype whose descr is NULL or
 * dtype_own's. */
void dtype_own_free(struct dtype *dt);

#endif
