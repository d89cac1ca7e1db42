/* codec_requests.c — the envelope and every request: [0, msgid, method, [params]]
 * and the release notification packed, and the params of each method parsed and
 * checked. Unknown keys are ignored so that fields can be added without a version
 * bump; repeated keys are rejected. No I/O, no logging.
 */
#include "codec.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "codec_fields.h"
#include "errcode.h"

int codec_pack_hello(msgpack_sbuffer *out, uint32_t msgid, const struct codec_hello *p)
{
    const struct codec_out f[] = {
        CODEC_OUT_U("version", p->version), CODEC_OUT_S("client", p->client, PROTO_TEXT_MAX),
    };

    return codec_pack_params(out, CODEC_REQUEST, msgid, "hello", f, CODEC_NOUT(f));
}

int codec_pack_create(msgpack_sbuffer *out, uint32_t msgid, const struct codec_create *p)
{
    const char order[2] = { p->order != '\0' ? p->order : 'C', '\0' };
    const struct codec_out f[] = {
        CODEC_OUT_S("name", p->name, sizeof(p->name)),
        CODEC_OUT_S("dtype", p->dtype.str, sizeof(p->dtype.str)),
        CODEC_OUT_SHAPE("shape", p->shape, p->ndim),
        CODEC_OUT_S("order", order, sizeof(order)),
        CODEC_OUT_B("persist", p->persist),
        CODEC_OUT_U("perm", p->perm),
        CODEC_OUT_B("overwrite", p->overwrite),
        CODEC_OUT_S(p->dtype.descr != NULL ? "descr" : NULL, p->dtype.descr,
                    p->dtype.descr_len),
        CODEC_OUT_U(p->max_len ? "max_len" : NULL, p->max_len),
    };

    if (p->ndim > PROTO_NDIM_MAX)
        return -EINVAL;
    return codec_pack_params(out, CODEC_REQUEST, msgid, "create", f, CODEC_NOUT(f));
}

int codec_pack_open(msgpack_sbuffer *out, uint32_t msgid, const struct codec_open *p)
{
    const struct codec_out f[] = {
        CODEC_OUT_S("name", p->name, sizeof(p->name)),
        CODEC_OUT_S("mode", meta_mode_name(p->mode), SIZE_MAX),
        CODEC_OUT_I("wait_ms", p->wait_ms),
        CODEC_OUT_U(p->has_owner ? "owner" : NULL, p->owner),
        CODEC_OUT_B(p->published ? "published" : NULL, true),
    };

    return codec_pack_params(out, CODEC_REQUEST, msgid, "open", f, CODEC_NOUT(f));
}

int codec_pack_adopt(msgpack_sbuffer *out, uint32_t msgid, const struct codec_adopt *p)
{
    const struct codec_out f[] = {
        CODEC_OUT_S("name", p->name, sizeof(p->name)), CODEC_OUT_U("perm", p->perm),
        CODEC_OUT_B("overwrite", p->overwrite),
    };

    return codec_pack_params(out, CODEC_REQUEST, msgid, "adopt", f, CODEC_NOUT(f));
}

int codec_pack_name(msgpack_sbuffer *out, uint32_t msgid, const char *method,
                    const struct codec_name *p)
{
    const struct codec_out f[] = { CODEC_OUT_S("name", p->name, sizeof(p->name)) };

    if (method == NULL || (strcmp(method, "stat") != 0 && strcmp(method, "unlink") != 0 &&
                           strcmp(method, "sync") != 0 && strcmp(method, "publish") != 0))
        return -EINVAL;
    return codec_pack_params(out, CODEC_REQUEST, msgid, method, f, CODEC_NOUT(f));
}

int codec_pack_sync(msgpack_sbuffer *out, uint32_t msgid, const struct codec_sync *p)
{
    bool named = p->name[0] != '\0';
    const struct codec_out f[] = {
        CODEC_OUT_U(p->has_handle ? "handle" : NULL, p->handle),
        CODEC_OUT_S(named ? "name" : NULL, p->name, sizeof(p->name)),
    };

    if (!named && !p->has_handle)
        return -EINVAL;
    return codec_pack_params(out, CODEC_REQUEST, msgid, "sync", f, CODEC_NOUT(f));
}

