/* attach.c — bench_attach: how long an attach takes and how many a second, next to
 * its floor measured in the same run and the same CPU placement.
 *
 * An attach is sharr_open + sharr_close on one persistent connection per client
 * process (open by name, map, unmap, release), with libsharr's attach cache off so
 * that each is a round trip to sharrd; once more with the cache at its default, where
 * the array the process attached a moment ago comes from the cache. Its floor is
 * floor.c's server: one round trip whose reply carries a descriptor, then mmap +
 * munmap + close of it.
 * Also measured: the floor with a second plain round trip (what a release costs),
 * and open()+mmap of a tmpfs file by path. 1, 2, 8 and 32 client processes, first
 * on any CPU, then everything (daemon threads, floor server, clients) on CPU 0.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "floor.h"
#include "harness.h"
#include "proc.h"
#include "report.h"
#include "stats.h"

#define ATTACH_NAME "bench.attach"
#define ATTACH_BYTES (1024u * 1024)  /* data bytes of the array attached */
#define ATTACH_WARMUP 50
#define ATTACH_SAMPLES (1u << 20)    /* latency samples kept per run, all members */

/* M_SHARR and M_SHARR_R run with libsharr's attach cache off (SHARR_CACHE_MAX=0): every
 * attach a round trip to sharrd, the path the floor stands for. M_SHARR_CACHED runs
 * with the cache at its default: an array the process attached a moment ago, attached
 * again with no round trip. */
enum method { M_SHARR, M_SHARR_R, M_SHARR_CACHED, M_FLOOR, M_FLOOR2, M_OPEN, M_COUNT };

static const char *const method_names[M_COUNT] = {
    [M_SHARR] = "sharr_open(r+) + sharr_close",
    [M_SHARR_R] = "sharr_open(r) + sharr_close",
    [M_SHARR_CACHED] = "sharr_open(r+) + sharr_close, attach cache on (default)",
    [M_FLOOR] = "floor: fd round trip + mmap/munmap",
    [M_FLOOR2] = "floor + 2nd round trip (as a release)",
    [M_OPEN] = "open() + mmap/munmap of a tmpfs file",
};

/* What the members of one run share with the parent. */
struct shared {
    uint64_t deadline_ns;
    uint64_t ops[PROC_TEAM_MAX];
    uint64_t end_ns[PROC_TEAM_MAX];
    uint64_t kept[PROC_TEAM_MAX];
    double lat[ATTACH_SAMPLES];   /* µs per attach; member i owns a slice */
    double part[ATTACH_SAMPLES];  /* µs of its first half: sharr_open, or the fd fetch */
};

struct run {
    enum method m;
    int n;
    struct shared *sh;
    const char *floor_path;
    const char *file_path;
};

/* Samples of one method and client count over every round of one placement. */
struct series {
    double *lat, *part;
    size_t n, cap;
    uint64_t ops;
    double secs;
};

/* Map fd's ATTACH_BYTES of data, unmap them and close fd, as an attach's user would. */
static int attach_map_drop(int fd)
{
    void *p = mmap(NULL, ATTACH_BYTES, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 4096);

    if (p == MAP_FAILED) {
        int err = -errno;

        close(fd);
        return err;
    }
    munmap(p, ATTACH_BYTES);
    close(fd);
    return 0;
}

static int attach_one(const struct run *run, sharr_t *conn, int sock, double *part_us)
{
    uint64_t t0 = stats_ns();
    int fd, r;

    switch (run->m) {
    case M_SHARR:
    case M_SHARR_R:
    case M_SHARR_CACHED: {
        sharr_array_t *a;
        r = sharr_open(conn, ATTACH_NAME, run->m == M_SHARR ? "r+" : "r", NULL, &a);
        if (r < 0)
            return r;
        *part_us = (double)(stats_ns() - t0) / 1e3;
        return sharr_close(a);
    }
    case M_FLOOR:
    case M_FLOOR2:
        r = floor_fetch(sock, &fd);
        if (r < 0)
            return r;
        *part_us = (double)(stats_ns() - t0) / 1e3;
        r = attach_map_drop(fd);
        return r < 0 || run->m != M_FLOOR2 ? r : floor_ping(sock);
    case M_OPEN:
        fd = open(run->file_path, O_RDWR | O_CLOEXEC);
        if (fd < 0)
            return -errno;
        *part_us = (double)(stats_ns() - t0) / 1e3;
        return attach_map_drop(fd);
    default:
        return -EINVAL;
    }
}

