/* test_recovery_killed_operations.c — the daemon killed inside a persistent operation
 * (daemon/STORE.md: create, overwrite, chmod, chown, unlink, sync, adopt, grow,
 * publish): at every fault point of every operation of three uids each name is
 * exactly as before or after it, a killed chmod never costs an array or frees its
 * name, a killed overwrite never gives the old data the new permission bits, and a
 * killed grow leaves the old shape or the new one with a header that says so.
 *
 * The test runs as root, as does its sharrd; arrays belong to root and to two
 * unprivileged uids whose requests come from forked children (recovery.h).
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

/* Issue 12, finding 1 (a): a chmod killed just after it created its temporary record
 * leaves it empty beside the array. The array must come back as it was, and its name
 * must stay its owner's. */
static void test_empty_record_of_a_killed_chmod_keeps_the_array_and_its_name(void **state)
{
    struct harness *h = *state;
    const struct recovery_job made[] = { { "mine", OLD_N, 0600, 0, 7, 0 } };
    recovery_make(h, U1, made, sizeof made / sizeof made[0]);
    recovery_plant(h, ".tmp-mine.meta", "");
    harness_daemon_start(h);

    recovery_assert_array(h, "mine", OLD_N, 7, U1, 0600);
    /* Another uid cannot take the name. */
    struct recovery_job theirs = { "mine", NEW_N, 0644, 0, 8, -EEXIST };
    recovery_as_user(U2, recovery_child_create, &theirs);
    recovery_assert_array(h, "mine", OLD_N, 7, U1, 0600);
}

/* Issue 12, finding 1 (b): an overwrite killed after its new record was written, on
 * twelve names (the order in which a directory lists its files varies by name).
 * Each name then holds the old array with its old bits or the new one with its new
 * bits; never the old data with the new bits. */
static void test_overwrite_killed_after_its_record_never_gives_old_data_new_bits(void **state)
{
    struct harness *h = *state;
    int old = 0, new = 0;

    for (int i = 0; i < 12; i++) {
        char name[16];
        snprintf(name, sizeof name, "over%d", i);
        struct recovery_job make = { name, OLD_N, 0600, 0, 100 + (uint64_t)i, 0 };
        recovery_as_user(U1, recovery_child_create, &make);
        fault_daemon_kill(h);
        fault_daemon_start(h, "create-meta-written", NULL);
        struct recovery_job over = { name, NEW_N, 0644, 1, 200 + (uint64_t)i, 1 };
        recovery_as_user(U1, recovery_child_create, &over);
        assert_int_equal(fault_daemon_reap(h), 1);
        fault_daemon_start(h, NULL, NULL);

        sharr_t *c = harness_connect(h);
        struct sharr_info in;
        assert_rc(sharr_stat(c, name, &in), 0);
        sharr_disconnect(c);
        if (in.shape[0] == OLD_N && in.perm != 0600)
            print_error("%s: the old array came back with perm %04o\n", name, in.perm);
        assert_true(in.shape[0] == OLD_N ? in.perm == 0600 : in.perm == 0644);
        *(in.shape[0] == OLD_N ? &old : &new) += 1;
    }
    print_message("12 overwrites killed after their record: %d old, %d new\n", old, new);
}

/* ---- every fault point of every operation ---- */

#define NAMES_MAX 128

struct named {
    char name[MODEL_NAME_MAX];
    struct model_state state;
};

struct world {
    struct named v[NAMES_MAX];
    int n;
};

static struct model_state *world_state(struct world *w, const char *name)
{
    for (int i = 0; i < w->n; i++)
        if (strcmp(w->v[i].name, name) == 0)
            return &w->v[i].state;
    assert_true(w->n < NAMES_MAX);
    snprintf(w->v[w->n].name, MODEL_NAME_MAX, "%s", name);
    w->v[w->n].state = (struct model_state){ 0 };
    return &w->v[w->n++].state;
}

/* Every name is as the world says, the store holds nothing else, nothing is damaged. */
static void assert_world(struct harness *h, const struct world *w, const char *after)
{
    char why[4096];
    int narrays = 0;
    sharr_t *c = harness_connect(h);
    for (int i = 0; i < w->n; i++) {
        if (model_match(c, w->v[i].name, &w->v[i].state, 1, why, sizeof why) < 0) {
            char want[160];
            model_describe(&w->v[i].state, want, sizeof want);
            print_error("after %s: %s is %s; want %s\n", after, w->v[i].name, why, want);
            fail();
        }
        narrays += w->v[i].state.exists;
    }
    struct sharr_stats st = harness_stats(c);
    sharr_disconnect(c);
    assert_int_equal(st.arrays_damaged, 0);
    assert_int_equal(st.arrays_persistent, narrays);
    if (model_store_clean(h, narrays, why, sizeof why) < 0) {
        print_error("after %s: the store holds %s; want %d arrays and nothing else\n", after,
                    why, narrays);
        fail();
    }
}

