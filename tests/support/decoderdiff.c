/* decoderdiff.c — the decoder against the way it decoded before (decoderdiff.h).
 *
 * The reference keeps the bytes as the decoder keeps them (the same -ENOBUFS bound)
 * and takes each frame with scan_object and msgpack_unpack_next into its own zone:
 * the decoder as it was before its one pass, kept here so the two can be compared.
 */
#include "decoderdiff.h"

#include <errno.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <msgpack.h>

#include "decoder.h"
#include "scan.h"

/* The decoder as it was: a buffer, scan_object, then msgpack-c. */
struct decoderdiff_ref {
    uint8_t *buf;
    size_t start, end, max_len;
    unsigned max_depth;
    int err;
    msgpack_unpacked unpacked;
};

static int decoderdiff_ref_feed(struct decoderdiff_ref *d, const uint8_t *bytes, size_t len)
{
    size_t waiting = d->end - d->start;
    uint8_t *grown;

    if (len == 0 || d->err < 0)
        return 0;
    if (len > 2 * d->max_len || waiting > 2 * d->max_len - len)
        return -ENOBUFS;
    if (d->start > 0) {
        memmove(d->buf, d->buf + d->start, waiting);
        d->start = 0;
        d->end = waiting;
    }
    grown = realloc(d->buf, waiting + len);
    if (grown == NULL)
        return -ENOMEM;
    d->buf = grown;
    memcpy(d->buf + d->end, bytes, len);
    d->end += len;
    return 0;
}

static int decoderdiff_ref_next(struct decoderdiff_ref *d, msgpack_object *ret_obj)
{
    size_t frame_len = 0, off = 0;
    msgpack_unpack_return ur;
    int r;

    if (d->err < 0)
        return d->err;
    if (d->end == d->start)
        return 0;
    r = scan_object(d->buf + d->start, d->end - d->start, d->max_len, d->max_depth,
                    &frame_len);
    if (r == 0)
        return 0;
    if (r < 0) {
        d->err = r;
        return r;
    }
    ur = msgpack_unpack_next(&d->unpacked, (const char *)d->buf + d->start, frame_len, &off);
    if (ur != MSGPACK_UNPACK_SUCCESS || off != frame_len) {
        d->err = ur == MSGPACK_UNPACK_NOMEM_ERROR ? -ENOMEM : -EBADMSG;
        return d->err;
    }
    d->start += frame_len;
    *ret_obj = d->unpacked.data;
    return 1;
}

/* Deep equality; floats by their bits (NaN equals NaN), payloads by their bytes. */
static bool decoderdiff_equal(const msgpack_object *a, const msgpack_object *b)
{
    if (a->type != b->type)
        return false;
    switch (a->type) {
    case MSGPACK_OBJECT_NIL:
        return true;
    case MSGPACK_OBJECT_BOOLEAN:
        return a->via.boolean == b->via.boolean;
    case MSGPACK_OBJECT_POSITIVE_INTEGER:
        return a->via.u64 == b->via.u64;
    case MSGPACK_OBJECT_NEGATIVE_INTEGER:
        return a->via.i64 == b->via.i64;
    case MSGPACK_OBJECT_FLOAT32:
    case MSGPACK_OBJECT_FLOAT64:
        return memcmp(&a->via.f64, &b->via.f64, sizeof(a->via.f64)) == 0;
    case MSGPACK_OBJECT_STR:
    case MSGPACK_OBJECT_BIN:
        return a->via.str.size == b->via.str.size &&
               (a->via.str.size == 0 ||
                memcmp(a->via.str.ptr, b->via.str.ptr, a->via.str.size) == 0);
    case MSGPACK_OBJECT_EXT:
        return a->via.ext.type == b->via.ext.type && a->via.ext.size == b->via.ext.size &&
               (a->via.ext.size == 0 ||
                memcmp(a->via.ext.ptr, b->via.ext.ptr, a->via.ext.size) == 0);
    case MSGPACK_OBJECT_ARRAY:
        if (a->via.array.size != b->via.array.size)
            return false;
        for (uint32_t i = 0; i < a->via.array.size; i++) {
            if (!decoderdiff_equal(&a->via.array.ptr[i], &b->via.array.ptr[i]))
                return false;
        }
        return true;
    case MSGPACK_OBJECT_MAP:
        if (a->via.map.size != b->via.map.size)
            return false;
        for (uint32_t i = 0; i < a->via.map.size; i++) {
            if (!decoderdiff_equal(&a->via.map.ptr[i].key, &b->via.map.ptr[i].key) ||
                !decoderdiff_equal(&a->via.map.ptr[i].val, &b->via.map.ptr[i].val))
                return false;
        }
        return true;
    }
    return false;
}

static int decoderdiff_fail(char *why, size_t whylen, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static int decoderdiff_fail(char *why, size_t whylen, const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(why, whylen, fmt, ap);
    va_end(ap);
    return -1;
}

int decoderdiff_check(const uint8_t *buf, size_t len, size_t max_len, unsigned max_depth,
                      const size_t *cuts, size_t ncuts, char *why, size_t whylen)
{
    struct decoderdiff_ref ref = { .max_len = max_len, .max_depth = max_depth };
    struct decoder *d = decoder_new(max_len, max_depth);
    size_t from = 0, pulled = 0;
    int rc = 0;

    if (d == NULL)
        return decoderdiff_fail(why, whylen, "decoder_new(%zu, %u) failed", max_len,
                                max_depth);
    msgpack_unpacked_init(&ref.unpacked);
    for (size_t k = 0; k <= ncuts && rc == 0; k++) {
        size_t to = k < ncuts ? cuts[k] : len;
        int fd, fr;

        if (to < from || to > len)
            continue;
        fd = decoder_feed(d, buf + from, to - from);
        fr = decoderdiff_ref_feed(&ref, buf + from, to - from);
        if (fd != fr) {
            rc = decoderdiff_fail(why, whylen, "feed of [%zu, %zu): decoder %d, reference %d",
                                  from, to, fd, fr);
            break;
        }
        if (fd == 0)
            from = to;
        for (;;) {
            msgpack_object od, or_;
            int nd = decoder_next(d, &od), nr = decoderdiff_ref_next(&ref, &or_);

            if (nd != nr) {
                rc = decoderdiff_fail(why, whylen, "object %zu, after %zu bytes fed: "
                                      "decoder %d, reference %d", pulled, from, nd, nr);
                break;
            }
            if (decoder_pending(d) != ref.end - ref.start) {
                rc = decoderdiff_fail(why, whylen, "object %zu: decoder has %zu bytes "
                                      "pending, reference %zu", pulled, decoder_pending(d),
                                      ref.end - ref.start);
                break;
            }
            if (nd != 1)
                break;
            if (!decoderdiff_equal(&od, &or_)) {
                rc = decoderdiff_fail(why, whylen, "object %zu, after %zu bytes fed: the "
                                      "trees differ", pulled, from);
                break;
            }
            pulled++;
        }
    }
    msgpack_unpacked_destroy(&ref.unpacked);
    free(ref.buf);
    decoder_free(d);
    return rc;
}
