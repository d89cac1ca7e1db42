/* top.h — who holds what, for the sharr command: fetch every attachment the caller
 * may see, show them per array (ls -l, info) or per process (sharr top), with the
 * space still free, as aligned text or JSON.
 *
 * Uses only the public API of libsharr; cli.c owns argument parsing and exit codes.
 */
#ifndef CLI_TOP_H
#define CLI_TOP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

#include "sharr.h"

struct top_holders {
    struct sharr_holder *v;
    size_t n, cap;
};

/* Every attachment of name (NULL: of all arrays), page after page, into *hs (free
 * with top_holders_free). Returns 0 or the library's negative errno. */
int top_holders_fetch(sharr_t *conn, const char *name, struct top_holders *hs);
void top_holders_free(struct top_holders *hs);

/* "1234 python3 r+, 5678 worker r" for the holders of name, or "-" when none. */
const char *top_holders_brief(const struct top_holders *hs, const char *name, char *buf,
                              size_t len);

/* A JSON array of the holders of name (NULL: all). */
void top_holders_json(FILE *out, const struct top_holders *hs, const char *name);

/* One array's JSON object (format_json_info) with a "holders" array added. */
void top_json_info(FILE *out, const struct sharr_info *in, const char *descr,
                   const struct top_holders *hs);

/* A table of the holders of name: PID, UID, COMMAND, MODE, SINCE. */
int top_holders_table(FILE *out, const struct top_holders *hs, const char *name);

/* The `sharr top` report: per process what it holds and how much, then the space
 * still free in each store. Returns 0 or the library's negative errno. */
int top_report(sharr_t *conn, bool json, FILE *out);

#endif
