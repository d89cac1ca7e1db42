/* attachments.c — linear probing over a power-of-two table, slots chosen by
 * Fibonacci hashing of the handle (handles are consecutive numbers), deletion by
 * backward shift so no tombstones build up. The table doubles past half full and
 * halves below an eighth, down to ATTACHMENTS_MIN slots, which it keeps when empty: a
 * client that attaches and releases one array at a time allocates nothing per attach.
 * attachments_free gives the table back (when its connection closes).
 */
#include "attachments.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#define ATTACHMENTS_MIN 8

static size_t attachments_slot(uint64_t handle, size_t cap)
{
    return (size_t)((handle * 11400714819323198485ull) >> 32) & (cap - 1);
}

static void attachments_put(struct registry_attach *slots, size_t cap,
                            const struct registry_attach *att)
{
    size_t i = attachments_slot(att->handle, cap);

    while (slots[i].handle != 0)
        i = (i + 1) & (cap - 1);
    slots[i] = *att;
}

/* Move every attachment into a table of cap slots. 0 or -ENOMEM (t unchanged). */
static int attachments_resize(struct attachments *t, size_t cap)
{
    struct registry_attach *slots = calloc(cap, sizeof(*slots));

    if (!slots)
        return -ENOMEM;
    for (size_t i = 0; i < t->cap; i++) {
        if (t->slots[i].handle != 0)
            attachments_put(slots, cap, &t->slots[i]);
    }
    free(t->slots);
    t->slots = slots;
    t->cap = cap;
    return 0;
}

void attachments_free(struct attachments *t)
{
    free(t->slots);
    memset(t, 0, sizeof(*t));
}

int attachments_add(struct attachments *t, const struct registry_attach *att)
{
    if ((t->n + 1) * 2 > t->cap
        && attachments_resize(t, t->cap ? t->cap * 2 : ATTACHMENTS_MIN) < 0)
        return -ENOMEM;
    attachments_put(t->slots, t->cap, att);
    t->n++;
    return 0;
}

const struct registry_attach *attachments_find(const struct attachments *t, uint64_t handle)
{
    if (t->cap == 0 || handle == 0)
        return NULL;
    for (size_t i = attachments_slot(handle, t->cap); t->slots[i].handle != 0;
         i = (i + 1) & (t->cap - 1)) {
        if (t->slots[i].handle == handle)
            return &t->slots[i];
    }
    return NULL;
}

int attachments_take(struct attachments *t, uint64_t handle, struct registry_attach *ret)
{
    size_t i, j;

    if (t->cap == 0 || handle == 0)
        return -EBADF;
    for (i = attachments_slot(handle, t->cap); t->slots[i].handle != handle;
         i = (i + 1) & (t->cap - 1)) {
        if (t->slots[i].handle == 0)
            return -EBADF;
    }
    *ret = t->slots[i];
    /* Backward shift: pull later members of the probe run into the hole when their
     * home slot does not lie strictly between the hole and them. */
    for (j = (i + 1) & (t->cap - 1); t->slots[j].handle != 0; j = (j + 1) & (t->cap - 1)) {
        size_t home = attachments_slot(t->slots[j].handle, t->cap);

        if (((j - home) & (t->cap - 1)) >= ((j - i) & (t->cap - 1))) {
            t->slots[i] = t->slots[j];
            i = j;
        }
    }
    t->slots[i] = (struct registry_attach){ 0 };
    t->n--;
    if (t->cap > ATTACHMENTS_MIN && t->n * 8 < t->cap)
        (void)attachments_resize(t, t->cap / 2); /* on ENOMEM it just stays larger */
    return 0;
}

const struct registry_attach *attachments_next(const struct attachments *t, size_t *pos)
{
    for (; *pos < t->cap; (*pos)++) {
        if (t->slots[*pos].handle != 0)
            return &t->slots[(*pos)++];
    }
    return NULL;
}
