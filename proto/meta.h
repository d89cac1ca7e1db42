/* meta.h — what is known of one array: name, element type, shape, order, owner.
 *
 * Shared by the codec (it travels in replies), the daemon's registry and stores, and
 * the client. Plain data; no allocation: a record's description is a view (dtype.h)
 * whose owner each user of a meta names.
 */
#ifndef PROTO_META_H
#define PROTO_META_H

#include <stdbool.h>
#include <stdint.h>

#include "dtype.h"
#include "proto_limits.h"

enum meta_mode {
    META_MODE_R = 0,     /* read only: O_RDONLY, PROT_READ, MAP_SHARED */
    META_MODE_RPLUS = 1, /* read/write: O_RDWR, MAP_SHARED */
    META_MODE_C = 2,     /* copy on write: O_RDONLY, PROT_READ|PROT_WRITE, MAP_PRIVATE */
};

struct meta {
    char name[PROTO_NAME_MAX + 1];
    struct dtype dtype;
    uint32_t ndim;
    uint32_t page_size;  /* volatile arrays: the size of the pages backing the memfd
                          * (4096, or a huge page size, a multiple of which the memfd's
                          * size then is); 0 for persistent arrays or when not known */
    uint64_t shape[PROTO_NDIM_MAX];
    uint64_t nbytes;     /* data bytes, from shape_nbytes() */
    uint64_t offset;     /* where the data starts in the array's bytes: PROTO_DATA_OFFSET
                          * for arrays sharr creates, where numpy's header ends for an
                          * adopted .npy (a multiple of PROTO_DATA_OFFSET_ALIGN) */
    uint32_t perm;       /* permission bits, 0777 at most (perm.h) */
    uint32_t uid, gid;   /* owner */
    int64_t ctime_ns;    /* creation time */
    uint32_t nattached;  /* attachments held by clients (informational) */
    char path[PROTO_PATH_MAX]; /* persistent arrays: the .npy path; else "" */
    uint64_t grown;      /* persistent arrays: bytes a writer allocated in the file beyond
                          * what its data needs, charged to the owner; else 0 */
    uint64_t max_len;    /* volatile arrays: the length the first axis can grow to (the
                          * memfd's room, fixed at create); persistent: 0, no bound
                          * but the quotas */
    /* The one-byte fields last, together: no padding between them. */
    char order;          /* 'C' or 'F' */
    bool persist;        /* on disk (true) or in memory (false) */
    bool damaged;        /* persistent arrays: the file is shorter than offset + nbytes
                          * (cut by a writer); mappers of the missing part get SIGBUS */
    bool published;      /* complete and immutable (publish): no writable attachment
                          * is given any more, until the name is unlinked */
};

/* The most bytes a struct meta may take. The daemon keeps one per array and copies,
 * and a client list page holds a thousand: anything large and rare (a record's
 * description) is kept out of line, by reference (dtype.h), not in here. */
#define META_SIZE_MAX 2048
_Static_assert(sizeof(struct meta) <= META_SIZE_MAX,
               "struct meta grew past META_SIZE_MAX: keep large, rare data out of line");

/* The array record, field by field in the order it travels: X(ID, field, wire key,
 * kind, required). The codec's packer and parser (codec_meta.c), libsharr's copy into
 * struct sharr_info (client/catalog.c) and the layout the Python tests check expand
 * from it. The kind says how a field is packed, checked and copied: NAME (an array
 * name, name.h), DTYPE, SHAPE (with ndim; it sets nbytes), ORDER ('C' or 'F', 'C' when
 * absent), NBYTES (shape times item size; a value given must match), OFFSET (where the
 * data starts, PROTO_DATA_OFFSET when absent), PERM (perm.h), TEXT (a string that fits
 * the field), U32, U64, I64, BOOL; 0 when absent. DESCR is a record's description
 * (dtype.h), viewed by dtype.descr (NULL when absent, and then left out of a map); struct
 * sharr_info carries its length under the field's name, the text being too long for it. Required fields come first. */
#define META_FIELDS(X)                                   \
    X(NAME, name, "name", NAME, 1)                       \
    X(DTYPE, dtype, "dtype", DTYPE, 1)                   \
    X(SHAPE, shape, "shape", SHAPE, 1)                   \
    X(ORDER, order, "order", ORDER, 0)                   \
    X(NBYTES, nbytes, "nbytes", NBYTES, 0)               \
    X(OFFSET, offset, "offset", OFFSET, 0)               \
    X(PERSIST, persist, "persist", BOOL, 0)              \
    X(PERM, perm, "perm", PERM, 0)                       \
    X(UID, uid, "uid", U32, 0)                           \
    X(GID, gid, "gid", U32, 0)                           \
    X(CTIME_NS, ctime_ns, "ctime_ns", I64, 0)            \
    X(NATTACHED, nattached, "nattached", U32, 0)         \
    X(PATH, path, "path", TEXT, 0)                       \
    X(GROWN, grown, "grown", U64, 0)                     \
    X(DAMAGED, damaged, "damaged", BOOL, 0)              \
    X(DESCR, descr_len, "descr", DESCR, 0)               \
    X(PUBLISHED, published, "published", BOOL, 0)        \
    X(MAX_LEN, max_len, "max_len", U64, 0)               \
    X(PAGE_SIZE, page_size, "page_size", U32, 0)

/* The axis an array grows along: the first in C order, the last in F order; -1 for a
 * 0-d array, which cannot grow. */
static inline int meta_grow_axis(const struct meta *m)
{
    if (m->ndim == 0)
        return -1;
    return m->order == 'F' ? (int)m->ndim - 1 : 0;
}

/* The data bytes m has room for: max_len along its growing axis when that is more than
 * its length (a volatile array's memfd is that long from its create), else nbytes. */
static inline uint64_t meta_room_nbytes(const struct meta *m)
{
    int axis = meta_grow_axis(m);
    uint64_t len, room;

    if (axis < 0 || m->max_len <= (len = m->shape[axis]) || len == 0
        || __builtin_mul_overflow(m->nbytes / len, m->max_len, &room))
        return m->nbytes;
    return room;
}

/* "r", "r+", "c" -> mode; 0 or -EINVAL. ("w+" is create with overwrite, not an open.) */
int meta_mode_parse(const char *s, enum meta_mode *ret_mode);
/* mode -> "r", "r+", "c". */
const char *meta_mode_name(enum meta_mode mode);

#endif