static int attach_member(struct proc_team *t, int i, void *arg)
{
    const struct run *run = arg;
    struct shared *sh = run->sh;
    size_t cap = ATTACH_SAMPLES / (size_t)run->n, kept = 0;
    double *lat = sh->lat + (size_t)i * cap, *part = sh->part + (size_t)i * cap;
    sharr_t *conn = NULL;
    uint64_t ops = 0, now;
    int sock = -1, r = 0;

    if (run->m == M_SHARR || run->m == M_SHARR_R || run->m == M_SHARR_CACHED) {
        /* The connection reads SHARR_CACHE_MAX when it is made; members are forked. */
        if (run->m == M_SHARR_CACHED)
            unsetenv("SHARR_CACHE_MAX");
        else
            setenv("SHARR_CACHE_MAX", "0", 1);
        r = sharr_connect(NULL, &conn);
    }
    else if (run->m == M_FLOOR || run->m == M_FLOOR2)
        r = sock = floor_connect(run->floor_path);
    for (int w = 0; r >= 0 && w < ATTACH_WARMUP; w++) {
        double ignored;
        r = attach_one(run, conn, sock, &ignored);
    }
    if (r < 0) {
        fprintf(stderr, "bench_attach: %s: %s (%s)\n", method_names[run->m], strerror(-r),
                sharr_last_error());
        return 1;
    }
    if (proc_member_step(t, i) < 0)
        return 1;
    while ((now = stats_ns()) < sh->deadline_ns) {
        double p = 0;

        r = attach_one(run, conn, sock, &p);
        if (r < 0) {
            fprintf(stderr, "bench_attach: %s: %s\n", method_names[run->m], strerror(-r));
            return 1;
        }
        uint64_t end = stats_ns();
        if (kept < cap) {
            lat[kept] = (double)(end - now) / 1e3;
            part[kept] = p;
            kept++;
        }
        ops++;
    }
    sh->ops[i] = ops;
    sh->kept[i] = kept;
    sh->end_ns[i] = stats_ns();
    sharr_disconnect(conn);
    if (sock >= 0)
        close(sock);
    return 0;
}

static int series_add(struct series *s, const double *lat, const double *part, size_t n)
{
    if (s->n + n > s->cap) {
        size_t cap = (s->n + n) * 2;
        double *l = realloc(s->lat, cap * sizeof(double));
        if (l == NULL)
            return -ENOMEM;
        s->lat = l;
        double *p = realloc(s->part, cap * sizeof(double));
        if (p == NULL)
            return -ENOMEM;
        s->part = p;
        s->cap = cap;
    }
    memcpy(s->lat + s->n, lat, n * sizeof(double));
    memcpy(s->part + s->n, part, n * sizeof(double));
    s->n += n;
    return 0;
}

/* One run: n members doing method m for secs; their samples join s. */
static int attach_run(struct run *run, int cpu, double secs, struct series *s)
{
    struct shared *sh = run->sh;
    struct proc_team team;
    uint64_t t0, last = 0;
    int r;

    memset(sh->ops, 0, sizeof(sh->ops));
    memset(sh->kept, 0, sizeof(sh->kept));
    memset(sh->end_ns, 0, sizeof(sh->end_ns));
    r = proc_team_start(&team, run->n, cpu, attach_member, run);
    if (r < 0)
        return r;
    if (proc_team_await(&team) < 0) {
        proc_team_join(&team);
        return -ECHILD;
    }
    t0 = stats_ns();
    sh->deadline_ns = t0 + (uint64_t)(secs * 1e9);
    proc_team_release(&team);
    if (proc_team_join(&team) != 0)
        return -ECHILD;
    size_t cap = ATTACH_SAMPLES / (size_t)run->n;
    for (int i = 0; i < run->n; i++) {
        r = series_add(s, sh->lat + (size_t)i * cap, sh->part + (size_t)i * cap,
                       sh->kept[i]);
        if (r < 0)
            return r;
        s->ops += sh->ops[i];
        if (sh->end_ns[i] > last)
            last = sh->end_ns[i];
    }
    s->secs += (double)(last - t0) / 1e9;
    return 0;
}

/* Place the daemon, the floor server and this process (members inherit nothing:
 * proc_team_start places them itself). */
static void attach_place(const struct harness *h, const struct floor_server *f, int cpu)
{
    int r1 = proc_place(h->daemon_pid, cpu), r2 = proc_place(f->pid, cpu);
    int r3 = proc_place(0, cpu);

    if (r1 < 0 || r2 < 0 || r3 < 0)
        fprintf(stderr, "bench_attach: cannot place processes on CPU %d: %s\n", cpu,
                strerror(-(r1 < 0 ? r1 : r2 < 0 ? r2 : r3)));
}

struct result {
    struct stats_summary lat, part;
    double rate;
};

