/* scan.c — finds where one msgpack object ends, checking it is safe to unpack.
 *
 * The walk is iterative over a fixed stack of "elements still owed" per open
 * container, so neither deep nesting nor huge counts cost memory. Every length and
 * count is checked against max_len before it is believed: each owed element needs at
 * least one more byte, so a header claiming more than the frame could hold fails at
 * once instead of waiting for bytes that may never come.
 */
#include "scan.h"

#include <errno.h>
#include <stdbool.h>

#define SCAN_DEPTH_LIMIT 32 /* msgpack-c's own unpack stack; deeper fails inside it */

/* What one object header says. */
struct scan_head {
    size_t head;     /* bytes of the header itself (type byte, length, ext type) */
    size_t width;    /* bytes of its big-endian length/count field, 0 if none */
    uint64_t body;   /* payload bytes after the header (str, bin, ext, scalars) */
    bool container;  /* array or map: the field (or fix bits) is an element count */
    bool map;        /* counts pairs: two elements each */
};

/* Classify the type byte b. Returns 0 or -EBADMSG for 0xc1, the one byte msgpack
 * never uses. For fixed-size scalars the whole object is header. */
static int scan_classify(uint8_t b, struct scan_head *h)
{
    *h = (struct scan_head){ .head = 1 };
    if (b <= 0x7f || b >= 0xe0 || b == 0xc0 || b == 0xc2 || b == 0xc3)
        return 0;
    if (b <= 0x8f) {
        h->container = h->map = true;
        h->body = b & 0x0f;
        return 0;
    }
    if (b <= 0x9f) {
        h->container = true;
        h->body = b & 0x0f;
        return 0;
    }
    if (b <= 0xbf) {
        h->body = b & 0x1f;
        return 0;
    }
    switch (b) {
    case 0xc4: case 0xd9: h->width = 1; break;              /* bin8, str8 */
    case 0xc5: case 0xda: h->width = 2; break;              /* bin16, str16 */
    case 0xc6: case 0xdb: h->width = 4; break;              /* bin32, str32 */
    case 0xc7: h->width = 1; h->head = 1; break;            /* ext8 */
    case 0xc8: h->width = 2; h->head = 1; break;            /* ext16 */
    case 0xc9: h->width = 4; h->head = 1; break;            /* ext32 */
    case 0xca: h->body = 4; break;                          /* float32 */
    case 0xcb: h->body = 8; break;                          /* float64 */
    case 0xcc: case 0xd0: h->body = 1; break;               /* uint8, int8 */
    case 0xcd: case 0xd1: h->body = 2; break;
    case 0xce: case 0xd2: h->body = 4; break;
    case 0xcf: case 0xd3: h->body = 8; break;
    case 0xd4: h->head = 2; h->body = 1; break;             /* fixext1 + type byte */
    case 0xd5: h->head = 2; h->body = 2; break;
    case 0xd6: h->head = 2; h->body = 4; break;
    case 0xd7: h->head = 2; h->body = 8; break;
    case 0xd8: h->head = 2; h->body = 16; break;
    case 0xdc: h->width = 2; h->container = true; break;    /* array16 */
    case 0xdd: h->width = 4; h->container = true; break;    /* array32 */
    case 0xde: h->width = 2; h->container = h->map = true; break;
    case 0xdf: h->width = 4; h->container = h->map = true; break;
    default:
        return -EBADMSG; /* 0xc1 */
    }
    h->head += h->width;
    if (b >= 0xc7 && b <= 0xc9)
        h->head += 1; /* the ext type byte after the length */
    return 0;
}

/* Big-endian field of width bytes. */
static uint64_t scan_be(const uint8_t *p, size_t width)
{
    uint64_t v = 0;

    for (size_t i = 0; i < width; i++)
        v = (v << 8) | p[i];
    return v;
}

/* Positive and negative fixint, nil, false, true and fixstr. */
static bool scan_is_short(uint8_t b)
{
    return b <= 0x7f || b >= 0xe0 || (b & 0xe0) == 0xa0 || b == 0xc0 || b == 0xc2 ||
           b == 0xc3;
}

/* One element done: pay it to its container, closing every container that this
 * completes. True when that closes the outermost one (or there was none): the
 * object is whole. */
static bool scan_pay(uint64_t *owed_at, uint64_t *owed, unsigned *depth)
{
    while (*depth > 0) {
        owed_at[*depth - 1]--;
        (*owed)--;
        if (owed_at[*depth - 1] > 0)
            return false;
        (*depth)--;
    }
    return true;
}

int scan_object(const uint8_t *buf, size_t len, size_t max_len, unsigned max_depth,
                size_t *ret_len)
{
    uint64_t owed_at[SCAN_DEPTH_LIMIT]; /* elements still owed by each open container */
    uint64_t owed = 0;                  /* sum of owed_at: each needs >= 1 more byte */
    unsigned depth = 0;
    size_t pos = 0;
    size_t avail;

    if (buf == NULL && len > 0)
        return -EINVAL;
    if (max_depth > SCAN_DEPTH_LIMIT)
        return -EINVAL;
    /* pos, owed and one payload each stay below max_len (checked as they grow), so
     * with this cap their sum cannot wrap. */
    if (max_len > UINT64_MAX / 4)
        max_len = UINT64_MAX / 4;
    avail = len < max_len ? len : max_len;

    for (;;) {
        struct scan_head h;
        uint64_t count, rest, end;
        int r;

        if (pos >= avail)
            return pos >= max_len ? -E2BIG : 0;
        /* Most objects of a reply are fixints, nil, booleans and short strings: a
         * one-byte header, no count. The checks below, without classifying. */
        if (scan_is_short(buf[pos])) {
            end = (uint64_t)pos + 1 + ((buf[pos] & 0xe0) == 0xa0 ? (buf[pos] & 0x1f) : 0);
            if (end + (owed - depth) > max_len)
                return -E2BIG;
            if (end > avail)
                return 0;
            pos = (size_t)end;
            if (scan_pay(owed_at, &owed, &depth)) {
                *ret_len = pos;
                return 1;
            }
            continue;
        }
        r = scan_classify(buf[pos], &h);
        if (r < 0)
            return r;
        if (pos + h.head > max_len)
            return -E2BIG;
        if (pos + h.head > avail)
            return 0;
        if (h.width > 0)
            h.body = scan_be(buf + pos + 1, h.width);

        /* The object's minimal end: its header, its payload or one byte per element,
         * and one byte for every element its parents still owe after it. Each open
         * level has one element in progress (the container below it, or this object
         * at the deepest level), so depth of the owed elements are not "after". */
        count = h.container ? (h.map ? h.body * 2 : h.body) : 0;
        rest = owed - depth;
        if (h.body > max_len)
            return -E2BIG;
        end = (uint64_t)pos + h.head + (h.container ? count : h.body) + rest;
        if (end > max_len)
            return -E2BIG;

        if (h.container && count > 0) {
            if (depth >= max_depth)
                return -ELOOP;
            owed_at[depth++] = count;
            owed += count;
            pos += h.head;
            continue;
        }
        end = (uint64_t)pos + h.head + (h.container ? 0 : h.body);
        if (end > avail)
            return 0;
        pos = (size_t)end;
        if (scan_pay(owed_at, &owed, &depth)) {
            *ret_len = pos;
            return 1;
        }
    }
}
