/* scale.c — bench_scale: the daemon with 100,000 arrays and 1,000 idle connections.
 *
 * Measured: create and unlink rates, the time to page through every name with
 * sharr_list and its cost per name (extrapolated linearly to 100,000 when the
 * descriptor limit stops creating short of it), the daemon's memory per array
 * (VmRSS of sharrd before and after), and with 1,000 idle connections open, the
 * daemon's memory per connection and another client's attach latency. Names are created in a shuffled order: the
 * registry is sorted, and names rarely arrive sorted.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

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

/* Page through every name; returns seconds and sets *ret_count. */
static double scale_list(const struct harness *h, struct sharr_info *page, size_t cap,
                         size_t *ret_count)
{
    char after[SHARR_NAME_MAX + 1] = "";
    size_t count = 0, n;
    int more = 1;
    uint64_t t0 = stats_ns();

    while (more) {
        harness_check(h, sharr_list(h->conn, after, page, cap, &n, &more), "list");
        count += n;
        if (n == 0)
            break;
        memcpy(after, page[n - 1].name, sizeof(after));
    }
    *ret_count = count;
    return (double)(stats_ns() - t0) / 1e9;
}

/* p50/p99 of attaching name on conn (open r+, close). */
static void scale_attach(const struct harness *h, sharr_t *conn, const char *name,
                         size_t iters, struct stats_summary *out)
{
    double *lat = malloc(iters * sizeof(double));
    sharr_array_t *a;

    if (lat == NULL)
        exit(1);
    for (size_t i = 0; i < iters + 50; i++) {
        uint64_t t0 = stats_ns();
        harness_check(h, sharr_open(conn, name, "r+", NULL, &a), name);
        harness_check(h, sharr_close(a), name);
        if (i >= 50)
            lat[i - 50] = (double)(stats_ns() - t0) / 1e3;
    }
    stats_summarize(lat, iters, out);
    free(lat);
}

