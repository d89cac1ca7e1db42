/* errcode.c — the table between errno values and their symbolic names.
 *
 * Only the names sharr can send or is likely to receive are listed; anything else
 * travels as "EIO". Pure lookups over a constant table.
 */
#include "errcode.h"

#include <errno.h>
#include <string.h>

struct errcode_entry {
    int err;          /* positive errno */
    const char *name;
};

/* Aliases with equal values (EWOULDBLOCK, EOPNOTSUPP, EDEADLOCK) are left out so
 * every value has exactly one name. */
static const struct errcode_entry errcode_table[] = {
    { EPERM, "EPERM" },
    { ENOENT, "ENOENT" },
    { ESRCH, "ESRCH" },
    { EINTR, "EINTR" },
    { EIO, "EIO" },
    { ENXIO, "ENXIO" },
    { E2BIG, "E2BIG" },
    { EBADF, "EBADF" },
    { EAGAIN, "EAGAIN" },
    { ENOMEM, "ENOMEM" },
    { EACCES, "EACCES" },
    { EFAULT, "EFAULT" },
    { EBUSY, "EBUSY" },
    { EEXIST, "EEXIST" },
    { ENODEV, "ENODEV" },
    { ENOTDIR, "ENOTDIR" },
    { EISDIR, "EISDIR" },
    { EINVAL, "EINVAL" },
    { ENFILE, "ENFILE" },
    { EMFILE, "EMFILE" },
    { EFBIG, "EFBIG" },
    { ENOSPC, "ENOSPC" },
    { EROFS, "EROFS" },
    { EPIPE, "EPIPE" },
    { ERANGE, "ERANGE" },
    { EDEADLK, "EDEADLK" },
    { ENAMETOOLONG, "ENAMETOOLONG" },
    { ENOSYS, "ENOSYS" },
    { ENOTEMPTY, "ENOTEMPTY" },
    { ELOOP, "ELOOP" },
    { EBADMSG, "EBADMSG" },
    { EOVERFLOW, "EOVERFLOW" },
    { EPROTO, "EPROTO" },
    { EPROTONOSUPPORT, "EPROTONOSUPPORT" },
    { ENOTSUP, "ENOTSUP" },
    { ENOBUFS, "ENOBUFS" },
    { ENOTCONN, "ENOTCONN" },
    { ESHUTDOWN, "ESHUTDOWN" },
    { ETIMEDOUT, "ETIMEDOUT" },
    { ECONNREFUSED, "ECONNREFUSED" },
    { ECONNRESET, "ECONNRESET" },
    { EDQUOT, "EDQUOT" },
    { ECANCELED, "ECANCELED" },
    { ESTALE, "ESTALE" },
    { EXDEV, "EXDEV" },
    { EMLINK, "EMLINK" },
};

#define ERRCODE_COUNT (sizeof(errcode_table) / sizeof(errcode_table[0]))

const char *errcode_name(int err)
{
    int pos = err < 0 ? -err : err;

    for (size_t i = 0; i < ERRCODE_COUNT; i++) {
        if (errcode_table[i].err == pos)
            return errcode_table[i].name;
    }
    return "EIO";
}

int errcode_parse(const char *name, size_t len)
{
    if (name == NULL)
        return -EIO;
    for (size_t i = 0; i < ERRCODE_COUNT; i++) {
        const char *known = errcode_table[i].name;
        if (strlen(known) == len && memcmp(known, name, len) == 0)
            return -errcode_table[i].err;
    }
    return -EIO;
}
