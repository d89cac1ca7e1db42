/* ring.h — the release ring: one shared page per connection through which a client
 * tells sharrd which of its attachments it has closed, without a message.
 *
 * The daemon makes the page (a sealed 4 KiB memfd, method "ring") and maps it; the
 * client maps the same page. The client is the only producer and the daemon the only
 * consumer; each reads the other's index with acquire and publishes its own with
 * release. The daemon trusts nothing in the page: ring_take refuses an impossible
 * producer index, and every handle it takes is checked against the connection's own
 * attachments. Layout (little-endian, as the host): uint64 head at byte 0 (handles
 * posted so far), uint64 tail at byte 64 (handles taken so far), RING_SLOTS uint64
 * handles from byte 128; handle number i lives in slot i % RING_SLOTS.
 */
#ifndef PROTO_RING_H
#define PROTO_RING_H

#include <stddef.h>
#include <stdint.h>

#define RING_BYTES 4096u
#define RING_HEAD_AT 0u
#define RING_TAIL_AT 64u
#define RING_SLOTS_AT 128u
#define RING_SLOTS ((RING_BYTES - RING_SLOTS_AT) / 8u)

/* Client: post handle into ring (RING_BYTES, mapped). 0, or -ENOSPC when the daemon
 * has not yet taken RING_SLOTS earlier posts. */
int ring_post(void *ring, uint64_t handle);

/* Daemon: take every handle posted since *tail (the daemon's own copy of its index,
 * advanced and published), at most RING_SLOTS, into out (room for RING_SLOTS).
 * Returns how many, or -EPROTO when the head the client wrote is impossible (behind
 * *tail, or ahead of it by more than RING_SLOTS); then nothing is taken. */
int ring_take(void *ring, uint64_t *tail, uint64_t *out);

#endif
