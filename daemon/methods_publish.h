/* methods_publish.h — publish: an array becomes complete and immutable
 * (methods_publish.c says what enforces it).
 */
#ifndef DAEMON_METHODS_PUBLISH_H
#define DAEMON_METHODS_PUBLISH_H

#include <stddef.h>

#include "codec.h"

struct access_peer;
struct conn;
struct daemon;
struct registry_array;

/* Publish a on behalf of peer (its owner or root, else -EPERM): sealed (volatile) or
 * made read-only on disk (persistent), marked published, and the opens waiting for
 * it woken. Publishing a published array succeeds and changes nothing. -EBUSY while a
 * grow of it runs; another negative errno when the seal or the file's mode cannot be
 * changed (nothing changed then). The message is in err. */
int methods_publish_array(struct daemon *d, const struct access_peer *peer,
                          struct registry_array *a, char *err, size_t errlen);

/* publish {"name"}: answers with the stat result. */
int methods_publish(struct conn *c, const struct codec_msg *msg);

#endif
