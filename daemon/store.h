/* store.h — persistent arrays: a directory of <name>.npy files, each committed
 * by a <name>.meta record beside it (record.h) that names the .npy's inode and holds
 * the owner, permission bits and creation time. A .npy is written by store_create
 * (data at 4096) or adopted as numpy wrote it. The files, the one commit point of
 * every operation and what a crash leaves are in daemon/STORE.md; recover.c reads a
 * store back at start.
 *
 * Every access is relative to the directory fd opened once (openat, O_NOFOLLOW,
 * O_CLOEXEC). Functions marked "thread pool" do slow disk work and touch nothing
 * but the directory fd and their arguments; the others run on the loop.
 */
#ifndef DAEMON_STORE_H
#define DAEMON_STORE_H

#include <stddef.h>
#include <stdint.h>
#include <sys/stat.h>

#include "log.h"
#include "meta.h"

/* Longest name of a persistent array: ".inflight-<name>.npy" must fit in 255 bytes. */
#define STORE_NAME_MAX 241
#define STORE_TRASH_MAX 40  /* bytes of a trash file name (.trash-N-OWNER), with the NUL */
#define STORE_FILE_MAX 256  /* bytes of a file name in the store, with the NUL */
#define STORE_REASON_MAX 256 /* bytes of why an array is damaged, with the NUL */

/* A name whose files are in the store but cannot be served as they are (STORE.md,
 * "Damaged arrays"): its files stay untouched and its name stays reserved. */
struct store_damaged {
    char name[STORE_NAME_MAX + 1];
    char reason[STORE_REASON_MAX];
};

struct store {
    int dirfd;                   /* the store directory, O_DIRECTORY */
    char path[PROTO_PATH_MAX];   /* its absolute path, for meta.path */
    uint64_t trash_seq;          /* names files on their way out (loop only) */
#ifdef SHARR_TEST_HOOKS
    char fault[32];              /* sharrd-test: SIGKILL the daemon at this point, or "" */
#endif
    uint64_t id;                 /* the store's identity (.store-id, storeid.c) */
    int id_replaced;             /* a .store-id that did not verify was replaced */
    struct store_damaged *damaged; /* sorted by name; filled at start only */
    size_t ndamaged, damaged_cap;
};

/* Open (creating with mode 0700 and parents if missing) the directory at path and
 * lock it against a second daemon. The directory must belong to the daemon's
 * effective uid and be writable by nobody else, and each directory above it (every
 * one the path is resolved through, symbolic links followed) must belong to root or
 * that uid and, when others may write it, be sticky (as /tmp), and each symbolic
 * link on the way be root's or that uid's: so no other user can plant, change or swap
 * the store's files. Nothing is created before the directory it goes in is checked.
 * Reads the store's identity into s->id, drawing it the first time (storeid.c).
 * Returns 0, or a negative
 * errno (-EPERM for a directory that fails these checks) with a message. */
int store_open(struct store *s, const char *path, char *err, size_t errlen);
/* Close the directory fd and forget the damaged names. Safe on a store whose open
 * failed. */
void store_close(struct store *s);

#ifdef SHARR_TEST_HOOKS
/* The test hook, compiled into sharrd-test alone (SHARR_TEST_HOOKS): when s->fault
 * ($SHARR_FAULT_POINT at store_open) names point, the daemon kills itself with SIGKILL
 * there, so a test can stop it between any two steps of the store or of its recovery. */
void store_fault(const struct store *s, const char *point);
#else
/* The installed sharrd has no hook: a fault point is nothing, and its name is not
 * even in the binary (tests/install/no_test_hooks.sh checks). */
#define store_fault(s, point) ((void)(s))
#endif

/* out = prefix name suffix, one file name of the store. 0 or -ENAMETOOLONG. */
int store_file(char out[STORE_FILE_MAX], const char *prefix, const char *name,
               const char *suffix);

/* Reserve name as damaged for why (copied, cut to STORE_REASON_MAX), what any client
 * naming it is told: so nothing of the record or data it could not read. Called while
 * the store is read at start, in name order or not. 0 or -ENOMEM. */
