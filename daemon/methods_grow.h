/* methods_grow.h — grow: an array's growing axis gets longer in place
 * (methods_grow.c).
 */
#ifndef DAEMON_METHODS_GROW_H
#define DAEMON_METHODS_GROW_H

#include "codec.h"

struct conn;

/* grow {"name", "len"}: answers, once the work is done, with the stat result. */
int methods_grow(struct conn *c, const struct codec_msg *msg);

#endif
