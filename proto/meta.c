/* meta.c — the open modes of an array as the strings numpy.memmap uses.
 *
 * Only the mapping between enum meta_mode and "r", "r+", "c" lives here; struct
 * meta itself is plain data filled by the codec, the npy parser and the daemon.
 */
#include "meta.h"

#include <errno.h>
#include <string.h>

int meta_mode_parse(const char *s, enum meta_mode *ret_mode)
{
    enum meta_mode mode;

    if (s == NULL)
        return -EINVAL;
    if (strcmp(s, "r") == 0)
        mode = META_MODE_R;
    else if (strcmp(s, "r+") == 0)
        mode = META_MODE_RPLUS;
    else if (strcmp(s, "c") == 0)
        mode = META_MODE_C;
    else
        return -EINVAL;
    *ret_mode = mode;
    return 0;
}

const char *meta_mode_name(enum meta_mode mode)
{
    switch (mode) {
    case META_MODE_R:
        return "r";
    case META_MODE_RPLUS:
        return "r+";
    case META_MODE_C:
        return "c";
    }
    return "?";
}
