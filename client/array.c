/* array.c — one attached array: create or open it through the daemon, check the
 * descriptor that comes back, map its data, and release it on close.
 *
 * A handle remembers the process and the connection generation it was attached
 * in: a forked child or a reconnected connection must not release what the daemon
 * no longer counts for it. An open may be answered from the connection's cache of
 * attachments (attcache.h): the handle then borrows the cached entry's descriptor and
 * mapping. Names and daemon-wide queries are in catalog.c.
 */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "attcache.h"
#include "client.h"
#include "codec.h"
#include "dtype.h"
#include "proto_limits.h"
#include "name.h"
#include "perm.h"
#include "shape.h"

#define ARRAY_KNOWN_FLAGS (SHARR_F_NOMAP | SHARR_F_POPULATE)
#define ARRAY_OPEN_FLAGS (ARRAY_KNOWN_FLAGS | SHARR_F_OWNER | SHARR_F_PUBLISHED | \
                          SHARR_F_CACHED_ONLY)
#define ARRAY_MSG_MAX 384
#define ARRAY_SMALL_PAGE_MAX 65536          /* a page size above this is a huge page's */
#define ARRAY_HUGE_PAGE_MAX (1u << 30)      /* the largest huge page (x86-64's 1 GiB) */

struct sharr_array {
    sharr_t *conn;        /* holds one reference */
    pid_t pid;            /* process that attached; only it may release */
    uint64_t gen;         /* connection generation the attachment belongs to */
    uint64_t handle;      /* the daemon's name for this attachment */
    int fd;
    void *map;            /* the mapping of the file from byte 0; NULL with SHARR_F_NOMAP */
    size_t maplen;        /* info.offset + info.nbytes */
    void *data;           /* map + info.offset: the array's data */
    char mode[3];         /* "r", "r+", "c", or "w+" for a create */
    struct array_map *old; /* mappings of shorter lengths that a refresh left in place */
    struct attcache_entry *entry; /* the cached attachment whose fd, handle and first
                                   * mapping this handle borrows, or NULL: its own */
    struct sharr_info info;
    char descr[];         /* a record's description (info.descr_len bytes), else "" */
};

/* A mapping a refresh could not extend in place: pointers into it stay valid until
 * sharr_close unmaps it. */
struct array_map {
    void *map;
    size_t len;
    struct array_map *next;
};

/* An attach reply as the caller keeps it past the reply's bytes: the record
 * description, if any, copied into descr (meta.dtype.descr points there). */
struct array_reply {
    struct codec_attach_reply r;
    struct dtype_text descr;
};

static int array_pack_create(msgpack_sbuffer *out, uint32_t msgid, const void *params)
{
    return codec_pack_create(out, msgid, params);
}

static int array_pack_open(msgpack_sbuffer *out, uint32_t msgid, const void *params)
{
    return codec_pack_open(out, msgid, params);
}


static int array_pack_sync(msgpack_sbuffer *out, uint32_t msgid, const void *params)
{
    return codec_pack_sync(out, msgid, params);
}

static int array_parse_attach(const msgpack_object *result, void *out, char *err,
                              size_t errlen)
{
    struct array_reply *ar = out;
    int has_fd = 0;
    int rc = codec_parse_reply_attach(result, &ar->r, &has_fd, err, errlen);

    if (rc == 0)
        dtype_keep(&ar->r.meta.dtype, &ar->descr);
    return rc;
}

/* Whether an open that required owner (NULL: none) may keep the array r describes:
 * the daemon checked it already, unless it predates owner checks; msg says why not. */
static int array_check_owner(const char *name, const struct codec_attach_reply *r,
                             const uint32_t *owner, char *msg, size_t len)
{
    uint32_t reserved;

    if (owner != NULL && r->meta.uid != *owner) {
        snprintf(msg, len, "%s belongs to uid %u, not to uid %u as the open requires (owner)",
                 name, (unsigned)r->meta.uid, (unsigned)*owner);
        return -EACCES;
    }
    if (name_user_prefix(name, &reserved) && r->meta.uid != reserved && r->meta.uid != 0 &&
        r->meta.uid != (uint32_t)geteuid() && geteuid() != 0) {
        snprintf(msg, len, "%s lies in uid %u's names but belongs to uid %u", name,
                 (unsigned)reserved, (unsigned)r->meta.uid);
        return -EACCES;
    }
    return 0;
}

