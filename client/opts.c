/* opts.c — reading an option struct that carries its size (sharr_create_opts,
 * sharr_open_opts): the library copies only the bytes the caller's size covers into a
 * struct of its own, zeroed, so a program built against an older sharr.h passes a
 * shorter struct and gets the defaults (0) for fields it does not know, and a newer
 * one may pass a longer struct as long as what this library does not know is zero.
 */
#include <errno.h>
#include <string.h>

#include "client.h"

int opts_read(const void *opts, size_t known, void *out, const char *what)
{
    const unsigned char *tail;
    size_t size;

    memset(out, 0, known);
    if (opts == NULL)
        return 0;
    memcpy(&size, opts, sizeof(size));
    if (size < sizeof(size))
        return client_fail(-EINVAL, "%s: size is %zu: set it to sizeof(struct %s) "
                           "(as the initialiser in sharr.h does)", what, size, what);
    tail = (const unsigned char *)opts + known;
    for (size_t i = 0; size > known && i < size - known; i++) {
        if (tail[i] != 0)
            return client_fail(-E2BIG, "%s: byte %zu is set, past the %zu bytes libsharr "
                               SHARR_VERSION_STRING " knows: an option of a newer sharr.h",
                               what, known + i, known);
    }
    memcpy(out, opts, size < known ? size : known);
    return 0;
}
