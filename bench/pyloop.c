/* pyloop.c — libsharr's own attach timed in C, for py_attach.py to load with ctypes.
 *
 * One ctypes call runs n attaches (sharr_open + sharr_close) and writes each one's
 * time, so the Python benchmark has the C floor of the very same process, CPU
 * placement and daemon beside sharr.memmap's time, with no per-attach ctypes cost.
 */
#include <time.h>

#include "sharr.h"

int pyloop_attach(sharr_t *conn, const char *name, const char *mode, int n, double *ret_ns);

/* Attach name in mode and drop it n times on conn; ret_ns[i] is attach i's time in
 * ns. Returns 0, or the first failing call's negative errno. */
__attribute__((visibility("default")))
int pyloop_attach(sharr_t *conn, const char *name, const char *mode, int n, double *ret_ns)
{
    struct sharr_open_opts opts = {.size = sizeof(opts)};

    for (int i = 0; i < n; i++) {
        struct timespec t0, t1;
        sharr_array_t *a = NULL;
        int rc;

        clock_gettime(CLOCK_MONOTONIC, &t0);
        rc = sharr_open(conn, name, mode, &opts, &a);
        if (rc < 0)
            return rc;
        rc = sharr_close(a);
        clock_gettime(CLOCK_MONOTONIC, &t1);
        if (rc < 0)
            return rc;
        ret_ns[i] = (double)(t1.tv_sec - t0.tv_sec) * 1e9 + (double)(t1.tv_nsec - t0.tv_nsec);
    }
    return 0;
}
