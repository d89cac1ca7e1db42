/* codec_replies.c — the results of the methods that return no array record: hello
 * (with the capabilities), ring, stats (proto/stats.h's record), holders, the empty
 * result and the error reply, packed and parsed.
 */
#include "codec.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "codec_fields.h"
#include "errcode.h"

/* What protocol version 1 offers beyond the bare methods. "release_notify" (release
 * as a notification), "release_ring" (the method ring), "records" (create takes a
 * record's "descr"), "publish" (the method and open's "published") and "grow" (the
 * method and create's "max_len") change what a client may send; the others are
 * informational ("open_owner": open checks its "owner"; "user_names": names under
 * "uid<N>." are N's; "sync_handle": sync takes the attachment's handle; "watch": the
 * method watch and its event notifications). */
static const char *const codec_capabilities[] = {
    "open_wait", "persist", "overwrite", "sync", "list_paging", "holders", "adopt",
    "release_notify", "release_ring", "open_owner", "user_names", "sync_handle",
    "records", "publish", "grow", "watch",
};

int codec_pack_reply_ring(msgpack_sbuffer *out, uint32_t msgid, uint32_t size)
{
    const struct codec_out f[] = { CODEC_OUT_U("size", size), CODEC_OUT_B("fd", true) };

    return codec_pack_params(out, CODEC_RESPONSE, msgid, NULL, f, CODEC_NOUT(f));
}

int codec_pack_reply_hello(msgpack_sbuffer *out, uint32_t msgid,
                           const struct codec_hello_reply *h)
{
    size_t ncap = sizeof(codec_capabilities) / sizeof(codec_capabilities[0]);
    size_t mark = out->size;
    msgpack_packer pk;
    int r = 0;

    msgpack_packer_init(&pk, out, msgpack_sbuffer_write);
    r |= codec_pack_response_head(&pk, msgid);
    r |= msgpack_pack_map(&pk, 7);
    r |= codec_pack_cstr(&pk, "version");
    r |= msgpack_pack_uint32(&pk, h->version);
    r |= codec_pack_cstr(&pk, "id");
    r |= msgpack_pack_uint64(&pk, h->id);
    r |= codec_pack_cstr(&pk, "store_id");
    r |= msgpack_pack_uint64(&pk, h->store_id);
    r |= codec_pack_cstr(&pk, "server");
    r |= codec_pack_strn(&pk, h->server, sizeof(h->server));
    r |= codec_pack_cstr(&pk, "pid");
    r |= msgpack_pack_uint32(&pk, h->pid);
    r |= codec_pack_cstr(&pk, "limits");
#define CODEC_LIMITS_ONE(field, key) +1
    r |= msgpack_pack_map(&pk, 0 CODEC_LIMITS_FIELDS(CODEC_LIMITS_ONE));
#undef CODEC_LIMITS_ONE
#define CODEC_LIMITS_PACK(field, key)                                                 \
    r |= codec_pack_cstr(&pk, key);                                                   \
    r |= msgpack_pack_uint32(&pk, h->field);
    CODEC_LIMITS_FIELDS(CODEC_LIMITS_PACK)
#undef CODEC_LIMITS_PACK
    r |= codec_pack_cstr(&pk, "capabilities");
    r |= msgpack_pack_array(&pk, ncap);
    for (size_t i = 0; i < ncap; i++)
        r |= codec_pack_cstr(&pk, codec_capabilities[i]);
    return codec_pack_end(out, mark, r);
}

/* A number at its type's msgpack width: the stats fields' packer. */
#define CODEC_PACK_NUM(pk, v)                                                         \
    _Generic((v), uint64_t: msgpack_pack_uint64, uint32_t: msgpack_pack_uint32,       \
             int64_t: msgpack_pack_int64)(pk, v)