int store_damage(struct store *s, const char *name, const char *why);
/* Why name is damaged, or NULL when it is not. */
const char *store_damaged(const struct store *s, const char *name);

/* Which file a persistent array's data is: kept by the registry instead of an open
 * descriptor, so the daemon holds none per persistent array. */
struct store_file_id {
    uint64_t dev, ino;
};

/* Read the .npy header of the regular file fd (size bytes) into m's dtype, order,
 * ndim, shape, nbytes and offset. The data must start at a multiple of
 * PROTO_DATA_OFFSET_ALIGN and fit in the file. A record's description is m's own copy
 * (dtype_own), which the caller frees with dtype_own_free. 0, or -EINVAL with a message
 * in err (m holds no description then), or -ENOMEM. */
int store_read_header(int fd, uint64_t size, struct meta *m, char *err, size_t errlen);

/* The identity of the file open as fd. 0 or a negative errno from fstat. */
int store_identify(int fd, struct store_file_id *ret_id);

/* Loop or thread pool (touches only the directory fd). A new descriptor of name's
 * .npy opened with flags (O_RDONLY or O_RDWR; O_NOFOLLOW and O_CLOEXEC are added),
 * a new open file description, checked to be the file id names: -ESTALE when
 * <name>.npy is another file (the name was given to a new array, or someone changed
 * the store behind the daemon's back), else 0 or the negative errno of openat
 * (-ENOENT once the array was unlinked). */
int store_reopen(const struct store *s, const char *name, const struct store_file_id *id,
                 int flags, int *ret_fd);

/* Loop. The status of name's .npy (fstatat, not following a link), checked to be the
 * file id names: 0, -ESTALE when it is another file, or the negative errno of fstatat
 * (-ENOENT once the array was unlinked). Opens nothing. */
int store_stat(const struct store *s, const char *name, const struct store_file_id *id,
               struct stat *ret_st);

/* Absolute path of name's .npy into out. 0 or -ENAMETOOLONG. */
int store_npy_path(const struct store *s, const char *name, char *out, size_t len);

/* Thread pool. Create m (name, dtype, shape, order, uid, gid, perm, ctime_ns)
 * atomically, replacing an existing persistent array of that name: data file
 * written as .inflight-<name>.npy, space reserved, header written and fsynced; its
 * record written and fsynced as .tmp-<name>.meta; then the commit, one rename of the
 * record over <name>.meta, and the rename of the .npy over <name>.npy. A crash
 * leaves the old array or the new one, never neither and never one's data with the
 * other's record (recover.c completes a committed create). Returns 0 and sets
 * *ret_fd (O_RDWR), or a negative errno (-ENOSPC when the disk is full) with a
 * message in err and nothing new left behind. */
int store_create(const struct store *s, const struct meta *m, int *ret_fd,
                 char *err, size_t errlen);

/* Thread pool. Check that fd, a file a client opened and sent, can become a
 * persistent array as it is: a regular file (else -EINVAL) open for reading and
 * writing (-EBADF), owned by the daemon's effective uid and by the peer m->uid
 * unless that is root (-EPERM), with one link
 * (-EMLINK), on the store's filesystem (-EXDEV) but not in the store's directory
 * (-EINVAL: it would be another array's file), holding a .npy whose header sharr
 * reads, with its data at a multiple of PROTO_DATA_OFFSET_ALIGN and within the file
 * (-EINVAL). Fills m's dtype, order, ndim, shape, nbytes and offset (a record's
 * description as store_read_header keeps it: m's own copy); 0, or a negative errno
 * with a message in err. Never opens a path; reads where fd points through procfd,
 * the daemon's /proc/self/fd (procfd.h). */
int store_adopt_check(const struct store *s, int procfd, int fd, struct meta *m, char *err,
                      size_t errlen);

/* Thread pool. Make fd's file (checked by store_adopt_check) the persistent array m
 * without copying it: hard-linked into the store as .inflight-<name>.npy (through
 * procfd, the daemon's /proc/self/fd, procfd.h), made 0600
 * and fsynced, then committed exactly as store_create commits. Returns 0 and sets
 * *ret_fd (the store's own O_RDWR descriptor of the file), or a negative errno with a
 * message in err and nothing new left behind. fd stays the caller's. */
