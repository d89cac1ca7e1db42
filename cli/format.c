/* format.c — turns sizes, shapes, owners, times and strings into what people and
 * JSON parsers read, and lines up tables for the sharr command.
 *
 * No I/O but writing to the FILE a caller passes; no state between calls.
 */
#include "format.h"

#include <errno.h>
#include <inttypes.h>
#include <pwd.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

struct format_table {
    size_t ncols;
    char *align;
    char **cells;     /* rows * ncols strings, row-major */
    size_t rows, cap; /* in rows */
};

const char *format_size(uint64_t bytes, char *buf, size_t len)
{
    static const char *const units[] = { "B", "KiB", "MiB", "GiB", "TiB" };
    const size_t last = sizeof(units) / sizeof(units[0]) - 1;
    double v = (double)bytes;
    size_t u = 0;

    if (bytes < 1024) {
        snprintf(buf, len, "%llu B", (unsigned long long)bytes);
        return buf;
    }
    while (v >= 1024 && u < last) {
        v /= 1024;
        u++;
    }
    /* 1023.96 KiB would print as "1024.0 KiB": show the next unit instead. */
    if (v >= 1023.95 && u < last) {
        v /= 1024;
        u++;
    }
    snprintf(buf, len, "%.1f %s", v, units[u]);
    return buf;
}

const char *format_shape(int ndim, const uint64_t *shape, char *buf, size_t len)
{
    size_t used = 0;

    /* A 0-d array has no dimensions to join: numpy writes its shape (). */
    snprintf(buf, len, "%s", ndim == 0 ? "()" : "");
    for (int i = 0; i < ndim && used < len; i++) {
        int n = snprintf(buf + used, len - used, "%s%llu", i > 0 ? "x" : "",
                         (unsigned long long)shape[i]);
        if (n < 0)
            break;
        used += (size_t)n;
    }
    return buf;
}

const char *format_user(uint32_t uid, char *buf, size_t len)
{
    struct passwd pw, *found = NULL;
    char scratch[1024];

    if (getpwuid_r((uid_t)uid, &pw, scratch, sizeof(scratch), &found) == 0 && found != NULL)
        snprintf(buf, len, "%s", found->pw_name);
    else
        snprintf(buf, len, "%u", uid);
    return buf;
}

const char *format_time_ns(int64_t ns, char *buf, size_t len)
{
    time_t secs = (time_t)(ns / 1000000000);
    struct tm tm;

    if (localtime_r(&secs, &tm) == NULL ||
        strftime(buf, len, "%Y-%m-%d %H:%M:%S %z", &tm) == 0)
        snprintf(buf, len, "%lld ns since the epoch", (long long)ns);
    return buf;
}

const char *format_duration_ms(int64_t ms, char *buf, size_t len)
{
    long long s = ms < 0 ? 0 : (long long)(ms / 1000);
    long long days = s / 86400;

    s %= 86400;
    if (days > 0)
        snprintf(buf, len, "%lldd %02lld:%02lld:%02lld", days, s / 3600, s / 60 % 60, s % 60);
    else
        snprintf(buf, len, "%02lld:%02lld:%02lld", s / 3600, s / 60 % 60, s % 60);
    return buf;
}

/* Length of the valid UTF-8 sequence at s (1..4), or 0 if it is not one. */
static size_t format_utf8_len(const unsigned char *s)
{
    size_t n;
    unsigned min;
    unsigned cp;

    if (s[0] < 0x80)
        return 1;
    if ((s[0] & 0xe0) == 0xc0) {
        n = 2, min = 0x80, cp = s[0] & 0x1f;
    } else if ((s[0] & 0xf0) == 0xe0) {
        n = 3, min = 0x800, cp = s[0] & 0x0f;
    } else if ((s[0] & 0xf8) == 0xf0) {
        n = 4, min = 0x10000, cp = s[0] & 0x07;
    } else {
        return 0;
    }
    for (size_t i = 1; i < n; i++) {
        if ((s[i] & 0xc0) != 0x80)
            return 0;
        cp = (cp << 6) | (s[i] & 0x3f);
    }
    if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
        return 0;
    return n;
}

void format_json_string(FILE *out, const char *s)
{
    const unsigned char *p = (const unsigned char *)s;

    fputc('"', out);
    while (*p != '\0') {
        size_t n = format_utf8_len(p);

        if (n == 0) {
            fputs("\\ufffd", out);
            p++;
            continue;
        }
        if (n > 1) {
            fwrite(p, 1, n, out);
            p += n;
            continue;
        }
        switch (*p) {
        case '"': fputs("\\\"", out); break;
        case '\\': fputs("\\\\", out); break;
        case '\n': fputs("\\n", out); break;
        case '\r': fputs("\\r", out); break;
        case '\t': fputs("\\t", out); break;
        default:
            if (*p < 0x20 || *p == 0x7f)
                fprintf(out, "\\u%04x", *p);
            else
                fputc(*p, out);
        }
        p++;
    }
    fputc('"', out);
}

