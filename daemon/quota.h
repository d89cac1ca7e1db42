/* quota.h — how many arrays, data bytes and bytes of volatile memory exist, in
 * total and per owner uid, and whether one more array fits the policy (policy.h).
 *
 * An array is counted from the moment its name is reserved until its last
 * reference goes (an unlinked array still attached still holds memory or disk), so
 * the registry charges and releases; methods only ask quota_check before a create.
 * A reservation is a grant: it holds while the create runs on the thread pool and
 * after, until the array is freed or its create fails, so creates checked one after
 * another on the loop can never pass a limit together. Connections are counted per
 * uid in peers.h, and admitted there (peers_may_connect).
 */
#ifndef DAEMON_QUOTA_H
#define DAEMON_QUOTA_H

#include <stddef.h>
#include <stdint.h>

#include "meta.h"
#include "policy.h"

/* What one array counts for. */
struct quota_cost {
    uint64_t bytes;   /* its data bytes, and for a persistent array the blocks a writer
                       * added to its file beyond them (meta.grown) */
    uint64_t memory;  /* a volatile array's memfd: header and data, in whole pages of its
                       * page_size (huge pages when it has them) */
};

struct quota_uid {
    uint32_t uid;
    uint64_t arrays, bytes, memory;
};

struct quota {
    uint64_t arrays, bytes, memory; /* every array alive */
    struct quota_uid *uids;  /* owners with at least one array, unsorted */
    size_t n, cap;
};

void quota_init(struct quota *q);
void quota_close(struct quota *q);

/* What the array m counts for (m->grown included). */
struct quota_cost quota_cost_of(const struct meta *m);

/* 0 if uid may own one more array costing c under p; else -ENOSPC (a total is
 * reached: --max-arrays, --max-bytes, --max-volatile-bytes) or -EDQUOT (uid's own
 * limit; never for uid 0), with a message naming the limit and its flag in err. A uid
 * already over a limit (its files grew) is refused even a create of nothing. */
int quota_check(const struct quota *q, const struct policy *p, uint32_t uid,
                struct quota_cost c, char *err, size_t errlen);

/* As quota_check, for an array of uid counted already that is to cost more on top
 * (a grow): the same limits on bytes and memory, no new array counted. */
int quota_check_more(const struct quota *q, const struct policy *p, uint32_t uid,
                     struct quota_cost more, char *err, size_t errlen);

/* Count an array of uid. 0 or -ENOMEM (nothing counted). */
int quota_charge(struct quota *q, uint32_t uid, struct quota_cost c);
/* Forget an array counted by quota_charge with the same cost. */
void quota_release(struct quota *q, uint32_t uid, struct quota_cost c);
/* An array of uid counted as from now costs to: its bytes and memory are counted
 * again, its place in the number of arrays stays. */
void quota_recharge(struct quota *q, uint32_t uid, struct quota_cost from,
                    struct quota_cost to);

/* What uid holds now (zeros when nothing). */
struct quota_uid quota_of(const struct quota *q, uint32_t uid);

#endif
