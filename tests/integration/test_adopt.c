/* test_adopt.c — `sharr import FILE NAME --move` and the adopt method behind it, against
 * a real sharrd: a numpy file becomes a persistent array with no copy (same inode, data
 * at byte 128) that opens, shares writes, survives a restart, loads with numpy and
 * exports equal; every refusal answers its errno and message and leaves the file where
 * it was and nothing in the store; descriptors sent on the wire are taken by adopt only
 * and never leaked; --overwrite replaces an array; --move with raw-data flags is a
 * usage error.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include "codec.h"
#include "harness.h"
#include "asuser.h"
#include "launch.h"
#include "rawconn.h"
#include "testskip.h"

#define ROWS 3
#define COLS 5
#define NPY_SHORT 128 /* where numpy's np.save puts the data of a small array */

static const struct sharr_create_opts persist_opts = { .size = sizeof(persist_opts),
                                                       .persist = 1 };

static const char *path_in(const struct harness *h, const char *name)
{
    static char paths[4][256];
    static int next;
    char *p = paths[next++ % 4];
    snprintf(p, 256, "%s/%s", h->dir, name);
    return p;
}

/* A (3, 5) <f8 .npy file laid out as numpy's np.save writes it: a 128-byte v1.0
 * header, then the values first + i. Returns the file's size. */
static size_t write_numpy_file(const char *path, double first)
{
    static const char dict[] = "{'descr': '<f8', 'fortran_order': False, 'shape': (3, 5), }";
    unsigned char buf[NPY_SHORT + ROWS * COLS * sizeof(double)];
    double v[ROWS * COLS];

    memset(buf, ' ', NPY_SHORT);
    memcpy(buf, "\x93NUMPY\x01\x00", 8);
    buf[8] = NPY_SHORT - 10;
    buf[9] = 0;
    memcpy(buf + 10, dict, sizeof dict - 1);
    buf[NPY_SHORT - 1] = '\n';
    for (int i = 0; i < ROWS * COLS; i++)
        v[i] = first + i;
    memcpy(buf + NPY_SHORT, v, sizeof v);
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    assert_true(fd >= 0);
    assert_int_equal(write(fd, buf, sizeof buf), (ssize_t)sizeof buf);
    close(fd);
    return sizeof buf;
}

/* Run the CLI; returns its exit code with stdout and stderr in *ret. */
static int cli(struct harness *h, struct harness_run *ret, ...)
{
    const char *argv[16] = { harness_cli_path() };
    va_list ap;
    int n = 1;

    va_start(ap, ret);
    for (const char *s; (s = va_arg(ap, const char *)) != NULL && n < 15;)
        argv[n++] = s;
    va_end(ap);
    argv[n] = NULL;
    harness_run(h, argv, ret);
    return ret->status;
}

static void assert_contains(const char *text, const char *needle)
{
    if (strstr(text, needle) == NULL) {
        print_error("\"%s\" lacks \"%s\"\n", text, needle);
        fail();
    }
}

/* Nothing of an interrupted or refused create is left in the store. */
static void assert_store_has_no_leftovers(const struct harness *h)
{
    DIR *dir = opendir(h->store);
    struct dirent *de;

    assert_non_null(dir);
    while ((de = readdir(dir)) != NULL) {
        if (strncmp(de->d_name, ".inflight-", 10) == 0 || strncmp(de->d_name, ".tmp-", 5) == 0) {
            print_error("leftover %s in the store\n", de->d_name);
            fail();
        }
    }
    closedir(dir);
}

struct reader_arg {
    double want;
};

/* Another process: opens the array read-only and reports whether it sees want first. */
static int reader_child(int rfd, int wfd, void *arg)
{
    const struct reader_arg *a = arg;
    sharr_array_t *arr = NULL;
    sharr_t *c = NULL;
    char ok;

    (void)rfd;
    CHILD_CHECK(sharr_connect(NULL, &c) == 0);
    CHILD_CHECK(sharr_open(c, "moved", "r", NULL, &arr) == 0);
    CHILD_CHECK(sharr_array_info(arr)->offset == NPY_SHORT);
    ok = ((const double *)sharr_array_data(arr))[0] == a->want;
    CHILD_CHECK(chan_put(wfd, &ok, 1) == 0);
    sharr_close(arr);
    sharr_disconnect(c);
    return 0;
}

