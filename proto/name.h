/* name.h — what an array name may be, and which names belong to one user.
 *
 * A name is 1..PROTO_NAME_MAX bytes of [A-Za-z0-9._-], not starting with '.'. Such a
 * name is also a safe file name, which the stores rely on. A name that begins with
 * "uid", digits and a dot (NAME_USER_PREFIX) lies in that uid's own names.
 */
#ifndef PROTO_NAME_H
#define PROTO_NAME_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* The prefix of a user's own names: "uid" then the uid in decimal, then a dot. */
#define NAME_USER_PREFIX "uid"

/* 0 if the len bytes at name form a valid name (embedded NULs are invalid);
 * -ENAMETOOLONG if longer than PROTO_NAME_MAX; -EINVAL otherwise. */
int name_check(const char *name, size_t len);

/* Whether the NUL-terminated name lies in a user's own names: "uid", one or more
 * digits, '.', anything. If so, *ret_uid is the uid those digits write in canonical
 * decimal (no leading zero, below 2^32 - 1); digits that are no uid's canonical form
 * ("uid007.", "uid99999999999.") give 0, root's, so that no two spellings name the
 * same user's names. *ret_uid is untouched when the name is in no prefix. */
bool name_user_prefix(const char *name, uint32_t *ret_uid);

#endif
