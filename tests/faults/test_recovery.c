/* test_recovery.c — what sharrd makes of its store after a crash (daemon/STORE.md):
 * a killed chmod never costs an array or frees its name, a killed overwrite never
 * gives the old data the new permission bits, and a record that cannot be verified
 * keeps its array's files and name, counted in stats.
 *
 * The test runs as root, as does its sharrd; arrays belong to two unprivileged uids
 * whose requests come from forked children.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "asuser.h"
#include "fault.h"

#define U1 61001u
#define U2 61002u
#define OLD_N 4096u
#define NEW_N 8192u

static struct harness *g_h; /* for the children, which only read it */

/* What a child does: create (or overwrite) name with n <u8 elements and perm, filled
 * with the pattern of seed, and check the result is want. */
struct job {
    const char *name;
    uint64_t n;
    uint32_t perm;
    int overwrite;
    uint64_t seed;
    int want;
};

static int child_create(void *arg)
{
    const struct job *j = arg;
    const uint64_t shape[1] = { j->n };
    struct sharr_create_opts o = { .persist = 1, .perm = j->perm, .overwrite = j->overwrite };
    sharr_array_t *a = NULL;
    sharr_t *c = NULL;

    CHILD_CHECK(sharr_connect(g_h->sock, &c) == 0);
    int rc = sharr_create(c, j->name, "<u8", 1, shape, &o, &a);
    if (j->want != 1)
        CHILD_CHECK(rc == j->want);
    else
        CHILD_CHECK(rc != 0); /* 1: any failure (the daemon died) */
    if (rc == 0) {
        fault_fill(sharr_array_data(a), j->n * 8, j->seed);
        CHILD_CHECK(sharr_sync(a) == 0);
        CHILD_CHECK(sharr_close(a) == 0);
    }
    sharr_disconnect(c);
    return 0;
}

static void as_user(uint32_t uid, int (*fn)(void *), void *arg)
{
    assert_int_equal(asuser_run(g_h, uid, uid, fn, arg), 0);
}

static int setup(void **state)
{
    int r = harness_setup(state);
    if (r == 0) {
        g_h = *state;
        asuser_open_dir(g_h);
    }
    return r;
}

/* name exists with n elements of pattern seed, owner uid and perm. */
static void assert_array(struct harness *h, const char *name, uint64_t n, uint64_t seed,
                         uint32_t uid, uint32_t perm)
{
    sharr_t *c = harness_connect(h);
    sharr_array_t *a = NULL;
    assert_rc(sharr_open(c, name, "r", NULL, &a), 0);
    const struct sharr_info *in = sharr_array_info(a);
    assert_int_equal(in->shape[0], n);
    assert_int_equal(in->uid, uid);
    assert_int_equal(in->perm, perm);
    assert_true(fault_check(sharr_array_data(a), n * 8, seed));
    assert_rc(sharr_close(a), 0);
    sharr_disconnect(c);
}

static void plant(const struct harness *h, const char *file, const char *text)
{
    char path[512];
    snprintf(path, sizeof path, "%s/%s", h->store, file);
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    assert_true(fd >= 0);
    assert_int_equal(write(fd, text, strlen(text)), (ssize_t)strlen(text));
    assert_int_equal(close(fd), 0);
}

/* Issue 12, finding 1 (a): a chmod killed just after it created its temporary record
 * leaves it empty beside the array. The array must come back as it was, and its name
 * must stay its owner's. */
static void test_empty_record_of_a_killed_chmod_keeps_the_array_and_its_name(void **state)
{
    struct harness *h = *state;
    struct job mine = { "mine", OLD_N, 0600, 0, 7, 0 };
    as_user(U1, child_create, &mine);
    assert_int_equal(harness_daemon_stop(h), 0);
    plant(h, ".tmp-mine.meta", "");
    harness_daemon_start(h);

    assert_array(h, "mine", OLD_N, 7, U1, 0600);
    /* Another uid cannot take the name. */
    struct job theirs = { "mine", NEW_N, 0644, 0, 8, -EEXIST };
    as_user(U2, child_create, &theirs);
    assert_array(h, "mine", OLD_N, 7, U1, 0600);
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
        struct job make = { name, OLD_N, 0600, 0, 100 + (uint64_t)i, 0 };
        as_user(U1, child_create, &make);
        fault_daemon_kill(h);
        fault_daemon_start(h, "create-meta-written", NULL);
        struct job over = { name, NEW_N, 0644, 1, 200 + (uint64_t)i, 1 };
        as_user(U1, child_create, &over);
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

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(
            test_empty_record_of_a_killed_chmod_keeps_the_array_and_its_name, setup,
            harness_teardown),
        cmocka_unit_test_setup_teardown(
            test_overwrite_killed_after_its_record_never_gives_old_data_new_bits, setup,
            harness_teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
