/* releases.h — the attachments a client has closed, as it posts them in its
 * connection's release ring (proto/ring.h) instead of sending a message.
 *
 * The daemon takes a connection's ring after each read from it (so every request
 * sees the releases posted before it was sent), takes every ring before an answer
 * that counts attachments or charges quota, and sweeps all rings once a second while
 * an array without a name is still attached, so what an idle client has closed of it
 * is freed within about a second. With no such array the daemon sets no timer.
 */
#ifndef DAEMON_RELEASES_H
#define DAEMON_RELEASES_H

#include <stdbool.h>
#include <stddef.h>

struct conn;
struct daemon;

/* The sweep timer; releases_close closes it (both idempotent, loop thread). */
void releases_init(struct daemon *d);
void releases_close(struct daemon *d);

/* Make c's ring and return a descriptor of it (taken by the caller) for the reply.
 * 0; -EEXIST when c has one; or another negative errno with a message in err. */
int releases_ring_new(struct conn *c, int *ret_fd, char *err, size_t errlen);

/* Start the sweep if it is needed and not running (an array just lost its name). */
void releases_sweep(struct daemon *d);

/* Forget c's ring (c is closing: its attachments go with it). */
void releases_ring_drop(struct conn *c);

/* Apply what c posted. False when its ring was corrupt and c is now closed. */
bool releases_take(struct conn *c);

/* Apply what every connection posted. */
void releases_take_all(struct daemon *d);

#endif
