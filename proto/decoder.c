/* decoder.c — the push decoder: a byte buffer read into msgpack objects.
 *
 * Bytes are appended by decoder_feed; decoder_next reads the next whole object in one
 * pass with mpread into an arena of objects the decoder owns and reuses. Any frame
 * that pass does not take whole (cut short, over a limit, or needing more objects than
 * the arena may hold) goes the old way: scan_object finds and vets it, and msgpack-c
 * unpacks exactly those bytes into a zone, so both ways give the same answer for every
 * input. Strings point into the buffer, so consumed bytes are only moved away
 * (compacted) by the next feed, when the previous object is no longer valid. A caller
 * may read a message from the bytes itself instead (decoder_peek, decoder_skip).
 */
#include "decoder.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "mpread.h"
#include "scan.h"

#define DECODER_INITIAL_CAP 4096
/* The arena's objects: first allocated, and at most (a frame needing more is unpacked
 * by msgpack-c; requests and replies need a few dozen). */
#define DECODER_ARENA_INITIAL 256
#define DECODER_ARENA_MAX 4096
/* scan_object's nesting limit, which the one pass keeps on its own stack. */
#define DECODER_DEPTH_MAX 32

struct decoder {
    uint8_t *buf;
    size_t cap;          /* allocated bytes of buf */
    size_t start;        /* first byte not yet returned as an object */
    size_t end;          /* one past the last byte fed */
    size_t max_len;
    unsigned max_depth;
    int err;             /* sticky: once negative, every decoder_next returns it */
    msgpack_object *arena; /* the elements of the last object the one pass read */
    size_t arena_cap;    /* objects allocated in arena */
    msgpack_unpacked unpacked; /* owns the zone of the last object msgpack-c unpacked */
};

/* A non-empty container the one pass is filling: where its next element goes and how
 * many are still to come. A map's entries are read as their objects in order (key,
 * value, key...), which is how msgpack_object_kv lays them out. */
struct decoder_open {
    msgpack_object *next;
    uint32_t left;
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
    free(d->arena);
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

_Static_assert(sizeof(msgpack_object_kv) == 2 * sizeof(msgpack_object),
               "a map's entries take two objects of the arena each");

/* Read the object at buf[0..len) in one pass, its elements into the arena. 1 with
 * *ret_obj and *ret_len; 0 when this pass does not take it (cut short, a limit broken,
 * 0xc1: scan_object says which) or -ENOSPC when the arena is too small for it; the
 * arena and *ret_obj may be written either way. Every count is believed only when
 * there are bytes for its elements, one each at least, so the arena is never asked
 * for more objects than bytes have come. */
static int decoder_read(struct decoder *d, const uint8_t *buf, size_t len,
                        msgpack_object *ret_obj, size_t *ret_len)
{
    struct decoder_open open[DECODER_DEPTH_MAX];
    unsigned depth = 0;
    size_t used = 0;
    msgpack_object *slot = ret_obj;
    struct mpread r;

    mpread_init(&r, buf, len, d->max_depth);
    for (;;) {
        uint32_t count;

        if (mpread_next_inline(&r, depth, slot) < 0)
            return 0;
        if ((slot->type == MSGPACK_OBJECT_ARRAY || slot->type == MSGPACK_OBJECT_MAP) &&
            slot->via.array.size > 0) {
            /* array and map share the layout of their size; mpread_next said ELOOP
             * for a non-empty container at depth max_depth, so depth < max_depth. */
            count = slot->via.array.size;
            if (slot->type == MSGPACK_OBJECT_MAP) {
                if (count > UINT32_MAX / 2)
                    return 0;
                count *= 2;
            }
            if (count > (size_t)(r.end - r.p))
                return 0;
            if (count > d->arena_cap - used)
                return -ENOSPC;
            if (slot->type == MSGPACK_OBJECT_ARRAY)
                slot->via.array.ptr = d->arena + used;
            else
                slot->via.map.ptr = (msgpack_object_kv *)(void *)(d->arena + used);
            slot = d->arena + used;
            used += count;
            open[depth++] = (struct decoder_open){ .next = slot + 1, .left = count - 1 };
            continue;
        }
        /* A whole element: close every container it completes. */
        while (depth > 0 && open[depth - 1].left == 0)
            depth--;
        if (depth == 0) {
            *ret_len = (size_t)(r.p - buf);
            return 1;
        }
        open[depth - 1].left--;
        slot = open[depth - 1].next++;
    }
}

/* Grow the arena for a frame that did not fit: 0, -ENOSPC when it may grow no more,
 * or -ENOMEM. */
static int decoder_arena_grow(struct decoder *d)
{
    size_t cap = d->arena_cap > 0 ? d->arena_cap * 2 : DECODER_ARENA_INITIAL;
    msgpack_object *grown;

    if (d->arena_cap >= DECODER_ARENA_MAX)
        return -ENOSPC;
    if (cap > DECODER_ARENA_MAX)
        cap = DECODER_ARENA_MAX;
    grown = realloc(d->arena, cap * sizeof(*grown));
    if (grown == NULL)
        return -ENOMEM;
    d->arena = grown;
    d->arena_cap = cap;
    return 0;
}

/* The last frame's objects are let go at the next decoder_next: an arena a large frame
 * grew goes back to its first size then, so one large frame holds no memory after it. */
static void decoder_arena_trim(struct decoder *d)
{
    msgpack_object *trimmed = realloc(d->arena, DECODER_ARENA_INITIAL * sizeof(*trimmed));

    if (trimmed != NULL) {
        d->arena = trimmed;
        d->arena_cap = DECODER_ARENA_INITIAL;
    }
}

int decoder_next(struct decoder *d, msgpack_object *ret_obj)
{
    size_t frame_len = 0, off = 0, avail;
    msgpack_unpack_return ur;
    msgpack_object root;
    int r;

    if (d->err < 0)
        return d->err;
    if (d->end == d->start)
        return 0;

    /* The one pass, over no more bytes than a frame may have. A frame it does not
     * take goes to scan_object and msgpack-c, which answer for it as they always did. */
    if (d->arena_cap > DECODER_ARENA_INITIAL)
        decoder_arena_trim(d);
    avail = d->end - d->start;
    if (avail > d->max_len)
        avail = d->max_len;
    if (d->max_depth <= DECODER_DEPTH_MAX) {
        for (;;) {
            r = decoder_read(d, d->buf + d->start, avail, &root, &frame_len);
            if (r == 1) {
                d->start += frame_len;
                *ret_obj = root;
                return 1;
            }
            if (r == 0 || decoder_arena_grow(d) < 0)
                break;
        }
    }

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
