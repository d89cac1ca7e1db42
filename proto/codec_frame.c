/* codec_frame.c — the replies that carry one array record (attach, create, stat) read
 * straight from their bytes, for codec_parse_msg and their parsers in codec_meta.c.
 *
 * One pass with mpread over the frame keeps, in a struct codec_frame, just the objects
 * those parsers look at, as msgpack-c would have unpacked them; they then check it as
 * they check any message. So there is one parser of these replies, and what this file
 * leaves out (keys they ignore) is only stepped over. No allocation, no scan pass.
 */
#include "codec.h"

#include <errno.h>

#include "codec_fields.h"
#include "mpread.h"

enum { CODEC_FRAME_ARRAY, CODEC_FRAME_HANDLE, CODEC_FRAME_FD };

/* The place of a result key the reply parsers look at, or -1. */
static int codec_frame_result_key(const char *s, uint32_t n)
{
    if (n == 5 && memcmp(s, "array", 5) == 0)
        return CODEC_FRAME_ARRAY;
    if (n == 6 && memcmp(s, "handle", 6) == 0)
        return CODEC_FRAME_HANDLE;
    if (n == 2 && memcmp(s, "fd", 2) == 0)
        return CODEC_FRAME_FD;
    return -1;
}

/* The envelope's first three elements into env: 1 when they are 1, a msgid and nil. */
static int codec_frame_head(struct mpread *r, msgpack_object *env)
{
    msgpack_object o;

    if (mpread_next_inline(r, 0, &o) < 0 || o.type != MSGPACK_OBJECT_ARRAY ||
        o.via.array.size != 4)
        return 0;
    for (unsigned i = 0; i < 3; i++) {
        if (mpread_object_inline(r, 1, &env[i], NULL, 0) < 0)
            return 0;
    }
    return env[0].type == MSGPACK_OBJECT_POSITIVE_INTEGER &&
           env[0].via.u64 == CODEC_RESPONSE &&
           env[1].type == MSGPACK_OBJECT_POSITIVE_INTEGER && env[1].via.u64 <= UINT32_MAX &&
           env[2].type == MSGPACK_OBJECT_NIL;
}

/* A map's entries, the map's header (of size entries) read at depth - 1. */
struct codec_frame_map {
    int (*key_of)(const char *s, uint32_t n); /* the place of a key kept, or -1 */
    msgpack_object_kv *kvs;                   /* room for two per place and one more */
    uint32_t n;                               /* kept so far */
    uint8_t count[32];                        /* entries kept per place */
    bool other;                               /* a key that is not a str is kept */
};
_Static_assert(CODEC_FRAME_META_KEYS <= 32 && CODEC_FRAME_RESULT_KEYS <= 32,
               "codec_frame_map.count has a place for every key kept");

static int codec_frame_meta(struct mpread *r, unsigned depth, struct codec_frame *f,
                            msgpack_object *ret);

/* The value of entry kv (kept at place k, its first there when first), at depth. */
static int codec_frame_value(struct mpread *r, unsigned depth, struct codec_frame *f,
                             const struct codec_frame_map *m, int k, bool first,
                             msgpack_object *ret)
{
    if (first && m->kvs == f->result && k == CODEC_FRAME_ARRAY)
        return codec_frame_meta(r, depth, f, ret);
    if (first && m->kvs == f->array && k == CODEC_META_SHAPE)
        return mpread_object_inline(r, depth, ret, f->shape, PROTO_NDIM_MAX);
    return mpread_object_inline(r, depth, ret, NULL, 0);
}

/* The size entries of a map at depth - 1 into m: each key's first two, and the first
 * key that is not a str; every other entry stepped over. */
static int codec_frame_entries(struct mpread *r, unsigned depth, uint32_t size,
                               struct codec_frame *f, struct codec_frame_map *m)
{
    for (uint32_t i = 0; i < size; i++) {
        msgpack_object key;
        int k = -1, rc;
        bool keep;

        if ((rc = mpread_object_inline(r, depth, &key, NULL, 0)) < 0)
            return rc;
        if (key.type == MSGPACK_OBJECT_STR) {
            k = m->key_of(key.via.str.ptr, key.via.str.size);
            keep = k >= 0 && m->count[k] < 2;
        } else {
            keep = !m->other;
            m->other = true;
        }
        if (!keep) {
            if ((rc = mpread_skip(r, depth)) < 0)
                return rc;
            continue;
        }
        m->kvs[m->n].key = key;
        rc = codec_frame_value(r, depth, f, m, k, k >= 0 && m->count[k] == 0,
                               &m->kvs[m->n].val);
        if (rc < 0)
            return rc;
        m->n++;
        if (k >= 0)
            m->count[k]++;
    }
    return 0;
}

/* A value at depth that is a map with keys of key_of into kvs, else any value. */
static int codec_frame_map(struct mpread *r, unsigned depth, struct codec_frame *f,
                           int (*key_of)(const char *, uint32_t), msgpack_object_kv *kvs,
                           msgpack_object *ret)
{
    struct codec_frame_map m = { .key_of = key_of, .kvs = kvs };
    const uint8_t *start = r->p;
    msgpack_object o;
    int rc = mpread_next_inline(r, depth, &o);

    if (rc < 0)
        return rc;
    if (o.type != MSGPACK_OBJECT_MAP) {
        r->p = start;
        return mpread_object_inline(r, depth, ret, NULL, 0);
    }
    if ((rc = codec_frame_entries(r, depth + 1, o.via.map.size, f, &m)) < 0)
        return rc;
    o.via.map.size = m.n;
    o.via.map.ptr = m.n > 0 ? kvs : NULL;
    *ret = o;
    return 0;
}

static int codec_frame_meta(struct mpread *r, unsigned depth, struct codec_frame *f,
                            msgpack_object *ret)
{
    return codec_frame_map(r, depth, f, codec_meta_key_of, f->array, ret);
}

int codec_frame_read(const void *buf, size_t len, unsigned max_depth,
                     codec_frame_want_fn *want, void *arg, struct codec_frame *f,
                     size_t *ret_len)
{
    struct mpread r;

    mpread_init(&r, buf, len, max_depth);
    if (!codec_frame_head(&r, f->env) ||
        (want != NULL && !want(arg, (uint32_t)f->env[1].via.u64)) ||
        codec_frame_map(&r, 1, f, codec_frame_result_key, f->result, &f->env[3]) < 0)
        return 0;
    f->msg = (msgpack_object){ .type = MSGPACK_OBJECT_ARRAY,
                               .via.array = { .size = 4, .ptr = f->env } };
    *ret_len = (size_t)(r.p - (const uint8_t *)buf);
    return 1;
}
