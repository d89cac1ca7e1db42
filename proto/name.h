/* name.h — what an array name may be.
 *
 * A name is 1..PROTO_NAME_MAX bytes of [A-Za-z0-9._-], not starting with '.'. Such a
 * name is also a safe file name, which the stores rely on.
 */
#ifndef PROTO_NAME_H
#define PROTO_NAME_H

#include <stddef.h>

/* 0 if the len bytes at name form a valid name (embedded NULs are invalid);
 * -ENAMETOOLONG if longer than PROTO_NAME_MAX; -EINVAL otherwise. */
int name_check(const char *name, size_t len);

#endif
