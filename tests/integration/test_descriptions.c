/* test_descriptions.c — which open file descriptions the daemon hands out.
 *
 * Attaches of one array in one mode on one connection share a description (the
 * daemon's per-connection cache sends the same one again); two connections, or two
 * modes, never do. The daemon keeps no cached descriptor of an array past its
 * removal or past the connection's close. Sharing is seen through the file offset,
 * which belongs to the description; the daemon's descriptors through /proc/<pid>/fd.
 * A raw connection that does not read lets replies queue in the daemon while the
 * cache gives up the descriptors they carry. A daemon whose descriptor table is full
 * gives up its cached descriptors before it turns a client or a create away.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "codec.h"
#include "harness.h"
#include "launch.h"
#include "rawconn.h"
#include "testskip.h"

#define N 1024u /* int64: two pages of data */

static sharr_array_t *create_filled(sharr_t *conn, const char *name, int persist,
                                    int overwrite, int64_t value)
{
    const uint64_t shape[1] = { N };
    const struct sharr_create_opts opts = { .size = sizeof(opts), .persist = persist,
                                            .overwrite = overwrite };
    sharr_array_t *arr = NULL;

    assert_rc(sharr_create(conn, name, "<i8", 1, shape, &opts, &arr), 0);
    int64_t *d = sharr_array_data(arr);
    for (uint64_t i = 0; i < N; i++)
        d[i] = value;
    return arr;
}

static sharr_array_t *open_mode(sharr_t *conn, const char *name, const char *mode)
{
    sharr_array_t *arr = NULL;

    assert_rc(sharr_open(conn, name, mode, NULL, &arr), 0);
    return arr;
}

/* Whether a and b share one open file description: a seek through one moves both. */
static int same_description(const sharr_array_t *a, const sharr_array_t *b)
{
    int fa = sharr_array_fd(a), fb = sharr_array_fd(b);

    assert_int_equal(lseek(fa, 0, SEEK_SET), 0);
    assert_int_equal(lseek(fb, 0, SEEK_SET), 0);
    assert_int_equal(lseek(fa, 777, SEEK_SET), 777);
    return lseek(fb, 0, SEEK_CUR) == 777;
}

static int access_mode(const sharr_array_t *a)
{
    return fcntl(sharr_array_fd(a), F_GETFL) & O_ACCMODE;
}

/* How many of the daemon's descriptors are open on the file that st describes
 * (deleted files and memfds included: stat follows /proc's links). */
static int daemon_fds_on(const struct harness *h, const struct stat *st)
{
    char dir[64], path[384];
    struct dirent *de;
    struct stat s;
    int n = 0;

    snprintf(dir, sizeof(dir), "/proc/%d/fd", (int)h->daemon);
    DIR *d = opendir(dir);
    assert_non_null(d);
    while ((de = readdir(d)) != NULL) {
        if (de->d_name[0] == '.')
            continue;
        snprintf(path, sizeof(path), "%s/%s", dir, de->d_name);
        if (stat(path, &s) == 0 && s.st_dev == st->st_dev && s.st_ino == st->st_ino)
            n++;
    }
    closedir(d);
    return n;
}

static struct stat file_of(const sharr_array_t *a)
{
    struct stat st;

    assert_int_equal(fstat(sharr_array_fd(a), &st), 0);
    return st;
}

static void test_attaches_on_one_connection_share_a_description(void **state)
{
    struct harness *h = *state;
    sharr_t *conn = harness_connect(h);
    sharr_array_t *created = create_filled(conn, "one", 0, 0, 1);

    for (int m = 0; m < 2; m++) {
        const char *mode = m ? "r+" : "r";
        sharr_array_t *x = open_mode(conn, "one", mode), *y = open_mode(conn, "one", mode);
        assert_true(same_description(x, y));
        /* The flags are the description's too. */
        assert_int_equal(fcntl(sharr_array_fd(x), F_SETFL, O_APPEND), 0);
        assert_true(fcntl(sharr_array_fd(y), F_GETFL) & O_APPEND);
        assert_int_equal(fcntl(sharr_array_fd(x), F_SETFL, 0), 0);
        assert_rc(sharr_close(x), 0);
        assert_rc(sharr_close(y), 0);
    }
    assert_rc(sharr_close(created), 0);
    sharr_disconnect(conn);
}

