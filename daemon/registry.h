/* registry.h — the named arrays the daemon serves, their attachments, and the
 * opens waiting for a name to appear (waiters.h, answered when the name is ready).
 *
 * Names are kept in a sorted array of pointers: lookup is a binary search and a
 * list page after a cursor starts with one. An array outlives its name while
 * attachments or jobs hold references. A volatile array holds its memfd (its only
 * handle); a persistent one holds no descriptor, only its .npy's identity, and is
 * reopened by name in the store. Everything here runs on the loop.
 */
#ifndef DAEMON_REGISTRY_H
#define DAEMON_REGISTRY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <uv.h>

#include "meta.h"
#include "quota.h"
#include "store.h"
#include "waiters.h"

/* registry_array_new sets every field: one added here is set there too. */
struct registry_array {
    struct meta meta;  /* meta.nattached is kept current; meta.dtype.descr is the
                        * array's own copy (dtype_own), freed with it */
    struct quota *quota; /* charged for this array until it is freed, or NULL */
    struct registry *reg; /* the registry it was added to, for on_last */
    size_t watch_slot; /* 1 + its place in a sweep list of growth.c, 0 when in none */
    struct quota_cost charged; /* what quota holds for it now (growth.c updates it) */
    struct store_file_id file; /* a persistent array's .npy, once ready */
    uint64_t trash;    /* persistent, unlinked: the number of the trash name its file was
                        * given (store_unlink), for leftover.c; 0 for none */
    int fd;            /* a volatile array's memfd, O_RDWR, -1 until ready; for a
                        * persistent array -1, or once it lost its name, an O_RDONLY
                        * descriptor of its file (registry_keep_file) */
    int last_close_wd; /* volatile, freed but sealed (leftover.c): >0 the inotify
                        * watch that tells of its memfd's last close (fd is then -1),
                        * -1 once told, 0 not watched */
    unsigned refs;     /* the name, each attachment, each job in flight */
    unsigned writers;  /* attachments in mode r+ */
    /* The flags last, together: no padding between them. */
    bool ready;        /* false while its create runs: the name is reserved */
    bool named;        /* reachable by name (false once unlinked or replaced) */
    bool readers_made; /* volatile: an O_RDONLY description of its memfd may exist (one
                        * was made for a reader, or it was found at start, when an
                        * earlier daemon may have made some); every other description
                        * but the memfd's own is open for writing (leftover.c) */
    bool growing;      /* a grow of it runs (methods_grow.c): one at a time */
    bool watch_fresh;  /* that list is growth.c's fresh one, not its watched one */
    bool trash_by_free; /* persistent, unlinked: leftover.c removes its trash, not the
                         * unlink's own job */
};

/* One client's hold on an array, named by a daemon-unique handle. */
struct registry_attach {
    uint64_t handle;
    struct registry_array *array;
    enum meta_mode mode;
    int64_t since_ns;
};

/* Called when a loses its name (registry_remove), while it is still referenced. */
typedef void registry_removed_cb(void *arg, struct registry_array *a);
/* Called when the last reference to a goes, before a is freed: true when the callee
 * took a reference of its own (a lives on), false to free a now. */
typedef bool registry_last_cb(void *arg, struct registry_array *a);

struct registry {
    uv_loop_t *loop;
    struct registry_array **arrays; /* sorted by name */
    size_t n, cap;
    struct waiters waiters;         /* opens waiting for a name; found is the array */
    uint64_t next_handle;
    uint64_t nattached;             /* attachments held by all connections */
    uint64_t unlinked_attached;     /* arrays without a name that attachments still hold */
    struct quota *quota;            /* arrays added are charged here when set */
    registry_removed_cb *on_removed; /* or NULL */
    void *on_removed_arg;
    registry_last_cb *on_last;       /* or NULL */
    void *on_last_arg;
};

