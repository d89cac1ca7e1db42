/* record.c — the .meta line: format, checksum, and a verification strict enough
 * that a record cut short, padded, edited or bit-flipped is never trusted.
 *
 * A record verifies only if formatting what was parsed gives back the very bytes
 * read: that pins the length, the field order, the spacing and the number forms in
 * one comparison; the CRC-32C then catches a change that still reads as numbers.
 */
#include "record.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "perm.h"

#define RECORD_V1_FMT "sharr-meta 1 %" PRIu32 " %" PRIu32 " %" PRIo32 " %" PRId64 "\n"
/* CRC-32C (Castagnoli, reflected polynomial 0x82F63B78), four bits at a time from a
 * 16-entry table: the portable way, for machines without the instruction below
 * (RECORD_CRC32C_TABLE_ONLY, for its test, takes this way everywhere). */
static uint32_t record_crc32c_table(uint32_t crc, const char *p, size_t len)
{
    static const uint32_t nibble[16] = {
        0x00000000u, 0x105ec76fu, 0x20bd8edeu, 0x30e349b1u, 0x417b1dbcu, 0x5125dad3u,
        0x61c69362u, 0x7198540du, 0x82f63b78u, 0x92a8fc17u, 0xa24bb5a6u, 0xb21572c9u,
        0xc38d26c4u, 0xd3d3e1abu, 0xe330a81au, 0xf36e6f75u,
    };

    for (size_t i = 0; i < len; i++) {
        crc ^= (uint8_t)p[i];
        crc = (crc >> 4) ^ nibble[crc & 0xfu];
        crc = (crc >> 4) ^ nibble[crc & 0xfu];
    }
    return crc;
}

#if defined(__x86_64__) && defined(__GNUC__) && !defined(RECORD_CRC32C_TABLE_ONLY)
/* The same with SSE 4.2's crc32 instruction, eight bytes a step: a persistent create
 * writes a record, and the table's way was a tenth of its instructions. */
__attribute__((target("sse4.2"))) static uint32_t record_crc32c_sse42(uint32_t crc,
                                                                      const char *p,
                                                                      size_t len)
{
    uint64_t c = crc;
    size_t i = 0;

    for (; i + 8 <= len; i += 8) {
        uint64_t v;

        memcpy(&v, p + i, sizeof(v));
        c = __builtin_ia32_crc32di(c, v);
    }
    for (; i < len; i++)
        c = __builtin_ia32_crc32qi((uint32_t)c, (uint8_t)p[i]);
    return (uint32_t)c;
}
#endif

uint32_t record_crc32c(const char *p, size_t len)
{
#if defined(__x86_64__) && defined(__GNUC__) && !defined(RECORD_CRC32C_TABLE_ONLY)
    if (__builtin_cpu_supports("sse4.2"))
        return ~record_crc32c_sse42(0xffffffffu, p, len);
#endif
    return ~record_crc32c_table(0xffffffffu, p, len);
}

/* v in base (8 or 10) with at least width digits, zero-padded, at p; returns the end. */
static char *record_put_uint(char *p, uint64_t v, unsigned base, unsigned width)
{
    char digits[24];
    unsigned n = 0;

    do {
        digits[n++] = (char)('0' + v % base);
        v /= base;
    } while (v > 0);
    while (n < width)
        digits[n++] = '0';
    while (n > 0)
        *p++ = digits[--n];
    return p;
}

/* s, a literal's n bytes, at p; returns the end. */
static char *record_put(char *p, const char *s, size_t n)
{
    memcpy(p, s, n);
    return p + n;
}

#define RECORD_PUT(p, lit) record_put(p, lit, sizeof(lit) - 1)

/* "sharr-meta 2 ino=%llu uid=%u gid=%u perm=%04o ctime=%lld crc32c=%08x\n", by hand:
 * a persistent create, chmod or chown writes one, and snprintf was a tenth of a
 * create's instructions. record_parse trusts a line only if this gives it back. */
