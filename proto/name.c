/* name.c — the check that makes an array name safe to send and to store.
 *
 * A valid name is 1..PROTO_NAME_MAX bytes of [A-Za-z0-9._-] not starting with '.',
 * so it can never be "..", a hidden file, a path or contain control bytes.
 */
#include "name.h"

#include <errno.h>
#include <stdbool.h>

#include "limits.h"

static bool name_char_ok(unsigned char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
           c == '.' || c == '_' || c == '-';
}

int name_check(const char *name, size_t len)
{
    if (name == NULL || len == 0)
        return -EINVAL;
    if (len > PROTO_NAME_MAX)
        return -ENAMETOOLONG;
    if (name[0] == '.')
        return -EINVAL;
    for (size_t i = 0; i < len; i++) {
        if (!name_char_ok((unsigned char)name[i]))
            return -EINVAL;
    }
    return 0;
}