static const struct {
    enum model_kind kind;
    const char *point;
    int committed;
} points[] = {
    { MODEL_CREATE, "create-opened", 0 },        { MODEL_CREATE, "create-reserved", 0 },
    { MODEL_CREATE, "create-flushed", 0 },       { MODEL_CREATE, "meta-opened", 0 },
    { MODEL_CREATE, "meta-written", 0 },         { MODEL_CREATE, "create-meta-written", 0 },
    { MODEL_CREATE, "create-committed", 1 },     { MODEL_CREATE, "create-done", 1 },
    { MODEL_OVERWRITE, "create-opened", 0 },     { MODEL_OVERWRITE, "create-reserved", 0 },
    { MODEL_OVERWRITE, "create-flushed", 0 },    { MODEL_OVERWRITE, "meta-opened", 0 },
    { MODEL_OVERWRITE, "meta-written", 0 },      { MODEL_OVERWRITE, "create-meta-written", 0 },
    { MODEL_OVERWRITE, "create-committed", 1 },  { MODEL_OVERWRITE, "create-done", 1 },
    { MODEL_CHMOD, "meta-opened", 0 },           { MODEL_CHMOD, "meta-written", 0 },
    { MODEL_CHMOD, "meta-committed", 1 },        { MODEL_CHOWN, "meta-opened", 0 },
    { MODEL_CHOWN, "meta-written", 0 },          { MODEL_CHOWN, "meta-committed", 1 },
    { MODEL_UNLINK, "unlink-uncommitted", 1 },   { MODEL_UNLINK, "unlink-trashed", 1 },
    { MODEL_SYNC, "sync-opened", 0 },            { MODEL_SYNC, "sync-flushed", 0 },
    /* adopt takes only files of sharrd's uid that the peer owns: root's */
    { MODEL_ADOPT, "adopt-linked", 0 },          { MODEL_ADOPT, "adopt-flushed", 0 },
    { MODEL_ADOPT, "meta-opened", 0 },           { MODEL_ADOPT, "meta-written", 0 },
    { MODEL_ADOPT, "create-meta-written", 0 },   { MODEL_ADOPT, "create-committed", 1 },
    { MODEL_ADOPT, "create-done", 1 },
    { MODEL_GROW, "grow-reserved", 0 },          { MODEL_GROW, "grow-written", 1 },
    { MODEL_GROW, "grow-done", 1 },              { MODEL_PUBLISH, "publish-done", 1 },
};

static void test_every_fault_point_of_every_operation_leaves_before_or_after(void **state)
{
    struct harness *h = *state;
    static const uint32_t uids[] = { 0, U1, U2 };
    static struct world w;
    int kills = 0;

    memset(&w, 0, sizeof w);
    for (int u = 0; u < 3; u++) {
        uint32_t uid = uids[u];
        for (size_t i = 0; i < sizeof points / sizeof points[0]; i++) {
            /* An adopt of a new name, then one over an existing array. */
            for (int over = 0; over <= (points[i].kind == MODEL_ADOPT); over++) {
                if (points[i].kind == MODEL_ADOPT && uid != 0)
                    continue;
                char what[96];
                struct model_op op = { .kind = points[i].kind };
                snprintf(op.name, sizeof op.name, "%s-%zu-%d-%d", model_kind_name(op.kind), i,
                         u, over);
                snprintf(what, sizeof what, "%s killed at %s by uid %u", op.name,
                         points[i].point, (unsigned)uid);
                struct model_state *st = world_state(&w, op.name);
                /* Before: an array of uid, 0600, filled (so its data is not the zeros
                 * of a new one), unless the operation makes one. */
                if (op.kind != MODEL_CREATE && !(op.kind == MODEL_ADOPT && !over)) {
                    struct model_op make = { .kind = MODEL_CREATE, .n = 100 + i, .perm = 0600 };
                    memcpy(make.name, op.name, sizeof make.name);
                    recovery_as_user(uid, recovery_child_op, &make);
                    *st = model_apply(st, &make, uid, uid);
                    struct model_op fill = { .kind = MODEL_FILL, .seed = 1000 + i };
                    memcpy(fill.name, op.name, sizeof fill.name);
                    recovery_as_user(uid, recovery_child_op, &fill);
                    *st = model_apply(st, &fill, uid, uid);
                }
                op.n = 2000 + i; /* longer than the array before: a grow's new length */
                op.seed = 3000 + i;
                op.perm = 0644;
                op.uid = uid == 0 ? U2 : SHARR_ID_KEEP;
                op.gid = 61234;
                snprintf(op.path, sizeof op.path, "%s/adoptee-%zu-%d.npy", h->dir, i, over);

                fault_daemon_kill(h);
                fault_daemon_start(h, points[i].point, NULL);
                assert_int_equal(recovery_as_uid(uid, recovery_child_op, &op), 1);
                if (fault_daemon_reap(h) != 1)
                    fail_msg("%s: the daemon did not reach its fault point", what);
                kills++;
                if (points[i].committed)
                    *st = model_apply(st, &op, uid, uid);
                fault_daemon_start(h, NULL, NULL);
                assert_world(h, &w, what);
                if (op.kind == MODEL_ADOPT) {
                    /* The client's file: linked into the store or as it was. */
                    struct stat sb;
                    assert_int_equal(stat(op.path, &sb), 0);
                    assert_int_equal(sb.st_nlink, points[i].committed ? 2 : 1);
                    assert_int_equal(unlink(op.path), 0);
                }
            }
        }
    }
    print_message("%d kills at fault points: every name before or after its operation, "
                  "nothing else in the store\n", kills);
}