static void test_attaches_on_two_connections_never_share(void **state)
{
    struct harness *h = *state;
    sharr_t *c1 = harness_connect(h), *c2 = harness_connect(h);
    sharr_array_t *created = create_filled(c1, "two", 0, 0, 1);

    for (int m = 0; m < 2; m++) {
        const char *mode = m ? "r+" : "r";
        sharr_array_t *x = open_mode(c1, "two", mode), *y = open_mode(c2, "two", mode);
        struct stat sx = file_of(x), sy = file_of(y);
        assert_true(sx.st_ino == sy.st_ino && sx.st_dev == sy.st_dev);
        assert_false(same_description(x, y));
        assert_false(same_description(y, x));
        assert_int_equal(fcntl(sharr_array_fd(x), F_SETFL, O_APPEND), 0);
        assert_false(fcntl(sharr_array_fd(y), F_GETFL) & O_APPEND);
        assert_rc(sharr_close(x), 0);
        assert_rc(sharr_close(y), 0);
    }
    assert_rc(sharr_close(created), 0);
    sharr_disconnect(c1);
    sharr_disconnect(c2);
}

static void test_modes_on_one_connection_get_their_own_descriptions(void **state)
{
    struct harness *h = *state;
    sharr_t *conn = harness_connect(h);
    sharr_array_t *created = create_filled(conn, "modes", 0, 0, 1);
    /* r+ first: a reader after it must still get a read-only description. */
    sharr_array_t *w = open_mode(conn, "modes", "r+"), *r = open_mode(conn, "modes", "r");
    sharr_array_t *r2 = open_mode(conn, "modes", "r"), *w2 = open_mode(conn, "modes", "r+");

    assert_int_equal(access_mode(w), O_RDWR);
    assert_int_equal(access_mode(w2), O_RDWR);
    assert_int_equal(access_mode(r), O_RDONLY);
    assert_int_equal(access_mode(r2), O_RDONLY);
    assert_false(same_description(w, r));
    assert_false(same_description(r, w));
    assert_true(same_description(r, r2));
    assert_true(same_description(w, w2));
    assert_rc(sharr_close(w), 0);
    assert_rc(sharr_close(r), 0);
    assert_rc(sharr_close(r2), 0);
    assert_rc(sharr_close(w2), 0);
    assert_rc(sharr_close(created), 0);
    sharr_disconnect(conn);
}

/* How many of the daemon's descriptors are open on st's file once those of its work
 * in flight are closed: polls (bounded, 4000 x 5 ms) until none is left. Giving back
 * the blocks of an unlinked persistent file holds one on the thread pool for a moment. */
static int daemon_fds_left_on(const struct harness *h, const struct stat *st)
{
    int n = 0;

    for (int i = 0; i < 4000 && (n = daemon_fds_on(h, st)) > 0; i++) {
        struct timespec ts = { 0, 5 * 1000 * 1000L };
        nanosleep(&ts, NULL);
    }
    return n;
}

/* Another connection attached the array, let go of it and stays open; the owner
 * unlinks it: the daemon must hold nothing of the file any more (once the work the
 * unlink left to the thread pool is done: cached descriptors would stay). */
