/* size.c — bench_size: attach cost against the array's size, 4 KiB to 8 GiB.
 *
 * Attaching maps the whole array but touches none of it, so its cost should not
 * depend on the size. Each size is created (volatile), attached many times with
 * attaches of a 4 KiB array interleaved (the reference, measured under the same
 * load), and unlinked before the next size so at most one big array exists. The
 * attach cache is off (SHARR_CACHE_MAX=0): each attach maps the array anew.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "harness.h"
#include "proc.h"
#include "report.h"
#include "stats.h"

#define SIZE_REF "bench.size.ref"
#define SIZE_BIG "bench.size.big"

/* One attach (sharr_open r+ then sharr_close) of name, in µs. */
static double size_attach(const struct harness *h, const char *name)
{
    sharr_array_t *a;
    uint64_t t0 = stats_ns();

    harness_check(h, sharr_open(h->conn, name, "r+", NULL, &a), name);
    harness_check(h, sharr_close(a), name);
    return (double)(stats_ns() - t0) / 1e3;
}

static void size_create(const struct harness *h, const char *name, uint64_t bytes)
{
    struct sharr_create_opts co = { .size = sizeof(co), .overwrite = 1, .flags = SHARR_F_NOMAP };
    sharr_array_t *a;

    harness_check(h, sharr_create(h->conn, name, "|u1", 1, &bytes, &co, &a), name);
    sharr_close(a);
}

int main(int argc, char **argv)
{
    static const uint64_t full_sizes[] = {
        4096, 64u << 10, 1u << 20, 16u << 20, 256u << 20, 1ull << 30, 8ull << 30,
    };
    static const uint64_t quick_sizes[] = { 4096, 1u << 20, 64u << 20 };
    struct harness h;
    char sz[32], load[64], measured[128], why[256];
    double worst = 0;
    uint64_t worst_size = 0;

    setenv("SHARR_CACHE_MAX", "0", 1); /* read by harness_init's connection */
    harness_init(&h, argc, argv);
    const uint64_t *sizes = h.quick ? quick_sizes : full_sizes;
    size_t nsizes = h.quick ? 3 : sizeof(full_sizes) / sizeof(full_sizes[0]);
    size_t iters = h.quick ? 200 : 1000;
    double *big = calloc(iters, sizeof(double)), *ref = calloc(iters, sizeof(double));

    if (big == NULL || ref == NULL)
        return 1;
    report_title("Attach cost against size (bench_size)");
    report_text("Volatile arrays; one client, one connection, mode r+; %zu attaches per "
                "size, each followed by an attach of a 4 KiB array (the reference column, "
                "measured under the same load). Load average at start: %s.", iters,
                proc_loadavg(load, sizeof(load)));
    report_columns("size", "p50 µs", "p99 µs", "4 KiB ref p50 µs", "p50 / ref", NULL);
    size_create(&h, SIZE_REF, 4096);
    for (size_t i = 0; i < nsizes; i++) {
        uint64_t need = sizes[i] + (2ull << 30);
        int64_t avail = proc_kib(0, "meminfo", "MemAvailable");
        struct stats_summary sb, sr;

        if (avail >= 0 && (uint64_t)avail * 1024 < need) {
            report_row("%s | skipped: %lld MiB available | | |",
                       report_size(sizes[i], sz, sizeof(sz)), (long long)avail / 1024);
            continue;
        }
        size_create(&h, SIZE_BIG, sizes[i]);
        for (int w = 0; w < 20; w++)
            size_attach(&h, SIZE_BIG);
        for (size_t k = 0; k < iters; k++) {
            big[k] = size_attach(&h, SIZE_BIG);
            ref[k] = size_attach(&h, SIZE_REF);
        }
        /* Free the memory before the next, larger size. */
        harness_check(&h, sharr_unlink(h.conn, SIZE_BIG), "unlink " SIZE_BIG);
        stats_summarize(big, iters, &sb);
        stats_summarize(ref, iters, &sr);
        report_row("%s | %.1f | %.1f | %.1f | %.2f", report_size(sizes[i], sz, sizeof(sz)),
                   sb.p50, sb.p99, sr.p50, sb.p50 / sr.p50);
        if (sb.p50 / sr.p50 > worst) {
            worst = sb.p50 / sr.p50;
            worst_size = sizes[i];
        }
    }
    report_end();
    harness_check(&h, sharr_unlink(h.conn, SIZE_REF), "unlink " SIZE_REF);
    snprintf(measured, sizeof(measured), "largest p50 ratio %.2fx (at %s)", worst,
             report_size(worst_size, sz, sizeof(sz)));
    snprintf(why, sizeof(why), "attach time grows with size: the mapping or its "
             "release does work per page");
    report_target("attach cost flat in size: every size's p50 <= 1.25x the 4 KiB "
                  "array's", measured, worst <= 1.25, worst <= 1.25 ? NULL : why);
    report_end();
    free(big);
    free(ref);
    harness_close(&h);
    return 0;
}
