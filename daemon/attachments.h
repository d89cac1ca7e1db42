/* attachments.h — the attachments one connection holds, in a hash table keyed by
 * handle: adding one, and finding or taking one by its handle, cost the same however
 * many the connection holds, and the table shrinks as they go.
 *
 * Only the bookkeeping; the registry makes and ends attachments (registry_attach,
 * registry_detach) and session.c applies the limits.
 */
#ifndef DAEMON_ATTACHMENTS_H
#define DAEMON_ATTACHMENTS_H

#include <stddef.h>
#include <stdint.h>

#include "registry.h"

struct attachments {
    struct registry_attach *slots; /* open addressing; handle 0 marks an empty slot */
    size_t cap;                    /* 0 or a power of two, at most half full */
    size_t n;
};

/* Free the table (not the attachments: detach them first). t is empty after. */
void attachments_free(struct attachments *t);

/* Add att (its handle is non-zero and new to t). 0 or -ENOMEM. */
int attachments_add(struct attachments *t, const struct registry_attach *att);

/* Take the attachment named handle out into *ret. 0 or -EBADF when t has none. */
int attachments_take(struct attachments *t, uint64_t handle, struct registry_attach *ret);

/* The attachment named handle, or NULL when t has none; valid until t changes. */
const struct registry_attach *attachments_find(const struct attachments *t, uint64_t handle);

/* Walk t: the first attachment in a slot at or after *pos, or NULL at the end; *pos
 * moves past it. Start with *pos = 0; t must not change during the walk. */
const struct registry_attach *attachments_next(const struct attachments *t, size_t *pos);

#endif
