/* test_persist.c — persistent arrays outlive the daemon and are plain .npy files.
 *
 * Data written through a mapping survives a SIGTERM and a restart on the same store;
 * a client's connection and mappings survive the restart too; and the file the daemon
 * reports loads with numpy.load(path, mmap_mode='r') with no daemon involved.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "harness.h"
#include "testskip.h"

#define ROWS 300u
#define COLS 7u

static double value_at(uint64_t r, uint64_t c)
{
    return (double)(r * COLS + c) + 0.5;
}

static void test_persistent_data_survives_daemon_restart(void **state)
{
    struct harness *h = *state;
    sharr_t *conn = harness_connect(h);
    const uint64_t shape[2] = { ROWS, COLS };
    struct sharr_create_opts opts = { .size = sizeof(opts), .persist = 1 };
    sharr_array_t *arr = NULL;
    assert_rc(sharr_create(conn, "kept", "<f8", 2, shape, &opts, &arr), 0);
    double *d = sharr_array_data(arr);
    for (uint64_t r = 0; r < ROWS; r++)
        for (uint64_t c = 0; c < COLS; c++)
            d[r * COLS + c] = value_at(r, c);
    assert_rc(sharr_sync(arr), 0);
    struct sharr_info before = *sharr_array_info(arr);
    assert_int_equal(before.persist, 1);
    assert_true(before.path[0] != '\0');
    assert_rc(sharr_close(arr), 0);
    sharr_disconnect(conn);

    harness_daemon_restart(h);

    conn = harness_connect(h);
    struct sharr_info info;
    assert_rc(sharr_stat(conn, "kept", &info), 0);
    assert_string_equal(info.dtype, "<f8");
    assert_int_equal(info.ndim, 2);
    assert_int_equal(info.shape[0], ROWS);
    assert_int_equal(info.shape[1], COLS);
    assert_int_equal(info.order, 'C');
    assert_int_equal(info.persist, 1);
    assert_int_equal(info.perm, before.perm);
    assert_int_equal(info.uid, before.uid);
    assert_true(info.ctime_ns == before.ctime_ns);
    assert_string_equal(info.path, before.path);
    assert_int_equal(info.nattached, 0);
    assert_int_equal(harness_stats(conn).arrays_persistent, 1);

    assert_rc(sharr_open(conn, "kept", "r", NULL, &arr), 0);
    const double *got = sharr_array_data(arr);
    for (uint64_t r = 0; r < ROWS; r++)
        for (uint64_t c = 0; c < COLS; c++)
            assert_true(got[r * COLS + c] == value_at(r, c));
    assert_rc(sharr_close(arr), 0);
    sharr_disconnect(conn);
}

/* A persistent array attached r+, with its data written, and a daemon restart. */
static sharr_array_t *attach_across_restart(struct harness *h, sharr_t *conn)
{
    const uint64_t shape[1] = { 1000 };
    struct sharr_create_opts opts = { .size = sizeof(opts), .persist = 1 };
    sharr_array_t *arr = NULL;
    assert_rc(sharr_create(conn, "across", "<i8", 1, shape, &opts, &arr), 0);
    int64_t *v = sharr_array_data(arr);
    for (int i = 0; i < 1000; i++)
        v[i] = i * 11;
    harness_daemon_restart(h);
    return arr;
}

static void test_connection_and_mapping_survive_daemon_restart(void **state)
{
    struct harness *h = *state;
    sharr_t *conn = harness_connect(h);
    sharr_array_t *arr = attach_across_restart(h, conn);

    /* The mapping is the kernel's: still valid, still the file's pages. */
    int64_t *v = sharr_array_data(arr);
    for (int i = 0; i < 1000; i++)
        assert_int_equal(v[i], i * 11);
    v[999] = -1;
    /* The old connection reconnects by itself: the request could not have reached
     * the old daemon, so nothing stops the library from sending it to the new one. */
    struct sharr_info info;
    assert_rc(sharr_stat(conn, "across", &info), 0);
    assert_int_equal(info.shape[0], 1000);
    sharr_array_t *reader = NULL;
    assert_rc(sharr_open(conn, "across", "r", NULL, &reader), 0);
    const int64_t *r = sharr_array_data(reader);
    assert_int_equal(r[0], 0);
    assert_int_equal(r[998], 998 * 11);
    assert_int_equal(r[999], -1);
    assert_rc(sharr_close(reader), 0);
    sharr_close(arr);
    sharr_disconnect(conn);
}

static void test_stale_handle_release_spares_new_attachments(void **state)
{
    struct harness *h = *state;
    sharr_t *conn = harness_connect(h);
    sharr_array_t *arr = attach_across_restart(h, conn);

    /* Whether the first call after the restart may fail is the other test's
     * question; this one needs the connection back. */
    struct sharr_info info;
    if (sharr_stat(conn, "across", &info) < 0)
        assert_rc(sharr_stat(conn, "across", &info), 0);
    sharr_array_t *reader = NULL;
    assert_rc(sharr_open(conn, "across", "r", NULL, &reader), 0);
    /* The old handle's release cannot reach the daemon that handed it out; the handle
     * is freed either way, which is all the contract promises about its return. It
     * must not release the new daemon's attachment that may carry the same number. */
    sharr_close(arr);
    assert_rc(sharr_stat(conn, "across", &info), 0);
    assert_int_equal(info.nattached, 1);
    assert_rc(sharr_close(reader), 0);
    assert_int_equal(harness_stats(conn).attachments, 0);
    sharr_disconnect(conn);
}

