/* store.c — persistent arrays on disk and the crash-safe order of their files.
 *
 * An array exists when <name>.meta, its verified record, is in place: every change
 * commits by one rename of a complete, fsynced record over <name>.meta (or, for
 * unlink, its removal). The record names the inode of its data, so a create commits
 * before its .npy has its name and recover.c completes the rename. The protocol is
 * written down in daemon/STORE.md; this file follows it step by step.
 */
#include "store.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <signal.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "npy.h"
#include "procfd.h"
#include "record.h"
#include "storeid.h"

int store_file(char out[STORE_FILE_MAX], const char *prefix, const char *name,
               const char *suffix)
{
    /* By memcpy, not snprintf: a persistent create forms a dozen of these. */
    size_t a = strlen(prefix), b = strlen(name), c = strlen(suffix);

    if (a + b + c >= STORE_FILE_MAX)
        return -ENAMETOOLONG;
    memcpy(out, prefix, a);
    memcpy(out + a, name, b);
    memcpy(out + a + b, suffix, c + 1);
    return 0;
}

/* Whether the directory dir (st) lets only the daemon's uid change the store: the
 * store itself (self) must be that uid's and writable by nobody else; a directory
 * above it must be root's or that uid's and, if others may write in it, sticky (as
 * /tmp, where they cannot rename or remove our entry). 0, or -EPERM with a message in
 * err. */
static int store_trusted(const struct stat *st, bool self, const char *dir, const char *store,
                         char *err, size_t errlen)
{
    unsigned me = (unsigned)geteuid(), owner = (unsigned)st->st_uid;
    unsigned mode = (unsigned)st->st_mode & 07777;

    if (self && owner != me) {
        snprintf(err, errlen, "store %s belongs to uid %u and sharrd runs as uid %u: that "
                 "user could plant or change its records (chown the directory to uid %u "
                 "or choose another --store)", store, owner, me, me);
        return -EPERM;
    }
    if (self && (mode & (S_IWGRP | S_IWOTH))) {
        snprintf(err, errlen, "store %s is writable by its group or others (mode %04o): "
                 "they could plant or change its records (chmod 0700 it)", store, mode);
        return -EPERM;
    }
    if (!self && owner != me && owner != 0) {
        snprintf(err, errlen, "%s, a directory above store %s, belongs to uid %u, who "
                 "could put another store in its place: keep the store in directories of "
                 "root or uid %u", dir, store, owner, me);
        return -EPERM;
    }
    if (!self && (mode & (S_IWGRP | S_IWOTH)) && !(mode & S_ISVTX)) {
        snprintf(err, errlen, "%s, a directory above store %s, is writable by its group or "
                 "others and not sticky (mode %04o): they could put another store in its "
                 "place", dir, store, mode);
        return -EPERM;
    }
    return 0;
}

#define STORE_LINKS_MAX 40 /* symbolic links followed on the way to a store, as the kernel */

/* Resolve path (absolute, or relative to the working directory) into real, the
 * store's path without symbolic links, one name at a time as the kernel does, and
 * check every directory a name is looked up in (store_trusted) and every symbolic
 * link followed (root's or the daemon's uid's): then no other uid can change where
 * path leads, not even through a link in a directory it may write or a link of its
 * own in a sticky one. A missing directory is created 0700, only in a directory
 * already checked. *ret_st is the store's lstat. 0, or -EPERM, -ENAMETOOLONG, -ELOOP,
 * -ENOTDIR or the errno of a failed mkdir, lstat or readlink, with a message. */
