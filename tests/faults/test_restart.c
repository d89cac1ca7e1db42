/* test_restart.c — a daemon restart under live clients: volatile arrays come back
 * from the fd store (systemd's protocol played by fault_fdstore), mappings stay
 * valid and shared, libsharr reconnects, and a waiting open survives.
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "fault.h"
#include "testskip.h"

#define NVOL 10
#define N 100000u

static void test_volatile_arrays_survive_a_killed_daemon(void **state)
{
    struct harness *h = *state;
    struct fault_fdstore fs;
    sharr_array_t *a[NVOL], *p;
    struct sharr_info before[NVOL];
    const uint64_t shape[1] = { N }, other[2] = { 10, 20 };

    harness_daemon_stop(h);
    fault_fdstore_init(&fs, h);
    fault_daemon_start(h, NULL, &fs);
    sharr_t *c = harness_connect(h);
    for (int i = 0; i < NVOL; i++) {
        char name[16];
        struct sharr_create_opts o = { .size = sizeof(o), .perm = i % 2 ? 0640 : 0600 };
        snprintf(name, sizeof(name), "vol%d", i);
        assert_rc(sharr_create(c, name, "<u8", 1, shape, &o, &a[i]), 0);
        fault_fill(sharr_array_data(a[i]), N * 8, (uint64_t)i + 10);
        before[i] = *sharr_array_info(a[i]);
    }
    struct sharr_create_opts po = { .size = sizeof(po), .persist = 1 };
    assert_rc(sharr_create(c, "pers", "<u8", 1, shape, &po, &p), 0);
    fault_fill(sharr_array_data(p), N * 8, 99);
    /* vol9 is unlinked and vol8 replaced before the crash: neither old one returns. */
    assert_rc(sharr_unlink(c, "vol9"), 0);
    sharr_array_t *repl;
    struct sharr_create_opts ow = { .size = sizeof(ow), .overwrite = 1 };
    assert_rc(sharr_create(c, "vol8", "<f4", 2, other, &ow, &repl), 0);
    assert_rc(sharr_close(repl), 0);
    assert_int_equal(fault_fdstore_drain(&fs), 2 * (NVOL - 1));

    fault_daemon_kill(h);
    fault_daemon_start(h, NULL, &fs);

    /* The old connection reconnects on its next call. */
    struct sharr_stats st = harness_stats(c);
    assert_int_equal(st.arrays_volatile, NVOL - 1);
    assert_int_equal(st.arrays_persistent, 1);
    for (int i = 0; i < NVOL - 2; i++) {
        struct sharr_info in;
        sharr_array_t *b;
        assert_rc(sharr_stat(c, before[i].name, &in), 0);
        assert_string_equal(in.dtype, "<u8");
        assert_int_equal(in.shape[0], N);
        assert_int_equal(in.perm, before[i].perm);
        assert_int_equal(in.uid, before[i].uid);
        assert_int_equal(in.gid, before[i].gid);
        assert_true(in.ctime_ns == before[i].ctime_ns);
        assert_false(in.persist);
        assert_rc(sharr_open(c, before[i].name, "r+", NULL, &b), 0);
        assert_true(fault_check(sharr_array_data(b), N * 8, (uint64_t)i + 10));
        /* The mapping made before the crash still shares writes both ways. */
        ((uint64_t *)sharr_array_data(a[i]))[7] = 0xabcdef;
        assert_true(((uint64_t *)sharr_array_data(b))[7] == 0xabcdef);
        ((uint64_t *)sharr_array_data(b))[8] = 0x123456;
        assert_true(((uint64_t *)sharr_array_data(a[i]))[8] == 0x123456);
        assert_rc(sharr_close(b), 0);
    }
    struct sharr_info in8;
    assert_rc(sharr_stat(c, "vol8", &in8), 0);
    assert_string_equal(in8.dtype, "<f4");
    assert_int_equal(in8.ndim, 2);
    assert_rc(sharr_stat(c, "vol9", &in8), -ENOENT);
    assert_true(fault_check(sharr_array_data(p), N * 8, 99));

    /* Unlinking after the restart removes it from the store too. */
    assert_rc(sharr_unlink(c, "vol0"), 0);
    assert_rc(sharr_stats(c, &st), 0); /* a reply after the unlink: its message is queued */
    assert_int_equal(fault_fdstore_drain(&fs), 2 * (NVOL - 2));

    for (int i = 0; i < NVOL; i++)
        sharr_close(a[i]); /* attachments of the dead daemon: released locally only */
    assert_rc(sharr_close(p), 0);
    sharr_disconnect(c);
    assert_int_equal(harness_daemon_stop(h), 0);
    fault_fdstore_close(&fs);
    fault_daemon_start(h, NULL, NULL);
}

