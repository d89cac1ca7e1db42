/* publish.c — bench_publish: how soon a consumer waiting for an array's publish
 * returns, next to the attach floor measured in the same run.
 *
 * A consumer process blocks in sharr_open(mode r, wait forever, SHARR_F_PUBLISHED) of
 * an array that exists unpublished; the producer (this process) calls sharr_publish.
 * The latency is from just before that call to the consumer's return from
 * sharr_open, both read from CLOCK_MONOTONIC, which every process shares. Beside it,
 * in the same loop: the attach floor (floor.c: a descriptor round trip + mmap/munmap,
 * timed in the consumer), a plain sharr_open of a published array (no wait), and the
 * kernel's cross-process wake-up alone (the consumer blocked in read(2) on a pipe, the
 * producer writing one byte): what any notification costs before sharr does anything.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#include "floor.h"
#include "harness.h"
#include "proc.h"
#include "report.h"
#include "stats.h"

#define PUBLISH_NAME "bench.publish"
#define PUBLISH_BYTES (1024u * 1024)  /* data bytes of the array, as bench_attach's */
#define PUBLISH_SAMPLES 4096          /* per method, at most */

enum method { M_VOLATILE, M_PERSISTENT, M_OPEN, M_FLOOR, M_WAKE, M_COUNT };

static const char *const method_names[M_COUNT] = {
    [M_VOLATILE] = "publish → waiting sharr_open returns (volatile)",
    [M_PERSISTENT] = "publish → waiting sharr_open returns (persistent)",
    [M_OPEN] = "sharr_open(r) of a published array, no wait",
    [M_FLOOR] = "floor: fd round trip + mmap/munmap",
    [M_WAKE] = "wake-up alone: pipe write → blocked read returns",
};

/* What the consumer and the producer share: the method of the step, the time the
 * producer acted (or the consumer started, for the methods it times alone) and the
 * time the consumer returned. */
struct shared {
    enum method m;
    uint64_t t0, t1;
    int rc;
};

struct ctx {
    struct shared *sh;
    const char *floor_path;
    int wake[2];
};

/* The consumer: one step per sample, the method the producer set before releasing it. */
static int publish_consumer(struct proc_team *t, int i, void *arg)
{
    const struct ctx *ctx = arg;
    struct shared *sh = ctx->sh;
    struct sharr_open_opts wait = { .size = sizeof(wait), .wait_ms = -1,
                                    .flags = SHARR_F_PUBLISHED };
    sharr_t *conn = NULL;
    int sock, r;

    r = sharr_connect(NULL, &conn);
    sock = r < 0 ? r : floor_connect(ctx->floor_path);
    if (r < 0 || sock < 0) {
        fprintf(stderr, "bench_publish: consumer: connect: %s\n", strerror(-(r < 0 ? r : sock)));
        return 1;
    }
    while (proc_member_step(t, i) == 0) {
        sharr_array_t *a = NULL;
        uint64_t t0 = stats_ns();
        char b;
        int fd;

        switch (sh->m) {
        case M_VOLATILE:
        case M_PERSISTENT:
            r = sharr_open(conn, PUBLISH_NAME, "r", &wait, &a);
            sh->t1 = stats_ns();
            break;
        case M_OPEN:
            r = sharr_open(conn, PUBLISH_NAME, "r", NULL, &a);
            sh->t1 = stats_ns();
            sh->t0 = t0;
            break;
        case M_FLOOR:
            r = floor_fetch(sock, &fd);
            if (r == 0) {
                void *p = mmap(NULL, PUBLISH_BYTES, PROT_READ, MAP_SHARED, fd, 4096);
                r = p == MAP_FAILED ? -errno : munmap(p, PUBLISH_BYTES);
                close(fd);
            }
            sh->t1 = stats_ns();
            sh->t0 = t0;
            break;
        case M_WAKE:
            r = read(ctx->wake[0], &b, 1) == 1 ? 0 : -EIO;
            sh->t1 = stats_ns();
            break;
        default:
            r = -EINVAL;
        }
        if (a != NULL)
            (void)sharr_close(a);
        sh->rc = r;
    }
    sharr_disconnect(conn);
    close(sock);
    return 0;
}

/* Whether process pid sleeps (state S in /proc/pid/stat): blocked in a system call. */
static int publish_sleeping(pid_t pid)
{
    char path[64], buf[256], *p;
    FILE *f;
    size_t n;

    snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
    f = fopen(path, "r");
    if (f == NULL)
        return 0;
    n = fread(buf, 1, sizeof(buf) - 1, f);
    fclose(f);
    buf[n] = '\0';
    p = strrchr(buf, ')');
    return p != NULL && p[1] == ' ' && p[2] == 'S';
}

/* Let the consumer reach its blocking call: 1 ms, then until the kernel says it sleeps. */
static void publish_until_blocked(pid_t pid)
{
    struct timespec ms = { 0, 1000000 }, tick = { 0, 50000 };

    nanosleep(&ms, NULL);
    for (int i = 0; i < 200 && !publish_sleeping(pid); i++)
        nanosleep(&tick, NULL);
}

/* The array the next sample opens: new (w+ on the name) and, for the methods that
 * wait for the publish, not published yet. */
static void publish_prepare(struct harness *h, enum method m)
{
    struct sharr_create_opts co = { .size = sizeof(co), .overwrite = 1,
                                    .persist = m == M_PERSISTENT, .flags = SHARR_F_NOMAP };
    uint64_t shape[1] = { PUBLISH_BYTES };
    sharr_array_t *a;

    harness_check(h, sharr_create(h->conn, PUBLISH_NAME, "|u1", 1, shape, &co, &a),
                  "create " PUBLISH_NAME);
    sharr_close(a);
    if (m == M_OPEN)
        harness_check(h, sharr_publish(h->conn, PUBLISH_NAME, NULL), "publish");
}

