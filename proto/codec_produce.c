/* codec_produce.c — the requests of a producer that change an array after its create:
 * grow (a longer first axis). publish needs only a name (codec_pack_name and
 * codec_parse_name). proto/PROTOCOL.md, "publish" and "grow", is the normative text.
 */
#include <errno.h>

#include "codec.h"
#include "codec_fields.h"

int codec_pack_grow(msgpack_sbuffer *out, uint32_t msgid, const struct codec_grow *p)
{
    const struct codec_out f[] = {
        CODEC_OUT_S("name", p->name, sizeof(p->name)), CODEC_OUT_U("len", p->len),
    };

    return codec_pack_params(out, CODEC_REQUEST, msgid, "grow", f, CODEC_NOUT(f));
}

int codec_parse_grow(const msgpack_object *params, struct codec_grow *out,
                     char *err, size_t errlen)
{
    struct codec_ctx c = { "grow", err, errlen, NULL };
    int r;

    out->len = 0;
    if ((r = codec_map(&c, params, true, "params")) < 0 ||
        (r = CODEC_GET(&c, params, "name", true, codec_name, out->name)) < 0 ||
        (r = CODEC_GET(&c, params, "len", true, codec_uint, PROTO_LEN_MAX, &out->len,
                       "an integer in 1..2^62")) < 0)
        return r;
    if (out->len == 0)
        return codec_fail(&c, -EINVAL, "'len' must be an integer in 1..2^62");
    return 0;
}