static void assert_values(const sharr_array_t *arr, double first)
{
    const struct sharr_info *in = sharr_array_info(arr);
    const double *d = sharr_array_data(arr);

    assert_string_equal(in->dtype, "<f8");
    assert_int_equal(in->ndim, 2);
    assert_int_equal(in->shape[0], ROWS);
    assert_int_equal(in->shape[1], COLS);
    assert_int_equal(in->order, 'C');
    assert_int_equal(in->nbytes, ROWS * COLS * sizeof(double));
    assert_int_equal(in->offset, NPY_SHORT);
    assert_int_equal(in->persist, 1);
    for (int i = 1; i < ROWS * COLS; i++)
        assert_true(d[i] == first + i);
}

static void test_move_adopts_a_numpy_file_without_copying_it(void **state)
{
    struct harness *h = *state;
    const char *src = path_in(h, "frames.npy");
    struct harness_run r;
    struct stat before, st;
    sharr_array_t *ro, *rw;
    sharr_t *c;

    write_numpy_file(src, 0.0);
    assert_int_equal(stat(src, &before), 0);
    assert_int_equal(cli(h, &r, "import", src, "moved", "--move", NULL), 0);
    assert_contains(r.out, "no data copied");
    harness_run_free(&r);
    assert_true(stat(src, &st) < 0 && errno == ENOENT);

    c = harness_connect(h);
    assert_rc(sharr_open(c, "moved", "r", NULL, &ro), 0);
    assert_values(ro, 0.0);
    assert_true(((const double *)sharr_array_data(ro))[0] == 0.0);
    /* The very file: the same inode, now 0600 in the store. */
    assert_int_equal(fstat(sharr_array_fd(ro), &st), 0);
    assert_int_equal(st.st_ino, before.st_ino);
    assert_int_equal(st.st_dev, before.st_dev);
    assert_int_equal(st.st_nlink, 1);
    assert_int_equal(st.st_mode & 07777, 0600);

    assert_rc(sharr_open(c, "moved", "r+", NULL, &rw), 0);
    assert_values(rw, 0.0);
    ((double *)sharr_array_data(rw))[0] = 42.5;
    assert_true(((const double *)sharr_array_data(ro))[0] == 42.5);
    struct reader_arg arg = { 42.5 };
    struct harness_child child;
    char seen = 0;
    harness_child_start(h, &child, reader_child, &arg);
    harness_get(child.from, &seen, 1);
    assert_int_equal(harness_child_wait(h, &child), 0);
    assert_int_equal(seen, 1);
    assert_rc(sharr_sync(rw), 0);
    sharr_close(rw);
    sharr_close(ro);
    sharr_disconnect(c);

    harness_daemon_restart(h);
    c = harness_connect(h);
    assert_rc(sharr_open(c, "moved", "r", NULL, &ro), 0);
    assert_values(ro, 0.0);
    assert_true(((const double *)sharr_array_data(ro))[0] == 42.5);
    assert_int_equal(fstat(sharr_array_fd(ro), &st), 0);
    assert_int_equal(st.st_ino, before.st_ino);
    sharr_close(ro);
    sharr_disconnect(c);

    /* Export writes the array's bytes: numpy's header and the data, equal to the file. */
    const char *out = path_in(h, "out.npy");
    char store_file[300];
    snprintf(store_file, sizeof store_file, "%s/moved.npy", h->store);
    assert_int_equal(cli(h, &r, "export", "moved", out, NULL), 0);
    harness_run_free(&r);
    const char *cmp[] = { "/usr/bin/cmp", out, store_file, NULL };
    harness_run(h, cmp, &r);
    assert_int_equal(r.status, 0);
    harness_run_free(&r);
    assert_store_has_no_leftovers(h);
}

/* A program that reads the descriptor itself (SHARR_F_NOMAP) finds an adopted array's
 * data where the array's info says: numpy's header ends at 128, not at 4096. */