static void create_filled(sharr_t *c, const char *name, int persist, uint64_t seed)
{
    const uint64_t shape[1] = { 1000 + seed };
    struct sharr_create_opts o = { .size = sizeof(o), .persist = persist, .overwrite = 1 };
    sharr_array_t *a;
    assert_rc(sharr_create(c, name, "<u8", 1, shape, &o, &a), 0);
    fault_fill(sharr_array_data(a), (1000 + seed) * 8, seed);
    assert_rc(sharr_sync(a), 0);
    assert_rc(sharr_close(a), 0);
}

static void assert_filled(sharr_t *c, const char *name, int persist, uint64_t seed)
{
    sharr_array_t *a;
    assert_rc(sharr_open(c, name, "r", NULL, &a), 0);
    assert_int_equal(sharr_array_info(a)->persist, persist);
    assert_int_equal(sharr_array_info(a)->shape[0], 1000 + seed);
    assert_true(fault_check(sharr_array_data(a), (1000 + seed) * 8, seed));
    assert_rc(sharr_close(a), 0);
}

/* Overwrites across kinds: the new array replaces the old one in the store it lives
 * in and the old one leaves the other store, and a kill after that changes nothing. */
static void test_overwrites_across_kinds_survive_a_kill(void **state)
{
    struct harness *h = *state;
    struct fault_fdstore fs;
    char names[1024];

    harness_daemon_stop(h);
    fault_fdstore_init(&fs, h);
    fault_daemon_start(h, NULL, &fs);
    sharr_t *c = harness_connect(h);
    create_filled(c, "p2v", 1, 1);
    create_filled(c, "v2p", 0, 2);
    create_filled(c, "p2v", 0, 3);
    create_filled(c, "v2p", 1, 4);
    assert_int_equal(harness_stats(c).arrays, 2);
    assert_int_equal(fault_fdstore_drain(&fs), 2); /* p2v's two descriptors */
    fault_daemon_kill(h);
    fault_daemon_start(h, NULL, &fs);
    assert_filled(c, "p2v", 0, 3);
    assert_filled(c, "v2p", 1, 4);
    assert_int_equal(harness_stats(c).arrays, 2);
    assert_int_equal(fault_store_files(h, names, sizeof(names)), 2); /* v2p.npy, v2p.meta */
    assert_int_equal(fault_fdstore_drain(&fs), 2);
    sharr_disconnect(c);
    assert_int_equal(harness_daemon_stop(h), 0);
    fault_fdstore_close(&fs);
    fault_daemon_start(h, NULL, NULL);
}

/* Put fd into the stand-in's store under fdname, as if the daemon had sent it. */
static void inject(struct fault_fdstore *fs, const char *fdname, int fd)
{
    pthread_mutex_lock(&fs->lock);
    fs->fds[fs->n] = fd;
    snprintf(fs->names[fs->n], sizeof(fs->names[0]), "%s", fdname);
    fs->n++;
    pthread_mutex_unlock(&fs->lock);
}

static int memfd_with(const char *text)
{
    int fd = memfd_create("junk", MFD_CLOEXEC);
    assert_true(fd >= 0);
    assert_int_equal(write(fd, text, strlen(text)), (ssize_t)strlen(text));
    return fd;
}