size_t record_format(const struct record *r, char out[RECORD_MAX])
{
    static const char hex[] = "0123456789abcdef";
    char *p = out;
    uint32_t crc;

    p = RECORD_PUT(p, "sharr-meta 2 ino=");
    p = record_put_uint(p, r->ino, 10, 1);
    p = RECORD_PUT(p, " uid=");
    p = record_put_uint(p, r->uid, 10, 1);
    p = RECORD_PUT(p, " gid=");
    p = record_put_uint(p, r->gid, 10, 1);
    p = RECORD_PUT(p, " perm=");
    p = record_put_uint(p, r->perm, 8, 4);
    p = RECORD_PUT(p, " ctime=");
    if (r->ctime_ns < 0) {
        *p++ = '-';
        p = record_put_uint(p, 0 - (uint64_t)r->ctime_ns, 10, 1);
    } else {
        p = record_put_uint(p, (uint64_t)r->ctime_ns, 10, 1);
    }
    p = RECORD_PUT(p, " crc32c=");
    crc = record_crc32c(out, (size_t)(p - out));
    for (int i = 0; i < 8; i++)
        *p++ = hex[(crc >> (28 - 4 * i)) & 0xfu];
    *p++ = '\n';
    *p = '\0';
    return (size_t)(p - out);
}

int record_parse(const char *text, size_t len, struct record *ret, char *err, size_t errlen)
{
    char line[RECORD_MAX + 1], again[RECORD_MAX];
    struct record r = { 0 };
    uint32_t crc;

    if (len == 0) {
        snprintf(err, errlen, "it is empty");
        return -EINVAL;
    }
    if (len > RECORD_MAX) {
        snprintf(err, errlen, "it is longer than any record (%zu bytes)", len);
        return -EINVAL;
    }
    if (text[len - 1] != '\n') {
        snprintf(err, errlen, "it is cut short (no end of line)");
        return -EINVAL;
    }
    if (memchr(text, '\0', len) || memchr(text, '\n', len - 1)) {
        snprintf(err, errlen, "it is not one line of text");
        return -EINVAL;
    }
    memcpy(line, text, len);
    line[len] = '\0';
    if (sscanf(line, "sharr-meta 2 ino=%" SCNu64 " uid=%" SCNu32 " gid=%" SCNu32
               " perm=%" SCNo32 " ctime=%" SCNd64 " crc32c=%" SCNx32,
               &r.ino, &r.uid, &r.gid, &r.perm, &r.ctime_ns, &crc) == 6) {
        r.version = 2;
        if (record_format(&r, again) != len || memcmp(again, line, len - 9) != 0) {
            snprintf(err, errlen, "its fields are not in the form sharr writes");
            return -EINVAL;
        }
        if (memcmp(again, line, len) != 0) {
            snprintf(err, errlen, "its checksum does not match (%08" PRIx32 " recorded, "
                     "%.8s computed)", crc, again + len - 9);
            return -EINVAL;
        }
    } else if (sscanf(line, "sharr-meta 1 %" SCNu32 " %" SCNu32 " %" SCNo32 " %" SCNd64,
                      &r.uid, &r.gid, &r.perm, &r.ctime_ns) == 4) {
        r.version = 1;
        if (snprintf(again, sizeof(again), RECORD_V1_FMT, r.uid, r.gid, r.perm, r.ctime_ns)
                != (int)len
            || memcmp(again, line, len) != 0) {
            snprintf(err, errlen, "its fields are not in the form sharr writes");
            return -EINVAL;
        }
    } else {
        snprintf(err, errlen, "it is not a sharr record");
        return -EINVAL;
    }
    if (!perm_valid(r.perm)) {
        snprintf(err, errlen, "its permission bits %#" PRIo32 " exceed 0777", r.perm);
        return -EINVAL;
    }
    *ret = r;
    return 0;
}
