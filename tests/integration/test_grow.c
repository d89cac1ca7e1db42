/* test_grow.c — grow: an array's growing axis gets longer in place.
 *
 * Mappings made before a grow keep working over their old length while the producer
 * writes the new rows; sharr_array_refresh maps them; a volatile array's descriptor
 * cannot be grown (or shrunk) by a client, only by sharrd within the room it was
 * created with; a persistent array's .npy header says the new shape, also after a
 * restart; and quotas apply to the added bytes as to a create.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "harness.h"
#include "launch.h"
#include "testskip.h"

#define COLS 1000

static void fill_rows(double *v, uint64_t from, uint64_t to)
{
    for (uint64_t r = from; r < to; r++)
        for (uint64_t c = 0; c < COLS; c++)
            v[r * COLS + c] = (double)(r * COLS + c);
}

static int rows_hold(const double *v, uint64_t from, uint64_t to)
{
    for (uint64_t r = from; r < to; r++)
        for (uint64_t c = 0; c < COLS; c++)
            if (v[r * COLS + c] != (double)(r * COLS + c))
                return 0;
    return 1;
}

static void grow_and_read(void **state, int persist)
{
    struct harness *h = *state;
    sharr_t *prod = harness_connect(h), *cons = harness_connect(h);
    const uint64_t shape[2] = { 4, COLS };
    struct sharr_create_opts co = { .size = sizeof(co), .persist = persist, .max_len = 100 };
    sharr_array_t *w = NULL, *r = NULL;
    assert_rc(sharr_create(prod, "stream", "<f8", 2, shape, &co, &w), 0);
    assert_int_equal(sharr_array_info(w)->max_len, persist ? 0 : 100);
    fill_rows(sharr_array_data(w), 0, 4);
    assert_rc(sharr_open(cons, "stream", "r", NULL, &r), 0);
    const double *old = sharr_array_data(r);

    for (uint64_t len = 10; len <= 40; len += 10) {
        struct sharr_info info;
        assert_rc(sharr_grow(prod, "stream", len, &info), 0);
        assert_int_equal(info.shape[0], len);
        assert_int_equal(info.nbytes, len * COLS * 8);
        uint64_t had = sharr_array_info(w)->shape[0];
        assert_int_equal(sharr_array_refresh(w), 1);
        assert_int_equal(sharr_array_info(w)->shape[0], len);
        fill_rows(sharr_array_data(w), had, len);
        /* The consumer's first mapping still reads its rows. */
        assert_true(rows_hold(old, 0, 4));
    }
    assert_int_equal(sharr_array_refresh(w), 0);
    assert_int_equal(sharr_array_refresh(r), 1);
    assert_int_equal(sharr_array_info(r)->shape[0], 40);
    assert_true(rows_hold(sharr_array_data(r), 0, 40));
    assert_true(rows_hold(old, 0, 4));
    /* A new attachment sees the new shape at once. */
    sharr_array_t *late = NULL;
    assert_rc(sharr_open(cons, "stream", "r", NULL, &late), 0);
    assert_int_equal(sharr_array_info(late)->shape[0], 40);
    assert_true(rows_hold(sharr_array_data(late), 0, 40));
    assert_rc(sharr_close(late), 0);

    assert_rc(sharr_grow(prod, "stream", 39, NULL), -EINVAL);
    assert_rc(sharr_grow(prod, "stream", 40, NULL), 0);
    if (!persist)
        assert_rc(sharr_grow(prod, "stream", 101, NULL), -EFBIG);
    assert_int_equal(harness_stats(prod).bytes, 40 * COLS * 8);
    assert_rc(sharr_close(r), 0);
    assert_rc(sharr_close(w), 0);
    sharr_disconnect(cons);
    sharr_disconnect(prod);
}

static void test_grow_keeps_old_mappings_and_refresh_sees_new_rows_volatile(void **state)
{
    grow_and_read(state, 0);
}

