/* fuzz_npy.c — libFuzzer target for the .npy header parser, which reads files from
 * the persistent store at start and files given to import, and for the record
 * description parser under it (dtype.h), which also reads every create's "descr":
 * hostile bytes there must give an error, never a crash or a read past the buffer.
 */
#include <stddef.h>
#include <stdint.h>

#include <string.h>

#include "dtype.h"
#include "npy.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct meta m = {0};
    uint64_t offset;
    char err[256];
    uint8_t again[NPY_HEADER_LEN];
    static struct dtype_text text, text2; /* large; kept off the stack */
    struct dtype d, dd;
    size_t used;

    /* A description that parses is canonical: parsing its text again gives it back,
     * also where the input must be canonical already (no text buffer). */
    if (dtype_parse_descr((const char *)data, size, &d, &text, &used, err, sizeof(err)) == 0 &&
        (used > size || d.descr != text.s || strlen(d.descr) != d.descr_len ||
         dtype_parse_descr(d.descr, d.descr_len, &dd, NULL, NULL, err, sizeof(err)) != 0 ||
         dd.descr != d.descr || dd.descr_len != d.descr_len || dd.itemsize != d.itemsize))
        __builtin_trap();

    if (npy_header_parse(data, size, &m, &text2, &offset, err, sizeof(err)) == 0) {
        /* Whatever parses must format and parse back to the same description. */
        struct meta back = {0};

        if (npy_header_format(&m, again) == 0 &&
            (npy_header_parse(again, sizeof(again), &back, NULL, &offset, err,
                              sizeof(err)) != 0 ||
             back.ndim != m.ndim || back.nbytes != m.nbytes || back.order != m.order ||
             back.dtype.descr_len != m.dtype.descr_len ||
             (m.dtype.descr != NULL &&
              memcmp(back.dtype.descr, m.dtype.descr, m.dtype.descr_len) != 0)))
            __builtin_trap();
    }
    return 0;
}
