/* leftover.c — keep, look at again and free the arrays of leftover.h.
 *
 * A volatile array's memfd is the daemon's own description, which the kernel does not
 * count, so it is asked about through a new one; a persistent array without a name
 * holds an O_RDONLY descriptor of its file (registry_keep_file), asked about as is.
 */
#include "leftover.h"

#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "daemon.h"
#include "openers.h"

/* 1 when another process holds a's memfd or file, 0 when none does, or a negative
 * errno when the kernel cannot tell. */
static int leftover_held(const struct registry_array *a)
{
    if (a->fd < 0)
        return -EBADF;
    return a->meta.persist ? openers_probe(a->fd, false) : openers_probe_reopen(a->fd, false);
}

static void leftover_sweep(uv_timer_t *t);

void leftover_init(struct daemon *d)
{
    struct leftover *l = &d->leftover;
    int fd, r = -ENOMEM;

    memset(l, 0, sizeof(*l));
    uv_timer_init(&d->loop, &l->timer);
    l->timer.data = d;
    l->on = true;
    fd = memfd_create("sharr:probe", MFD_CLOEXEC);
    if (fd >= 0) {
        r = openers_probe_reopen(fd, false);
        close(fd);
    }
    if (r < 0)
        log_warning(&d->log, "the kernel cannot tell sharrd who still holds a file (file "
                    "leases: %s): arrays released but still open or mapped in a process "
                    "stop counting against the limits", strerror(-r));
}

void leftover_close(struct daemon *d)
{
    struct leftover *l = &d->leftover;
    struct registry_array **held = l->held;
    size_t n = l->n;

    if (!l->on)
        return;
    l->on = false;
    uv_close((uv_handle_t *)&l->timer, NULL);
    l->held = NULL;
    l->n = l->cap = l->next = 0;
    for (size_t i = 0; i < n; i++)
        registry_unref(held[i]);
    free(held);
}

bool leftover_keep(struct daemon *d, struct registry_array *a)
{
    struct leftover *l = &d->leftover;

    if (!l->on || leftover_held(a) <= 0)
        return false;
    if (l->n == l->cap) {
        size_t cap = l->cap ? l->cap * 2 : 16;
        struct registry_array **held = realloc(l->held, cap * sizeof(*held));

        if (!held) {
            log_warning(&d->log, "out of memory: %s is freed while a process still holds it",
                        a->meta.name);
            return false;
        }
        l->held = held;
        l->cap = cap;
    }
    registry_ref(a);
    l->held[l->n++] = a;
    log_debug(&d->log, "%s array %s is released but still held by a process: its %" PRIu64
              " bytes count against uid %" PRIu32 " until it is closed",
              a->meta.persist ? "persistent" : "volatile", a->meta.name, a->meta.nbytes,
              a->meta.uid);
    if (!uv_is_active((uv_handle_t *)&l->timer))
        uv_timer_start(&l->timer, leftover_sweep, LEFTOVER_SWEEP_MS, LEFTOVER_SWEEP_MS);
    return true;
}

void leftover_check(struct daemon *d, uint32_t uid)
{
    struct leftover *l = &d->leftover;
    size_t steps = l->n, looked = 0;

    /* One step per array there was: each passes one or lets one go, whose slot then
     * holds one not yet looked at. Few held: all of them, from the first; many: the
     * next ones in turn. */
    if (l->n <= LEFTOVER_BATCH)
        l->next = 0;
    for (; steps > 0 && l->n > 0 && looked < LEFTOVER_BATCH; steps--) {
        struct registry_array *a;

        if (l->next >= l->n)
            l->next = 0;
        a = l->held[l->next];
        if (uid != LEFTOVER_ANY_UID && a->meta.uid != uid) {
            l->next++;
            continue;
        }
        looked++;
        if (leftover_held(a) > 0) {
            l->next++;
            continue;
        }
        /* Let go: the slot now holds another array, looked at next. */
        l->held[l->next] = l->held[--l->n];
        if (l->n == 0)
            uv_timer_stop(&l->timer);
        registry_unref(a);
    }
}

static void leftover_sweep(uv_timer_t *t)
{
    leftover_check(t->data, LEFTOVER_ANY_UID);
}
