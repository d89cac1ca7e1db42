/* policy.h — the daemon's resource limits as flags: what each peer may make the
 * daemon hold (bytes, arrays, connections, waiting opens, attachments, watches,
 * queued replies, half-sent requests).
 *
 * Only the values, their defaults, parsing and help text; quota.c counts arrays and
 * bytes against them, conn.c, the methods_*.c files and daemon.c apply the rest. 0 means "no
 * limit" where the help says so. uid 0 is exempt from the per-uid limits, never from
 * the totals. The volatile caps may be percentages of the host's memory, resolved by
 * policy_resolve against what memlimit.h reads. The connection defaults are shares of
 * --max-connections (policy_derive), sized so that four uids at their limit hold half
 * of the connections and root keeps some of its own.
 */
#ifndef DAEMON_POLICY_H
#define DAEMON_POLICY_H

#include <getopt.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#define POLICY_MAX_ARRAYS_DEFAULT 100000
#define POLICY_MAX_ARRAYS_PER_UID_DEFAULT 10000
#define POLICY_CONNECTIONS_PER_UID_SHARE 8   /* default per uid: --max-connections / 8 */
#define POLICY_RESERVED_ROOT_SHARE 32        /* default kept for root: --max-connections / 32 */
#define POLICY_DERIVED UINT32_MAX            /* not given: policy_derive computes it */
#define POLICY_MAX_WAITING_OPENS_DEFAULT 1024
#define POLICY_MAX_WAITING_OPENS_PER_UID_DEFAULT 4096
#define POLICY_MAX_ATTACHMENTS_PER_UID_DEFAULT 65536
#define POLICY_MAX_WATCHES_PER_UID_DEFAULT 64
#define POLICY_MAX_QUEUED_TOTAL_DEFAULT (64u * 1024 * 1024)
#define POLICY_REQUEST_TIMEOUT_MS_DEFAULT 30000
#define POLICY_MAX_QUEUED_DEFAULT (16u * 1024 * 1024)
#define POLICY_MAX_QUEUED_MIN (64u * 1024)
#define POLICY_VOLATILE_PERCENT_DEFAULT 50 /* of the memory the daemon may use (memlimit.h) */
#define POLICY_VOLATILE_UID_DIVISOR 4      /* per-uid default: this part of the total cap */

/* A size given as bytes or as a percentage of the memory the daemon may use. */
struct policy_share {
    uint64_t bytes;    /* when percent is 0; 0 means no limit */
    unsigned percent;  /* 1..100, or 0 for bytes */
    bool set;          /* given by a flag; else the default applies */
};

struct policy {
    uint64_t max_bytes;               /* data bytes of all arrays; 0: no limit */
    uint64_t max_bytes_per_uid;       /* data bytes of one uid's arrays; 0: no limit */
    uint64_t max_arrays;              /* arrays alive; 0: no limit */
    uint64_t max_arrays_per_uid;      /* arrays one uid owns; 0: no limit */
    unsigned max_connections_per_uid; /* connections of one uid; 0: no limit */
    unsigned reserved_root_connections; /* of --max-connections, only uid 0 may use */
    uint64_t max_waiting_opens;       /* opens waiting for a name, per connection */
    uint64_t max_waiting_opens_per_uid; /* the same for all of one uid's; 0: no limit */
    uint64_t max_attachments_per_uid; /* attachments one uid's connections hold; 0: none */
    uint64_t max_watches_per_uid;     /* watches one uid's connections hold; 0: none */
    uint64_t request_timeout_ms;      /* a half-sent request may wait this long */
    size_t max_queued;                /* reply bytes queued for one client before closing it */
    size_t max_queued_total;          /* reply bytes queued for all clients: reading pauses */
    size_t max_request;               /* bytes of one request frame */
    struct policy_share volatile_share;     /* --max-volatile-bytes as given */
    struct policy_share volatile_uid_share; /* --max-volatile-bytes-per-uid as given */
    uint64_t max_volatile_bytes;      /* memory of all volatile arrays; 0: no limit (set
                                       * by policy_resolve) */
    uint64_t max_volatile_bytes_per_uid; /* memory of one uid's volatile arrays; 0: none */
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
    { "max-request", required_argument, NULL, POLICY_OPT_FIRST + 7 },                   \
    { "max-volatile-bytes", required_argument, NULL, POLICY_OPT_FIRST + 8 },            \
    { "max-volatile-bytes-per-uid", required_argument, NULL, POLICY_OPT_FIRST + 9 },    \
    { "reserved-root-connections", required_argument, NULL, POLICY_OPT_FIRST + 10 },    \
    { "max-waiting-opens", required_argument, NULL, POLICY_OPT_FIRST + 11 },            \
    { "max-waiting-opens-per-uid", required_argument, NULL, POLICY_OPT_FIRST + 12 },    \
    { "max-attachments-per-uid", required_argument, NULL, POLICY_OPT_FIRST + 13 },      \
    { "max-queued-total", required_argument, NULL, POLICY_OPT_FIRST + 14 },              \
    { "max-watches-per-uid", required_argument, NULL, POLICY_OPT_FIRST + 15 }

void policy_defaults(struct policy *p);

/* Apply flag opt (a getopt_long value) with argument arg. Returns 1 when opt is a
 * policy flag and arg is valid, 0 when opt is not a policy flag, or -EINVAL with a
 * message in err. Sizes take a K, M, G or T suffix (powers of 1024). */
int policy_parse(int opt, const char *arg, struct policy *p, char *err, size_t errlen);

/* Turn the volatile caps as given into bytes, with memory the bytes the daemon may
 * use (memlimit.h's ceiling; 0 when unknown, and then a percentage means no limit).
 * Defaults: POLICY_VOLATILE_PERCENT_DEFAULT percent of memory in all, and a
 * POLICY_VOLATILE_UID_DIVISOR-th of that per uid. Call after every parse. */
void policy_resolve(struct policy *p, uint64_t memory);

/* Resolve the defaults that are shares of max_connections (--max-connections):
 * connections per uid (an eighth, at least 1) and those kept for root (a 32nd), unless
 * given. 0, or -EINVAL with a message in err when the root reserve leaves no
 * connection to the other uids. */
int policy_derive(struct policy *p, unsigned max_connections, char *err, size_t errlen);

/* bytes as a person reads a size ("512 B", "11.7 GiB") into buf; returns buf. For
 * help texts and log lines. */
const char *policy_size(uint64_t bytes, char *buf, size_t len);

/* Print the help lines of the policy flags; memory as for policy_resolve, to show
 * what the defaults come to on this host. */
void policy_usage(FILE *f, uint64_t memory);

#endif
