/* memlimit.h — how much memory this sharrd may use: the host's MemTotal and the
 * memory limit of the cgroup it runs in, whichever is lower.
 *
 * The kernel charges a memfd's pages to the memory cgroup of the task that
 * allocates them, and sharrd allocates every page of a volatile array itself
 * (posix_fallocate): so its own cgroup's limit bounds all volatile arrays together.
 * policy.c derives the default volatile caps from this; nothing here decides.
 */
#ifndef DAEMON_MEMLIMIT_H
#define DAEMON_MEMLIMIT_H

#include <stddef.h>
#include <stdint.h>

#define MEMLIMIT_PATH_MAX 512

struct memlimit {
    uint64_t total;                  /* MemTotal in bytes; 0 when unknown */
    uint64_t cgroup;                 /* the lowest memory limit of the daemon's cgroup and
                                      * its ancestors, in bytes; UINT64_MAX when none */
    char cgroup_file[MEMLIMIT_PATH_MAX]; /* the file that limit was read from, or "" */
    uint64_t ceiling;                /* min(total, cgroup): what a percentage of memory
                                      * is of; 0 when unknown */
};

/* Read MemTotal from /proc/meminfo and the cgroup limits: /proc/self/cgroup names the
 * daemon's cgroup, /proc/self/mountinfo where its hierarchy is mounted; then, from
 * that cgroup up to the root of the mount, cgroup v2's memory.max ("max": none) and
 * cgroup v1's memory.limit_in_bytes (2^62 or more: none); the lowest wins. root is
 * prepended to every path ("" on a real system; tests point it at a tree of their
 * own). Missing files mean "no limit there". Never fails. */
void memlimit_read(const char *root, struct memlimit *ret);

#endif
