/* pack.h — msgpack written straight into bytes the caller has reserved.
 *
 * msgpack-c's packer calls its write callback, and so memcpy, once per header and
 * value: for a list reply of a thousand arrays that was most of the daemon's work.
 * These write the same forms (the shortest encoding of each value) with plain stores
 * and return the byte after the last one written. No bounds checks: the caller
 * reserves room for the largest encoding first (PACK_*_MAX). No I/O, no allocation.
 */
#ifndef PROTO_PACK_H
#define PROTO_PACK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#define PACK_UINT_MAX 9           /* bytes of the largest integer */
#define PACK_HEAD_MAX 5           /* bytes of the largest str, array or map header */

static inline char *pack_be(char *p, uint64_t v, unsigned bytes)
{
    for (unsigned i = bytes; i > 0; i--) {
        p[i - 1] = (char)(v & 0xff);
        v >>= 8;
    }
    return p + bytes;
}

/* A header of the family whose short form is fix (0xa0 str, 0x90 array, 0x80 map) with
 * room for fixmax items, then 16 and 32 bits at code16 and code16 + 1 (str: 0xd9 first
 * takes 8 bits). */
static inline char *pack_head(char *p, uint32_t n, uint8_t fix, uint32_t fixmax,
                              uint8_t code8, uint8_t code16)
{
    if (n <= fixmax) {
        *p++ = (char)(fix | n);
        return p;
    }
    if (code8 != 0 && n <= 0xff) {
        *p++ = (char)code8;
        return pack_be(p, n, 1);
    }
    if (n <= 0xffff) {
        *p++ = (char)code16;
        return pack_be(p, n, 2);
    }
    *p++ = (char)(code16 + 1);
    return pack_be(p, n, 4);
}

static inline char *pack_str(char *p, const char *s, size_t n)
{
    p = pack_head(p, (uint32_t)n, 0xa0, 31, 0xd9, 0xda);
    memcpy(p, s, n);
    return p + n;
}

static inline char *pack_array(char *p, uint32_t n)
{
    return pack_head(p, n, 0x90, 15, 0, 0xdc);
}

static inline char *pack_map(char *p, uint32_t n)
{
    return pack_head(p, n, 0x80, 15, 0, 0xde);
}

static inline char *pack_uint(char *p, uint64_t v)
{
    if (v < 0x80) {
        *p++ = (char)v;
        return p;
    }
    if (v <= 0xff) {
        *p++ = (char)0xcc;
        return pack_be(p, v, 1);
    }
    if (v <= 0xffff) {
        *p++ = (char)0xcd;
        return pack_be(p, v, 2);
    }
    if (v <= 0xffffffff) {
        *p++ = (char)0xce;
        return pack_be(p, v, 4);
    }
    *p++ = (char)0xcf;
    return pack_be(p, v, 8);
}

static inline char *pack_int(char *p, int64_t v)
{
    if (v >= 0)
        return pack_uint(p, (uint64_t)v);
    if (v >= -32) {
        *p++ = (char)(uint8_t)v; /* negative fixint: 0xe0..0xff */
        return p;
    }
    if (v >= INT8_MIN) {
        *p++ = (char)0xd0;
        return pack_be(p, (uint64_t)v, 1);
    }
    if (v >= INT16_MIN) {
        *p++ = (char)0xd1;
        return pack_be(p, (uint64_t)v, 2);
    }
    if (v >= INT32_MIN) {
        *p++ = (char)0xd2;
        return pack_be(p, (uint64_t)v, 4);
    }
    *p++ = (char)0xd3;
    return pack_be(p, (uint64_t)v, 8);
}

static inline char *pack_bool(char *p, bool v)
{
    *p++ = (char)(v ? 0xc3 : 0xc2);
    return p;
}

static inline char *pack_nil(char *p)
{
    *p++ = (char)0xc0;
    return p;
}

#endif
