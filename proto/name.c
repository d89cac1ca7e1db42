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

/* [A-Za-z0-9._-] as a set of bytes, bit c of word c / 64: one test a byte, where six
 * comparisons were: every name of a reply, a thousand a list page, is checked. */
static const uint64_t name_chars[4] = {
    0x03ff600000000000ull, /* '-' 45, '.' 46, '0'..'9' 48..57 */
    0x07fffffe87fffffeull, /* 'A'..'Z' 65..90, '_' 95, 'a'..'z' 97..122 */
    0, 0,
};

static bool name_char_ok(unsigned char c)
{
    return (name_chars[c >> 6] >> (c & 63)) & 1;
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
