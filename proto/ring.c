/* ring.c — posting to and taking from the release ring (ring.h). Shared memory
 * between two processes: plain loads and stores of aligned uint64, ordered by the
 * acquire/release pair on each index. */
#include "ring.h"

#include <errno.h>

static uint64_t *ring_word(void *ring, size_t at)
{
    return (uint64_t *)((unsigned char *)ring + at);
}

int ring_post(void *ring, uint64_t handle)
{
    uint64_t *head = ring_word(ring, RING_HEAD_AT);
    uint64_t *slots = ring_word(ring, RING_SLOTS_AT);
    uint64_t h = __atomic_load_n(head, __ATOMIC_RELAXED);
    uint64_t t = __atomic_load_n(ring_word(ring, RING_TAIL_AT), __ATOMIC_ACQUIRE);

    if (h - t >= RING_SLOTS)
        return -ENOSPC;
    __atomic_store_n(&slots[h % RING_SLOTS], handle, __ATOMIC_RELAXED);
    __atomic_store_n(head, h + 1, __ATOMIC_RELEASE);
    return 0;
}

int ring_take(void *ring, uint64_t *tail, uint64_t *out)
{
    const uint64_t *slots = ring_word(ring, RING_SLOTS_AT);
    uint64_t h = __atomic_load_n(ring_word(ring, RING_HEAD_AT), __ATOMIC_ACQUIRE);
    uint64_t n = h - *tail;

    if (n > RING_SLOTS)
        return -EPROTO;
    for (uint64_t i = 0; i < n; i++)
        out[i] = __atomic_load_n(&slots[(*tail + i) % RING_SLOTS], __ATOMIC_RELAXED);
    *tail = h;
    __atomic_store_n(ring_word(ring, RING_TAIL_AT), h, __ATOMIC_RELEASE);
    return (int)n;
}
