/* methods_attach.h — the methods that make and drop attachments: open (now, or once its
 * name appears), release (as a request or a notification) and ring, the connection's
 * release ring; and the attach reply create shares with open.
 */
#ifndef DAEMON_METHODS_ATTACH_H
#define DAEMON_METHODS_ATTACH_H

#include <stdint.h>

#include <msgpack.h>

#include "codec.h"
#include "registry.h"

struct conn;

/* Attach a to c in mode and reply with the metadata, the handle and a descriptor (the
 * description c was handed for (a, mode) before when c still caches it); returns 0 or
 * the error answered. */
int methods_attach_reply(struct conn *c, uint32_t msgid, struct registry_array *a,
                         enum meta_mode mode);

/* The handlers of open, release, ring and gens: each answers msg exactly once, now or later
 * (an open that waits for its name), and returns 0 or the error answered. */
int methods_open(struct conn *c, const struct codec_msg *msg);
/* methods_open of a request already parsed (req, read during the call; msgid its id): one reply,
 * now or when the name appears. Returns 0 or what methods_error returns. */
int methods_open_parsed(struct conn *c, uint32_t msgid, const struct codec_open *req);
int methods_release(struct conn *c, const struct codec_msg *msg);
int methods_ring(struct conn *c, const struct codec_msg *msg);
int methods_gens(struct conn *c, const struct codec_msg *msg);

/* release as a notification: the same effect, and no reply, whatever happened. */
void methods_release_notified(struct conn *c, const struct codec_msg *msg);

#endif