int codec_pack_reply_stats(msgpack_sbuffer *out, uint32_t msgid,
                           const struct codec_stats_reply *s)
{
    size_t mark = out->size;
    msgpack_packer pk;
    int r = 0;

    msgpack_packer_init(&pk, out, msgpack_sbuffer_write);
    r |= codec_pack_response_head(&pk, msgid);
    r |= msgpack_pack_map(&pk, PROTO_STATS_NFIELDS);
#define CODEC_STATS_PACK(field, type, key, required)                                  \
    r |= codec_pack_cstr(&pk, key);                                                   \
    r |= CODEC_PACK_NUM(&pk, s->field);
    PROTO_STATS_FIELDS(CODEC_STATS_PACK)
#undef CODEC_STATS_PACK
    return codec_pack_end(out, mark, r);
}

int codec_pack_reply_empty(msgpack_sbuffer *out, uint32_t msgid)
{
    return codec_pack_params(out, CODEC_RESPONSE, msgid, NULL, NULL, 0);
}

int codec_pack_error(msgpack_sbuffer *out, uint32_t msgid, int err, const char *message)
{
    size_t mark = out->size;
    msgpack_packer pk;
    int r = 0;

    msgpack_packer_init(&pk, out, msgpack_sbuffer_write);
    r |= msgpack_pack_array(&pk, 4);
    r |= msgpack_pack_uint32(&pk, 1);
    r |= msgpack_pack_uint32(&pk, msgid);
    r |= msgpack_pack_map(&pk, 2);
    r |= codec_pack_cstr(&pk, "code");
    r |= codec_pack_cstr(&pk, errcode_name(err));
    r |= codec_pack_cstr(&pk, "message");
    r |= codec_pack_strn(&pk, message != NULL ? message : "", PROTO_TEXT_MAX);
    r |= msgpack_pack_nil(&pk);
    return codec_pack_end(out, mark, r);
}

/* A number of the type out points to, in that type's range: the stats fields' check. */
static int codec_u64(const struct codec_ctx *c, const char *key, const msgpack_object *v,
                     uint64_t *out)
{
    return codec_uint(c, key, v, UINT64_MAX, out, "a non-negative integer");
}

static int codec_i64(const struct codec_ctx *c, const char *key, const msgpack_object *v,
                     int64_t *out)
{
    return codec_int(c, key, v, INT64_MIN, out, "an integer");
}

#define CODEC_NUM(out) _Generic((out), uint64_t *: codec_u64, uint32_t *: codec_u32, \
                                int64_t *: codec_i64)

int codec_parse_reply_hello(const msgpack_object *result, struct codec_hello_reply *out,
                            char *err, size_t errlen)
{
    struct codec_ctx c = { "hello reply", err, errlen, NULL };
    struct codec_ctx lc = { "hello reply: limits", err, errlen, NULL };
    const msgpack_object *limits = NULL, *caps = NULL;
    int r;

    out->server[0] = '\0';
    out->id = 0;
    out->store_id = 0;
    out->release_notify = false;
    out->release_ring = false;
    out->records = false;
    out->watch = false;
    if ((r = codec_map(&c, result, false, "the result")) < 0 ||
        (r = CODEC_GET(&c, result, "version", true, codec_u32, &out->version)) < 0 ||
        (r = CODEC_GET(&c, result, "server", false, codec_str, out->server, sizeof(out->server),
                       true)) < 0 ||
        (r = CODEC_GET(&c, result, "pid", true, codec_u32, &out->pid)) < 0 ||
        (r = CODEC_GET(&c, result, "id", false, codec_u64, &out->id)) < 0 ||
        (r = CODEC_GET(&c, result, "store_id", false, codec_u64, &out->store_id)) < 0 ||
        (r = CODEC_GET(&c, result, "limits", true, codec_submap, &limits)) < 0 ||
        (r = codec_map(&lc, limits, false, "'limits'")) < 0)
        return r;
#define CODEC_LIMITS_PARSE(field, key)                                                \
    if ((r = CODEC_GET(&lc, limits, key, true, codec_u32, &out->field)) < 0)          \
        return r;
    CODEC_LIMITS_FIELDS(CODEC_LIMITS_PARSE)
#undef CODEC_LIMITS_PARSE
    r = codec_field(&c, result, "capabilities", false, &caps);
    if (r < 0)
        return r;
    if (r == 1) {
        if (!codec_str_array(caps))
            return codec_fail(&c, -EINVAL, "'capabilities' must be an array of strings");
        for (uint32_t i = 0; i < caps->via.array.size; i++) {
            const msgpack_object_str *cap = &caps->via.array.ptr[i].via.str;

            if (cap->size == sizeof("release_notify") - 1 &&
                memcmp(cap->ptr, "release_notify", cap->size) == 0)
                out->release_notify = true;
            if (cap->size == sizeof("release_ring") - 1 &&
                memcmp(cap->ptr, "release_ring", cap->size) == 0)
                out->release_ring = true;
            if (cap->size == sizeof("records") - 1 && memcmp(cap->ptr, "records", cap->size) == 0)
                out->records = true;
            if (cap->size == sizeof("watch") - 1 && memcmp(cap->ptr, "watch", cap->size) == 0)
                out->watch = true;
        }
    }
    return 0;
}

