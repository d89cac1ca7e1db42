/* scale.c — bench_scale: the daemon with 100,000 arrays and 1,000 idle connections.
 *
 * Measured for two sets of arrays: persistent ones in a store on tmpfs, on a second
 * sharrd that run.sh starts for this ($SHARR_BENCH_SCALE_SOCKET), which reach 100,000
 * because sharrd keeps no descriptor per persistent array; and volatile ones on the
 * main daemon, one memfd each, which stop at the descriptor limit (20,000 here).
 * For each: create and unlink rates, the time to page through every name with
 * sharr_list and its cost per name (extrapolated linearly to the full count when
 * creating stopped short), the daemon's memory per array (VmRSS of sharrd before and
 * after). The persistent set is listed once right after creating, while the daemon
 * still watches each new file for writers (and looks at each at list); once more when
 * its sweep has let go of them all (stats arrays_watched is 0, polled, with the time
 * that took after the creator left), then at steady state, what a user sees: on the daemon restarted on its store
 * ($SHARR_BENCH_SCALE_RESTART, a command run.sh gives), which watches none. With the volatile arrays registered and 1,000 idle connections open: the
 * daemon's memory per connection and another client's attach latency. Names are
 * created in a shuffled order: the registry is sorted, and names rarely arrive sorted.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <time.h>

#include "harness.h"
#include "proc.h"
#include "report.h"
#include "stats.h"

#define SCALE_FMT "scale.%07u"
#define SCALE_LAT_ITERS 2000

static void scale_name(char *buf, size_t len, uint32_t i)
{
    snprintf(buf, len, SCALE_FMT, i);
}

/* A permutation of 0..n-1 (Fisher-Yates with a fixed-seed xorshift, so runs match). */
static uint32_t *scale_order(uint32_t n)
{
    uint32_t *o = malloc((size_t)n * sizeof(uint32_t));
    uint64_t x = 0x9E3779B97F4A7C15ull;

    if (o == NULL)
        return NULL;
    for (uint32_t i = 0; i < n; i++)
        o[i] = i;
    for (uint32_t i = n - 1; i > 0; i--) {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        uint32_t j = (uint32_t)(x % (i + 1));
        uint32_t t = o[i];
        o[i] = o[j];
        o[j] = t;
    }
    return o;
}

/* Page through every name on conn; returns seconds and sets *ret_count. */
static double scale_list(const struct harness *h, sharr_t *conn, struct sharr_info *page,
                         size_t cap, size_t *ret_count)
{
    char after[SHARR_NAME_MAX + 1] = "";
    size_t count = 0, n;
    int more = 1;
    uint64_t t0 = stats_ns();

    while (more) {
        harness_check(h, sharr_list(conn, after, page, cap, &n, &more), "list");
        count += n;
        if (n == 0)
            break;
        memcpy(after, page[n - 1].name, sizeof(after));
    }
    *ret_count = count;
    return (double)(stats_ns() - t0) / 1e9;
}

/* One set of arrays measured on one daemon. */
struct scale_set {
    pid_t pid;                  /* its sharrd */
    uint32_t asked, measured;   /* measured: created before creating stopped */
    uint32_t kept;              /* still registered after making room */
    double create_secs, unlink_secs, kernel_bytes;
    struct stats_summary cs, ls;
    size_t listed;
    double first_secs;          /* the first listing, right after creating */
    uint64_t watched;           /* files the daemon watched when the creator left */
    double drain_secs;          /* until it watched none (< 0: not within the wait) */
    double drained_secs;        /* a listing then */
    int steady;                 /* ls was taken on the restarted daemon */
    int64_t rss0, rss1, rss2;
    char stop[256];             /* why creating stopped short, or "" */
};

