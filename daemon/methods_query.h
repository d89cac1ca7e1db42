/* methods_query.h — the methods that read or change what is known of arrays without
 * attaching: stat, list, stats, holders, chmod and chown; and watch, which subscribes
 * to what happens to them.
 */
#ifndef DAEMON_METHODS_QUERY_H
#define DAEMON_METHODS_QUERY_H

#include "codec.h"

struct conn;

/* The handlers: each answers msg exactly once, now, and returns 0 or the error
 * answered. list and holders answer a short page while reply queues are full. */
int methods_stat(struct conn *c, const struct codec_msg *msg);
int methods_list(struct conn *c, const struct codec_msg *msg);
int methods_stats(struct conn *c, const struct codec_msg *msg);
int methods_holders(struct conn *c, const struct codec_msg *msg);
int methods_chmod(struct conn *c, const struct codec_msg *msg);
int methods_chown(struct conn *c, const struct codec_msg *msg);
/* watch: c hears of events on the names under the prefix asked for, from now until it
 * closes (watch.h); one watch per connection (EBUSY), --max-watches-per-uid (EMFILE). */
int methods_watch(struct conn *c, const struct codec_msg *msg);

#endif