int codec_parse_reply_ring(const msgpack_object *result, uint32_t *ret_size, char *err,
                           size_t errlen)
{
    struct codec_ctx c = { "ring reply", err, errlen, NULL };
    bool has_fd = false;
    int r;

    if ((r = codec_map(&c, result, false, "the result")) < 0 ||
        (r = CODEC_GET(&c, result, "size", true, codec_u32, ret_size)) < 0 ||
        (r = CODEC_GET(&c, result, "fd", true, codec_bool, &has_fd)) < 0)
        return r;
    if (!has_fd)
        return codec_fail(&c, -EINVAL, "'fd' must be true");
    return 0;
}

int codec_parse_reply_stats(const msgpack_object *result, struct codec_stats_reply *out,
                            char *err, size_t errlen)
{
    struct codec_ctx c = { "stats reply", err, errlen, NULL };
    int r;

    memset(out, 0, sizeof(*out));
    if ((r = codec_map(&c, result, false, "the result")) < 0)
        return r;
#define CODEC_STATS_PARSE(field, type, key, required)                                 \
    if ((r = CODEC_GET(&c, result, key, required, CODEC_NUM(&out->field), &out->field)) < 0) \
        return r;
    PROTO_STATS_FIELDS(CODEC_STATS_PARSE)
#undef CODEC_STATS_PARSE
    return 0;
}

/* How each kind of CODEC_HOLDER_FIELDS is written and checked. */
#define CODEC_HOLDER_PUT_U64(pk, v) msgpack_pack_uint64(pk, v)
#define CODEC_HOLDER_PUT_U32(pk, v) msgpack_pack_uint32(pk, v)
#define CODEC_HOLDER_PUT_I64(pk, v) msgpack_pack_int64(pk, v)
#define CODEC_HOLDER_PUT_BOOL(pk, v) ((v) ? msgpack_pack_true(pk) : msgpack_pack_false(pk))
#define CODEC_HOLDER_PUT_NAME(pk, v) codec_pack_strn(pk, v, sizeof(v))
#define CODEC_HOLDER_PUT_TEXT CODEC_HOLDER_PUT_NAME
#define CODEC_HOLDER_PUT_MODE(pk, v) codec_pack_cstr(pk, meta_mode_name(v))
#define CODEC_HOLDER_CHECK_U64(c, key, v, out) \
    codec_uint(c, key, v, UINT64_MAX, &(out), "a non-negative integer")
