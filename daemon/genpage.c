/* genpage.c — the generation page of the daemon (genpage.h): its memfd and seals, the
 * bump on the loop thread, and the read-only descriptors handed to clients. A client
 * can neither write the page (O_RDONLY, and F_SEAL_FUTURE_WRITE refuses a writable
 * mapping to anyone but the one the daemon made before sealing) nor change its size.
 */
#include "genpage.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "gens.h"
#include "procfd.h"

int genpage_open(struct genpage *g, char *err, size_t errlen)
{
    void *map = MAP_FAILED;
    int fd, r;

    g->map = NULL;
    g->fd = -1;
    fd = memfd_create("sharr-gens", MFD_CLOEXEC | MFD_ALLOW_SEALING);
    if (fd < 0) {
        r = -errno;
        snprintf(err, errlen, "cannot make the generation page: %s", strerror(-r));
        return r;
    }
    if (fchmod(fd, 0400) < 0 || ftruncate(fd, GENS_BYTES) < 0 ||
        (map = mmap(NULL, GENS_BYTES, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0)) == MAP_FAILED ||
        fcntl(fd, F_ADD_SEALS, F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_FUTURE_WRITE | F_SEAL_SEAL)
            < 0) {
        r = -errno;
        if (map != MAP_FAILED)
            munmap(map, GENS_BYTES);
        close(fd);
        snprintf(err, errlen, "cannot make the generation page: %s", strerror(-r));
        return r;
    }
    gens_format(map);
    g->map = map;
    g->fd = fd;
    return 0;
}

void genpage_close(struct genpage *g)
{
    if (g->map != NULL)
        munmap(g->map, GENS_BYTES);
    if (g->fd >= 0)
        close(g->fd);
    g->map = NULL;
    g->fd = -1;
}

void genpage_bump(struct genpage *g, const char *name)
{
    if (g->map != NULL)
        gens_bump(g->map, gens_slot(name, strlen(name)));
}

int genpage_reopen(const struct genpage *g, int procfd, int *ret_fd, char *err,
                   size_t errlen)
{
    int fd;

    if (g->fd < 0) {
        snprintf(err, errlen, "this sharrd has no generation page (it could not make one "
                 "at start)");
        return -ENOMEM;
    }
    fd = procfd_reopen(procfd, g->fd, O_RDONLY);
    if (fd < 0) {
        snprintf(err, errlen, "cannot reopen the generation page: %s", strerror(-fd));
        return fd;
    }
    *ret_fd = fd;
    return 0;
}
