/* adopt.c — sharr_adopt: hand the daemon an open .npy file to keep as a persistent
 * array as it is, with no copy of its data.
 *
 * The file travels as a descriptor the caller opened, so the daemon never opens a
 * path on a client's behalf. Attaching the new array is sharr_open's work (array.c).
 */
#include <errno.h>
#include <string.h>

#include "client.h"
#include "codec.h"
#include "proto_limits.h"
#include "perm.h"

static int adopt_pack(msgpack_sbuffer *out, uint32_t msgid, const void *params)
{
    return codec_pack_adopt(out, msgid, params);
}

static int adopt_parse(const msgpack_object *result, void *out, char *err, size_t errlen)
{
    return codec_parse_reply_stat(result, out, err, errlen);
}

int sharr_adopt(sharr_t *conn, const char *name, int fd,
                const struct sharr_create_opts *caller_opts, struct sharr_info *ret_info)
{
    struct sharr_create_opts opts;
    struct codec_adopt p = { 0 };
    struct meta m;
    struct client_request req = {
        .pack = adopt_pack, .params = &p, .parse = adopt_parse, .out = &m, .send_fd = &fd,
        .frame = true,
    };
    char why[64];
    int rc;

    if (conn == NULL || name == NULL)
        return client_fail(-EINVAL, "sharr_adopt: conn and name must not be NULL");
    if (fd < 0)
        return client_fail(-EBADF, "sharr_adopt: fd %d is not a descriptor", fd);
    rc = opts_read(caller_opts, sizeof(opts), &opts, "sharr_create_opts");
    if (rc < 0)
        return rc;
    rc = client_check_name(name);
    if (rc < 0)
        return rc;
    if (perm_check(opts.perm, why, sizeof(why)) < 0)
        return client_fail(-EINVAL, "sharr_adopt: %s", why);
    if (opts.flags != 0)
        return client_fail(-EINVAL, "sharr_adopt takes no flags (0x%x)", (unsigned)opts.flags);
    memcpy(p.name, name, strlen(name) + 1);
    p.perm = opts.perm != 0 ? opts.perm : 0600;
    p.overwrite = opts.overwrite != 0;
    rc = client_call(conn, &req, NULL);
    if (rc < 0)
        return rc;
    if (ret_info != NULL)
        catalog_info_from_meta(&m, ret_info);
    return 0;
}
