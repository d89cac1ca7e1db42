/* store.c — persistent arrays on disk and the crash-safe order of their files.
 *
 * An array exists when its .npy is complete and its .meta is written. Create (and
 * overwrite) writes both under temporary names and commits with one rename of the
 * .npy, after which store_load completes the .meta; unlink removes the .meta first.
 * So a crash at any point leaves the old array or the new one, and store_load
 * sweeps up the rest.
 */
#include "store.h"

#include <dirent.h>
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

#include "name.h"
#include "npy.h"

#define STORE_FILE_MAX 256 /* a file name in the store, with the NUL */
#define STORE_META_FMT "sharr-meta 1 %" PRIu32 " %" PRIu32 " %" PRIo32 " %" PRId64 "\n"

/* out = prefix name suffix, one file name of the store. 0 or -ENAMETOOLONG. */
static int store_file(char out[STORE_FILE_MAX], const char *prefix, const char *name,
                      const char *suffix)
{
    int n = snprintf(out, STORE_FILE_MAX, "%s%s%s", prefix, name, suffix);

    return n < 0 || n >= STORE_FILE_MAX ? -ENAMETOOLONG : 0;
}

static int store_mkdirs(char *path)
{
    for (char *p = path + 1;; p++) {
        if (*p != '/' && *p != '\0')
            continue;
        char saved = *p;
        *p = '\0';
        int r = mkdir(path, 0700);
        *p = saved;
        if (r < 0 && errno != EEXIST)
            return -errno;
        if (saved == '\0')
            return 0;
    }
}

int store_open(struct store *s, const char *path, char *err, size_t errlen)
{
    char buf[PROTO_PATH_MAX];
    char *real = NULL;
    int r;

    s->dirfd = -1;
    s->trash_seq = 0;
    snprintf(buf, sizeof(buf), "%s", path);
    r = store_mkdirs(buf);
    if (r < 0) {
        snprintf(err, errlen, "cannot create store %s: %s", path, strerror(-r));
        return r;
    }
    s->dirfd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    real = realpath(path, NULL);
    if (s->dirfd < 0 || !real) {
        r = -errno;
        snprintf(err, errlen, "cannot open store %s: %s", path, strerror(errno));
        goto fail;
    }
    /* Two daemons on one store would sweep up each other's files in flight. */
    if (flock(s->dirfd, LOCK_EX | LOCK_NB) < 0) {
        r = -errno;
        snprintf(err, errlen, "store %s is in use by another sharrd", real);
        goto fail;
    }
    if (strlen(real) + 1 + STORE_NAME_MAX + 4 >= sizeof(s->path)) {
        r = -ENAMETOOLONG;
        snprintf(err, errlen, "store path %s is too long", real);
        goto fail;
    }
    memcpy(s->path, real, strlen(real) + 1);
    free(real);
    return 0;

fail:
    free(real);
    store_close(s);
    return r;
}