static void unlink_releases_every_descriptor(struct harness *h, int persist)
{
    sharr_t *owner = harness_connect(h), *other = harness_connect(h);
    sharr_array_t *created = create_filled(owner, "gone", persist, 0, 1);
    sharr_array_t *r = open_mode(other, "gone", "r"), *w = open_mode(other, "gone", "r+");
    struct stat st = file_of(created);

    assert_rc(sharr_close(r), 0);
    assert_rc(sharr_close(w), 0);
    assert_rc(sharr_close(created), 0);
    (void)harness_stats(other); /* the releases are in */
    (void)harness_stats(owner);
    assert_true(daemon_fds_on(h, &st) >= 1); /* the array's own, at least */
    assert_rc(sharr_unlink(owner, "gone"), 0);
    assert_int_equal(daemon_fds_left_on(h, &st), 0);
    sharr_disconnect(owner);
    sharr_disconnect(other);
}

static void test_unlink_closes_cached_descriptors_of_a_volatile_array(void **state)
{
    unlink_releases_every_descriptor(*state, 0);
}

static void test_unlink_closes_cached_descriptors_of_a_persistent_array(void **state)
{
    unlink_releases_every_descriptor(*state, 1);
}

static void test_closing_a_connection_closes_its_cached_descriptors(void **state)
{
    struct harness *h = *state;
    sharr_t *owner = harness_connect(h), *other = harness_connect(h);
    sharr_array_t *created = create_filled(owner, "kept", 1, 0, 1);
    struct stat st = file_of(created);

    assert_rc(sharr_close(created), 0);
    (void)harness_stats(owner);
    int alone = daemon_fds_on(h, &st);
    sharr_array_t *r = open_mode(other, "kept", "r"), *w = open_mode(other, "kept", "r+");
    assert_rc(sharr_close(r), 0);
    assert_rc(sharr_close(w), 0);
    (void)harness_stats(other);
    /* Kept for the next attach while the connection lives... */
    assert_int_equal(daemon_fds_on(h, &st), alone + 2);
    sharr_disconnect(other);
    /* ...and closed with it. */
    assert_int_equal(harness_wait_connections(owner, 1), 1);
    assert_int_equal(daemon_fds_on(h, &st), alone);
    sharr_disconnect(owner);
}

/* The name now means another array: the next attach on the same connection, whose
 * cache held the old one, maps the new one. */
static void recreate_gives_the_new_array(struct harness *h, const char *name, int persist,
                                         int unlink_first)
{
    sharr_t *conn = harness_connect(h);
    sharr_array_t *old = create_filled(conn, name, persist, 0, 1);
    struct stat old_st = file_of(old);
    sharr_array_t *r = open_mode(conn, name, "r");

    assert_int_equal(((const int64_t *)sharr_array_data(r))[N - 1], 1);
    assert_rc(sharr_close(r), 0);
    if (unlink_first)
        assert_rc(sharr_unlink(conn, name), 0);
    sharr_array_t *fresh = create_filled(conn, name, persist, !unlink_first, 2);
    r = open_mode(conn, name, "r");
    sharr_array_t *w = open_mode(conn, name, "r+");
    struct stat st = file_of(r);
    assert_false(st.st_ino == old_st.st_ino && st.st_dev == old_st.st_dev);
    for (uint64_t i = 0; i < N; i++) {
        assert_int_equal(((const int64_t *)sharr_array_data(r))[i], 2);
        assert_int_equal(((const int64_t *)sharr_array_data(w))[i], 2);
    }
    assert_rc(sharr_close(r), 0);
    assert_rc(sharr_close(w), 0);
    assert_rc(sharr_close(fresh), 0);
    assert_rc(sharr_close(old), 0);
    sharr_disconnect(conn);
}

static void test_overwrite_gives_the_new_contents_on_the_same_connection(void **state)
{
    recreate_gives_the_new_array(*state, "again", 0, 0);
    recreate_gives_the_new_array(*state, "again_p", 1, 0);
}

static void test_unlink_and_create_gives_the_new_contents_on_the_same_connection(void **state)
{
    recreate_gives_the_new_array(*state, "again", 0, 1);
    recreate_gives_the_new_array(*state, "again_p", 1, 1);
}

