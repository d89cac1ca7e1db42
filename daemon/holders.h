/* holders.h — who holds which array: the attachments of every connection with the
 * peer's pid, uid, gid and command name, paged by handle for the holders method.
 *
 * Read-only over the daemon's connections; the command name is read once per
 * connection, at accept, from /proc/<pid>/comm.
 */
#ifndef DAEMON_HOLDERS_H
#define DAEMON_HOLDERS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "access.h"
#include "codec.h"

struct daemon;

/* The command name of pid into comm (CODEC_COMM_MAX + 1 bytes); "" if unknown. */
void holders_read_comm(uint32_t pid, char *comm);

/* The attachments peer may see (of arrays it may read, or its own) matching p,
 * the p->limit lowest handles above p->after in handle order, into out (room for
 * p->limit). *ret_more is set when more follow. 0 or -ENOMEM. */
int holders_collect(const struct daemon *d, const struct access_peer *peer,
                    const struct codec_holders *p, struct codec_holder *out, size_t *ret_n,
                    bool *ret_more);

#endif
