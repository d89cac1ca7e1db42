/* report.c — Markdown output of the benchmarks and their lines of the summary.
 *
 * Everything goes to stdout, flushed per line, so that a benchmark killed half way
 * still leaves the tables it finished. The summary file is opened per target in
 * append mode: the benchmarks of one run take turns writing it.
 */
#include "report.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>

void report_title(const char *fmt, ...)
{
    va_list ap;

    printf("\n## ");
    va_start(ap, fmt);
    vprintf(fmt, ap);
    va_end(ap);
    printf("\n\n");
    fflush(stdout);
}

void report_text(const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    vprintf(fmt, ap);
    va_end(ap);
    printf("\n\n");
    fflush(stdout);
}

void report_columns(const char *first, ...)
{
    va_list ap;
    int n = 0;

    va_start(ap, first);
    for (const char *c = first; c != NULL; c = va_arg(ap, const char *), n++)
        printf("| %s ", c);
    va_end(ap);
    printf("|\n");
    for (int i = 0; i < n; i++)
        printf(i == 0 ? "|---" : "|--:");
    printf("|\n");
    fflush(stdout);
}

void report_row(const char *fmt, ...)
{
    va_list ap;

    printf("| ");
    va_start(ap, fmt);
    vprintf(fmt, ap);
    va_end(ap);
    printf(" |\n");
    fflush(stdout);
}

void report_end(void)
{
    printf("\n");
    fflush(stdout);
}

static const char *report_verdict(int met)
{
    return met > 0 ? "met" : met == 0 ? "**MISSED**" : "not measured";
}

void report_target(const char *target, const char *measured, int met, const char *why)
{
    const char *path = getenv("SHARR_BENCH_SUMMARY");
    const char *note = why != NULL ? why : "";

    printf("- target: %s — measured %s — %s%s%s\n", target, measured, report_verdict(met),
           note[0] != '\0' ? ": " : "", note);
    fflush(stdout);
    if (path == NULL || path[0] == '\0')
        return;
    FILE *f = fopen(path, "ae");
    if (f == NULL) {
        perror(path);
        return;
    }
    fprintf(f, "| %s | %s | %s | %s |\n", target, measured, report_verdict(met), note);
    fclose(f);
}

const char *report_size(uint64_t bytes, char *buf, size_t len)
{
    static const char *const units[] = { "B", "KiB", "MiB", "GiB", "TiB" };
    unsigned u = 0;
    uint64_t whole = bytes;

    while (u + 1 < sizeof(units) / sizeof(units[0]) && whole >= 1024 && whole % 1024 == 0) {
        whole /= 1024;
        u++;
    }
    if (whole < 1024 || u + 1 == sizeof(units) / sizeof(units[0])) {
        snprintf(buf, len, "%llu %s", (unsigned long long)whole, units[u]);
        return buf;
    }
    double v = (double)bytes;
    for (u = 0; v >= 1024 && u + 1 < sizeof(units) / sizeof(units[0]); u++)
        v /= 1024;
    snprintf(buf, len, "%.1f %s", v, units[u]);
    return buf;
}
