/* access.h — who may do what to an array: file-like permission bits checked
 * against the peer credentials the kernel reported at accept (SO_PEERCRED), and
 * which uids may own a name.
 *
 * Pure decisions; callers turn a refusal into an error reply.
 */
#ifndef DAEMON_ACCESS_H
#define DAEMON_ACCESS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "meta.h"

struct access_peer {
    uint32_t uid, gid, pid;
};

/* True if peer may open m in mode: r and c need the read bit of the peer's class
 * (owner, group, other), r+ needs read and write (it is O_RDWR). Root may do anything. */
bool access_may_open(const struct meta *m, const struct access_peer *peer, enum meta_mode mode);

/* True if peer may see m: in list, holders and stat, and its owner, group and mode in
 * error messages. Its owner and whoever may read it (the read bit; root) may. Others
 * learn only that the name exists, which create's EEXIST tells anyone anyway. */
bool access_may_see(const struct meta *m, const struct access_peer *peer);

/* True if peer may unlink or overwrite m: its owner or root. */
bool access_is_owner(const struct meta *m, const struct access_peer *peer);

/* True if an array named name may belong to uid: a name in a user's prefix
 * (name_user_prefix) belongs only to that user or root; any other name to anyone.
 * Decides create, adopt and overwrite (by the peer's uid) and chown (by the new
 * owner). When false, *ret_reserved_for (may be NULL) is the uid the name is for. */
bool access_may_own(const char *name, uint32_t uid, uint32_t *ret_reserved_for);

/* Whom m belongs to, as peer may be told in an error message: "uid N" when it may see
 * m, else "another user". Writes buf (len >= 24 holds any) and returns it. */
const char *access_owner_text(const struct meta *m, const struct access_peer *peer, char *buf,
                              size_t len);

#endif
