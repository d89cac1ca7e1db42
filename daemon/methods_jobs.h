/* methods_jobs.h — the methods whose disk work runs on libuv's thread pool: create,
 * adopt, unlink (the deletion of the unlinked file) and sync.
 */
#ifndef DAEMON_METHODS_JOBS_H
#define DAEMON_METHODS_JOBS_H

#include "codec.h"

struct conn;
struct daemon;

/* The handlers of create, unlink and sync: each answers msg exactly once, now or when
 * its job is done, and returns 0 or the error (answered, or from uv_queue_work). */
int methods_create(struct conn *c, const struct codec_msg *msg);
int methods_unlink(struct conn *c, const struct codec_msg *msg);
int methods_sync(struct conn *c, const struct codec_msg *msg);

/* adopt, the one method that takes descriptors: the nfds of fds are taken (closed
 * once nothing needs them, whatever happens); answered like the others. */
int methods_adopt(struct conn *c, const struct codec_msg *msg, const int *fds, unsigned nfds);

/* Free the finished job kept for the next one; at close, once no job runs. */
void methods_jobs_close(struct daemon *d);

#endif
