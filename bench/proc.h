/* proc.h — processes of a benchmark: CPU placement, readings from /proc, and a
 * team of forked members that start each step together.
 *
 * A team is the "N client processes" of the benchmarks: each member runs a
 * function in its own process and pauses at steps; the parent waits until every
 * member has reached a step, measures what it likes, then releases them all.
 */
#ifndef BENCH_PROC_H
#define BENCH_PROC_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#define PROC_TEAM_MAX 64

/* Put every thread of pid on CPU cpu, or back on every online CPU for cpu < 0.
 * Threads are set one by one (/proc/pid/task): a daemon's worker threads count.
 * 0 or -errno. */
int proc_place(pid_t pid, int cpu);

/* The value in kB of "field:" in /proc/<pid>/<file> (status, smaps_rollup, or with
 * pid 0 a system file such as "meminfo" under /proc), or -1 when absent. */
int64_t proc_kib(pid_t pid, const char *file, const char *field);

/* /proc/loadavg's three averages as text. */
const char *proc_loadavg(char *buf, size_t len);

/* Raise RLIMIT_NOFILE's soft limit to the hard limit; the soft limit after. */
uint64_t proc_raise_nofile(void);

/* len bytes shared with forked children (MAP_SHARED|MAP_ANONYMOUS), zeroed; NULL
 * on failure. Release with proc_shared_free. */
void *proc_shared_alloc(size_t len);
void proc_shared_free(void *p, size_t len);

struct proc_team {
    int n;
    pid_t pids[PROC_TEAM_MAX];
    int go[PROC_TEAM_MAX];  /* parent: write end per member; member: its read end */
    int ready;              /* parent: read end; member: write end */
};

/* What a member runs; its return value is its exit status. */
typedef int proc_member_fn(struct proc_team *t, int index, void *arg);

/* Fork n (1..PROC_TEAM_MAX) members running fn(t, i, arg). 0 or -errno (members
 * already started are killed and reaped). cpu >= 0 pins each member to it. */
int proc_team_start(struct proc_team *t, int n, int cpu, proc_member_fn *fn, void *arg);

/* In a member: say this step is reached, then wait to be released. 0, or -1 when
 * the parent is gone (the member should exit). */
int proc_member_step(struct proc_team *t, int index);

/* In the parent: wait until every member has reached its next step. 0 or -1 when
 * a member died first. */
int proc_team_await(struct proc_team *t);

/* In the parent: release every member from the step it waits at. */
void proc_team_release(struct proc_team *t);

/* Close the parent's ends (members blocked at a step see EOF and exit) and reap
 * every member. Returns the number of members that did not exit with 0. */
int proc_team_join(struct proc_team *t);

#endif
