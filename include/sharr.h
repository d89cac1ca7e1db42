/* sharr.h — the public C API of libsharr, the client library of sharrd.
 *
 * A connection (sharr_t) talks to one sharrd over a Unix socket; an array handle
 * (sharr_array_t) is one attachment: a descriptor received from the daemon, its
 * metadata, and (unless asked otherwise) a mapping of its data. Every function
 * returns >= 0 on success or a negative errno; sharr_last_error() then holds a
 * message for the user. The library never logs and never prints.
 *
 * Threads: one sharr_t may be used from many threads at once; requests are
 * multiplexed on its socket. Fork: a child never talks on its parent's socket —
 * its first call opens a fresh connection — and mappings inherited across fork keep
 * working; sharr_close() on an inherited array only unmaps it in the child. (A child
 * is recognised by a fork handler: one made by a raw clone() system call is not.)
 */
#ifndef SHARR_H
#define SHARR_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* SHARR_VERSION_MAJOR, _MINOR, _PATCH: the version of this header (generated). */
#include "sharr_version.h"

/* Marks what libsharr exports. The library is built with -fvisibility=hidden, so
 * nothing else leaves libsharr.so, and the objects of libsharr.a keep everything else
 * local: a program linking either sees only sharr_* names. */
#if defined(__GNUC__) || defined(__clang__)
#define SHARR_EXPORT __attribute__((visibility("default")))
#else
#define SHARR_EXPORT
#endif

/* Limits of the protocol, mirrored from proto/limits.h. */
#define SHARR_NAME_MAX 255   /* bytes in an array name, excluding the NUL */
#define SHARR_NDIM_MAX 64    /* dimensions of an array (numpy >= 2.0 allows 64) */
#define SHARR_DTYPE_MAX 31   /* bytes in a dtype string, excluding the NUL */
#define SHARR_DESCR_MAX 3584 /* bytes in a record dtype's description, excluding the NUL */
#define SHARR_PATH_MAX 1024  /* bytes in a persistent array's path, with the NUL */
#define SHARR_SOCKET_MAX 108 /* bytes in a socket path, with the NUL (sun_path) */
#define SHARR_NPY_HEADER_MAX 16384 /* bytes that hold any .npy header sharr accepts */

typedef struct sharr sharr_t;             /* a connection to sharrd */
typedef struct sharr_array sharr_array_t; /* one attached array */

/* Structs the library fills (sharr_info, sharr_server, sharr_stats, sharr_holder)
 * never change size: sharr_list and sharr_holders fill arrays of them, and programs
 * built against any sharr.h of this ABI (SONAME libsharr.so.0) allocate them. A later
 * version adds fields by taking them from the reserved space at the end, which this
 * version fills with zeros; a new field is defined so that 0 means "not known" (what a
 * program reading it from an older libsharr gets). Their sizes: sharr_info 2048 bytes,
 * sharr_server 128, sharr_stats 256, sharr_holder 384 (tests check them). */

