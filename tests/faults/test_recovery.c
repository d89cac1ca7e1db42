/* test_recovery.c — what sharrd makes of its store after a crash (daemon/STORE.md):
 * a killed chmod never costs an array or frees its name, a killed overwrite never
 * gives the old data the new permission bits, the daemon killed at every fault point
 * of every persistent operation (of three uids) leaves each name exactly before or
 * after the operation, a record that cannot be verified keeps its array's files and
 * name, counted in stats, and a store of the record format before it still loads.
 *
 * The test runs as root, as does its sharrd; arrays belong to root and to two
 * unprivileged uids whose requests come from forked children.
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
#include "model.h"

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
    struct sharr_create_opts o = { .size = sizeof(o), .persist = 1, .perm = j->perm,
                                   .overwrite = j->overwrite };
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

/* Run fn(arg) in a child of uid (gid the same); its exit code. */
static int as_uid(uint32_t uid, int (*fn)(void *), void *arg)
{
    if (uid != 0)
        return asuser_run(g_h, uid, uid, fn, arg);
    fflush(NULL);
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0)
        _exit(fn(arg));
    int status = 0;
    assert_int_equal(waitpid(pid, &status, 0), pid);
    return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

static void as_user(uint32_t uid, int (*fn)(void *), void *arg)
{
    assert_int_equal(as_uid(uid, fn, arg), 0);
}

