/* mpread.c — reads msgpack values from bytes one header at a time (mpread.h).
 *
 * Every read first checks that the bytes it needs are there; a value is stepped over
 * by scan_object, the decoder's own check, so what is skipped is held to the same
 * depth and byte rules as a frame the decoder takes.
 */
#include "mpread.h"

#include <errno.h>
#include <string.h>

#include "scan.h"

void mpread_init(struct mpread *r, const void *buf, size_t len, unsigned max_depth)
{
    r->p = buf;
    r->end = r->p + len;
    r->max_depth = max_depth;
}

/* The big-endian unsigned integer of width (1, 2, 4 or 8) bytes at p. */
static inline uint64_t mpread_be(const uint8_t *p, unsigned width)
{
    uint16_t u16;
    uint32_t u32;
    uint64_t u64;

    switch (width) {
    case 1:
        return p[0];
    case 2:
        memcpy(&u16, p, 2);
        return __builtin_bswap16(u16);
    case 4:
        memcpy(&u32, p, 4);
        return __builtin_bswap32(u32);
    default:
        memcpy(&u64, p, 8);
        return __builtin_bswap64(u64);
    }
}

/* The width of the length field of the str, bin, ext, array or map type byte b, and
 * what it is; 0 when b is none of those with a length field. */
static unsigned mpread_width(uint8_t b, msgpack_object_type *type)
{
    switch (b) {
    case 0xd9: *type = MSGPACK_OBJECT_STR; return 1;
    case 0xda: *type = MSGPACK_OBJECT_STR; return 2;
    case 0xdb: *type = MSGPACK_OBJECT_STR; return 4;
    case 0xc4: *type = MSGPACK_OBJECT_BIN; return 1;
    case 0xc5: *type = MSGPACK_OBJECT_BIN; return 2;
    case 0xc6: *type = MSGPACK_OBJECT_BIN; return 4;
    case 0xc7: *type = MSGPACK_OBJECT_EXT; return 1;
    case 0xc8: *type = MSGPACK_OBJECT_EXT; return 2;
    case 0xc9: *type = MSGPACK_OBJECT_EXT; return 4;
    case 0xdc: *type = MSGPACK_OBJECT_ARRAY; return 2;
    case 0xdd: *type = MSGPACK_OBJECT_ARRAY; return 4;
    case 0xde: *type = MSGPACK_OBJECT_MAP; return 2;
    case 0xdf: *type = MSGPACK_OBJECT_MAP; return 4;
    default: return 0;
    }
}

/* An integer of a signed type: negative ones are NEGATIVE_INTEGER, as msgpack-c has it. */
static inline void mpread_int(msgpack_object *o, int64_t v)
{
    if (v < 0) {
        o->type = MSGPACK_OBJECT_NEGATIVE_INTEGER;
        o->via.i64 = v;
    } else {
        o->type = MSGPACK_OBJECT_POSITIVE_INTEGER;
        o->via.u64 = (uint64_t)v;
    }
}

/* The signed integer of width bytes whose bits are v. */
static inline int64_t mpread_signed(uint64_t v, unsigned width)
{
    switch (width) {
    case 1: return (int8_t)v;
    case 2: return (int16_t)v;
    case 4: return (int32_t)v;
    default: return (int64_t)v;
    }
}