void registry_init(struct registry *reg, uv_loop_t *loop);
/* Drop every name. waiters_close must have run already (daemon_stop). */
void registry_close(struct registry *reg);

/* The array named name (ready or being created), or NULL. */
struct registry_array *registry_find(const struct registry *reg, const char *name);
/* Index in reg->arrays of the first name sorted after `after` ("" -> 0). */
size_t registry_after(const struct registry *reg, const char *after);

/* Add a name, keeping a copy of m (its record description too: m's may go as soon as
 * this returns). fd < 0 reserves it for a create still running (finish with
 * registry_ready or registry_remove); fd >= 0 adds a ready array and takes fd as
 * registry_ready does. Returns 0 and sets *ret (may be NULL), -EEXIST, or -ENOMEM
 * (fd is then still the caller's). */
int registry_add(struct registry *reg, const struct meta *m, int fd,
                 struct registry_array **ret);
/* Append a ready array found at start without keeping order; call registry_sort
 * when all are in. Takes fd as registry_ready does. 0 or -ENOMEM (fd closed). */
int registry_append(struct registry *reg, const struct meta *m, int fd);
void registry_sort(struct registry *reg);
/* The create of a reserved name finished with fd (taken): a volatile array keeps it,
 * a persistent one records the file's identity and closes it. Wakes its waiters. */
void registry_ready(struct registry *reg, struct registry_array *a, int fd);
/* a is ready (again), or now published: the opens waiting for its name are answered
 * with it from the next turn of the loop on (waiters.h), unless it is gone by then. */
void registry_wake(struct registry *reg, struct registry_array *a);
/* Remove a's name and tell on_removed; the array lives on while references remain. */
void registry_remove(struct registry *reg, struct registry_array *a);
/* Give a ready array removed with registry_remove its name back (an overwrite of it
 * failed) and wake the opens waiting for the name. 0, -EEXIST or -ENOMEM. */
int registry_restore(struct registry *reg, struct registry_array *a);

void registry_ref(struct registry_array *a);
/* Drop a reference; after the last one, unless on_last keeps a, closes its descriptor
 * and frees it. */
void registry_unref(struct registry_array *a);

/* The ready persistent array a is losing its name: keep an O_RDONLY descriptor of its
 * file (opened by name in s, checked to be a's) in a->fd, so what becomes of the file
 * can still be asked about (leftover.h, growth.h), and its blocks given back
 * (leftover.h), once the name is gone. Call while the
 * name still leads to the file (an unlink renames it first, an overwrite later).
 * Nothing is kept when it cannot be opened or the name holds another file. */
void registry_keep_file(const struct store *s, struct registry_array *a);

/* Record an attachment of a in mode (takes a reference). */
void registry_attach(struct registry *reg, struct registry_array *a, enum meta_mode mode,
                     struct registry_attach *ret);
void registry_detach(struct registry *reg, struct registry_attach *att);

/* A new descriptor of the ready array a in mode, a new open file description:
 * O_RDWR for r+, else O_RDONLY so the client cannot write through it. A volatile
 * array's memfd is reopened through procfd, the daemon's /proc/self/fd (procfd.h; an
 * O_RDONLY one sets a->readers_made); a persistent array's .npy is
 * opened by name in store s and checked to be a's file (store_reopen: -ESTALE when
 * the name now holds another file, -ENOENT when it holds none). The caller owns it
 * (conn.c caches it per connection). 0 or -errno. */
int registry_descriptor(const struct store *s, int procfd, struct registry_array *a,
                        enum meta_mode mode, int *ret_fd);

/* Wait for name to become ready, up to timeout_ms (-1: forever), on behalf of owner
 * (waiters_cancel ends them). cb gets the struct registry_array * as found. 0 or
 * -ENOMEM; cb is called later. */
int registry_wait(struct registry *reg, const char *name, int64_t timeout_ms,
                  struct waiters_owner *owner, waiters_cb *cb, void *arg);

#endif
