/* leftover.h — arrays nobody is attached to that some process still holds open.
 *
 * A client can release its attachment (or close its connection) and keep a
 * descriptor or a mapping of the array, pass it on, or leave it to a child it forked.
 * A volatile array's memory (charged to sharrd's cgroup, which allocated it) and an
 * unlinked persistent array's disk space then stay taken, so when the last reference
 * the daemon has goes, the array is kept, still charged to its owner (quota.h), until
 * the kernel says that no other open description of its memfd or file is left
 * (openers.h). Held arrays are looked at again by a sweep every LEFTOVER_SWEEP_MS, up
 * to LEFTOVER_BATCH at a time, in turn (a libuv timer that runs only while there are
 * any), by stats, and before a create is refused for quota. No lease sees a
 * description opened with O_PATH (which a client can make of any descriptor it was
 * given): an array freed with nothing else left gives its pages back (memstore.h), or,
 * published (sealed: they cannot be), is watched with inotify for the last close of its
 * memfd, which the kernel reports once no description of any kind is left, and counts
 * until then. A persistent array's file, freed so, gives back its
 * blocks (a hole over all of it) when it is not root's or the daemon's uid's and no name but its trash leads to it (store_drop_blocks), or, with the daemon out
 * of descriptors to open it for that, stays counted; its trash name is removed when it
 * is freed, after that, in the same job on the thread pool. Nothing here survives a
 * restart: a new daemon does not know what the old one handed out.
 */
#ifndef DAEMON_LEFTOVER_H
#define DAEMON_LEFTOVER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <uv.h>

#include "sweep.h"

#define LEFTOVER_SWEEP_MS 1000
#define LEFTOVER_BATCH 64 /* looks in one go: each opens and leases a file, about 10 us */
#define LEFTOVER_ANY_UID SWEEP_ANY_UID

struct daemon;
struct registry_array;

/* The held arrays, each referenced, without a name or attachment (sweep.h). */
struct leftover_gone;

struct leftover {
    struct sweep held;
    bool own_lease; /* a memfd's own description takes a read lease when no other is
                     * open for writing (leftover.c), checked at leftover_init */
    int last_closes; /* inotify instance watching freed published memfds for their last
                      * close (registry_array.last_close_wd), made at leftover_init;
                      * -1 when that failed, then tried again when one is needed */
    uv_idle_t gone_idle;   /* queues the jobs of freed persistent files (leftover.c) at
                            * the loop's next turn, after the replies of this one */
    struct leftover_gone *gone; /* those jobs, not yet queued */
    bool gone_on;          /* gone_idle is initialised (until leftover_close) */
};

/* Initialise d->leftover (no timer runs yet) and find out whether a memfd's own
 * description takes a read lease (own_lease); warn once when the kernel cannot tell who
 * holds a file (leases disabled), as held arrays are then freed as before. */
void leftover_init(struct daemon *d);
/* Let go of every held array (they are freed: the daemon is stopping) and close the
 * timer. Idempotent; later leftover_keep calls keep nothing. */
void leftover_close(struct daemon *d);

/* The last reference to a just went. True when another process still holds its
 * memfd or file (a's descriptor, fd, is what is asked about): a is kept, with a
 * reference of the list's own, still charged. False when a is to be freed now: its
 * descriptor must be closed at once, as the lease that asked may still be on it. */
bool leftover_keep(struct daemon *d, struct registry_array *a);

/* Look again at the held arrays of uid (LEFTOVER_ANY_UID: of all), at most
 * LEFTOVER_BATCH of them, the next ones at the next call; free those let go of. */
void leftover_check(struct daemon *d, uint32_t uid);

#endif