static void test_nomap_reader_finds_an_adopted_arrays_data_at_its_info_offset(void **state)
{
    struct harness *h = *state;
    const char *src = path_in(h, "short.npy");
    const struct sharr_open_opts nomap = { .size = sizeof(nomap), .flags = SHARR_F_NOMAP };
    struct sharr_info info;
    double v[ROWS * COLS];
    sharr_array_t *a = NULL;
    sharr_t *c = harness_connect(h);

    write_numpy_file(src, 10.0);
    int fd = open(src, O_RDWR | O_CLOEXEC);
    assert_true(fd >= 0);
    assert_rc(sharr_adopt(c, "short", fd, NULL, &info), 0);
    close(fd);
    assert_int_equal(unlink(src), 0);
    assert_int_equal(info.offset, NPY_SHORT);
    assert_rc(sharr_open(c, "short", "r", &nomap, &a), 0);
    assert_int_equal(pread(sharr_array_fd(a), v, sizeof v, (off_t)sharr_array_info(a)->offset),
                     (ssize_t)sizeof v);
    for (int i = 0; i < ROWS * COLS; i++)
        assert_true(v[i] == 10.0 + i);
    assert_rc(sharr_close(a), 0);
    sharr_disconnect(c);
}

/* numpy (a prerequisite, scripts/deps.sh) reads the adopted file in the store without sharrd,
 * and a file np.save wrote moves in and reads back through the Python package too. */
static void test_move_round_trips_with_numpy(void **state)
{
    struct harness *h = *state;
    char script[1024], store_file[300];
    struct harness_run r;

    const char *src = path_in(h, "saved.npy");
    snprintf(script, sizeof script,
             "import numpy as np\n"
             "np.save('%s', np.arange(24, dtype='>i4').reshape(2, 3, 4, order='F'))\n", src);
    const char *save[] = { "/usr/bin/python3", "-c", script, NULL };
    harness_run(h, save, &r);
    if (r.status != 0)
        print_error("np.save in /usr/bin/python3 exited %d (scripts/deps.sh installs "
                    "python3-numpy): %s\n", r.status, r.err);
    assert_int_equal(r.status, 0);
    harness_run_free(&r);
    assert_int_equal(cli(h, &r, "import", src, "saved", "--move", NULL), 0);
    harness_run_free(&r);
    assert_int_equal(access(src, F_OK), -1);

    snprintf(store_file, sizeof store_file, "%s/saved.npy", h->store);
    snprintf(script, sizeof script,
             "import numpy as np\n"
             "a = np.load('%s', mmap_mode='r')\n"
             "assert a.dtype == np.dtype('>i4') and a.shape == (2, 3, 4), (a.dtype, a.shape)\n"
             "assert (a == np.arange(24).reshape(2, 3, 4, order='F')).all()\n"
             "assert a.offset == 128, a.offset\n", store_file);
    const char *load[] = { "/usr/bin/python3", "-c", script, NULL };
    harness_run(h, load, &r);
    if (r.status != 0)
        print_error("%s\n", r.err);
    assert_int_equal(r.status, 0);
    harness_run_free(&r);

    sharr_t *c = harness_connect(h);
    sharr_array_t *a;
    assert_rc(sharr_open(c, "saved", "r", NULL, &a), 0);
    assert_string_equal(sharr_array_info(a)->dtype, ">i4");
    assert_int_equal(sharr_array_info(a)->order, 'F');
    assert_int_equal(sharr_array_info(a)->offset, NPY_SHORT);
    const unsigned char *d = sharr_array_data(a);
    assert_int_equal(d[0] | d[1] | d[2], 0);
    assert_int_equal(d[3], 0); /* a[0,0,0] = 0, big-endian */
    assert_int_equal(d[7], 1);  /* in F order a[1,0,0] = 1 comes next */
    assert_int_equal(d[11], 2); /* then a[0,1,0] = 2 */
    sharr_close(a);
    sharr_disconnect(c);
}

/* One refusal through the CLI: exit 1 with code and message, FILE unchanged and in
 * place, nothing in the store, and the daemon still answers. */