/* Descriptors under our FDNAME prefix that are not whole arrays (garbage, a data
 * memfd without its metadata, metadata without data, an unsealed .npy) are dropped
 * and removed from the store; the daemon starts, serves, and keeps the real ones. */
static void test_bad_stored_descriptors_are_dropped(void **state)
{
    struct harness *h = *state;
    struct fault_fdstore fs;

    harness_daemon_stop(h);
    fault_fdstore_init(&fs, h);
    fault_daemon_start(h, NULL, &fs);
    sharr_t *c = harness_connect(h);
    create_filled(c, "real", 0, 7);
    assert_int_equal(fault_fdstore_drain(&fs), 2);
    fault_daemon_kill(h);
    inject(&fs, "sharr-array.1.1", memfd_with("garbage, not an array at all"));
    inject(&fs, "sharr-array.2.2", memfd_with("sharr-vmeta 1 0 0 600 5 5 lonely\n"));
    inject(&fs, "sharr-array.3.3", memfd_with("\x93NUMPY\x01\x00 not sealed, no header"));
    inject(&fs, "sharr-array.4.4", memfd_with("sharr-vmeta 1 0 0 600 5 5 fake\n"));
    inject(&fs, "sharr-array.4.4", memfd_with("\x93NUMPY\x01\x00 unsealed and short"));
    inject(&fs, "other-service", memfd_with("not ours: left alone"));
    fault_daemon_start(h, NULL, &fs);
    assert_filled(c, "real", 0, 7);
    struct sharr_stats st = harness_stats(c);
    assert_int_equal(st.arrays, 1);
    /* Ours that were bad are gone from the store (the unnamed one stays). */
    assert_int_equal(fault_fdstore_drain(&fs), 3);
    create_filled(c, "after", 0, 8);
    assert_filled(c, "after", 0, 8);
    sharr_disconnect(c);
    assert_int_equal(harness_daemon_stop(h), 0);
    fault_fdstore_close(&fs);
    fault_daemon_start(h, NULL, NULL);
}

/* A crash while an array's owner or bits change leaves two records of it in the store
 * (the new one is stored before the old one goes): the newer is served, the older
 * removed. The older record here is made by hand; the chmod through the daemon is
 * checked to survive a kill too. */
static void test_newest_record_of_a_changed_array_wins(void **state)
{
    struct harness *h = *state;
    struct fault_fdstore fs;
    char text[512], fdname[64];
    struct stat st;
    struct sharr_info in;

    harness_daemon_stop(h);
    fault_fdstore_init(&fs, h);
    fault_daemon_start(h, NULL, &fs);
    sharr_t *c = harness_connect(h);
    create_filled(c, "changed", 0, 3);
    create_filled(c, "chmodded", 0, 4);
    assert_rc(sharr_chmod(c, "chmodded", 0640), 0);
    assert_rc(sharr_stat(c, "changed", &in), 0);
    assert_int_equal(fault_fdstore_drain(&fs), 4);
    fault_daemon_kill(h);

    pthread_mutex_lock(&fs.lock);
    int data = -1;
    for (size_t i = 0; i < fs.n && data < 0; i++) {
        char magic[6];
        if (pread(fs.fds[i], magic, 6, 0) == 6 && memcmp(magic, "\x93NUMPY", 6) == 0
            && fstat(fs.fds[i], &st) == 0 && st.st_size == 4096 + 1003 * 8)
            data = dup(fs.fds[i]);
    }
    pthread_mutex_unlock(&fs.lock);
    assert_true(data >= 0);
    snprintf(fdname, sizeof(fdname), "sharr-array.%llx.%llx.%u.%u.644",
             (unsigned long long)st.st_ino, (unsigned long long)in.ctime_ns, in.uid, in.gid);
    snprintf(text, sizeof(text), "sharr-vmeta 1 %u %u 644 %lld 1 changed\n", in.uid, in.gid,
             (long long)in.ctime_ns);
    inject(&fs, fdname, data);
    inject(&fs, fdname, memfd_with(text));

    fault_daemon_start(h, NULL, &fs);
    assert_rc(sharr_stat(c, "changed", &in), 0);
    assert_int_equal(in.perm, 0600);
    assert_filled(c, "changed", 0, 3);
    assert_rc(sharr_stat(c, "chmodded", &in), 0);
    assert_int_equal(in.perm, 0640);
    assert_filled(c, "chmodded", 0, 4);
    assert_int_equal(fault_fdstore_drain(&fs), 4);
    sharr_disconnect(c);
    assert_int_equal(harness_daemon_stop(h), 0);
    fault_fdstore_close(&fs);
    fault_daemon_start(h, NULL, NULL);
}