int main(int argc, char **argv)
{
    struct harness h;
    struct sharr_server srv;
    char name[64], load[64], measured[200], why[400];
    uint64_t one = 1;

    harness_init(&h, argc, argv);
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
    report_text("Arrays: volatile, 1 byte of data each (a memfd of 4 KiB header + data), "
                "created in shuffled name order with SHARR_F_NOMAP, each closed at once. "
                "Daemon memory is sharrd's VmRSS; memfd pages are kernel memory outside "
                "it and reported separately. Load "
                "average at start: %s.", proc_loadavg(load, sizeof(load)));

    size_t base_count;
    scale_list(&h, page, cap, &base_count);
    int64_t rss0 = proc_kib(h.daemon_pid, "status", "VmRSS");
    struct sharr_create_opts co = { .flags = SHARR_F_NOMAP };
    uint32_t created = 0;
    int create_err = 0;
    uint64_t t0 = stats_ns();
    for (; created < narrays; created++) {
        sharr_array_t *a;
        uint64_t c0 = stats_ns();

        scale_name(name, sizeof(name), order[created]);
        create_err = sharr_create(h.conn, name, "|u1", 1, &one, &co, &a);
        if (create_err < 0)
            break;
        sharr_close(a);
        lat[created] = (double)(stats_ns() - c0) / 1e3;
    }
    double create_secs = (double)(stats_ns() - t0) / 1e9;
    char create_msg[256] = "";
    if (create_err < 0)
        snprintf(create_msg, sizeof(create_msg), "%s", sharr_last_error());
    int64_t rss1 = proc_kib(h.daemon_pid, "status", "VmRSS");
    uint32_t measured_n = created;
    /* A daemon out of descriptors can take no connection and hand out no read-only
     * descriptor: give it room for the rest of the benchmark. */
    uint32_t room = (uint32_t)nconns + 1000;
    if (create_err < 0) {
        uint32_t drop = created < room ? created : room;
        for (uint32_t i = created - drop; i < created; i++) {
            scale_name(name, sizeof(name), order[i]);
            harness_check(&h, sharr_unlink(h.conn, name), name);
        }
        created -= drop;
    }
    /* The kernel memory behind one array: the blocks of its memfd. */
    double memfd_bytes = 0;
    if (created > 0) {
        struct sharr_open_opts oo = { .flags = SHARR_F_NOMAP };
        struct stat st;
        sharr_array_t *a;

        scale_name(name, sizeof(name), order[0]);
        harness_check(&h, sharr_open(h.conn, name, "r", &oo, &a), name);
        if (fstat(sharr_array_fd(a), &st) == 0)
            memfd_bytes = (double)st.st_blocks * 512;
        sharr_close(a);
    }
    struct stats_summary cs;
    stats_summarize(lat, measured_n, &cs);

    double lists[16];
    size_t listed = 0;
    for (int r = 0; r < list_reps; r++)
        lists[r] = scale_list(&h, page, cap, &listed);
    struct stats_summary ls;
    stats_summarize(lists, (size_t)list_reps, &ls);

    /* Idle connections, with every array still registered. */
    char probe[64];
    scale_name(probe, sizeof(probe), order[0]);
    struct stats_summary lat0, lat1;
    scale_attach(&h, h.conn, probe, SCALE_LAT_ITERS, &lat0);
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
    scale_attach(&h, h.conn, probe, SCALE_LAT_ITERS, &lat1);
    for (int i = 0; i < opened; i++)
        sharr_disconnect(conns[i]);

    t0 = stats_ns();
    for (uint32_t i = 0; i < created; i++) {
        scale_name(name, sizeof(name), order[i]);
        harness_check(&h, sharr_unlink(h.conn, name), name);
    }
    double unlink_secs = (double)(stats_ns() - t0) / 1e9;
    int64_t rss2 = proc_kib(h.daemon_pid, "status", "VmRSS");

    double per_array = measured_n ? (double)(rss1 - rss0) * 1024 / measured_n : 0;
    report_columns("measure", "value", NULL);
    report_row("arrays created | %u of %u%s%s", measured_n, narrays,
               create_err < 0 ? " — stopped: " : "", create_msg);
    if (created != measured_n)
        report_row("arrays kept for the rest (room for connections) | %u", created);
    report_row("create (+ close) rate | %.0f /s (p50 %.1f µs, p99 %.1f µs)",
               measured_n / create_secs, cs.p50, cs.p99);
    report_row("unlink rate | %.0f /s", created / unlink_secs);
    double per_name_us = listed ? ls.p50 * 1e6 / (double)listed : 0;
    report_row("list all %zu names (pages of %zu), %d runs | p50 %.1f ms, min %.1f, max %.1f",
               listed, cap, list_reps, ls.p50 * 1e3, ls.min * 1e3, ls.max * 1e3);
    report_row("list cost per name (p50 / names) | %.3f µs", per_name_us);
    if (listed < narrays)
        report_row("list of %u names if linear (per name × %u) | %.1f ms", narrays, narrays,
                   per_name_us * narrays / 1e3);
    report_row("sharrd VmRSS before / after creating / after unlinking all | %.1f / %.1f / %.1f MiB",
               (double)rss0 / 1024, (double)rss1 / 1024, (double)rss2 / 1024);
    report_row("sharrd memory per array (VmRSS delta / arrays) | %.0f bytes", per_array);
    report_row("kernel memory per array outside sharrd (the memfd's pages, st_blocks) | %.0f bytes",
               memfd_bytes);
    report_row("idle connections opened | %d of %d%s%s", opened, nconns,
               conn_err < 0 ? " — stopped: " : "", conn_msg);
    report_row("sharrd memory per idle connection (VmRSS delta) | %.0f bytes",
               opened ? (double)(rss_c1 - rss_c0) * 1024 / opened : 0);
    report_row("another client's attach, no idle connections | p50 %.1f µs, p99 %.1f µs",
               lat0.p50, lat0.p99);
    report_row("another client's attach, %d idle connections | p50 %.1f µs, p99 %.1f µs (%.2fx)",
               opened, lat1.p50, lat1.p99, lat1.p50 / lat0.p50);
    report_end();
    (void)base_count;

    int full = measured_n == narrays && listed >= narrays;
    snprintf(measured, sizeof(measured), "%.1f ms for %zu names", ls.p50 * 1e3, listed);
    if (!full)
        snprintf(why, sizeof(why), "only %u arrays could be created (%s); listing %zu "
                 "took %.1f ms (%.3f µs a name), about %.0f ms per %u if linear", measured_n,
                 create_msg, listed, ls.p50 * 1e3, per_name_us, per_name_us * narrays / 1e3,
                 narrays);
    else
        snprintf(why, sizeof(why), "each page is a round trip that encodes, sends and "
                 "decodes up to %zu rows of every field", cap);
    int met = full && ls.p50 < 0.1;
    report_target(h.quick ? "list every array in < 100 ms (quick run: 5,000 arrays)" :
                  "100,000 arrays listed in < 100 ms", measured, full ? met : -1,
                  met ? NULL : why);
    snprintf(measured, sizeof(measured), "%.0f bytes of sharrd RSS (+ %.0f bytes of memfd "
             "pages in the kernel)", per_array, memfd_bytes);
    met = measured_n > 0 && per_array < 2048;
    report_target("daemon memory per array < 2 KiB", measured, measured_n ? met : -1,
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
