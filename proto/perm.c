/* perm.c — the permission-bits rule (perm.h). */
#include "perm.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>

bool perm_valid(uint64_t perm)
{
    return perm <= PERM_MAX;
}

int perm_check(uint64_t perm, char *err, size_t errlen)
{
    if (perm_valid(perm))
        return 0;
    if (err != NULL && errlen > 0)
        snprintf(err, errlen, "perm %#" PRIo64 ": only the bits 0777 are allowed", perm);
    return -EINVAL;
}
