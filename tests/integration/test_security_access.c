/* test_security_access.c — who may do what, shown by a client of another uid.
 *
 * The test runs as root and so does its sharrd; pieces of each test run in a child
 * that dropped to nobody (asuser.c). They show the permission classes of open, stat
 * and list, chmod and chown, and what the kernel enforces on the descriptors:
 * a read-only client cannot map writable or reopen for writing, and a writer
 * cannot shrink or grow a volatile array under the other clients.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "asuser.h"
#include "keeper.h"
#include "testskip.h"

static struct harness *g_h; /* for the children, which only read it */

/* Create name as root with perm (and gid), filled with 1, 2, 3, ... as <i4. */
static void make_array(sharr_t *conn, const char *name, uint32_t perm, int persist, uint32_t gid)
{
    const uint64_t shape[1] = { 1024 };
    struct sharr_create_opts o = { .size = sizeof(o), .perm = perm, .persist = persist };
    sharr_array_t *a = NULL;
    assert_rc(sharr_create(conn, name, "<i4", 1, shape, &o, &a), 0);
    int32_t *v = sharr_array_data(a);
    for (int i = 0; i < 1024; i++)
        v[i] = i + 1;
    assert_rc(sharr_close(a), 0);
    if (gid != 0)
        assert_rc(sharr_chown(conn, name, SHARR_ID_KEEP, gid), 0);
}

/* ---- permission classes ---- */

static int child_classes(void *arg)
{
    (void)arg;
    sharr_t *c = NULL;
    struct sharr_info info;
    CHILD_CHECK(sharr_connect(g_h->sock, &c) == 0);
    /* 0600: owner only. */
    CHILD_CHECK(harness_open_rc(c, "p600", "r") == -EACCES);
    CHILD_CHECK(harness_open_rc(c, "p600", "c") == -EACCES);
    CHILD_CHECK(harness_open_rc(c, "p600", "r+") == -EACCES);
    CHILD_CHECK(sharr_stat(c, "p600", &info) == -EACCES);
    /* 0644: others read. */
    CHILD_CHECK(harness_open_rc(c, "p644", "r") == 0);
    CHILD_CHECK(harness_open_rc(c, "p644", "c") == 0);
    CHILD_CHECK(harness_open_rc(c, "p644", "r+") == -EACCES);
    CHILD_CHECK(sharr_stat(c, "p644", &info) == 0 && info.uid == 0 && info.perm == 0644);
    /* 0666: others read and write. */
    CHILD_CHECK(harness_open_rc(c, "p666", "r+") == 0);
    /* 0640 with group nogroup: the group class applies to nobody's gid. */
    CHILD_CHECK(harness_open_rc(c, "g640", "r") == 0);
    CHILD_CHECK(harness_open_rc(c, "g640", "r+") == -EACCES);
    /* 0604 with group nogroup: the group class (no bits) wins over other, as for files. */
    CHILD_CHECK(harness_open_rc(c, "g604", "r") == -EACCES);
    /* Only the owner or root may unlink, chmod or chown. */
    CHILD_CHECK(sharr_unlink(c, "p666") == -EPERM);
    CHILD_CHECK(sharr_chmod(c, "p666", 0600) == -EPERM);
    CHILD_CHECK(sharr_chown(c, "p666", SHARR_ID_KEEP, ASUSER_GID) == -EPERM);
    CHILD_CHECK(sharr_chown(c, "p666", ASUSER_UID, SHARR_ID_KEEP) == -EPERM);
    /* list shows only what nobody may read, sorted. */
    struct sharr_info page[16];
    size_t n = 0;
    int more = 1;
    CHILD_CHECK(sharr_list(c, NULL, page, 16, &n, &more) == 0 && more == 0);
    CHILD_CHECK(n == 3);
    CHILD_CHECK(strcmp(page[0].name, "g640") == 0);
    CHILD_CHECK(strcmp(page[1].name, "p644") == 0);
    CHILD_CHECK(strcmp(page[2].name, "p666") == 0);
    sharr_disconnect(c);
    return 0;
}