#define CACHE_SLOTS 4                   /* FDCACHE_SIZE in daemon/fdcache.h */
#define QUEUED_ARRAYS (CACHE_SLOTS + 1) /* cycling through them, every open misses */
#define QUEUED_OPENS 1200               /* far more replies than the socket holds */

/* Replies pile up in the daemon while each open evicts a descriptor that an earlier,
 * still queued reply carries, and one of the arrays is unlinked meanwhile: every
 * reply must still bring a live descriptor of its own array, read-only. */
static void test_descriptors_given_up_while_their_replies_are_queued_still_arrive(void **state)
{
    struct harness *h = *state;
    sharr_t *owner = harness_connect(h);
    struct stat st[QUEUED_ARRAYS];
    char names[QUEUED_ARRAYS][16];
    struct rawconn rc;
    msgpack_sbuffer sb;

    for (int i = 0; i < QUEUED_ARRAYS; i++) {
        snprintf(names[i], sizeof(names[i]), "q%d", i);
        sharr_array_t *a = create_filled(owner, names[i], i % 2, 0, 100 + i);
        st[i] = file_of(a);
        assert_rc(sharr_close(a), 0);
    }
    rawconn_open(&rc, h->sock, 4096);
    rawconn_hello(&rc, 1);
    msgpack_sbuffer_init(&sb);
    for (uint32_t k = 0; k < QUEUED_OPENS; k++) {
        struct codec_open op = { .mode = META_MODE_R };
        strcpy(op.name, names[k % QUEUED_ARRAYS]);
        assert_int_equal(codec_pack_open(&sb, 10 + k, &op), 0);
    }
    rawconn_send_sbuf(&rc, &sb);
    msgpack_sbuffer_destroy(&sb);
    /* Every open answered (and its reply queued): the daemon answers a batch a slice
     * per turn of its loop, so wait for all of their attachments. */
    assert_int_equal(harness_wait_attachments(owner, QUEUED_OPENS), QUEUED_OPENS);
    assert_rc(sharr_unlink(owner, names[0]), 0);

    for (uint32_t k = 0; k < QUEUED_OPENS; k++) {
        const struct stat *want = &st[k % QUEUED_ARRAYS];
        const msgpack_object *result = NULL;
        struct codec_attach_reply att;
        char err[256] = "";
        struct stat got;
        int64_t value = 0;
        int has_fd = 0;

        rawconn_expect_reply(&rc, 10 + k, NULL, &result);
        assert_int_equal(codec_parse_reply_attach(result, &att, &has_fd, err, sizeof err), 0);
        assert_int_equal(has_fd, 1);
        int fd = rawconn_take_fd(&rc, NULL);
        assert_true(fd >= 0);
        assert_int_equal(fstat(fd, &got), 0);
        assert_true(got.st_dev == want->st_dev && got.st_ino == want->st_ino);
        assert_int_equal(fcntl(fd, F_GETFL) & O_ACCMODE, O_RDONLY);
        assert_int_equal(pread(fd, &value, sizeof(value), (off_t)att.meta.offset),
                         (ssize_t)sizeof(value));
        assert_int_equal(value, 100 + (int64_t)(k % QUEUED_ARRAYS));
        close(fd);
    }
    rawconn_close(&rc);
    (void)harness_wait_connections(owner, 1);
    assert_int_equal(daemon_fds_on(h, &st[0]), 0);
    sharr_disconnect(owner);
}

/* The lowest descriptor number the daemon has free. */
static int daemon_lowest_free_fd(const struct harness *h)
{
    char path[64];
    int fd = 0;

    for (;; fd++) {
        snprintf(path, sizeof(path), "/proc/%d/fd/%d", (int)h->daemon, fd);
        if (access(path, F_OK) < 0)
            return fd;
    }
}