int codec_pack_release(msgpack_sbuffer *out, uint32_t msgid, const struct codec_release *p)
{
    const struct codec_out f[] = { CODEC_OUT_U("handle", p->handle) };

    return codec_pack_params(out, CODEC_REQUEST, msgid, "release", f, CODEC_NOUT(f));
}

int codec_pack_release_notify(msgpack_sbuffer *out, const struct codec_release *p)
{
    const struct codec_out f[] = { CODEC_OUT_U("handle", p->handle) };

    return codec_pack_params(out, CODEC_NOTIFY, 0, "release", f, CODEC_NOUT(f));
}

int codec_pack_list(msgpack_sbuffer *out, uint32_t msgid, const struct codec_list *p)
{
    /* limit 0 means "the server's default": the key is left out; so is table false. */
    const struct codec_out f[] = {
        CODEC_OUT_S("after", p->after, sizeof(p->after)),
        CODEC_OUT_U(p->limit != 0 ? "limit" : NULL, p->limit),
        CODEC_OUT_B(p->table ? "table" : NULL, true),
    };

    return codec_pack_params(out, CODEC_REQUEST, msgid, "list", f, CODEC_NOUT(f));
}

/* A request of a method that takes no params. */
static int codec_pack_bare(msgpack_sbuffer *out, uint32_t msgid, const char *method)
{
    size_t mark = out->size;
    msgpack_packer pk;
    int r;

    msgpack_packer_init(&pk, out, msgpack_sbuffer_write);
    r = codec_pack_request_head(&pk, msgid, method, false);
    return codec_pack_end(out, mark, r);
}

int codec_pack_stats(msgpack_sbuffer *out, uint32_t msgid)
{
    return codec_pack_bare(out, msgid, "stats");
}

int codec_pack_ring(msgpack_sbuffer *out, uint32_t msgid)
{
    return codec_pack_bare(out, msgid, "ring");
}

int codec_parse_msg(const msgpack_object *obj, struct codec_msg *out,
                    int *ret_msgid_known, char *err, size_t errlen)
{
    struct codec_ctx c = { "envelope", err, errlen, NULL };
    const msgpack_object *e;
    const msgpack_object *params;
    uint32_t n, at;

    memset(out, 0, sizeof(*out));
    if (ret_msgid_known != NULL)
        *ret_msgid_known = 0;
    if (obj == NULL || obj->type != MSGPACK_OBJECT_ARRAY || obj->via.array.size == 0)
        return codec_fail(&c, -EBADMSG, "a message must be a non-empty array");
    e = obj->via.array.ptr;
    n = obj->via.array.size;
    if (e[0].type != MSGPACK_OBJECT_POSITIVE_INTEGER || e[0].via.u64 > CODEC_NOTIFY)
        return codec_fail(&c, -EBADMSG, "the message type must be 0, 1 or 2");
    out->type = (enum codec_type)e[0].via.u64;

    if (out->type != CODEC_NOTIFY) {
        if (n < 2 || e[1].type != MSGPACK_OBJECT_POSITIVE_INTEGER || e[1].via.u64 > UINT32_MAX)
            return codec_fail(&c, -EBADMSG, "the msgid must be an integer in 0..4294967295");
        out->msgid = (uint32_t)e[1].via.u64;
        if (out->type == CODEC_REQUEST && ret_msgid_known != NULL)
            *ret_msgid_known = 1;
        if (n != 4)
            return codec_fail(&c, -EBADMSG, "a %s must have 4 elements",
                              out->type == CODEC_REQUEST ? "request" : "response");
    } else if (n != 3) {
        return codec_fail(&c, -EBADMSG, "a notification must have 3 elements");
    }

    if (out->type == CODEC_RESPONSE) {
        const msgpack_object *error = &e[2];
        if (error->type == MSGPACK_OBJECT_NIL) {
            if (e[3].type != MSGPACK_OBJECT_MAP)
                return codec_fail(&c, -EBADMSG, "a successful response's result must be a map");
            out->result = &e[3];
            return 0;
        }
        struct codec_ctx ec = { "envelope: error", err, errlen, NULL };
        char code[32];
        const msgpack_object *v;
        if (codec_map(&ec, error, false, "the error") < 0)
            return -EBADMSG;
        if (codec_field(&ec, error, "code", true, &v) <= 0 ||
            !codec_copy_str(v, code, sizeof(code), true))
            return codec_fail(&c, -EBADMSG, "error: 'code' must be a string such as \"ENOENT\"");
        if (CODEC_GET(&ec, error, "message", false, codec_str, out->errmsg, sizeof(out->errmsg),
                      true) < 0)
            return -EBADMSG;
        out->err = errcode_parse(code, strlen(code));
        return 0;
    }

    at = out->type == CODEC_REQUEST ? 2 : 1;
    if (!codec_copy_str(&e[at], out->method, sizeof(out->method), false) ||
        out->method[0] == '\0')
        return codec_fail(&c, -EBADMSG, "the method must be a string of 1.."
                          CODEC_XSTR(PROTO_METHOD_MAX) " bytes");
    params = &e[at + 1];
    if (params->type != MSGPACK_OBJECT_ARRAY || params->via.array.size > 1 ||
        (params->via.array.size == 1 && params->via.array.ptr[0].type != MSGPACK_OBJECT_MAP))
        return codec_fail(&c, -EBADMSG, "params must be an array holding one map, or empty");
    out->params = params->via.array.size == 1 ? &params->via.array.ptr[0] : NULL;
    return 0;
}