/* Bytes to map of the array m (array_map_length; array_map_whole: of len bytes in
 * pages of page): its header and data, rounded up to whole pages of m->page_size when
 * that is a huge page size (a power of two up to 1 GiB), as the daemon sized the file:
 * a hugetlb mapping is unmapped (and remapped) only in whole huge pages. */
static size_t array_map_whole(size_t len, size_t page)
{
    if (page > ARRAY_SMALL_PAGE_MAX && page <= ARRAY_HUGE_PAGE_MAX && (page & (page - 1)) == 0
        && len <= SIZE_MAX - page)
        len = (len + page - 1) / page * page;
    return len;
}

static size_t array_map_length(const struct meta *m)
{
    return array_map_whole((size_t)(m->offset + m->nbytes), m->page_size);
}

/* Turn an attach reply and its descriptor into a handle. Takes ownership of
 * rep->fd; on failure closes it, releases the attachment and returns the error.
 * owner: the uid an open required, or NULL. */
static int array_attach(sharr_t *conn, const char *name, const char *mode,
                        const struct codec_attach_reply *r, const struct client_reply *rep,
                        int flags, const uint32_t *owner, const struct attcache_snap *snap,
                        sharr_array_t **ret_array)
{
    char msg[ARRAY_MSG_MAX] = "";
    struct sharr_array *a = NULL;
    struct stat st;
    int prot = PROT_READ | PROT_WRITE;
    int mflags = MAP_SHARED;
    int fd = rep->fd;
    int rc = 0;

    if (fd < 0) {
        rc = -EPROTO;
        snprintf(msg, sizeof(msg), "sharrd's reply for '%s' carried no descriptor", name);
        goto fail;
    }
    if (strcmp(r->meta.name, name) != 0) {
        rc = -EPROTO;
        snprintf(msg, sizeof(msg), "asked sharrd for '%s' and got '%s'", name,
                 r->meta.name);
        goto fail;
    }
    rc = array_check_owner(name, r, owner, msg, sizeof(msg));
    if (rc < 0)
        goto fail;
    /* A daemon older than publish ignores the request's "published". */
    if ((flags & SHARR_F_PUBLISHED) && !r->meta.published) {
        rc = -ENOSYS;
        snprintf(msg, sizeof(msg), "sharrd does not know publish: it attached '%s' before "
                 "it was published (upgrade sharrd)", name);
        goto fail;
    }
    if (r->meta.nbytes > SIZE_MAX - r->meta.offset) {
        rc = -EFBIG;
        snprintf(msg, sizeof(msg), "'%s' is too large for this process", name);
        goto fail;
    }
    /* A short file would SIGBUS the first access past its end; refuse it here. A
     * volatile array's memfd is sealed against shrinking by sharrd before anyone
     * gets it, so only a persistent array's file (which a writer, or root in the
     * store, can truncate) is looked at. */
    if (r->meta.persist) {
        if (fstat(fd, &st) < 0) {
            rc = -errno;
            snprintf(msg, sizeof(msg), "fstat of the descriptor of '%s': %s", name,
                     sharr_strerror(rc));
            goto fail;
        }
        if (st.st_size < 0 || (uint64_t)st.st_size < r->meta.offset + r->meta.nbytes) {
            rc = -EPROTO;
            snprintf(msg, sizeof(msg), "descriptor of '%s' holds %lld bytes, %llu needed",
                     name, (long long)st.st_size,
                     (unsigned long long)(r->meta.offset + r->meta.nbytes));
            goto fail;
        }
    }
    /* Not calloc: every field is set below (info by catalog_info_from_meta), and
     * clearing the 2 KiB of info first would cost an attach more than its decoding. */
    a = malloc(sizeof(*a) + r->meta.dtype.descr_len + 1);
    if (a == NULL) {
        rc = -ENOMEM;
        snprintf(msg, sizeof(msg), "out of memory");
        goto fail;
    }
    a->map = NULL;
    a->maplen = 0;
    a->data = NULL;
    a->old = NULL;
    a->entry = NULL;
    if (strcmp(mode, "r") == 0)
        prot = PROT_READ;
    else if (strcmp(mode, "c") == 0)
        mflags = MAP_PRIVATE;
    if (flags & SHARR_F_POPULATE)
        mflags |= MAP_POPULATE;
    /* The data offset need not be page aligned (an adopted numpy file has its data at
     * 128, say): map from byte 0 and point past the header. */
    if (!(flags & SHARR_F_NOMAP)) {
        size_t len = array_map_length(&r->meta);
        void *p = mmap(NULL, len, prot, mflags, fd, 0);

        if (p == MAP_FAILED) {
            rc = -errno;
            snprintf(msg, sizeof(msg), "mapping '%s' (mode %s): %s", name, mode,
                     sharr_strerror(rc));
            goto fail;
        }
        /* Huge pages: shmem under shmem_enabled=advise maps them (and a copy-on-write
         * mapping copies into them) only where asked to; elsewhere the advice is
         * harmless, and ignored where it does not apply (a hugetlb mapping). */
        if (r->meta.page_size > ARRAY_SMALL_PAGE_MAX)
            madvise(p, len, MADV_HUGEPAGE);
        a->map = p;
        a->maplen = len;
        a->data = (char *)p + r->meta.offset;
    }
    client_ref(conn);
    a->conn = conn;
    a->pid = client_pid();
    a->gen = rep->gen;
    a->handle = r->handle;
    a->fd = fd;
    snprintf(a->mode, sizeof(a->mode), "%s", mode);
    catalog_info_from_meta(&r->meta, &a->info);
    /* The handle's own copy: r's lives on its caller's stack. */
    if (r->meta.dtype.descr != NULL)
        memcpy(a->descr, r->meta.dtype.descr, r->meta.dtype.descr_len);
    a->descr[r->meta.dtype.descr_len] = '\0';
    if (snap != NULL)
        a->entry = attcache_keep(conn, snap, mode, rep->gen, r->handle, fd, a->map, a->maplen,
                                 &a->info, a->descr);
    *ret_array = a;
    return 0;
fail:
    free(a);
    if (fd >= 0)
        close(fd);
    /* A reply without a descriptor still created an attachment on the daemon. */
    release_attachment(conn, rep->gen, r->handle);
    return client_fail(rc, "%s", msg);
}