static int store_resolve(const char *path, char real[PROTO_PATH_MAX], struct stat *ret_st,
                         char *err, size_t errlen)
{
    char rest[2 * PROTO_PATH_MAX], link[PROTO_PATH_MAX], next[PROTO_PATH_MAX];
    unsigned me = (unsigned)geteuid();
    const char *p = rest;
    int links = 0, r;
    struct stat st;
    ssize_t n;

    if (path[0] == '/') {
        snprintf(rest, sizeof(rest), "%s", path);
    } else {
        if (!getcwd(link, sizeof(link))) {
            r = -errno;
            snprintf(err, errlen, "cannot resolve store %s: %s", path, strerror(errno));
            return r;
        }
        snprintf(rest, sizeof(rest), "%s/%s", link, path);
    }
    memcpy(real, "/", 2);
    if (lstat("/", ret_st) < 0) {
        r = -errno;
        snprintf(err, errlen, "cannot check /: %s", strerror(errno));
        return r;
    }
    for (;;) {
        size_t len, at = strlen(real);
        while (*p == '/')
            p++;
        if (*p == '\0')
            return 0;
        len = strcspn(p, "/");
        if (len == 1 && p[0] == '.') {
            p += len;
            continue;
        }
        if (len == 2 && p[0] == '.' && p[1] == '.') {
            /* real has no link in it: its parent is the directory it was entered from. */
            while (at > 1 && real[at - 1] != '/')
                at--;
            real[at > 1 ? at - 1 : 1] = '\0';
            p += len;
            lstat(real, ret_st);
            continue;
        }
        /* The name is looked up in real: a directory above the store. */
        r = lstat(real, &st) < 0 ? -errno : store_trusted(&st, false, real, path, err, errlen);
        if (r < 0) {
            if (r != -EPERM)
                snprintf(err, errlen, "cannot check %s: %s", real, strerror(-r));
            return r;
        }
        if (at + (at > 1) + len >= sizeof(next)) {
            snprintf(err, errlen, "store path %s is too long", path);
            return -ENAMETOOLONG;
        }
        snprintf(next, sizeof(next), "%s%s%.*s", real, at > 1 ? "/" : "", (int)len, p);
        p += len;
        /* Missing: made here, in a directory just found trusted, and private. */
        if (lstat(next, &st) < 0 && errno == ENOENT && mkdir(next, 0700) < 0 && errno != EEXIST) {
            r = -errno;
            snprintf(err, errlen, "cannot create store %s: %s: %s", path, next, strerror(errno));
            return r;
        }
        if (lstat(next, &st) < 0) {
            r = -errno;
            snprintf(err, errlen, "cannot check %s: %s", next, strerror(errno));
            return r;
        }
        if (S_ISLNK(st.st_mode)) {
            if (st.st_uid != me && st.st_uid != 0) {
                snprintf(err, errlen, "%s, a symbolic link on the way to store %s, belongs to "
                         "uid %u, who could point it elsewhere: keep the store in directories "
                         "and links of root or uid %u", next, path, (unsigned)st.st_uid, me);
                return -EPERM;
            }
            n = readlink(next, link, sizeof(link) - 1);
            if (n < 0 || ++links > STORE_LINKS_MAX
                || (size_t)n + 1 + strlen(p) >= sizeof(rest)) {
                r = n < 0 ? -errno : links > STORE_LINKS_MAX ? -ELOOP : -ENAMETOOLONG;
                snprintf(err, errlen, "cannot resolve store %s at %s: %s", path, next,
                         strerror(-r));
                return r;
            }
            link[n] = '\0';
            /* The link's text takes its place in what is left of the path. */
            memmove(rest + n + 1, p, strlen(p) + 1);
            memcpy(rest, link, (size_t)n);
            rest[n] = '/';
            p = rest;
            if (link[0] == '/')
                memcpy(real, "/", 2);
            continue;
        }
        if (!S_ISDIR(st.st_mode)) {
            snprintf(err, errlen, "cannot open store %s: %s is not a directory", path, next);
            return -ENOTDIR;
        }
        memcpy(real, next, strlen(next) + 1);
        *ret_st = st;
    }
}

