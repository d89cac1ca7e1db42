/* access.c — permission bits of an array applied to one peer.
 *
 * Like a file: the owner class if the uid matches, else the group class if the
 * peer's primary gid matches (SO_PEERCRED carries no supplementary groups), else
 * other. Root passes every check.
 */
#include "access.h"

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

bool access_may_read(const struct meta *m, const struct access_peer *peer)
{
    return access_may_open(m, peer, META_MODE_R);
}

bool access_is_owner(const struct meta *m, const struct access_peer *peer)
{
    return peer->uid == 0 || peer->uid == m->uid;
}
