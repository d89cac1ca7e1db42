/* scan.h — an allocation-free check of msgpack bytes before anything unpacks them.
 *
 * msgpack-c's unpacker allocates for a container header before its elements arrive,
 * so hostile bytes could ask it for gigabytes. scan_object walks the bytes with a
 * fixed stack, checking that every length fits the frame limit and nesting stays
 * within the depth limit, and tells where the first complete object ends.
 */
#ifndef PROTO_SCAN_H
#define PROTO_SCAN_H

#include <stddef.h>
#include <stdint.h>

/* Scan the first msgpack object in buf[0..len).
 *   1        a complete object of *ret_len bytes (<= max_len) starts at buf;
 *   0        the bytes so far are a valid prefix shorter than max_len: feed more;
 *  -E2BIG    the object is or would be longer than max_len (a container or string
 *            header claims more than max_len could hold counts as such at once);
 *  -ELOOP    nesting deeper than max_depth (max_depth <= 32);
 *  -EBADMSG  bytes that are not msgpack (0xc1).
 * Never allocates; reads at most min(len, max_len) bytes. */
int scan_object(const uint8_t *buf, size_t len, size_t max_len, unsigned max_depth,
                size_t *ret_len);

#endif
