/* recover.c — a store read back at start, by the rules of daemon/STORE.md.
 *
 * One pass over the directory gathers each name's files (<name>.npy, <name>.meta,
 * .inflight-<name>.npy, .tmp-<name>.meta) into a table sorted by name; then each
 * name is settled on its own from the set of files it has, so neither the order in
 * which the directory lists them nor the operation a crash cut short changes the
 * outcome. Only a verified <name>.meta decides; a temporary record never counts.
 */
#include "recover.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "name.h"
#include "openers.h"
#include "record.h"

enum recover_kind {
    RECOVER_NPY,      /* <name>.npy: the data under its name */
    RECOVER_META,     /* <name>.meta: the record in force */
    RECOVER_INFLIGHT, /* .inflight-<name>.npy: data not yet under its name */
    RECOVER_TMP,      /* .tmp-<name>.meta: a record not yet in force */
    RECOVER_KINDS,
    RECOVER_JUNK = RECOVER_KINDS, /* .trash-*, or a .inflight-/.tmp- of no valid name */
};

struct recover_file {
    char *name; /* the array's name; the whole file name for RECOVER_JUNK */
    enum recover_kind kind;
};

struct recover_table {
    struct recover_file *v;
    size_t n, cap;
};

/* The inodes of the data files served so far: a set, open addressing. */
struct recover_inodes {
    uint64_t *v; /* 0: a free slot (no file has inode 0) */
    size_t n, cap;
};

static size_t recover_slot(uint64_t ino, size_t cap)
{
    ino ^= ino >> 33;
    ino *= 0xff51afd7ed558ccdULL;
    ino ^= ino >> 33;
    return (size_t)ino & (cap - 1);
}

/* Add ino to the set; 1 if it was there already, 0 if added, -ENOMEM. */
static int recover_inode_add(struct recover_inodes *set, uint64_t ino)
{
    size_t k;

    if (2 * (set->n + 1) > set->cap) {
        size_t cap = set->cap ? 2 * set->cap : 1024;
        uint64_t *v = calloc(cap, sizeof(*v));
        if (!v)
            return -ENOMEM;
        for (size_t i = 0; i < set->cap; i++) {
            if (!set->v[i])
                continue;
            for (k = recover_slot(set->v[i], cap); v[k]; k = (k + 1) & (cap - 1))
                ;
            v[k] = set->v[i];
        }
        free(set->v);
        set->v = v;
        set->cap = cap;
    }
    for (k = recover_slot(ino, set->cap); set->v[k]; k = (k + 1) & (set->cap - 1))
        if (set->v[k] == ino)
            return 1;
    set->v[k] = ino;
    set->n++;
    return 0;
}

/* What one name has on disk, and where the settling stands. */
struct recover_set {
    const char *name;
    bool has[RECOVER_KINDS];
    char file[RECOVER_KINDS][STORE_FILE_MAX];
};

static int recover_add(struct recover_table *t, const char *name, size_t len,
                       enum recover_kind kind)
{
    if (t->n == t->cap) {
        size_t cap = t->cap ? 2 * t->cap : 256;
        struct recover_file *v = realloc(t->v, cap * sizeof(*v));
        if (!v)
            return -ENOMEM;
        t->v = v;
        t->cap = cap;
    }
    t->v[t->n].name = strndup(name, len);
    if (!t->v[t->n].name)
        return -ENOMEM;
    t->v[t->n].kind = kind;
    t->n++;
    return 0;
}

static void recover_table_free(struct recover_table *t)
{
    for (size_t i = 0; i < t->n; i++)
        free(t->v[i].name);
    free(t->v);
}

static bool recover_suffix(const char *f, size_t len, const char *suffix, size_t *ret_base)
{
    size_t n = strlen(suffix);

    if (len <= n || memcmp(f + len - n, suffix, n) != 0)
        return false;
    *ret_base = len - n;
    return true;
}

static bool recover_valid(const char *base, size_t len)
{
    return len <= STORE_NAME_MAX && name_check(base, len) == 0;
}

/* Put the directory entry f in the table, or leave it out: files that are not the
 * store's (other dot files, other suffixes) are left alone. */
