/* quota.c — counts of arrays, data bytes and volatile memory, total and per owner uid.
 *
 * Owners are few (the users of one host), so they sit in a small unsorted array
 * searched linearly; an owner whose last array goes is dropped from it.
 */
#include "quota.h"

#include <errno.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

void quota_init(struct quota *q)
{
    memset(q, 0, sizeof(*q));
}

void quota_close(struct quota *q)
{
    free(q->uids);
    memset(q, 0, sizeof(*q));
}

static struct quota_uid *quota_find(const struct quota *q, uint32_t uid)
{
    for (size_t i = 0; i < q->n; i++) {
        if (q->uids[i].uid == uid)
            return &q->uids[i];
    }
    return NULL;
}

struct quota_uid quota_of(const struct quota *q, uint32_t uid)
{
    const struct quota_uid *u = quota_find(q, uid);

    return u ? *u : (struct quota_uid){ .uid = uid };
}

struct quota_cost quota_cost_of(const struct meta *m)
{
    /* A volatile array's memory is its whole memfd, room to grow included (any holder
     * of a descriptor can touch those pages before a grow), in whole pages of its own
     * size: huge pages are counted whole, as the kernel takes them. */
    uint64_t page = m->page_size ? m->page_size : (uint64_t)sysconf(_SC_PAGESIZE);
    uint64_t size = m->offset + (m->persist ? m->nbytes : meta_room_nbytes(m));
    struct quota_cost c = { .bytes = m->nbytes + m->grown };

    if (!m->persist)
        c.memory = size > UINT64_MAX - page ? UINT64_MAX : (size + page - 1) / page * page;
    return c;
}

/* Would used + more pass limit (0: none)? */
static bool quota_over(uint64_t limit, uint64_t used, uint64_t more)
{
    return limit && (used > limit || more > limit - used);
}

/* quota_check, of one more array (one) or of more bytes for one counted already. */
static int quota_check_cost(const struct quota *q, const struct policy *p, uint32_t uid,
                            struct quota_cost c, bool one, char *err, size_t errlen)
{
    struct quota_uid u = quota_of(q, uid);
    uint64_t nbytes = c.bytes;

    if (one && p->max_arrays && q->arrays >= p->max_arrays) {
        snprintf(err, errlen, "sharrd holds its most arrays (%" PRIu64 ", --max-arrays)",
                 p->max_arrays);
        return -ENOSPC;
    }
    if (quota_over(p->max_bytes, q->bytes, nbytes)) {
        snprintf(err, errlen, "%" PRIu64 " more bytes would pass the daemon's limit of %"
                 PRIu64 " (%" PRIu64 " in use, --max-bytes)", nbytes, p->max_bytes, q->bytes);
        return -ENOSPC;
    }
    if (c.memory && quota_over(p->max_volatile_bytes, q->memory, c.memory)) {
        snprintf(err, errlen, "a volatile array of %" PRIu64 " bytes of memory would pass the "
                 "daemon's limit of %" PRIu64 " for all volatile arrays (%" PRIu64 " in use, "
                 "--max-volatile-bytes)", c.memory, p->max_volatile_bytes, q->memory);
        return -ENOSPC;
    }
    if (uid == 0)
        return 0;
    if (one && p->max_arrays_per_uid && u.arrays >= p->max_arrays_per_uid) {
        snprintf(err, errlen, "uid %" PRIu32 " owns its most arrays (%" PRIu64
                 ", --max-arrays-per-uid)", uid, p->max_arrays_per_uid);
        return -EDQUOT;
    }
    if (quota_over(p->max_bytes_per_uid, u.bytes, nbytes)) {
        snprintf(err, errlen, "%" PRIu64 " more bytes would pass uid %" PRIu32 "'s quota of %"
                 PRIu64 " (%" PRIu64 " in use, --max-bytes-per-uid)", nbytes, uid,
                 p->max_bytes_per_uid, u.bytes);
        return -EDQUOT;
    }
    if (c.memory && quota_over(p->max_volatile_bytes_per_uid, u.memory, c.memory)) {
        snprintf(err, errlen, "a volatile array of %" PRIu64 " bytes of memory would pass uid %"
                 PRIu32 "'s quota of %" PRIu64 " for volatile arrays (%" PRIu64 " in use, "
                 "--max-volatile-bytes-per-uid)", c.memory, uid, p->max_volatile_bytes_per_uid,
                 u.memory);
        return -EDQUOT;
    }
    return 0;
}

int quota_check(const struct quota *q, const struct policy *p, uint32_t uid,
                struct quota_cost c, char *err, size_t errlen)
{
    return quota_check_cost(q, p, uid, c, true, err, errlen);
}

int quota_check_more(const struct quota *q, const struct policy *p, uint32_t uid,
                     struct quota_cost more, char *err, size_t errlen)
{
    return quota_check_cost(q, p, uid, more, false, err, errlen);
}

int quota_charge(struct quota *q, uint32_t uid, struct quota_cost c)
{
    struct quota_uid *u = quota_find(q, uid);

    if (!u) {
        if (q->n == q->cap) {
            size_t cap = q->cap ? q->cap * 2 : 8;
            struct quota_uid *uids = realloc(q->uids, cap * sizeof(*uids));

            if (!uids)
                return -ENOMEM;
            q->uids = uids;
            q->cap = cap;
        }
        u = &q->uids[q->n++];
        *u = (struct quota_uid){ .uid = uid };
    }
    u->arrays++;
    u->bytes += c.bytes;
    u->memory += c.memory;
    q->arrays++;
    q->bytes += c.bytes;
    q->memory += c.memory;
    return 0;
}

void quota_release(struct quota *q, uint32_t uid, struct quota_cost c)
{
    struct quota_uid *u = quota_find(q, uid);

    q->arrays--;
    q->bytes -= c.bytes;
    q->memory -= c.memory;
    if (!u)
        return;
    u->arrays--;
    u->bytes -= c.bytes;
    u->memory -= c.memory;
    if (u->arrays == 0)
        *u = q->uids[--q->n];
}

void quota_recharge(struct quota *q, uint32_t uid, struct quota_cost from, struct quota_cost to)
{
    struct quota_uid *u = quota_find(q, uid);

    q->bytes = q->bytes - from.bytes + to.bytes;
    q->memory = q->memory - from.memory + to.memory;
    if (!u)
        return;
    u->bytes = u->bytes - from.bytes + to.bytes;
    u->memory = u->memory - from.memory + to.memory;
}