void store_close(struct store *s)
{
    if (s->dirfd >= 0)
        close(s->dirfd);
    s->dirfd = -1;
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

/* Read the .npy header of the regular file fd (size bytes) into m's dtype, order,
 * ndim, shape, nbytes and offset. The data must start at a multiple of
 * PROTO_DATA_OFFSET_ALIGN and fit in the file. 0, or -EINVAL with a message in err. */
static int store_read_header(int fd, uint64_t size, struct meta *m, char *err, size_t errlen)
{
    uint8_t header[PROTO_DATA_OFFSET_MAX];
    uint64_t offset;
    ssize_t n;
    int r;

    n = pread(fd, header, sizeof(header), 0);
    if (n < 0) {
        snprintf(err, errlen, "cannot read its .npy header: %s", strerror(errno));
        return -EINVAL;
    }
    err[0] = '\0';
    r = npy_header_parse(header, (size_t)n, m, &offset, err, errlen);
    if (r < 0) {
        if (r != -EINVAL || !err[0])
            snprintf(err, errlen, "not a .npy file: its header is cut short");
        return -EINVAL;
    }
    if (offset % PROTO_DATA_OFFSET_ALIGN != 0 || offset > PROTO_DATA_OFFSET_MAX) {
        snprintf(err, errlen, "its data starts at byte %" PRIu64 ", not a multiple of %d "
                 "(a .npy written by numpy < 1.14)", offset, PROTO_DATA_OFFSET_ALIGN);
        return -EINVAL;
    }
    if (size < offset + m->nbytes) {
        snprintf(err, errlen, "it holds %" PRIu64 " bytes; its header describes %" PRIu64
                 " bytes of data after byte %" PRIu64, size, m->nbytes, offset);
        return -EINVAL;
    }
    m->offset = offset;
    return 0;
}

/* Read <name>.meta and <name>.npy into m and an O_RDWR fd, checking that the
 * header describes data the file holds. */
static int store_load_one(const struct store *s, const char *name, struct meta *m,
                          int *ret_fd, char *err, size_t errlen)
{
    char file[STORE_FILE_MAX], text[128], tail;
    struct stat st;
    ssize_t n;
    int fd, r;

    memset(m, 0, sizeof(*m));
    memcpy(m->name, name, strlen(name) + 1);
    fd = store_file(file, "", name, ".meta") < 0 ? -1
         : openat(s->dirfd, file, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
    if (fd < 0) {
        snprintf(err, errlen, ".meta: %s", strerror(errno));
        return -EINVAL;
    }
    n = read(fd, text, sizeof(text) - 1);
    close(fd);
    text[n > 0 ? n : 0] = '\0';
    if (sscanf(text, "sharr-meta 1 %" SCNu32 " %" SCNu32 " %" SCNo32 " %" SCNd64 "%c",
               &m->uid, &m->gid, &m->perm, &m->ctime_ns, &tail) != 5 || tail != '\n'
        || m->perm > 0777) {
        snprintf(err, errlen, "unreadable .meta");
        return -EINVAL;
    }
    store_file(file, "", name, ".npy");
    fd = openat(s->dirfd, file, O_RDWR | O_NOFOLLOW | O_CLOEXEC);
    if (fd < 0) {
        snprintf(err, errlen, ".npy: %s", strerror(errno));
        return -EINVAL;
    }
    if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)) {
        snprintf(err, errlen, "its .npy is not a regular file");
        r = -EINVAL;
    } else {
        r = store_read_header(fd, (uint64_t)st.st_size, m, err, errlen);
    }
    if (r < 0) {
        close(fd);
        return -EINVAL;
    }
    m->persist = true;
    store_npy_path(s, name, m->path, sizeof(m->path));
    *ret_fd = fd;
    return 0;
}

static bool store_has_suffix(const char *s, size_t len, const char *suffix, size_t *ret_base)
{
    size_t n = strlen(suffix);

    if (len <= n || memcmp(s + len - n, suffix, n) != 0)
        return false;
    *ret_base = len - n;
    return true;
}

static bool store_exists(const struct store *s, const char *prefix, const char *name,
                         const char *suffix)
{
    char file[STORE_FILE_MAX];
    struct stat st;

    return store_file(file, prefix, name, suffix) == 0
           && fstatat(s->dirfd, file, &st, AT_SYMLINK_NOFOLLOW) == 0;
}

/* First pass: finish or undo what a crash interrupted. An .inflight-<name>.npy was
 * never committed: it goes, with its .tmp-<name>.meta. A .tmp-<name>.meta whose
 * .inflight- file is gone was written before a commit that happened: it becomes
 * <name>.meta. Trash was already unlinked by name: it goes. */
static void store_recover(struct store *s, DIR *dir, const struct log_ctx *lg)
{
    char base[STORE_FILE_MAX], file[STORE_FILE_MAX];
    struct dirent *de;
    size_t blen;

    while ((de = readdir(dir)) != NULL) {
        const char *f = de->d_name;
        size_t len = strlen(f);

        if (strncmp(f, ".tmp-", 5) == 0 && store_has_suffix(f + 5, len - 5, ".meta", &blen)) {
            memcpy(base, f + 5, blen);
            base[blen] = '\0';
            if (!store_exists(s, ".inflight-", base, ".npy") && store_exists(s, "", base, ".npy")
                && store_file(file, "", base, ".meta") == 0
                && renameat(s->dirfd, f, s->dirfd, file) == 0) {
                log_warning(lg, "store %s: completed the interrupted create of %s", s->path, base);
                continue;
            }
        } else if (strncmp(f, ".inflight-", 10) != 0 && strncmp(f, ".trash-", 7) != 0
                   && strncmp(f, ".tmp-", 5) != 0) {
            continue;
        }
        if (unlinkat(s->dirfd, f, 0) == 0)
            log_warning(lg, "store %s: removed %s, left by an interrupted create or unlink",
                        s->path, f);
    }
    fsync(s->dirfd);
}

