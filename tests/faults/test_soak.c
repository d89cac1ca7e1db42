/* test_soak.c — 20 client processes create, open, write, verify and unlink arrays
 * for a bounded time while the test SIGKILLs random clients and restarts the daemon
 * twice (once killed, once with SIGTERM), with the fd store played by the test. At
 * the end every array verifies the checksum its creator wrote, and the daemon's
 * descriptors and memory are back at the baseline.
 *
 * CI runs it for a few seconds; $SHARR_SOAK_SECONDS runs it longer, e.g.
 *   SHARR_SOAK_SECONDS=600 build/tests/faults/faults_soak
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "fault.h"
#include "launch.h"
#include "testskip.h"

#define WORKERS 20
#define NAMES_PER_WORKER 5
#define WORDS_MAX 32768u
#define RSS_SLACK_KIB 8192

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void nap_ms(long ms)
{
    struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };
    nanosleep(&ts, NULL);
}

/* An array verifies when word 0 (the seed, written last) is 0 — its creator died
 * before finishing — or the rest is the seed's pattern. */
static int verify(const sharr_array_t *a, int *ret_committed)
{
    const uint64_t *w = sharr_array_data(a);
    uint64_t nbytes = sharr_array_info(a)->nbytes;
    *ret_committed = w[0] != 0;
    return w[0] == 0 || fault_check(w + 1, nbytes - 8, w[0]);
}

static int transient(int rc)
{
    return rc == -ECONNRESET || rc == -ECONNREFUSED || rc == -ENOENT || rc == -EPIPE
           || rc == -EEXIST || rc == -EAGAIN;
}

/* One worker: its own names w<k>-<j>, until the deadline. Exit 1 on a wrong byte or
 * an unexpected error. */
static int worker(int k, double deadline)
{
    sharr_t *c = NULL;
    unsigned seed = (unsigned)(getpid() * 2654435761u);
    while (sharr_connect(NULL, &c) < 0) {
        if (now_s() > deadline)
            return 0;
        nap_ms(20);
    }
    while (now_s() < deadline) {
        char name[32];
        int rc = 0, committed;
        sharr_array_t *a = NULL;
        snprintf(name, sizeof(name), "w%d-%d", k, rand_r(&seed) % NAMES_PER_WORKER);
        switch (rand_r(&seed) % 4) {
        case 0:
        case 1: {
            struct sharr_create_opts o = { .size = sizeof(o), .overwrite = 1,
                                           .persist = rand_r(&seed) % 2 };
            uint64_t shape[1] = { 2 + rand_r(&seed) % WORDS_MAX };
            rc = sharr_create(c, name, "<u8", 1, shape, &o, &a);
            if (rc == 0) {
                uint64_t *w = sharr_array_data(a);
                uint64_t s = ((uint64_t)rand_r(&seed) << 32 | (uint64_t)rand_r(&seed)) | 1;
                fault_fill(w + 1, (shape[0] - 1) * 8, s);
                __atomic_store_n(&w[0], s, __ATOMIC_RELEASE);
            }
            break;
        }
        case 2:
            rc = sharr_open(c, name, "r", NULL, &a);
            if (rc == 0 && !verify(a, &committed)) {
                fprintf(stderr, "worker %d: %s fails its checksum\n", k, name);
                return 1;
            }
            break;
        default:
            rc = sharr_unlink(c, name);
            break;
        }
        sharr_close(a);
        if (rc < 0 && !transient(rc)) {
            fprintf(stderr, "worker %d: %s: %s (%s)\n", k, name, sharr_strerror(rc),
                    sharr_last_error());
            return 1;
        }
        if (rc < 0 && rc != -ENOENT && rc != -EEXIST)
            nap_ms(20); /* the daemon is restarting */
    }
    sharr_disconnect(c);
    return 0;
}

static pid_t spawn_worker(int k, double deadline)
{
    fflush(NULL);
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0)
        _exit(worker(k, deadline));
    return pid;
}

static void reap(pid_t pid, int killed)
{
    int status;
    assert_int_equal(waitpid(pid, &status, 0), pid);
    if (killed && WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL)
        return;
    if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
        print_error("worker %d ended with status 0x%x\n", (int)pid, status);
    assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
}

