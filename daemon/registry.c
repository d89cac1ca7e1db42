/* registry.c — sorted names, reference-counted arrays and attachments; a name
 * that becomes ready answers the opens waiting for it (waiters.c).
 */
#include "registry.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "procfd.h"

/* What the opens waiting for name are answered with: its array once ready. */
static void *registry_lookup_ready(void *arg, const char *name)
{
    struct registry_array *a = registry_find(arg, name);

    return a && a->ready ? a : NULL;
}

void registry_init(struct registry *reg, uv_loop_t *loop)
{
    memset(reg, 0, sizeof(*reg));
    reg->loop = loop;
    reg->next_handle = 1;
    waiters_init(&reg->waiters, loop, registry_lookup_ready, reg);
}

void registry_close(struct registry *reg)
{
    for (size_t i = 0; i < reg->n; i++) {
        reg->arrays[i]->named = false;
        registry_unref(reg->arrays[i]);
    }
    free(reg->arrays);
    reg->arrays = NULL;
    reg->n = reg->cap = 0;
}

/* Index of the first name >= name (strictly > when after is true). */
static size_t registry_bound(const struct registry *reg, const char *name, bool after)
{
    size_t lo = 0, hi = reg->n;

    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        int c = strcmp(reg->arrays[mid]->meta.name, name);
        if (c < 0 || (after && c == 0))
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo;
}

struct registry_array *registry_find(const struct registry *reg, const char *name)
{
    size_t i = registry_bound(reg, name, false);

    return i < reg->n && strcmp(reg->arrays[i]->meta.name, name) == 0 ? reg->arrays[i] : NULL;
}

size_t registry_after(const struct registry *reg, const char *after)
{
    return registry_bound(reg, after, true);
}

static int registry_grow(struct registry *reg)
{
    struct registry_array **arrays;
    size_t cap = reg->cap ? reg->cap * 2 : 64;

    if (reg->n < reg->cap)
        return 0;
    arrays = realloc(reg->arrays, cap * sizeof(*arrays));
    if (!arrays)
        return -ENOMEM;
    reg->arrays = arrays;
    reg->cap = cap;
    return 0;
}

/* Take fd, the data of a: a volatile array keeps its memfd; a persistent array keeps
 * only which file it is, so it costs no descriptor while it sits here. Should fstat
 * ever fail, the identity stays zero and every reopen answers -ESTALE. */
static void registry_take(struct registry_array *a, int fd)
{
    a->fd = fd;
    if (!a->meta.persist || fd < 0)
        return;
    if (store_identify(fd, &a->file) < 0)
        a->file = (struct store_file_id){ 0, 0 };
    close(fd);
    a->fd = -1;
}

static struct registry_array *registry_array_new(struct registry *reg, const struct meta *m,
                                                 int fd)
{
    /* Not calloc: the 2 KiB of meta are copied whole, and every other field is set
     * here, so clearing them first would only cost a create. */
    struct registry_array *a = malloc(sizeof(*a));

    if (a) {
        a->meta = *m;
        a->quota = NULL;
        a->reg = NULL;
        a->watch_slot = 0;
        a->charged = quota_cost_of(m);
        a->file = (struct store_file_id){ 0, 0 };
        a->trash = 0;
        a->fd = -1;
        a->last_close_wd = 0;
        a->refs = 0;
        a->writers = 0;
        a->ready = a->named = a->readers_made = a->growing = a->watch_fresh = false;
        a->trash_by_free = false;
    }
    if (!a || dtype_own(&a->meta.dtype) < 0) {
        free(a);
        return NULL;
    }
    if (reg->quota && quota_charge(reg->quota, m->uid, a->charged) < 0) {
        dtype_own_free(&a->meta.dtype);
        free(a);
        return NULL;
    }
    a->quota = reg->quota;
    a->reg = reg;
    a->meta.nattached = 0;
    a->ready = fd >= 0; /* the caller hands the data of a ready array */
    a->readers_made = fd >= 0; /* found at start: readers of an earlier daemon may hold it */
    a->named = true;
    a->refs = 1;
    registry_take(a, fd);
    return a;
}

int registry_add(struct registry *reg, const struct meta *m, int fd, struct registry_array **ret)
{
    size_t i = registry_bound(reg, m->name, false);
    struct registry_array *a;

    if (i < reg->n && strcmp(reg->arrays[i]->meta.name, m->name) == 0)
        return -EEXIST;
    if (registry_grow(reg) < 0 || !(a = registry_array_new(reg, m, fd)))
        return -ENOMEM;
    memmove(reg->arrays + i + 1, reg->arrays + i, (reg->n - i) * sizeof(*reg->arrays));
    reg->arrays[i] = a;
    reg->n++;
    if (ret)
        *ret = a;
    return 0;
}

int registry_append(struct registry *reg, const struct meta *m, int fd)
{
    struct registry_array *a;

    if (registry_grow(reg) < 0 || !(a = registry_array_new(reg, m, fd))) {
        close(fd);
        return -ENOMEM;
    }
    reg->arrays[reg->n++] = a;
    return 0;
}

