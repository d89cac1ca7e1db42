/* stats.h — the clock and the order statistics every benchmark reports.
 *
 * Samples are doubles in whatever unit the caller chose (the benchmarks use
 * microseconds or seconds); summaries sort the caller's buffer in place. Medians
 * and p99 are nearest-rank, so they are always a value that was measured.
 */
#ifndef BENCH_STATS_H
#define BENCH_STATS_H

#include <stddef.h>
#include <stdint.h>

/* CLOCK_MONOTONIC in nanoseconds and in seconds. */
uint64_t stats_ns(void);
double stats_sec(void);

struct stats_summary {
    size_t n;
    double min, p50, p99, max, mean;
};

/* Sort v[0..n) and fill *out; n == 0 gives all zeros. */
void stats_summarize(double *v, size_t n, struct stats_summary *out);

/* The median of v[0..n) (sorts v); 0 for n == 0. */
double stats_median(double *v, size_t n);

#endif
