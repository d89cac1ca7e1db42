/* openframe.c — the open request parsed from its bytes (openframe.h). It takes the
 * encodings msgpack-c unpacks to the same objects the general path checks (fixed and
 * sized integers, fixstr and str8, fixarray, fixmap), the five keys of open, each at
 * most once, in any order, with values that path accepts; it declines every other
 * frame rather than judge it, so it has no error messages of its own. No I/O.
 */
#include "openframe.h"

#include <string.h>

#include "name.h"

/* A reader over the frame: p moves forward; false once past end. */
struct openframe_rd {
    const uint8_t *p, *end;
};

static bool openframe_take(struct openframe_rd *r, size_t n, const uint8_t **ret)
{
    if ((size_t)(r->end - r->p) < n)
        return false;
    *ret = r->p;
    r->p += n;
    return true;
}

static uint64_t openframe_be(const uint8_t *b, size_t n)
{
    uint64_t v = 0;

    for (size_t i = 0; i < n; i++)
        v = v << 8 | b[i];
    return v;
}

/* An integer in any msgpack encoding, as msgpack-c reads it: *neg when negative. */
static bool openframe_int(struct openframe_rd *r, bool *neg, uint64_t *u, int64_t *i)
{
    const uint8_t *b;
    uint8_t t;
    size_t n;

    if (!openframe_take(r, 1, &b))
        return false;
    t = b[0];
    if (t <= 0x7f) {
        *neg = false;
        *u = t;
        return true;
    }
    if (t >= 0xe0) {
        *neg = true;
        *i = (int8_t)t;
        return true;
    }
    if (t >= 0xcc && t <= 0xcf) {
        n = (size_t)1 << (t - 0xcc);
        if (!openframe_take(r, n, &b))
            return false;
        *neg = false;
        *u = openframe_be(b, n);
        return true;
    }
    if (t >= 0xd0 && t <= 0xd3) {
        uint64_t raw;

        n = (size_t)1 << (t - 0xd0);
        if (!openframe_take(r, n, &b))
            return false;
        raw = openframe_be(b, n);
        /* sign-extend from n bytes */
        if (n < 8 && (raw >> (8 * n - 1)) & 1)
            raw |= ~(uint64_t)0 << (8 * n);
        *i = (int64_t)raw;
        *neg = *i < 0;
        *u = (uint64_t)*i;
        return true;
    }
    return false;
}

/* A string, fixstr or str8: its bytes and length. */
static bool openframe_str(struct openframe_rd *r, const uint8_t **s, size_t *n)
{
    const uint8_t *b;

    if (!openframe_take(r, 1, &b))
        return false;
    if ((b[0] & 0xe0) == 0xa0) {
        *n = b[0] & 0x1f;
    } else if (b[0] == 0xd9) {
        if (!openframe_take(r, 1, &b))
            return false;
        *n = b[0];
    } else {
        return false;
    }
    return openframe_take(r, *n, s);
}

static bool openframe_key_is(const uint8_t *k, size_t n, const char *want)
{
    return n == strlen(want) && memcmp(k, want, n) == 0;
}

int openframe_parse(const uint8_t *buf, size_t len, size_t max_len, uint32_t *ret_msgid,
                    struct codec_open *ret, size_t *ret_len)
{
    static const uint8_t head[] = { 0x94, 0x00 };
    static const uint8_t method[] = { 0xa4, 'o', 'p', 'e', 'n', 0x91 };
    struct openframe_rd r = { buf, buf + (len < max_len ? len : max_len) };
    struct codec_open p = { .mode = META_MODE_RPLUS };
    const uint8_t *b, *s;
    bool neg, seen_name = false, seen_mode = false, seen_wait = false, seen_owner = false,
              seen_pub = false;
    uint64_t u = 0, msgid;
    int64_t i = 0;
    unsigned nkeys;
    size_t n;

    if (!openframe_take(&r, sizeof(head), &b) || memcmp(b, head, sizeof(head)) != 0 ||
        !openframe_int(&r, &neg, &msgid, &i) || neg || msgid > UINT32_MAX ||
        !openframe_take(&r, sizeof(method), &b) || memcmp(b, method, sizeof(method)) != 0 ||
        !openframe_take(&r, 1, &b) || (b[0] & 0xf0) != 0x80)
        return 0;
    nkeys = b[0] & 0x0f;
    for (unsigned k = 0; k < nkeys; k++) {
        if (!openframe_str(&r, &s, &n))
            return 0;
        if (openframe_key_is(s, n, "name") && !seen_name) {
            seen_name = true;
            if (!openframe_str(&r, &s, &n) || name_check((const char *)s, n) < 0)
                return 0;
            memcpy(p.name, s, n);
            p.name[n] = '\0';
        } else if (openframe_key_is(s, n, "mode") && !seen_mode) {
            char mode[4];

            seen_mode = true;
            if (!openframe_str(&r, &s, &n) || n >= sizeof(mode) || memchr(s, '\0', n))
                return 0;
            memcpy(mode, s, n);
            mode[n] = '\0';
            if (meta_mode_parse(mode, &p.mode) < 0)
                return 0;
        } else if (openframe_key_is(s, n, "wait_ms") && !seen_wait) {
            seen_wait = true;
            if (!openframe_int(&r, &neg, &u, &i) || (neg ? i < -1 : u > INT64_MAX))
                return 0;
            p.wait_ms = neg ? i : (int64_t)u;
        } else if (openframe_key_is(s, n, "owner") && !seen_owner) {
            seen_owner = true;
            if (!openframe_int(&r, &neg, &u, &i) || neg || u > UINT32_MAX - 1)
                return 0;
            p.has_owner = true;
            p.owner = (uint32_t)u;
        } else if (openframe_key_is(s, n, "published") && !seen_pub) {
            seen_pub = true;
            if (!openframe_take(&r, 1, &b) || (b[0] != 0xc2 && b[0] != 0xc3))
                return 0;
            p.published = b[0] == 0xc3;
        } else {
            return 0; /* a repeat or another key: the general path's */
        }
    }
    if (!seen_name)
        return 0;
    *ret_msgid = (uint32_t)msgid;
    *ret = p;
    *ret_len = (size_t)(r.p - buf);
    return 1;
}
