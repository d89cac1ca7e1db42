/* fdcache.c — a connection's least-recently-used descriptors by (array, mode).
 *
 * FDCACHE_SIZE is small, so every lookup is a linear scan of the slots; a slot's
 * age is the value of a per-cache counter when it was last used.
 */
#include "fdcache.h"

#include <string.h>

void fdcache_init(struct fdcache *fc)
{
    memset(fc, 0, sizeof(*fc));
    for (int i = 0; i < FDCACHE_SIZE; i++)
        fc->e[i].fd = -1;
}

int fdcache_find(struct fdcache *fc, const struct registry_array *a, enum meta_mode mode)
{
    for (int i = 0; i < FDCACHE_SIZE; i++) {
        struct fdcache_entry *e = &fc->e[i];

        if (e->array == a && e->mode == mode) {
            e->used = ++fc->clock;
            return e->fd;
        }
    }
    return -1;
}

/* Empty the slot e; returns its descriptor. */
static int fdcache_clear(struct fdcache_entry *e)
{
    int fd = e->fd;

    registry_unref(e->array);
    e->array = NULL;
    e->fd = -1;
    return fd;
}

int fdcache_put(struct fdcache *fc, struct registry_array *a, enum meta_mode mode, int fd)
{
    struct fdcache_entry *e = &fc->e[0];
    int old = -1;

    /* A free slot if there is one (used 0), else the least recently used. */
    for (int i = 1; i < FDCACHE_SIZE && e->array; i++) {
        if (!fc->e[i].array || fc->e[i].used < e->used)
            e = &fc->e[i];
    }
    if (e->array)
        old = fdcache_clear(e);
    registry_ref(a);
    *e = (struct fdcache_entry){ .array = a, .mode = mode, .fd = fd, .used = ++fc->clock };
    return old;
}

int fdcache_take(struct fdcache *fc, const struct registry_array *a, enum meta_mode *ret_mode)
{
    for (int i = 0; i < FDCACHE_SIZE; i++) {
        struct fdcache_entry *e = &fc->e[i];

        if (e->array && (!a || e->array == a)) {
            if (ret_mode)
                *ret_mode = e->mode;
            return fdcache_clear(e);
        }
    }
    return -1;
}
