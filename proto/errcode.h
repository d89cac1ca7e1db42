/* errcode.h — errno values as the stable strings that travel in error replies.
 *
 * The wire never carries errno numbers (they differ between platforms); it carries
 * the symbolic name ("ENOENT"). This file maps one to the other and nothing else.
 */
#ifndef PROTO_ERRCODE_H
#define PROTO_ERRCODE_H

#include <stddef.h>

/* The symbolic name of a negative (or positive) errno, e.g. -ENOENT -> "ENOENT".
 * Unknown values map to "EIO". Never NULL; the string is static. */
const char *errcode_name(int err);

/* The negative errno named by the first len bytes of name; -EIO when unknown. */
int errcode_parse(const char *name, size_t len);

#endif