int store_load(struct store *s, const struct log_ctx *lg, store_found_cb *cb, void *arg)
{
    char base[STORE_FILE_MAX], other[STORE_FILE_MAX], err[256];
    struct dirent *de;
    struct stat st;
    struct meta m;
    size_t len, blen;
    int dfd, fd;
    DIR *dir;

    dfd = openat(s->dirfd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    dir = dfd < 0 ? NULL : fdopendir(dfd);
    if (!dir) {
        int r = -errno;
        if (dfd >= 0)
            close(dfd);
        return r;
    }
    store_recover(s, dir, lg);
    rewinddir(dir);
    while ((de = readdir(dir)) != NULL) {
        const char *f = de->d_name;
        len = strlen(f);
        if (f[0] == '.')
            continue;
        if (store_has_suffix(f, len, ".npy", &blen)) {
            memcpy(base, f, blen);
            base[blen] = '\0';
            if (store_file(other, "", base, ".meta") == 0
                && fstatat(s->dirfd, other, &st, AT_SYMLINK_NOFOLLOW) < 0 && errno == ENOENT
                && unlinkat(s->dirfd, f, 0) == 0)
                log_warning(lg, "store %s: removed %s, which has no .meta (an interrupted create)",
                            s->path, f);
            continue;
        }
        if (!store_has_suffix(f, len, ".meta", &blen))
            continue;
        memcpy(base, f, blen);
        base[blen] = '\0';
        err[0] = '\0';
        if (name_check(base, blen) < 0 || blen > STORE_NAME_MAX) {
            log_warning(lg, "store %s: ignoring %s: not a valid array name", s->path, f);
            continue;
        }
        if (store_load_one(s, base, &m, &fd, err, sizeof(err)) < 0) {
            log_warning(lg, "store %s: ignoring array %s: %s", s->path, base, err);
            continue;
        }
        cb(arg, &m, fd);
    }
    closedir(dir);
    return 0;
}

/* A test hook: with --fault-point NAME the daemon kills itself with SIGKILL when
 * it reaches the point of that name, so a test can stop it between any two steps. */
static void store_fault(const struct store *s, const char *point)
{
    if (s->fault[0] && strcmp(s->fault, point) == 0)
        kill(getpid(), SIGKILL);
}

/* Write the commit record of m as .tmp-<name>.meta and fsync it. 0 or -errno. */
static int store_write_meta_tmp(const struct store *s, const struct meta *m)
{
    char tmp[STORE_FILE_MAX];
    int fd, r = 0;

    if (store_file(tmp, ".tmp-", m->name, ".meta") < 0)
        return -ENAMETOOLONG;
    fd = openat(s->dirfd, tmp, O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW | O_CLOEXEC, 0600);
    if (fd < 0)
        return -errno;
    errno = 0;
    if (dprintf(fd, STORE_META_FMT, m->uid, m->gid, m->perm, m->ctime_ns) < 0 || fsync(fd) < 0)
        r = errno ? -errno : -EIO;
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

/* Commit the complete, fsynced n->tmp as m: the commit record first, then one rename
 * of the .npy (also over an array being overwritten), then the .meta. Returns 0, or
 * a negative errno with *ret_step naming what failed; the caller then removes
 * n->tmp and n->mtmp. */
static int store_commit(const struct store *s, const struct meta *m,
                        const struct store_names *n, const char **ret_step)
{
    int r;

    /* The commit record goes to disk before the commit: once the .npy has its name,
     * store_load finds .tmp-<name>.meta without .inflight-<name>.npy and completes it. */
    *ret_step = "write the metadata of";
    r = store_write_meta_tmp(s, m);
    if (r == 0 && fsync(s->dirfd) < 0)
        r = -errno;
    if (r < 0)
        return r;
    store_fault(s, "create-meta-written");
    /* The commit: one rename, which also replaces an array being overwritten. */
    *ret_step = "commit";
    if (renameat(s->dirfd, n->tmp, s->dirfd, n->file) < 0)
        return -errno;
    fsync(s->dirfd);
    store_fault(s, "create-committed");
    /* The array is committed: if this rename fails, store_load completes it. */
    if (renameat(s->dirfd, n->mtmp, s->dirfd, n->mfile) == 0)
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
    const char *step;
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
    r = store_commit(s, m, &n, &step);
    if (r < 0)
        goto remove_tmp;
    *ret_fd = fd;
    return 0;

remove_tmp:
    unlinkat(s->dirfd, n.mtmp, 0);
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
static bool store_holds(const struct store *s, int fd)
{
    char proc[32], path[PROTO_PATH_MAX + STORE_FILE_MAX];
    size_t dir = strlen(s->path);
    ssize_t n;

    snprintf(proc, sizeof(proc), "/proc/self/fd/%d", fd);
    n = readlink(proc, path, sizeof(path) - 1);
    if (n < 0)
        return false;
    path[n] = '\0';
    return (size_t)n > dir && memcmp(path, s->path, dir) == 0 && path[dir] == '/'
           && strchr(path + dir + 1, '/') == NULL;
}

int store_adopt_check(const struct store *s, int fd, struct meta *m, char *err, size_t errlen)
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
    if (store_holds(s, fd)) {
        snprintf(err, errlen, "the file is already in the store %s", s->path);
        return -EINVAL;
    }
    return store_read_header(fd, (uint64_t)st.st_size, m, err, errlen);
}

int store_adopt(const struct store *s, int fd, const struct meta *m, int *ret_fd,
                char *err, size_t errlen)
{
    char proc[32];
    struct store_names n;
    struct stat st, mine;
    const char *step;
    int own = -1, r;

    r = store_names(&n, m->name, err, errlen);
    if (r < 0)
        return r;
    /* The name is reserved: any such file is a leftover. */
    unlinkat(s->dirfd, n.tmp, 0);
    unlinkat(s->dirfd, n.mtmp, 0);
    snprintf(proc, sizeof(proc), "/proc/self/fd/%d", fd);
    step = "link the file into the store as";
    if (linkat(AT_FDCWD, proc, s->dirfd, n.tmp, AT_SYMLINK_FOLLOW) < 0) {
        r = -errno;
        snprintf(err, errlen, "cannot %s %s in %s: %s", step, m->name, s->path,
                 strerror(errno));
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
    r = store_commit(s, m, &n, &step);
    if (r < 0)
        goto remove_tmp;
    *ret_fd = own;
    return 0;

remove_tmp:
    snprintf(err, errlen, "cannot %s %s in %s: %s", step, m->name, s->path, strerror(-r));
remove_tmp_quiet:
    unlinkat(s->dirfd, n.mtmp, 0);
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

int store_unlink(struct store *s, const char *name, char *trash)
{
    char file[STORE_FILE_MAX];

    trash[0] = '\0';
    if (store_file(file, "", name, ".meta") < 0)
        return -ENAMETOOLONG;
    if (unlinkat(s->dirfd, file, 0) < 0 && errno != ENOENT)
        return -errno;
    store_fault(s, "unlink-uncommitted");
    /* The rename is quick whatever the size; the slow unlink of a large file then
     * runs on the thread pool without racing a new array of the same name. */
    store_file(file, "", name, ".npy");
    snprintf(trash, STORE_TRASH_MAX, ".trash-%" PRIu64, s->trash_seq++);
    if (renameat(s->dirfd, file, s->dirfd, trash) < 0) {
        trash[0] = '\0';
        return errno == ENOENT ? 0 : -errno;
    }
    return 0;
}

void store_remove_trash(const struct store *s, const char *trash)
{
    if (trash[0] && unlinkat(s->dirfd, trash, 0) == 0)
        fsync(s->dirfd);
}

int store_write_meta(const struct store *s, const struct meta *m)
{
    char tmp[STORE_FILE_MAX], file[STORE_FILE_MAX];
    int r;

    if (store_file(tmp, ".tmp-", m->name, ".meta") < 0 || store_file(file, "", m->name, ".meta") < 0)
        return -ENAMETOOLONG;
    r = store_write_meta_tmp(s, m);
    if (r == 0 && renameat(s->dirfd, tmp, s->dirfd, file) < 0) {
        r = -errno;
        unlinkat(s->dirfd, tmp, 0);
    }
    if (r == 0)
        fsync(s->dirfd);
    return r;
}