static void test_permission_classes_decide_open_stat_list_and_unlink(void **state)
{
    struct harness *h = g_h = *state;
    struct keeper k;
    asuser_keeper_start(&k, h);
    make_array(k.conn, "p600", 0600, 0, 0);
    make_array(k.conn, "p644", 0644, 0, 0);
    make_array(k.conn, "p666", 0666, 1, 0);
    make_array(k.conn, "g640", 0640, 0, ASUSER_GID);
    make_array(k.conn, "g604", 0604, 0, ASUSER_GID);
    assert_int_equal(asuser_run(h, ASUSER_UID, ASUSER_GID, child_classes, NULL), 0);
    struct sharr_info info;
    assert_rc(sharr_stat(k.conn, "p666", &info), 0);
    assert_int_equal(info.perm, 0666);
    assert_int_equal(info.uid, 0);
    keeper_check(&k);
    keeper_stop(&k);
}

/* ---- the kernel enforces read-only ---- */

static int child_read_only(void *arg)
{
    const char *name = arg;
    sharr_t *c = NULL;
    sharr_array_t *a = NULL;
    char path[64];
    CHILD_CHECK(sharr_connect(g_h->sock, &c) == 0);
    CHILD_CHECK(sharr_open(c, name, "r", NULL, &a) == 0);
    const int32_t *v = sharr_array_data(a);
    CHILD_CHECK(v[0] == 1 && v[1023] == 1024);
    int fd = sharr_array_fd(a);
    CHILD_CHECK((fcntl(fd, F_GETFL) & O_ACCMODE) == O_RDONLY);
    const uint64_t off = sharr_array_info(a)->offset;
    size_t len = off + 4096;
    errno = 0;
    CHILD_CHECK(mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0) == MAP_FAILED);
    CHILD_CHECK(errno == EACCES);
    /* A private copy-on-write mapping is allowed: writes stay in this process. */
    void *priv = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE, fd, 0);
    CHILD_CHECK(priv != MAP_FAILED);
    ((int32_t *)((char *)priv + off))[0] = -5;
    munmap(priv, len);
    /* The descriptor cannot be made writable, nor reopened for writing. */
    CHILD_CHECK(fcntl(fd, F_SETFL, O_RDWR) == 0 && (fcntl(fd, F_GETFL) & O_ACCMODE) == O_RDONLY);
    snprintf(path, sizeof path, "/proc/self/fd/%d", fd);
    errno = 0;
    CHILD_CHECK(open(path, O_RDWR | O_CLOEXEC) < 0 && errno == EACCES);
    CHILD_CHECK(open(path, O_WRONLY | O_CLOEXEC) < 0 && errno == EACCES);
    CHILD_CHECK(pwrite(fd, "x", 1, (off_t)off) < 0 && errno == EBADF);
    CHILD_CHECK(ftruncate(fd, 0) < 0);
    CHILD_CHECK(fchmod(fd, 0666) < 0 && errno == EPERM);
    CHILD_CHECK(mprotect((void *)((uintptr_t)v & ~(uintptr_t)4095), 4096,
                         PROT_READ | PROT_WRITE) < 0 && errno == EACCES);
    CHILD_CHECK(v[0] == 1);
    CHILD_CHECK(sharr_close(a) == 0);
    sharr_disconnect(c);
    return 0;
}

static void test_read_only_client_cannot_write_by_any_route(void **state)
{
    struct harness *h = g_h = *state;
    struct keeper k;
    asuser_keeper_start(&k, h);
    make_array(k.conn, "vol", 0644, 0, 0);
    make_array(k.conn, "per", 0644, 1, 0);
    assert_int_equal(asuser_run(h, ASUSER_UID, ASUSER_GID, child_read_only, "vol"), 0);
    assert_int_equal(asuser_run(h, ASUSER_UID, ASUSER_GID, child_read_only, "per"), 0);
    /* Nothing changed for anyone. */
    const char *names[] = { "vol", "per" };
    for (int i = 0; i < 2; i++) {
        sharr_array_t *a = NULL;
        assert_rc(sharr_open(k.conn, names[i], "r", NULL, &a), 0);
        const int32_t *v = sharr_array_data(a);
        assert_int_equal(v[0], 1);
        assert_int_equal(v[1023], 1024);
        assert_rc(sharr_close(a), 0);
    }
    keeper_check(&k);
    keeper_stop(&k);
}

