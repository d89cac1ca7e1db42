/* proc.c — CPU placement, /proc readings and forked teams of the benchmarks.
 *
 * Steps use one pipe per member for release and one shared pipe for readiness, so
 * a fast member can never take the go byte meant for a slow one.
 */
#include "proc.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

int proc_place(pid_t pid, int cpu)
{
    char dir[64];
    cpu_set_t set;
    struct dirent *e;
    DIR *d;
    int err = 0;

    CPU_ZERO(&set);
    if (cpu >= 0) {
        CPU_SET(cpu, &set);
    } else {
        long n = sysconf(_SC_NPROCESSORS_ONLN);
        for (long i = 0; i < n && i < CPU_SETSIZE; i++)
            CPU_SET((int)i, &set);
    }
    snprintf(dir, sizeof(dir), "/proc/%d/task", (int)(pid == 0 ? getpid() : pid));
    d = opendir(dir);
    if (d == NULL)
        return -errno;
    while ((e = readdir(d)) != NULL) {
        pid_t tid = (pid_t)atoi(e->d_name);
        /* A thread may end between readdir and the call; that is not a failure. */
        if (tid > 0 && sched_setaffinity(tid, sizeof(set), &set) < 0 && errno != ESRCH)
            err = -errno;
    }
    closedir(d);
    return err;
}

int64_t proc_kib(pid_t pid, const char *file, const char *field)
{
    char path[128], line[256];
    size_t flen = strlen(field);
    long long v = -1;
    FILE *f;

    if (pid > 0)
        snprintf(path, sizeof(path), "/proc/%d/%s", (int)pid, file);
    else
        snprintf(path, sizeof(path), "/proc/%s", file);
    f = fopen(path, "re");
    if (f == NULL)
        return -1;
    while (fgets(line, sizeof(line), f) != NULL) {
        if (strncmp(line, field, flen) == 0 && line[flen] == ':') {
            v = strtoll(line + flen + 1, NULL, 10);
            break;
        }
    }
    fclose(f);
    return v;
}

const char *proc_loadavg(char *buf, size_t len)
{
    double a = 0, b = 0, c = 0;
    FILE *f = fopen("/proc/loadavg", "re");

    if (f == NULL || fscanf(f, "%lf %lf %lf", &a, &b, &c) != 3)
        snprintf(buf, len, "unknown");
    else
        snprintf(buf, len, "%.2f %.2f %.2f", a, b, c);
    if (f != NULL)
        fclose(f);
    return buf;
}

uint64_t proc_raise_nofile(void)
{
    struct rlimit rl;

    if (getrlimit(RLIMIT_NOFILE, &rl) < 0)
        return 0;
    if (rl.rlim_cur < rl.rlim_max) {
        rl.rlim_cur = rl.rlim_max;
        (void)setrlimit(RLIMIT_NOFILE, &rl);
        (void)getrlimit(RLIMIT_NOFILE, &rl);
    }
    return (uint64_t)rl.rlim_cur;
}

void *proc_shared_alloc(size_t len)
{
    void *p = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);

    return p == MAP_FAILED ? NULL : p;
}

void proc_shared_free(void *p, size_t len)
{
    if (p != NULL)
        munmap(p, len);
}

/* In a new member: keep only its own ends of the team's pipes. */
static void proc_member_setup(struct proc_team *t, int index, int ready_r)
{
    close(ready_r);
    for (int i = 0; i < t->n; i++) {
        if (i != index)
            close(t->go[i]);
    }
}

int proc_team_start(struct proc_team *t, int n, int cpu, proc_member_fn *fn, void *arg)
{
    int ready[2];
    int err;

    if (n < 1 || n > PROC_TEAM_MAX)
        return -EINVAL;
    if (pipe2(ready, O_CLOEXEC) < 0)
        return -errno;
    t->n = 0;
    t->ready = ready[0];
    for (int i = 0; i < n; i++) {
        int go[2];

        if (pipe2(go, O_CLOEXEC) < 0) {
            err = -errno;
            goto kill_members;
        }
        fflush(NULL); /* a member must not print the parent's buffered output again */
        pid_t pid = fork();
        if (pid < 0) {
            err = -errno;
            close(go[0]);
            close(go[1]);
            goto kill_members;
        }
        if (pid == 0) {
            close(go[1]);
            t->go[i] = go[0];
            /* Members before i hold parent write ends in t->go; close those. */
            proc_member_setup(t, i, ready[0]);
            t->n = n;
            t->ready = ready[1];
            if (cpu >= 0)
                (void)proc_place(0, cpu);
            _exit(fn(t, i, arg));
        }
        close(go[0]);
        t->pids[i] = pid;
        t->go[i] = go[1];
        t->n = i + 1;
    }
    close(ready[1]);
    return 0;

kill_members:
    close(ready[1]);
    for (int i = 0; i < t->n; i++)
        kill(t->pids[i], SIGKILL);
    proc_team_join(t);
    return err;
}

int proc_member_step(struct proc_team *t, int index)
{
    char b = 'r';

    if (write(t->ready, &b, 1) != 1)
        return -1;
    for (;;) {
        ssize_t r = read(t->go[index], &b, 1);
        if (r == 1)
            return 0;
        if (r == 0 || errno != EINTR)
            return -1;
    }
}

/* Whether a member has exited, without reaping it (proc_team_join does that). */
static int proc_team_lost(const struct proc_team *t)
{
    for (int i = 0; i < t->n; i++) {
        siginfo_t si = { 0 };

        if (waitid(P_PID, (id_t)t->pids[i], &si, WEXITED | WNOHANG | WNOWAIT) == 0 &&
            si.si_pid != 0)
            return 1;
    }
    return 0;
}

int proc_team_await(struct proc_team *t)
{
    char buf[PROC_TEAM_MAX];
    int got = 0;

    while (got < t->n) {
        struct pollfd p = { .fd = t->ready, .events = POLLIN };
        int r = poll(&p, 1, 1000);

        /* A member that died never writes; the others keep the pipe open. */
        if (r == 0 && proc_team_lost(t))
            return -1;
        if (r <= 0)
            continue;
        ssize_t nr = read(t->ready, buf, (size_t)(t->n - got));
        if (nr > 0)
            got += (int)nr;
        else if (nr == 0 || errno != EINTR)
            return -1;
    }
    return 0;
}

void proc_team_release(struct proc_team *t)
{
    char b = 'g';

    for (int i = 0; i < t->n; i++)
        (void)!write(t->go[i], &b, 1);
}

int proc_team_join(struct proc_team *t)
{
    int failed = 0;

    for (int i = 0; i < t->n; i++) {
        if (t->go[i] >= 0)
            close(t->go[i]);
        t->go[i] = -1;
    }
    for (int i = 0; i < t->n; i++) {
        int st = 0;
        pid_t r;

        while ((r = waitpid(t->pids[i], &st, 0)) < 0 && errno == EINTR)
            ;
        if (r < 0 || !WIFEXITED(st) || WEXITSTATUS(st) != 0)
            failed++;
    }
    if (t->ready >= 0)
        close(t->ready);
    t->ready = -1;
    t->n = 0;
    return failed;
}