int store_open(struct store *s, const char *path, char *err, size_t errlen)
{
    char real[PROTO_PATH_MAX];
    struct stat want, st;
    int r;

    s->dirfd = -1;
    s->trash_seq = 0;
    s->id = 0;
    s->id_replaced = 0;
    s->damaged = NULL;
    s->ndamaged = s->damaged_cap = 0;
#ifdef SHARR_TEST_HOOKS
    snprintf(s->fault, sizeof(s->fault), "%s",
             getenv("SHARR_FAULT_POINT") ? getenv("SHARR_FAULT_POINT") : "");
#endif
    r = store_resolve(path, real, &want, err, errlen);
    if (r < 0)
        goto fail;
    if (strlen(real) + 1 + STORE_NAME_MAX + 4 >= sizeof(s->path)) {
        r = -ENAMETOOLONG;
        snprintf(err, errlen, "store path %s is too long", real);
        goto fail;
    }
    /* Every directory on the way is trusted: real leads where it led when checked. */
    s->dirfd = open(real, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    if (s->dirfd < 0 || fstat(s->dirfd, &st) < 0) {
        r = -errno;
        snprintf(err, errlen, "cannot open store %s: %s", path, strerror(errno));
        goto fail;
    }
    if (st.st_dev != want.st_dev || st.st_ino != want.st_ino) {
        r = -EAGAIN;
        snprintf(err, errlen, "store %s changed while it was opened", path);
        goto fail;
    }
    r = store_trusted(&st, true, real, real, err, errlen);
    if (r < 0)
        goto fail;
    /* Two daemons on one store would sweep up each other's files in flight. */
    if (flock(s->dirfd, LOCK_EX | LOCK_NB) < 0) {
        r = -errno;
        snprintf(err, errlen, "store %s is in use by another sharrd", real);
        goto fail;
    }
    r = storeid_load(s->dirfd, &s->id, &s->id_replaced, err, errlen);
    if (r < 0)
        goto fail;
    memcpy(s->path, real, strlen(real) + 1);
    return 0;

fail:
    store_close(s);
    return r;
}

void store_close(struct store *s)
{
    if (s->dirfd >= 0)
        close(s->dirfd);
    s->dirfd = -1;
    free(s->damaged);
    s->damaged = NULL;
    s->ndamaged = s->damaged_cap = 0;
}

/* Index of the first damaged name >= name. */
static size_t store_damaged_bound(const struct store *s, const char *name)
{
    size_t lo = 0, hi = s->ndamaged;

    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (strcmp(s->damaged[mid].name, name) < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo;
}

int store_damage(struct store *s, const char *name, const char *why)
{
    size_t i = store_damaged_bound(s, name);

    if (i < s->ndamaged && strcmp(s->damaged[i].name, name) == 0)
        return 0;
    if (s->ndamaged == s->damaged_cap) {
        size_t cap = s->damaged_cap ? 2 * s->damaged_cap : 8;
        struct store_damaged *d = realloc(s->damaged, cap * sizeof(*d));
        if (!d)
            return -ENOMEM;
        s->damaged = d;
        s->damaged_cap = cap;
    }
    memmove(s->damaged + i + 1, s->damaged + i, (s->ndamaged - i) * sizeof(*s->damaged));
    snprintf(s->damaged[i].name, sizeof(s->damaged[i].name), "%s", name);
    snprintf(s->damaged[i].reason, sizeof(s->damaged[i].reason), "%s", why);
    s->ndamaged++;
    return 0;
}

const char *store_damaged(const struct store *s, const char *name)
{
    size_t i = store_damaged_bound(s, name);

    return i < s->ndamaged && strcmp(s->damaged[i].name, name) == 0 ? s->damaged[i].reason
                                                                     : NULL;
}

int store_npy_path(const struct store *s, const char *name, char *out, size_t len)
{
    size_t dir = strlen(s->path), n = strlen(name);

    if (dir + 1 + n + sizeof(".npy") > len)
        return -ENAMETOOLONG;
    memcpy(out, s->path, dir);
    out[dir] = '/';
    memcpy(out + dir + 1, name, n);
    memcpy(out + dir + 1 + n, ".npy", sizeof(".npy"));
    return 0;
}

int store_read_header(int fd, uint64_t size, struct meta *m, char *err, size_t errlen)
{
    uint8_t header[PROTO_DATA_OFFSET_MAX];
    struct dtype_text descr;
    uint64_t offset;
    ssize_t n;
    int r;

    n = pread(fd, header, sizeof(header), 0);
    if (n < 0) {
        snprintf(err, errlen, "cannot read its .npy header: %s", strerror(errno));
        return -EINVAL;
    }
    err[0] = '\0';
    r = npy_header_parse(header, (size_t)n, m, &descr, &offset, err, errlen);
    if (r < 0) {
        if (r != -EINVAL || !err[0])
            snprintf(err, errlen, "not a .npy file: its header is cut short");
        return -EINVAL;
    }
    /* descr goes with this function: m keeps a description only as its own copy. */
    if (offset % PROTO_DATA_OFFSET_ALIGN != 0 || offset > PROTO_DATA_OFFSET_MAX) {
        m->dtype.descr = NULL;
        snprintf(err, errlen, "its data starts at byte %" PRIu64 ", not a multiple of %d "
                 "(a .npy written by numpy < 1.14)", offset, PROTO_DATA_OFFSET_ALIGN);
        return -EINVAL;
    }
    if (size < offset + m->nbytes) {
        m->dtype.descr = NULL;
        snprintf(err, errlen, "it holds %" PRIu64 " bytes; its header describes %" PRIu64
                 " bytes of data after byte %" PRIu64, size, m->nbytes, offset);
        return -EINVAL;
    }
    if (dtype_own(&m->dtype) < 0) {
        m->dtype.descr = NULL;
        snprintf(err, errlen, "out of memory");
        return -ENOMEM;
    }
    m->offset = offset;
    return 0;
}

#ifdef SHARR_TEST_HOOKS
void store_fault(const struct store *s, const char *point)
{
    if (s->fault[0] && strcmp(s->fault, point) == 0)
        kill(getpid(), SIGKILL);
}
#endif

/* Write the record of m, committing the data file of inode ino, as the file tmp
 * (.tmp-<name>.meta) with one write, and fsync it: it is complete on disk before a
 * rename can make it count. 0, or -errno with tmp removed. */
static int store_write_record(const struct store *s, const struct meta *m, uint64_t ino,
                              const char *tmp)
{
    const struct record rec = { RECORD_VERSION, ino, m->uid, m->gid, m->perm, m->ctime_ns };
    char text[RECORD_MAX];
    size_t len = record_format(&rec, text);
    ssize_t n;
    int fd, r = 0;

    fd = openat(s->dirfd, tmp, O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW | O_CLOEXEC, 0600);
    if (fd < 0)
        return -errno;
    store_fault(s, "meta-opened");
    n = write(fd, text, len);
    if (n != (ssize_t)len)
        r = n < 0 ? -errno : -EIO;
    store_fault(s, "meta-written");
    if (r == 0 && fsync(fd) < 0)
        r = -errno;
    close(fd);
    if (r < 0)
        unlinkat(s->dirfd, tmp, 0);
    return r;
}

/* The file names of m's array: in flight, committed, and its two .meta. */
struct store_names {
    char tmp[STORE_FILE_MAX], file[STORE_FILE_MAX], mtmp[STORE_FILE_MAX], mfile[STORE_FILE_MAX];
};

static int store_names(struct store_names *n, const char *name, char *err, size_t errlen)
{
    if (store_file(n->tmp, ".inflight-", name, ".npy") < 0
        || store_file(n->file, "", name, ".npy") < 0
        || store_file(n->mtmp, ".tmp-", name, ".meta") < 0
        || store_file(n->mfile, "", name, ".meta") < 0) {
        snprintf(err, errlen, "persistent array names are at most %d bytes", STORE_NAME_MAX);
        return -ENAMETOOLONG;
    }
    return 0;
}

/* Commit the complete, fsynced n->tmp (inode ino) as m: its record is written, then
 * the commit, one rename of the record over <name>.meta, then the .npy takes its
 * name (replacing an array being overwritten). Returns 0, or a negative errno with
 * *ret_step naming what failed. The caller then removes n->mtmp, and n->tmp unless
 * *ret_committed: a record in force names it, and recover.c completes it at start. */
static int store_commit(const struct store *s, const struct meta *m, uint64_t ino,
                        const struct store_names *n, const char **ret_step, bool *ret_committed)
{
    int r;

    *ret_committed = false;
    *ret_step = "write the record of";
    r = store_write_record(s, m, ino, n->mtmp);
    /* The data file's name and the record are on disk before the commit. */
    if (r == 0 && fsync(s->dirfd) < 0)
        r = -errno;
    if (r < 0)
        return r;
    store_fault(s, "create-meta-written");
    /* The commit: from here on <name>.meta names the new data, wherever it is. */
    *ret_step = "commit";
    if (renameat(s->dirfd, n->mtmp, s->dirfd, n->mfile) < 0)
        return -errno;
    *ret_committed = true;
    /* Durable before the data takes the name: else a power loss could keep the
     * rename of the .npy and lose the record naming it. */
    *ret_step = "flush the record of";
    if (fsync(s->dirfd) < 0)
        return -errno;
    store_fault(s, "create-committed");
    *ret_step = "give its name to the data of";
    if (renameat(s->dirfd, n->tmp, s->dirfd, n->file) < 0) {
        r = -errno;
        /* A new array whose .npy cannot take its name is taken back whole (its
         * record removed, as an unlink does); one replacing an array stays committed
         * and is completed at the next start. */
        struct stat st;
        if (fstatat(s->dirfd, n->file, &st, AT_SYMLINK_NOFOLLOW) < 0 && errno == ENOENT
            && unlinkat(s->dirfd, n->mfile, 0) == 0 && fsync(s->dirfd) == 0)
            *ret_committed = false;
        return r;
    }
    fsync(s->dirfd);
    store_fault(s, "create-done");
    return 0;
}

int store_create(const struct store *s, const struct meta *m, int *ret_fd,
                 char *err, size_t errlen)
{
    uint8_t header[NPY_HEADER_LEN];
    uint64_t size = NPY_HEADER_LEN + m->nbytes;
    struct store_names n;
    bool committed = false;
    const char *step;
    struct stat st;
    int fd, r;

    r = store_names(&n, m->name, err, errlen);
    if (r < 0)
        return r;
    r = npy_header_format(m, header);
    if (r < 0) {
        snprintf(err, errlen, "cannot describe %s in a .npy header", m->dtype.str);
        return r;
    }
    /* The name is reserved: any such file is a leftover. */
    unlinkat(s->dirfd, n.tmp, 0);
    unlinkat(s->dirfd, n.mtmp, 0);
    fd = openat(s->dirfd, n.tmp, O_RDWR | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
    if (fd < 0) {
        r = -errno;
        snprintf(err, errlen, "cannot create a file in %s: %s", s->path, strerror(errno));
        return r;
    }
    store_fault(s, "create-opened");
    step = "reserve space for";
    r = -posix_fallocate(fd, 0, (off_t)size);
    if (r < 0)
        goto remove_tmp;
    store_fault(s, "create-reserved");
    step = "write the header of";
    r = pwrite(fd, header, sizeof(header), 0) == (ssize_t)sizeof(header) ? 0 : -EIO;
    if (r < 0)
        goto remove_tmp;
    step = "flush";
    if (fsync(fd) < 0) {
        r = -errno;
        goto remove_tmp;
    }
    store_fault(s, "create-flushed");
    step = "identify";
    r = fstat(fd, &st) < 0 ? -errno : store_commit(s, m, (uint64_t)st.st_ino, &n, &step,
                                                    &committed);
    if (r < 0)
        goto remove_tmp;
    *ret_fd = fd;
    return 0;

remove_tmp:
    unlinkat(s->dirfd, n.mtmp, 0);
    if (!committed)
        unlinkat(s->dirfd, n.tmp, 0);
    close(fd);
    if (r == -ENOSPC || r == -EFBIG || r == -EDQUOT) {
        r = -ENOSPC;
        snprintf(err, errlen, "no space in %s for %llu bytes: %s", s->path,
                 (unsigned long long)size, strerror(ENOSPC));
    } else {
        snprintf(err, errlen, "cannot %s %s in %s: %s", step, m->name, s->path, strerror(-r));
    }
    return r;
}

/* Whether the file open on fd sits in the store's directory, by the path the kernel
 * keeps for it (only read, never opened). */
static bool store_holds(const struct store *s, int procfd, int fd)
{
    char path[PROTO_PATH_MAX + STORE_FILE_MAX];
    size_t dir = strlen(s->path);
    ssize_t n;

    n = procfd_readlink(procfd, fd, path, sizeof(path) - 1);
    if (n < 0)
        return false;
    path[n] = '\0';
    return (size_t)n > dir && memcmp(path, s->path, dir) == 0 && path[dir] == '/'
           && strchr(path + dir + 1, '/') == NULL;
}

int store_adopt_check(const struct store *s, int procfd, int fd, struct meta *m, char *err,
                      size_t errlen)
{
    struct stat st, dir;
    int flags;

    if (fstat(fd, &st) < 0 || fstat(s->dirfd, &dir) < 0) {
        int r = -errno;
        snprintf(err, errlen, "cannot stat the file: %s", strerror(errno));
        return r;
    }
    if (!S_ISREG(st.st_mode)) {
        snprintf(err, errlen, "the file is not a regular file: only a .npy file can become "
                 "an array");
        return -EINVAL;
    }
    flags = fcntl(fd, F_GETFL);
    if (flags < 0 || (flags & O_PATH) || (flags & O_ACCMODE) != O_RDWR) {
        snprintf(err, errlen, "the file's descriptor is not open for reading and writing "
                 "(open it O_RDWR)");
        return -EBADF;
    }
    if (st.st_uid != geteuid()) {
        snprintf(err, errlen, "the file belongs to uid %u; sharrd runs as uid %u and adopts "
                 "only its own files: import without --move to copy it",
                 (unsigned)st.st_uid, (unsigned)geteuid());
        return -EPERM;
    }
    /* The daemon's own file, which the peer may only have been able to write: moving
     * it (and making it 0600) is for its owner, so a peer cannot have sharrd take a
     * file of sharrd's user away from its place. */
    if (m->uid != 0 && st.st_uid != m->uid) {
        snprintf(err, errlen, "the file belongs to uid %u and you are uid %u: only its "
                 "owner (or root) may move it into the store; import without --move to "
                 "copy it", (unsigned)st.st_uid, (unsigned)m->uid);
        return -EPERM;
    }
    if (st.st_nlink != 1) {
        snprintf(err, errlen, "the file has %ju links; only a file with exactly one can "
                 "become an array: import without --move to copy it", (uintmax_t)st.st_nlink);
        return -EMLINK;
    }
    if (st.st_dev != dir.st_dev) {
        snprintf(err, errlen, "the file is on another filesystem than the store %s: import "
                 "without --move to copy it", s->path);
        return -EXDEV;
    }
    /* A file of the store itself (a daemon running as its user lets the user open
     * them) is another array's data: two names for one file would lose it. */
    if (store_holds(s, procfd, fd)) {
        snprintf(err, errlen, "the file is already in the store %s", s->path);
        return -EINVAL;
    }
    return store_read_header(fd, (uint64_t)st.st_size, m, err, errlen);
}

int store_adopt(const struct store *s, int procfd, int fd, const struct meta *m,
                int *ret_fd, char *err, size_t errlen)
{
    struct store_names n;
    struct stat st, mine;
    bool committed = false;
    const char *step;
    int own = -1, r;

    r = store_names(&n, m->name, err, errlen);
    if (r < 0)
        return r;
    /* The name is reserved: any such file is a leftover. */
    unlinkat(s->dirfd, n.tmp, 0);
    unlinkat(s->dirfd, n.mtmp, 0);
    step = "link the file into the store as";
    r = procfd_link(procfd, fd, s->dirfd, n.tmp);
    if (r < 0) {
        snprintf(err, errlen, "cannot %s %s in %s: %s", step, m->name, s->path,
                 strerror(-r));
        return r == -ENOENT ? -EINVAL : r;
    }
    store_fault(s, "adopt-linked");
    /* The store's own descriptor, of the inode the client sent (checked: nothing else
     * can name a file in the 0700 store), with a file description of its own. */
    step = "open";
    own = openat(s->dirfd, n.tmp, O_RDWR | O_NOFOLLOW | O_CLOEXEC);
    if (own < 0 || fstat(own, &mine) < 0 || fstat(fd, &st) < 0) {
        r = -errno;
        goto remove_tmp;
    }
    if (mine.st_dev != st.st_dev || mine.st_ino != st.st_ino) {
        r = -EAGAIN;
        goto remove_tmp;
    }
    /* The client's path and ours: a third link made since the check could keep the
     * file writable to its maker behind the store's back. */
    if (mine.st_nlink != 2) {
        snprintf(err, errlen, "the file gained a link while being adopted: import without "
                 "--move to copy it");
        r = -EMLINK;
        goto remove_tmp_quiet;
    }
    /* Like every array file: another uid holding a read-only descriptor must not be
     * able to reopen it for writing through /proc/self/fd. */
    step = "set the permissions of";
    if (fchmod(own, 0600) < 0) {
        r = -errno;
        goto remove_tmp;
    }
    step = "flush";
    if (fsync(own) < 0) {
        r = -errno;
        goto remove_tmp;
    }
    store_fault(s, "adopt-flushed");
    r = store_commit(s, m, (uint64_t)mine.st_ino, &n, &step, &committed);
    if (r < 0)
        goto remove_tmp;
    *ret_fd = own;
    return 0;

remove_tmp:
    snprintf(err, errlen, "cannot %s %s in %s: %s", step, m->name, s->path, strerror(-r));
remove_tmp_quiet:
    unlinkat(s->dirfd, n.mtmp, 0);
    if (!committed)
        unlinkat(s->dirfd, n.tmp, 0);
    if (own >= 0)
        close(own);
    return r;
}

int store_identify(int fd, struct store_file_id *ret_id)
{
    struct stat st;

    if (fstat(fd, &st) < 0)
        return -errno;
    *ret_id = (struct store_file_id){ .dev = st.st_dev, .ino = st.st_ino };
    return 0;
}

int store_reopen(const struct store *s, const char *name, const struct store_file_id *id,
                 int flags, int *ret_fd)
{
    char file[STORE_FILE_MAX];
    struct store_file_id now = { 0, 0 };
    int fd, r;

    if (store_file(file, "", name, ".npy") < 0)
        return -ENAMETOOLONG;
    fd = openat(s->dirfd, file, flags | O_NOFOLLOW | O_CLOEXEC);
    if (fd < 0)
        return -errno;
    r = store_identify(fd, &now);
    if (r == 0 && (now.dev != id->dev || now.ino != id->ino))
        r = -ESTALE;
    if (r < 0) {
        close(fd);
        return r;
    }
    *ret_fd = fd;
    return 0;
}

int store_stat(const struct store *s, const char *name, const struct store_file_id *id,
               struct stat *ret_st)
{
    char file[STORE_FILE_MAX];
    struct stat st;

    if (store_file(file, "", name, ".npy") < 0)
        return -ENAMETOOLONG;
    if (fstatat(s->dirfd, file, &st, AT_SYMLINK_NOFOLLOW) < 0)
        return -errno;
    if ((uint64_t)st.st_dev != id->dev || (uint64_t)st.st_ino != id->ino)
        return -ESTALE;
    *ret_st = st;
    return 0;
}

#define STORE_TRASH_TRIES 4 /* trash names tried before the data is removed at once */

/* The decimal digits of v at out; the position after them. */
static char *store_digits(char *out, uint64_t v)
{
    char digits[20];
    size_t k = 0;

    do {
        digits[k++] = (char)('0' + v % 10);
        v /= 10;
    } while (v > 0);
    while (k > 0)
        *out++ = digits[--k];
    return out;
}

/* The name of trash file number n (1 + N of .trash-N-OWNER) of an array of uid owner
 * into out. Written without printf: every unlink forms one, and giving back its blocks
 * another. */
static void store_trash_name(char out[STORE_TRASH_MAX], uint64_t n, uint32_t owner)
{
    char *p;

    memcpy(out, ".trash-", 7);
    p = store_digits(out + 7, n - 1);
    *p++ = '-';
    *store_digits(p, owner) = '\0';
}

int store_unlink(struct store *s, const char *name, uint32_t owner, char *trash,
                 uint64_t *ret_trash)
{
    char file[STORE_FILE_MAX];

    trash[0] = '\0';
    *ret_trash = 0;
    if (store_file(file, "", name, ".meta") < 0)
        return -ENAMETOOLONG;
    if (unlinkat(s->dirfd, file, 0) < 0 && errno != ENOENT)
        return -errno;
    store_fault(s, "unlink-uncommitted");
    /* Committed: nothing below fails the unlink. The rename is quick whatever the
     * size; the slow unlink of a large file then runs on the thread pool without
     * racing a new array of the same name. */
    store_file(file, "", name, ".npy");
    for (int i = 0; i < STORE_TRASH_TRIES; i++) {
        store_trash_name(trash, ++s->trash_seq, owner);
        if (renameat(s->dirfd, file, s->dirfd, trash) == 0) {
            *ret_trash = s->trash_seq;
            store_fault(s, "unlink-trashed");
            return 0;
        }
        if (errno == ENOENT)
            break;
    }
    /* No trash name to be had (something recovery could not remove is in the way):
     * remove the data here. Should even that fail, it has no record and the next
     * start removes it. */
    trash[0] = '\0';
    unlinkat(s->dirfd, file, 0);
    return 0;
}

void store_remove_trash(const struct store *s, const char *trash)
{
    if (trash[0] && unlinkat(s->dirfd, trash, 0) == 0)
        fsync(s->dirfd);
}

void store_remove_trash_number(const struct store *s, uint64_t trash, uint32_t owner)
{
    char name[STORE_TRASH_MAX];

    store_trash_name(name, trash, owner);
    store_remove_trash(s, name);
}

int store_unreached(const struct store *s, int fd, uint64_t trash, uint32_t owner)
{
    char name[STORE_TRASH_MAX];
    struct stat st, named;

    if (fstat(fd, &st) < 0)
        return -errno;
    if (!S_ISREG(st.st_mode) || st.st_uid != geteuid() || st.st_nlink > 1)
        return 0;
    if (st.st_nlink == 0)
        return 1;
    if (trash == 0)
        return 0;
    /* One name: is it the trash? The daemon only ever takes names away from it. A link
     * made since through /proc (by the daemon's uid or root, or by anyone holding a
     * descriptor where fs.protected_hardlinks is 0) leads to a 0600 file of the
     * daemon's, which nobody else can open. */
    store_trash_name(name, trash, owner);
    if (fstatat(s->dirfd, name, &named, AT_SYMLINK_NOFOLLOW) == 0)
        return named.st_dev == st.st_dev && named.st_ino == st.st_ino;
    if (errno != ENOENT)
        return -errno;
    /* Removed since the fstat, or the one name is another: asked again. */
    if (fstat(fd, &st) < 0)
        return -errno;
    return st.st_nlink == 0;
}

/* Give back the disk blocks of the file open for writing on fd: a hole punched over
 * all of it, or a cut to 0 bytes where the filesystem has no holes; the bytes of disk
 * it had into *ret_bytes. 1, or a negative errno. */
static int store_give_back_blocks(int fd, uint64_t *ret_bytes)
{
    struct stat st;

    if (fstat(fd, &st) < 0)
        return -errno;
    /* A hole over the whole file costs the filesystem less than a cut to 0 bytes (no
     * orphan record); where it has no holes, the cut. */
    if (fallocate(fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, 0, st.st_size) < 0
        && (errno != EOPNOTSUPP || ftruncate(fd, 0) < 0))
        return -errno;
    *ret_bytes = (uint64_t)st.st_blocks * 512;
    return 1;
}

int store_drop_blocks(const struct store *s, int fd, uint64_t trash, uint32_t owner,
                      uint64_t *ret_bytes)
{
    int r = store_unreached(s, fd, trash, owner);

    return r <= 0 ? r : store_give_back_blocks(fd, ret_bytes);
}

/* Replace name's record with m's, written as tmp (temporary: prefix .tmp-, suffix
 * suffix) and fsynced, then renamed over <name>.meta: the commit. 0 or -errno. */
static int store_replace_record(const struct store *s, const struct store_file_id *id,
                                const struct meta *m, const char *suffix)
{
    char tmp[STORE_FILE_MAX], file[STORE_FILE_MAX];
    int r;

    if (store_file(tmp, ".tmp-", m->name, suffix) < 0 || store_file(file, "", m->name, ".meta") < 0)
        return -ENAMETOOLONG;
    r = store_write_record(s, m, id->ino, tmp);
    if (r < 0)
        return r;
    /* The commit. */
    if (renameat(s->dirfd, tmp, s->dirfd, file) < 0) {
        r = -errno;
        unlinkat(s->dirfd, tmp, 0);
        return r;
    }
    store_fault(s, "meta-committed");
    fsync(s->dirfd);
    return 0;
}

int store_write_meta(const struct store *s, const struct store_file_id *id,
                     const struct meta *m)
{
    return store_replace_record(s, id, m, ".meta");
}

int store_rewrite_meta(const struct store *s, const struct store_file_id *id,
                       const struct meta *m)
{
    return store_replace_record(s, id, m, ".new");
}

int store_sync(const struct store *s, const char *name, const struct store_file_id *id)
{
    int fd, r;

    r = store_reopen(s, name, id, O_RDONLY, &fd);
    if (r < 0)
        return r;
    store_fault(s, "sync-opened");
    r = fsync(fd) < 0 ? -errno : 0;
    close(fd);
    if (r == 0)
        store_fault(s, "sync-flushed");
    return r;
}