int store_adopt(const struct store *s, int procfd, int fd, const struct meta *m,
                int *ret_fd, char *err, size_t errlen);

/* Loop. Remove name at once: its .meta goes (the commit), then its .npy is
 * renamed to a trash name written into trash (STORE_TRASH_MAX bytes) for
 * store_remove_trash, and its number, 1 + N of .trash-N, into *ret_trash (for
 * store_unreached); trash is "" and *ret_trash 0 if there was no .npy or it was
 * removed at once (no trash name free). 0, or the negative errno of the commit: once
 * the record is gone the unlink succeeds. */
int store_unlink(struct store *s, const char *name, uint32_t owner, char *trash,
                 uint64_t *ret_trash);

/* Thread pool. Delete a trash file (slow for a large file) and fsync the directory. */
void store_remove_trash(const struct store *s, const char *trash);

/* Thread pool. The same for trash number trash (store_unlink's *ret_trash), not 0. */
void store_remove_trash_number(const struct store *s, uint64_t trash, uint32_t owner);

/* Loop or thread pool. Can nobody reach the file open on fd, an array's data that lost
 * its name, by a name? True when it is a regular file of the daemon's euid with no name
 * left (st_nlink 0) or only the trash name store_unlink gave it (trash, its number; 0
 * for none). Its trash may be removed meanwhile (store_remove_trash, on the pool): both
 * orders are answered alike. An adopted file whose adopter kept its own hard link, or
 * an overwritten one that still has it, is reached. 1 unreached, 0 reached (or of
 * another owner), or a negative errno. */
int store_unreached(const struct store *s, int fd, uint64_t trash, uint32_t owner);

/* Thread pool (slow for a large file), or start-up recovery. Give back the disk blocks of the file open on
 * fd (a writable descriptor, the caller's), a hole punched over all of it (a cut to 0
 * bytes where the filesystem has no holes), if
 * store_unreached(s, fd, trash) says nobody can reach it by a name: a descriptor
 * opened with O_PATH, which no file lease sees, keeps the file but can neither read
 * nor write it. The caller makes sure that no other description can (openers.h). 1
 * and the bytes of disk it had in *ret_bytes when cut, 0 when left as it is (reached),
 * or a negative errno. */
int store_drop_blocks(const struct store *s, int fd, uint64_t trash, uint32_t owner,
                      uint64_t *ret_bytes);


/* Loop (one small file). Replace the record of the committed array m, whose .npy is
 * the file id, with m's owner, group and bits: written as .tmp-<name>.meta and
 * fsynced, then the commit, its rename over <name>.meta. A crash before the rename
 * leaves the old record in force (recover.c removes the temporary one). 0 or -errno. */
int store_write_meta(const struct store *s, const struct store_file_id *id,
                     const struct meta *m);

/* Recovery, at start. As store_write_meta, but the new record is written as
 * .tmp-<name>.new (a leftover to recovery, whatever it holds), so that a
 * .tmp-<name>.meta that recovery still needs stays as it is until the new record is
 * in force. 0 or -errno. */
int store_rewrite_meta(const struct store *s, const struct store_file_id *id,
                       const struct meta *m);

/* Thread pool (store_grow.c). Grow the persistent array from (its .npy is the file id
 * under name, with sharr's 4096-byte header, else -EINVAL) to to, the same with a
 * longer growing axis: space reserved for all of to's data and flushed, then the new
 * header written in one pwrite and flushed. A crash leaves the old header or the new
 * one, never a torn one, and the file's data intact. 0, or a negative errno (-ENOSPC
 * when the disk is full, -ESTALE/-ENOENT as store_reopen) with a message in err; the
 * header then still describes from. */
int store_grow(const struct store *s, const char *name, const struct store_file_id *id,
               const struct meta *from, const struct meta *to, char *err, size_t errlen);

/* Thread pool. fsync name's .npy, opened by name and checked to be the file id as
 * store_reopen does. 0, -ESTALE, -ENOENT or the negative errno of openat or fsync. */
int store_sync(const struct store *s, const char *name, const struct store_file_id *id);

#endif
