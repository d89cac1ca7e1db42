/* report.h — how a benchmark prints what it measured: Markdown sections and
 * tables on stdout, and one line per target into the run's summary file.
 *
 * bench/run.sh points $SHARR_BENCH_SUMMARY at a file and assembles RESULTS.md from
 * the sections and that file; run alone, a benchmark prints its targets inline only.
 */
#ifndef BENCH_REPORT_H
#define BENCH_REPORT_H

#include <stddef.h>
#include <stdint.h>

/* "## title" with a blank line before and after. */
void report_title(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* A paragraph of text, followed by a blank line. */
void report_text(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* A table header: the column names, NULL-terminated, then the separator line. */
void report_columns(const char *first, ...) __attribute__((sentinel));

/* One table row: cells separated by " | " in fmt; the outer bars are added. */
void report_row(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* Ends a table with a blank line. */
void report_end(void);

/* One target: what it asks, what was measured, whether it was met (1), missed (0)
 * or could not be measured (-1), and why when it was not met. Printed inline as a
 * bullet and appended to $SHARR_BENCH_SUMMARY when that is set. */
void report_target(const char *target, const char *measured, int met, const char *why);

/* bytes as "4 KiB", "256 MiB", "8 GiB" (exact powers) or "1.5 GiB". */
const char *report_size(uint64_t bytes, char *buf, size_t len);

#endif
