/* launch.c — a test's own sharrd: the harness's paths with extra flags and limits.
 *
 * Waiting is bounded polling, as in harness.c: only a hang turns into a failure.
 */
#include "launch.h"

#include <dirent.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define LAUNCH_ARGS_MAX 32
#define LAUNCH_STEP_NS (5 * 1000 * 1000L)
#define LAUNCH_STEPS 4000 /* 20 s */

static void launch_pause(void)
{
    struct timespec ts = { 0, LAUNCH_STEP_NS };
    nanosleep(&ts, NULL);
}

static void launch_argv(struct harness *h, const char *const *extra, const char **argv)
{
    int n = 0;
    argv[n++] = harness_sharrd_path();
    argv[n++] = "--socket";
    argv[n++] = h->sock;
    argv[n++] = "--store";
    argv[n++] = h->store;
    argv[n++] = "--config";
    argv[n++] = "";
    for (int i = 0; extra && extra[i]; i++) {
        assert_true(n < LAUNCH_ARGS_MAX - 1);
        argv[n++] = extra[i];
    }
    argv[n] = NULL;
}

/* Start sharrd as launch_daemon says, moved into the cgroup of procs first when set. */
static void launch_start(struct harness *h, const char *const *extra, rlim_t nofile,
                         const char *procs)
{
    const char *argv[LAUNCH_ARGS_MAX];
    assert_int_equal(harness_daemon_stop(h), 0);
    launch_argv(h, extra, argv);
    pid_t parent = getpid();
    fflush(NULL);
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        harness_daemon_child_prepare(h, parent);
        struct rlimit rl = { nofile, nofile };
        if (nofile > 0 && setrlimit(RLIMIT_NOFILE, &rl) < 0)
            _exit(124);
        if (procs) {
            int fd = open(procs, O_WRONLY | O_CLOEXEC);
            if (fd < 0 || write(fd, "0", 1) != 1)
                _exit(123);
            close(fd);
        }
        execv(argv[0], (char *const *)argv);
        _exit(127);
    }
    h->daemon = pid;
    for (int i = 0; i < LAUNCH_STEPS; i++) {
        int status;
        if (waitpid(pid, &status, WNOHANG) == pid) {
            h->daemon = 0;
            print_error("sharrd exited during start (status %d)\n", status);
            fail();
        }
        sharr_t *conn = NULL;
        if (sharr_connect(h->sock, &conn) == 0) {
            sharr_disconnect(conn);
            return;
        }
        launch_pause();
    }
    print_error("sharrd did not answer on %s\n", h->sock);
    fail();
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
    const char *argv[LAUNCH_ARGS_MAX];
    launch_argv(h, extra, argv);
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