int codec_parse_hello(const msgpack_object *params, struct codec_hello *out,
                      char *err, size_t errlen)
{
    struct codec_ctx c = { "hello", err, errlen, NULL };
    uint64_t version = 0;
    int r;

    out->client[0] = '\0';
    if ((r = codec_map(&c, params, true, "params")) < 0 ||
        (r = CODEC_GET(&c, params, "version", true, codec_uint, UINT32_MAX, &version,
                       "an integer in 0..4294967295")) < 0 ||
        (r = CODEC_GET(&c, params, "client", false, codec_str, out->client, sizeof(out->client),
                       true)) < 0)
        return r;
    out->version = (uint32_t)version;
    return 0;
}

int codec_parse_create(const msgpack_object *params, struct codec_create *out,
                       struct dtype_text *text, char *err, size_t errlen)
{
    struct codec_ctx c = { "create", err, errlen, NULL };
    uint64_t nbytes;
    int r;

    out->order = 'C';
    out->persist = false;
    out->perm = 0600;
    out->overwrite = false;
    out->max_len = 0;
    if ((r = codec_map(&c, params, true, "params")) < 0 ||
        (r = CODEC_GET(&c, params, "name", true, codec_name, out->name)) < 0 ||
        (r = CODEC_GET(&c, params, "dtype", true, codec_dtype, &out->dtype)) < 0 ||
        (r = CODEC_GET(&c, params, "shape", true, codec_shape, &out->ndim, out->shape)) < 0 ||
        (r = CODEC_GET(&c, params, "order", false, codec_order, &out->order)) < 0 ||
        (r = CODEC_GET(&c, params, "persist", false, codec_bool, &out->persist)) < 0 ||
        (r = CODEC_GET(&c, params, "perm", false, codec_perm, &out->perm)) < 0 ||
        (r = CODEC_GET(&c, params, "overwrite", false, codec_bool, &out->overwrite)) < 0 ||
        (r = CODEC_GET(&c, params, "descr", false, codec_descr, &out->dtype,
                       text)) < 0 ||
        (r = CODEC_GET(&c, params, "max_len", false, codec_uint, PROTO_LEN_MAX, &out->max_len,
                       "an integer in 0..2^62")) < 0 ||
        (r = codec_check_size(&c, out->ndim, out->shape, out->dtype.itemsize, &nbytes)) < 0)
        return r;
    return 0;
}

int codec_parse_adopt(const msgpack_object *params, struct codec_adopt *out,
                      char *err, size_t errlen)
{
    struct codec_ctx c = { "adopt", err, errlen, NULL };
    int r;

    out->perm = 0600;
    out->overwrite = false;
    if ((r = codec_map(&c, params, true, "params")) < 0 ||
        (r = CODEC_GET(&c, params, "name", true, codec_name, out->name)) < 0 ||
        (r = CODEC_GET(&c, params, "perm", false, codec_perm, &out->perm)) < 0 ||
        (r = CODEC_GET(&c, params, "overwrite", false, codec_bool, &out->overwrite)) < 0)
        return r;
    return 0;
}