static rlim_t daemon_limit_descriptors(const struct harness *h, int free);

#define FULL_ARRAYS 6

/* Arrays f0..f5 created by *owner; *other attached f0..f3 and let go of them, so
 * both connections' caches are full. Then the daemon's soft descriptor limit is set
 * to its lowest free number: its next open, accept or create meets EMFILE. */
static void fill_the_descriptor_table(struct harness *h, sharr_t **owner, sharr_t **other,
                                      struct stat st[FULL_ARRAYS])
{
    char name[16];

    *owner = harness_connect(h);
    *other = harness_connect(h);
    for (int i = 0; i < FULL_ARRAYS; i++) {
        snprintf(name, sizeof(name), "f%d", i);
        sharr_array_t *a = create_filled(*owner, name, 0, 0, i);
        st[i] = file_of(a);
        assert_rc(sharr_close(a), 0);
    }
    for (int i = 0; i < CACHE_SLOTS; i++) {
        snprintf(name, sizeof(name), "f%d", i);
        assert_rc(sharr_close(open_mode(*other, name, "r")), 0);
    }
    (void)harness_stats(*owner);
    (void)harness_stats(*other);
    assert_int_equal(daemon_fds_on(h, &st[0]), 2); /* its own and other's cached one */
    daemon_limit_descriptors(h, 0);
}

/* Set the daemon's soft descriptor limit to its lowest free number and free more
 * above it: it can open free more descriptors before it meets EMFILE. Returns the
 * limit it had, for daemon_unlimit_descriptors. */
static rlim_t daemon_limit_descriptors(const struct harness *h, int free)
{
    struct rlimit rl;
    rlim_t was;

    assert_int_equal(prlimit(h->daemon, RLIMIT_NOFILE, NULL, &rl), 0);
    was = rl.rlim_cur;
    rl.rlim_cur = (rlim_t)(daemon_lowest_free_fd(h) + free);
    assert_int_equal(prlimit(h->daemon, RLIMIT_NOFILE, &rl, NULL), 0);
    return was;
}

static void daemon_unlimit_descriptors(const struct harness *h, rlim_t was)
{
    struct rlimit rl;

    assert_int_equal(prlimit(h->daemon, RLIMIT_NOFILE, NULL, &rl), 0);
    rl.rlim_cur = was;
    assert_int_equal(prlimit(h->daemon, RLIMIT_NOFILE, &rl, NULL), 0);
}

static void assert_nothing_cached(const struct harness *h, const struct stat st[FULL_ARRAYS])
{
    for (int i = 0; i < FULL_ARRAYS; i++)
        assert_int_equal(daemon_fds_on(h, &st[i]), 1);
}

static void test_full_descriptor_table_gives_up_cached_ones_to_accept(void **state)
{
    struct harness *h = *state;
    struct stat st[FULL_ARRAYS];
    sharr_t *owner, *other;

    fill_the_descriptor_table(h, &owner, &other, st);
    sharr_t *late = harness_connect(h); /* fails the test if it is turned away */
    assert_int_equal(harness_stats(late).connections, 3);
    assert_nothing_cached(h, st);
    sharr_disconnect(late);
    sharr_disconnect(owner);
    sharr_disconnect(other);
}

/* A small volatile create runs on the loop, a persistent one on the thread pool. */
static void full_table_create(struct harness *h, int persist)
{
    struct stat st[FULL_ARRAYS];
    sharr_t *owner, *other;

    fill_the_descriptor_table(h, &owner, &other, st);
    assert_rc(sharr_close(create_filled(other, "late", persist, 0, 7)), 0);
    sharr_disconnect(owner);
    sharr_disconnect(other);
}

static void test_full_descriptor_table_gives_up_cached_ones_to_create(void **state)
{
    full_table_create(*state, 0);
}

static void test_full_descriptor_table_gives_up_cached_ones_to_persistent_create(void **state)
{
    full_table_create(*state, 1);
}

