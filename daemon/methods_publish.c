/* methods_publish.c — publish: the owner (or root) marks an array complete and
 * immutable. From then on no writable attachment is given (open r+ fails with EROFS),
 * until the name is unlinked; opens waiting for the array to be published are woken.
 *
 * What enforces it: for a volatile array the kernel, through the memfd's seals
 * (memstore_publish: F_SEAL_FUTURE_WRITE); for a persistent one the daemon, which
 * refuses r+, and the file, which loses its write bits (mode 0400, also the state a
 * restart reads back). Mappings made writable before the publish keep writing: the
 * publish is the producer's word that it has finished. methods_publish_array is the
 * one place the state changes.
 */
#include "methods_publish.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "access.h"
#include "conn.h"
#include "daemon.h"
#include "memstore.h"
#include "methods_reply.h"

/* A persistent array's .npy loses its write bits, durably: the state survives a
 * restart (recover.c reads mode 0400 as published). 0 or -errno. */
static int publish_file(struct daemon *d, const struct registry_array *a)
{
    int fd, r;

    r = store_reopen(&d->store, a->meta.name, &a->file, O_RDONLY, &fd);
    if (r < 0)
        return r;
    r = fchmod(fd, 0400) < 0 || fsync(fd) < 0 ? -errno : 0;
    close(fd);
    store_fault(&d->store, "publish-done");
    return r;
}

int methods_publish_array(struct daemon *d, const struct access_peer *peer,
                          struct registry_array *a, char *err, size_t errlen)
{
    char whose[32];
    int r;

    if (!access_is_owner(&a->meta, peer)) {
        snprintf(err, errlen, "%s belongs to %s: only its owner or root may publish it",
                 a->meta.name, access_owner_text(&a->meta, peer, whose, sizeof(whose)));
        return -EPERM;
    }
    if (a->meta.published)
        return 0;
    if (a->growing) {
        snprintf(err, errlen, "%s is being grown: publish it once the grow is answered",
                 a->meta.name);
        return -EBUSY;
    }
    r = a->meta.persist ? publish_file(d, a) : memstore_publish(a->fd);
    /* A writer may have sealed the memfd itself: sealed against writing, it is as
     * good as published; sealed against seals alone, it cannot be. */
    if (r < 0 && !a->meta.persist && memstore_published(a->fd))
        r = 0;
    if (r < 0) {
        snprintf(err, errlen, "cannot publish %s: %s%s", a->meta.name, strerror(-r),
                 r == -EPERM && !a->meta.persist ? " (a writer sealed its memory against "
                 "further seals)" : "");
        log_warning(&d->log, "%s", err);
        return r;
    }
    a->meta.published = true;
    registry_wake(&d->registry, a);
    genpage_bump(&d->gens, a->meta.name); /* no cached r+ attachment is handed out again */
    if (a->named)
        watch_emit(&d->watches, EVENT_PUBLISHED, a);
    return 0;
}

int methods_publish(struct conn *c, const struct codec_msg *msg)
{
    char err[METHODS_ERR_MAX] = "";
    struct registry_array *a = methods_lookup(c, msg, false); /* the owner needs no read bit */
    int r;

    if (!a)
        return -ENOENT;
    r = methods_publish_array(daemon_of(c), &c->peer, a, err, sizeof(err));
    if (r < 0)
        return methods_error(c, msg->msgid, r, "%s", err);
    return methods_stat_reply(c, msg->msgid, a);
}