/* What the daemon knows of an array. */
struct sharr_info {
    char name[SHARR_NAME_MAX + 1];
    char dtype[SHARR_DTYPE_MAX + 1]; /* numpy array-interface typestr, e.g. "<f4" */
    uint64_t itemsize;               /* bytes per element */
    int ndim;
    uint64_t shape[SHARR_NDIM_MAX];
    char order;                      /* 'C' or 'F' */
    uint64_t nbytes;                 /* bytes of data (product of shape times itemsize) */
    uint64_t offset;                 /* byte offset of the data in the descriptor and
                                      * the .npy file: 4096 for an array sharr created,
                                      * where numpy's header ends (a multiple of 64) for
                                      * an adopted one. Read it here: no constant holds
                                      * for every array */
    int persist;                     /* 1: persistent (on disk), 0: volatile (memory) */
    uint32_t perm;                   /* permission bits, as a file's (e.g. 0600) */
    uint32_t uid, gid;               /* owner */
    int64_t ctime_ns;                /* creation time, ns since the epoch */
    uint32_t nattached;              /* attachments currently held by clients */
    char path[SHARR_PATH_MAX];       /* persistent: the .npy file; volatile: "" */
    uint64_t grown;                  /* persistent: bytes a writer allocated in the file
                                      * beyond its data (fallocate, writes past the end),
                                      * charged to the owner's quota; else 0 */
    int damaged;                     /* persistent: 1 when a writer cut the file below its
                                      * data; touching the missing part raises SIGBUS */
    uint32_t descr_len;              /* a record dtype (dtype "|V<itemsize>"): the bytes of
                                      * its description, which sharr_array_descr and
                                      * sharr_describe give; 0 for every other dtype */
    int published;                   /* 1: complete and immutable (sharr_publish): no
                                      * writable attachment is given any more */
    uint64_t max_len;                /* volatile: the length the first axis can grow to
                                      * (sharr_grow), fixed at create; persistent: 0 (no
                                      * bound but the daemon's quotas) */
    uint32_t page_size;              /* volatile: bytes of the pages backing it, 4096 or a
                                      * huge page size (2 MiB on x86-64); its memory is a
                                      * whole number of them. 0: persistent, or a daemon
                                      * that does not say */
    uint32_t reserved[29];           /* zero: see "Structs the library fills" above */
};

/* What the daemon says of itself (reply to hello). */
struct sharr_server {
    uint32_t version;      /* protocol version */
    char server[64];       /* e.g. "sharrd 0.1.0" */
    uint32_t pid;
    uint32_t max_name, max_ndim, max_request, list_page_max;
    uint64_t id;           /* drawn at random at each start of the daemon (never 0): two
                            * connections with the same id are served by the same
                            * sharrd; 0 from a daemon that does not send it */
    uint64_t store_id;     /* the identity of the daemon's persistent store, kept in the
                            * store across restarts (never 0): persistent arrays of two
                            * connections with one store_id are one store's; 0 when
                            * not sent */
    uint32_t reserved[6];  /* zero: see "Structs the library fills" above */
};

/* Daemon-wide counters. Free/capacity fields are those of the filesystems that back
 * each store (statvfs), 0 when unknown. bytes count data bytes and, for persistent
 * arrays, the bytes writers grew their files by (bytes_grown). */
struct sharr_stats {
    uint64_t arrays, arrays_volatile, arrays_persistent;
    uint64_t bytes, bytes_volatile, bytes_persistent;
    uint64_t connections, attachments;
    uint64_t persist_capacity, persist_free;
    uint64_t volatile_capacity, volatile_free;
    uint32_t pid;
    int64_t uptime_ms;
    uint64_t volatile_limit;         /* memory all volatile arrays may hold (0: no limit) */
    uint64_t volatile_limit_per_uid; /* memory one uid's volatile arrays may hold (0: none) */
    uint64_t volatile_reserved;      /* memory volatile arrays hold or are being given:
                                      * header and data in whole pages */
    uint64_t bytes_grown;            /* bytes writers allocated in persistent files beyond
                                      * their data */
    uint64_t arrays_damaged;         /* persistent arrays that are damaged: kept aside at
                                      * start (a record that does not verify, data that
                                      * does not match it; files kept, name reserved, not
                                      * in the other counts), or served with a file a
                                      * writer cut below its data (in the counts) */
    uint64_t watches;                /* connections watching for events (sharr_watch_open) */
    uint64_t queued_bytes;           /* memory of the replies and events the daemon holds
                                      * for clients that have not read them yet */
    uint64_t requests;               /* requests sharrd has answered since it started (this
                                      * stats request included); 0 from a sharrd before it */
    uint64_t volatile_huge;          /* of volatile_reserved, the memory in huge pages */
    uint64_t huge_page_size;         /* the huge page size a large volatile array created
                                      * now would get (sharrd --huge-pages); 0: none */
    uint64_t arrays_watched;         /* persistent arrays whose files sharrd still looks at
                                      * for a writer that may grow or cut them */
    uint64_t sweeps;                 /* passes of that look since sharrd started */
    uint64_t reserved[6];            /* zero: see "Structs the library fills" above */
};