static int recover_classify(struct recover_table *t, const struct store *s,
                            const struct log_ctx *lg, const char *f)
{
    size_t len = strlen(f), base;

    if (strcmp(f, ".") == 0 || strcmp(f, "..") == 0)
        return 0;
    if (strncmp(f, ".trash-", 7) == 0)
        return recover_add(t, f, len, RECOVER_JUNK);
    if (strncmp(f, ".inflight-", 10) == 0) {
        if (recover_suffix(f + 10, len - 10, ".npy", &base) && recover_valid(f + 10, base))
            return recover_add(t, f + 10, base, RECOVER_INFLIGHT);
        return recover_add(t, f, len, RECOVER_JUNK);
    }
    if (strncmp(f, ".tmp-", 5) == 0) {
        if (recover_suffix(f + 5, len - 5, ".meta", &base) && recover_valid(f + 5, base))
            return recover_add(t, f + 5, base, RECOVER_TMP);
        return recover_add(t, f, len, RECOVER_JUNK);
    }
    if (f[0] == '.')
        return 0;
    if (recover_suffix(f, len, ".npy", &base) || recover_suffix(f, len, ".meta", &base)) {
        if (!recover_valid(f, base)) {
            log_warning(lg, "store %s: ignoring %s: not a valid array name", s->path, f);
            return 0;
        }
        return recover_add(t, f, base, f[base + 1] == 'n' ? RECOVER_NPY : RECOVER_META);
    }
    return 0;
}

static int recover_compare(const void *x, const void *y)
{
    const struct recover_file *a = x, *b = y;
    int c = strcmp(a->name, b->name);

    return c ? c : (int)a->kind - (int)b->kind;
}

static void recover_remove(const struct store *s, const struct log_ctx *lg, const char *file,
                           const char *why)
{
    if (unlinkat(s->dirfd, file, 0) == 0) {
        log_warning(lg, "store %s: removed %s: %s", s->path, file, why);
        store_fault(s, "recover-step");
    } else if (errno != ENOENT)
        log_warning(lg, "store %s: cannot remove %s (%s): %s", s->path, file, why,
                    strerror(errno));
}

/* A trash file left by a daemon that stopped before its job ran (leftover.c): an
 * O_PATH descriptor from before may keep it, uncounted, once its name goes. Its name
 * says whose array it was (.trash-N-OWNER); one of another uid than root and the
 * daemon's, which cannot reopen such a descriptor, gives back its blocks first, when
 * it is the daemon's file with that one name and no process reads or writes it (the
 * write lease, held across the cut). Older names, without an owner, are left whole. */
