/* mpread.h — a bounded cursor over msgpack bytes: one value's header at a time, read
 * into a msgpack_object that points into the bytes, with no unpacker and no zone.
 *
 * It never reads past its end and believes no length or count before the bytes for it
 * are there. It reads values, not frames: codec_frame.c reads a reply with it, and
 * where the bytes are cut short or break a limit it says so and reads no further.
 */
#ifndef PROTO_MPREAD_H
#define PROTO_MPREAD_H

#include <errno.h>
#include <stddef.h>
#include <stdint.h>

#include <msgpack.h>

struct mpread {
    const uint8_t *p;    /* the next byte to read */
    const uint8_t *end;  /* one past the last byte it may read */
    unsigned max_depth;  /* scan_object's: non-empty containers nested at most */
};

/* A cursor over buf[0..len); containers nest at most max_depth deep (<= 32), counted as
 * scan_object counts them. */
void mpread_init(struct mpread *r, const void *buf, size_t len, unsigned max_depth);

/* Read the header of the next value, which depth non-empty containers hold. A scalar,
 * str, bin or ext is read whole, as msgpack-c unpacks it (an int of a signed type that
 * is not negative is a POSITIVE_INTEGER; a str's ptr points into the bytes). Of an
 * array or map only its header is read: *ret has its type and size and a NULL ptr, and
 * its elements (two per entry of a map) come next. Returns 0 and advances; -EAGAIN
 * when the bytes end inside the value; -EBADMSG at 0xc1; -ELOOP for a non-empty
 * container at depth max_depth. Nothing is advanced on failure. */
int mpread_next(struct mpread *r, unsigned depth, msgpack_object *ret);

/* mpread_next with the values nearly every reply is made of read inline: fixints,
 * short strs, nil and booleans (a header of one byte, no length field). */
static inline int mpread_next_inline(struct mpread *r, unsigned depth, msgpack_object *ret)
{
    const uint8_t *p = r->p;
    uint8_t b;

    if (p == r->end)
        return -EAGAIN;
    b = *p;
    if (b <= 0x7f) {
        ret->type = MSGPACK_OBJECT_POSITIVE_INTEGER;
        ret->via.u64 = b;
    } else if ((b & 0xe0) == 0xa0) {
        uint32_t n = b & 0x1fu;

        if ((size_t)(r->end - p) - 1 < n)
            return -EAGAIN;
        ret->type = MSGPACK_OBJECT_STR;
        ret->via.str.size = n;
        ret->via.str.ptr = (const char *)p + 1;
        r->p = p + 1 + n;
        return 0;
    } else if (b == 0xc2 || b == 0xc3) {
        ret->type = MSGPACK_OBJECT_BOOLEAN;
        ret->via.boolean = b == 0xc3;
    } else if (b == 0xc0) {
        ret->type = MSGPACK_OBJECT_NIL;
    } else {
        return mpread_next(r, depth, ret);
    }
    r->p = p + 1;
    return 0;
}

/* Step over the next value whole, which depth non-empty containers hold: 0, or
 * mpread_next's errors. */
int mpread_skip(struct mpread *r, unsigned depth);

/* Read the next value, which depth non-empty containers hold, as far as a check of its
 * type, size and scalar elements needs: as mpread_next, and an array of at most nelems
 * elements gets them read (each so) into elems, which its ptr then points to. Of any
 * other container only the type and size are kept (ptr NULL), its contents stepped
 * over. 0, or mpread_next's errors. */
int mpread_object(struct mpread *r, unsigned depth, msgpack_object *ret,
                  msgpack_object *elems, uint32_t nelems);

/* mpread_object with a value of one byte's header read inline (mpread_next_inline). */
static inline int mpread_object_inline(struct mpread *r, unsigned depth, msgpack_object *ret,
                                       msgpack_object *elems, uint32_t nelems)
{
    uint8_t b;

    if (r->p != r->end && ((b = *r->p) <= 0x7f || (b & 0xe0) == 0xa0 || b == 0xc0 ||
                           b == 0xc2 || b == 0xc3))
        return mpread_next_inline(r, depth, ret);
    return mpread_object(r, depth, ret, elems, nelems);
}

#endif
