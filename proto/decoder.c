/* decoder.c — the push decoder: a byte buffer in front of msgpack-c.
 *
 * Bytes are appended by decoder_feed; decoder_next lets scan_object find and vet the
 * next whole object, then unpacks exactly those bytes into a zone the decoder owns.
 * Unpacked strings point into the buffer, so consumed bytes are only moved away
 * (compacted) by the next feed, when the previous object is no longer valid. A caller
 * may read a message from the bytes itself instead (decoder_peek, decoder_skip).
 */
#include "decoder.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "scan.h"

#define DECODER_INITIAL_CAP 4096

struct decoder {
    uint8_t *buf;
    size_t cap;          /* allocated bytes of buf */
    size_t start;        /* first byte not yet returned as an object */
    size_t end;          /* one past the last byte fed */
    size_t max_len;
    unsigned max_depth;
    int err;             /* sticky: once negative, every decoder_next returns it */
    msgpack_unpacked unpacked; /* owns the zone of the last object returned */
};

struct decoder *decoder_new(size_t max_len, unsigned max_depth)
{
    struct decoder *d;

    if (max_len == 0)
        return NULL;
    d = calloc(1, sizeof(*d));
    if (d == NULL)
        return NULL;
    d->max_len = max_len;
    d->max_depth = max_depth;
    msgpack_unpacked_init(&d->unpacked);
    return d;
}

void decoder_free(struct decoder *d)
{
    if (d == NULL)
        return;
    msgpack_unpacked_destroy(&d->unpacked);
    free(d->buf);
    free(d);
}

int decoder_feed(struct decoder *d, const void *bytes, size_t len)
{
    size_t waiting, need, cap;
    uint8_t *grown;

    if (len == 0)
        return 0;
    if (d->err < 0)
        return 0; /* the stream is dead; the caller learns it from decoder_next */
    waiting = d->end - d->start;
    if (len > 2 * d->max_len || waiting > 2 * d->max_len - len)
        return -ENOBUFS;

    /* The last object returned is invalidated by this call, so its bytes may go. */
    if (d->start > 0) {
        memmove(d->buf, d->buf + d->start, waiting);
        d->start = 0;
        d->end = waiting;
    }
    need = waiting + len;
    if (need > d->cap) {
        cap = d->cap > 0 ? d->cap : DECODER_INITIAL_CAP;
        while (cap < need)
            cap *= 2;
        grown = realloc(d->buf, cap);
        if (grown == NULL)
            return -ENOMEM;
        d->buf = grown;
        d->cap = cap;
    }
    memcpy(d->buf + d->end, bytes, len);
    d->end += len;
    return 0;
}

int decoder_next(struct decoder *d, msgpack_object *ret_obj)
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
    if (r < 0)
        goto fail;

    ur = msgpack_unpack_next(&d->unpacked, (const char *)d->buf + d->start, frame_len, &off);
    if (ur != MSGPACK_UNPACK_SUCCESS || off != frame_len) {
        r = ur == MSGPACK_UNPACK_NOMEM_ERROR ? -ENOMEM : -EBADMSG;
        goto fail;
    }
    d->start += frame_len;
    *ret_obj = d->unpacked.data;
    return 1;

fail:
    d->err = r;
    return r;
}

void decoder_peek(const struct decoder *d, const uint8_t **ret_buf, size_t *ret_len)
{
    size_t n = d->err < 0 || d->buf == NULL ? 0 : d->end - d->start;

    *ret_buf = n > 0 ? d->buf + d->start : NULL;
    *ret_len = n < d->max_len ? n : d->max_len;
}

void decoder_skip(struct decoder *d, size_t len)
{
    if (len <= d->end - d->start)
        d->start += len;
}

size_t decoder_pending(const struct decoder *d)
{
    return d->end - d->start;
}