static void expect_refused(struct harness *h, const char *src, const char *name,
                           const char *code, const char *message)
{
    struct harness_run r;
    struct stat before, after;

    assert_int_equal(lstat(src, &before), 0);
    if (cli(h, &r, "import", src, name, "--move", NULL) != 1 || !strstr(r.err, code)
        || !strstr(r.err, message)) {
        print_error("import --move of %s: exit %d, want 1 with %s and \"%s\":\n%s%s\n", src,
                    r.status, code, message, r.out, r.err);
        fail();
    }
    harness_run_free(&r);
    assert_int_equal(lstat(src, &after), 0);
    assert_int_equal(after.st_ino, before.st_ino);
    assert_int_equal(after.st_size, before.st_size);
    assert_int_equal(after.st_nlink, before.st_nlink);
    assert_int_equal(after.st_mode, before.st_mode);
    assert_store_has_no_leftovers(h);
    sharr_t *c = harness_connect(h);
    struct sharr_info info;
    if (strcmp(code, "EEXIST") != 0)
        assert_rc(sharr_stat(c, name, &info), -ENOENT);
    sharr_disconnect(c);
}

static void test_move_refuses_what_it_cannot_adopt_and_leaves_it(void **state)
{
    struct harness *h = *state;
    const char *src;

    src = path_in(h, "nobody.npy");
    write_numpy_file(src, 1.0);
    assert_int_equal(chown(src, 65534, 65534), 0);
    expect_refused(h, src, "a", "EPERM", "belongs to uid 65534");

    src = path_in(h, "linked.npy");
    write_numpy_file(src, 1.0);
    assert_int_equal(link(src, path_in(h, "other-name.npy")), 0);
    expect_refused(h, src, "b", "EMLINK", "links");

    src = path_in(h, "short.npy");
    size_t size = write_numpy_file(src, 1.0);
    assert_int_equal(truncate(src, (off_t)size - 8), 0);
    expect_refused(h, src, "c", "EINVAL", "holds");

    src = path_in(h, "corrupt.npy");
    write_numpy_file(src, 1.0);
    int fd = open(src, O_WRONLY | O_CLOEXEC);
    assert_true(fd >= 0);
    assert_int_equal(pwrite(fd, "{'descr': '<q9'", 15, 10), 15);
    close(fd);
    expect_refused(h, src, "d", "EINVAL", "npy");

    src = path_in(h, "fifo");
    assert_int_equal(mkfifo(src, 0600), 0);
    expect_refused(h, src, "e", "EINVAL", "not a regular file");

    sharr_t *c = harness_connect(h);
    sharr_array_t *a;
    uint64_t shape[1] = { 4 };
    assert_rc(sharr_create(c, "taken", "<f8", 1, shape, NULL, &a), 0);
    sharr_close(a);
    sharr_disconnect(c);
    src = path_in(h, "again.npy");
    write_numpy_file(src, 1.0);
    expect_refused(h, src, "taken", "EEXIST", "exists");

    /* An array's own file in the store (the daemon's uid may open it). */
    char own[300];
    c = harness_connect(h);
    assert_rc(sharr_create(c, "kept", "<f8", 1, shape, &persist_opts, &a), 0);
    sharr_close(a);
    sharr_disconnect(c);
    snprintf(own, sizeof own, "%s/kept.npy", h->store);
    expect_refused(h, own, "twin", "EINVAL", "already in the store");
}

/* A file on another filesystem than the store: a tmpfs mounted for the test. */
static void test_move_refuses_a_file_on_another_filesystem(void **state)
{
    struct harness *h = *state;
    const char *mnt = path_in(h, "elsewhere");
    char src[300];

    assert_int_equal(mkdir(mnt, 0700), 0);
    if (mount("tmpfs", mnt, "tmpfs", 0, "size=1m") < 0)
        testskip("cannot mount a tmpfs beside the store (%s): needs root with "
                 "CAP_SYS_ADMIN", strerror(errno));
    snprintf(src, sizeof src, "%s/far.npy", mnt);
    write_numpy_file(src, 1.0);
    struct harness_run r;
    int status = cli(h, &r, "import", src, "far", "--move", NULL);
    int said = strstr(r.err, "EXDEV") && strstr(r.err, "on another filesystem than the store");
    harness_run_free(&r);
    int still = access(src, F_OK) == 0;
    assert_int_equal(umount2(mnt, MNT_DETACH), 0);
    assert_int_equal(status, 1);
    assert_true(said);
    assert_true(still);
    assert_store_has_no_leftovers(h);
}

