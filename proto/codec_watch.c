/* codec_watch.c — the watch method and the event notifications it brings: the
 * request's prefix packed and checked, and each event (event.h) with its array map, or
 * an overflow with the count of events lost, packed and parsed. No I/O, no logging.
 */
#include "codec.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "codec_fields.h"
#include "event.h"
#include "name.h"

int codec_pack_watch(msgpack_sbuffer *out, uint32_t msgid, const struct codec_watch *p)
{
    const struct codec_out f[] = {
        CODEC_OUT_S(p->prefix[0] ? "prefix" : NULL, p->prefix, sizeof(p->prefix)),
    };

    return codec_pack_params(out, CODEC_REQUEST, msgid, "watch", f, CODEC_NOUT(f));
}

int codec_parse_watch(const msgpack_object *params, struct codec_watch *out, char *err,
                      size_t errlen)
{
    struct codec_ctx c = { "watch", err, errlen, NULL };
    int r;

    out->prefix[0] = '\0';
    if ((r = codec_map(&c, params, true, "params")) < 0)
        return r;
    if (CODEC_GET(&c, params, "prefix", false, codec_str, out->prefix, sizeof(out->prefix),
                  false) < 0)
        return codec_fail(&c, -EINVAL, "'prefix' must be a string of at most %d bytes",
                          PROTO_NAME_MAX);
    /* Every start of a valid name is a valid name itself: the same check serves. */
    if (out->prefix[0] && name_check(out->prefix, strlen(out->prefix)) < 0)
        return codec_fail(&c, -EINVAL, "'prefix' must be the start of an array name: "
                          "[A-Za-z0-9._-], not beginning with '.'");
    return 0;
}

int codec_pack_event(msgpack_sbuffer *out, const struct codec_event *e)
{
    const char *name = event_kind_name(e->kind);
    size_t mark = out->size;
    msgpack_packer pk;
    int r = 0;

    if (name == NULL)
        return -EINVAL;
    msgpack_packer_init(&pk, out, msgpack_sbuffer_write);
    r |= msgpack_pack_array(&pk, 3);
    r |= msgpack_pack_uint8(&pk, CODEC_NOTIFY);
    r |= codec_pack_cstr(&pk, "event");
    r |= msgpack_pack_array(&pk, 1);
    r |= msgpack_pack_map(&pk, 2);
    r |= codec_pack_cstr(&pk, "event");
    r |= codec_pack_cstr(&pk, name);
    if (e->kind == EVENT_OVERFLOW) {
        r |= codec_pack_cstr(&pk, "lost");
        r |= msgpack_pack_uint64(&pk, e->lost);
    } else {
        int m;

        r |= codec_pack_cstr(&pk, "array");
        m = r == 0 ? codec_pack_array_map(&pk, &e->meta) : -ENOMEM;
        if (m < 0) {
            out->size = mark;
            return m;
        }
    }
    return codec_pack_end(out, mark, r);
}

int codec_parse_event(const msgpack_object *params, struct codec_event *out, char *err,
                      size_t errlen)
{
    struct codec_ctx c = { "event", err, errlen, NULL };
    const msgpack_object *v = NULL;
    int r;

    memset(out, 0, sizeof(*out));
    if ((r = codec_map(&c, params, false, "params")) < 0)
        return r;
    if (codec_field(&c, params, "event", true, &v) < 0 || v->type != MSGPACK_OBJECT_STR)
        return codec_fail(&c, -EINVAL, "'event' must be a string such as \"created\"");
    out->kind = event_kind_parse(v->via.str.ptr, v->via.str.size);
    if (out->kind == 0)
        return 0;
    if (out->kind == EVENT_OVERFLOW)
        return CODEC_GET(&c, params, "lost", true, codec_uint, UINT64_MAX, &out->lost,
                         "a non-negative integer");
    if (codec_field(&c, params, "array", true, &v) < 0)
        return -EINVAL;
    return codec_parse_meta(v, &out->meta, err, errlen);
}
