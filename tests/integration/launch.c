/* launch.c — a test's own sharrd: the harness's paths with extra flags and limits.
 *
 * Waiting is bounded polling, as in harness.c: only a hang turns into a failure.
 */
#include "launch.h"

#include <dirent.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define LAUNCH_STEP_NS (5 * 1000 * 1000L)
#define LAUNCH_STEPS 4000 /* 20 s */

static void launch_pause(void)
{
    struct timespec ts = { 0, LAUNCH_STEP_NS };
    nanosleep(&ts, NULL);
}

/* What the daemon's child does before exec: its descriptor limit, its cgroup. */
struct launch_child {
    rlim_t nofile;     /* 0: inherited */
    const char *procs; /* NULL: the test's cgroup */
};

static void launch_child_prepare(void *arg)
{
    const struct launch_child *lc = arg;
    struct rlimit rl = { lc->nofile, lc->nofile };
    if (lc->nofile > 0 && setrlimit(RLIMIT_NOFILE, &rl) < 0)
        _exit(124);
    if (lc->procs) {
        int fd = open(lc->procs, O_WRONLY | O_CLOEXEC);
        if (fd < 0 || write(fd, "0", 1) != 1)
            _exit(123);
        close(fd);
    }
}

/* Start sharrd as launch_daemon says, moved into the cgroup of procs first when set. */
static void launch_start(struct harness *h, const char *const *extra, rlim_t nofile,
                         const char *procs)
{
    const char *argv[HARNESS_ARGS_MAX];
    struct launch_child lc = { nofile, procs };
    assert_int_equal(harness_daemon_stop(h), 0);
    harness_daemon_argv(h, harness_sharrd_path(), NULL, extra, argv);
    harness_daemon_up(h, harness_daemon_spawn(h, argv, launch_child_prepare, &lc));
}

void launch_daemon(struct harness *h, const char *const *extra, rlim_t nofile)
{
    launch_start(h, extra, nofile, NULL);
}

void launch_daemon_in(struct harness *h, const char *const *extra, const char *procs)
{
    launch_start(h, extra, 0, procs);
}

void launch_run(struct harness *h, const char *const *extra, struct harness_run *ret)
{
    const char *argv[HARNESS_ARGS_MAX];
    harness_daemon_argv(h, harness_sharrd_path(), NULL, extra, argv);
    harness_run(h, argv, ret);
}

int launch_count_fds(pid_t pid)
{
    char path[64];
    snprintf(path, sizeof path, "/proc/%d/fd", (int)pid);
    DIR *dir = opendir(path);
    if (dir == NULL)
        return -1;
    int n = 0;
    struct dirent *de;
    while ((de = readdir(dir)) != NULL)
        n += de->d_name[0] != '.';
    closedir(dir);
    return n;
}

long launch_rss_kib(pid_t pid)
{
    char path[64], line[256];
    long kib = -1;
    snprintf(path, sizeof path, "/proc/%d/status", (int)pid);
    FILE *f = fopen(path, "re");
    assert_non_null(f);
    while (fgets(line, sizeof line, f))
        if (sscanf(line, "VmRSS: %ld kB", &kib) == 1)
            break;
    fclose(f);
    return kib;
}

int launch_wait_fds(pid_t pid, int want)
{
    int seen = -1;
    for (int i = 0; i < LAUNCH_STEPS; i++) {
        seen = launch_count_fds(pid);
        if (seen == want)
            break;
        launch_pause();
    }
    return seen;
}
