/* fuzz_reply.c — libFuzzer target, differential: an attach, create or stat reply read
 * straight from its bytes (codec_frame_read, as libsharr reads them) must parse exactly
 * as the same bytes scanned and unpacked whole by the decoder (tests/support/replydiff.c):
 * the same result, or the same error and message. Any difference aborts.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include "replydiff.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char why[512];

    if (replydiff_check(data, size, why, sizeof(why)) < 0) {
        fprintf(stderr, "fuzz_reply: read from bytes and unpacked differ: %s\n", why);
        abort();
    }
    return 0;
}
