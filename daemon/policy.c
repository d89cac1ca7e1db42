/* policy.c — parse and describe the resource-limit flags of sharrd.
 *
 * Numbers are decimal, sizes may end in K, M, G or T (powers of 1024), the volatile
 * caps may also be a percentage of the host's memory; every value is range-checked
 * here so the rest of the daemon can use it without checks.
 */
#include "policy.h"

#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "proto_limits.h"

void policy_defaults(struct policy *p)
{
    memset(p, 0, sizeof(*p));
    p->max_arrays = POLICY_MAX_ARRAYS_DEFAULT;
    p->max_arrays_per_uid = POLICY_MAX_ARRAYS_PER_UID_DEFAULT;
    p->max_connections_per_uid = POLICY_DERIVED;
    p->reserved_root_connections = POLICY_DERIVED;
    p->max_waiting_opens = POLICY_MAX_WAITING_OPENS_DEFAULT;
    p->max_waiting_opens_per_uid = POLICY_MAX_WAITING_OPENS_PER_UID_DEFAULT;
    p->max_attachments_per_uid = POLICY_MAX_ATTACHMENTS_PER_UID_DEFAULT;
    p->max_watches_per_uid = POLICY_MAX_WATCHES_PER_UID_DEFAULT;
    p->max_queued_total = POLICY_MAX_QUEUED_TOTAL_DEFAULT;
    p->request_timeout_ms = POLICY_REQUEST_TIMEOUT_MS_DEFAULT;
    p->max_queued = POLICY_MAX_QUEUED_DEFAULT;
    p->max_request = PROTO_REQUEST_MAX;
    p->volatile_share.percent = POLICY_VOLATILE_PERCENT_DEFAULT;
}

/* A decimal number with an optional binary suffix (when sized). 0 or -EINVAL. */
static int policy_number(const char *arg, bool sized, uint64_t *ret)
{
    unsigned long long v;
    unsigned shift = 0;
    char *end;

    if (arg[0] < '0' || arg[0] > '9')
        return -EINVAL;
    errno = 0;
    v = strtoull(arg, &end, 10);
    if (errno)
        return -EINVAL;
    if (sized && *end) {
        const char *units = "KMGT", *u = strchr(units, end[0] & ~0x20);

        if (!u || *u == '\0') /* strchr finds the terminator for ' ' & ~0x20 */
            return -EINVAL;
        shift = 10 * (unsigned)(u - units + 1);
        end++;
        if ((end[0] == 'i' && end[1] == 'B') || end[0] == 'B')
            end += end[0] == 'i' ? 2 : 1;
    }
    if (*end || (shift && v > (UINT64_MAX >> shift)))
        return -EINVAL;
    *ret = (uint64_t)v << shift;
    return 0;
}

/* "N%" (1..100) or a size for a volatile cap. 0 or -EINVAL. */
static int policy_share_parse(const char *arg, struct policy_share *ret)
{
    size_t n = strlen(arg);
    char digits[8];
    uint64_t v;

    if (n > 1 && arg[n - 1] == '%') {
        if (n - 1 >= sizeof(digits))
            return -EINVAL;
        memcpy(digits, arg, n - 1);
        digits[n - 1] = '\0';
        if (policy_number(digits, false, &v) < 0 || v < 1 || v > 100)
            return -EINVAL;
        *ret = (struct policy_share){ .percent = (unsigned)v, .set = true };
        return 0;
    }
    if (policy_number(arg, true, &v) < 0)
        return -EINVAL;
    *ret = (struct policy_share){ .bytes = v, .set = true };
    return 0;
}

/* share's bytes with memory as the whole a percentage is of. */
static uint64_t policy_share_bytes(const struct policy_share *share, uint64_t memory)
{
    if (share->percent == 0)
        return share->bytes;
    if (memory == 0)
        return 0;
    return memory / 100 * share->percent + memory % 100 * share->percent / 100;
}

void policy_resolve(struct policy *p, uint64_t memory)
{
    p->max_volatile_bytes = policy_share_bytes(&p->volatile_share, memory);
    if (p->volatile_uid_share.set)
        p->max_volatile_bytes_per_uid = policy_share_bytes(&p->volatile_uid_share, memory);
    else
        p->max_volatile_bytes_per_uid = p->max_volatile_bytes / POLICY_VOLATILE_UID_DIVISOR;
}