int main(int argc, char **argv)
{
    static double lat[M_COUNT][PUBLISH_SAMPLES], own[2][PUBLISH_SAMPLES];
    struct stats_summary s[M_COUNT], pub[2];
    struct floor_server fl = { 0 };
    struct proc_team team;
    struct harness h;
    struct ctx ctx = { 0 };
    char floor_path[PATH_MAX], load[64];
    size_t n = 0;
    int memfd, r;

    harness_init(&h, argc, argv);
    size_t samples = h.quick ? 30 : 400;

    memfd = memfd_create("bench-floor", MFD_CLOEXEC);
    if (memfd < 0 || posix_fallocate(memfd, 0, 4096 + PUBLISH_BYTES) != 0) {
        perror("bench_publish: floor memfd");
        return 1;
    }
    r = snprintf(floor_path, sizeof(floor_path), "%s/bench-floor-%d.sock", h.scratch,
                 (int)getpid());
    r = r < (int)sizeof(floor_path) ? floor_start(&fl, floor_path, memfd) : -ENAMETOOLONG;
    if (r < 0 || pipe(ctx.wake) < 0) {
        fprintf(stderr, "bench_publish: floor server on %s: %s\n", floor_path,
                strerror(r < 0 ? -r : errno));
        return 1;
    }
    ctx.sh = proc_shared_alloc(sizeof(struct shared));
    ctx.floor_path = floor_path;
    if (ctx.sh == NULL || proc_team_start(&team, 1, -1, publish_consumer, &ctx) < 0) {
        perror("bench_publish: consumer");
        return 1;
    }
    report_title("Publish: a waiting consumer's return against the attach floor (bench_publish)");

    /* Methods interleaved sample by sample: a burst of load hurts all of them alike.
     * The consumer takes one step per sample; reaching the next step says it is done
     * with the last, whose result is read then. */
    int prev = -1;
    size_t prev_n = 0;
    for (n = 0; n <= samples; n++) {
        for (int m = 0; m < M_COUNT; m++) {
            if (proc_team_await(&team) < 0)
                goto lost;
            if (prev >= 0) {
                if (ctx.sh->rc < 0) {
                    fprintf(stderr, "bench_publish: %s: %s\n", method_names[prev],
                            strerror(-ctx.sh->rc));
                    return 1;
                }
                lat[prev][prev_n] = (double)(ctx.sh->t1 - ctx.sh->t0) / 1e3;
            }
            if (n == samples)
                break;
            publish_prepare(&h, (enum method)m);
            ctx.sh->m = (enum method)m;
            ctx.sh->rc = 0;
            proc_team_release(&team);
            if (m == M_VOLATILE || m == M_PERSISTENT) {
                publish_until_blocked(team.pids[0]);
                ctx.sh->t0 = stats_ns();
                harness_check(&h, sharr_publish(h.conn, PUBLISH_NAME, NULL), "publish");
                own[m][n] = (double)(stats_ns() - ctx.sh->t0) / 1e3;
            } else if (m == M_WAKE) {
                publish_until_blocked(team.pids[0]);
                ctx.sh->t0 = stats_ns();
                if (write(ctx.wake[1], "w", 1) != 1) {
                    perror("bench_publish: wake pipe");
                    return 1;
                }
            }
            prev = m;
            prev_n = n;
        }
    }
    n = samples;
    proc_team_join(&team);
    sharr_unlink(h.conn, PUBLISH_NAME);
    floor_stop(&fl);
    close(memfd);

    for (int m = 0; m < M_COUNT; m++)
        stats_summarize(lat[m], n, &s[m]);
    stats_summarize(own[M_VOLATILE], n, &pub[0]);
    stats_summarize(own[M_PERSISTENT], n, &pub[1]);
    report_text("One consumer process and this producer, on any CPU; array of 1 MiB. For "
                "the publish rows the consumer is blocked in sharr_open(r, wait forever, "
                "SHARR_F_PUBLISHED) of an unpublished array (a new one each sample) and "
                "the time runs from just before the producer's sharr_publish to the "
                "consumer's return, CLOCK_MONOTONIC in both processes. The attach floor "
                "and the plain open are timed in the consumer alone. %zu samples of each, "
                "interleaved. Load average: %s.",
                n, proc_loadavg(load, sizeof(load)));
    report_columns("method", "p50 µs", "p99 µs", "min µs", "p50 / attach floor",
                   "p50 / wake-up", NULL);
    for (int m = 0; m < M_COUNT; m++)
        report_row("%s | %.1f | %.1f | %.1f | %.2f | %.2f", method_names[m], s[m].p50,
                   s[m].p99, s[m].min, s[m].p50 / s[M_FLOOR].p50, s[m].p50 / s[M_WAKE].p50);
    report_end();
    report_text("The producer's sharr_publish itself returned in %.1f µs (p50; p99 %.1f) for "
                "a volatile array (the daemon seals the memfd: F_SEAL_FUTURE_WRITE) and "
                "%.1f µs (p99 %.1f) for a persistent one (the file loses its write bits). "
                "A waiting consumer's return is the daemon's attach reply to a request it "
                "already holds: one message and a descriptor instead of a round trip, "
                "then the consumer's mmap, after the publish request reaches the daemon.",
                pub[0].p50, pub[0].p99, pub[1].p50, pub[1].p99);
    harness_close(&h);
    proc_shared_free(ctx.sh, sizeof(struct shared));
    return 0;
lost:
    fprintf(stderr, "bench_publish: the consumer process died\n");
    proc_team_join(&team);
    floor_stop(&fl);
    return 1;
}