/* A handle borrowing the cached attachment e (one reference, taken). 0, or -ENOMEM
 * with the reference given back. */
static int array_from_entry(sharr_t *conn, struct attcache_entry *e, sharr_array_t **ret_array)
{
    struct sharr_array *a = malloc(sizeof(*a) + e->info.descr_len + 1);

    if (a == NULL) {
        attcache_put(conn, e);
        return client_fail(-ENOMEM, "out of memory");
    }
    client_ref(conn);
    a->conn = conn;
    a->pid = e->pid;
    a->gen = e->gen;
    a->handle = e->handle;
    a->fd = e->fd;
    a->map = e->map;
    a->maplen = e->maplen;
    a->data = (char *)e->map + e->info.offset;
    memcpy(a->mode, e->mode, sizeof(a->mode));
    a->old = NULL;
    a->entry = e;
    a->info = e->info;
    memcpy(a->descr, e->descr, e->info.descr_len + 1);
    *ret_array = a;
    return 0;
}

/* flags must be among known (a create knows no SHARR_F_OWNER). */
static int array_check_flags(int flags, int known)
{
    if (flags & SHARR_F_OWNER & ~known)
        return client_fail(-EINVAL, "SHARR_F_OWNER applies to sharr_open, not to a create");
    if (flags & ~known)
        return client_fail(-EINVAL, "unknown flags 0x%x", (unsigned)(flags & ~known));
    return 0;
}