const char *format_space(uint64_t free_bytes, uint64_t capacity, char *buf, size_t len)
{
    char a[FORMAT_SIZE_MAX], b[FORMAT_SIZE_MAX];

    if (capacity == 0)
        snprintf(buf, len, "unknown");
    else
        snprintf(buf, len, "%s free of %s", format_size(free_bytes, a, sizeof(a)),
                 format_size(capacity, b, sizeof(b)));
    return buf;
}

void format_json_info(FILE *out, const struct sharr_info *in, const char *descr)
{
    char user[FORMAT_USER_MAX];

    fputs("{\"name\": ", out);
    format_json_string(out, in->name);
    fputs(", \"dtype\": ", out);
    format_json_string(out, in->dtype);
    if (descr != NULL) {
        fputs(", \"descr\": ", out);
        format_json_string(out, descr);
    }
    fprintf(out, ", \"itemsize\": %" PRIu64 ", \"shape\": [", in->itemsize);
    for (int i = 0; i < in->ndim; i++)
        fprintf(out, "%s%" PRIu64, i > 0 ? ", " : "", in->shape[i]);
    fprintf(out, "], \"order\": \"%c\", \"nbytes\": %" PRIu64 ", \"offset\": %" PRIu64
            ", \"persist\": %s, \"path\": ", in->order, in->nbytes, in->offset,
            in->persist ? "true" : "false");
    format_json_string(out, in->path);
    fprintf(out, ", \"perm\": %" PRIu32 ", \"uid\": %" PRIu32 ", \"gid\": %" PRIu32
            ", \"owner\": ", in->perm, in->uid, in->gid);
    format_json_string(out, format_user(in->uid, user, sizeof(user)));
    fprintf(out, ", \"ctime_ns\": %" PRId64 ", \"attached\": %" PRIu32 ", \"grown\": %"
            PRIu64 ", \"damaged\": %s, \"published\": %s, \"max_len\": %" PRIu64
            ", \"page_size\": %" PRIu32 "}", in->ctime_ns, in->nattached, in->grown,
            in->damaged ? "true" : "false", in->published ? "true" : "false", in->max_len,
            in->page_size);
}

struct format_table *format_table_new(const char *align)
{
    struct format_table *t = calloc(1, sizeof(*t));

    if (t == NULL)
        return NULL;
    t->ncols = strlen(align);
    t->align = strdup(align);
    if (t->align == NULL) {
        free(t);
        return NULL;
    }
    return t;
}

int format_table_add(struct format_table *t, const char *const *cells)
{
    size_t base;

    if (t->rows == t->cap) {
        size_t cap = t->cap == 0 ? 16 : t->cap * 2;
        char **grown = realloc(t->cells, cap * t->ncols * sizeof(char *));

        if (grown == NULL)
            return -ENOMEM;
        t->cells = grown;
        t->cap = cap;
    }
    base = t->rows * t->ncols;
    for (size_t c = 0; c < t->ncols; c++) {
        t->cells[base + c] = strdup(cells[c]);
        if (t->cells[base + c] == NULL) {
            while (c-- > 0)
                free(t->cells[base + c]);
            return -ENOMEM;
        }
    }
    t->rows++;
    return 0;
}

void format_table_print(const struct format_table *t, FILE *out)
{
    size_t *width = calloc(t->ncols == 0 ? 1 : t->ncols, sizeof(size_t));

    if (width == NULL)
        return;
    for (size_t r = 0; r < t->rows; r++) {
        for (size_t c = 0; c < t->ncols; c++) {
            size_t w = strlen(t->cells[r * t->ncols + c]);

            if (w > width[c])
                width[c] = w;
        }
    }
    for (size_t r = 0; r < t->rows; r++) {
        for (size_t c = 0; c < t->ncols; c++) {
            const char *cell = t->cells[r * t->ncols + c];
            bool last = c + 1 == t->ncols;
            int w = (int)width[c];

            if (t->align[c] == 'r')
                fprintf(out, "%*s", w, cell);
            else if (last)
                fputs(cell, out);
            else
                fprintf(out, "%-*s", w, cell);
            fputs(last ? "\n" : "  ", out);
        }
    }
    free(width);
}

void format_table_free(struct format_table *t)
{
    if (t == NULL)
        return;
    for (size_t i = 0; i < t->rows * t->ncols; i++)
        free(t->cells[i]);
    free(t->cells);
    free(t->align);
    free(t);
}
