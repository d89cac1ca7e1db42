/* session.h — what a client holds through its connection, above the transport: its
 * attachments (counted per uid against --max-attachments-per-uid) and its opens
 * waiting for a name, all let go when the connection closes. The state itself is in
 * struct conn (atts, waits); conn.c only carries it.
 */
#ifndef DAEMON_SESSION_H
#define DAEMON_SESSION_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "registry.h"

struct conn;

/* Whether c's uid holds the most attachments --max-attachments-per-uid allows (never
 * for uid 0, nor for a closed c). */
bool session_attach_full(const struct conn *c);

/* Record an attachment on c. 0; -EPIPE when c is closed; -EMFILE past CONFIG_ATTACH_MAX
 * on c or past --max-attachments-per-uid for c's uid (not for uid 0), with a message in
 * err; or -ENOMEM. */
int session_attach_add(struct conn *c, const struct registry_attach *att, char *err,
                       size_t errlen);
/* Remove the attachment named handle into *ret. 0 or -EBADF. */
int session_attach_take(struct conn *c, uint64_t handle, struct registry_attach *ret);

/* Let go of everything c holds: cancel its waiting opens and detach its attachments
 * (conn_hooks.on_close, through daemon.c). */
void session_close(struct conn *c);

#endif