static void recover_give_back(const struct store *s, const char *file)
{
    unsigned long long n;
    unsigned owner;
    uint64_t bytes;
    int end = 0, fd;

    if (sscanf(file, ".trash-%llu-%u%n", &n, &owner, &end) != 2 || file[end] != '\0'
        || owner == 0 || owner == (unsigned)geteuid() || n == UINT64_MAX)
        return;
    fd = openat(s->dirfd, file, O_WRONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
    if (fd < 0)
        return;
    if (openers_probe_closing(fd, false) == 0)
        store_drop_blocks(s, fd, (uint64_t)n + 1, owner, &bytes);
    close(fd); /* lets the lease go */
}

/* Keep name as it is on disk, reserved and counted (STORE.md, "Damaged arrays"). The
 * log gets the whole story (fmt); a client asking for name gets only kind, which says
 * nothing of what the record or data hold: whose the array was, its bits, its size. */
static int recover_damaged(struct store *s, const struct log_ctx *lg, const char *name,
                           const char *kind, const char *fmt, ...)
    __attribute__((format(printf, 5, 6)));

static int recover_damaged(struct store *s, const struct log_ctx *lg, const char *name,
                           const char *kind, const char *fmt, ...)
{
    char why[STORE_REASON_MAX];
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(why, sizeof(why), fmt, ap);
    va_end(ap);
    log_warning(lg, "store %s: array %s is damaged: %s; its files stay as they are and its "
                "name stays reserved until they are repaired or removed", s->path, name, why);
    return store_damage(s, name, kind);
}

#define RECOVER_BAD_RECORD "its record does not verify"
#define RECOVER_BAD_DATA "its data file is missing or not the one its record names"
#define RECOVER_BAD_NPY "its data file is not the complete .npy its record commits"
#define RECOVER_BAD_OWNER "its data file is not sharrd's own"

/* Read and verify the record in file. 0, or -EINVAL with the reason in err. */
static int recover_read_record(const struct store *s, const char *file, struct record *rec,
                               char *err, size_t errlen)
{
    char text[RECORD_MAX];
    struct stat st;
    ssize_t n;
    int fd;

    /* O_NONBLOCK: a FIFO in its place must not stop the daemon until a writer comes. */
    fd = openat(s->dirfd, file, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
    if (fd < 0 || fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)) {
        snprintf(err, errlen, "%s", fd < 0 ? strerror(errno) : "it is not a regular file");
        if (fd >= 0)
            close(fd);
        return -EINVAL;
    }
    if (st.st_size > RECORD_MAX) {
        close(fd);
        snprintf(err, errlen, "it is longer than any record (%lld bytes)", (long long)st.st_size);
        return -EINVAL;
    }
    /* One read: nothing else writes the store while it is read at start. */
    n = pread(fd, text, (size_t)st.st_size, 0);
    close(fd);
    if (n != st.st_size) {
        snprintf(err, errlen, "%s", n < 0 ? strerror(errno) : "it changed while read");
        return -EINVAL;
    }
    return record_parse(text, (size_t)n, rec, err, errlen);
}

/* The inode of file if it is a regular file, else 0 (which no file has: a record
 * naming inode 0 names none). */
static uint64_t recover_ino(const struct store *s, const char *file)
{
    struct stat st;

    return fstatat(s->dirfd, file, &st, AT_SYMLINK_NOFOLLOW) == 0 && S_ISREG(st.st_mode)
           ? (uint64_t)st.st_ino : 0;
}

/* Settle one name that has a record in force (STORE.md, "Recovery"). Returns 0
 * (served or reserved as damaged) or -ENOMEM. */
static int recover_committed(struct store *s, const struct log_ctx *lg, struct recover_set *nm,
                             struct recover_inodes *seen, recover_found_cb *cb, void *arg)
{
    char err[STORE_REASON_MAX];
    const char *name = nm->name;
    bool rewrite = false, narrowed = false;
    struct record rec, tmp;
    struct store_file_id id;
    struct stat st;
    struct meta m;
    int fd, r;

    if (recover_read_record(s, nm->file[RECOVER_META], &rec, err, sizeof(err)) < 0)
        return recover_damaged(s, lg, name, RECOVER_BAD_RECORD, "its record %s does not "
                               "verify: %s", nm->file[RECOVER_META], err);
    if (rec.version == 1) {
        /* Written by a sharr that committed a create by the rename of its .npy: the
         * record is the .npy's, and a .tmp- record is a chmod or a create it never
         * finished. Neither may widen the bits: where both verify, the narrower hold. */
        if (!nm->has[RECOVER_NPY])
            return recover_damaged(s, lg, name, RECOVER_BAD_DATA, "its data file %s is "
                                   "missing", nm->file[RECOVER_NPY]);
        if (nm->has[RECOVER_TMP] && !nm->has[RECOVER_INFLIGHT]
            && recover_read_record(s, nm->file[RECOVER_TMP], &tmp, err, sizeof(err)) == 0
            && (rec.perm & tmp.perm) != rec.perm) {
            log_warning(lg, "store %s: %s: kept the bits %04" PRIo32 " that both %s (%04" PRIo32
                        ") and %s (%04" PRIo32 ", left by an older sharrd) allow", s->path,
                        name, rec.perm & tmp.perm, nm->file[RECOVER_META], rec.perm,
                        nm->file[RECOVER_TMP], tmp.perm);
            rec.perm &= tmp.perm;
            rewrite = narrowed = true;
        }
    } else if (rec.ino != 0 && nm->has[RECOVER_NPY]
               && recover_ino(s, nm->file[RECOVER_NPY]) == rec.ino) {
        /* The array as committed; an .inflight- beside it is an uncommitted create. */
    } else if (rec.ino != 0 && nm->has[RECOVER_INFLIGHT]
               && recover_ino(s, nm->file[RECOVER_INFLIGHT]) == rec.ino) {
        /* Committed before its data took its name: complete it. */
        if (renameat(s->dirfd, nm->file[RECOVER_INFLIGHT], s->dirfd, nm->file[RECOVER_NPY]) < 0)
            return recover_damaged(s, lg, name, RECOVER_BAD_DATA, "cannot complete its "
                                   "interrupted create: rename of %s: %s",
                                   nm->file[RECOVER_INFLIGHT], strerror(errno));
        log_warning(lg, "store %s: completed the interrupted create of %s", s->path, name);
        store_fault(s, "recover-step");
        nm->has[RECOVER_INFLIGHT] = false;
        nm->has[RECOVER_NPY] = true;
    } else if (nm->has[RECOVER_NPY] && !nm->has[RECOVER_INFLIGHT]
               && recover_ino(s, nm->file[RECOVER_NPY]) != 0) {
        /* One data file, one record, and no work in flight, but another inode: the
         * store was copied or restored file by file. The record is its data's. */
        log_warning(lg, "store %s: %s is not the file (inode %" PRIu64 ") its record names, and "
                    "nothing else is (a store copied or restored file by file?): recording "
                    "its new inode", s->path, nm->file[RECOVER_NPY], rec.ino);
        rewrite = true;
    } else {
        return recover_damaged(s, lg, name, RECOVER_BAD_DATA, "%s",
                               nm->has[RECOVER_NPY] || nm->has[RECOVER_INFLIGHT]
                               ? "none of its data files is the one its record names"
                               : "its data file is missing");
    }
    memset(&m, 0, sizeof(m));
    memcpy(m.name, name, strlen(name) + 1);
    /* O_NONBLOCK: opening a device or FIFO in its place must not wait (it has no
     * effect on the regular file that is checked next). */
    fd = openat(s->dirfd, nm->file[RECOVER_NPY], O_RDWR | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
    if (fd < 0)
        return recover_damaged(s, lg, name, RECOVER_BAD_NPY, "cannot open %s: %s",
                               nm->file[RECOVER_NPY], strerror(errno));
    if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)) {
        close(fd);
        return recover_damaged(s, lg, name, RECOVER_BAD_NPY, "%s is not a regular file",
                               nm->file[RECOVER_NPY]);
    }
    /* Another uid owning the file could write it, or fchmod a read-only descriptor
     * of it and reopen that for writing, whatever the record says. */
    if (st.st_uid != geteuid()) {
        close(fd);
        return recover_damaged(s, lg, name, RECOVER_BAD_OWNER, "%s belongs to uid %u, not to "
                               "uid %u as sharrd's files do: that user could change it behind "
                               "sharrd's back (chown it if its data is to be trusted)",
                               nm->file[RECOVER_NPY], (unsigned)st.st_uid, (unsigned)geteuid());
    }
    /* One file, two names (a hard link made by hand): two arrays with owners and bits
     * of their own would share their data. The first name keeps it. */
    r = recover_inode_add(seen, (uint64_t)st.st_ino);
    if (r != 0) {
        close(fd);
        return r < 0 ? r : recover_damaged(s, lg, name, RECOVER_BAD_DATA, "%s is the data file "
                                           "of an array before it in name order too (a hard "
                                           "link?)", nm->file[RECOVER_NPY]);
    }
    r = store_read_header(fd, (uint64_t)st.st_size, &m, err, sizeof(err));
    if (r < 0) {
        close(fd);
        return r == -ENOMEM ? r : recover_damaged(s, lg, name, RECOVER_BAD_NPY, "%s: %s",
                                                  nm->file[RECOVER_NPY], err);
    }
    /* From here m.dtype.descr is m's own copy (store_read_header): freed below. */
    /* A published array's file lost its write bits (0400): that is its state. Write
     * bits for others would let a holder of a read-only descriptor reopen it for
     * writing: made 0600 as sharrd's files are, or else damaged. */
    m.published = (st.st_mode & 07777) == 0400;
    if ((st.st_mode & 07777) != 0600 && !m.published) {
        unsigned mode = (unsigned)st.st_mode & 07777;
        if (fchmod(fd, 0600) == 0) {
            log_warning(lg, "store %s: made %s 0600 (it was %04o), as sharrd's files are",
                        s->path, nm->file[RECOVER_NPY], mode);
        } else if (mode & (S_IWGRP | S_IWOTH)) {
            close(fd);
            dtype_own_free(&m.dtype);
            return recover_damaged(s, lg, name, RECOVER_BAD_OWNER, "%s has mode %04o and "
                                   "cannot be made 0600: %s", nm->file[RECOVER_NPY], mode,
                                   strerror(errno));
        }
    }
    m.persist = true;
    m.uid = rec.uid;
    m.gid = rec.gid;
    m.perm = rec.perm;
    m.ctime_ns = rec.ctime_ns;
    store_npy_path(s, name, m.path, sizeof(m.path));
    id = (struct store_file_id){ .dev = st.st_dev, .ino = st.st_ino };
    /* The record first, then the leftovers: the .tmp- record that narrowed it must
     * outlive a crash until the narrower record is in force. */
    r = rewrite ? store_rewrite_meta(s, &id, &m) : 0;
    if (r < 0)
        log_warning(lg, "store %s: cannot rewrite the record of %s: %s", s->path, name,
                    strerror(-r));
    else if (rewrite)
        store_fault(s, "recover-step");
    if (nm->has[RECOVER_INFLIGHT])
        recover_remove(s, lg, nm->file[RECOVER_INFLIGHT], "left by an interrupted create");
    if (nm->has[RECOVER_TMP] && !(narrowed && r < 0))
        recover_remove(s, lg, nm->file[RECOVER_TMP], "a record never put in force");
    cb(arg, &m, fd);
    dtype_own_free(&m.dtype);
    return 0;
}

