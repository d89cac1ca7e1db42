/* access.c — permission bits of an array applied to one peer, and who may take a name.
 *
 * Like a file: the owner class if the uid matches, else the group class if the
 * peer's primary gid matches (SO_PEERCRED carries no supplementary groups), else
 * other. Root passes every check. Names are one namespace; only those under a
 * user's prefix (name.h) are reserved, to that user and root.
 */
#include "access.h"

#include <inttypes.h>
#include <stdio.h>

#include "name.h"

static uint32_t access_class_bits(const struct meta *m, const struct access_peer *peer)
{
    if (peer->uid == m->uid)
        return (m->perm >> 6) & 7;
    if (peer->gid == m->gid)
        return (m->perm >> 3) & 7;
    return m->perm & 7;
}

bool access_may_open(const struct meta *m, const struct access_peer *peer, enum meta_mode mode)
{
    uint32_t need = mode == META_MODE_RPLUS ? 6 : 4; /* r+ is O_RDWR: read and write */

    return peer->uid == 0 || (access_class_bits(m, peer) & need) == need;
}

bool access_may_see(const struct meta *m, const struct access_peer *peer)
{
    return peer->uid == m->uid || access_may_open(m, peer, META_MODE_R);
}

bool access_is_owner(const struct meta *m, const struct access_peer *peer)
{
    return peer->uid == 0 || peer->uid == m->uid;
}

bool access_may_own(const char *name, uint32_t uid, uint32_t *ret_reserved_for)
{
    uint32_t reserved;

    if (uid == 0 || !name_user_prefix(name, &reserved) || reserved == uid)
        return true;
    if (ret_reserved_for)
        *ret_reserved_for = reserved;
    return false;
}

const char *access_owner_text(const struct meta *m, const struct access_peer *peer, char *buf,
                              size_t len)
{
    if (access_may_see(m, peer))
        snprintf(buf, len, "uid %" PRIu32, m->uid);
    else
        snprintf(buf, len, "another user");
    return buf;
}