static int child_writer(void *arg)
{
    (void)arg;
    sharr_t *c = NULL;
    sharr_array_t *a = NULL;
    CHILD_CHECK(sharr_connect(g_h->sock, &c) == 0);
    CHILD_CHECK(sharr_open(c, "shared", "r+", NULL, &a) == 0);
    int fd = sharr_array_fd(a);
    CHILD_CHECK((fcntl(fd, F_GETFL) & O_ACCMODE) == O_RDWR);
    struct stat st;
    CHILD_CHECK(fstat(fd, &st) == 0);
    /* Sealed: no shrinking (which would SIGBUS every other mapper), no growing. */
    errno = 0;
    CHILD_CHECK(ftruncate(fd, (off_t)sharr_array_info(a)->offset) < 0 && errno == EPERM);
    CHILD_CHECK(ftruncate(fd, 0) < 0 && errno == EPERM);
    CHILD_CHECK(ftruncate(fd, st.st_size * 2) < 0 && errno == EPERM);
    /* The seals stay open to the publish (F_SEAL_FUTURE_WRITE, methods_publish.c); a
     * writer's own F_SEAL_WRITE fails while writable mappings exist (its own), and the
     * inode is not the writer's. */
    CHILD_CHECK(fcntl(fd, F_ADD_SEALS, F_SEAL_WRITE) < 0 && errno == EBUSY);
    CHILD_CHECK((fcntl(fd, F_GET_SEALS) & (F_SEAL_SHRINK | F_SEAL_GROW))
                == (F_SEAL_SHRINK | F_SEAL_GROW));
    CHILD_CHECK(fchmod(fd, 0777) < 0 && errno == EPERM);
    CHILD_CHECK(fstat(fd, &st) == 0
                && (uint64_t)st.st_size == sharr_array_info(a)->offset + 4096);
    int32_t *v = sharr_array_data(a);
    v[0] = 4242; /* writing is what r+ is for */
    CHILD_CHECK(sharr_close(a) == 0);
    sharr_disconnect(c);
    return 0;
}

static void test_writer_cannot_resize_a_volatile_array(void **state)
{
    struct harness *h = g_h = *state;
    struct keeper k;
    asuser_keeper_start(&k, h);
    make_array(k.conn, "shared", 0666, 0, 0);
    sharr_array_t *mine = NULL;
    assert_rc(sharr_open(k.conn, "shared", "r", NULL, &mine), 0);
    assert_int_equal(asuser_run(h, ASUSER_UID, ASUSER_GID, child_writer, NULL), 0);
    /* The root reader's mapping is whole (a shrink would SIGBUS here) and sees the write. */
    const int32_t *v = sharr_array_data(mine);
    assert_int_equal(v[0], 4242);
    assert_int_equal(v[1023], 1024);
    assert_rc(sharr_close(mine), 0);
    keeper_check(&k);
    keeper_stop(&k);
}

/* ---- chmod and chown ---- */

static int child_owner(void *arg)
{
    (void)arg;
    sharr_t *c = NULL;
    sharr_array_t *a = NULL;
    struct sharr_info info;
    const uint64_t shape[1] = { 16 };
    CHILD_CHECK(sharr_connect(g_h->sock, &c) == 0);
    /* nobody's own array: created 0600 by default, owned by nobody. */
    CHILD_CHECK(sharr_create(c, "mine", "<f8", 1, shape, NULL, &a) == 0);
    CHILD_CHECK(sharr_array_info(a)->uid == ASUSER_UID && sharr_array_info(a)->perm == 0600);
    CHILD_CHECK(sharr_close(a) == 0);
    CHILD_CHECK(sharr_chmod(c, "mine", 0640) == 0);
    CHILD_CHECK(sharr_chmod(c, "mine", 01777) == -EINVAL);
    CHILD_CHECK(sharr_chown(c, "mine", SHARR_ID_KEEP, 4321) == 0);
    CHILD_CHECK(sharr_chown(c, "mine", 0, SHARR_ID_KEEP) == -EPERM);
    CHILD_CHECK(sharr_chown(c, "mine", ASUSER_UID, SHARR_ID_KEEP) == 0); /* no change */
    CHILD_CHECK(sharr_stat(c, "mine", &info) == 0);
    CHILD_CHECK(info.perm == 0640 && info.gid == 4321 && info.uid == ASUSER_UID);
    /* root's array given to nobody by root (in the parent) is nobody's now. */
    CHILD_CHECK(sharr_chmod(c, "given", 0600) == 0);
    CHILD_CHECK(harness_open_rc(c, "given", "r+") == 0);
    CHILD_CHECK(sharr_unlink(c, "given") == 0);
    sharr_disconnect(c);
    return 0;
}