static int late_opener(int rfd, int wfd, void *arg)
{
    (void)arg;
    sharr_t *c = NULL;
    sharr_array_t *a = NULL;
    struct sharr_open_opts o = { .size = sizeof(o), .wait_ms = 60000 };
    CHILD_CHECK(sharr_connect(NULL, &c) == 0);
    CHILD_CHECK(chan_put(wfd, "W", 1) == 0);
    CHILD_CHECK(sharr_open(c, "late", "r", &o, &a) == 0);
    /* The creator writes once it has the array too; then the mapping shows it. */
    char go;
    CHILD_CHECK(chan_put(wfd, "O", 1) == 0 && chan_get(rfd, &go, 1) == 0);
    CHILD_CHECK(((const uint64_t *)sharr_array_data(a))[0] == 42);
    CHILD_CHECK(sharr_close(a) == 0);
    sharr_disconnect(c);
    return 0;
}

static void test_waiting_open_survives_a_restart(void **state)
{
    struct harness *h = *state;
    struct harness_child ch;
    char ack;
    const uint64_t shape[1] = { 16 };

    harness_child_start(h, &ch, late_opener, NULL);
    harness_get(ch.from, &ack, 1);
    /* Not a pass condition: only gives the open time to be waiting when the daemon
     * dies (if not, it meets the restart in its reconnect instead). */
    struct timespec ts = { 0, 100 * 1000 * 1000L };
    nanosleep(&ts, NULL);
    fault_daemon_kill(h);
    fault_daemon_start(h, NULL, NULL);
    sharr_t *c = harness_connect(h);
    sharr_array_t *a;
    assert_rc(sharr_create(c, "late", "<u8", 1, shape, NULL, &a), 0);
    harness_get(ch.from, &ack, 1);
    assert_int_equal(ack, 'O');
    ((uint64_t *)sharr_array_data(a))[0] = 42;
    harness_put(ch.to, "G", 1);
    assert_int_equal(harness_child_wait(h, &ch), 0);
    assert_rc(sharr_close(a), 0);
    sharr_disconnect(c);
}

/* Connects, waits for the word, then opens "slow" waiting up to a minute: the daemon
 * is down by then and stays down longer than one round of reconnect tries. */
static int opener_across_an_outage(int rfd, int wfd, void *arg)
{
    (void)arg;
    sharr_t *c = NULL;
    sharr_array_t *a = NULL;
    struct sharr_open_opts o = { .size = sizeof(o), .wait_ms = 60000 };
    char go;
    CHILD_CHECK(sharr_connect(NULL, &c) == 0);
    CHILD_CHECK(chan_put(wfd, "W", 1) == 0 && chan_get(rfd, &go, 1) == 0);
    CHILD_CHECK(sharr_open(c, "slow", "r", &o, &a) == 0);
    /* The creator writes once it has the array too; then the mapping shows it. */
    CHILD_CHECK(chan_put(wfd, "O", 1) == 0 && chan_get(rfd, &go, 1) == 0);
    CHILD_CHECK(((const uint64_t *)sharr_array_data(a))[0] == 7);
    CHILD_CHECK(sharr_close(a) == 0);
    sharr_disconnect(c);
    return 0;
}

