/* fdstore.c — hand volatile arrays to systemd's descriptor store and take them back.
 *
 * Knows the FDSTORE/FDSTOREREMOVE messages and the LISTEN_FDS hand-over, and the
 * small metadata memfd stored beside each data memfd; the registry and the
 * socket-activated listener are the caller's.
 */
#include "fdstore.h"

#include <errno.h>
#include <linux/magic.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/vfs.h>
#include <time.h>
#include <unistd.h>

#include "memstore.h"
#include "name.h"
#include "npy.h"
#include "perm.h"

#define FDSTORE_LISTEN_START 3   /* SD_LISTEN_FDS_START */
#define FDSTORE_PREFIX "sharr-array."
#define FDSTORE_NAME_MAX 96      /* FDSTORE_PREFIX "<inode>.<ctime>.<uid>.<gid>.<perm>", NUL */
#define FDSTORE_META_MAX 384
#define FDSTORE_META_FMT \
    "sharr-vmeta 1 %" PRIu32 " %" PRIu32 " %" PRIo32 " %" PRId64 " %" PRId64 " %s\n"
#define FDSTORE_SEALS (F_SEAL_SHRINK | F_SEAL_GROW)

/* One array passed back at start: its two descriptors and what they say. */
struct fdstore_entry {
    char fdname[FDSTORE_NAME_MAX];
    int data, meta;
    struct meta m;           /* m.dtype.descr: the entry's own copy (dtype_own) */
    int64_t version;         /* when this record was stored: the newest one wins */
};

/* The FDNAME of the array m backed by fd: unique among live memfds, the same after
 * a restart (the inode travels with the descriptor), and different for other
 * metadata, so a new record can be stored before the old one is removed. 0 or -errno. */
static int fdstore_name(const struct meta *m, int fd, char out[FDSTORE_NAME_MAX])
{
    struct stat st;

    if (fstat(fd, &st) < 0)
        return -errno;
    snprintf(out, FDSTORE_NAME_MAX, FDSTORE_PREFIX "%llx.%llx.%" PRIu32 ".%" PRIu32 ".%" PRIo32,
             (unsigned long long)st.st_ino, (unsigned long long)m->ctime_ns, m->uid, m->gid,
             m->perm);
    return 0;
}

static int fdstore_remove_name(const struct notify *n, const char *fdname)
{
    char state[FDSTORE_NAME_MAX + 32];

    snprintf(state, sizeof(state), "FDSTOREREMOVE=1\nFDNAME=%s", fdname);
    return notify_send(n, state, NULL, 0);
}

int fdstore_push(const struct notify *n, const struct meta *m, int fd, char *err,
                 size_t errlen)
{
    char fdname[FDSTORE_NAME_MAX], state[FDSTORE_NAME_MAX + 32], text[FDSTORE_META_MAX];
    int fds[2] = { fd, -1 };
    struct timespec now;
    int len, r;

    if (!notify_enabled(n))
        return 0;
    r = fdstore_name(m, fd, fdname);
    if (r < 0) {
        snprintf(err, errlen, "fstat: %s", strerror(-r));
        return r;
    }
    clock_gettime(CLOCK_REALTIME, &now);
    len = snprintf(text, sizeof(text), FDSTORE_META_FMT, m->uid, m->gid, m->perm, m->ctime_ns,
                   (int64_t)now.tv_sec * 1000000000 + now.tv_nsec, m->name);
    fds[1] = memfd_create("sharr-meta", MFD_CLOEXEC | MFD_ALLOW_SEALING);
    if (fds[1] < 0 || fchmod(fds[1], 0600) < 0
        || write(fds[1], text, (size_t)len) != len
        || fcntl(fds[1], F_ADD_SEALS, F_SEAL_WRITE | FDSTORE_SEALS | F_SEAL_SEAL) < 0) {
        r = errno ? -errno : -EIO;
        snprintf(err, errlen, "cannot make the metadata memfd: %s", strerror(-r));
        goto out;
    }
    snprintf(state, sizeof(state), "FDSTORE=1\nFDNAME=%s", fdname);
    r = notify_send(n, state, fds, 2);
    if (r < 0)
        snprintf(err, errlen, "cannot hand it to the service manager: %s", strerror(-r));
out:
    if (fds[1] >= 0)
        close(fds[1]);
    return r;
}

int fdstore_update(const struct notify *n, const struct meta *old, const struct meta *m,
                   int fd, char *err, size_t errlen)
{
    char was[FDSTORE_NAME_MAX], now[FDSTORE_NAME_MAX];
    int r;

    if (!notify_enabled(n))
        return 0;
    if (fdstore_name(old, fd, was) == 0 && fdstore_name(m, fd, now) == 0
        && strcmp(was, now) == 0)
        return 0; /* the same record */
    r = fdstore_push(n, m, fd, err, errlen);
    if (r == 0)
        fdstore_remove_name(n, was);
    return r;
}