int sharr_create(sharr_t *conn, const char *name, const char *dtype, int ndim,
                 const uint64_t *shape, const struct sharr_create_opts *caller_opts,
                 sharr_array_t **ret_array)
{
    struct sharr_create_opts o;
    const struct sharr_create_opts *opts = &o;
    struct codec_create p = { 0 };
    struct dtype_text text; /* a record's canonical description, p's while it is sent */
    struct array_reply r;
    struct client_reply rep;
    struct client_request req = {
        .pack = array_pack_create, .params = &p, .parse = array_parse_attach, .out = &r,
        .frame = true,
    };
    uint64_t nbytes;
    char why[64];
    int rc;

    if (conn == NULL || dtype == NULL || (shape == NULL && ndim > 0) || ret_array == NULL)
        return client_fail(-EINVAL, "sharr_create: conn, dtype, shape (unless ndim is 0) "
                           "and ret_array must not be NULL");
    rc = opts_read(caller_opts, sizeof(o), &o, "sharr_create_opts");
    if (rc < 0)
        return rc;
    rc = client_check_name(name);
    if (rc < 0)
        return rc;
    if (ndim < 0 || ndim > PROTO_NDIM_MAX)
        return client_fail(-EINVAL, "ndim %d is outside 0..%d", ndim, PROTO_NDIM_MAX);
    if (dtype[0] == '[') {
        char bad[160];

        if (dtype_parse_descr(dtype, strlen(dtype), &p.dtype, &text, NULL, bad,
                              sizeof(bad)) < 0)
            return client_fail(-EINVAL, "unsupported record dtype: %s", bad);
    } else if (dtype_parse(dtype, &p.dtype) < 0) {
        return client_fail(-EINVAL, "unknown or unsupported dtype '%s'", dtype);
    }
    if (opts->order != 0 && opts->order != 'C' && opts->order != 'F')
        return client_fail(-EINVAL, "order must be 'C' or 'F'");
    if (perm_check(opts->perm, why, sizeof(why)) < 0)
        return client_fail(-EINVAL, "%s", why);
    rc = array_check_flags(opts->flags, ARRAY_KNOWN_FLAGS);
    if (rc < 0)
        return rc;
    for (int i = 0; i < ndim; i++) {
        if (shape[i] == 0)
            return client_fail(-EINVAL, "dimension %d is 0; every dimension must be >= 1", i);
    }
    rc = shape_nbytes((uint32_t)ndim, shape, p.dtype.itemsize, &nbytes);
    if (rc < 0)
        return client_fail(rc, "the array would hold more than 2^62 bytes "
                           "(the product of its shape times itemsize %llu)",
                           (unsigned long long)p.dtype.itemsize);
    memcpy(p.name, name, strlen(name) + 1);
    p.ndim = (uint32_t)ndim;
    if (ndim > 0)
        memcpy(p.shape, shape, (size_t)ndim * sizeof(uint64_t));
    p.order = opts->order != 0 ? opts->order : 'C';
    p.persist = opts->persist != 0;
    p.perm = opts->perm != 0 ? opts->perm : 0600;
    p.overwrite = opts->overwrite != 0;
    req.needs_records = p.dtype.descr != NULL;
    p.max_len = OPTS_COVERS(opts, struct sharr_create_opts, max_len) ? opts->max_len : 0;
    if (p.max_len > PROTO_LEN_MAX)
        return client_fail(-EINVAL, "max_len %llu is larger than 2^62",
                           (unsigned long long)p.max_len);

    rc = client_call(conn, &req, &rep);
    if (rc < 0)
        return rc;
    return array_attach(conn, name, "w+", &r.r, &rep, opts->flags, NULL, NULL, ret_array);
}