static void test_full_descriptor_table_gives_up_cached_ones_to_attach(void **state)
{
    struct harness *h = *state;
    struct stat st[FULL_ARRAYS];
    sharr_t *owner, *other;

    fill_the_descriptor_table(h, &owner, &other, st);
    sharr_array_t *a = open_mode(other, "f5", "r");
    assert_int_equal(((const int64_t *)sharr_array_data(a))[0], 5);
    assert_rc(sharr_close(a), 0);
    sharr_disconnect(owner);
    sharr_disconnect(other);
}

/* sync opens a persistent array's file by name on the thread pool: out of descriptors,
 * the cached ones are given up and the sync runs again. */
static void test_full_descriptor_table_gives_up_cached_ones_to_sync(void **state)
{
    struct harness *h = *state;
    struct stat st[FULL_ARRAYS];
    sharr_t *owner, *other;
    sharr_t *holder = harness_connect(h);
    sharr_array_t *p = create_filled(holder, "p", 1, 0, 9);

    fill_the_descriptor_table(h, &owner, &other, st);
    assert_rc(sharr_sync(p), 0);
    assert_rc(sharr_close(p), 0);
    sharr_disconnect(holder);
    sharr_disconnect(owner);
    sharr_disconnect(other);
}

/* A process keeps a descriptor of an unlinked volatile array that was attached
 * read-only, and no connection has one cached: the daemon, out of descriptors when the
 * array loses its name, cannot ask the kernel who holds it (that takes a descriptor)
 * and keeps counting it rather than letting it go uncounted, until the holder closes. */
static void test_full_descriptor_table_keeps_counting_an_unlinked_array_still_held(
    void **state)
{
    struct harness *h = *state;
    sharr_t *maker = harness_connect(h);
    uint64_t cost;
    rlim_t was;
    int fd;

    assert_rc(sharr_close(create_filled(maker, "held", 0, 0, 3)), 0);
    sharr_array_t *r = open_mode(maker, "held", "r");
    fd = dup(sharr_array_fd(r));
    assert_true(fd >= 0);
    assert_rc(sharr_close(r), 0);
    sharr_disconnect(maker); /* its cached descriptors go with it */
    sharr_t *c = harness_connect(h);
    cost = harness_stats(c).volatile_reserved;
    assert_true(cost > 0);
    was = daemon_limit_descriptors(h, 0);
    assert_rc(sharr_unlink(c, "held"), 0);
    assert_int_equal(harness_stats(c).volatile_reserved, cost);
    daemon_unlimit_descriptors(h, was);
    assert_int_equal(harness_stats(c).volatile_reserved, cost);
    assert_int_equal(close(fd), 0);
    assert_int_equal(harness_stats(c).volatile_reserved, 0);
    assert_int_equal(harness_stats(c).arrays_volatile, 0);
    sharr_disconnect(c);
}

/* A published array (its pages cannot be given back) is held only by an O_PATH
 * descriptor when it loses its name, and the daemon is out of descriptors: it keeps
 * counting the array until that descriptor closes, as with descriptors to spare. */
static void test_full_descriptor_table_keeps_counting_a_published_array_held_by_path(
    void **state)
{
    struct harness *h = *state;
    sharr_t *maker = harness_connect(h);
    char path[64];
    uint64_t cost;
    rlim_t was;
    int fd;

    sharr_array_t *a = create_filled(maker, "pub", 0, 0, 5);
    assert_rc(sharr_publish(maker, "pub", NULL), 0);
    snprintf(path, sizeof(path), "/proc/self/fd/%d", sharr_array_fd(a));
    fd = open(path, O_PATH | O_CLOEXEC);
    assert_true(fd >= 0);
    assert_rc(sharr_close(a), 0);
    sharr_disconnect(maker); /* its cached descriptors go with it */
    sharr_t *c = harness_connect(h);
    cost = harness_stats(c).volatile_reserved;
    assert_true(cost > 0);
    was = daemon_limit_descriptors(h, 0);
    assert_rc(sharr_unlink(c, "pub"), 0);
    assert_int_equal(harness_stats(c).volatile_reserved, cost);
    daemon_unlimit_descriptors(h, was);
    assert_int_equal(close(fd), 0);
    assert_int_equal(harness_stats(c).volatile_reserved, 0);
    sharr_disconnect(c);
}

