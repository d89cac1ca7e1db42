/* ownership.c — change an array's owner, group or permission bits.
 *
 * The new metadata is made durable first (the .meta of a persistent array, the fd
 * store's record of a volatile one) and only then shown in the registry, so a
 * failure leaves everything as it was and a restart never undoes a change.
 */
#include "ownership.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "daemon.h"
#include "fdstore.h"
#include "perm.h"
#include "store.h"

/* Record m as a's metadata where it survives a restart, then in the registry. */
static int ownership_commit(struct daemon *d, struct registry_array *a, const struct meta *m,
                            char *err, size_t errlen)
{
    int r;

    if (a->meta.persist) {
        r = store_write_meta(&d->store, &a->file, m);
        if (r < 0) {
            snprintf(err, errlen, "cannot write the metadata of %s: %s", m->name, strerror(-r));
            return r;
        }
    } else {
        if (fdstore_update(&d->notify, &a->meta, m, a->fd, err, errlen) < 0)
            log_warning(&d->log, "volatile array %s will not survive a restart: %s", m->name,
                        err);
    }
    a->meta.uid = m->uid;
    a->meta.gid = m->gid;
    a->meta.perm = m->perm;
    return 0;
}

int ownership_chmod(struct daemon *d, const struct access_peer *peer, struct registry_array *a,
                    uint32_t perm, char *err, size_t errlen)
{
    struct meta m = a->meta;
    char whose[32];

    if (!access_is_owner(&a->meta, peer)) {
        snprintf(err, errlen, "%s belongs to %s: only its owner or root may change its mode",
                 a->meta.name, access_owner_text(&a->meta, peer, whose, sizeof(whose)));
        return -EPERM;
    }
    if (perm_check(perm, err, errlen) < 0)
        return -EINVAL;
    m.perm = perm;
    return ownership_commit(d, a, &m, err, errlen);
}

int ownership_chown(struct daemon *d, const struct access_peer *peer, struct registry_array *a,
                    const uint32_t *uid, const uint32_t *gid, char *err, size_t errlen)
{
    struct meta m = a->meta;
    uint32_t old_uid = a->meta.uid, reserved = 0;
    char whose[32];
    int r;

    /* Anyone but the owner and root gets one answer, whatever uid it named: else the
     * uid that makes a difference would tell whose the array is. */
    if (!access_is_owner(&a->meta, peer)) {
        snprintf(err, errlen, "%s belongs to %s: only root may change its owner, and only "
                 "its owner or root its group", a->meta.name,
                 access_owner_text(&a->meta, peer, whose, sizeof(whose)));
        return -EPERM;
    }
    if (uid && *uid != a->meta.uid && peer->uid != 0) {
        snprintf(err, errlen, "only root may give %s to another uid", a->meta.name);
        return -EPERM;
    }
    /* A user's names stay that user's (or root's), whoever gives them away. */
    if (uid && *uid != a->meta.uid && !access_may_own(a->meta.name, *uid, &reserved)) {
        snprintf(err, errlen, "%s lies in uid %" PRIu32 "'s names (%.*s): it may belong to "
                 "that user or root only", a->meta.name, reserved,
                 (int)(strchr(a->meta.name, '.') - a->meta.name + 1), a->meta.name);
        return -EPERM;
    }
    if (uid)
        m.uid = *uid;
    if (gid)
        m.gid = *gid;
    if (m.uid == old_uid)
        return ownership_commit(d, a, &m, err, errlen);
    /* The quota follows the owner: charge the new one before anything changes, then
     * release whichever of the two does not own the array in the end. */
    if (a->quota && quota_charge(a->quota, m.uid, a->charged) < 0) {
        snprintf(err, errlen, "out of memory");
        return -ENOMEM;
    }
    r = ownership_commit(d, a, &m, err, errlen);
    if (a->quota)
        quota_release(a->quota, r < 0 ? m.uid : old_uid, a->charged);
    return r;
}
