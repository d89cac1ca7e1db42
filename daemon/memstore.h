/* memstore.h — volatile arrays: sealed memfd files that live in memory only.
 *
 * A memfd cannot be shrunk or grown once sealed, so no client holding a writable
 * descriptor can make other mappers die of SIGBUS. The daemon never maps it.
 */
#ifndef DAEMON_MEMSTORE_H
#define DAEMON_MEMSTORE_H

#include <stddef.h>

#include "meta.h"

/* Create the memfd of m (m->nbytes of data after the npy header at 4096): mode
 * 0600, header written, every page allocated (posix_fallocate: slow for large
 * arrays, so call it on the thread pool), sealed against shrink, grow and further
 * seals. Returns 0 and sets *ret_fd (O_RDWR, O_CLOEXEC), or a negative errno with
 * a message in err; nothing is left behind on failure. */
int memstore_create(const struct meta *m, int *ret_fd, char *err, size_t errlen);

#endif