/* Bytes of disk the file open on fd has once the daemon has had the time to give
 * them back: polls fstat (bounded, 4000 x 5 ms) until it has no block left. */
static uint64_t disk_left(int fd)
{
    struct stat sb;

    for (int i = 0; i < 4000; i++) {
        assert_int_equal(fstat(fd, &sb), 0);
        if (sb.st_blocks == 0)
            break;
        struct timespec ts = { 0, 5 * 1000 * 1000L };
        nanosleep(&ts, NULL);
    }
    return (uint64_t)sb.st_blocks * 512;
}

/* A persistent array held only by an O_PATH descriptor loses its name while the
 * daemon has one descriptor left, which keeping its file takes: it cannot open the
 * file again to give its blocks back, so it keeps counting the array (a create that
 * fits the quota only without it is refused for the quota, not for descriptors) and
 * its blocks stay; with descriptors back, the next look gives them back and lets the
 * array go. */
static void test_full_descriptor_table_keeps_counting_a_persistent_file_held_by_path(
    void **state)
{
    struct harness *h = *state;
    const char *const flags[] = { "--max-bytes", "12K", NULL };
    const uint64_t shape[1] = { N };
    const struct sharr_create_opts persist = { .size = sizeof(persist), .persist = 1 };
    sharr_array_t *b = NULL;
    char path[64];
    struct stat sb;
    uint64_t disk;
    rlim_t was;
    int fd;

    launch_daemon(h, flags, 0);
    sharr_t *maker = harness_connect(h);
    sharr_array_t *a = create_filled(maker, "pdisk", 1, 0, 5);
    /* Another uid's: root's own arrays are never cut (root may reopen them). */
    assert_rc(sharr_chown(maker, "pdisk", 65534, SHARR_ID_KEEP), 0);
    snprintf(path, sizeof(path), "/proc/self/fd/%d", sharr_array_fd(a));
    fd = open(path, O_PATH | O_CLOEXEC);
    assert_true(fd >= 0);
    assert_rc(sharr_close(a), 0);
    sharr_disconnect(maker); /* its cached descriptors go with it */
    sharr_t *c = harness_connect(h);
    assert_int_equal(fstat(fd, &sb), 0);
    disk = (uint64_t)sb.st_blocks * 512;
    assert_true(disk >= N * 8);
    was = daemon_limit_descriptors(h, 1);
    assert_rc(sharr_unlink(c, "pdisk"), 0);
    assert_rc(sharr_create(c, "next", "<i8", 1, shape, &persist, &b), -ENOSPC);
    assert_non_null(strstr(sharr_last_error(), "--max-bytes"));
    assert_int_equal(fstat(fd, &sb), 0);
    assert_int_equal((uint64_t)sb.st_blocks * 512, disk);
    daemon_unlimit_descriptors(h, was);
    assert_rc(sharr_close(create_filled(c, "next", 1, 0, 6)), 0);
    assert_int_equal(disk_left(fd), 0);
    assert_int_equal(close(fd), 0);
    sharr_disconnect(c);
}

/* The daemon has one descriptor left, which the new array's memfd takes: the reply has
 * none to carry, so the create fails with EMFILE and a message, and leaves no array
 * behind (no name, nothing counted); with descriptors back, the same create succeeds. */
