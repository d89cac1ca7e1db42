/* growth.h — persistent arrays whose file a writer changed behind the daemon's back.
 *
 * A client with an r+ descriptor of a plain file can fallocate or ftruncate it (only
 * memfds can be sealed): the kernel cannot stop it, so the daemon notices after the
 * fact. It looks at the file (fstatat by name, the same file checked by identity; or
 * fstat of the descriptor an array without a name kept) at start, at stat and sync of
 * the array; and, for the arrays attached r+ or adopted (and, at start, those a
 * process still holds open for writing), for as long as any process holds their file
 * open for writing (openers.h: a writer may keep its descriptor or mapping after its
 * release): at list, and up to GROWTH_BATCH at a time, in turn, at stats, before a
 * create under a byte quota, and by sweeps (libuv timers that run only while there
 * are arrays to look at, so an idle daemon sets no timer). An array attached r+ or
 * adopted goes on the fresh list; a sweep of it asks the kernel, once its writers
 * have released it, whether any process can still write to its file: if none can, it
 * lets go of it after one last look, else it moves it to the watched list, asked
 * again GROWTH_PROBES at a time every GROWTH_SWEEP_MS, or sooner while its passes
 * find files writers have let go of (growth_sweep_list). The fresh sweep asks up to
 * GROWTH_FRESH_PROBES a pass and, while a pass found some to ask about, comes back
 * after GROWTH_SHARE times the CPU time it took (a tenth of the loop at most), so that a
 * burst of creates is let go of in seconds and list soon looks at none of them. A
 * file nobody can write to keeps what the last look found, so list need not look at
 * it again.
 * Blocks allocated beyond what the data needs are charged to the owner (meta.grown,
 * quota.h); a file shorter than its data is reported as damaged (meta.damaged) and
 * logged.
 */
#ifndef DAEMON_GROWTH_H
#define DAEMON_GROWTH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/stat.h>

#include <uv.h>

#include "meta.h"
#include "sweep.h"

#define GROWTH_SWEEP_MS 1000     /* between two looks at the arrays writers hold */
#define GROWTH_BATCH 1024        /* files looked at in one go (about 1.5 ms here), in turn */
#define GROWTH_PROBES 64         /* of them, asked whether a writer is left (about 10 us each) */
#define GROWTH_FRESH_PROBES 128  /* fresh ones asked in one pass (about 1.5 ms here) */
#define GROWTH_SHARE 10          /* a fresh pass that asked any: the next in 10x its CPU time */
#define GROWTH_ANY_UID SWEEP_ANY_UID

struct daemon;
struct registry_array;

/* The arrays looked at (sweep.h): fresh, attached r+ or adopted since the kernel was
 * last asked about them; watched, a process could still write to them when it was. */
struct growth {
    struct sweep fresh;
    struct sweep watched;
    uint64_t sweeps;        /* passes of both sweeps since start (stats) */
};

/* Initialise d->growth (no timer runs yet). */
void growth_init(struct daemon *d);
/* Drop the watched arrays and close the timer (shutdown). Idempotent. */
void growth_close(struct daemon *d);

/* What st, the status of the file of m, says: *ret_grown, the bytes allocated beyond
 * what m's data needs (offset + nbytes rounded up to the file's block size), or 0
 * while that excess stays within a 64th of the size or one block, whichever is more
 * (the filesystem's own blocks); *ret_damaged, whether the file is shorter than
 * offset + nbytes. */
void growth_measure(const struct meta *m, const struct stat *st, uint64_t *ret_grown,
                    bool *ret_damaged);

/* Log what a persistent array found at start shows (m as growth_measure filled it). */
void growth_report_found(struct daemon *d, const struct meta *m);

/* Look at a's file now (a persistent array, by name or, without one, through the
 * descriptor it kept; others are left alone) and apply what it shows:
 * a->meta.grown charged to the owner through the quota, a->meta.damaged set or
 * cleared, each change logged once. */
void growth_check(struct daemon *d, struct registry_array *a);

/* Whether a's file may have changed since the daemon last looked: a persistent array
 * on either list (a writer may hold it) or attached r+ now. Nothing else can change a
 * file of the store (0700, the daemon's) but root by hand. */
bool growth_may_change(const struct registry_array *a);

/* How many arrays are looked at now, fresh and watched (stats). */
size_t growth_watched(const struct daemon *d);

/* growth_check of the fresh and watched arrays of uid (GROWTH_ANY_UID: of all), at
 * most GROWTH_BATCH of them (shared between the two lists when both hold some), the
 * next ones in turn at the next call. */
void growth_check_uid(struct daemon *d, uint32_t uid);

/* a was just attached r+ or adopted: put it on the fresh list (from the watched one
 * if there), looked at until a sweep finds no process that can write to its file. */
void growth_watch(struct daemon *d, struct registry_array *a);

/* a is being freed: stop watching it. The watch holds no reference, so it never keeps
 * an array, or its quota, alive. */
void growth_forget(struct daemon *d, struct registry_array *a);

#endif
