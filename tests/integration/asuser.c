/* asuser.c — run a piece of a test as another uid in a forked child.
 *
 * The child forgets its parent's connections (the library reconnects after fork),
 * drops groups, gid and uid in that order, and checks the drop cannot be undone.
 */
#include "asuser.h"

#include <grp.h>
#include <stdio.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

void asuser_open_dir(struct harness *h)
{
    assert_int_equal(chmod(h->dir, 0711), 0);
}

int asuser_become(uint32_t uid, uint32_t gid)
{
    if (setgroups(0, NULL) < 0 || setgid(gid) < 0 || setuid(uid) < 0)
        return 120;
    if (setuid(0) == 0)
        return 121;
    prctl(PR_SET_DUMPABLE, 1);
    return 0;
}

int asuser_run(struct harness *h, uint32_t uid, uint32_t gid, int (*fn)(void *arg), void *arg)
{
    (void)h;
    fflush(NULL);
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        int r = asuser_become(uid, gid);
        _exit(r != 0 ? r : fn(arg));
    }
    int status = 0;
    assert_int_equal(waitpid(pid, &status, 0), pid);
    if (WIFEXITED(status))
        return WEXITSTATUS(status);
    return 128 + (WIFSIGNALED(status) ? WTERMSIG(status) : 0);
}