static void attach_summarize(struct series *s, struct result *out)
{
    stats_summarize(s->lat, s->n, &out->lat);
    stats_summarize(s->part, s->n, &out->part);
    out->rate = s->secs > 0 ? (double)s->ops / s->secs : 0;
}

/* The cost of one null system call here (getpid, bypassing any cache), in µs: on a
 * VM it sets the price of every extra call an attach makes. */
static double attach_syscall_us(void)
{
    const int n = 100000;
    uint64_t t0 = stats_ns();

    for (int i = 0; i < n; i++)
        (void)syscall(SYS_getpid);
    return (double)(stats_ns() - t0) / 1e3 / n;
}

static void attach_targets(const char *where, const struct result *one,
                           const struct result *eight, double syscall_us)
{
    const struct result *sh1 = &one[M_SHARR], *fl1 = &one[M_FLOOR], *fl21 = &one[M_FLOOR2];
    char target[160], measured[160], why[900];
    double ratio = sh1->lat.p50 / fl1->lat.p50;

    snprintf(target, sizeof(target), "attach p50 <= 1.25x SCM_RIGHTS+mmap floor (%s)", where);
    snprintf(measured, sizeof(measured), "%.1f µs vs %.1f µs = %.2fx", sh1->lat.p50,
             fl1->lat.p50, ratio);
    snprintf(why, sizeof(why),
             "an attach is one round trip and the same system calls as the floor's (the "
             "description is the connection's own, reopened only at its first attach; the "
             "release is a store to the connection's release ring), but sharr_open alone "
             "takes %.1f µs (%.2fx the floor's fd round trip, %.1f µs): the daemon decodes "
             "the request with msgpack and encodes the array's metadata, and the client "
             "checks and decodes that reply, all work the floor's few bytes do not do; "
             "close takes %.1f µs (munmap, close, the ring store), the floor's %.1f µs "
             "(floor + 2nd round trip: %.1f µs). System calls cost %.1f µs each here",
             sh1->part.p50, sh1->part.p50 / fl1->part.p50, fl1->part.p50,
             sh1->lat.p50 - sh1->part.p50, fl1->lat.p50 - fl1->part.p50, fl21->lat.p50,
             syscall_us);
    report_target(target, measured, ratio <= 1.25, ratio <= 1.25 ? NULL : why);
    if (eight == NULL)
        return;
    ratio = eight[M_SHARR].rate / eight[M_FLOOR].rate;
    snprintf(target, sizeof(target), "8 clients: attaches/s >= 0.8x floor's (%s)", where);
    snprintf(measured, sizeof(measured), "%.0f/s vs %.0f/s = %.2fx", eight[M_SHARR].rate,
             eight[M_FLOOR].rate, ratio);
    snprintf(why, sizeof(why),
             "with 8 clients the 2 CPUs are the limit, so the rate follows CPU time per "
             "attach: one message each way as for the floor (the release goes through the "
             "release ring), but per open msgpack work on both sides and libuv's in the "
             "daemon; system calls cost %.1f µs each here; the floor with a 2nd round trip "
             "reaches %.0f/s (sharr %.2fx of it)",
             syscall_us, eight[M_FLOOR2].rate, eight[M_SHARR].rate / eight[M_FLOOR2].rate);
    report_target(target, measured, ratio >= 0.8, ratio >= 0.8 ? NULL : why);
}

