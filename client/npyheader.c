/* npyheader.c — sharr_npy_parse and sharr_npy_describe: what the header of a .npy
 * file says, as sharr reads it (proto/npy.c), for programs that bring .npy files to
 * sharrd (the CLI's import). Pure: bytes in, a struct sharr_info (and the dtype's
 * text) out.
 */
#include <errno.h>
#include <string.h>

#include "client.h"
#include "npy.h"

/* The header in buf into *m (its record description, if any, in *text), as
 * sharr_npy_parse documents; who names the caller in messages. */
static int npyheader_read(const char *who, const void *buf, size_t len, struct meta *m,
                          struct dtype_text *text)
{
    char why[256] = "";
    uint64_t offset = 0;
    int rc;

    if (buf == NULL)
        return client_fail(-EINVAL, "%s: buf must not be NULL", who);
    memset(m, 0, sizeof(*m));
    rc = npy_header_parse(buf, len, m, text, &offset, why, sizeof(why));
    if (rc == -EAGAIN)
        return client_fail(rc, "npy: the header does not end within the %zu bytes given",
                           len);
    if (rc < 0)
        return client_fail(-EINVAL, "%s", why[0] ? why : "npy: not a header sharr can hold");
    m->offset = offset;
    return 0;
}

int sharr_npy_describe(const void *buf, size_t len, struct sharr_info *ret_info, char *descr,
                       size_t descrlen)
{
    struct dtype_text text;
    struct meta m;
    const char *s;
    size_t n;
    int rc;

    if (ret_info == NULL || descr == NULL || descrlen == 0)
        return client_fail(-EINVAL, "sharr_npy_describe: ret_info and descr must not be "
                           "NULL, descrlen not 0");
    rc = npyheader_read("sharr_npy_describe", buf, len, &m, &text);
    if (rc < 0)
        return rc;
    s = m.dtype.descr != NULL ? m.dtype.descr : m.dtype.str;
    n = m.dtype.descr != NULL ? m.dtype.descr_len : strlen(s);
    if (n >= descrlen)
        return client_fail(-ERANGE, "the header's dtype takes %zu bytes and the NUL, %zu "
                           "given", n, descrlen);
    memcpy(descr, s, n);
    descr[n] = '\0';
    memset(ret_info, 0, sizeof(*ret_info));
    catalog_info_from_meta(&m, ret_info);
    return 0;
}

int sharr_npy_parse(const void *buf, size_t len, struct sharr_info *ret_info)
{
    struct dtype_text descr; /* only its length goes into ret_info */
    struct meta m;
    int rc;

    if (buf == NULL || ret_info == NULL)
        return client_fail(-EINVAL, "sharr_npy_parse: buf and ret_info must not be NULL");
    rc = npyheader_read("sharr_npy_parse", buf, len, &m, &descr);
    if (rc < 0)
        return rc;
    memset(ret_info, 0, sizeof(*ret_info));
    catalog_info_from_meta(&m, ret_info);
    return 0;
}