int mpread_next(struct mpread *r, unsigned depth, msgpack_object *ret)
{
    const uint8_t *p = r->p;
    size_t avail = (size_t)(r->end - p);
    msgpack_object o;
    uint64_t len;
    unsigned width;
    uint8_t b;

    if (avail == 0)
        return -EAGAIN;
    b = *p++;
    avail--;
    switch (b) {
    case 0xcc: case 0xcd: case 0xce: case 0xcf: /* uint 8..64 */
        width = 1u << (b - 0xcc);
        if (avail < width)
            return -EAGAIN;
        o.type = MSGPACK_OBJECT_POSITIVE_INTEGER;
        o.via.u64 = mpread_be(p, width);
        r->p = p + width;
        *ret = o;
        return 0;
    case 0xd0: case 0xd1: case 0xd2: case 0xd3: /* int 8..64 */
        width = 1u << (b - 0xd0);
        if (avail < width)
            return -EAGAIN;
        mpread_int(&o, mpread_signed(mpread_be(p, width), width));
        r->p = p + width;
        *ret = o;
        return 0;
    case 0xca: case 0xcb: /* float 32, 64 */
        width = b == 0xca ? 4 : 8;
        if (avail < width)
            return -EAGAIN;
        len = mpread_be(p, width);
        if (width == 4) {
            uint32_t bits = (uint32_t)len;
            float f;

            memcpy(&f, &bits, sizeof(f));
            o.type = MSGPACK_OBJECT_FLOAT32;
            o.via.f64 = f;
        } else {
            o.type = MSGPACK_OBJECT_FLOAT64;
            memcpy(&o.via.f64, &len, sizeof(len));
        }
        r->p = p + width;
        *ret = o;
        return 0;
    case 0xd4: case 0xd5: case 0xd6: case 0xd7: case 0xd8: /* fixext: type, payload */
        len = 1u << (b - 0xd4);
        if (avail < 1 + len)
            return -EAGAIN;
        o.type = MSGPACK_OBJECT_EXT;
        o.via.ext.type = (int8_t)p[0];
        o.via.ext.size = (uint32_t)len;
        o.via.ext.ptr = (const char *)p + 1;
        r->p = p + 1 + len;
        *ret = o;
        return 0;
    case 0xc1:
        return -EBADMSG;
    case 0xc0:
        o.type = MSGPACK_OBJECT_NIL;
        r->p = p;
        *ret = o;
        return 0;
    case 0xc2: case 0xc3:
        o.type = MSGPACK_OBJECT_BOOLEAN;
        o.via.boolean = b == 0xc3;
        r->p = p;
        *ret = o;
        return 0;
    default:
        break;
    }
    if (b <= 0x7f || b >= 0xe0) { /* fixints */
        mpread_int(&o, (int8_t)b);
        r->p = p;
        *ret = o;
        return 0;
    }
    if (b <= 0x9f) { /* fixmap, fixarray */
        o.type = b <= 0x8f ? MSGPACK_OBJECT_MAP : MSGPACK_OBJECT_ARRAY;
        len = b & 0x0f;
        goto container;
    }
    if (b <= 0xbf) { /* fixstr */
        o.type = MSGPACK_OBJECT_STR;
        len = b & 0x1f;
        goto body;
    }
    width = mpread_width(b, &o.type); /* what is left has a length field */
    if (avail < width)
        return -EAGAIN;
    len = mpread_be(p, width);
    p += width;
    avail -= width;
    if (o.type == MSGPACK_OBJECT_ARRAY || o.type == MSGPACK_OBJECT_MAP)
        goto container;
    if (o.type == MSGPACK_OBJECT_EXT) {
        if (avail < 1)
            return -EAGAIN;
        o.via.ext.type = (int8_t)*p++;
        avail--;
    }

body: /* str, bin and ext: len bytes of payload at p */
    if (len > avail)
        return -EAGAIN;
    if (o.type == MSGPACK_OBJECT_EXT) {
        o.via.ext.size = (uint32_t)len;
        o.via.ext.ptr = (const char *)p;
    } else {
        /* str and bin share their layout in msgpack_object. */
        o.via.str.size = (uint32_t)len;
        o.via.str.ptr = (const char *)p;
    }
    r->p = p + len;
    *ret = o;
    return 0;

container:
    if (len > 0 && depth >= r->max_depth)
        return -ELOOP;
    if (o.type == MSGPACK_OBJECT_MAP) {
        o.via.map.size = (uint32_t)len;
        o.via.map.ptr = NULL;
    } else {
        o.via.array.size = (uint32_t)len;
        o.via.array.ptr = NULL;
    }
    r->p = p;
    *ret = o;
    return 0;
}

int mpread_skip(struct mpread *r, unsigned depth)
{
    size_t avail = (size_t)(r->end - r->p);
    size_t len = 0;
    int rc;

    if (depth > r->max_depth)
        return -ELOOP;
    rc = scan_object(r->p, avail, avail, r->max_depth - depth, &len);
    if (rc == 0 || rc == -E2BIG)
        return -EAGAIN; /* as scan_object says it: the bytes end inside the value */
    if (rc < 0)
        return rc;
    r->p += len;
    return 0;
}

int mpread_object(struct mpread *r, unsigned depth, msgpack_object *ret,
                  msgpack_object *elems, uint32_t nelems)
{
    const uint8_t *start = r->p;
    msgpack_object o;
    int rc = mpread_next(r, depth, &o);

    if (rc < 0)
        return rc;
    if (o.type == MSGPACK_OBJECT_ARRAY && o.via.array.size > 0 && o.via.array.size <= nelems) {
        for (uint32_t i = 0; i < o.via.array.size; i++) {
            rc = mpread_object(r, depth + 1, &elems[i], NULL, 0);
            if (rc < 0) {
                r->p = start;
                return rc;
            }
        }
        o.via.array.ptr = elems;
    } else if ((o.type == MSGPACK_OBJECT_ARRAY && o.via.array.size > 0) ||
               (o.type == MSGPACK_OBJECT_MAP && o.via.map.size > 0)) {
        r->p = start;
        if ((rc = mpread_skip(r, depth)) < 0)
            return rc;
    }
    *ret = o;
    return 0;
}