int sharr_open(sharr_t *conn, const char *name, const char *mode,
               const struct sharr_open_opts *caller_opts, sharr_array_t **ret_array)
{
    struct sharr_open_opts o;
    const struct sharr_open_opts *opts = &o;
    struct codec_open p = { 0 };
    struct array_reply r;
    struct client_reply rep;
    struct client_request req = {
        .pack = array_pack_open, .params = &p, .parse = array_parse_attach, .out = &r,
        .frame = true,
    };
    struct attcache_entry *entry;
    struct attcache_snap snap;
    struct timespec start, now;
    int64_t waited_ms;
    int rc;

    if (conn == NULL || mode == NULL || ret_array == NULL)
        return client_fail(-EINVAL, "sharr_open: conn, mode and ret_array must not be NULL");
    rc = opts_read(caller_opts, sizeof(o), &o, "sharr_open_opts");
    if (rc < 0)
        return rc;
    /* Before the checks: the cache holds only what a valid open attached, and a miss
     * is the full open's to check (the caller's next call). */
    if (opts->flags & SHARR_F_CACHED_ONLY) {
        uint32_t owner = opts->owner;

        if (name != NULL &&
            attcache_peek(conn, name, mode, opts->flags & ~SHARR_F_CACHED_ONLY,
                          (opts->flags & SHARR_F_OWNER) ? &owner : NULL, &entry) == 1)
            return array_from_entry(conn, entry, ret_array);
        return client_fail_text(-EAGAIN, "not in this connection's cache of attachments "
                                         "now (SHARR_F_CACHED_ONLY)");
    }
    rc = client_check_name(name);
    if (rc < 0)
        return rc;
    if (meta_mode_parse(mode, &p.mode) < 0)
        return client_fail(-EINVAL, "mode '%s' is not one of r, r+, c "
                           "(create with sharr_create)", mode);
    if (opts->wait_ms < -1)
        return client_fail(-EINVAL, "wait_ms %lld: use -1 (forever), 0 or a timeout",
                           (long long)opts->wait_ms);
    rc = array_check_flags(opts->flags, ARRAY_OPEN_FLAGS);
    if (rc < 0)
        return rc;
    if ((opts->flags & SHARR_F_OWNER) && !OPTS_COVERS(opts, struct sharr_open_opts, owner))
        return client_fail(-EINVAL, "SHARR_F_OWNER is set but opts->size (%zu) does not "
                           "cover the owner field", opts->size);
    if ((opts->flags & SHARR_F_OWNER) && opts->owner == UINT32_MAX)
        return client_fail(-EINVAL, "owner %u is no uid ((uid_t)-1 means none)",
                           (unsigned)opts->owner);
    memcpy(p.name, name, strlen(name) + 1);
    p.wait_ms = opts->wait_ms;
    p.has_owner = (opts->flags & SHARR_F_OWNER) != 0;
    p.owner = p.has_owner ? opts->owner : 0;
    p.published = (opts->flags & SHARR_F_PUBLISHED) != 0;
    if (attcache_take(conn, name, meta_mode_name(p.mode), opts->flags,
                      p.has_owner ? &p.owner : NULL, &entry, &snap) == 1)
        return array_from_entry(conn, entry, ret_array);
    clock_gettime(CLOCK_MONOTONIC, &start);

    /* A waiting open that loses its daemon (a restart) attached nothing: it asks
     * again on a fresh connection for what is left of its wait, for as long as the
     * daemon takes to come back within that wait (each round of dialing takes about
     * a second). */
    while (((rc = client_call(conn, &req, &rep)) == -ECONNRESET || (rc < 0 &&
            client_unreachable(conn))) && opts->wait_ms != 0) {
        if (opts->wait_ms > 0) {
            clock_gettime(CLOCK_MONOTONIC, &now);
            waited_ms = (now.tv_sec - start.tv_sec) * 1000
                        + (now.tv_nsec - start.tv_nsec) / 1000000;
            if (waited_ms >= opts->wait_ms && rc != -ECONNRESET)
                return rc; /* sharrd stayed away: its dial error says why */
            if (waited_ms >= opts->wait_ms)
                return client_fail(-ETIMEDOUT, "no array named %s appeared within %lld ms "
                                   "(sharrd restarted meanwhile)", name,
                                   (long long)opts->wait_ms);
            p.wait_ms = opts->wait_ms - waited_ms;
        }
    }
    /* Attachments the cache keeps idle count against the daemon's limits: give them
     * back and ask once more. */
    if (rc == -EMFILE && attcache_drop_idle(conn) > 0)
        rc = client_call(conn, &req, &rep);
    if (rc < 0)
        return rc;
    return array_attach(conn, name, meta_mode_name(p.mode), &r.r, &rep, opts->flags,
                        p.has_owner ? &p.owner : NULL, &snap, ret_array);
}

