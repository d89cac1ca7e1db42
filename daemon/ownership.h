/* ownership.h — chmod and chown of an array: who may, and making the change last
 * (the persistent .meta, the fd store's record) with the quota following the owner.
 *
 * Descriptors already handed out keep the access they were opened with, as a
 * file's do; the new bits decide every open from now on.
 */
#ifndef DAEMON_OWNERSHIP_H
#define DAEMON_OWNERSHIP_H

#include <stddef.h>
#include <stdint.h>

#include "access.h"
#include "registry.h"

struct daemon;

/* Set a's permission bits (at most 0777) for peer, its owner or root. 0, or -EPERM,
 * -EINVAL or a store errno, with a message in err; a is unchanged on failure. */
int ownership_chmod(struct daemon *d, const struct access_peer *peer, struct registry_array *a,
                    uint32_t perm, char *err, size_t errlen);

/* Give a to another owner uid (root only) and/or group gid (its owner or root);
 * NULL leaves that one as it is. Same returns as ownership_chmod. */
int ownership_chown(struct daemon *d, const struct access_peer *peer, struct registry_array *a,
                    const uint32_t *uid, const uint32_t *gid, char *err, size_t errlen);

#endif
