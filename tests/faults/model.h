/* model.h — what a named persistent array should be across daemon kills: the state a
 * name holds, the persistent operations that change it (create, overwrite, chmod,
 * chown, unlink, adopt, sync, a fill of its data, grow, publish), run by a client of
 * any uid, the reply the daemon gives each (model_expect: a published array refuses
 * fills and grows, an adopted one grows not), and the check of a name against the
 * states allowed after a kill.
 *
 * Arrays are 1-d <u8. The element count tells data files apart (a test gives every
 * new data file of a name a new count, and a grow makes it longer), so a name showing
 * one file's count with another's owner or bits is caught: old data with new metadata.
 */
#ifndef MODEL_H
#define MODEL_H

#include <stddef.h>
#include <stdint.h>

#include "fault.h"

#define MODEL_NAME_MAX 32
#define MODEL_SEED_ANY UINT64_MAX /* data not checked (a fill cut short) */

struct model_state {
    int exists;
    uint64_t n;              /* <u8 elements */
    uint32_t uid, gid, perm;
    uint64_t seed;           /* data: fault_fill of seed; 0: all zero; MODEL_SEED_ANY */
    uint64_t nseed;          /* the first nseed elements are seed's, the rest zero (a
                              * grow adds zeros after the data) */
    int published;           /* sharr_publish'd: immutable until overwritten or unlinked */
    int adopted;             /* numpy's 128-byte header (adopt): it cannot grow */
};

enum model_kind {
    MODEL_CREATE,    /* create (no overwrite) n elements with perm */
    MODEL_OVERWRITE, /* create with overwrite */
    MODEL_CHMOD,     /* perm */
    MODEL_CHOWN,     /* uid (root only, else kept) and gid */
    MODEL_UNLINK,
    MODEL_ADOPT,     /* the .npy at path (n elements of seed), with perm and overwrite */
    MODEL_SYNC,      /* open r, sync, close: nothing changes */
    MODEL_FILL,      /* open r+, fill with seed, sync, close */
    MODEL_GROW,      /* grow to n elements (shorter: refused) */
    MODEL_PUBLISH,
    MODEL_KINDS,
};

struct model_op {
    enum model_kind kind;
    char name[MODEL_NAME_MAX];
    uint64_t n, seed;
    uint32_t perm, uid, gid;
    char path[256];          /* adopt: the file, outside the store, same filesystem */
    int expect;              /* the reply model_expect predicts: 0 or -errno */
};

/* The name of kind, for messages. */
const char *model_kind_name(enum model_kind kind);

/* Run op on c as the calling process's uid/gid (the adoptee file is written first and
 * its path removed once adopted). Returns 0 or the negative errno of the call that
 * failed. Usable in a child: never asserts. */
int model_do(sharr_t *c, const struct model_op *op);

/* What the daemon replies to op on a name in state s, from a peer that owns the name
 * or is root (the tests run no other): 0, -EROFS for a fill or grow of a published
 * array, -EINVAL for a grow that shortens or of an adopted array (PROTOCOL.md, grow).
 * Operations that make an array are only asked of absent names and the others of
 * existing ones. */
int model_expect(const struct model_state *s, const struct model_op *op);

/* The state after op, run by a peer of uid/gid, on a name in state s: s itself when
 * model_expect refuses op. */
struct model_state model_apply(const struct model_state *s, const struct model_op *op,
                               uint32_t uid, uint32_t gid);

/* Write the adoptee of op: a .npy of op->n <u8 elements of op->seed, 128-byte header,
 * owned by the caller. 0 or -errno. */
int model_write_npy(const struct model_op *op);

/* Which of the nok states name is in (looked at as root on c): its index, or -1 with
 * what it is instead in why. */
int model_match(sharr_t *c, const char *name, const struct model_state *ok, int nok,
                char *why, size_t len);

/* The store of h holds a .npy and a .meta for each of the narrays arrays and nothing
 * else (no .inflight-, .tmp-, .trash- file). 0, or -1 with the listing in why. */
int model_store_clean(const struct harness *h, int narrays, char *why, size_t len);

/* A state printed for messages. */
void model_describe(const struct model_state *s, char *out, size_t len);

#endif