/* Option structs start with their size. Start from the initialiser below (or set
 * size = sizeof(struct ...)) and then set fields: libsharr reads only the fields that
 * size covers, so a program built against an older sharr.h keeps working with a newer
 * libsharr (fields it does not know take their default, which is always 0), and a
 * newer program runs on an older libsharr as long as it leaves the fields that
 * libsharr does not know at 0 (else -E2BIG). A size of 0 is -EINVAL. NULL means every
 * default. */

/* Options of sharr_create and sharr_adopt. */
struct sharr_create_opts {
    size_t size;    /* sizeof(struct sharr_create_opts): SHARR_CREATE_OPTS_INIT */
    char order;     /* 'C' (default when 0) or 'F' */
    int persist;    /* nonzero: persistent array on disk; default volatile */
    uint32_t perm;  /* permission bits; 0 means the default 0600 */
    int overwrite;  /* nonzero: replace an existing array of that name (mode w+) */
    int flags;      /* SHARR_F_* below */
    uint64_t max_len; /* volatile arrays: the length the growing axis (sharr_grow) may
                       * reach; its memory is set aside (not allocated) now. 0: the
                       * array's own length. Persistent arrays grow with no such bound */
};

/* Options of sharr_open. */
struct sharr_open_opts {
    size_t size;     /* sizeof(struct sharr_open_opts): SHARR_OPEN_OPTS_INIT */
    int64_t wait_ms; /* wait this long for the name to be created: 0 no wait, -1 forever */
    int flags;       /* SHARR_F_* below */
    uint32_t owner;  /* with SHARR_F_OWNER: the uid the array must belong to (0 is root) */
};

#ifdef __cplusplus
#define SHARR_CREATE_OPTS_INIT { sizeof(struct sharr_create_opts) }
#define SHARR_OPEN_OPTS_INIT { sizeof(struct sharr_open_opts) }
#else
#define SHARR_CREATE_OPTS_INIT { .size = sizeof(struct sharr_create_opts) }
#define SHARR_OPEN_OPTS_INIT { .size = sizeof(struct sharr_open_opts) }
#endif

#define SHARR_F_NOMAP    0x1 /* do not map: the caller maps sharr_array_fd() itself */
#define SHARR_F_POPULATE 0x2 /* prefault the mapping (MAP_POPULATE) */
#define SHARR_F_OWNER    0x4 /* sharr_open only: attach only an array that belongs to
                              * opts->owner (below 2^32 - 1), else -EACCES */
#define SHARR_F_PUBLISHED 0x8 /* sharr_open only: attach only a published array
                              * (sharr_publish); with wait_ms, wait until it is
                              * published (-ETIMEDOUT when it is not in time); without,
                              * -EAGAIN for an array not published yet */
#define SHARR_F_CACHED_ONLY 0x10 /* sharr_open only: answer from this connection's cache
                              * of attachments (below) or not at all: -EAGAIN, with no
                              * message to sharrd, no system call that can block and no
                              * wait (wait_ms is not used), when the cache cannot serve
                              * the open now (a miss, a stale or busy cache, a mode or
                              * flag it never serves, arguments a plain open refuses);
                              * then open without the flag, which checks them. For
                              * callers that hold a lock of their own, such as
                              * Python's GIL, around the cheap case only */

/* Connect to sharrd. path NULL resolves the default socket: $SHARR_SOCKET, else
 * $XDG_RUNTIME_DIR/sharr/sharr.sock, else /run/sharr/sharr.sock, else
 * /tmp/sharr-<uid>/sharr.sock — the first that exists. Performs the hello exchange.
 * On success *ret_conn owns the connection; release it with sharr_disconnect(). */
