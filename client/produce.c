/* produce.c — what a producer does to an array after its create: sharr_publish (it is
 * complete) and sharr_grow (its growing axis gets longer). Both name the array and
 * get its new metadata back; the daemon does the work (proto/PROTOCOL.md, publish
 * and grow). sharr_array_refresh, which maps what a grow added, is in array.c.
 */
#include <errno.h>
#include <string.h>

#include "client.h"
#include "codec.h"

static int produce_pack_publish(msgpack_sbuffer *out, uint32_t msgid, const void *params)
{
    return codec_pack_name(out, msgid, "publish", params);
}

static int produce_pack_grow(msgpack_sbuffer *out, uint32_t msgid, const void *params)
{
    return codec_pack_grow(out, msgid, params);
}

static int produce_parse_stat(const msgpack_object *result, void *out, char *err,
                              size_t errlen)
{
    return codec_parse_reply_stat(result, out, err, errlen);
}

/* Send req (its params' name set from name) and copy the stat result into ret_info
 * (may be NULL). */
static int produce_call(sharr_t *conn, const char *what, const char *name, char *pname,
                        struct client_request *req, struct sharr_info *ret_info)
{
    struct meta m;
    int rc;

    if (conn == NULL)
        return client_fail(-EINVAL, "%s: conn is NULL", what);
    rc = client_check_name(name);
    if (rc < 0)
        return rc;
    memcpy(pname, name, strlen(name) + 1);
    req->parse = produce_parse_stat;
    req->out = &m;
    req->frame = true;
    rc = client_call(conn, req, NULL);
    if (rc == -ENOSYS)
        return client_fail(rc, "%s: sharrd does not know this method (upgrade sharrd)", what);
    if (rc < 0)
        return rc;
    if (ret_info != NULL)
        catalog_info_from_meta(&m, ret_info);
    return 0;
}

int sharr_publish(sharr_t *conn, const char *name, struct sharr_info *ret_info)
{
    struct codec_name p;
    struct client_request req = { .pack = produce_pack_publish, .params = &p };

    return produce_call(conn, "sharr_publish", name, p.name, &req, ret_info);
}

int sharr_grow(sharr_t *conn, const char *name, uint64_t new_len, struct sharr_info *ret_info)
{
    struct codec_grow p = { .len = new_len };
    struct client_request req = { .pack = produce_pack_grow, .params = &p };

    if (new_len == 0 || new_len > PROTO_LEN_MAX)
        return client_fail(-EINVAL, "sharr_grow: new_len %llu is outside 1..2^62",
                           (unsigned long long)new_len);
    return produce_call(conn, "sharr_grow", name, p.name, &req, ret_info);
}