/* Create set->asked arrays of one byte on conn in order (closed at once), until one fails. */
static void scale_create(sharr_t *conn, const uint32_t *order, int persist, double *lat,
                         struct scale_set *set)
{
    struct sharr_create_opts co = { .size = sizeof(co), .flags = SHARR_F_NOMAP,
                                    .persist = persist };
    uint64_t one = 1, t0 = stats_ns();
    char name[64];
    uint32_t i;
    int err = 0;

    set->rss0 = proc_kib(set->pid, "status", "VmRSS");
    for (i = 0; i < set->asked; i++) {
        sharr_array_t *a;
        uint64_t c0 = stats_ns();

        scale_name(name, sizeof(name), order[i]);
        err = sharr_create(conn, name, "|u1", 1, &one, &co, &a);
        if (err < 0)
            break;
        sharr_close(a);
        lat[i] = (double)(stats_ns() - c0) / 1e3;
    }
    set->create_secs = (double)(stats_ns() - t0) / 1e9;
    set->rss1 = proc_kib(set->pid, "status", "VmRSS");
    set->measured = set->kept = i;
    if (err < 0)
        snprintf(set->stop, sizeof(set->stop), "%s", sharr_last_error());
    stats_summarize(lat, i, &set->cs);
}

/* The kernel memory behind one array: the blocks of its memfd or tmpfs file. */
static void scale_kernel_bytes(const struct harness *h, sharr_t *conn, const uint32_t *order,
                               struct scale_set *set)
{
    struct sharr_open_opts oo = { .size = sizeof(oo), .flags = SHARR_F_NOMAP };
    char name[64];
    struct stat st;
    sharr_array_t *a;

    if (set->kept == 0)
        return;
    scale_name(name, sizeof(name), order[0]);
    harness_check(h, sharr_open(conn, name, "r", &oo, &a), name);
    if (fstat(sharr_array_fd(a), &st) == 0)
        set->kernel_bytes = (double)st.st_blocks * 512;
    sharr_close(a);
}

/* List every name reps times on conn. */
static void scale_lists(const struct harness *h, sharr_t *conn, struct sharr_info *page,
                        size_t cap, int reps, struct scale_set *set)
{
    double lists[16];

    for (int r = 0; r < reps; r++)
        lists[r] = scale_list(h, conn, page, cap, &set->listed);
    stats_summarize(lists, (size_t)reps, &set->ls);
}

/* Unlink every array still kept, timed; then the daemon's RSS. */
static void scale_unlink(const struct harness *h, sharr_t *conn, const uint32_t *order,
                         struct scale_set *set)
{
    uint64_t t0 = stats_ns();
    char name[64];

    for (uint32_t i = 0; i < set->kept; i++) {
        scale_name(name, sizeof(name), order[i]);
        harness_check(h, sharr_unlink(conn, name), name);
    }
    set->unlink_secs = (double)(stats_ns() - t0) / 1e9;
    set->rss2 = proc_kib(set->pid, "status", "VmRSS");
}

/* After the creator left (conn closed): poll stats on a new connection until the
 * daemon watches no file for a writer, at most wait_secs; then list once. */
static sharr_t *scale_drain(const struct harness *h, const char *sock, struct sharr_info *page,
                            size_t cap, double wait_secs, struct scale_set *set)
{
    struct sharr_stats st;
    uint64_t t0 = stats_ns();
    sharr_t *conn;

    harness_check(h, sharr_connect(sock, &conn), sock);
    harness_check(h, sharr_stats(conn, &st), "stats");
    set->watched = st.arrays_watched;
    set->drain_secs = -1;
    while ((double)(stats_ns() - t0) / 1e9 < wait_secs) {
        harness_check(h, sharr_stats(conn, &st), "stats");
        if (st.arrays_watched == 0) {
            set->drain_secs = (double)(stats_ns() - t0) / 1e9;
            break;
        }
        struct timespec ts = { 0, 10 * 1000 * 1000L };
        nanosleep(&ts, NULL);
    }
    set->drained_secs = scale_list(h, conn, page, cap, &set->listed);
    return conn;
}

