/* stats.h — the stats reply's record, described once.
 *
 * PROTO_STATS_FIELDS(X) lists every field as X(field, C type, wire key, required):
 * the codec's struct, packer and parser, libsharr's copy into struct sharr_stats (with
 * compile-time checks that the public struct holds exactly these fields), and the
 * layout the Python tests compare with ctypes all expand from it. A field's bounds are
 * its C type's range. Required fields are those every daemon of protocol 1 sends; an
 * optional one a daemon before it did not send reads as 0. A new field goes at the
 * end, optional, and takes its place in sharr_stats from the reserved space.
 */
#ifndef PROTO_STATS_H
#define PROTO_STATS_H

#include <stdint.h>

#define PROTO_STATS_FIELDS(X)                                          \
    X(arrays, uint64_t, "arrays", 1)                                   \
    X(arrays_volatile, uint64_t, "arrays_volatile", 1)                 \
    X(arrays_persistent, uint64_t, "arrays_persistent", 1)             \
    X(bytes, uint64_t, "bytes", 1)                                     \
    X(bytes_volatile, uint64_t, "bytes_volatile", 1)                   \
    X(bytes_persistent, uint64_t, "bytes_persistent", 1)               \
    X(connections, uint64_t, "connections", 1)                         \
    X(attachments, uint64_t, "attachments", 1)                         \
    X(persist_capacity, uint64_t, "persist_capacity", 1)               \
    X(persist_free, uint64_t, "persist_free", 1)                       \
    X(volatile_capacity, uint64_t, "volatile_capacity", 1)             \
    X(volatile_free, uint64_t, "volatile_free", 1)                     \
    X(pid, uint32_t, "pid", 1)                                         \
    X(uptime_ms, int64_t, "uptime_ms", 1)                              \
    X(volatile_limit, uint64_t, "volatile_limit", 0)                   \
    X(volatile_limit_per_uid, uint64_t, "volatile_limit_per_uid", 0)   \
    X(volatile_reserved, uint64_t, "volatile_reserved", 0)             \
    X(bytes_grown, uint64_t, "bytes_grown", 0)                         \
    X(arrays_damaged, uint64_t, "arrays_damaged", 0)                   \
    X(watches, uint64_t, "watches", 0)                                 \
    X(queued_bytes, uint64_t, "queued_bytes", 0)                       \
    X(requests, uint64_t, "requests", 0)                               \
    X(volatile_huge, uint64_t, "volatile_huge", 0)                     \
    X(huge_page_size, uint64_t, "huge_page_size", 0)                   \
    X(arrays_watched, uint64_t, "arrays_watched", 0)                   \
    X(sweeps, uint64_t, "sweeps", 0)

/* Expanders for the common uses: a struct member, and one per field (a count). */
#define PROTO_STATS_MEMBER(field, type, key, required) type field;
#define PROTO_STATS_ONE(field, type, key, required) +1

/* How many fields the record has: the map size of the reply, by construction. */
#define PROTO_STATS_NFIELDS (0 PROTO_STATS_FIELDS(PROTO_STATS_ONE))

#endif