int codec_parse_open(const msgpack_object *params, struct codec_open *out,
                     char *err, size_t errlen)
{
    struct codec_ctx c = { "open", err, errlen, NULL };
    uint64_t owner = UINT64_MAX;
    char mode[4] = "r+";
    int r;

    out->wait_ms = 0;
    out->published = false;
    if ((r = codec_map(&c, params, true, "params")) < 0 ||
        (r = CODEC_GET(&c, params, "name", true, codec_name, out->name)) < 0 ||
        (r = CODEC_GET(&c, params, "wait_ms", false, codec_int, -1, &out->wait_ms,
                       "an integer >= -1 (-1 waits forever)")) < 0 ||
        (r = CODEC_GET(&c, params, "owner", false, codec_uint, UINT32_MAX - 1, &owner,
                       "a uid, an integer in 0..4294967294")) < 0 ||
        (r = CODEC_GET(&c, params, "published", false, codec_bool, &out->published)) < 0)
        return r;
    out->has_owner = owner != UINT64_MAX;
    out->owner = out->has_owner ? (uint32_t)owner : 0;
    if (CODEC_GET(&c, params, "mode", false, codec_str, mode, sizeof(mode), false) < 0 ||
        meta_mode_parse(mode, &out->mode) < 0)
        return codec_fail(&c, -EINVAL, "'mode' must be \"r\", \"r+\" or \"c\"");
    return 0;
}

int codec_parse_name(const msgpack_object *params, struct codec_name *out,
                     char *err, size_t errlen)
{
    struct codec_ctx c = { "request", err, errlen, NULL };
    int r;

    if ((r = codec_map(&c, params, true, "params")) < 0 ||
        (r = CODEC_GET(&c, params, "name", true, codec_name, out->name)) < 0)
        return r;
    return 0;
}

int codec_parse_release(const msgpack_object *params, struct codec_release *out,
                        char *err, size_t errlen)
{
    struct codec_ctx c = { "release", err, errlen, NULL };
    int r;

    if ((r = codec_map(&c, params, true, "params")) < 0 ||
        (r = CODEC_GET(&c, params, "handle", true, codec_uint, UINT64_MAX, &out->handle,
                       "a non-negative integer")) < 0)
        return r;
    return 0;
}

int codec_parse_sync(const msgpack_object *params, struct codec_sync *out,
                     char *err, size_t errlen)
{
    struct codec_ctx c = { "sync", err, errlen, NULL };
    const msgpack_object *v = NULL;
    int r;

    out->name[0] = '\0';
    out->has_handle = false;
    out->handle = 0;
    if ((r = codec_map(&c, params, true, "params")) < 0 ||
        (r = codec_field(&c, params, "handle", false, &v)) < 0 ||
        (r = codec_uint(&c, "handle", v, UINT64_MAX, &out->handle,
                        "a non-negative integer")) < 0)
        return r;
    out->has_handle = v != NULL;
    v = NULL;
    if ((r = codec_field(&c, params, "name", !out->has_handle, &v)) < 0 ||
        (r = codec_name(&c, "name", v, out->name)) < 0)
        return r;
    return 0;
}

int codec_parse_list(const msgpack_object *params, struct codec_list *out,
                     char *err, size_t errlen)
{
    struct codec_ctx c = { "list", err, errlen, NULL };
    int r;

    out->after[0] = '\0';
    out->limit = PROTO_LIST_PAGE_DEFAULT;
    out->table = false;
    if ((r = codec_map(&c, params, true, "params")) < 0 ||
        (r = CODEC_GET(&c, params, "after", false, codec_str, out->after, sizeof(out->after),
                       false)) < 0 ||
        (r = CODEC_GET(&c, params, "limit", false, codec_limit, &out->limit)) < 0 ||
        (r = CODEC_GET(&c, params, "table", false, codec_bool, &out->table)) < 0)
        return r;
    return 0;
}

