/* test_recovery.c — what sharrd makes of its store after a crash (daemon/STORE.md):
 * a killed chmod never costs an array or frees its name, a killed overwrite never
 * gives the old data the new permission bits, the daemon killed at every fault point
 * of every persistent operation (of three uids) leaves each name exactly before or
 * after the operation, recovery killed at each of its own steps ends as if it had
 * not been, a record that cannot be verified keeps its array's files and name,
 * counted in stats and told to nobody in detail, hand-made states (FIFOs, hard links,
 * files of another uid, inode 0, leftovers in the way) never stop the daemon or widen
 * anything, and a store of the record format before it still loads.
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
#include "testskip.h"

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

static void plant_rename(const struct harness *h, const char *from, const char *to)
{
    char a[512], b[512];
    snprintf(a, sizeof a, "%s/%s", h->store, from);
    snprintf(b, sizeof b, "%s/%s", h->store, to);
    assert_int_equal(rename(a, b), 0);
}

/* Copy the store's file from to to, a new inode with the same bytes. */
static void plant_copy(const struct harness *h, const char *from, const char *to)
{
    char a[512], b[512], buf[8192];
    snprintf(a, sizeof a, "%s/%s", h->store, from);
    snprintf(b, sizeof b, "%s/%s", h->store, to);
    int in = open(a, O_RDONLY | O_CLOEXEC);
    int out = open(b, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
    assert_true(in >= 0 && out >= 0);
    ssize_t n;
    while ((n = read(in, buf, sizeof buf)) > 0)
        assert_int_equal(write(out, buf, (size_t)n), n);
    assert_int_equal(n, 0);
    close(in);
    assert_int_equal(close(out), 0);
}

/* name is no array. */
static void assert_absent(struct harness *h, const char *name)
{
    sharr_t *c = harness_connect(h);
    struct sharr_info in;
    assert_rc(sharr_stat(c, name, &in), -ENOENT);
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

/* CRC-32C as record.c writes it, to forge a record whose checksum matches. */
static uint32_t crc32c(const char *p, size_t len)
{
    uint32_t crc = 0xffffffffu;
    for (size_t i = 0; i < len; i++) {
        crc ^= (uint8_t)p[i];
        for (int k = 0; k < 8; k++)
            crc = (crc >> 1) ^ (0x82f63b78u & (0u - (crc & 1u)));
    }
    return ~crc;
}

/* What any request of another uid naming a damaged array is answered: each answer
 * must hold none of the words in secret. */
struct snoop {
    const char *name;
    const char *secret[4];
};

static int child_snoop(void *arg)
{
    const struct snoop *sn = arg;
    const uint64_t shape[1] = { 16 };
    struct sharr_create_opts persist = { .size = sizeof(persist), .persist = 1, .overwrite = 1 };
    sharr_array_t *a = NULL;
    struct sharr_info in;
    sharr_t *c = NULL;
    char said[6][512];

    CHILD_CHECK(sharr_connect(g_h->sock, &c) == 0);
    CHILD_CHECK(sharr_open(c, sn->name, "r", NULL, &a) == -EIO);
    snprintf(said[0], sizeof said[0], "%s", sharr_last_error());
    CHILD_CHECK(sharr_stat(c, sn->name, &in) == -EIO);
    snprintf(said[1], sizeof said[1], "%s", sharr_last_error());
    CHILD_CHECK(sharr_create(c, sn->name, "<u8", 1, shape, NULL, &a) == -EEXIST);
    snprintf(said[2], sizeof said[2], "%s", sharr_last_error());
    CHILD_CHECK(sharr_create(c, sn->name, "<u8", 1, shape, &persist, &a) == -EEXIST);
    snprintf(said[3], sizeof said[3], "%s", sharr_last_error());
    CHILD_CHECK(sharr_chmod(c, sn->name, 0666) == -EIO);
    snprintf(said[4], sizeof said[4], "%s", sharr_last_error());
    CHILD_CHECK(sharr_unlink(c, sn->name) == -EIO);
    snprintf(said[5], sizeof said[5], "%s", sharr_last_error());
    sharr_disconnect(c);
    for (int i = 0; i < 6; i++) {
        CHILD_CHECK(strstr(said[i], "is damaged") != NULL);
        for (int k = 0; k < 4 && sn->secret[k]; k++)
            if (strstr(said[i], sn->secret[k])) {
                fprintf(stderr, "another uid was told \"%s\"\n", said[i]);
                return 1;
            }
    }
    return 0;
}

/* A damaged array's answers to other users tell it is damaged, not what its record
 * or data hold: not the owner or bits of a record that does not verify (one whose
 * checksum matches but whose bits are not allowed), not the sizes in a data file
 * shorter than its header. The log has the whole story for the operator. */
static void test_damaged_array_tells_other_users_nothing_of_its_record_or_data(void **state)
{
    struct harness *h = *state;
    struct job a = { "setuid", OLD_N, 0600, 0, 51, 0 }, b = { "short", OLD_N, 0600, 0, 52, 0 };
    as_user(U1, child_create, &a);
    as_user(U1, child_create, &b);
    assert_int_equal(harness_daemon_stop(h), 0);

    /* setuid: a record whose checksum matches, with bits 04640 */
    char path[512], text[256];
    struct stat sb;
    snprintf(path, sizeof path, "%s/setuid.npy", h->store);
    assert_int_equal(stat(path, &sb), 0);
    int n = snprintf(text, sizeof text, "sharr-meta 2 ino=%llu uid=61001 gid=61001 perm=4640 "
                     "ctime=1700000000000000000 crc32c=", (unsigned long long)sb.st_ino);
    snprintf(text + n, sizeof text - (size_t)n, "%08x\n", crc32c(text, (size_t)n));
    plant(h, "setuid.meta", text);
    /* short: its data cut to half of what its header describes */
    snprintf(path, sizeof path, "%s/short.npy", h->store);
    assert_int_equal(truncate(path, 4096 + OLD_N * 4), 0);
    assert_int_equal(truncate(h->log, 0), 0);
    harness_daemon_start(h);

    assert_true(log_has(h, "4640"));
    assert_true(log_has(h, "32768"));
    struct snoop s1 = { "setuid", { "4640", "640", "61001", NULL } };
    as_user(U2, child_snoop, &s1);
    struct snoop s2 = { "short", { "32768", "20480", "61001", NULL } };
    as_user(U2, child_snoop, &s2);
}

/* A record or data file that is not a regular file (a FIFO, which blocks whoever
 * opens it to read until a writer comes) is damaged, and the daemon does not wait
 * for it: it starts and serves the rest. */
static void test_record_that_is_a_fifo_is_damaged_and_never_waited_for(void **state)
{
    struct harness *h = *state;
    struct job a = { "fifo1", OLD_N, 0600, 0, 41, 0 }, b = { "fifo2", OLD_N, 0600, 0, 42, 0 };
    struct job c = { "fifo3", OLD_N, 0600, 0, 43, 0 };
    as_user(U1, child_create, &a);
    as_user(U1, child_create, &b);
    as_user(U1, child_create, &c);
    assert_int_equal(harness_daemon_stop(h), 0);
    const char *fifos[] = { "fifo1.meta", ".tmp-fifo2.meta", "fifo3.npy" };
    for (size_t i = 0; i < sizeof fifos / sizeof fifos[0]; i++) {
        char path[512];
        snprintf(path, sizeof path, "%s/%s", h->store, fifos[i]);
        unlink(path);
        assert_int_equal(mkfifo(path, 0600), 0);
    }
    /* fifo2: a version 1 record, so that recovery reads the .tmp- one beside it. */
    plant(h, "fifo2.meta", "sharr-meta 1 61001 61001 640 1700000000000000000\n");
    /* A daemon stuck in its recovery answers no hello, and a client waits for one
     * forever: the alarm (its default action ends the test) turns that into a failure. */
    alarm(60);
    harness_daemon_start(h);
    alarm(0);

    sharr_t *conn = harness_connect(h);
    struct sharr_stats st = harness_stats(conn);
    sharr_disconnect(conn);
    assert_int_equal(st.arrays_damaged, 2);
    assert_damaged(h, "fifo1");
    assert_damaged(h, "fifo3");
    assert_array(h, "fifo2", OLD_N, 42, U1, 0640);
}

static int child_unlink(void *arg)
{
    sharr_t *c = NULL;
    struct sharr_info in;
    CHILD_CHECK(sharr_connect(g_h->sock, &c) == 0);
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
    struct job a = { "doomed", OLD_N, 0600, 0, 61, 0 };
    assert_int_equal(harness_daemon_stop(h), 0);
    for (int i = 0; i < 8; i++) {
        char path[512];
        snprintf(path, sizeof path, "%s/.trash-%d", h->store, i);
        assert_int_equal(mkdir(path, 0700), 0);
    }
    harness_daemon_start(h);
    as_user(U1, child_create, &a);
    as_user(U1, child_unlink, (void *)"doomed");
    harness_daemon_restart(h);
    assert_absent(h, "doomed");
    as_user(U1, child_create, &a);
    assert_array(h, "doomed", OLD_N, 61, U1, 0600);
}

/* A data file in the store that another uid owns (a hard link to that user's file
 * outside, or a copy that kept its owner) is not served: its owner could write it,
 * or fchmod a read-only descriptor sharrd hands out and reopen it for writing,
 * whatever the record's bits say. One with looser bits than 0600 is served and made
 * 0600, so no holder of a read-only descriptor can reopen it for writing. */
static void test_data_file_another_uid_owns_or_may_write_is_never_served_so(void **state)
{
    struct harness *h = *state;
    struct job a = { "lent", OLD_N, 0644, 0, 71, 0 }, b = { "loose", OLD_N, 0644, 0, 72, 0 };
    as_user(U2, child_create, &a);
    as_user(U2, child_create, &b);
    assert_int_equal(harness_daemon_stop(h), 0);
    char outside[512], npy[512];
    snprintf(outside, sizeof outside, "%s/theirs.npy", h->dir);
    snprintf(npy, sizeof npy, "%s/lent.npy", h->store);
    plant_copy(h, "lent.npy", "lent.copy");
    plant_rename(h, "lent.copy", "../theirs.npy");
    assert_int_equal(chown(outside, U1, U1), 0);
    assert_int_equal(unlink(npy), 0);
    assert_int_equal(link(outside, npy), 0);
    snprintf(npy, sizeof npy, "%s/loose.npy", h->store);
    assert_int_equal(chmod(npy, 0666), 0);
    harness_daemon_start(h);

    sharr_t *c = harness_connect(h);
    struct sharr_stats st = harness_stats(c);
    sharr_disconnect(c);
    assert_int_equal(st.arrays_damaged, 1);
    assert_damaged(h, "lent");
    assert_array(h, "loose", OLD_N, 72, U2, 0644);
    struct stat sb;
    assert_int_equal(stat(npy, &sb), 0);
    assert_int_equal(sb.st_mode & 07777, 0600);
}

/* A record naming inode 0 (which no file has; recovery's "not a regular file") with
 * a directory where its data would be in flight: damaged, and its files stay exactly
 * as they are, nothing renamed. */
static void test_record_of_inode_0_renames_nothing(void **state)
{
    struct harness *h = *state;
    char path[512], text[256];
    assert_int_equal(harness_daemon_stop(h), 0);
    int n = snprintf(text, sizeof text, "sharr-meta 2 ino=0 uid=61001 gid=61001 perm=0600 "
                     "ctime=1700000000000000000 crc32c=");
    snprintf(text + n, sizeof text - (size_t)n, "%08x\n", crc32c(text, (size_t)n));
    plant(h, "zero.meta", text);
    snprintf(path, sizeof path, "%s/.inflight-zero.npy", h->store);
    assert_int_equal(mkdir(path, 0700), 0);
    harness_daemon_start(h);
    assert_damaged(h, "zero");
    struct stat sb;
    assert_int_equal(lstat(path, &sb), 0);
    assert_true(S_ISDIR(sb.st_mode));
    snprintf(path, sizeof path, "%s/zero.npy", h->store);
    assert_int_equal(lstat(path, &sb), -1);
}

/* Two names whose records name one file (a hard link made by hand, and the record
 * copied with it): the first in name order is served, the other is damaged, rather
 * than two arrays of their own owners and bits sharing each other's data. */
static void test_two_names_of_one_data_file_are_not_both_served(void **state)
{
    struct harness *h = *state;
    struct job a = { "twin1", OLD_N, 0600, 0, 81, 0 };
    as_user(U1, child_create, &a);
    assert_int_equal(harness_daemon_stop(h), 0);
    char from[512], to[512];
    snprintf(from, sizeof from, "%s/twin1.npy", h->store);
    snprintf(to, sizeof to, "%s/twin2.npy", h->store);
    assert_int_equal(link(from, to), 0);
    plant_copy(h, "twin1.meta", "twin2.meta");
    harness_daemon_start(h);
    sharr_t *c = harness_connect(h);
    struct sharr_stats st = harness_stats(c);
    sharr_disconnect(c);
    assert_int_equal(st.arrays_damaged, 1);
    assert_array(h, "twin1", OLD_N, 81, U1, 0600);
    assert_damaged(h, "twin2");
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

/* ---- recovery itself killed ---- */

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
        struct job job = { a, arrays[i].n, arrays[i].perm, 0, seed + i + 1, 0 };
        as_user(arrays[i].uid, child_create, &job);
    }
    assert_int_equal(harness_daemon_stop(h), 0);

#define N(buf, fmt) snprintf(buf, sizeof buf, fmt, p)
#define PLANT(fmt, text) (N(a, fmt), plant(h, a, text))
#define RENAME(from, to) (N(a, from), N(b, to), plant_rename(h, a, b))
#define COPY(from, to) (N(a, from), N(b, to), plant_copy(h, a, b))
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
        assert_array(h, a, OLD_N, seed + 1, U1, 0600);
    snprintf(a, sizeof a, "%sdone", p);
    assert_array(h, a, NEW_N, seed + 3, U2, 0640);
    snprintf(a, sizeof a, "%scopied", p);
    if (what & PLANT_COPIED)
        assert_array(h, a, OLD_N, seed + 4, U1, 0640);
    snprintf(a, sizeof a, "%skept", p);
    assert_array(h, a, OLD_N, seed + 7, U2, 0600);
    const char *gone[] = { "donenew", "unlinked", "fresh", "never" };
    for (size_t i = 0; i < sizeof gone / sizeof gone[0]; i++) {
        snprintf(a, sizeof a, "%s%s", p, gone[i]);
        assert_absent(h, a);
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

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_grow_killed_at_each_step_leaves_old_or_new_shape,
                                        setup, harness_teardown),
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
        cmocka_unit_test_setup_teardown(
            test_recovery_killed_at_each_of_its_steps_ends_as_one_that_was_not, setup,
            harness_teardown),
        cmocka_unit_test_setup_teardown(
            test_record_that_is_a_fifo_is_damaged_and_never_waited_for, setup, harness_teardown),
        cmocka_unit_test_setup_teardown(
            test_damaged_array_tells_other_users_nothing_of_its_record_or_data, setup,
            harness_teardown),
        cmocka_unit_test_setup_teardown(
            test_unlink_is_whole_when_a_leftover_takes_its_trash_name, setup, harness_teardown),
        cmocka_unit_test_setup_teardown(
            test_data_file_another_uid_owns_or_may_write_is_never_served_so, setup,
            harness_teardown),
        cmocka_unit_test_setup_teardown(test_record_of_inode_0_renames_nothing, setup,
                                        harness_teardown),
        cmocka_unit_test_setup_teardown(test_two_names_of_one_data_file_are_not_both_served,
                                        setup, harness_teardown),
        cmocka_unit_test_setup_teardown(test_store_of_version_1_records_loads_and_never_widens,
                                        setup, harness_teardown),
        cmocka_unit_test_setup_teardown(
            test_store_copied_file_by_file_loads_and_records_the_new_inodes, setup,
            harness_teardown),
    };
    return testskip_exit(cmocka_run_group_tests(tests, NULL, NULL));
}
