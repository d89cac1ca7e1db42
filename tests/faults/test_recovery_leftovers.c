/* test_recovery_leftovers.c — what crashes leave in the store (temporary records,
 * data in flight, trash) is swept by recovery, which, killed at each of its own steps,
 * ends as if it had not been; a leftover in an unlink's way never makes the unlink
 * half done.
 *
 * The test runs as root, as does its sharrd; arrays belong to two unprivileged uids
 * whose requests come from forked children (recovery.h).
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "model.h"
#include "recovery.h"
#include "testskip.h"

static int child_unlink(void *arg)
{
    struct sharr_info in;
    sharr_t *c = recovery_child_connect();
    int rc = sharr_unlink(c, arg);
    if (rc != 0)
        fprintf(stderr, "unlink %s: %s\n", (const char *)arg, sharr_last_error());
    CHILD_CHECK(rc == 0);
    CHILD_CHECK(sharr_stat(c, arg, &in) == -ENOENT);
    sharr_disconnect(c);
    return 0;
}

/* A leftover recovery cannot remove (a directory) where an unlink would put its data
 * on the way out: the unlink, committed by the removal of its record, still succeeds
 * and is whole, rather than failing with its record gone and its name still served
 * until a restart makes it vanish. */
static void test_unlink_is_whole_when_a_leftover_takes_its_trash_name(void **state)
{
    struct harness *h = *state;
    struct recovery_job a = { "doomed", OLD_N, 0600, 0, 61, 0 };
    assert_int_equal(harness_daemon_stop(h), 0);
    for (int i = 0; i < 8; i++) {
        char path[512];
        snprintf(path, sizeof path, "%s/.trash-%d-%u", h->store, i, (unsigned)U1);
        assert_int_equal(mkdir(path, 0700), 0);
    }
    harness_daemon_start(h);
    recovery_as_user(U1, recovery_child_create, &a);
    recovery_as_user(U1, child_unlink, (void *)"doomed");
    harness_daemon_restart(h);
    recovery_assert_absent(h, "doomed");
    recovery_as_user(U1, recovery_child_create, &a);
    recovery_assert_array(h, "doomed", OLD_N, 61, U1, 0600);
}

/* The states whose recovery rewrites a record. */
#define PLANT_NARROW 1 /* a version 1 record, an older daemon's narrower one beside it */
#define PLANT_COPIED 2 /* data copied to a new inode */

/* Leave in h's store, for names beginning with p, what crashes of every kind leave
 * (STORE.md, "Recovery"): those of what (PLANT_*), a create committed before its data
 * took its name, an uncommitted create of a new name and of an overwrite, an unlinked
 * array's data, a trash file. The daemon is stopped. */
static void plant_leftovers(struct harness *h, const char *p, uint64_t seed, int what)
{
    /* The arrays, created in this order, each by its uid with seed + its place + 1. */
    static const struct {
        const char *name;
        uint64_t n;
        uint32_t perm, uid;
        int only_if; /* a PLANT_* bit without which it is not made, or 0 */
    } arrays[] = {
        { "narrow", OLD_N, 0644, U1, PLANT_NARROW },
        { "done", OLD_N, 0600, U1, 0 },
        { "donenew", NEW_N, 0640, U2, 0 },
        { "copied", OLD_N, 0640, U1, PLANT_COPIED },
        { "unlinked", OLD_N, 0640, U1, 0 },
        { "fresh", OLD_N, 0640, U2, 0 },
        { "kept", OLD_N, 0600, U2, 0 },
    };
    char a[64], b[64], c[512];
    for (size_t i = 0; i < sizeof arrays / sizeof arrays[0]; i++) {
        if (arrays[i].only_if != 0 && !(what & arrays[i].only_if))
            continue;
        snprintf(a, sizeof a, "%s%s", p, arrays[i].name);
        struct recovery_job job = { a, arrays[i].n, arrays[i].perm, 0, seed + i + 1, 0 };
        recovery_as_user(arrays[i].uid, recovery_child_create, &job);
    }
    assert_int_equal(harness_daemon_stop(h), 0);

#define N(buf, fmt) snprintf(buf, sizeof buf, fmt, p)
#define PLANT(fmt, text) (N(a, fmt), recovery_plant(h, a, text))
#define RENAME(from, to) (N(a, from), N(b, to), recovery_plant_rename(h, a, b))
#define COPY(from, to) (N(a, from), N(b, to), recovery_plant_copy(h, a, b))
    /* narrow: 0644 in force, an older daemon's chmod to 0600 cut short */
    if (what & PLANT_NARROW) {
        PLANT("%snarrow.meta", "sharr-meta 1 61001 61001 644 1700000000000000000\n");
        PLANT(".tmp-%snarrow.meta", "sharr-meta 1 61001 61001 600 1700000000000000000\n");
    }
    /* done: an overwrite (by U2's data and record) committed, its rename not done */
    RENAME("%sdonenew.npy", ".inflight-%sdone.npy");
    RENAME("%sdonenew.meta", "%sdone.meta");
    PLANT(".tmp-%sdone.meta", "");
    /* copied: its data a new inode, and a record never put in force */
    if (what & PLANT_COPIED) {
        COPY("%scopied.npy", "%scopied.npy.copy");
        RENAME("%scopied.npy.copy", "%scopied.npy");
        PLANT(".tmp-%scopied.meta", "sharr-meta 2 ino=1");
    }
    /* unlinked: its record removed, not yet its data */
    N(a, "%sunlinked.meta");
    snprintf(c, sizeof c, "%s/%s", h->store, a);
    assert_int_equal(unlink(c), 0);
    /* never: a create of a new name, uncommitted */
    RENAME("%sfresh.npy", ".inflight-%snever.npy");
    RENAME("%sfresh.meta", ".tmp-%snever.meta");
    /* kept: an overwrite of it, uncommitted */
    COPY("%skept.npy", ".inflight-%skept.npy");
    COPY("%skept.meta", ".tmp-%skept.meta");
    PLANT(".trash-%s", "data of an unlinked array");
#undef COPY
#undef RENAME
#undef PLANT
#undef N
}