/* A child running one model operation: exit 0 when it succeeded, 1 when it failed. */
static int child_op(void *arg)
{
    sharr_t *c = NULL;
    CHILD_CHECK(sharr_connect(g_h->sock, &c) == 0);
    int rc = model_do(c, arg);
    sharr_disconnect(c);
    return rc == 0 ? 0 : 1;
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

/* ---- records and data that do not verify ---- */

static void read_file(const struct harness *h, const char *file, char *out, size_t len,
                      size_t *ret_n)
{
    char path[512];
    snprintf(path, sizeof path, "%s/%s", h->store, file);
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    assert_true(fd >= 0);
    ssize_t n = read(fd, out, len - 1);
    assert_true(n >= 0);
    out[n] = '\0';
    close(fd);
    *ret_n = (size_t)n;
}

static int log_has(const struct harness *h, const char *what)
{
    static char buf[1 << 18];
    FILE *f = fopen(h->log, "re");
    size_t n = f ? fread(buf, 1, sizeof buf - 1, f) : 0;
    if (f)
        fclose(f);
    buf[n] = '\0';
    return strstr(buf, what) != NULL;
}

static int child_create_volatile_kept(void *arg)
{
    (void)arg;
    const uint64_t shape[1] = { 16 };
    sharr_array_t *a = NULL;
    sharr_t *c = NULL;
    CHILD_CHECK(sharr_connect(g_h->sock, &c) == 0);
    CHILD_CHECK(sharr_create(c, "kept", "<u8", 1, shape, NULL, &a) == -EEXIST);
    CHILD_CHECK(strstr(sharr_last_error(), "kept is damaged") != NULL);
    sharr_disconnect(c);
    return 0;
}

/* Every request naming a damaged array fails with EIO and says so. */
static void assert_damaged(struct harness *h, const char *name)
{
    sharr_t *c = harness_connect(h);
    sharr_array_t *a = NULL;
    struct sharr_info in;
    assert_rc(sharr_open(c, name, "r", NULL, &a), -EIO);
    assert_non_null(strstr(sharr_last_error(), "is damaged"));
    struct sharr_open_opts wait = { .size = sizeof(wait), .wait_ms = -1 };
    assert_rc(sharr_open(c, name, "r", &wait, &a), -EIO); /* no waiting forever */
    assert_rc(sharr_stat(c, name, &in), -EIO);
    assert_rc(sharr_unlink(c, name), -EIO);
    assert_rc(sharr_chmod(c, name, 0666), -EIO);
    assert_rc(sharr_chown(c, name, U2, U2), -EIO);
    sharr_disconnect(c);
}

/* A record that does not verify (edited, cut short) or data that does not match it:
 * the array is kept aside, logged, counted, its name reserved; repaired, it is back. */
static void test_array_that_does_not_verify_is_kept_aside_with_its_name(void **state)
{
    struct harness *h = *state;
    struct job kept = { "kept", OLD_N, 0600, 0, 11, 0 };
    as_user(U1, child_create, &kept);
    struct job fine = { "fine", OLD_N, 0644, 0, 12, 0 };
    as_user(U2, child_create, &fine);
    assert_int_equal(harness_daemon_stop(h), 0);
    char good[256], text[256];
    size_t ngood, n;
    read_file(h, "kept.meta", good, sizeof good, &ngood);
    char *perm = strstr(good, "perm=0600");
    assert_non_null(perm);

    const char *cases[] = { "edited", "cut", "empty", "no data", "bad header" };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char path[512], npy[512], aside[512];
        snprintf(path, sizeof path, "%s/kept.meta", h->store);
        snprintf(npy, sizeof npy, "%s/kept.npy", h->store);
        snprintf(aside, sizeof aside, "%s/kept.npy.aside", h->dir);
        memcpy(text, good, ngood + 1);
        if (i == 0)
            memcpy(strstr(text, "perm=0600"), "perm=0666", 9); /* its checksum stays */
        plant(h, "kept.meta", i == 1 ? "sharr-meta 2 ino=1" : i == 2 ? "" : text);
        if (i == 3)
            assert_int_equal(rename(npy, aside), 0);
        if (i == 4) {
            int fd = open(npy, O_WRONLY | O_CLOEXEC);
            assert_true(fd >= 0);
            assert_int_equal(pwrite(fd, "garbage!", 8, 0), 8);
            close(fd);
        }
        assert_int_equal(truncate(h->log, 0), 0);
        harness_daemon_start(h);

        sharr_t *c = harness_connect(h);
        struct sharr_stats st = harness_stats(c);
        sharr_disconnect(c);
        assert_int_equal(st.arrays_damaged, 1);
        assert_int_equal(st.arrays, 1);
        assert_true(log_has(h, "array kept is damaged"));
        if (i == 0) {
            struct harness_run run;
            const char *const plain[] = { harness_cli_path(), "stats", NULL };
            const char *const json[] = { harness_cli_path(), "stats", "--json", NULL };
            harness_run(h, plain, &run);
            assert_int_equal(run.status, 0);
            assert_non_null(strstr(run.out, "damaged arrays    1\n"));
            harness_run_free(&run);
            harness_run(h, json, &run);
            assert_int_equal(run.status, 0);
            harness_check_json(h, run.out, "assert d['arrays_damaged'] == 1, d\n"
                                           "assert d['arrays'] == 1, d");
            harness_run_free(&run);
        }
        assert_damaged(h, "kept");
        struct job theirs = { "kept", NEW_N, 0644, 1, 13, -EEXIST };
        as_user(U2, child_create, &theirs);
        as_user(U2, child_create_volatile_kept, NULL);
        as_user(U1, child_create, &theirs); /* not even its owner overwrites it unseen */
        assert_array(h, "fine", OLD_N, 12, U2, 0644);
        /* Its files are as they were. */
        assert_int_equal(harness_daemon_stop(h), 0);
        read_file(h, "kept.meta", text, sizeof text, &n);
        if (i == 0)
            assert_non_null(strstr(text, "perm=0666"));
        else if (i >= 3)
            assert_true(n == ngood && memcmp(text, good, n) == 0);
        else
            assert_int_equal(n, i == 1 ? 18 : 0);
        struct stat sb;
        assert_int_equal(stat(i == 3 ? aside : npy, &sb), 0);
        assert_int_equal(sb.st_size, 4096 + OLD_N * 8);
        assert_int_equal(i == 3 ? stat(npy, &sb) : 0, i == 3 ? -1 : 0);

        /* Repaired by hand: the array is back as it was. */
        plant(h, "kept.meta", good);
        if (i == 3)
            assert_int_equal(rename(aside, npy), 0);
        if (i == 4) {
            int fd = open(npy, O_WRONLY | O_CLOEXEC);
            char head[8];
            assert_true(fd >= 0);
            /* The header sharr wrote starts with numpy's magic and version. */
            memcpy(head, "\x93NUMPY\x01\x00", 8);
            assert_int_equal(pwrite(fd, head, 8, 0), 8);
            close(fd);
        }
        harness_daemon_start(h);
        assert_array(h, "kept", OLD_N, 11, U1, 0600);
        assert_int_equal(harness_daemon_stop(h), 0);
    }
    harness_daemon_start(h);
}

/* A store written by sharr before records named their data (version 1 records)
 * loads; an older daemon's cut-short chmod only ever narrows the bits. */
