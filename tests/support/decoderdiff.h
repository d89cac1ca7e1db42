/* decoderdiff.h — the differential check of the decoder: its one pass with mpread
 * against a reference that decodes as the decoder did before it, scan_object then
 * msgpack-c's unpacker over the same buffered bytes.
 *
 * Used by unit_decoder over random and mutated frames and by the fuzz_decoder target.
 */
#ifndef TESTS_DECODERDIFF_H
#define TESTS_DECODERDIFF_H

#include <stddef.h>
#include <stdint.h>

/* Feed buf[0..len) to a decoder of max_len and max_depth and to the reference alike,
 * in pieces that end at each of the ncuts offsets (ascending, the rest after the last),
 * pulling objects after every piece until neither has one. Every feed and every pull
 * must give the same return code, and every object pulled the same tree, deep-equal.
 * 0 when they agree; -1 when they differ, and why says where and how. */
int decoderdiff_check(const uint8_t *buf, size_t len, size_t max_len, unsigned max_depth,
                      const size_t *cuts, size_t ncuts, char *why, size_t whylen);

#endif
