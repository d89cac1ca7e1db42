/* descriptors.h — the descriptions each client was handed: a connection's cache of
 * reopened array descriptors (fdcache.h, in its session), kept to send again, and the
 * replies that carry one. Above the transport: conn.c asks for a reply's descriptor
 * through conn_hooks.out_fd only when its first byte is sent, so a reply that waits
 * holds its array, not a descriptor, and sending one costs no open or close.
 */
#ifndef DAEMON_DESCRIPTORS_H
#define DAEMON_DESCRIPTORS_H

#include <stddef.h>

#include "conn.h"
#include "fdcache.h"
#include "meta.h"
#include "registry.h"

struct daemon;

/* Descriptors of removed persistent arrays that one connection's unread replies keep. */
#define DESCRIPTORS_PINNED_MAX FDCACHE_SIZE
/* The most descriptors one connection makes the daemon hold: its own (CONN_NOFILE),
 * its cached descriptions, DESCRIPTORS_PINNED_MAX kept for unread replies, and a
 * release ring's in a reply it leaves unread. A queued reply that carries an array's
 * descriptor holds the array, not a descriptor: it takes one from the cache when it is
 * sent, reopened if the cache gave it up, except for a persistent array removed
 * meanwhile (its file went with its name): those replies keep the descriptor the cache
 * held for it, up to DESCRIPTORS_PINNED_MAX; past that, or if the cache held none, the
 * connection is closed when the reply is due. */
#define DESCRIPTORS_NOFILE (CONN_NOFILE + FDCACHE_SIZE + DESCRIPTORS_PINNED_MAX + 1)

/* A descriptor of a in mode for c's peer: the one c was handed before for (a, mode)
 * if c still caches it, else a new description reopened by registry_descriptor and
 * cached. Two connections never get the same description. The descriptor stays c's
 * session's: a reply sends it through descriptors_send; never close it. At
 * EMFILE/ENFILE every connection's cache is given up (descriptors_drop_all) and the
 * reopen tried once more. 0 or -errno (-EPIPE when c is closed and caches none). */
int descriptors_get(struct conn *c, struct registry_array *a, enum meta_mode mode,
                    int *ret_fd);

/* Cache fd, a new description of a in mode made for c's peer (registry_descriptor's
 * kind, made before a was ready), where descriptors_get finds it. Takes fd. */
void descriptors_put(struct conn *c, struct registry_array *a, enum meta_mode mode, int fd);

/* Queue a reply (data, malloc'd, taken) that carries a descriptor of a in mode: the
 * one c's cache holds when its first byte is sent (call descriptors_get first, to
 * check there is one). While it waits it holds a reference to a, no descriptor; if
 * none can be had any more when it is sent, c is closed. As conn_send otherwise. */
int descriptors_send(struct conn *c, char *data, size_t len, struct registry_array *a,
                     enum meta_mode mode);

/* Give up c's cached descriptors of a (of every array when a is NULL): each is closed
 * now, or, when a is a removed persistent array that queued replies still need (see
 * DESCRIPTORS_NOFILE), once the last of them is sent. Returns how many were given up. */
size_t descriptors_drop(struct conn *c, const struct registry_array *a);

/* descriptors_drop for every connection of d: a removed array must not be kept alive
 * by them, and at EMFILE/ENFILE they are the descriptors the daemon can do without.
 * Returns how many were given up. */
size_t descriptors_drop_all(struct daemon *d, const struct registry_array *a);

/* conn_hooks.out_fd and .out_unref for the replies of descriptors_send: ref is the
 * array, tag its mode. */
int descriptors_out_fd(struct conn *c, void *ref, int tag, int *ret_fd);
void descriptors_out_unref(void *ref);

#endif