SHARR_EXPORT int sharr_connect(const char *path, sharr_t **ret_conn);

/* Drop the caller's reference to the connection. Arrays still open stay mapped and
 * valid; the connection is closed when the last of them is closed. NULL is a no-op. */
SHARR_EXPORT void sharr_disconnect(sharr_t *conn);

/* The daemon's reply to hello, as received at connect (refreshed on reconnect). */
SHARR_EXPORT int sharr_server_info(sharr_t *conn, struct sharr_server *ret_info);

/* Create an array and attach it read/write. dtype is a numpy typestr ("<f4"), a
 * numpy name ("float32"), or a record (structured) dtype in numpy's list form, the
 * text of repr(dtype.descr): "[('x', '<f4'), ('p', [('a', '<i4')]), ('v', '<f8', (3,))]"
 * (nested records, padding fields ('', '|V<n>') for explicit offsets and alignment,
 * subarray fields; no objects, no titles; limits in proto/PROTOCOL.md). A record is
 * -EOPNOTSUPP with a daemon that predates them. shape has ndim (0..64) dimensions, each >= 1 (ndim 0 is
 * numpy's 0-d array of one element; shape may then be NULL). */
SHARR_EXPORT int sharr_create(sharr_t *conn, const char *name, const char *dtype, int ndim,
                              const uint64_t *shape, const struct sharr_create_opts *opts,
                              sharr_array_t **ret_array);

/* Make the .npy file open on fd a persistent array named name, without copying its
 * data: the daemon links that very file into its store. fd must be open O_RDWR on a
 * regular file with exactly one link, owned by the daemon's uid and on the store's
 * filesystem (else -EPERM, -EMLINK, -EXDEV, -EBADF, -EINVAL: copy it instead). Its
 * .npy header gives dtype, shape and order; its data stays where the header ends
 * (info.offset, a multiple of 64). opts: perm and overwrite as for sharr_create;
 * order and persist are ignored (it is always persistent); flags must be 0. fd stays
 * the caller's: the caller then removes the file's old path, whose data is now the
 * array's (writes through fd reach the array). On success *ret_info (may be NULL)
 * describes the new array; attach it with sharr_open. */
SHARR_EXPORT int sharr_adopt(sharr_t *conn, const char *name, int fd,
                             const struct sharr_create_opts *opts, struct sharr_info *ret_info);

/* Attach an existing array by name. mode is "r", "r+" or "c" (as numpy.memmap).
 * With opts->wait_ms, a name not there yet is waited for; a daemon that restarts or
 * is not up yet is dialed again for as long as the wait lasts, and a daemon that
 * stays away ends the wait with its connect error.
 * Any user may create any free name, including one another user waits for. With
 * SHARR_F_OWNER the open fails with -EACCES, attaching nothing, when the array
 * belongs to another uid than opts->owner, also when such an array is what ended a
 * wait (the open does not wait on). The daemon checks this as it finds the array, and
 * the library checks the reply again (an older daemon ignores the request's owner).
 * A name under "uid<N>." (the owner's own names, which only uid N and root may
 * create) is refused likewise when it belongs to neither. */
SHARR_EXPORT int sharr_open(sharr_t *conn, const char *name, const char *mode,
                            const struct sharr_open_opts *opts, sharr_array_t **ret_array);
/* The cache of attachments: an open in mode r or r+ (flags none, SHARR_F_OWNER or
 * SHARR_F_PUBLISHED) of an array this connection holds in that mode, or closed within
 * $SHARR_CACHE_MS, is answered with no request to sharrd and shares the mapping
 * (sharr_array_data gives the same address); sharrd counts one attachment for it.
 * Never after the name was unlinked, overwritten, chmod-ed, chown-ed, grown or
 * published (sharrd's generation page tells), after a reconnect, nor in a forked
 * child. Modes c and SHARR_F_NOMAP or SHARR_F_POPULATE always ask sharrd.
 * SHARR_F_CACHED_ONLY asks the cache alone. */

