/* access.h — who may do what to an array: file-like permission bits checked
 * against the peer credentials the kernel reported at accept (SO_PEERCRED).
 *
 * Pure decisions; callers turn a refusal into an error reply.
 */
#ifndef DAEMON_ACCESS_H
#define DAEMON_ACCESS_H

#include <stdbool.h>
#include <stdint.h>

#include "meta.h"

struct access_peer {
    uint32_t uid, gid, pid;
};

/* True if peer may open m in mode: r and c need the read bit of the peer's class
 * (owner, group, other), r+ needs read and write (it is O_RDWR). Root may do anything. */
bool access_may_open(const struct meta *m, const struct access_peer *peer, enum meta_mode mode);

/* True if peer may see m in stat and list (the read bit). */
bool access_may_read(const struct meta *m, const struct access_peer *peer);

/* True if peer may unlink or overwrite m: its owner or root. */
bool access_is_owner(const struct meta *m, const struct access_peer *peer);

#endif