static int registry_compare(const void *x, const void *y)
{
    const struct registry_array *const *a = x, *const *b = y;

    return strcmp((*a)->meta.name, (*b)->meta.name);
}

void registry_sort(struct registry *reg)
{
    if (reg->n > 1)
        qsort(reg->arrays, reg->n, sizeof(*reg->arrays), registry_compare);
}

void registry_remove(struct registry *reg, struct registry_array *a)
{
    size_t i = registry_bound(reg, a->meta.name, false);

    if (!a->named || i >= reg->n || reg->arrays[i] != a)
        return;
    memmove(reg->arrays + i, reg->arrays + i + 1, (reg->n - i - 1) * sizeof(*reg->arrays));
    reg->n--;
    a->named = false;
    if (a->meta.nattached > 0)
        reg->unlinked_attached++;
    if (reg->on_removed)
        reg->on_removed(reg->on_removed_arg, a);
    registry_unref(a);
}

int registry_restore(struct registry *reg, struct registry_array *a)
{
    size_t i = registry_bound(reg, a->meta.name, false);

    if (a->named)
        return 0;
    if (i < reg->n && strcmp(reg->arrays[i]->meta.name, a->meta.name) == 0)
        return -EEXIST;
    if (registry_grow(reg) < 0)
        return -ENOMEM;
    memmove(reg->arrays + i + 1, reg->arrays + i, (reg->n - i) * sizeof(*reg->arrays));
    reg->arrays[i] = a;
    reg->n++;
    a->named = true;
    if (a->meta.nattached > 0)
        reg->unlinked_attached--;
    if (a->meta.persist && a->fd >= 0) {
        close(a->fd); /* found by name again */
        a->fd = -1;
    }
    registry_ref(a);
    registry_wake(reg, a);
    return 0;
}

void registry_ref(struct registry_array *a)
{
    a->refs++;
}

void registry_unref(struct registry_array *a)
{
    if (--a->refs > 0)
        return;
    if (a->reg && a->reg->on_last && a->reg->on_last(a->reg->on_last_arg, a))
        return;
    if (a->quota)
        quota_release(a->quota, a->meta.uid, a->charged);
    if (a->fd >= 0)
        close(a->fd);
    dtype_own_free(&a->meta.dtype);
    free(a);
}

void registry_attach(struct registry *reg, struct registry_array *a, enum meta_mode mode,
                     struct registry_attach *ret)
{
    struct timespec now;

    clock_gettime(CLOCK_REALTIME, &now);
    registry_ref(a);
    if (!a->named && a->meta.nattached == 0)
        reg->unlinked_attached++;
    a->meta.nattached++;
    a->writers += mode == META_MODE_RPLUS;
    reg->nattached++;
    ret->handle = reg->next_handle++;
    ret->array = a;
    ret->mode = mode;
    ret->since_ns = (int64_t)now.tv_sec * 1000000000 + now.tv_nsec;
}

void registry_detach(struct registry *reg, struct registry_attach *att)
{
    att->array->meta.nattached--;
    att->array->writers -= att->mode == META_MODE_RPLUS;
    reg->nattached--;
    if (!att->array->named && att->array->meta.nattached == 0)
        reg->unlinked_attached--;
    registry_unref(att->array);
    att->array = NULL;
}

int registry_descriptor(const struct store *s, int procfd, struct registry_array *a,
                        enum meta_mode mode, int *ret_fd)
{
    int flags = mode == META_MODE_RPLUS ? O_RDWR : O_RDONLY;
    int fd;

    if (a->meta.persist)
        return store_reopen(s, a->meta.name, &a->file, flags, ret_fd);
    /* A new open file description, so one connection's fcntl(F_SETFL), file offset
     * or flock never reaches another's; a memfd's seals stay with the inode. */
    fd = procfd_reopen(procfd, a->fd, flags);
    if (fd < 0)
        return fd;
    if (flags == O_RDONLY)
        a->readers_made = true;
    *ret_fd = fd;
    return 0;
}

void registry_keep_file(const struct store *s, struct registry_array *a)
{
    int fd;

    if (!a->meta.persist || !a->ready || a->fd >= 0
        || store_reopen(s, a->meta.name, &a->file, O_RDONLY, &fd) < 0)
        return;
    a->fd = fd;
}

void registry_wake(struct registry *reg, struct registry_array *a)
{
    a->ready = true;
    waiters_wake(&reg->waiters, a->meta.name);
}

void registry_ready(struct registry *reg, struct registry_array *a, int fd)
{
    registry_take(a, fd);
    registry_wake(reg, a);
}

int registry_wait(struct registry *reg, const char *name, int64_t timeout_ms,
                  struct waiters_owner *owner, waiters_cb *cb, void *arg)
{
    return waiters_add(&reg->waiters, name, timeout_ms, owner, cb, arg);
}