/* The persistent set, on the daemon at $SHARR_BENCH_SCALE_SOCKET (a tmpfs store):
 * created, listed and unlinked. Returns 0, or -1 when no such daemon was given. */
static int scale_persistent(const struct harness *h, const uint32_t *order, double *lat,
                            struct sharr_info *page, size_t cap, int reps,
                            struct scale_set *set)
{
    const char *sock = getenv("SHARR_BENCH_SCALE_SOCKET");
    const char *restart = getenv("SHARR_BENCH_SCALE_RESTART");
    struct sharr_server srv;
    sharr_t *conn;

    if (sock == NULL || sock[0] == '\0')
        return -1;
    harness_check(h, sharr_connect(sock, &conn), sock);
    harness_check(h, sharr_server_info(conn, &srv), "server info");
    set->pid = (pid_t)srv.pid;
    scale_create(conn, order, 1, lat, set);
    scale_kernel_bytes(h, conn, order, set);
    set->first_secs = scale_list(h, conn, page, cap, &set->listed);
    sharr_disconnect(conn); /* its cached descriptors go: nobody can write any file */
    conn = scale_drain(h, sock, page, cap, h->quick ? 20 : 60, set);
    if (restart != NULL && restart[0] != '\0') {
        sharr_disconnect(conn);
        if (system(restart) != 0) {
            fprintf(stderr, "%s: %s failed\n", h->prog, restart);
            exit(1);
        }
        harness_check(h, sharr_connect(sock, &conn), sock);
        harness_check(h, sharr_server_info(conn, &srv), "server info");
        set->pid = (pid_t)srv.pid;
        set->steady = 1;
        scale_list(h, conn, page, cap, &set->listed); /* its first: pages in its registry */
    }
    scale_lists(h, conn, page, cap, reps, set);
    scale_unlink(h, conn, order, set);
    sharr_disconnect(conn);
    return 0;
}

/* p50/p99 of attaching name (open r+, close) on a connection of its own made with the
 * attach cache off (SHARR_CACHE_MAX=0, read at connect): each attach a round trip
 * through the daemon's loop, which is what idle connections could slow down. */
static void scale_attach(const struct harness *h, const char *name, size_t iters,
                         struct stats_summary *out)
{
    double *lat = malloc(iters * sizeof(double));
    sharr_t *conn;
    sharr_array_t *a;

    if (lat == NULL)
        exit(1);
    setenv("SHARR_CACHE_MAX", "0", 1);
    harness_check(h, sharr_connect(NULL, &conn), "connect");
    unsetenv("SHARR_CACHE_MAX");
    for (size_t i = 0; i < iters + 50; i++) {
        uint64_t t0 = stats_ns();
        harness_check(h, sharr_open(conn, name, "r+", NULL, &a), name);
        harness_check(h, sharr_close(a), name);
        if (i >= 50)
            lat[i - 50] = (double)(stats_ns() - t0) / 1e3;
    }
    stats_summarize(lat, iters, out);
    sharr_disconnect(conn);
    free(lat);
}

/* A cell of the arrays table: "n of N", and why creating stopped short. */
static const char *scale_created(const struct scale_set *set, char *buf, size_t len)
{
    snprintf(buf, len, "%u of %u%s%s", set->measured, set->asked,
             set->stop[0] ? " — stopped: " : "", set->stop);
    return buf;
}

static double scale_per_name_us(const struct scale_set *set)
{
    return set->listed ? set->ls.p50 * 1e6 / (double)set->listed : 0;
}

static double scale_per_array(const struct scale_set *set)
{
    return set->measured ? (double)(set->rss1 - set->rss0) * 1024 / set->measured : 0;
}