/* Unmap, close the descriptor and tell the daemon the attachment is released.
 * With libsharr's cache of attachments (below) a handle of mode r or r+ is a reference
 * to a cached attachment instead: closing the last one keeps it mapped and attached
 * for reuse, for up to $SHARR_CACHE_MS milliseconds (10000), at most $SHARR_CACHE_MAX
 * (16) such per connection; it is released when it ages, makes room, or its name
 * changes (read at sharr_connect; SHARR_CACHE_MAX=0 turns the cache off, and
 * SHARR_CACHE_MS=0 lets the attachment go at its last close).
 * Always frees the handle, also when the release cannot be delivered (the error is
 * then returned). The release does not wait for the daemon: it is posted in the
 * connection's release ring (no message, no system call), or sent as a notification
 * when the ring is full. Every later call, on any connection, that reports attachments
 * (sharr_stat, sharr_list, sharr_holders, sharr_stats) sees it applied; the daemon
 * frees what only this attachment kept (an unlinked array) within about a second,
 * unless a process still has it open or mapped (a descriptor kept with dup, a child
 * that inherited the mapping): it counts against its owner's limits until then.
 * NULL is a no-op returning 0. */
SHARR_EXPORT int sharr_close(sharr_array_t *array);

/* The mapped data (NULL with SHARR_F_NOMAP), its metadata, its descriptor (owned by
 * the handle, valid until sharr_close) and the mode it was opened in. The descriptor's
 * open file description is this connection's alone, but other attaches of the same
 * array in the same mode on the same connection may share it (its offset, status
 * flags and flock): use pread/pwrite or the mapping, or another connection. */
SHARR_EXPORT void *sharr_array_data(const sharr_array_t *array);
SHARR_EXPORT const struct sharr_info *sharr_array_info(const sharr_array_t *array);
SHARR_EXPORT int sharr_array_fd(const sharr_array_t *array);
SHARR_EXPORT const char *sharr_array_mode(const sharr_array_t *array);

/* The array's dtype in numpy's own notation, valid until sharr_close: for a record
 * (structured) dtype, whose info.dtype is "|V<itemsize>", its list form as numpy
 * prints dtype.descr and writes it in a .npy header ("[('x', '<f4'), ('y', '<i8')]",
 * info.descr_len bytes, at most SHARR_DESCR_MAX); for any other dtype info.dtype.
 * numpy.dtype(numpy.lib.format.descr_to_dtype(ast.literal_eval(s))) rebuilds it. NULL
 * for a NULL array. */
SHARR_EXPORT const char *sharr_array_descr(const sharr_array_t *array);

/* Make the array's data durable: msync of the mapping, then, for persistent arrays,
 * an fsync by the daemon. Returns when data and metadata are on disk. Acts on this
 * attachment, not on the name: -ENOENT once the name was removed or given to a new
 * array (whose data is not this attachment's to flush). After sharrd restarted (or in
 * a forked child), the daemon knows no such attachment: the library then fsyncs the
 * attachment's own descriptor, the array's file. */
SHARR_EXPORT int sharr_sync(sharr_array_t *array);

/* Mark the array named name complete and immutable: its owner or root only (-EPERM).
 * From then on, until the name is unlinked, no writable attachment is given (open in
 * mode r+ fails with -EROFS; r and c work) and the opens waiting with
 * SHARR_F_PUBLISHED return. A volatile array is sealed by the kernel
 * (F_SEAL_FUTURE_WRITE): write(2) and every new writable shared mapping of any of its
 * descriptors fail with EPERM. A persistent array's file loses its write bits. A
 * mapping made writable before the publish (the producer's own) keeps its write
 * access until it is unmapped: publish when the writing is done. Publishing a
 * published array succeeds. -EBUSY while a grow of it runs; -ENOSYS from a daemon
 * older than publish. On success *ret_info (may be NULL) describes the array. */