/* The names of p are as one uninterrupted recovery of plant_leftovers(what) leaves
 * them; returns how many arrays they are. */
static int assert_recovered(struct harness *h, const char *p, uint64_t seed, int what)
{
    char a[64];
    snprintf(a, sizeof a, "%snarrow", p);
    if (what & PLANT_NARROW)
        recovery_assert_array(h, a, OLD_N, seed + 1, U1, 0600);
    snprintf(a, sizeof a, "%sdone", p);
    recovery_assert_array(h, a, NEW_N, seed + 3, U2, 0640);
    snprintf(a, sizeof a, "%scopied", p);
    if (what & PLANT_COPIED)
        recovery_assert_array(h, a, OLD_N, seed + 4, U1, 0640);
    snprintf(a, sizeof a, "%skept", p);
    recovery_assert_array(h, a, OLD_N, seed + 7, U2, 0600);
    const char *gone[] = { "donenew", "unlinked", "fresh", "never" };
    for (size_t i = 0; i < sizeof gone / sizeof gone[0]; i++) {
        snprintf(a, sizeof a, "%s%s", p, gone[i]);
        recovery_assert_absent(h, a);
    }
    return 2 + !!(what & PLANT_NARROW) + !!(what & PLANT_COPIED);
}

/* Recovery killed after each of its steps (a file removed or renamed, a record
 * rewritten) and inside each rewrite of a record, restarted each time, ends exactly
 * where one uninterrupted recovery ends: the same arrays with the same data, owners
 * and bits, and nothing left over. */
static void test_recovery_killed_at_each_of_its_steps_ends_as_one_that_was_not(void **state)
{
    struct harness *h = *state;
    /* The first kill at point, then one after each step until recovery is done. */
    static const struct {
        const char *point;
        int what;
    } runs[] = {
        { "recover-step", PLANT_NARROW | PLANT_COPIED },
        { "meta-opened", PLANT_NARROW },    { "meta-opened", PLANT_COPIED },
        { "meta-written", PLANT_NARROW },   { "meta-written", PLANT_COPIED },
        { "meta-committed", PLANT_NARROW }, { "meta-committed", PLANT_COPIED },
    };
    int total = 0;

    for (size_t i = 0; i < sizeof runs / sizeof runs[0]; i++) {
        char p[16], why[4096];
        snprintf(p, sizeof p, "r%zu", i);
        plant_leftovers(h, p, 500 + 10 * i, runs[i].what);
        if (!fault_daemon_start_or_die(h, runs[i].point))
            fail_msg("recovery never reached the fault point %s", runs[i].point);
        int kills = 1;
        while (fault_daemon_start_or_die(h, "recover-step")) {
            kills++;
            assert_true(kills < 64);
        }
        total += kills;
        harness_daemon_restart(h);
        int narrays = 0;
        for (size_t k = 0; k <= i; k++) {
            snprintf(p, sizeof p, "r%zu", k);
            narrays += assert_recovered(h, p, 500 + 10 * k, runs[k].what);
        }
        sharr_t *c = harness_connect(h);
        struct sharr_stats st = harness_stats(c);
        sharr_disconnect(c);
        assert_int_equal(st.arrays_damaged, 0);
        if (model_store_clean(h, narrays, why, sizeof why) < 0)
            fail_msg("after recovery killed at %s: the store holds %s", runs[i].point, why);
    }
    print_message("recovery killed %d times: every time it ended as if it had not been\n",
                  total);
}

#define T(fn) cmocka_unit_test_setup_teardown(fn, recovery_setup, harness_teardown)

int main(void)
{
    const struct CMUnitTest tests[] = {
        T(test_recovery_killed_at_each_of_its_steps_ends_as_one_that_was_not),
        T(test_unlink_is_whole_when_a_leftover_takes_its_trash_name),
    };
    return testskip_exit(cmocka_run_group_tests(tests, NULL, NULL));
}