/* A grow killed at each of its steps (store_grow.c) leaves the array of the old shape
 * or of the new one, with its data intact, and its .npy's own header (what numpy.load
 * reads) saying the same shape as the daemon: never a torn header. */
static void test_grow_killed_at_each_step_leaves_old_or_new_shape(void **state)
{
    struct harness *h = *state;
    static const struct {
        const char *point;
        uint64_t want; /* rows after the restart */
    } steps[] = { { "grow-reserved", 3 }, { "grow-written", 9 }, { "grow-done", 9 } };

    for (size_t i = 0; i < sizeof steps / sizeof steps[0]; i++) {
        char name[32];
        const uint64_t shape[2] = { 3, 512 };
        struct sharr_create_opts co = { .size = sizeof(co), .persist = 1 };
        sharr_array_t *a = NULL;
        snprintf(name, sizeof name, "g%zu", i);
        fault_daemon_kill(h);
        fault_daemon_start(h, steps[i].point, NULL);
        sharr_t *c = harness_connect(h);
        assert_rc(sharr_create(c, name, "<u8", 2, shape, &co, &a), 0);
        fault_fill(sharr_array_data(a), sharr_array_info(a)->nbytes, 40 + i);
        assert_rc(sharr_sync(a), 0);
        assert_true(sharr_grow(c, name, 9, NULL) < 0);
        if (fault_daemon_reap(h) != 1)
            fail_msg("grow: the daemon did not reach %s", steps[i].point);
        sharr_close(a);
        sharr_disconnect(c);
        fault_daemon_start(h, NULL, NULL);
        c = harness_connect(h);
        struct sharr_info info, file;
        assert_rc(sharr_stat(c, name, &info), 0);
        assert_int_equal(info.shape[0], steps[i].want);
        unsigned char head[4096];
        int fd = open(info.path, O_RDONLY | O_CLOEXEC);
        assert_true(fd >= 0);
        assert_int_equal(pread(fd, head, sizeof head, 0), (ssize_t)sizeof head);
        close(fd);
        assert_rc(sharr_npy_parse(head, sizeof head, &file), 0);
        assert_int_equal(file.shape[0], steps[i].want);
        assert_int_equal(file.shape[1], 512);
        assert_rc(sharr_open(c, name, "r", NULL, &a), 0);
        assert_int_equal(fault_check(sharr_array_data(a), 3 * 512 * 8, 40 + i), 1);
        assert_rc(sharr_close(a), 0);
        sharr_disconnect(c);
    }
}

#define T(fn) cmocka_unit_test_setup_teardown(fn, recovery_setup, harness_teardown)

int main(void)
{
    const struct CMUnitTest tests[] = {
        T(test_grow_killed_at_each_step_leaves_old_or_new_shape),
        T(test_empty_record_of_a_killed_chmod_keeps_the_array_and_its_name),
        T(test_overwrite_killed_after_its_record_never_gives_old_data_new_bits),
        T(test_every_fault_point_of_every_operation_leaves_before_or_after),
    };
    return testskip_exit(cmocka_run_group_tests(tests, NULL, NULL));
}