SHARR_EXPORT int sharr_publish(sharr_t *conn, const char *name, struct sharr_info *ret_info);

/* Make the growing axis of the array named name (the first in C order, the last in F
 * order) new_len long, in place: processes keep their mappings, valid over the old
 * length, and see the new part after sharr_array_refresh. A peer that may write the
 * array may grow it. It never shrinks (-EINVAL), a 0-d array has no axis (-EINVAL), a
 * published one is immutable (-EROFS), one grow at a time (-EBUSY). The daemon's
 * quotas apply to the added bytes as to a create (-ENOSPC, -EDQUOT). A volatile array
 * grows up to the max_len it was created with (-EFBIG beyond); a persistent one has
 * space reserved first (-ENOSPC when the disk is full) and then its .npy header
 * rewritten, so numpy.load sees the new shape and a crash leaves the old or the new,
 * never a torn header. Returns once done; *ret_info (may be NULL) describes it. */
SHARR_EXPORT int sharr_grow(sharr_t *conn, const char *name, uint64_t new_len,
                            struct sharr_info *ret_info);

/* Read the array's current shape from its own descriptor (the .npy header sharrd
 * rewrites on a grow) and, when it grew, map the new length: the mapping is extended
 * in place where the address space allows, else a new mapping is made and the old
 * one stays valid until sharr_close (pointers into it keep working; a mode c array's
 * private changes stay in the old one). sharr_array_info and sharr_array_data then
 * describe the new length. Returns 1 when the array grew, 0 when it did not, or a
 * negative errno (-EPROTO when the descriptor's header no longer describes this array). */
SHARR_EXPORT int sharr_array_refresh(sharr_array_t *array);

/* Metadata of one array by name. */
SHARR_EXPORT int sharr_stat(sharr_t *conn, const char *name, struct sharr_info *ret_info);

/* sharr_stat, and the array's dtype in numpy's notation (as sharr_array_descr gives it)
 * into descr, len bytes (SHARR_DESCR_MAX + 1 always suffice): -ERANGE when it does not
 * fit. ret_info may be NULL. */
SHARR_EXPORT int sharr_describe(sharr_t *conn, const char *name, struct sharr_info *ret_info,
                                char *descr, size_t len);

/* One page of the arrays the caller may see, sorted by name, starting after the name
 * `after` (NULL or "" from the start). Fills up to cap entries of out; *ret_n is the
 * number filled and *ret_more is 1 when more follow the last one returned. */
SHARR_EXPORT int sharr_list(sharr_t *conn, const char *after, struct sharr_info *out,
                            size_t cap, size_t *ret_n, int *ret_more);

/* Remove the name at once; attached processes keep valid mappings until they close. */
SHARR_EXPORT int sharr_unlink(sharr_t *conn, const char *name);

/* Daemon-wide counters. */
SHARR_EXPORT int sharr_stats(sharr_t *conn, struct sharr_stats *ret_stats);

/* One attachment of an array by a process, as the daemon reports it. */
struct sharr_holder {
    uint64_t handle;                  /* daemon-unique; the cursor of sharr_holders */
    char name[SHARR_NAME_MAX + 1];    /* the array */
    uint32_t pid, uid, gid;           /* the attached process (SO_PEERCRED) */
    char comm[16];                    /* its command name when it connected, or "" */
    char mode[4];                     /* "r", "r+" or "c" */
    int64_t since_ns;                 /* when it attached, ns since the epoch */
    uint64_t nbytes;                  /* the array's data bytes */
    int persist;                      /* 1: persistent array */
    int unlinked;                     /* 1: its name was removed since */
    uint32_t reserved[16];            /* zero: see "Structs the library fills" above */
};

/* One page of the attachments the caller may see (of arrays it may read, and its
 * own), in handle order, starting after the handle `after` (0 from the start);
 * name NULL or "" for every array, else only that one's. Fills up to cap entries;
 * *ret_n is the number filled, *ret_more is 1 when more follow the last one. */
