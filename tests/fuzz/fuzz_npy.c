/* fuzz_npy.c — libFuzzer target for the .npy header parser, which reads files from
 * the persistent store at start and files given to import: hostile bytes there must
 * give an error, never a crash or a read past the buffer.
 */
#include <stddef.h>
#include <stdint.h>

#include "npy.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct meta m = {0};
    uint64_t offset;
    char err[256];
    uint8_t again[NPY_HEADER_LEN];

    if (npy_header_parse(data, size, &m, &offset, err, sizeof(err)) == 0) {
        /* Whatever parses must format and parse back to the same description. */
        struct meta back = {0};

        if (npy_header_format(&m, again) == 0 &&
            (npy_header_parse(again, sizeof(again), &back, &offset, err, sizeof(err)) != 0 ||
             back.ndim != m.ndim || back.nbytes != m.nbytes || back.order != m.order))
            __builtin_trap();
    }
    return 0;
}
