/* nofile.c — sharrd's descriptor limit: raised to what the kernel allows at start, and
 * checked against what --max-connections and --max-arrays may need (at start and after
 * a reload). Only the limit; conn.c and the registry count the descriptors themselves.
 */
#include "nofile.h"

#include <errno.h>
#include <string.h>
#include <sys/resource.h>

#include "descriptors.h"
#include "daemon.h"

/* Each volatile array, each connection and each description a connection caches holds a
 * descriptor (a persistent array holds none): take all the kernel allows. */
void nofile_raise(struct daemon *d)
{
    struct rlimit rl;

    if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
        rl.rlim_cur = rl.rlim_max;
        if (setrlimit(RLIMIT_NOFILE, &rl) < 0)
            log_debug(&d->log, "cannot raise the descriptor limit: %s", strerror(errno));
    }
}

void nofile_check(struct daemon *d)
{
    uint64_t conns = d->cfg.max_connections, arrays = d->cfg.policy.max_arrays;
    uint64_t need = conns * DESCRIPTORS_NOFILE + arrays + NOFILE_OWN;
    struct rlimit rl;

    if (getrlimit(RLIMIT_NOFILE, &rl) < 0 || rl.rlim_cur == RLIM_INFINITY || rl.rlim_cur >= need)
        return;
    if (arrays)
        log_warning(&d->log, "the descriptor limit (%llu) is below the %llu that "
                    "--max-connections (%llu) and --max-arrays (%llu) may need: %d per "
                    "connection, one per volatile array, and %d of sharrd's own; raise it "
                    "(LimitNOFILE=, ulimit -n) or lower those limits",
                    (unsigned long long)rl.rlim_cur, (unsigned long long)need,
                    (unsigned long long)conns, (unsigned long long)arrays, DESCRIPTORS_NOFILE,
                    NOFILE_OWN);
    else
        log_warning(&d->log, "the descriptor limit (%llu) is below the %llu that "
                    "--max-connections (%llu) may need: %d per connection and %d of sharrd's "
                    "own, and with --max-arrays 0 one more per volatile array; raise it "
                    "(LimitNOFILE=, ulimit -n) or lower --max-connections",
                    (unsigned long long)rl.rlim_cur, (unsigned long long)need,
                    (unsigned long long)conns, DESCRIPTORS_NOFILE, NOFILE_OWN);
}