int sharr_close(sharr_array_t *array)
{
    sharr_t *conn;
    int rc = 0;

    if (array == NULL)
        return 0;
    conn = array->conn;
    if (array->map != NULL && (array->entry == NULL || array->map != array->entry->map))
        munmap(array->map, array->maplen);
    while (array->old != NULL) {
        struct array_map *m = array->old;
        array->old = m->next;
        munmap(m->map, m->len);
        free(m);
    }
    /* A borrowed attachment goes back to the cache, which releases it in time. */
    if (array->entry != NULL) {
        attcache_put(conn, array->entry);
        free(array);
        client_unref(conn);
        return 0;
    }
    close(array->fd);
    /* In a forked child the attachment is the parent's: only the local copies go. */
    if (array->pid == client_pid())
        rc = release_attachment(conn, array->gen, array->handle);
    free(array);
    client_unref(conn);
    return rc;
}

int sharr_sync(sharr_array_t *array)
{
    struct codec_sync p = { .has_handle = true };
    struct client_reply rep = { .fd = -1 };
    struct client_request req = { .pack = array_pack_sync, .params = &p };
    int rc;

    if (array == NULL)
        return client_fail(-EINVAL, "sharr_sync: array is NULL");
    if (array->map != NULL && msync(array->map, array->maplen, MS_SYNC) < 0) {
        rc = -errno;
        return client_fail(rc, "msync of '%s': %s", array->info.name, sharr_strerror(rc));
    }
    if (!array->info.persist)
        return 0;
    /* The daemon flushes the array this attachment holds, never what the name means
     * now; the name goes along for a daemon older than handles, which syncs by name. */
    p.handle = array->handle;
    memcpy(p.name, array->info.name, sizeof(p.name));
    req.only_gen = array->gen;
    rc = client_call(array->conn, &req, &rep);
    if (rc < 0 || rep.gen == array->gen)
        return rc;
    /* Not sent: the connection the attachment was made on is gone (sharrd restarted,
     * or this is a forked child), and its handle means nothing to a new one. The
     * attachment's own descriptor is the array's file: flushing it is the same fsync. */
    if (fsync(array->fd) < 0) {
        rc = -errno;
        return client_fail(rc, "fsync of '%s': %s", array->info.name, sharr_strerror(rc));
    }
    return 0;
}

void *sharr_array_data(const sharr_array_t *array)
{
    return array != NULL ? array->data : NULL;
}

const struct sharr_info *sharr_array_info(const sharr_array_t *array)
{
    return array != NULL ? &array->info : NULL;
}

int sharr_array_fd(const sharr_array_t *array)
{
    if (array == NULL)
        return client_fail(-EINVAL, "sharr_array_fd: array is NULL");
    return array->fd;
}

const char *sharr_array_descr(const sharr_array_t *array)
{
    if (array == NULL)
        return NULL;
    return array->info.descr_len > 0 ? array->descr : array->info.dtype;
}

const char *sharr_array_mode(const sharr_array_t *array)
{
    return array != NULL ? array->mode : NULL;
}

/* The array's shape as its descriptor's .npy header says now, into *ret: read until
 * two reads agree, so a header being rewritten by sharrd is never taken half-written.
 * 0 or a negative errno with sharr_last_error() set. */