static void test_soak_with_client_kills_and_daemon_restarts(void **state)
{
    struct harness *h = *state;
    struct fault_fdstore fs;
    const char *env = getenv("SHARR_SOAK_SECONDS");
    double seconds = env ? atof(env) : 6.0 * fault_scale();
    pid_t pids[WORKERS];
    int kills = 0;

    if (seconds < 3)
        seconds = 3;
    harness_daemon_stop(h);
    fault_fdstore_init(&fs, h);
    fault_daemon_start(h, NULL, &fs);
    /* Measured as at the end: with exactly one client connected. */
    sharr_t *c0 = harness_connect(h);
    assert_int_equal(harness_wait_connections(c0, 1), 1);
    int base_fds = fault_daemon_fds(h, c0);
    long base_rss = fault_daemon_rss_kib(h);
    sharr_disconnect(c0);

    double start = now_s(), deadline = start + seconds;
    srand(777);
    for (int k = 0; k < WORKERS; k++)
        pids[k] = spawn_worker(k, deadline);
    int restarts = 0;
    while (now_s() < deadline) {
        nap_ms(100);
        if (restarts < 2 && now_s() > start + seconds * (restarts + 1) / 3) {
            if (restarts == 0)
                fault_daemon_kill(h);
            else
                assert_int_equal(harness_daemon_stop(h), 0);
            fault_daemon_start(h, NULL, &fs);
            restarts++;
        }
        if (rand() % 3 == 0) {
            int k = rand() % WORKERS;
            kill(pids[k], SIGKILL);
            reap(pids[k], 1);
            kills++;
            pids[k] = spawn_worker(k, deadline);
        }
    }
    for (int k = 0; k < WORKERS; k++)
        reap(pids[k], 0);
    assert_int_equal(restarts, 2);

    /* Every array left verifies. One left unfinished (seed word 0) is one whose creator
     * never got it: killed, or its create's reply lost with the killed daemon. */
    sharr_t *c = harness_connect(h);
    struct sharr_info list[WORKERS * NAMES_PER_WORKER + 1];
    size_t n = 0;
    int more = 0, unfinished = 0;
    assert_rc(sharr_list(c, NULL, list, sizeof(list) / sizeof(list[0]), &n, &more), 0);
    assert_int_equal(more, 0);
    for (size_t i = 0; i < n; i++) {
        sharr_array_t *a;
        int committed;
        assert_rc(sharr_open(c, list[i].name, "r", NULL, &a), 0);
        assert_true(verify(a, &committed));
        unfinished += !committed;
        assert_rc(sharr_close(a), 0);
        assert_rc(sharr_unlink(c, list[i].name), 0);
    }
    assert_int_equal(harness_wait_connections(c, 1), 1);
    assert_int_equal(harness_wait_attachments(c, 0), 0);
    /* The thread pool holds a descriptor of each file just unlinked while it gives
     * back its blocks: waited for (bounded). */
    (void)fault_daemon_fds(h, c);
    int fds = launch_wait_fds(h->daemon, base_fds);
    long rss = fault_daemon_rss_kib(h);
    print_message("%.0f s, %d clients killed, 2 restarts, %zu arrays verified (%d never "
                  "filled: creator killed or reply lost); descriptors %d -> %d, rss %ld -> %ld KiB\n",
                  seconds, kills, n, unfinished, base_fds, fds, base_rss, rss);
    assert_int_equal(fds, base_fds);
    fault_assert_rss_at_most(rss, base_rss + RSS_SLACK_KIB, "after the soak");
    assert_int_equal(fault_fdstore_drain(&fs), 0);
    sharr_disconnect(c);
    assert_int_equal(harness_daemon_stop(h), 0);
    fault_fdstore_close(&fs);
    fault_daemon_start(h, NULL, NULL);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_soak_with_client_kills_and_daemon_restarts,
                                        harness_setup, harness_teardown),
    };
    return testskip_exit(cmocka_run_group_tests(tests, NULL, NULL));
}