int policy_parse(int opt, const char *arg, struct policy *p, char *err, size_t errlen)
{
    static const struct {
        const char *flag;
        bool sized;
        uint64_t min, max;
        const char *range;
    } spec[] = {
        { "max-bytes", true, 0, UINT64_MAX, "a size, 0 for no limit" },
        { "max-bytes-per-uid", true, 0, UINT64_MAX, "a size, 0 for no limit" },
        { "max-arrays", false, 0, UINT32_MAX, "0..4294967295" },
        { "max-arrays-per-uid", false, 0, UINT32_MAX, "0..4294967295" },
        { "max-connections-per-uid", false, 0, 1000000, "0..1000000" },
        { "request-timeout", false, 1, 86400000, "1..86400000 ms" },
        { "max-queued", true, POLICY_MAX_QUEUED_MIN, 1ull << 32, "64K..4G" },
        { "max-request", true, 1024, PROTO_REQUEST_MAX, "1024..65536 bytes" },
        { "max-volatile-bytes", true, 0, UINT64_MAX, "a size or 1%..100% of memory, 0 "
          "for no limit" },
        { "max-volatile-bytes-per-uid", true, 0, UINT64_MAX, "a size or 1%..100% of memory, "
          "0 for no limit" },
        { "reserved-root-connections", false, 0, 1000000, "0..1000000" },
        { "max-waiting-opens", false, 1, 1000000, "1..1000000" },
        { "max-waiting-opens-per-uid", false, 0, UINT32_MAX, "0..4294967295" },
        { "max-attachments-per-uid", false, 0, UINT32_MAX, "0..4294967295" },
        { "max-queued-total", true, 1ull << 20, 1ull << 40, "1M..1T" },
        { "max-watches-per-uid", false, 0, 1000000, "0..1000000" },
    };
    unsigned i = (unsigned)(opt - POLICY_OPT_FIRST);
    uint64_t v;

    if (opt < POLICY_OPT_FIRST || i >= sizeof(spec) / sizeof(spec[0]))
        return 0;
    if (i == 8 || i == 9) {
        if (policy_share_parse(arg, i == 8 ? &p->volatile_share : &p->volatile_uid_share) < 0) {
            snprintf(err, errlen, "--%s must be %s", spec[i].flag, spec[i].range);
            return -EINVAL;
        }
        return 1;
    }
    if (policy_number(arg, spec[i].sized, &v) < 0 || v < spec[i].min || v > spec[i].max) {
        snprintf(err, errlen, "--%s must be %s", spec[i].flag, spec[i].range);
        return -EINVAL;
    }
    switch (i) {
    case 0: p->max_bytes = v; break;
    case 1: p->max_bytes_per_uid = v; break;
    case 2: p->max_arrays = v; break;
    case 3: p->max_arrays_per_uid = v; break;
    case 4: p->max_connections_per_uid = (unsigned)v; break;
    case 5: p->request_timeout_ms = v; break;
    case 6: p->max_queued = (size_t)v; break;
    case 7: p->max_request = (size_t)v; break;
    case 10: p->reserved_root_connections = (unsigned)v; break;
    case 11: p->max_waiting_opens = v; break;
    case 12: p->max_waiting_opens_per_uid = v; break;
    case 13: p->max_attachments_per_uid = v; break;
    case 15: p->max_watches_per_uid = v; break;
    default: p->max_queued_total = (size_t)v; break;
    }
    return 1;
}

int policy_derive(struct policy *p, unsigned max_connections, char *err, size_t errlen)
{
    if (p->max_connections_per_uid == POLICY_DERIVED) {
        p->max_connections_per_uid = max_connections / POLICY_CONNECTIONS_PER_UID_SHARE;
        if (p->max_connections_per_uid == 0)
            p->max_connections_per_uid = 1;
    }
    if (p->reserved_root_connections == POLICY_DERIVED)
        p->reserved_root_connections = max_connections / POLICY_RESERVED_ROOT_SHARE;
    if (p->reserved_root_connections >= max_connections) {
        snprintf(err, errlen, "--reserved-root-connections (%u) must be below "
                 "--max-connections (%u)", p->reserved_root_connections, max_connections);
        return -EINVAL;
    }
    return 0;
}