SHARR_EXPORT int sharr_holders(sharr_t *conn, const char *name, uint64_t after,
                               struct sharr_holder *out, size_t cap, size_t *ret_n,
                               int *ret_more);

/* Set an array's permission bits (at most 0777). Its owner or root only (-EPERM).
 * Descriptors already handed out keep their access; every later open is checked
 * against the new bits. */
SHARR_EXPORT int sharr_chmod(sharr_t *conn, const char *name, uint32_t perm);

/* Give an array to owner uid (root only) and/or group gid (its owner or root);
 * SHARR_ID_KEEP leaves that one as it is. -EPERM when not allowed. */
#define SHARR_ID_KEEP UINT32_MAX
SHARR_EXPORT int sharr_chown(sharr_t *conn, const char *name, uint32_t uid, uint32_t gid);

/* ---- Watching names ----
 * A watch hears what happens to the arrays under a prefix that its uid may see (as
 * sharr_stat and sharr_list would show them): created, published, resized, removed,
 * a new mode or owner. It is a connection of its own to the daemon conn talks to,
 * opened by sharr_watch_open and independent of conn afterwards (conn may be
 * disconnected first), so events never wait behind replies. The library starts no
 * thread: the caller polls sharr_watch_fd() for reading (poll, epoll, a selector)
 * and calls sharr_watch_next() until it returns 0, then polls again (events already
 * read from the socket do not make the descriptor readable). One thread at a time
 * uses a watch; a forked child does not use its parent's.
 *
 * A watcher that falls behind costs the daemon a bounded amount of memory: once its
 * unread events fill its share, later ones are dropped and counted, and when it has
 * read the rest it gets one SHARR_EVENT_OVERFLOW whose lost says how many it missed
 * (list again to catch up). When the daemon stops or restarts, sharr_watch_next
 * returns -ECONNRESET: the events since are lost; open a new watch and list again. */
typedef struct sharr_watch sharr_watch_t;

/* sharr_event.kind: numbers never reused; sharr_event_name() gives their names. */
#define SHARR_EVENT_CREATED 1   /* the name now holds a new array (created, adopted, or
                                 * w+ over an old one, which gets SHARR_EVENT_REMOVED
                                 * first) */
#define SHARR_EVENT_PUBLISHED 2 /* its owner marked it complete */
#define SHARR_EVENT_RESIZED 3   /* its first axis grew; info has the new shape */
#define SHARR_EVENT_REMOVED 4   /* its name was removed (info: as it was then) */
#define SHARR_EVENT_CHMOD 5     /* new permission bits (also sent to a watcher that may
                                 * see the array only before the change) */
#define SHARR_EVENT_CHOWN 6     /* new owner or group (likewise) */
#define SHARR_EVENT_OVERFLOW 7  /* lost events were dropped; info is all zeros */

/* One event. 2128 bytes, for the whole ABI (as the structs above). */
struct sharr_event {
    int kind;                 /* SHARR_EVENT_*; kinds a newer daemon adds are skipped */
    uint32_t reserved0;       /* zero */
    uint64_t lost;            /* SHARR_EVENT_OVERFLOW: the events dropped; else 0 */
    struct sharr_info info;   /* the array after the event (its name in info.name) */
    uint64_t reserved[8];     /* zero: see "Structs the library fills" above */
};

/* Watch the names that start with prefix (NULL or "" for every name; else the start of
 * a valid name). Dials the daemon of conn's socket (retrying a few times while it
 * restarts) and subscribes. Events that happen after it returns are reported, none
 * before. -EOPNOTSUPP from a daemon without watches; -EMFILE past the daemon's
 * --max-watches-per-uid. On success *ret_watch owns the connection: sharr_watch_close
 * it. */
SHARR_EXPORT int sharr_watch_open(sharr_t *conn, const char *prefix, sharr_watch_t **ret_watch);

