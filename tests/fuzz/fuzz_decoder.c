/* fuzz_decoder.c — libFuzzer target, differential: the decoder's one pass against the
 * way it decoded before, scan_object and msgpack-c's unpacker (tests/support/decoderdiff.c),
 * over the input as a stream of frames fed in pieces: the same return code for every
 * feed and pull, and deep-equal objects. Any difference aborts.
 *
 * The first byte picks the frame limit and depth, the next four where the stream is cut
 * (each a step of up to 255 bytes, 0 meaning a cut at every byte), the rest is the stream.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include "decoderdiff.h"
#include "proto_limits.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const size_t max_lens[] = { PROTO_REQUEST_MAX, PROTO_RESPONSE_MAX, 4096, 256,
                                       64, 16, 3, 1 };
    static const unsigned depths[] = { PROTO_DEPTH_MAX, 32, 2, 0 };
    size_t cuts[1024], ncuts = 0, max_len, len;
    const uint8_t *stream;
    unsigned depth;
    char why[512];

    if (size < 5)
        return 0;
    max_len = max_lens[data[0] & 7];
    depth = depths[(data[0] >> 3) & 3];
    stream = data + 5;
    len = size - 5;
    for (size_t at = 0, k = 0; ncuts < sizeof(cuts) / sizeof(cuts[0]) && at < len; k++) {
        uint8_t step = data[1 + k % 4];

        at += step == 0 ? 1 : step;
        cuts[ncuts++] = at < len ? at : len;
    }
    if (decoderdiff_check(stream, len, max_len, depth, cuts, ncuts, why, sizeof(why)) < 0) {
        fprintf(stderr, "fuzz_decoder: the decoder and scan + unpack differ: %s\n", why);
        abort();
    }
    return 0;
}
