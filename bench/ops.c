/* ops.c — bench_ops: exactly N of one operation on one connection, so that
 * bench/instructions.sh can count the instructions each side spends per operation
 * under callgrind (a run with N ops minus a run with 0, over N), and time them: the
 * loop's nanoseconds per operation go to stdout (two clock reads, in every run).
 *
 * With $BENCH_OPS_TURNS=IN:OUT:BATCH the loop runs in turns with a partner, another
 * bench_ops against another daemon: wait for a byte on the FIFO IN, time BATCH ops,
 * print their ns per op, pass the byte on through the FIFO OUT; so two revisions
 * alternate every few milliseconds and meet the machine's load alike. A create's
 * line also gives the ns per op of its two halves apart: create + close, then unlink.
 *
 * Both runs do the same setup, warm-up and teardown; only the loop differs. It uses
 * only calls and fields libsharr has had since before issue 12 (e33b65b), so
 * instructions.sh compiles this one source against each revision's sharr.h and
 * libsharr with one command line, and the client-side loop is the same code for both.
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
#include "sharr.h"

#define OPS_NAME "bench.ops"
#define OPS_ATTACH_BYTES (1024u * 1024) /* data bytes of the array attached */
#define OPS_CREATE_BYTES 4096u          /* data bytes of each array created */
#define OPS_WARMUP 20                   /* untimed ops before the loop, in both runs */

/* Options as each revision's sharr.h wants them set up: newer ones carry their size
 * and give an initialiser for it; older ones have neither. */
#ifdef SHARR_CREATE_OPTS_INIT
#define OPS_CREATE_OPTS SHARR_CREATE_OPTS_INIT
#else
#define OPS_CREATE_OPTS { 0 }
#endif

struct ops {
    sharr_t *conn;
    int persist;
    int floor_sock;
    int halves;       /* time a create's two halves apart, into the next two */
    double create_ns; /* sharr_create + sharr_close */
    double unlink_ns; /* sharr_unlink */
};

/* sharr_open(r+) by name + sharr_close of the array main made. */
static int ops_attach(struct ops *o)
{
    sharr_array_t *a;
    int r = sharr_open(o->conn, OPS_NAME, "r+", NULL, &a);

    return r < 0 ? r : sharr_close(a);
}

/* The ns between t0 and t1. */
static double ops_ns(const struct timespec *t0, const struct timespec *t1)
{
    return (double)(t1->tv_sec - t0->tv_sec) * 1e9 + (double)(t1->tv_nsec - t0->tv_nsec);
}

/* sharr_create of a small array + sharr_close + sharr_unlink; with o->halves, the time
 * of each half added to its sum (three clock reads more, in the timed runs only). */
static int ops_create(struct ops *o)
{
    struct sharr_create_opts co = OPS_CREATE_OPTS;
    uint64_t shape[1] = { OPS_CREATE_BYTES };
    struct timespec t[3];
    sharr_array_t *a;
    int r;

    co.persist = o->persist;
    if (o->halves)
        clock_gettime(CLOCK_MONOTONIC, &t[0]);
    r = sharr_create(o->conn, OPS_NAME, "|u1", 1, shape, &co, &a);
    if (r < 0)
        return r;
    r = sharr_close(a);
    if (o->halves)
        clock_gettime(CLOCK_MONOTONIC, &t[1]);
    if (r >= 0)
        r = sharr_unlink(o->conn, OPS_NAME);
    if (o->halves) {
        clock_gettime(CLOCK_MONOTONIC, &t[2]);
        o->create_ns += ops_ns(&t[0], &t[1]);
        o->unlink_ns += ops_ns(&t[1], &t[2]);
    }
    return r;
}

/* The floor's attach: a descriptor by SCM_RIGHTS, then mmap + munmap + close. */
static int ops_floor(struct ops *o)
{
    int fd, r = floor_fetch(o->floor_sock, &fd);
    void *p;

    if (r < 0)
        return r;
    p = mmap(NULL, OPS_ATTACH_BYTES, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 4096);
    r = p == MAP_FAILED ? -errno : munmap(p, OPS_ATTACH_BYTES);
    close(fd);
    return r;
}

static int ops_usage(void)
{
    fprintf(stderr,
            "usage: bench_ops OP N\n"
            "  OP: attach-volatile, attach-persistent (open r+ by name + close of a\n"
            "      1 MiB array), create-volatile, create-persistent (create + close +\n"
            "      unlink of a 4 KiB array), floor (floor.c's descriptor round trip +\n"
            "      mmap/munmap/close; its server is forked and prints its pid)\n"
            "  N:  operations after %d of warm-up; 0 measures setup and warm-up alone\n"
            "The daemon is the one libsharr finds: $SHARR_SOCKET first; floor mode puts\n"
            "its socket in $TMPDIR (or /tmp).\n",
            OPS_WARMUP);
    return 2;
}

/* n ops of op in turns (BENCH_OPS_TURNS, spec "IN:OUT:BATCH"): each batch's ns per op
 * on a line, a create's followed by those of its halves. 0, or -1 with the reason
 * said. */