static void test_grow_keeps_old_mappings_and_refresh_sees_new_rows_persistent(void **state)
{
    grow_and_read(state, 1);
    struct harness *h = *state;
    sharr_t *c = harness_connect(h);
    struct sharr_info info;
    assert_rc(sharr_stat(c, "stream", &info), 0);
    /* The file's own header says the new shape (what numpy.load reads). */
    unsigned char head[4096];
    int fd = open(info.path, O_RDONLY | O_CLOEXEC);
    assert_true(fd >= 0);
    assert_int_equal(pread(fd, head, sizeof head, 0), (ssize_t)sizeof head);
    close(fd);
    struct sharr_info file;
    assert_rc(sharr_npy_parse(head, sizeof head, &file), 0);
    assert_int_equal(file.ndim, 2);
    assert_int_equal(file.shape[0], 40);
    assert_int_equal(file.shape[1], COLS);
    sharr_disconnect(c);
    harness_daemon_restart(h);
    c = harness_connect(h);
    sharr_array_t *a = NULL;
    assert_rc(sharr_open(c, "stream", "r", NULL, &a), 0);
    assert_int_equal(sharr_array_info(a)->shape[0], 40);
    assert_true(rows_hold(sharr_array_data(a), 0, 40));
    assert_rc(sharr_close(a), 0);
    sharr_disconnect(c);
}

static void test_client_descriptor_cannot_grow_or_shrink_volatile(void **state)
{
    struct harness *h = *state;
    sharr_t *c = harness_connect(h);
    const uint64_t shape[1] = { 1024 };
    struct sharr_create_opts co = { .size = sizeof(co), .max_len = 4096 };
    sharr_array_t *a = NULL;
    assert_rc(sharr_create(c, "room", "<u4", 1, shape, &co, &a), 0);
    int fd = sharr_array_fd(a);
    struct stat before, after;
    assert_int_equal(fstat(fd, &before), 0);
    assert_int_equal(ftruncate(fd, before.st_size + 4096), -1);
    assert_int_equal(errno, EPERM);
    assert_int_equal(ftruncate(fd, 4096), -1);
    assert_int_equal(errno, EPERM);
    assert_int_equal(fallocate(fd, 0, before.st_size, 4096), -1);
    assert_int_equal(errno, EPERM);
    assert_int_equal(fstat(fd, &after), 0);
    assert_int_equal(after.st_size, before.st_size);
    /* sharrd grows it, within its room. */
    assert_rc(sharr_grow(c, "room", 4096, NULL), 0);
    assert_int_equal(sharr_array_refresh(a), 1);
    ((uint32_t *)sharr_array_data(a))[4095] = 7;
    assert_rc(sharr_grow(c, "room", 4097, NULL), -EFBIG);
    /* A 0-d array has no axis to grow. */
    sharr_array_t *z = NULL;
    assert_rc(sharr_create(c, "scalar", "<u4", 0, NULL, NULL, &z), 0);
    assert_rc(sharr_grow(c, "scalar", 2, NULL), -EINVAL);
    assert_rc(sharr_close(z), 0);
    assert_rc(sharr_grow(c, "missing", 2, NULL), -ENOENT);
    assert_rc(sharr_close(a), 0);
    sharr_disconnect(c);
}

static void test_quota_applies_to_growth_as_to_create(void **state)
{
    struct harness *h = *state;
    const char *const flags[] = { "--max-bytes", "64K", NULL };
    launch_daemon(h, flags, 0);
    sharr_t *c = harness_connect(h);
    const uint64_t shape[1] = { 4096 };
    struct sharr_create_opts co = { .size = sizeof(co), .max_len = 1 << 20 };
    sharr_array_t *a = NULL;
    assert_rc(sharr_create(c, "q", "|u1", 1, shape, &co, &a), 0);
    assert_rc(sharr_grow(c, "q", 60 * 1024, NULL), 0);
    assert_rc(sharr_grow(c, "q", 65 * 1024, NULL), -ENOSPC);
    assert_non_null(strstr(sharr_last_error(), "--max-bytes"));
    struct sharr_info info;
    assert_rc(sharr_stat(c, "q", &info), 0);
    assert_int_equal(info.shape[0], 60 * 1024);
    assert_int_equal(harness_stats(c).bytes, 60 * 1024);
    assert_rc(sharr_close(a), 0);
    sharr_disconnect(c);
}