static void test_waiting_open_outlasts_a_daemon_down_longer_than_reconnect(void **state)
{
    struct harness *h = *state;
    struct harness_child ch;
    char ack;
    const uint64_t shape[1] = { 4 };

    harness_child_start(h, &ch, opener_across_an_outage, NULL);
    harness_get(ch.from, &ack, 1);
    fault_daemon_kill(h);
    harness_put(ch.to, "G", 1);
    /* Longer than one round of reconnect tries (about 1 s): the open must keep
     * dialing for the rest of its wait. */
    struct timespec ts = { 2, 0 };
    nanosleep(&ts, NULL);
    fault_daemon_start(h, NULL, NULL);
    sharr_t *c = harness_connect(h);
    sharr_array_t *a;
    uint64_t v = 7;
    assert_rc(sharr_create(c, "slow", "<u8", 1, shape, NULL, &a), 0);
    harness_get(ch.from, &ack, 1);
    assert_int_equal(ack, 'O');
    memcpy(sharr_array_data(a), &v, sizeof(v));
    harness_put(ch.to, "G", 1);
    assert_int_equal(harness_child_wait(h, &ch), 0);
    assert_rc(sharr_close(a), 0);
    sharr_disconnect(c);
}

static void test_waiting_open_ends_with_the_connect_error_when_sharrd_stays_away(void **state)
{
    struct harness *h = *state;
    sharr_t *c = harness_connect(h);
    struct sharr_open_opts o = { .size = sizeof(o), .wait_ms = 1500 };
    struct timespec t0, t1;
    sharr_array_t *a = NULL;

    fault_daemon_kill(h);
    clock_gettime(CLOCK_MONOTONIC, &t0);
    int rc = sharr_open(c, "never", "r", &o, &a);
    clock_gettime(CLOCK_MONOTONIC, &t1);
    assert_true(rc == -ECONNREFUSED || rc == -ENOENT);
    assert_null(a);
    assert_non_null(strstr(sharr_last_error(), "gave up after"));
    /* It kept dialing for the whole wait, not one round only. */
    assert_true((t1.tv_sec - t0.tv_sec) * 1000 + (t1.tv_nsec - t0.tv_nsec) / 1000000 >= 1500);
    fault_daemon_start(h, NULL, NULL);
    assert_rc(sharr_open(c, "never", "r", NULL, &a), -ENOENT);
    sharr_disconnect(c);
}

static void test_reconnect_gives_up_with_a_clear_error(void **state)
{
    struct harness *h = *state;
    sharr_t *c = harness_connect(h);
    struct sharr_info in;

    fault_daemon_kill(h);
    int rc = sharr_stat(c, "x", &in);
    assert_true(rc == -ECONNREFUSED || rc == -ENOENT || rc == -ECONNRESET);
    assert_non_null(strstr(sharr_last_error(), "gave up after"));
    fault_daemon_start(h, NULL, NULL);
    assert_rc(sharr_stat(c, "x", &in), -ENOENT); /* the same handle works again */
    sharr_disconnect(c);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_volatile_arrays_survive_a_killed_daemon,
                                        harness_setup, harness_teardown),
        cmocka_unit_test_setup_teardown(test_overwrites_across_kinds_survive_a_kill,
                                        harness_setup, harness_teardown),
        cmocka_unit_test_setup_teardown(test_bad_stored_descriptors_are_dropped,
                                        harness_setup, harness_teardown),
        cmocka_unit_test_setup_teardown(test_newest_record_of_a_changed_array_wins,
                                        harness_setup, harness_teardown),
        cmocka_unit_test_setup_teardown(test_waiting_open_survives_a_restart, harness_setup,
                                        harness_teardown),
        cmocka_unit_test_setup_teardown(
            test_waiting_open_outlasts_a_daemon_down_longer_than_reconnect, harness_setup,
            harness_teardown),
        cmocka_unit_test_setup_teardown(
            test_waiting_open_ends_with_the_connect_error_when_sharrd_stays_away,
            harness_setup, harness_teardown),
        cmocka_unit_test_setup_teardown(test_reconnect_gives_up_with_a_clear_error,
                                        harness_setup, harness_teardown),
    };
    return testskip_exit(cmocka_run_group_tests(tests, NULL, NULL));
}
