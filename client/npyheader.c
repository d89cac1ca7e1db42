/* npyheader.c — sharr_npy_parse: what the header of a .npy file says, as sharr reads
 * it (proto/npy.c), for programs that bring .npy files to sharrd (the CLI's import).
 * Pure: bytes in, a struct sharr_info out.
 */
#include <errno.h>
#include <string.h>

#include "client.h"
#include "npy.h"

int sharr_npy_parse(const void *buf, size_t len, struct sharr_info *ret_info)
{
    char why[256] = "";
    struct dtype_text descr; /* only its length goes into ret_info */
    struct meta m;
    uint64_t offset = 0;
    int rc;

    if (buf == NULL || ret_info == NULL)
        return client_fail(-EINVAL, "sharr_npy_parse: buf and ret_info must not be NULL");
    memset(&m, 0, sizeof(m));
    rc = npy_header_parse(buf, len, &m, &descr, &offset, why, sizeof(why));
    if (rc == -EAGAIN)
        return client_fail(rc, "npy: the header does not end within the %zu bytes given",
                           len);
    if (rc < 0)
        return client_fail(-EINVAL, "%s", why[0] ? why : "npy: not a header sharr can hold");
    m.offset = offset;
    memset(ret_info, 0, sizeof(*ret_info));
    catalog_info_from_meta(&m, ret_info);
    return 0;
}