int fdstore_drop(const struct notify *n, const struct meta *m, int fd)
{
    char fdname[FDSTORE_NAME_MAX];
    int r;

    if (!notify_enabled(n))
        return 0;
    r = fdstore_name(m, fd, fdname);
    return r < 0 ? r : fdstore_remove_name(n, fdname);
}

/* The page size of a data memfd of st whose header and data take need bytes: a
 * hugetlb file's (a multiple of which it is long), else the THP size when the file is
 * longer than need and a whole number of THPs (memstore.c sized it for huge pages; a
 * file in small pages whose room to grow happens to end on a THP boundary reads as
 * THP too, which only counts its last page whole), else the system's. A file may be
 * longer than need: its room to grow (memstore_room). -EINVAL when the size fits none
 * of these. */
static int fdstore_pages(int fd, const struct stat *st, uint64_t need, uint32_t *ret_page)
{
    uint64_t size = (uint64_t)st->st_size, page = (uint64_t)sysconf(_SC_PAGESIZE);
    unsigned long long pmd = 0;
    struct statfs fs;
    FILE *f;

    if (fstatfs(fd, &fs) == 0 && fs.f_type == HUGETLBFS_MAGIC && fs.f_bsize > 0) {
        page = (uint64_t)fs.f_bsize;
        if (size % page != 0)
            return -EINVAL;
    } else if (size > need) {
        f = fopen("/sys/kernel/mm/transparent_hugepage/hpage_pmd_size", "re");
        if (f && fscanf(f, "%llu", &pmd) != 1)
            pmd = 0;
        if (f)
            fclose(f);
        if (pmd > page && size % pmd == 0)
            page = pmd;
    }
    if (page > UINT32_MAX || size < need)
        return -EINVAL;
    *ret_page = (uint32_t)page;
    return 0;
}

/* Check an entry's two descriptors and fill its meta. 0, or -EINVAL with a reason. */
static int fdstore_check(struct fdstore_entry *e, char *err, size_t errlen)
{
    char text[FDSTORE_META_MAX], name[PROTO_NAME_MAX + 2], fdname[FDSTORE_NAME_MAX], tail;
    uint8_t header[NPY_HEADER_LEN];
    struct dtype_text descr;
    struct meta *m = &e->m;
    uint64_t offset;
    struct stat st;
    ssize_t n;
    int seals;

    if (e->data < 0 || e->meta < 0) {
        snprintf(err, errlen, "its %s descriptor is missing", e->data < 0 ? "data" : "metadata");
        return -EINVAL;
    }
    memset(m, 0, sizeof(*m));
    n = pread(e->meta, text, sizeof(text) - 1, 0);
    text[n > 0 ? n : 0] = '\0';
    if (sscanf(text, "sharr-vmeta 1 %" SCNu32 " %" SCNu32 " %" SCNo32 " %" SCNd64 " %" SCNd64
               " %256s%c", &m->uid, &m->gid, &m->perm, &m->ctime_ns, &e->version, name,
               &tail) != 7 || tail != '\n'
        || !perm_valid(m->perm) || name_check(name, strlen(name)) < 0) {
        snprintf(err, errlen, "unreadable metadata");
        return -EINVAL;
    }
    memcpy(m->name, name, strlen(name) + 1);
    seals = fcntl(e->data, F_GET_SEALS);
    n = pread(e->data, header, sizeof(header), 0);
    if (fstat(e->data, &st) < 0 || seals < 0 || (seals & FDSTORE_SEALS) != FDSTORE_SEALS
        || n < 0) {
        snprintf(err, errlen, "not a sealed memfd");
        return -EINVAL;
    }
    if (npy_header_parse(header, (size_t)n, m, &descr, &offset, err, errlen) < 0
        || offset != NPY_HEADER_LEN || fdstore_pages(e->data, &st, offset + m->nbytes,
                                                     &m->page_size) < 0) {
        m->dtype.descr = NULL;
        snprintf(err, errlen, "its .npy header does not describe it");
        return -EINVAL;
    }
    if (dtype_own(&m->dtype) < 0) {
        m->dtype.descr = NULL;
        snprintf(err, errlen, "out of memory");
        return -EINVAL;
    }
    m->offset = offset;
    m->max_len = memstore_room(m, (uint64_t)st.st_size);
    m->published = memstore_published(e->data);
    m->persist = false;
    m->path[0] = '\0';
    if (fdstore_name(m, e->data, fdname) < 0 || strcmp(fdname, e->fdname) != 0) {
        snprintf(err, errlen, "its name does not match its descriptor");
        return -EINVAL;
    }
    return 0;
}

