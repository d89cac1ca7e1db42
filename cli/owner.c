/* owner.c — USER[:GROUP], --owner USER and octal MODE arguments of the sharr CLI.
 *
 * A part made only of digits is a numeric id; anything else is looked up by name.
 * Ids of 2^32 - 1 are refused, as chown(2) reserves (uid_t)-1 for "unchanged".
 */
#include "owner.h"

#include <errno.h>
#include <grp.h>
#include <stdbool.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sharr.h"

#define OWNER_BUF 16384 /* getpwnam_r/getgrnam_r scratch space */

static int owner_id(const char *s, bool user, uint32_t *ret, char *err, size_t errlen)
{
    char buf[OWNER_BUF];
    size_t n = strspn(s, "0123456789");

    /* A negative number is no id, and no name of the user or group databases either. */
    if (s[0] == '-' && s[1] != '\0' && s[1 + strspn(s + 1, "0123456789")] == '\0') {
        snprintf(err, errlen, "'%s' is not a valid %s id", s, user ? "user" : "group");
        return -EINVAL;
    }
    if (n > 0 && s[n] == '\0') {
        unsigned long long v;

        errno = 0;
        v = strtoull(s, NULL, 10);
        if (errno || v >= UINT32_MAX) {
            snprintf(err, errlen, "'%s' is not a valid %s id", s, user ? "user" : "group");
            return -EINVAL;
        }
        *ret = (uint32_t)v;
        return 0;
    }
    if (user) {
        struct passwd pw, *found = NULL;

        if (getpwnam_r(s, &pw, buf, sizeof(buf), &found) == 0 && found) {
            *ret = (uint32_t)found->pw_uid;
            return 0;
        }
    } else {
        struct group gr, *found = NULL;

        if (getgrnam_r(s, &gr, buf, sizeof(buf), &found) == 0 && found) {
            *ret = (uint32_t)found->gr_gid;
            return 0;
        }
    }
    snprintf(err, errlen, "no %s named '%s'", user ? "user" : "group", s);
    return -ENOENT;
}

int owner_parse(const char *spec, uint32_t *ret_uid, uint32_t *ret_gid, char *err,
                size_t errlen)
{
    char user[256];
    const char *colon = strchr(spec, ':');
    size_t ulen = colon ? (size_t)(colon - spec) : strlen(spec);
    uint32_t uid = SHARR_ID_KEEP, gid = SHARR_ID_KEEP;
    int r = 0;

    if (ulen >= sizeof(user) || (ulen == 0 && (!colon || colon[1] == '\0'))) {
        snprintf(err, errlen, "'%s' is not USER[:GROUP]", spec);
        return -EINVAL;
    }
    memcpy(user, spec, ulen);
    user[ulen] = '\0';
    if (ulen > 0)
        r = owner_id(user, true, &uid, err, errlen);
    if (r == 0 && colon && colon[1] != '\0')
        r = owner_id(colon + 1, false, &gid, err, errlen);
    if (r < 0)
        return r;
    *ret_uid = uid;
    *ret_gid = gid;
    return 0;
}

int owner_parse_user(const char *s, uint32_t *ret_uid, char *err, size_t errlen)
{
    return owner_id(s, true, ret_uid, err, errlen);
}

int owner_parse_mode(const char *s, uint32_t *ret_perm, char *err, size_t errlen)
{
    char *end;
    unsigned long v;

    errno = 0;
    v = strtoul(s, &end, 8);
    if (s[0] < '0' || s[0] > '7' || *end != '\0' || errno || v > 0777) {
        snprintf(err, errlen, "'%s' is not an octal mode from 0 to 0777, like 0640", s);
        return -EINVAL;
    }
    *ret_perm = (uint32_t)v;
    return 0;
}
