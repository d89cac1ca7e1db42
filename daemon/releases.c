/* releases.c — the release rings of the daemon's connections (releases.h): made by
 * the method ring, read on the loop thread only. The page is shared with a client
 * that may be hostile: ring_take refuses an impossible index (the connection is then
 * closed), and a handle that is not one of the connection's own attachments is
 * ignored, as a bad release notification is.
 */
#include "releases.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "conn.h"
#include "daemon.h"
#include "ring.h"
#include "session.h"

#define RELEASES_SWEEP_MS 1000

static bool releases_sweep_needed(const struct daemon *d)
{
    return d->releases_on && d->nrings > 0 && d->registry.unlinked_attached > 0;
}

static void releases_on_sweep(uv_timer_t *t)
{
    struct daemon *d = t->data;

    releases_take_all(d);
    if (!releases_sweep_needed(d))
        uv_timer_stop(&d->releases_timer);
}

void releases_sweep(struct daemon *d)
{
    if (releases_sweep_needed(d) && !uv_is_active((uv_handle_t *)&d->releases_timer))
        uv_timer_start(&d->releases_timer, releases_on_sweep, RELEASES_SWEEP_MS,
                       RELEASES_SWEEP_MS);
}

void releases_init(struct daemon *d)
{
    uv_timer_init(&d->loop, &d->releases_timer);
    d->releases_timer.data = d;
    d->releases_on = true;
}

void releases_close(struct daemon *d)
{
    if (!d->releases_on)
        return;
    uv_close((uv_handle_t *)&d->releases_timer, NULL);
    d->releases_on = false;
}

int releases_ring_new(struct conn *c, int *ret_fd, char *err, size_t errlen)
{
    struct daemon *d = daemon_of(c);
    void *map;
    int fd, r;

    if (session_of(c)->ring)
        return -EEXIST;
    fd = memfd_create("sharr-release-ring", MFD_CLOEXEC | MFD_ALLOW_SEALING);
    if (fd < 0) {
        r = -errno;
        snprintf(err, errlen, "cannot make a release ring: %s", strerror(-r));
        return r;
    }
    /* Sealed at its size: the client can neither shrink the page under the daemon's
     * mapping (SIGBUS) nor grow it. */
    if (ftruncate(fd, RING_BYTES) < 0 ||
        fcntl(fd, F_ADD_SEALS, F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_SEAL) < 0 ||
        (map = mmap(NULL, RING_BYTES, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0)) ==
            MAP_FAILED) {
        r = -errno;
        close(fd);
        snprintf(err, errlen, "cannot make a release ring: %s", strerror(-r));
        return r;
    }
    session_of(c)->ring = map;
    session_of(c)->ring_tail = 0;
    d->nrings++;
    releases_sweep(d);
    *ret_fd = fd;
    return 0;
}

void releases_ring_drop(struct conn *c)
{
    struct daemon *d = daemon_of(c);

    if (!session_of(c)->ring)
        return;
    munmap(session_of(c)->ring, RING_BYTES);
    session_of(c)->ring = NULL;
    if (--d->nrings == 0 && d->releases_on)
        uv_timer_stop(&d->releases_timer);
}

bool releases_take(struct conn *c)
{
    uint64_t handles[RING_SLOTS];
    struct registry_attach att;
    int n;

    if (!session_of(c)->ring)
        return true;
    n = ring_take(session_of(c)->ring, &session_of(c)->ring_tail, handles);
    if (n < 0) {
        if (ratelog_allow(&daemon_of(c)->closings))
            log_warning(&daemon_of(c)->log, "connection %llu (pid %u): corrupt release ring: "
                        "closing",
                        (unsigned long long)c->id, c->peer.pid);
        conn_close(c, "corrupt release ring");
        return false;
    }
    for (int i = 0; i < n; i++) {
        if (session_attach_take(c, handles[i], &att) == 0)
            registry_detach(&daemon_of(c)->registry, &att);
        else
            log_debug(&daemon_of(c)->log, "connection %llu: release ring: no attachment %" PRIu64,
                      (unsigned long long)c->id, handles[i]);
    }
    return true;
}

void releases_take_all(struct daemon *d)
{
    struct conn *c = d->conns.head, *next;

    for (; c; c = next) {
        next = c->next; /* releases_take may close c, which unlinks it */
        releases_take(c);
    }
}