/* Loads each file with numpy alone and checks it is arange(n) laid out in order.
 * Arguments come in fours: path, dtype, shape "a,b", order. python3 and numpy are
 * prerequisites (scripts/deps.sh installs them): without them the test fails. */
static const char numpy_check[] =
    "import sys\n"
    "import numpy\n"
    "args = sys.argv[1:]\n"
    "for i in range(0, len(args), 4):\n"
    "    path, dtype, shape, order = args[i:i + 4]\n"
    "    shape = tuple(int(s) for s in shape.split(','))\n"
    "    a = numpy.load(path, mmap_mode='r')\n"
    "    assert isinstance(a, numpy.memmap), type(a)\n"
    "    assert a.offset == 4096, a.offset\n"
    "    assert a.dtype == numpy.dtype(dtype), a.dtype\n"
    "    assert a.shape == shape, a.shape\n"
    "    assert (a.flags.f_contiguous if order == 'F' else a.flags.c_contiguous), a.flags\n"
    "    want = numpy.arange(a.size).astype(dtype).reshape(shape, order=order)\n"
    "    assert numpy.array_equal(a, want), a\n"
    "    print('ok', path, a.dtype.str, a.shape)\n";

struct npy_case {
    const char *name, *dtype;
    uint64_t shape[2];
    char order;
    char shape_arg[64], order_arg[2];
    sharr_array_t *arr;
};

/* Create a persistent array holding arange(n) in memory order, synced to disk. */
static void npy_case_create(sharr_t *conn, struct npy_case *c)
{
    struct sharr_create_opts opts = { .size = sizeof(opts), .persist = 1, .order = c->order };
    assert_rc(sharr_create(conn, c->name, c->dtype, 2, c->shape, &opts, &c->arr), 0);
    const struct sharr_info *info = sharr_array_info(c->arr);
    assert_int_equal(info->order, c->order);
    assert_int_equal(info->persist, 1);
    uint64_t n = c->shape[0] * c->shape[1];
    if (strcmp(c->dtype, "<f8") == 0) {
        double *d = sharr_array_data(c->arr);
        for (uint64_t k = 0; k < n; k++)
            d[k] = (double)k;
    } else {
        int16_t *d = sharr_array_data(c->arr);
        for (uint64_t k = 0; k < n; k++)
            d[k] = (int16_t)k;
    }
    assert_rc(sharr_sync(c->arr), 0);

    struct stat st;
    assert_int_equal(stat(info->path, &st), 0);
    assert_true(S_ISREG(st.st_mode));
    assert_true((uint64_t)st.st_size >= info->offset + info->nbytes);
    snprintf(c->shape_arg, sizeof c->shape_arg, "%llu,%llu",
             (unsigned long long)c->shape[0], (unsigned long long)c->shape[1]);
    c->order_arg[0] = c->order;
    c->order_arg[1] = '\0';
}

static void test_persistent_file_loads_with_numpy(void **state)
{
    struct harness *h = *state;
    struct npy_case cases[2] = {
        { .name = "np-c", .dtype = "<f8", .shape = { 40, 30 }, .order = 'C' },
        { .name = "np-f", .dtype = "<i2", .shape = { 4, 6 }, .order = 'F' },
    };
    sharr_t *conn = harness_connect(h);
    const char *argv[3 + 4 * 2 + 1] = { "/usr/bin/python3", "-c", numpy_check };
    for (int i = 0; i < 2; i++) {
        npy_case_create(conn, &cases[i]);
        argv[3 + 4 * i] = sharr_array_info(cases[i].arr)->path;
        argv[4 + 4 * i] = cases[i].dtype;
        argv[5 + 4 * i] = cases[i].shape_arg;
        argv[6 + 4 * i] = cases[i].order_arg;
    }
    struct harness_run run;
    harness_run(h, argv, &run);
    int status = run.status;
    if (status != 0)
        print_error("numpy check in /usr/bin/python3 exited %d (scripts/deps.sh installs "
                    "python3-numpy):\n%s%s", status, run.out, run.err);
    harness_run_free(&run);
    for (int i = 0; i < 2; i++)
        assert_rc(sharr_close(cases[i].arr), 0);
    sharr_disconnect(conn);
    assert_int_equal(status, 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_persistent_data_survives_daemon_restart,
                                        harness_setup, harness_teardown),
        cmocka_unit_test_setup_teardown(test_connection_and_mapping_survive_daemon_restart,
                                        harness_setup, harness_teardown),
        cmocka_unit_test_setup_teardown(test_stale_handle_release_spares_new_attachments,
                                        harness_setup, harness_teardown),
        cmocka_unit_test_setup_teardown(test_persistent_file_loads_with_numpy, harness_setup,
                                        harness_teardown),
    };
    return testskip_exit(cmocka_run_group_tests(tests, NULL, NULL));
}