/* Newest first within a name (created last, then stored last), so the first of each
 * name is the one to keep. */
static int fdstore_compare(const void *x, const void *y)
{
    const struct fdstore_entry *a = x, *b = y;
    int c = strcmp(a->m.name, b->m.name);

    if (c != 0)
        return c;
    if (a->m.ctime_ns != b->m.ctime_ns)
        return a->m.ctime_ns > b->m.ctime_ns ? -1 : 1;
    return a->version > b->version ? -1 : a->version < b->version;
}

/* The entry named fdname in e[0..*n), added if new. */
static struct fdstore_entry *fdstore_entry(struct fdstore_entry *e, size_t *n, const char *fdname)
{
    for (size_t i = 0; i < *n; i++)
        if (strcmp(e[i].fdname, fdname) == 0)
            return &e[i];
    e[*n] = (struct fdstore_entry){ .data = -1, .meta = -1 };
    snprintf(e[*n].fdname, sizeof(e[*n].fdname), "%s", fdname);
    return &e[(*n)++];
}

/* Sort the descriptor at fd into its entry by what it holds; 0, or -EINVAL when it
 * is not ours (then closed). */
static int fdstore_take(struct fdstore_entry *e, int fd)
{
    char magic[12] = "";
    int *slot = NULL;

    if (pread(fd, magic, sizeof(magic), 0) == (ssize_t)sizeof(magic)) {
        if (memcmp(magic, "\x93NUMPY", 6) == 0)
            slot = &e->data;
        else if (memcmp(magic, "sharr-vmeta ", 12) == 0)
            slot = &e->meta;
    }
    if (slot == NULL || *slot >= 0) {
        close(fd);
        return -EINVAL;
    }
    fcntl(fd, F_SETFD, FD_CLOEXEC);
    *slot = fd;
    return 0;
}

size_t fdstore_load(const struct notify *n, const struct log_ctx *lg, fdstore_found_cb *cb,
                    void *arg)
{
    const char *pid = getenv("LISTEN_PID"), *nfds = getenv("LISTEN_FDS");
    const char *names = getenv("LISTEN_FDNAMES");
    struct fdstore_entry *e;
    size_t ne = 0, found = 0;
    long count;
    char err[256];

    if (!pid || !nfds || !names || strtol(pid, NULL, 10) != (long)getpid())
        return 0;
    count = strtol(nfds, NULL, 10);
    if (count < 1 || count > 65536)
        return 0;
    e = calloc((size_t)count, sizeof(*e));
    if (!e) {
        log_error(lg, "out of memory: cannot take back %ld stored descriptors", count);
        return 0;
    }
    for (long i = 0; i < count && names; i++) {
        const char *end = strchr(names, ':');
        size_t len = end ? (size_t)(end - names) : strlen(names);
        char fdname[FDSTORE_NAME_MAX];

        struct stat st;

        /* A socket is the listener's (socket units are named like "sharr.socket"). */
        if (len > strlen(FDSTORE_PREFIX) && len < sizeof(fdname)
            && memcmp(names, FDSTORE_PREFIX, strlen(FDSTORE_PREFIX)) == 0
            && fstat(FDSTORE_LISTEN_START + (int)i, &st) == 0 && !S_ISSOCK(st.st_mode)) {
            memcpy(fdname, names, len);
            fdname[len] = '\0';
            if (fdstore_take(fdstore_entry(e, &ne, fdname), FDSTORE_LISTEN_START + (int)i) < 0)
                log_warning(lg, "stored descriptor %s is not a sharr array: closed", fdname);
        }
        names = end ? end + 1 : NULL;
    }
    for (size_t i = 0; i < ne; i++) {
        if (fdstore_check(&e[i], err, sizeof(err)) == 0)
            continue;
        log_warning(lg, "dropping stored array %s: %s", e[i].fdname, err);
        e[i].m.name[0] = '\0';
    }
    qsort(e, ne, sizeof(*e), fdstore_compare);
    for (size_t i = 0; i < ne; i++) {
        bool keep = e[i].m.name[0] != '\0'
                    && (i == 0 || strcmp(e[i].m.name, e[i - 1].m.name) != 0);

        if (e[i].meta >= 0)
            close(e[i].meta);
        if (keep && cb(arg, &e[i].m, e[i].data) == 0) {
            found++;
            continue;
        }
        if (!keep && e[i].data >= 0)
            close(e[i].data);
        if (e[i].m.name[0])
            log_warning(lg, "dropping stored array %s (%s): another array has its name",
                        e[i].m.name, e[i].fdname);
        fdstore_remove_name(n, e[i].fdname);
    }
    for (size_t i = 0; i < ne; i++)
        dtype_own_free(&e[i].m.dtype);
    free(e);
    return found;
}
