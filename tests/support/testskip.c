/* testskip.c — skips counted in the test process, so that its exit status can say
 * "skipped" to CTest (testskip.h). The count is the process's own: a skip in a forked
 * child does not reach the parent, and tests skip only in the parent.
 */
#include "testskip.h"

#include <stdarg.h>
#include <stdio.h>

static unsigned testskip_count;

void testskip_note(const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    fputs("SKIP: ", stdout);
    vfprintf(stdout, fmt, ap);
    fputc('\n', stdout);
    fflush(stdout);
    va_end(ap);
    testskip_count++;
}

int testskip_exit(int failures)
{
    if (failures != 0)
        return 1;
    if (testskip_count > 0) {
        printf("SKIP: %u test(s) or check(s) skipped (the reasons are above); "
               "exit %d, which CTest reports as skipped\n", testskip_count, TESTSKIP_EXIT);
        return TESTSKIP_EXIT;
    }
    return 0;
}
