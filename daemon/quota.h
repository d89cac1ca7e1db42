/* quota.h — how many arrays and data bytes exist, in total and per owner uid, and
 * whether one more array fits the policy (policy.h).
 *
 * An array is counted from the moment its name is reserved until its last
 * reference goes (an unlinked array still attached still holds memory or disk), so
 * the registry charges and releases; methods only ask quota_check before a create.
 * Connections are counted per uid in peers.h.
 */
#ifndef DAEMON_QUOTA_H
#define DAEMON_QUOTA_H

#include <stddef.h>
#include <stdint.h>

#include "policy.h"

struct quota_uid {
    uint32_t uid;
    uint64_t arrays, bytes;
};

struct quota {
    uint64_t arrays, bytes;  /* every array alive */
    struct quota_uid *uids;  /* owners with at least one array, unsorted */
    size_t n, cap;
};

void quota_init(struct quota *q);
void quota_close(struct quota *q);

/* 0 if uid may own one more array of nbytes under p; else -ENOSPC (a total is
 * reached) or -EDQUOT (uid's own limit; never for uid 0), with a message in err. */
int quota_check(const struct quota *q, const struct policy *p, uint32_t uid, uint64_t nbytes,
                char *err, size_t errlen);

/* Count an array of uid. 0 or -ENOMEM (nothing counted). */
int quota_charge(struct quota *q, uint32_t uid, uint64_t nbytes);
/* Forget an array counted by quota_charge. */
void quota_release(struct quota *q, uint32_t uid, uint64_t nbytes);

/* What uid holds now (zeros when nothing). */
struct quota_uid quota_of(const struct quota *q, uint32_t uid);

struct daemon;
struct access_peer;

/* 0 if d may serve one more connection of peer (--max-connections; unless peer is
 * uid 0, also --reserved-root-connections and --max-connections-per-uid); else
 * -EMFILE with why. */
int quota_may_connect(const struct daemon *d, const struct access_peer *peer, char *why,
                      size_t whylen);

#endif
