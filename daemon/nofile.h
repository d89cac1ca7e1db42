/* nofile.h — sharrd's descriptor limit (RLIMIT_NOFILE): raised at start, and a warning
 * when it is below what the configured limits may need.
 */
#ifndef DAEMON_NOFILE_H
#define DAEMON_NOFILE_H

struct daemon;

/* Descriptors sharrd holds for itself: listener, spare, epoll, signals, store
 * directory, notify socket, files of creates and syncs in flight. */
#define NOFILE_OWN 64

/* Raise the soft limit to the hard one: each volatile array, each connection and each
 * description a connection caches holds a descriptor. */
void nofile_raise(struct daemon *d);

/* Warn when the descriptor limit is below what --max-connections and --max-arrays
 * may need: DESCRIPTORS_NOFILE per connection, one per volatile array, and sharrd's own (at
 * start, and again after a reload changes them). */
void nofile_check(struct daemon *d);

#endif