/* The descriptor to poll for reading (owned by the watch; never read it yourself). */
SHARR_EXPORT int sharr_watch_fd(const sharr_watch_t *watch);

/* The next event without blocking: 1 with *ret_event filled, 0 when none has arrived
 * (poll sharr_watch_fd() then), or a negative errno: -ECONNRESET once the daemon closed
 * the watch (every later call says so too), -EPROTO for a message not understood. */
SHARR_EXPORT int sharr_watch_next(sharr_watch_t *watch, struct sharr_event *ret_event);

/* End the watch and free it. NULL is a no-op. */
SHARR_EXPORT void sharr_watch_close(sharr_watch_t *watch);

/* The name of an event kind ("created", "overflow", ...), as the protocol and the
 * sharr tool write it; "unknown" for another number. Static; never NULL. */
SHARR_EXPORT const char *sharr_event_name(int kind);

/* A static description of a negative errno returned by this library. */
SHARR_EXPORT const char *sharr_strerror(int err);

/* The stable machine name of a negative errno, as the protocol's error replies carry
 * it: -ENOENT gives "ENOENT". 0 gives "OK"; a value the protocol has no name for gives
 * "EIO" (what it travels as). Static; never NULL. */
SHARR_EXPORT const char *sharr_err_name(int err);

/* The message of the last error returned to the calling thread (like errno: each
 * thread has its own). Never NULL; "" before any error. */
SHARR_EXPORT const char *sharr_last_error(void);

/* The version of the libsharr in use, e.g. "0.1.0" (which may be newer than the
 * SHARR_VERSION_* this program was built with). Static; never NULL. */
SHARR_EXPORT const char *sharr_version(void);

/* The wire protocol version this libsharr speaks (sharr_server.version is the
 * daemon's; they must match for sharr_connect to succeed). */
SHARR_EXPORT uint32_t sharr_protocol_version(void);

/* The socket sharr_connect(NULL, ...) dials: $SHARR_SOCKET if set; else the first of
 * $XDG_RUNTIME_DIR/sharr/sharr.sock, /run/sharr/sharr.sock and
 * /tmp/sharr-<uid>/sharr.sock that is a socket; else where a sharrd started by this
 * user with no --socket would listen. Fills buf (len bytes; SHARR_SOCKET_MAX always
 * suffice) and returns 0, or -ENAMETOOLONG when the path does not fit buf or a socket
 * address, -EINVAL for a NULL buf. Reads the environment and stats; connects nowhere. */
SHARR_EXPORT int sharr_default_socket(char *buf, size_t len);

/* Read the header of a .npy file (versions 1.0 to 3.0) from its first len bytes:
 * fills ret_info's dtype, itemsize, ndim, shape, order, nbytes and offset (where the
 * data starts) and zeroes the rest. Returns 0; -EAGAIN when the header does not end
 * within len bytes (SHARR_NPY_HEADER_MAX bytes hold any header sharr accepts);
 * -EINVAL when buf is no .npy header or one sharr cannot hold (an object dtype, an
 * empty array), with the reason in sharr_last_error(). */
SHARR_EXPORT int sharr_npy_parse(const void *buf, size_t len, struct sharr_info *ret_info);

/* sharr_npy_parse of buf's len bytes, and the header's dtype in numpy's notation into
 * descr, descrlen bytes (SHARR_DESCR_MAX + 1 always suffice): a record's description as sharr_array_descr
 * gives it ("[('x', '<f4'), ('y', '<i8')]"; ret_info->dtype is then only "|V<n>"),
 * else the typestr. That text is what sharr_create takes to create the array the
 * header describes. -ERANGE when it does not fit descrlen (nothing written to descr);
 * -EINVAL also for a NULL descr or a descrlen of 0. */
SHARR_EXPORT int sharr_npy_describe(const void *buf, size_t len, struct sharr_info *ret_info,
                                    char *descr, size_t descrlen);

#ifdef __cplusplus
}
#endif

#endif /* SHARR_H */
