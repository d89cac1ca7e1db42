/* cgroup.h — a memory cgroup made by a test (as root) to run sharrd in, so that a
 * small memory limit can be tried without filling the host.
 *
 * cgroup v2 (memory.max) where its memory controller is available, else cgroup v1
 * (memory.limit_in_bytes). The test launches the daemon into it (launch_daemon_in)
 * and removes it at teardown, once the daemon is gone.
 */
#ifndef CGROUP_H
#define CGROUP_H

#include <stddef.h>
#include <stdint.h>

struct cgroup {
    char dir[512];    /* the cgroup's directory, "" when none was made */
    char mount[512];  /* where its hierarchy is mounted */
    char procs[600];  /* its cgroup.procs: write a pid here to move that process in */
    int version;      /* 1 or 2 */
};

/* Make a new memory cgroup limited to limit bytes. Tries, in order: a child of this
 * process's own cgroup (so any limit above it still applies), a child of the root of
 * the hierarchy. Returns 0, or a negative errno with why (for the skip message) when
 * no memory cgroup can be made on this host. */
int cgroup_make(struct cgroup *cg, uint64_t limit, char *why, size_t whylen);

/* The lowest memory limit of the cgroup and of its ancestors up to the mount point
 * (what the kernel enforces on it), UINT64_MAX when none. */
uint64_t cgroup_limit(const struct cgroup *cg);

/* Bytes the cgroup holds now (memory.current or memory.usage_in_bytes), 0 if unknown. */
uint64_t cgroup_usage(const struct cgroup *cg);

/* Remove the cgroup made by cgroup_make (its processes must have exited; retried
 * briefly while the kernel lets go of them). No-op when none was made. */
void cgroup_remove(struct cgroup *cg);

#endif
