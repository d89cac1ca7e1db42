/* descriptors.c — the descriptions each client was handed (descriptors.h): found in
 * or reopened into its session's cache, queued with replies as the array they are
 * of, and given up when the array goes, the connection closes or the daemon runs out
 * of descriptors. How the bytes and descriptors travel is conn.c's.
 */
#include "descriptors.h"

#include <errno.h>

#include "daemon.h"
#include "session.h"

int descriptors_get(struct conn *c, struct registry_array *a, enum meta_mode mode,
                    int *ret_fd)
{
    struct fdcache *descs = &session_of(c)->descs;
    int fd = fdcache_find(descs, a, mode);
    int r;

    if (fd >= 0) {
        *ret_fd = fd;
        return 0;
    }
    if (c->closing)
        return -EPIPE;
    r = registry_descriptor(&daemon_of(c)->store, daemon_of(c)->procfd, a, mode, &fd);
    if ((r == -EMFILE || r == -ENFILE) && descriptors_drop_all(daemon_of(c), NULL) > 0)
        r = registry_descriptor(&daemon_of(c)->store, daemon_of(c)->procfd, a, mode, &fd);
    if (r < 0)
        return r;
    conn_release_fd(c, fdcache_put(descs, a, mode, fd));
    *ret_fd = fd;
    return 0;
}

void descriptors_put(struct conn *c, struct registry_array *a, enum meta_mode mode, int fd)
{
    conn_release_fd(c, fdcache_put(&session_of(c)->descs, a, mode, fd));
}

int descriptors_send(struct conn *c, char *data, size_t len, struct registry_array *a,
                     enum meta_mode mode)
{
    registry_ref(a); /* the queued reply's, let go through descriptors_out_unref */
    return conn_send_ref(c, data, len, a, (int)mode);
}

int descriptors_out_fd(struct conn *c, void *ref, int tag, int *ret_fd)
{
    return descriptors_get(c, ref, (enum meta_mode)tag, ret_fd);
}

void descriptors_out_unref(void *ref)
{
    registry_unref(ref);
}

size_t descriptors_drop(struct conn *c, const struct registry_array *a)
{
    enum meta_mode mode;
    size_t n = 0;
    int fd;

    while ((fd = fdcache_take(&session_of(c)->descs, a, &mode)) >= 0) {
        /* The replies still queued for a removed persistent array could not reopen it
         * by name any more: they take fd with them, while c pins few enough. */
        if (!a || !a->meta.persist || c->pinned >= DESCRIPTORS_PINNED_MAX
            || !conn_pin(c, a, (int)mode, fd))
            conn_release_fd(c, fd);
        n++;
    }
    return n;
}

size_t descriptors_drop_all(struct daemon *d, const struct registry_array *a)
{
    size_t n = 0;

    for (struct conn *c = d->conns.head; c; c = c->next)
        n += descriptors_drop(c, a);
    return n;
}