/* Settle the name of nm from the files it has (STORE.md, "Recovery"). 0 or -ENOMEM. */
static int recover_name(struct store *s, const struct log_ctx *lg, struct recover_set *nm,
                        struct recover_inodes *seen, recover_found_cb *cb, void *arg)
{
    static const char *const prefix[RECOVER_KINDS] = { "", "", ".inflight-", ".tmp-" };
    static const char *const suffix[RECOVER_KINDS] = { ".npy", ".meta", ".npy", ".meta" };

    for (int k = 0; k < RECOVER_KINDS; k++)
        store_file(nm->file[k], prefix[k], nm->name, suffix[k]);
    if (nm->has[RECOVER_META])
        return recover_committed(s, lg, nm, seen, cb, arg);
    /* No record in force: nothing of this name was committed, or it was unlinked. */
    if (nm->has[RECOVER_INFLIGHT])
        recover_remove(s, lg, nm->file[RECOVER_INFLIGHT], "left by an interrupted create");
    if (nm->has[RECOVER_TMP])
        recover_remove(s, lg, nm->file[RECOVER_TMP], "a record never put in force");
    if (nm->has[RECOVER_NPY])
        recover_remove(s, lg, nm->file[RECOVER_NPY], "the data of an unlinked array (its "
                       "record was removed first)");
    return 0;
}

