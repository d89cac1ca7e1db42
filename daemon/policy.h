/* policy.h — the daemon's resource limits as flags: what each peer may make the
 * daemon hold (bytes, arrays, connections, queued replies, half-sent requests).
 *
 * Only the values, their defaults, parsing and help text; quota.c counts arrays and
 * bytes against them, conn.c and daemon.c apply the rest. 0 means "no limit" where
 * the help says so. uid 0 is exempt from the per-uid limits, never from the totals.
 */
#ifndef DAEMON_POLICY_H
#define DAEMON_POLICY_H

#include <getopt.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#define POLICY_MAX_ARRAYS_DEFAULT 100000
#define POLICY_MAX_ARRAYS_PER_UID_DEFAULT 10000
#define POLICY_MAX_CONNECTIONS_PER_UID_DEFAULT 512
#define POLICY_REQUEST_TIMEOUT_MS_DEFAULT 30000
#define POLICY_MAX_QUEUED_DEFAULT (16u * 1024 * 1024)
#define POLICY_MAX_QUEUED_MIN (64u * 1024)

struct policy {
    uint64_t max_bytes;               /* data bytes of all arrays; 0: no limit */
    uint64_t max_bytes_per_uid;       /* data bytes of one uid's arrays; 0: no limit */
    uint64_t max_arrays;              /* arrays alive; 0: no limit */
    uint64_t max_arrays_per_uid;      /* arrays one uid owns; 0: no limit */
    unsigned max_connections_per_uid; /* connections of one uid; 0: no limit */
    uint64_t request_timeout_ms;      /* a half-sent request may wait this long */
    size_t max_queued;                /* reply bytes queued for one client before closing it */
    size_t max_request;               /* bytes of one request frame */
};

/* getopt_long entries of the policy flags, for config.c's option table. */
#define POLICY_OPT_FIRST 1000
#define POLICY_OPTIONS                                                                 \
    { "max-bytes", required_argument, NULL, POLICY_OPT_FIRST + 0 },                     \
    { "max-bytes-per-uid", required_argument, NULL, POLICY_OPT_FIRST + 1 },             \
    { "max-arrays", required_argument, NULL, POLICY_OPT_FIRST + 2 },                    \
    { "max-arrays-per-uid", required_argument, NULL, POLICY_OPT_FIRST + 3 },            \
    { "max-connections-per-uid", required_argument, NULL, POLICY_OPT_FIRST + 4 },       \
    { "request-timeout", required_argument, NULL, POLICY_OPT_FIRST + 5 },               \
    { "max-queued", required_argument, NULL, POLICY_OPT_FIRST + 6 },                    \
    { "max-request", required_argument, NULL, POLICY_OPT_FIRST + 7 }

void policy_defaults(struct policy *p);

/* Apply flag opt (a getopt_long value) with argument arg. Returns 1 when opt is a
 * policy flag and arg is valid, 0 when opt is not a policy flag, or -EINVAL with a
 * message in err. Sizes take a K, M, G or T suffix (powers of 1024). */
int policy_parse(int opt, const char *arg, struct policy *p, char *err, size_t errlen);

/* Print the help lines of the policy flags. */
void policy_usage(FILE *f);

#endif
