/* format.h — how the sharr command shows values: human sizes, shapes, owners,
 * times, JSON strings, and tables whose columns line up.
 *
 * Pure formatting for cli.c; nothing here talks to sharrd. Functions that fill a
 * caller's buffer return that buffer, so they can be used inside a printf.
 */
#ifndef CLI_FORMAT_H
#define CLI_FORMAT_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "sharr.h"

#define FORMAT_SIZE_MAX 32
#define FORMAT_SHAPE_MAX 1400 /* 64 dimensions of up to 20 digits and separators */
#define FORMAT_USER_MAX 64
#define FORMAT_TIME_MAX 64

/* 512 B, 1.5 KiB, 3.0 MiB, ... TiB: one decimal above 1 KiB. */
const char *format_size(uint64_t bytes, char *buf, size_t len);

/* 100x200; a 1-d shape is just its length. */
const char *format_shape(int ndim, const uint64_t *shape, char *buf, size_t len);

/* The user name of uid, or the number when no name is known. */
const char *format_user(uint32_t uid, char *buf, size_t len);

/* Nanoseconds since the epoch as local time "2024-11-25 19:40:12 +0100". */
const char *format_time_ns(int64_t ns, char *buf, size_t len);

/* Milliseconds as "3d 04:05:06" or "04:05:06". */
const char *format_duration_ms(int64_t ms, char *buf, size_t len);

/* "12.0 GiB free of 15.6 GiB", or "unknown" when capacity is 0 (not known). */
const char *format_space(uint64_t free_bytes, uint64_t capacity, char *buf, size_t len);

/* Write one array's metadata as a JSON object with raw numbers (sizes in bytes,
 * perm as a number, ctime_ns in nanoseconds); descr, when not NULL, is the dtype in
 * numpy's notation (sharr_describe), under "descr". */
void format_json_info(FILE *out, const struct sharr_info *in, const char *descr);

/* Write s as a JSON string, quoted and escaped; bytes that are not UTF-8 become
 * U+FFFD so the output is always valid JSON. */
void format_json_string(FILE *out, const char *s);

/* A table printed with aligned columns. align holds one character per column:
 * 'l' left-aligned, 'r' right-aligned. Cells are copied. */
struct format_table;
struct format_table *format_table_new(const char *align);
/* Appends a row of as many cells as columns. Returns 0 or -ENOMEM. */
int format_table_add(struct format_table *t, const char *const *cells);
/* Print every row, columns separated by two spaces, no trailing blanks. */
void format_table_print(const struct format_table *t, FILE *out);
/* NULL is a no-op. */
void format_table_free(struct format_table *t);

#endif
