/* genpage.h — the daemon's generation page (proto/gens.h): made once at start, bumped
 * for a name whenever a client's cached attachment of it may no longer be handed out
 * (the name removed or given a new array, chmod, chown, grow, publish), and given to
 * each client that asks (method gens) as a read-only descriptor of its own.
 * The methods decide when such an event happens; this file only counts it.
 */
#ifndef DAEMON_GENPAGE_H
#define DAEMON_GENPAGE_H

#include <stddef.h>

struct genpage {
    void *map;  /* GENS_BYTES, writable; NULL when the page could not be made */
    int fd;     /* the sealed memfd, -1 without a page */
};

/* Make g's page: a memfd sealed against growing, shrinking and later writable
 * mappings, mapped here before the seal. 0, or a negative errno with a message in err
 * (g then has no page; clients get the error from gens and cache nothing). */
int genpage_open(struct genpage *g, char *err, size_t errlen);

/* Unmap and close g's page (idempotent). Clients keep their own mappings. */
void genpage_close(struct genpage *g);

/* Count an event on name. A no-op without a page. */
void genpage_bump(struct genpage *g, const char *name);

/* A new O_RDONLY descriptor (a description of its own) of g's page into *ret_fd, made
 * through procfd, the daemon's /proc/self/fd (procfd.h). 0, or a negative errno with a
 * message in err. */
int genpage_reopen(const struct genpage *g, int procfd, int *ret_fd, char *err,
                   size_t errlen);

#endif
