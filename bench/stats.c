/* stats.c — the clock and nearest-rank order statistics of the benchmarks.
 *
 * Nothing here allocates: summaries sort the caller's samples in place.
 */
#include "stats.h"

#include <stdlib.h>
#include <time.h>

uint64_t stats_ns(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

double stats_sec(void)
{
    return (double)stats_ns() / 1e9;
}

static int stats_cmp(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;

    return (x > y) - (x < y);
}

/* Nearest rank: the smallest sample with at least q of the samples at or below it. */
static double stats_rank(const double *sorted, size_t n, double q)
{
    size_t k = (size_t)(q * (double)n + 0.999999);

    if (k < 1)
        k = 1;
    if (k > n)
        k = n;
    return sorted[k - 1];
}

void stats_summarize(double *v, size_t n, struct stats_summary *out)
{
    double sum = 0;

    *out = (struct stats_summary){ .n = n };
    if (n == 0)
        return;
    qsort(v, n, sizeof(*v), stats_cmp);
    for (size_t i = 0; i < n; i++)
        sum += v[i];
    out->min = v[0];
    out->max = v[n - 1];
    out->p50 = stats_rank(v, n, 0.5);
    out->p99 = stats_rank(v, n, 0.99);
    out->mean = sum / (double)n;
}

double stats_median(double *v, size_t n)
{
    struct stats_summary s;

    stats_summarize(v, n, &s);
    return s.p50;
}
