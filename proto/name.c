/* name.c — the check that makes an array name safe to send and to store, and the
 * rule that reserves "uid<N>." names to user N.
 *
 * A valid name is 1..PROTO_NAME_MAX bytes of [A-Za-z0-9._-] not starting with '.',
 * so it can never be "..", a hidden file, a path or contain control bytes. Who may
 * create a reserved name is the daemon's decision (access.c); this file only reads it.
 */
#include "name.h"

#include <errno.h>
#include <string.h>

#include "proto_limits.h"

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

bool name_user_prefix(const char *name, uint32_t *ret_uid)
{
    const size_t plen = sizeof(NAME_USER_PREFIX) - 1;
    const char *d = name + plen;
    uint64_t uid = 0;
    size_t n = 0;

    if (strncmp(name, NAME_USER_PREFIX, plen) != 0)
        return false;
    while (d[n] >= '0' && d[n] <= '9') {
        if (uid < UINT32_MAX) /* saturates: anything past stays non-canonical */
            uid = uid * 10 + (uint64_t)(d[n] - '0');
        n++;
    }
    if (n == 0 || d[n] != '.')
        return false;
    /* Only the canonical spelling of a uid other than (uid_t)-1 is that user's. */
    *ret_uid = (d[0] == '0' && n > 1) || uid >= UINT32_MAX ? 0 : (uint32_t)uid;
    return true;
}