int codec_pack_holders(msgpack_sbuffer *out, uint32_t msgid, const struct codec_holders *p)
{
    const struct codec_out f[] = {
        CODEC_OUT_S(p->name[0] != '\0' ? "name" : NULL, p->name, sizeof(p->name)),
        CODEC_OUT_U("after", p->after),
        CODEC_OUT_U("limit", p->limit != 0 ? p->limit : PROTO_LIST_PAGE_DEFAULT),
    };

    return codec_pack_params(out, CODEC_REQUEST, msgid, "holders", f, CODEC_NOUT(f));
}

int codec_parse_holders(const msgpack_object *params, struct codec_holders *out,
                        char *err, size_t errlen)
{
    struct codec_ctx c = { "holders", err, errlen, NULL };
    const msgpack_object *v = NULL;
    int r;

    out->name[0] = '\0';
    out->after = 0;
    out->limit = PROTO_LIST_PAGE_DEFAULT;
    if ((r = codec_map(&c, params, true, "params")) < 0 ||
        (r = codec_field(&c, params, "name", false, &v)) < 0 ||
        (r == 1 && (r = CODEC_GET(&c, params, "name", true, codec_name, out->name)) < 0) ||
        (r = CODEC_GET(&c, params, "after", false, codec_uint, UINT64_MAX, &out->after,
                       "a non-negative integer")) < 0 ||
        (r = CODEC_GET(&c, params, "limit", false, codec_limit, &out->limit)) < 0)
        return r;
    return 0;
}

int codec_pack_chmod(msgpack_sbuffer *out, uint32_t msgid, const struct codec_chmod *p)
{
    const struct codec_out f[] = {
        CODEC_OUT_S("name", p->name, sizeof(p->name)), CODEC_OUT_U("perm", p->perm),
    };

    return codec_pack_params(out, CODEC_REQUEST, msgid, "chmod", f, CODEC_NOUT(f));
}

int codec_parse_chmod(const msgpack_object *params, struct codec_chmod *out,
                      char *err, size_t errlen)
{
    struct codec_ctx c = { "chmod", err, errlen, NULL };
    int r;

    if ((r = codec_map(&c, params, true, "params")) < 0 ||
        (r = CODEC_GET(&c, params, "name", true, codec_name, out->name)) < 0 ||
        (r = CODEC_GET(&c, params, "perm", true, codec_perm, &out->perm)) < 0)
        return r;
    return 0;
}

int codec_pack_chown(msgpack_sbuffer *out, uint32_t msgid, const struct codec_chown *p)
{
    const struct codec_out f[] = {
        CODEC_OUT_S("name", p->name, sizeof(p->name)),
        CODEC_OUT_U(p->has_uid ? "uid" : NULL, p->uid),
        CODEC_OUT_U(p->has_gid ? "gid" : NULL, p->gid),
    };

    return codec_pack_params(out, CODEC_REQUEST, msgid, "chown", f, CODEC_NOUT(f));
}

int codec_parse_chown(const msgpack_object *params, struct codec_chown *out,
                      char *err, size_t errlen)
{
    struct codec_ctx c = { "chown", err, errlen, NULL };
    uint64_t uid = UINT64_MAX, gid = UINT64_MAX;
    int r;

    if ((r = codec_map(&c, params, true, "params")) < 0 ||
        (r = CODEC_GET(&c, params, "name", true, codec_name, out->name)) < 0 ||
        (r = CODEC_GET(&c, params, "uid", false, codec_uint, UINT32_MAX - 1, &uid,
                       "an integer in 0..4294967294")) < 0 ||
        (r = CODEC_GET(&c, params, "gid", false, codec_uint, UINT32_MAX - 1, &gid,
                       "an integer in 0..4294967294")) < 0)
        return r;
    if (uid == UINT64_MAX && gid == UINT64_MAX)
        return codec_fail(&c, -EINVAL, "'uid' or 'gid' is required");
    out->has_uid = uid != UINT64_MAX;
    out->has_gid = gid != UINT64_MAX;
    out->uid = (uint32_t)uid;
    out->gid = (uint32_t)gid;
    return 0;
}
