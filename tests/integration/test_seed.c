/* test_seed.c — the seed scenario: one process fills a 1,000,000 x 100 float32 array
 * column by column, and a second, exec'ed program attaches by name only and sees the
 * last column byte for byte.
 *
 * The expected column travels through a file, so the second program checks what the
 * first one wrote, not what it can recompute.
 */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "harness.h"
#include "testskip.h"

#define ROWS 1000000u
#define COLS 100u

/* splitmix64: a tiny seeded generator whose whole state is one word. */
static uint64_t next_u64(uint64_t *state)
{
    uint64_t z = (*state += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

/* Uniform in [-1000, 1000): 24 random bits, so every value is exact in a float. */
static float next_float(uint64_t *state)
{
    return (float)(next_u64(state) >> 40) * (2000.0f / 16777216.0f) - 1000.0f;
}

static void write_file(const char *path, const void *buf, size_t len)
{
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    assert_true(fd >= 0);
    assert_int_equal(chan_put(fd, buf, len), 0);
    assert_int_equal(close(fd), 0);
}

static void fill_and_check_in_second_process(struct harness *h, const char *name, int persist)
{
    sharr_t *conn = harness_connect(h);
    const uint64_t shape[2] = { ROWS, COLS };
    struct sharr_create_opts opts = { .size = sizeof(opts), .persist = persist };
    sharr_array_t *arr = NULL;
    assert_rc(sharr_create(conn, name, "float32", 2, shape, &opts, &arr), 0);
    const struct sharr_info *info = sharr_array_info(arr);
    assert_string_equal(info->dtype, "<f4");
    assert_int_equal(info->persist, persist);
    float *f = sharr_array_data(arr);
    assert_non_null(f);

    /* f[:, i] = random values, one column after the other, as the seed does. */
    float *last = malloc(ROWS * sizeof *last);
    assert_non_null(last);
    uint64_t state = 0x5eed0000u + (uint64_t)persist;
    for (uint64_t c = 0; c < COLS; c++)
        for (uint64_t r = 0; r < ROWS; r++)
            f[r * COLS + c] = next_float(&state);
    for (uint64_t r = 0; r < ROWS; r++)
        last[r] = f[r * COLS + COLS - 1];

    char path[256];
    snprintf(path, sizeof path, "%s/%s.col", h->dir, name);
    write_file(path, last, ROWS * sizeof *last);

    char rows[32], cols[32];
    snprintf(rows, sizeof rows, "%u", ROWS);
    snprintf(cols, sizeof cols, "%u", COLS);
    const char *argv[] = { harness_tclient_path(), "column", name, rows, cols, path, NULL };
    struct harness_run run;
    harness_run(h, argv, &run);
    if (run.status != 0)
        print_error("tclient exited %d: %s", run.status, run.err);
    assert_int_equal(run.status, 0);
    harness_run_free(&run);

    free(last);
    assert_rc(sharr_close(arr), 0);
    sharr_disconnect(conn);
}

static void test_seed_last_column_seen_by_second_process(void **state)
{
    fill_and_check_in_second_process(*state, "seed-volatile", 0);
}

static void test_seed_persistent_last_column_seen_by_second_process(void **state)
{
    fill_and_check_in_second_process(*state, "seed-persistent", 1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_seed_last_column_seen_by_second_process,
                                        harness_setup, harness_teardown),
        cmocka_unit_test_setup_teardown(test_seed_persistent_last_column_seen_by_second_process,
                                        harness_setup, harness_teardown),
    };
    return testskip_exit(cmocka_run_group_tests(tests, NULL, NULL));
}