static void test_create_without_a_descriptor_for_its_reply_leaves_no_array(void **state)
{
    struct harness *h = *state;
    const uint64_t shape[1] = { N };
    sharr_array_t *a = NULL;
    struct sharr_info in;
    rlim_t was;

    sharr_t *c = harness_connect(h);
    (void)harness_stats(c);
    was = daemon_limit_descriptors(h, 1);
    int rc = sharr_create(c, "late", "<i8", 1, shape, NULL, &a);
    printf("create with one descriptor left: %d (%s)\n", rc, rc ? sharr_last_error() : "");
    daemon_unlimit_descriptors(h, was);
    assert_int_equal(rc, -EMFILE);
    assert_non_null(strstr(sharr_last_error(), "late"));
    assert_rc(sharr_stat(c, "late", &in), -ENOENT);
    struct sharr_stats st = harness_stats(c);
    assert_int_equal(st.arrays_volatile, 0);
    assert_int_equal(st.volatile_reserved, 0);
    assert_rc(sharr_close(create_filled(c, "late", 0, 0, 4)), 0);
    sharr_disconnect(c);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_attaches_on_one_connection_share_a_description,
                                        harness_setup, harness_teardown),
        cmocka_unit_test_setup_teardown(test_attaches_on_two_connections_never_share,
                                        harness_setup, harness_teardown),
        cmocka_unit_test_setup_teardown(test_modes_on_one_connection_get_their_own_descriptions,
                                        harness_setup, harness_teardown),
        cmocka_unit_test_setup_teardown(
            test_unlink_closes_cached_descriptors_of_a_volatile_array, harness_setup,
            harness_teardown),
        cmocka_unit_test_setup_teardown(
            test_unlink_closes_cached_descriptors_of_a_persistent_array, harness_setup,
            harness_teardown),
        cmocka_unit_test_setup_teardown(test_closing_a_connection_closes_its_cached_descriptors,
                                        harness_setup, harness_teardown),
        cmocka_unit_test_setup_teardown(
            test_overwrite_gives_the_new_contents_on_the_same_connection, harness_setup,
            harness_teardown),
        cmocka_unit_test_setup_teardown(
            test_unlink_and_create_gives_the_new_contents_on_the_same_connection,
            harness_setup, harness_teardown),
        cmocka_unit_test_setup_teardown(
            test_descriptors_given_up_while_their_replies_are_queued_still_arrive,
            harness_setup, harness_teardown),
        cmocka_unit_test_setup_teardown(
            test_full_descriptor_table_gives_up_cached_ones_to_accept, harness_setup,
            harness_teardown),
        cmocka_unit_test_setup_teardown(
            test_full_descriptor_table_gives_up_cached_ones_to_create, harness_setup,
            harness_teardown),
        cmocka_unit_test_setup_teardown(
            test_full_descriptor_table_gives_up_cached_ones_to_persistent_create,
            harness_setup, harness_teardown),
        cmocka_unit_test_setup_teardown(
            test_full_descriptor_table_gives_up_cached_ones_to_attach, harness_setup,
            harness_teardown),
        cmocka_unit_test_setup_teardown(
            test_full_descriptor_table_gives_up_cached_ones_to_sync, harness_setup,
            harness_teardown),
        cmocka_unit_test_setup_teardown(
            test_full_descriptor_table_keeps_counting_an_unlinked_array_still_held,
            harness_setup, harness_teardown),
        cmocka_unit_test_setup_teardown(
            test_full_descriptor_table_keeps_counting_a_published_array_held_by_path,
            harness_setup, harness_teardown),
        cmocka_unit_test_setup_teardown(
            test_full_descriptor_table_keeps_counting_a_persistent_file_held_by_path,
            harness_setup, harness_teardown),
        cmocka_unit_test_setup_teardown(
            test_create_without_a_descriptor_for_its_reply_leaves_no_array, harness_setup,
            harness_teardown),
    };
    return testskip_exit(cmocka_run_group_tests(tests, NULL, NULL));
}