const char *policy_size(uint64_t bytes, char *buf, size_t len)
{
    static const char *const units[] = { "B", "KiB", "MiB", "GiB", "TiB", "PiB", "EiB" };
    double v = (double)bytes;
    size_t u = 0;

    while (v >= 1024 && u + 1 < sizeof(units) / sizeof(units[0])) {
        v /= 1024;
        u++;
    }
    snprintf(buf, len, u == 0 ? "%.0f %s" : "%.1f %s", v, units[u]);
    return buf;
}

void policy_usage(FILE *f, uint64_t memory)
{
    struct policy p;
    char all[32], one[32], mem[32];

    policy_defaults(&p);
    policy_resolve(&p, memory);
    fprintf(f,
            "\nLimits (uid 0 is exempt from the per-uid ones; sizes take K, M, G, T):\n"
            "  --max-bytes SIZE       data bytes of all arrays, and what writers grew\n"
            "                         persistent files by; create fails with ENOSPC\n"
            "                         (default 0: no limit but memory and disk)\n"
            "  --max-bytes-per-uid SIZE  the same of the arrays one uid owns; EDQUOT\n"
            "                         (default 0: no limit)\n"
            "  --max-arrays N         arrays alive, unlinked ones still attached, open or\n"
            "                         mapped included; ENOSPC (default %d, 0: no limit)\n"
            "  --max-arrays-per-uid N  arrays one uid owns; EDQUOT (default %d)\n"
            "  --max-connections-per-uid N  connections of one uid; EMFILE (default: an\n"
            "                         eighth of --max-connections, so four uids at their\n"
            "                         limit hold half; 0: no limit)\n"
            "  --reserved-root-connections N  the last N of --max-connections only uid 0\n"
            "                         may take (default: a 32nd of --max-connections)\n"
            "  --request-timeout MS   close a connection whose request stays half-sent\n"
            "                         this long, after an ETIMEDOUT error (default %d)\n"
            "  --max-queued SIZE      close a client that leaves this many reply bytes\n"
            "                         unread (default 16M)\n"
            "  --max-queued-total SIZE  reply bytes left unread by all clients together:\n"
            "                         beyond it, clients with unread replies are not\n"
            "                         read from until they read, and list and holders\n"
            "                         pages hold 16 entries (default 64M)\n"
            "  --max-waiting-opens N  opens of one connection waiting for a name; EAGAIN\n"
            "                         (default %d)\n"
            "  --max-waiting-opens-per-uid N  the same for all connections of one uid;\n"
            "                         EAGAIN (default %d, 0: no limit)\n"
            "  --max-attachments-per-uid N  arrays held open by all connections of one\n"
            "                         uid; EMFILE (default %d, 0: no limit)\n"
            "  --max-watches-per-uid N  watches (sharr watch) of all connections of one\n"
            "                         uid; EMFILE (default %d, 0: no limit)\n"
            "  --max-request SIZE     bytes of one request; a longer one gets E2BIG and\n"
            "                         the connection is closed (default and most 64K)\n",
            POLICY_MAX_ARRAYS_DEFAULT, POLICY_MAX_ARRAYS_PER_UID_DEFAULT,
            POLICY_REQUEST_TIMEOUT_MS_DEFAULT, POLICY_MAX_WAITING_OPENS_DEFAULT,
            POLICY_MAX_WAITING_OPENS_PER_UID_DEFAULT, POLICY_MAX_ATTACHMENTS_PER_UID_DEFAULT,
            POLICY_MAX_WATCHES_PER_UID_DEFAULT);
    fprintf(f,
            "  --max-volatile-bytes SIZE|N%%  memory of all volatile arrays (their pages and\n"
            "                         headers); N%% is of memory: MemTotal, or the memory\n"
            "                         limit of sharrd's cgroup when lower; ENOSPC\n"
            "                         (default %d%%, here %s of %s; 0: no limit)\n"
            "  --max-volatile-bytes-per-uid SIZE|N%%  the same for the volatile arrays one\n"
            "                         uid owns; EDQUOT (default a quarter of\n"
            "                         --max-volatile-bytes, here %s; 0: no limit)\n",
            POLICY_VOLATILE_PERCENT_DEFAULT, policy_size(p.max_volatile_bytes, all, sizeof(all)),
            memory ? policy_size(memory, mem, sizeof(mem)) : "an unknown size",
            policy_size(p.max_volatile_bytes_per_uid, one, sizeof(one)));
}