int main(int argc, char **argv)
{
    static const int full_counts[] = { 1, 2, 8, 32 }, quick_counts[] = { 1, 8 };
    struct harness h;
    struct floor_server fl = { 0 };
    struct run run = { 0 };
    char file_path[128], floor_path[PATH_MAX], load[64];
    sharr_array_t *a;
    uint64_t shape[1] = { ATTACH_BYTES };
    int memfd, filefd, r;

    harness_init(&h, argc, argv);
    const int *counts = h.quick ? quick_counts : full_counts;
    int ncounts = h.quick ? 2 : 4;
    /* Many short rounds rather than a few long ones: a burst of load on the shared
     * machine then hurts one slice of every method instead of all of one. */
    int rounds = h.quick ? 1 : 12;
    double secs = h.quick ? 0.1 : 0.06;

    /* The array, the floor's memfd and the tmpfs file all hold 4 KiB + 1 MiB. */
    struct sharr_create_opts co = { .size = sizeof(co), .overwrite = 1 };
    harness_check(&h, sharr_create(h.conn, ATTACH_NAME, "|u1", 1, shape, &co, &a),
                  "create " ATTACH_NAME);
    sharr_close(a);
    memfd = memfd_create("bench-floor", MFD_CLOEXEC);
    snprintf(file_path, sizeof(file_path), "/dev/shm/sharr-bench-attach-%d", (int)getpid());
    filefd = open(file_path, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    if (memfd < 0 || filefd < 0 || posix_fallocate(memfd, 0, 4096 + ATTACH_BYTES) != 0 ||
        posix_fallocate(filefd, 0, 4096 + ATTACH_BYTES) != 0) {
        perror("bench_attach: floor files");
        return 1;
    }
    close(filefd);
    r = snprintf(floor_path, sizeof(floor_path), "%s/bench-floor-%d.sock", h.scratch,
                 (int)getpid());
    r = r < (int)sizeof(floor_path) ? floor_start(&fl, floor_path, memfd) : -ENAMETOOLONG;
    if (r < 0) {
        fprintf(stderr, "bench_attach: floor server on %s: %s\n", floor_path, strerror(-r));
        return 1;
    }
    run.sh = proc_shared_alloc(sizeof(struct shared));
    if (run.sh == NULL) {
        perror("bench_attach: shared memory");
        return 1;
    }
    run.floor_path = floor_path;
    run.file_path = file_path;

    double syscall_us = attach_syscall_us();
    report_title("Attach: sharr against its floor (bench_attach)");
    report_text("One attach = open by name + map + unmap + release, on one persistent "
                "connection per client process; array of 1 MiB, mode r+ unless noted. "
                "Floor: a bare Unix-socket round trip whose reply carries one descriptor "
                "(SCM_RIGHTS) from a single-threaded epoll server process, then "
                "mmap+munmap+close. Each cell: %d round(s) of %.2f s, methods interleaved; "
                "latency p50/p99 over all attaches of all clients; attaches/s = all "
                "attaches / wall time. A null system call (getpid) costs %.2f µs on this "
                "machine. Load average at start: %s.",
                rounds, secs, syscall_us, proc_loadavg(load, sizeof(load)));

    for (int pl = 0; pl < 2; pl++) {
        int cpu = pl == 0 ? -1 : 0;
        const char *where = pl == 0 ? "unpinned" : "all on CPU 0";
        struct series ser[4][M_COUNT];
        struct result res[4][M_COUNT];

        memset(ser, 0, sizeof(ser));
        attach_place(&h, &fl, cpu);
        for (int round = 0; round < rounds; round++) {
            for (int c = 0; c < ncounts; c++) {
                for (int m = 0; m < M_COUNT; m++) {
                    run.m = (enum method)m;
                    run.n = counts[c];
                    r = attach_run(&run, cpu, secs, &ser[c][m]);
                    if (r < 0) {
                        fprintf(stderr, "bench_attach: %s with %d clients failed: %s\n",
                                method_names[m], counts[c], strerror(-r));
                        attach_place(&h, &fl, -1);
                        return 1;
                    }
                }
            }
        }
        attach_place(&h, &fl, -1);
        for (int c = 0; c < ncounts; c++) {
            for (int m = 0; m < M_COUNT; m++)
                attach_summarize(&ser[c][m], &res[c][m]);
        }

        printf("### %s (load average now %s)\n\n", where, proc_loadavg(load, sizeof(load)));
        report_columns("method", "clients", "p50 µs", "p99 µs", "1st half p50 µs",
                       "attaches/s", "p50 / floor", "rate / floor", NULL);
        for (int c = 0; c < ncounts; c++) {
            for (int m = 0; m < M_COUNT; m++) {
                const struct result *x = &res[c][m], *f = &res[c][M_FLOOR];
                report_row("%s | %d | %.1f | %.1f | %.1f | %.0f | %.2f | %.2f",
                           method_names[m], counts[c], x->lat.p50, x->lat.p99, x->part.p50,
                           x->rate, x->lat.p50 / f->lat.p50, x->rate / f->rate);
            }
        }
        report_end();
        report_text("\"1st half\" is sharr_open alone, the floor's fd round trip, or "
                    "open() alone.");
        int eight = -1;
        for (int c = 0; c < ncounts; c++) {
            if (counts[c] == 8)
                eight = c;
        }
        attach_targets(where, res[0], eight >= 0 ? res[eight] : NULL, syscall_us);
        report_end();
        for (int c = 0; c < ncounts; c++) {
            for (int m = 0; m < M_COUNT; m++) {
                free(ser[c][m].lat);
                free(ser[c][m].part);
            }
        }
    }

    floor_stop(&fl);
    unlink(file_path);
    close(memfd);
    proc_shared_free(run.sh, sizeof(struct shared));
    harness_check(&h, sharr_unlink(h.conn, ATTACH_NAME), "unlink " ATTACH_NAME);
    harness_close(&h);
    return 0;
}