static int array_read_header(const sharr_array_t *array, struct sharr_info *ret)
{
    static _Thread_local unsigned char buf[2][PROTO_DATA_OFFSET];
    ssize_t n[2] = { -1, -1 };
    int rc;

    for (int i = 0; i < 8; i++) {
        n[i % 2] = pread(array->fd, buf[i % 2], sizeof(buf[0]), 0);
        if (n[i % 2] < 0) {
            rc = -errno;
            return client_fail(rc, "reading the header of '%s': %s", array->info.name,
                               sharr_strerror(rc));
        }
        if (i > 0 && n[0] == n[1] && memcmp(buf[0], buf[1], (size_t)n[0]) == 0)
            break;
    }
    if (n[0] != n[1] || memcmp(buf[0], buf[1], (size_t)n[0]) != 0)
        return client_fail(-EAGAIN, "the header of '%s' kept changing", array->info.name);
    return sharr_npy_parse(buf[0], (size_t)n[0], ret);
}

int sharr_array_refresh(sharr_array_t *array)
{
    struct sharr_info now;
    struct array_map *keep;
    bool borrowed;
    int axis, prot, rc;
    struct stat st;
    size_t len;
    void *p;

    if (array == NULL)
        return client_fail(-EINVAL, "sharr_array_refresh: array is NULL");
    rc = array_read_header(array, &now);
    if (rc < 0)
        return rc;
    axis = array->info.order == 'F' ? array->info.ndim - 1 : 0;
    if (now.ndim != array->info.ndim || now.order != array->info.order
        || now.offset != array->info.offset || strcmp(now.dtype, array->info.dtype) != 0
        || (array->info.ndim > 0 && now.shape[axis] < array->info.shape[axis]))
        return client_fail(-EPROTO, "the header of '%s' no longer describes it", array->info.name);
    for (int i = 0; i < now.ndim; i++) {
        if (i != axis && now.shape[i] != array->info.shape[i])
            return client_fail(-EPROTO, "the header of '%s' no longer describes it",
                               array->info.name);
    }
    if (now.nbytes == array->info.nbytes)
        return 0;
    if (now.nbytes > SIZE_MAX - now.offset)
        return client_fail(-EFBIG, "'%s' grew too large for this process", array->info.name);
    len = (size_t)(now.offset + now.nbytes);
    /* As at attach: a file shorter than its header says would SIGBUS its mappers. */
    if (fstat(array->fd, &st) < 0 || st.st_size < 0 || (uint64_t)st.st_size < len)
        return client_fail(-EPROTO, "the descriptor of '%s' is shorter than its header says",
                           array->info.name);
    /* A mapping borrowed from the cache is shared with other handles: it is never
     * resized, and stays the cache's; this handle maps the new length for itself. */
    borrowed = array->entry != NULL && array->map == array->entry->map;
    if (array->map != NULL) {
        len = array_map_whole(len, array->info.page_size);
        p = borrowed ? MAP_FAILED
                     : len == array->maplen ? array->map : mremap(array->map, array->maplen, len, 0);
        if (p == MAP_FAILED) {
            keep = borrowed ? NULL : malloc(sizeof(*keep));
            prot = strcmp(array->mode, "r") == 0 ? PROT_READ : PROT_READ | PROT_WRITE;
            p = keep || borrowed ? mmap(NULL, len, prot, strcmp(array->mode, "c") == 0
                                        ? MAP_PRIVATE : MAP_SHARED, array->fd, 0) : MAP_FAILED;
            if (p == MAP_FAILED) {
                rc = keep || borrowed ? -errno : -ENOMEM;
                free(keep);
                return client_fail(rc, "mapping '%s' anew: %s", array->info.name,
                                   sharr_strerror(rc));
            }
            if (keep != NULL) {
                *keep = (struct array_map){ array->map, array->maplen, array->old };
                array->old = keep;
            }
        }
        if (array->info.page_size > ARRAY_SMALL_PAGE_MAX)
            madvise(p, len, MADV_HUGEPAGE);
        array->map = p;
        array->maplen = len;
        array->data = (char *)p + now.offset;
    }
    array->info.shape[axis] = now.shape[axis];
    array->info.nbytes = now.nbytes;
    return 1;
}
