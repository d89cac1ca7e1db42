/* replydiff.h — the differential check of codec_frame_read: a reply read straight from
 * its bytes must parse exactly as the same bytes scanned and unpacked whole by msgpack-c
 * (the decoder's path), with the same result or the same error and message.
 *
 * Used by unit_mpread over mutated valid replies and by the fuzz_reply target.
 */
#ifndef TESTS_REPLYDIFF_H
#define TESTS_REPLYDIFF_H

#include <stddef.h>
#include <stdint.h>

/* Check buf[0..len) both ways. 1: codec_frame_read read it and every parser agreed;
 * 0: it left the bytes to the decoder (nothing to compare); -1: they differ, and why
 * says how. */
int replydiff_check(const uint8_t *buf, size_t len, char *why, size_t whylen);

#endif