int recover_store(struct store *s, const struct log_ctx *lg, recover_found_cb *cb, void *arg)
{
    struct recover_table t = { 0 };
    struct recover_inodes seen = { 0 };
    struct dirent *de;
    int dfd, r = 0;
    DIR *dir;

    dfd = openat(s->dirfd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    dir = dfd < 0 ? NULL : fdopendir(dfd);
    if (!dir) {
        r = -errno;
        if (dfd >= 0)
            close(dfd);
        return r;
    }
    for (;;) {
        errno = 0;
        de = readdir(dir);
        if (!de) {
            r = -errno;
            break;
        }
        r = recover_classify(&t, s, lg, de->d_name);
        if (r < 0)
            break;
    }
    closedir(dir);
    if (r == 0 && t.n > 0)
        qsort(t.v, t.n, sizeof(*t.v), recover_compare);
    for (size_t i = 0; r == 0 && i < t.n;) {
        struct recover_set nm = { .name = t.v[i].name };
        size_t j = i;
        for (; j < t.n && strcmp(t.v[j].name, nm.name) == 0; j++) {
            if (t.v[j].kind == RECOVER_JUNK) {
                recover_give_back(s, t.v[j].name);
                recover_remove(s, lg, t.v[j].name, "left by an interrupted create or unlink");
            }
            else
                nm.has[t.v[j].kind] = true;
        }
        if (t.v[i].kind != RECOVER_JUNK)
            r = recover_name(s, lg, &nm, &seen, cb, arg);
        i = j;
    }
    fsync(s->dirfd);
    recover_table_free(&t);
    free(seen.v);
    return r;
}