/* A volatile array's room to grow is memory any holder of a descriptor can touch: it
 * counts against the volatile limits from the create on, as if it were grown. */
static void test_room_to_grow_counts_against_the_memory_limits(void **state)
{
    struct harness *h = *state;
    const char *const flags[] = { "--max-volatile-bytes", "1M", NULL };
    launch_daemon(h, flags, 0);
    sharr_t *c = harness_connect(h);
    const uint64_t shape[1] = { 4096 };
    struct sharr_create_opts co = { .size = sizeof(co), .max_len = 4 << 20 };
    sharr_array_t *a = NULL;
    assert_rc(sharr_create(c, "big-room", "|u1", 1, shape, &co, &a), -ENOSPC);
    assert_non_null(strstr(sharr_last_error(), "--max-volatile-bytes"));
    co.max_len = 512 << 10;
    assert_rc(sharr_create(c, "room", "|u1", 1, shape, &co, &a), 0);
    assert_true(harness_stats(c).volatile_reserved >= (512 << 10) + 4096);
    /* Growing within it takes nothing more: a second array of the rest still fits. */
    assert_rc(sharr_grow(c, "room", 512 << 10, NULL), 0);
    sharr_array_t *b = NULL;
    const uint64_t rest[1] = { 256 << 10 };
    struct sharr_create_opts plain = { .size = sizeof(plain) };
    assert_rc(sharr_create(c, "rest", "|u1", 1, rest, &plain, &b), 0);
    assert_rc(sharr_close(b), 0);
    assert_rc(sharr_close(a), 0);
    sharr_disconnect(c);
}

/* Blocks a writer allocated beyond a persistent array's data (meta.grown) that a grow
 * then covers are the array's data: the grow is charged the new size, not the new size
 * and the old excess, and its reply and the stats say nothing is grown beyond. */
static void test_grow_into_blocks_a_writer_allocated_charges_them_once(void **state)
{
    struct harness *h = *state;
    const char *const flags[] = { "--max-bytes", "1536K", NULL };
    launch_daemon(h, flags, 0);
    sharr_t *c = harness_connect(h);
    const uint64_t shape[1] = { 2048 };
    struct sharr_create_opts co = { .size = sizeof(co), .persist = 1 };
    sharr_array_t *a = NULL;
    assert_rc(sharr_create(c, "held", "|u1", 1, shape, &co, &a), 0);
    int fd = open(sharr_array_info(a)->path, O_RDWR | O_CLOEXEC);
    assert_true(fd >= 0);
    assert_int_equal(posix_fallocate(fd, 0, 4096 + 2048 + (1 << 20)), 0);
    close(fd);
    struct sharr_info info;
    assert_rc(sharr_stat(c, "held", &info), 0);
    assert_true(info.grown >= 1 << 20);
    /* 1 MiB of data in the blocks the file has already: within the 1.5 MiB. */
    assert_rc(sharr_grow(c, "held", 1 << 20, &info), 0);
    assert_int_equal(info.nbytes, 1 << 20);
    assert_int_equal(info.grown, 0);
    assert_int_equal(harness_stats(c).bytes, 1 << 20);
    assert_rc(sharr_close(a), 0);
    sharr_disconnect(c);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(
            test_grow_keeps_old_mappings_and_refresh_sees_new_rows_volatile, harness_setup,
            harness_teardown),
        cmocka_unit_test_setup_teardown(
            test_grow_keeps_old_mappings_and_refresh_sees_new_rows_persistent, harness_setup,
            harness_teardown),
        cmocka_unit_test_setup_teardown(test_client_descriptor_cannot_grow_or_shrink_volatile,
                                        harness_setup, harness_teardown),
        cmocka_unit_test_setup_teardown(test_quota_applies_to_growth_as_to_create,
                                        harness_setup, harness_teardown),
        cmocka_unit_test_setup_teardown(test_room_to_grow_counts_against_the_memory_limits,
                                        harness_setup, harness_teardown),
        cmocka_unit_test_setup_teardown(
            test_grow_into_blocks_a_writer_allocated_charges_them_once, harness_setup,
            harness_teardown),
    };
    return testskip_exit(cmocka_run_group_tests(tests, NULL, NULL));
}