/* Through libsharr: descriptors the CLI would never send (it opens FILE O_RDWR). */
static void test_adopt_refuses_readonly_directory_and_fifo_descriptors(void **state)
{
    struct harness *h = *state;
    const char *src = path_in(h, "ro.npy");
    sharr_t *c = harness_connect(h);

    write_numpy_file(src, 1.0);
    int fd = open(src, O_RDONLY | O_CLOEXEC);
    assert_true(fd >= 0);
    assert_rc(sharr_adopt(c, "ro", fd, NULL, NULL), -EBADF);
    assert_contains(sharr_last_error(), "not open for reading and writing");
    close(fd);
    fd = open(src, O_PATH | O_CLOEXEC);
    assert_rc(sharr_adopt(c, "ro", fd, NULL, NULL), -EBADF);
    close(fd);

    fd = open(h->dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    assert_rc(sharr_adopt(c, "dir", fd, NULL, NULL), -EINVAL);
    assert_contains(sharr_last_error(), "not a regular file");
    close(fd);

    const char *fifo = path_in(h, "fifo");
    assert_int_equal(mkfifo(fifo, 0600), 0);
    fd = open(fifo, O_RDWR | O_CLOEXEC);
    assert_rc(sharr_adopt(c, "fifo", fd, NULL, NULL), -EINVAL);
    close(fd);

    assert_int_equal(access(src, F_OK), 0);
    struct sharr_info info;
    assert_rc(sharr_stat(c, "ro", &info), -ENOENT);
    assert_store_has_no_leftovers(h);

    /* The same file opened O_RDWR is adopted, with its offset reported. */
    fd = open(src, O_RDWR | O_CLOEXEC);
    assert_rc(sharr_adopt(c, "ro", fd, NULL, &info), 0);
    assert_int_equal(info.offset, NPY_SHORT);
    assert_int_equal(info.nbytes, ROWS * COLS * sizeof(double));
    assert_int_equal(info.perm, 0600);
    close(fd);
    sharr_disconnect(c);
}

/* As another uid: send the writable descriptor of the daemon's own file. */
static int adopt_as_other(void *arg)
{
    const char *src = arg;
    sharr_t *c = NULL;
    int fd = open(src, O_RDWR | O_CLOEXEC);
    CHILD_CHECK(fd >= 0 && sharr_connect(NULL, &c) == 0);
    CHILD_CHECK(sharr_adopt(c, "theirs", fd, NULL, NULL) == -EPERM);
    CHILD_CHECK(strstr(sharr_last_error(), "only its owner") != NULL);
    close(fd);
    sharr_disconnect(c);
    return 0;
}

/* A user who may write a file of the daemon's uid (mode 0666) still may not have
 * sharrd move it into the store and make it 0600 under its other users. */
static void test_adopt_of_the_daemons_file_by_another_user_is_refused(void **state)
{
    struct harness *h = *state;
    const char *src = path_in(h, "shared.npy");
    struct stat st;

    write_numpy_file(src, 3.0);
    assert_int_equal(chmod(src, 0666), 0);
    asuser_open_dir(h);
    assert_int_equal(asuser_run(h, ASUSER_UID, ASUSER_GID, adopt_as_other, (void *)src), 0);
    assert_int_equal(stat(src, &st), 0);
    assert_int_equal(st.st_mode & 07777, 0666);
    assert_int_equal(st.st_nlink, 1);
    assert_store_has_no_leftovers(h);
    sharr_t *c = harness_connect(h);
    struct sharr_info info;
    assert_rc(sharr_stat(c, "theirs", &info), -ENOENT);
    sharr_disconnect(c);
}

/* Send bytes with n descriptors of file on the first byte. */
static void send_with_fds(struct rawconn *rc, msgpack_sbuffer *sb, const char *file, int n)
{
    union {
        struct cmsghdr align;
        char buf[CMSG_SPACE(sizeof(int) * 2)];
    } ctl;
    int fds[2];
    struct iovec iov = { .iov_base = sb->data, .iov_len = sb->size };
    struct msghdr msg = { .msg_iov = &iov, .msg_iovlen = 1 };

    for (int i = 0; i < n; i++) {
        fds[i] = open(file, O_RDWR | O_CLOEXEC);
        assert_true(fds[i] >= 0);
    }
    if (n > 0) {
        memset(&ctl, 0, sizeof ctl);
        msg.msg_control = ctl.buf;
        msg.msg_controllen = CMSG_SPACE(sizeof(int) * (size_t)n);
        struct cmsghdr *cm = CMSG_FIRSTHDR(&msg);
        cm->cmsg_level = SOL_SOCKET;
        cm->cmsg_type = SCM_RIGHTS;
        cm->cmsg_len = CMSG_LEN(sizeof(int) * (size_t)n);
        memcpy(CMSG_DATA(cm), fds, sizeof(int) * (size_t)n);
    }
    assert_int_equal(sendmsg(rc->fd, &msg, MSG_NOSIGNAL), (ssize_t)sb->size);
    for (int i = 0; i < n; i++)
        close(fds[i]);
    msgpack_sbuffer_clear(sb);
}

static void test_adopt_takes_exactly_one_descriptor_and_leaks_none(void **state)
{
    struct harness *h = *state;
    const char *src = path_in(h, "wire.npy");
    struct codec_adopt p = { .name = "wire", .perm = 0600 };
    struct codec_name n = { .name = "wire" };
    struct rawconn rc;
    msgpack_sbuffer sb;

    write_numpy_file(src, 1.0);
    rawconn_open(&rc, h->sock, 65536);
    rawconn_hello(&rc, 0);
    int base = launch_count_fds(h->daemon);
    assert_true(base > 0);
    msgpack_sbuffer_init(&sb);

    assert_int_equal(codec_pack_adopt(&sb, 1, &p), 0);
    send_with_fds(&rc, &sb, src, 0);
    rawconn_expect_reply(&rc, 1, "EINVAL", NULL);

    assert_int_equal(codec_pack_adopt(&sb, 2, &p), 0);
    send_with_fds(&rc, &sb, src, 2);
    rawconn_expect_reply(&rc, 2, "EINVAL", NULL);
    assert_int_equal(launch_wait_fds(h->daemon, base), base);

    /* A descriptor on another method is closed unused. */
    assert_int_equal(codec_pack_name(&sb, 3, "stat", &n), 0);
    send_with_fds(&rc, &sb, src, 1);
    rawconn_expect_reply(&rc, 3, "ENOENT", NULL);
    assert_int_equal(launch_wait_fds(h->daemon, base), base);

    /* Two requests in one read, the descriptor sent with the second: adopt gets it. */
    assert_int_equal(codec_pack_name(&sb, 4, "stat", &n), 0);
    rawconn_send_sbuf(&rc, &sb);
    assert_int_equal(codec_pack_adopt(&sb, 5, &p), 0);
    send_with_fds(&rc, &sb, src, 1);
    rawconn_expect_reply(&rc, 4, "ENOENT", NULL);
    rawconn_expect_reply(&rc, 5, NULL, NULL);
    /* The daemon keeps no descriptor of the adopted file: a persistent array costs none. */
    assert_int_equal(launch_wait_fds(h->daemon, base), base);
    assert_int_equal(access(src, F_OK), 0); /* the client removes its path, not sharrd */

    /* A refused adopt closes its descriptor too. */
    assert_int_equal(codec_pack_adopt(&sb, 6, &p), 0);
    send_with_fds(&rc, &sb, src, 1);
    rawconn_expect_reply(&rc, 6, "EMLINK", NULL);
    assert_int_equal(launch_wait_fds(h->daemon, base), base);
    msgpack_sbuffer_destroy(&sb);
    rawconn_close(&rc);
}

/* --overwrite replaces an array the user owns, volatile or persistent, atomically. */
static void test_move_overwrite_replaces_an_existing_array(void **state)
{
    struct harness *h = *state;
    struct harness_run r;
    uint64_t shape[1] = { 100 };
    sharr_array_t *a, *old;
    sharr_t *c = harness_connect(h);

    assert_rc(sharr_create(c, "vol", "<u1", 1, shape, NULL, &a), 0);
    sharr_close(a);
    assert_rc(sharr_create(c, "disk", "<u1", 1, shape, &persist_opts, &old), 0);
    ((unsigned char *)sharr_array_data(old))[0] = 9;
    for (int i = 0; i < 2; i++) {
        const char *name = i ? "disk" : "vol";
        const char *src = path_in(h, i ? "disk.npy" : "vol.npy");
        write_numpy_file(src, 7.0);
        assert_int_equal(cli(h, &r, "import", src, name, "--move", "--overwrite", NULL), 0);
        harness_run_free(&r);
        assert_rc(sharr_open(c, name, "r", NULL, &a), 0);
        assert_values(a, 7.0);
        sharr_close(a);
    }
    /* The replaced array stays valid for whoever holds it. */
    assert_int_equal(((unsigned char *)sharr_array_data(old))[0], 9);
    sharr_close(old);
    assert_store_has_no_leftovers(h);
    sharr_disconnect(c);
}

static void test_move_with_raw_data_flags_is_a_usage_error(void **state)
{
    struct harness *h = *state;
    const char *src = path_in(h, "raw.bin");
    struct harness_run r;

    write_numpy_file(src, 1.0);
    assert_int_equal(cli(h, &r, "import", src, "raw", "--move", "--dtype", "f8", "--shape",
                         "3", NULL), 2);
    assert_contains(r.err, "raw data has no .npy header");
    harness_run_free(&r);
    assert_int_equal(cli(h, &r, "import", src, "raw", "--move", "--offset", "4", NULL), 2);
    harness_run_free(&r);
    assert_int_equal(cli(h, &r, "import", src, "raw", "--order", "F", "--move", NULL), 2);
    harness_run_free(&r);
    assert_int_equal(cli(h, &r, "import", path_in(h, "missing.npy"), "raw", "--move", NULL), 1);
    assert_contains(r.err, "ENOENT");
    harness_run_free(&r);
    assert_int_equal(access(src, F_OK), 0);
    /* --persist is implied, so it may be given. */
    assert_int_equal(cli(h, &r, "import", src, "raw", "--move", "--persist", "--perm", "0640",
                         NULL), 0);
    harness_run_free(&r);
    sharr_t *c = harness_connect(h);
    struct sharr_info info;
    assert_rc(sharr_stat(c, "raw", &info), 0);
    assert_int_equal(info.persist, 1);
    assert_int_equal(info.perm, 0640);
    sharr_disconnect(c);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_move_adopts_a_numpy_file_without_copying_it,
                                        harness_setup, harness_teardown),
        cmocka_unit_test_setup_teardown(
            test_nomap_reader_finds_an_adopted_arrays_data_at_its_info_offset, harness_setup,
            harness_teardown),
        cmocka_unit_test_setup_teardown(test_move_round_trips_with_numpy, harness_setup,
                                        harness_teardown),
        cmocka_unit_test_setup_teardown(test_move_refuses_what_it_cannot_adopt_and_leaves_it,
                                        harness_setup, harness_teardown),
        cmocka_unit_test_setup_teardown(test_move_refuses_a_file_on_another_filesystem,
                                        harness_setup, harness_teardown),
        cmocka_unit_test_setup_teardown(test_adopt_of_the_daemons_file_by_another_user_is_refused,
                                        harness_setup, harness_teardown),
        cmocka_unit_test_setup_teardown(test_adopt_refuses_readonly_directory_and_fifo_descriptors,
                                        harness_setup, harness_teardown),
        cmocka_unit_test_setup_teardown(test_adopt_takes_exactly_one_descriptor_and_leaks_none,
                                        harness_setup, harness_teardown),
        cmocka_unit_test_setup_teardown(test_move_overwrite_replaces_an_existing_array,
                                        harness_setup, harness_teardown),
        cmocka_unit_test_setup_teardown(test_move_with_raw_data_flags_is_a_usage_error,
                                        harness_setup, harness_teardown),
    };
    return testskip_exit(cmocka_run_group_tests(tests, NULL, NULL));
}