/* The arrays table: one column per set; p is NULL when the persistent set was not run. */
static void scale_table(const struct scale_set *p, const struct scale_set *v, size_t cap,
                        int reps)
{
    char pc[320], vc[320];
    const char *na = "not measured";

    report_columns("measure", "persistent, store on tmpfs", "volatile (one memfd each)", NULL);
    report_row("arrays created | %s | %s", p ? scale_created(p, pc, sizeof(pc)) : na,
               scale_created(v, vc, sizeof(vc)));
    if (v->kept != v->measured)
        report_row("arrays kept for the rest (room for connections) | | %u", v->kept);
    snprintf(pc, sizeof(pc), "%.0f /s (p50 %.1f µs, p99 %.1f µs), %.1f s in all",
             p ? p->measured / p->create_secs : 0, p ? p->cs.p50 : 0, p ? p->cs.p99 : 0,
             p ? p->create_secs : 0);
    report_row("create (+ close) rate | %s | %.0f /s (p50 %.1f µs, p99 %.1f µs), %.1f s in all",
               p ? pc : na, v->measured / v->create_secs, v->cs.p50, v->cs.p99, v->create_secs);
    snprintf(pc, sizeof(pc), "%.0f /s, %.1f s in all", p ? p->kept / p->unlink_secs : 0,
             p ? p->unlink_secs : 0);
    report_row("unlink rate | %s | %.0f /s, %.1f s in all", p ? pc : na,
               v->kept / v->unlink_secs, v->unlink_secs);
    snprintf(pc, sizeof(pc), "%.1f ms", p ? p->first_secs * 1e3 : 0);
    report_row("list all names once right after creating (a persistent array's file is "
               "looked at while writers may hold it) | %s | (in the runs below)", p ? pc : na);
    if (p && p->drain_secs >= 0)
        snprintf(pc, sizeof(pc), "%" PRIu64 " files watched when the creator left; none "
                 "after %.1f s; a listing then %.1f ms", p->watched, p->drain_secs,
                 p->drained_secs * 1e3);
    else
        snprintf(pc, sizeof(pc), "%" PRIu64 " files watched when the creator left; still "
                 "some after the wait; a listing then %.1f ms", p ? p->watched : 0,
                 p ? p->drained_secs * 1e3 : 0);
    report_row("the sweep letting go of the new files (stats arrays_watched polled until "
               "0) | %s | (never watched)", p ? pc : na);
    snprintf(pc, sizeof(pc), "%zu names: p50 %.1f ms, min %.1f, max %.1f%s", p ? p->listed : 0,
             p ? p->ls.p50 * 1e3 : 0, p ? p->ls.min * 1e3 : 0, p ? p->ls.max * 1e3 : 0,
             p && p->steady ? " (steady state: the daemon restarted on its store, its "
             "first listing left out)" : " (right after creating: no restart command given)");
    report_row("list all names (pages of %zu), %d runs | %s | %zu names: p50 %.1f ms, min %.1f, "
               "max %.1f (volatile arrays are never looked at)", cap, reps, p ? pc : na,
               v->listed, v->ls.p50 * 1e3, v->ls.min * 1e3, v->ls.max * 1e3);
    snprintf(pc, sizeof(pc), "%.3f µs", p ? scale_per_name_us(p) : 0);
    report_row("list cost per name (p50 / names) | %s | %.3f µs", p ? pc : na,
               scale_per_name_us(v));
    if (v->listed < v->asked)
        report_row("list of %u names if linear (per name × %u) | | %.1f ms", v->asked, v->asked,
                   scale_per_name_us(v) * v->asked / 1e3);
    snprintf(pc, sizeof(pc), "%.1f / %.1f / %.1f MiB", p ? (double)p->rss0 / 1024 : 0,
             p ? (double)p->rss1 / 1024 : 0, p ? (double)p->rss2 / 1024 : 0);
    report_row("sharrd VmRSS before / after creating / after unlinking all (persistent: "
               "the last on the restarted daemon) | %s | "
               "%.1f / %.1f / %.1f MiB", p ? pc : na, (double)v->rss0 / 1024,
               (double)v->rss1 / 1024, (double)v->rss2 / 1024);
    snprintf(pc, sizeof(pc), "%.0f bytes", p ? scale_per_array(p) : 0);
    report_row("sharrd memory per array (VmRSS delta / arrays) | %s | %.0f bytes", p ? pc : na,
               scale_per_array(v));
    snprintf(pc, sizeof(pc), "%.0f bytes (the .npy's tmpfs pages; its .meta adds 4 KiB)",
             p ? p->kernel_bytes : 0);
    report_row("kernel memory per array outside sharrd (st_blocks of its data file) | %s | "
               "%.0f bytes (the memfd's pages)", p ? pc : na, v->kernel_bytes);
    report_end();
}