static int ops_turns(struct ops *o, int (*op)(struct ops *), long n, const char *spec)
{
    char in[256], out[256];
    long batch;
    int fin, fout, r = 0;
    char token = 't';

    if (sscanf(spec, "%255[^:]:%255[^:]:%ld", in, out, &batch) != 3 || batch <= 0) {
        fprintf(stderr, "bench_ops: BENCH_OPS_TURNS wants IN:OUT:BATCH, not %s\n", spec);
        return -1;
    }
    /* O_RDWR: a FIFO opened so never waits for its other end. */
    fin = open(in, O_RDWR | O_CLOEXEC);
    fout = open(out, O_RDWR | O_CLOEXEC);
    if (fin < 0 || fout < 0) {
        perror("bench_ops: the turns' FIFOs");
        return -1;
    }
    for (long done = 0; r >= 0 && done < n; done += batch) {
        struct timespec t0, t1;
        long k = n - done < batch ? n - done : batch;

        if (read(fin, &token, 1) != 1) {
            perror("bench_ops: waiting for its turn");
            return -1;
        }
        o->create_ns = o->unlink_ns = 0;
        clock_gettime(CLOCK_MONOTONIC, &t0);
        for (long i = 0; r >= 0 && i < k; i++)
            r = op(o);
        clock_gettime(CLOCK_MONOTONIC, &t1);
        if (o->halves)
            printf("%.1f %.1f %.1f\n", ops_ns(&t0, &t1) / (double)k,
                   o->create_ns / (double)k, o->unlink_ns / (double)k);
        else
            printf("%.1f\n", ops_ns(&t0, &t1) / (double)k);
        fflush(stdout);
        if (write(fout, &token, 1) != 1) {
            perror("bench_ops: passing the turn");
            return -1;
        }
    }
    close(fin);
    close(fout);
    return r;
}

int main(int argc, char **argv)
{
    struct ops o = { .floor_sock = -1 };
    struct floor_server fl = { 0 };
    struct timespec t0, t1;
    int (*op)(struct ops *);
    const char *kind, *turns = getenv("BENCH_OPS_TURNS");
    char *end;
    long n;
    int memfd = -1, r = 0;

    if (argc != 3)
        return ops_usage();
    kind = argv[1];
    n = strtol(argv[2], &end, 10);
    if (*end != '\0' || end == argv[2] || n < 0)
        return ops_usage();
    if (strcmp(kind, "attach-volatile") == 0 || strcmp(kind, "attach-persistent") == 0) {
        op = ops_attach;
        o.persist = strcmp(kind, "attach-persistent") == 0;
    } else if (strcmp(kind, "create-volatile") == 0 ||
               strcmp(kind, "create-persistent") == 0) {
        op = ops_create;
        o.persist = strcmp(kind, "create-persistent") == 0;
    } else if (strcmp(kind, "floor") == 0) {
        op = ops_floor;
    } else {
        return ops_usage();
    }

    if (op == ops_floor) {
        const char *tmp = getenv("TMPDIR");
        char path[108];

        snprintf(path, sizeof(path), "%s/bench-ops-floor-%d.sock",
                 tmp != NULL && tmp[0] ? tmp : "/tmp", (int)getpid());
        memfd = memfd_create("bench-ops-floor", MFD_CLOEXEC);
        if (memfd < 0 || ftruncate(memfd, 4096 + OPS_ATTACH_BYTES) < 0) {
            perror("bench_ops: floor memfd");
            return 1;
        }
        r = floor_start(&fl, path, memfd);
        if (r >= 0)
            r = o.floor_sock = floor_connect(path);
        if (r < 0) {
            fprintf(stderr, "bench_ops: floor server on %s: %s\n", path, strerror(-r));
            floor_stop(&fl);
            return 1;
        }
        printf("%d\n", (int)fl.pid);
        fflush(stdout);
    } else {
        r = sharr_connect(NULL, &o.conn);
        if (r >= 0 && op == ops_attach) {
            struct sharr_create_opts co = OPS_CREATE_OPTS;
            uint64_t shape[1] = { OPS_ATTACH_BYTES };
            sharr_array_t *a;

            co.persist = o.persist;
            co.overwrite = 1;
            r = sharr_create(o.conn, OPS_NAME, "|u1", 1, shape, &co, &a);
            if (r >= 0)
                r = sharr_close(a);
        }
        if (r < 0) {
            fprintf(stderr, "bench_ops: setup: %s\n", sharr_last_error());
            return 1;
        }
    }

    for (long i = 0; r >= 0 && i < OPS_WARMUP; i++)
        r = op(&o);
    if (r >= 0 && turns != NULL) {
        o.halves = op == ops_create;
        if (ops_turns(&o, op, n, turns) < 0 && r >= 0)
            r = -EIO;
        n = 0; /* each batch printed its own */
    }
    clock_gettime(CLOCK_MONOTONIC, &t0);
    for (long i = 0; r >= 0 && i < n; i++)
        r = op(&o);
    clock_gettime(CLOCK_MONOTONIC, &t1);
    if (r < 0) {
        fprintf(stderr, "bench_ops: %s: %s\n", kind,
                op == ops_floor ? strerror(-r) : sharr_last_error());
        return 1;
    }

    if (op == ops_floor) {
        close(o.floor_sock);
        floor_stop(&fl);
        close(memfd);
        return 0;
    }
    if (n > 0)
        printf("%.1f\n", ops_ns(&t0, &t1) / (double)n);
    if (op == ops_attach && sharr_unlink(o.conn, OPS_NAME) < 0) {
        fprintf(stderr, "bench_ops: unlink: %s\n", sharr_last_error());
        return 1;
    }
    sharr_disconnect(o.conn);
    return 0;
}