#define CODEC_HOLDER_CHECK_U32(c, key, v, out) codec_u32(c, key, v, &(out))
#define CODEC_HOLDER_CHECK_I64(c, key, v, out) codec_int(c, key, v, INT64_MIN, &(out), "an integer")
#define CODEC_HOLDER_CHECK_BOOL(c, key, v, out) codec_bool(c, key, v, &(out))
#define CODEC_HOLDER_CHECK_NAME(c, key, v, out) codec_name(c, key, v, out)
#define CODEC_HOLDER_CHECK_TEXT(c, key, v, out) codec_str(c, key, v, out, sizeof(out), true)
#define CODEC_HOLDER_CHECK_MODE(c, key, v, out) codec_mode(c, key, v, &(out))

/* "r", "r+" or "c". */
static int codec_mode(const struct codec_ctx *c, const char *key, const msgpack_object *v,
                      enum meta_mode *out)
{
    char mode[4] = "";
    int r;

    if (v == NULL)
        return 0;
    r = codec_str(c, key, v, mode, sizeof(mode), false);
    if (r < 0)
        return r;
    if (meta_mode_parse(mode, out) < 0)
        return codec_fail(c, -EINVAL, "'%s' must be \"r\", \"r+\" or \"c\"", key);
    return 0;
}

int codec_pack_reply_holders(msgpack_sbuffer *out, uint32_t msgid,
                             const struct codec_holder *hs, size_t n, bool more)
{
    size_t mark = out->size;
    msgpack_packer pk;
    int r = 0;

    if (n > 0 && hs == NULL)
        return -EINVAL;
    msgpack_packer_init(&pk, out, msgpack_sbuffer_write);
    r |= codec_pack_response_head(&pk, msgid);
    r |= msgpack_pack_map(&pk, 2);
    r |= codec_pack_cstr(&pk, "holders");
    r |= msgpack_pack_array(&pk, n);
    for (size_t i = 0; i < n; i++) {
        const struct codec_holder *h = &hs[i];

#define CODEC_HOLDER_ONE(field, key, kind, required) +1
        r |= msgpack_pack_map(&pk, 0 CODEC_HOLDER_FIELDS(CODEC_HOLDER_ONE));
#undef CODEC_HOLDER_ONE
#define CODEC_HOLDER_PACK(field, key, kind, required)                                 \
        r |= codec_pack_cstr(&pk, key);                                               \
        r |= CODEC_HOLDER_PUT_##kind(&pk, h->field);
        CODEC_HOLDER_FIELDS(CODEC_HOLDER_PACK)
#undef CODEC_HOLDER_PACK
    }
    r |= codec_pack_cstr(&pk, "more");
    r |= more ? msgpack_pack_true(&pk) : msgpack_pack_false(&pk);
    return codec_pack_end(out, mark, r);
}

static int codec_holder(struct codec_ctx *c, const msgpack_object *obj,
                        struct codec_holder *out)
{
    int r;

    memset(out, 0, sizeof(*out));
    if ((r = codec_map(c, obj, false, "a holder")) < 0)
        return r;
#define CODEC_HOLDER_PARSE(field, key, kind, required)                                \
    if ((r = CODEC_GET(c, obj, key, required, CODEC_HOLDER_CHECK_##kind, out->field)) < 0) \
        return r;
    CODEC_HOLDER_FIELDS(CODEC_HOLDER_PARSE)
#undef CODEC_HOLDER_PARSE
    return 0;
}

int codec_parse_reply_holders(const msgpack_object *result, struct codec_holder *out,
                              size_t cap, size_t *ret_n, bool *ret_more, char *err,
                              size_t errlen)
{
    struct codec_ctx c = { "holders reply", err, errlen, NULL };
    struct codec_ctx hc = { "holders reply: holders[]", err, errlen, NULL };
    const msgpack_object_array *hs;
    bool more;
    int r = codec_page(&c, result, "holders", cap, &hs, &more);

    if (r < 0)
        return r;
    for (uint32_t i = 0; i < hs->size; i++) {
        r = codec_holder(&hc, &hs->ptr[i], &out[i]);
        if (r < 0)
            return r;
    }
    *ret_n = hs->size;
    *ret_more = more;
    return 0;
}