static void test_chmod_and_chown_belong_to_the_owner_and_root(void **state)
{
    struct harness *h = g_h = *state;
    struct keeper k;
    asuser_keeper_start(&k, h);
    make_array(k.conn, "given", 0600, 1, 0);
    assert_rc(sharr_chown(k.conn, "given", ASUSER_UID, ASUSER_GID), 0);
    assert_int_equal(asuser_run(h, ASUSER_UID, ASUSER_GID, child_owner, NULL), 0);
    struct sharr_info info;
    assert_rc(sharr_stat(k.conn, "given", &info), -ENOENT);
    /* Root may change anything. */
    assert_rc(sharr_chmod(k.conn, "mine", 0604), 0);
    assert_rc(sharr_stat(k.conn, "mine", &info), 0);
    assert_int_equal(info.perm, 0604);
    assert_rc(sharr_chmod(k.conn, "missing", 0600), -ENOENT);
    assert_rc(sharr_chmod(k.conn, "../mine", 0600), -EINVAL);
    keeper_check(&k);
    keeper_stop(&k);
}

static void test_chmod_and_chown_of_a_persistent_array_survive_a_restart(void **state)
{
    struct harness *h = g_h = *state;
    sharr_t *c = harness_connect(h);
    make_array(c, "durable", 0600, 1, 0);
    assert_rc(sharr_chmod(c, "durable", 0644), 0);
    assert_rc(sharr_chown(c, "durable", 1234, 5678), 0);
    sharr_disconnect(c);
    harness_daemon_restart(h);
    c = harness_connect(h);
    struct sharr_info info;
    assert_rc(sharr_stat(c, "durable", &info), 0);
    assert_int_equal(info.perm, 0644);
    assert_int_equal(info.uid, 1234);
    assert_int_equal(info.gid, 5678);
    sharr_disconnect(c);
}

static void test_cli_chmod_and_chown(void **state)
{
    struct harness *h = g_h = *state;
    sharr_t *c = harness_connect(h);
    make_array(c, "cli", 0600, 0, 0);
    const char *const chmod_argv[] = { harness_cli_path(), "chmod", "0640", "cli", NULL };
    const char *const chown_argv[] = { harness_cli_path(), "chown", "nobody:nogroup", "cli",
                                       NULL };
    const char *const bad_argv[] = { harness_cli_path(), "chmod", "9", "cli", NULL };
    const char *const missing_argv[] = { harness_cli_path(), "chown", ":0", "nope", NULL };
    struct harness_run run;
    harness_run(h, chmod_argv, &run);
    assert_int_equal(run.status, 0);
    harness_run_free(&run);
    harness_run(h, chown_argv, &run);
    assert_int_equal(run.status, 0);
    harness_run_free(&run);
    harness_run(h, bad_argv, &run);
    assert_int_equal(run.status, 2);
    harness_run_free(&run);
    harness_run(h, missing_argv, &run);
    assert_int_equal(run.status, 1);
    assert_non_null(strstr(run.err, "ENOENT"));
    harness_run_free(&run);
    struct sharr_info info;
    assert_rc(sharr_stat(c, "cli", &info), 0);
    assert_int_equal(info.perm, 0640);
    assert_int_equal(info.uid, ASUSER_UID);
    assert_int_equal(info.gid, ASUSER_GID);
    sharr_disconnect(c);
}

#define T(fn) cmocka_unit_test_setup_teardown(fn, harness_setup, harness_teardown)

int main(void)
{
    const struct CMUnitTest tests[] = {
        T(test_permission_classes_decide_open_stat_list_and_unlink),
        T(test_read_only_client_cannot_write_by_any_route),
        T(test_writer_cannot_resize_a_volatile_array),
        T(test_chmod_and_chown_belong_to_the_owner_and_root),
        T(test_chmod_and_chown_of_a_persistent_array_survive_a_restart),
        T(test_cli_chmod_and_chown),
    };
    return testskip_exit(cmocka_run_group_tests(tests, NULL, NULL));
}
