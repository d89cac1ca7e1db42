/* perm.h — the one rule for an array's permission bits, which the codec, the daemon's
 * methods, its stores and its records all apply: the read, write and execute bits of
 * owner, group and others, at most 0777 (no setuid, setgid or sticky bit).
 */
#ifndef PROTO_PERM_H
#define PROTO_PERM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define PERM_MAX 0777

/* perm is permission bits an array may have. */
bool perm_valid(uint64_t perm);

/* 0, or -EINVAL with "perm 04755: only the bits 0777 are allowed" in err. */
int perm_check(uint64_t perm, char *err, size_t errlen);

#endif