int main(int argc, char **argv)
{
    struct harness h;
    struct sharr_server srv;
    char load[64], measured[320], why[400];
    struct scale_set pset, vset;

    struct rlimit nofile = { 0, 0 };

    harness_init(&h, argc, argv);
    getrlimit(RLIMIT_NOFILE, &nofile);
    uint32_t narrays = h.quick ? 5000 : 100000;
    int nconns = h.quick ? 100 : 1000;
    int list_reps = h.quick ? 3 : 11; /* a p50 that one busy moment cannot move */
    uint32_t *order = scale_order(narrays);
    double *lat = malloc((size_t)narrays * sizeof(double));
    sharr_t **conns = calloc((size_t)nconns, sizeof(*conns));

    harness_check(&h, sharr_server_info(h.conn, &srv), "server info");
    size_t cap = srv.list_page_max > 0 ? srv.list_page_max : 256;
    struct sharr_info *page = calloc(cap, sizeof(*page));
    if (order == NULL || lat == NULL || conns == NULL || page == NULL)
        return 1;

    report_title("Daemon scale: %u arrays, %d idle connections (bench_scale)", narrays, nconns);
    report_text("Arrays: 1 byte of data each (a 4 KiB header + data), created in shuffled "
                "name order with SHARR_F_NOMAP, each closed at once. The %u-array column is "
                "of PERSISTENT arrays in a store on tmpfs (/dev/shm), served by a second "
                "sharrd that run.sh starts for it: sharrd keeps no descriptor per persistent "
                "array, while each volatile array is a memfd the daemon must hold, and this "
                "machine's hard descriptor limit (%ld) keeps volatile arrays below "
                "it. A tmpfs store makes each create's fsyncs cheap; on a disk the create "
                "rate is bound by them. The volatile column is the main daemon, created until "
                "the limit stops it. Daemon memory is sharrd's VmRSS; file and memfd pages are "
                "kernel memory outside it, reported separately. Load average at start: %s.",
                narrays, (long)nofile.rlim_max, proc_loadavg(load, sizeof(load)));

    memset(&pset, 0, sizeof(pset));
    pset.asked = narrays;
    int have_p = scale_persistent(&h, order, lat, page, cap, list_reps, &pset) == 0;

    memset(&vset, 0, sizeof(vset));
    vset.asked = narrays;
    vset.pid = h.daemon_pid;
    scale_create(h.conn, order, 0, lat, &vset);
    /* A daemon out of descriptors can take no connection and hand out no read-only
     * descriptor: give it room for the rest of the benchmark. */
    uint32_t room = (uint32_t)nconns + 1000;
    if (vset.stop[0]) {
        uint32_t drop = vset.kept < room ? vset.kept : room;
        char name[64];
        for (uint32_t i = vset.kept - drop; i < vset.kept; i++) {
            scale_name(name, sizeof(name), order[i]);
            harness_check(&h, sharr_unlink(h.conn, name), name);
        }
        vset.kept -= drop;
    }
    scale_kernel_bytes(&h, h.conn, order, &vset);
    scale_lists(&h, h.conn, page, cap, list_reps, &vset);

    /* Idle connections, with every volatile array still registered. */
    char probe[64];
    scale_name(probe, sizeof(probe), order[0]);
    struct stats_summary lat0, lat1;
    scale_attach(&h, probe, SCALE_LAT_ITERS, &lat0);
    int64_t rss_c0 = proc_kib(h.daemon_pid, "status", "VmRSS");
    int opened = 0, conn_err = 0;
    for (; opened < nconns; opened++) {
        conn_err = sharr_connect(NULL, &conns[opened]);
        if (conn_err < 0)
            break;
    }
    char conn_msg[256] = "";
    if (conn_err < 0)
        snprintf(conn_msg, sizeof(conn_msg), "%s", sharr_last_error());
    int64_t rss_c1 = proc_kib(h.daemon_pid, "status", "VmRSS");
    scale_attach(&h, probe, SCALE_LAT_ITERS, &lat1);
    for (int i = 0; i < opened; i++)
        sharr_disconnect(conns[i]);
    scale_unlink(&h, h.conn, order, &vset);

    scale_table(have_p ? &pset : NULL, &vset, cap, list_reps);
    report_columns("measure (main daemon, its volatile arrays registered)", "value", NULL);
    report_row("idle connections opened | %d of %d%s%s", opened, nconns,
               conn_err < 0 ? " — stopped: " : "", conn_msg);
    report_row("sharrd memory per idle connection (VmRSS delta) | %.0f bytes",
               opened ? (double)(rss_c1 - rss_c0) * 1024 / opened : 0);
    report_row("another client's attach, no idle connections | p50 %.1f µs, p99 %.1f µs",
               lat0.p50, lat0.p99);
    report_row("another client's attach, %d idle connections | p50 %.1f µs, p99 %.1f µs (%.2fx)",
               opened, lat1.p50, lat1.p99, lat1.p50 / lat0.p50);
    report_end();

    /* The targets are judged on the persistent set, the one that reaches the count. */
    const struct scale_set *t = have_p ? &pset : &vset;
    const char *kind = have_p ? "persistent arrays, tmpfs store" : "volatile arrays";
    double per_name_us = scale_per_name_us(t);
    int full = t->measured == narrays && t->listed >= narrays;
    if (t->steady)
        snprintf(measured, sizeof(measured), "%.1f ms for %zu names (%s, steady state; right "
                 "after creating: %.1f ms)", t->ls.p50 * 1e3, t->listed, kind,
                 t->first_secs * 1e3);
    else
        snprintf(measured, sizeof(measured), "%.1f ms for %zu names (%s)", t->ls.p50 * 1e3,
                 t->listed, kind);
    if (!full)
        snprintf(why, sizeof(why), "only %u arrays could be created (%s); listing %zu "
                 "took %.1f ms (%.3f µs a name), about %.0f ms per %u if linear", t->measured,
                 t->stop, t->listed, t->ls.p50 * 1e3, per_name_us, per_name_us * narrays / 1e3,
                 narrays);
    else
        snprintf(why, sizeof(why), "each page is a round trip that encodes, sends and "
                 "decodes up to %zu rows of every field", cap);
    int met = full && t->ls.p50 < 0.05;
    report_target(h.quick ? "list every array in < 50 ms (quick run: 5,000 arrays)" :
                  "100,000 arrays listed in < 50 ms (p50, steady state)", measured,
                  full ? met : -1, met ? NULL : why);
    snprintf(measured, sizeof(measured), "%.0f bytes of sharrd RSS (%s; + %.0f bytes of file "
             "pages in the kernel)", scale_per_array(t), kind, t->kernel_bytes);
    met = t->measured > 0 && scale_per_array(t) < 2048;
    report_target("daemon memory per array < 2 KiB", measured, t->measured ? met : -1,
                  met ? NULL : "the registry entry (struct meta with a 64-dimension shape) "
                  "and its allocations exceed 2 KiB");
    report_end();
    free(page);
    free(order);
    free(lat);
    free(conns);
    harness_close(&h);
    return 0;
}