static void test_store_of_version_1_records_loads_and_never_widens(void **state)
{
    struct harness *h = *state;
    struct job a = { "old1", OLD_N, 0600, 0, 21, 0 }, b = { "old2", OLD_N, 0600, 0, 22, 0 };
    as_user(U1, child_create, &a);
    as_user(U1, child_create, &b);
    assert_int_equal(harness_daemon_stop(h), 0);
    plant(h, "old1.meta", "sharr-meta 1 61001 61001 640 1700000000000000000\n");
    plant(h, "old2.meta", "sharr-meta 1 61001 61001 644 1700000000000000000\n");
    plant(h, ".tmp-old2.meta", "sharr-meta 1 61001 61001 600 1700000000000000000\n");
    harness_daemon_start(h);
    assert_array(h, "old1", OLD_N, 21, U1, 0640);
    assert_array(h, "old2", OLD_N, 22, U1, 0600);
    /* A chmod writes the record of today. */
    sharr_t *c = harness_connect(h);
    assert_rc(sharr_chmod(c, "old1", 0600), 0);
    sharr_disconnect(c);
    char text[256];
    size_t n;
    read_file(h, "old1.meta", text, sizeof text, &n);
    assert_memory_equal(text, "sharr-meta 2 ", 13);
    read_file(h, "old2.meta", text, sizeof text, &n);
    assert_non_null(strstr(text, "perm=0600"));
    harness_daemon_restart(h);
    assert_array(h, "old1", OLD_N, 21, U1, 0600);
    assert_array(h, "old2", OLD_N, 22, U1, 0600);
    char why[1024];
    assert_int_equal(model_store_clean(h, 2, why, sizeof why), 0);
}

/* Copied file by file (new inodes), the store still loads, and records them. */
static void test_store_copied_file_by_file_loads_and_records_the_new_inodes(void **state)
{
    struct harness *h = *state;
    struct job a = { "copied", OLD_N, 0640, 0, 31, 0 };
    as_user(U1, child_create, &a);
    assert_int_equal(harness_daemon_stop(h), 0);
    char from[512], to[512], cmd[1200];
    snprintf(from, sizeof from, "%s/copied.npy", h->store);
    snprintf(to, sizeof to, "%s/copied.npy.new", h->store);
    snprintf(cmd, sizeof cmd, "cp -p '%s' '%s'", from, to);
    assert_int_equal(system(cmd), 0);
    assert_int_equal(rename(to, from), 0);
    assert_int_equal(truncate(h->log, 0), 0);
    harness_daemon_start(h);
    assert_array(h, "copied", OLD_N, 31, U1, 0640);
    assert_true(log_has(h, "recording its new inode"));
    struct stat sb;
    char text[256], want[64];
    size_t n;
    assert_int_equal(stat(from, &sb), 0);
    read_file(h, "copied.meta", text, sizeof text, &n);
    snprintf(want, sizeof want, "ino=%llu ", (unsigned long long)sb.st_ino);
    assert_non_null(strstr(text, want));
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
                    as_user(uid, child_op, &make);
                    *st = model_apply(st, &make, uid, uid);
                    struct model_op fill = { .kind = MODEL_FILL, .seed = 1000 + i };
                    memcpy(fill.name, op.name, sizeof fill.name);
                    as_user(uid, child_op, &fill);
                    *st = model_apply(st, &fill, uid, uid);
                }
                op.n = 2000 + i;
                op.seed = 3000 + i;
                op.perm = 0644;
                op.uid = uid == 0 ? U2 : SHARR_ID_KEEP;
                op.gid = 61234;
                snprintf(op.path, sizeof op.path, "%s/adoptee-%zu-%d.npy", h->dir, i, over);

                fault_daemon_kill(h);
                fault_daemon_start(h, points[i].point, NULL);
                assert_int_equal(as_uid(uid, child_op, &op), 1);
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

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(
            test_empty_record_of_a_killed_chmod_keeps_the_array_and_its_name, setup,
            harness_teardown),
        cmocka_unit_test_setup_teardown(
            test_overwrite_killed_after_its_record_never_gives_old_data_new_bits, setup,
            harness_teardown),
        cmocka_unit_test_setup_teardown(
            test_every_fault_point_of_every_operation_leaves_before_or_after, setup,
            harness_teardown),
        cmocka_unit_test_setup_teardown(
            test_array_that_does_not_verify_is_kept_aside_with_its_name, setup,
            harness_teardown),
        cmocka_unit_test_setup_teardown(test_store_of_version_1_records_loads_and_never_widens,
                                        setup, harness_teardown),
        cmocka_unit_test_setup_teardown(
            test_store_copied_file_by_file_loads_and_records_the_new_inodes, setup,
            harness_teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
