/* launch.h — sharrd started by a test with flags of its own (limits, socket mode)
 * and, if asked, under a small descriptor limit, in a harness's directory.
 *
 * The harness's own daemon is stopped first; teardown stops this one the same way.
 */
#ifndef LAUNCH_H
#define LAUNCH_H

#include <sys/resource.h>

#include "harness.h"

/* Stop h's daemon (asserting a clean exit) and start sharrd with --socket and
 * --store of h, then extra (NULL-terminated, may be NULL), with RLIMIT_NOFILE set to
 * nofile (soft and hard) when nofile > 0. Waits until it answers hello. */
void launch_daemon(struct harness *h, const char *const *extra, rlim_t nofile);

/* As launch_daemon, with sharrd moved into a cgroup before it starts: procs is that
 * cgroup's cgroup.procs file (cgroup.h). */
void launch_daemon_in(struct harness *h, const char *const *extra, const char *procs);

/* Run sharrd with h's socket and store and extra flags to its end (for flags it
 * must refuse, or a second daemon); its exit code and output in *ret. */
void launch_run(struct harness *h, const char *const *extra, struct harness_run *ret);

/* Descriptors open in process pid now (from /proc/pid/fd), or -1. */
int launch_count_fds(pid_t pid);

/* Resident memory of process pid in KiB (VmRSS of /proc/pid/status), or -1. */
long launch_rss_kib(pid_t pid);

/* Poll until pid has want descriptors open; returns the last count seen. */
int launch_wait_fds(pid_t pid, int want);

#endif
