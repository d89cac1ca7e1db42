/* test_sharing.c — several processes attached to one array see each other's writes.
 *
 * The engines example of the seed (a small r+ array written by two of several
 * processes) and a large array attached by four processes at once. Children are
 * forked, each opens its own connection, and every step is ordered through pipes.
 */
#include <string.h>

#include "harness.h"
#include "testskip.h"

#define ENGINES 3

struct engine_cmd {
    char op;   /* 'w' write val at idx, 's' report, 'q' quit */
    int idx;
    float val;
};

struct engine_report {
    float v0, v1;
    double sum;
};

static int engine_child(int rfd, int wfd, void *arg)
{
    const char *name = arg;
    sharr_t *conn = NULL;
    sharr_array_t *arr = NULL;
    CHILD_CHECK(sharr_connect(NULL, &conn) == 0);
    CHILD_CHECK(sharr_open(conn, name, "r+", NULL, &arr) == 0);
    const struct sharr_info *info = sharr_array_info(arr);
    CHILD_CHECK(strcmp(info->dtype, "<f4") == 0 && info->ndim == 1 && info->shape[0] == 10);
    float *f = sharr_array_data(arr);
    CHILD_CHECK(f != NULL);
    CHILD_CHECK(chan_put(wfd, "A", 1) == 0);
    for (;;) {
        struct engine_cmd cmd;
        CHILD_CHECK(chan_get(rfd, &cmd, sizeof cmd) == 0);
        if (cmd.op == 'w') {
            CHILD_CHECK(cmd.idx >= 0 && cmd.idx < 10);
            f[cmd.idx] = cmd.val;
            CHILD_CHECK(chan_put(wfd, "W", 1) == 0);
        } else if (cmd.op == 's') {
            struct engine_report rep = { f[0], f[1], 0.0 };
            for (int i = 0; i < 10; i++)
                rep.sum += f[i];
            CHILD_CHECK(chan_put(wfd, &rep, sizeof rep) == 0);
        } else {
            break;
        }
    }
    CHILD_CHECK(sharr_close(arr) == 0);
    /* A round trip after the release notification: the daemon has applied it when
     * this child reports done, so the parent's count right after is exact. */
    CHILD_CHECK(sharr_stats(conn, &(struct sharr_stats){ 0 }) == 0);
    sharr_disconnect(conn);
    return 0;
}

static void expect_ack(const struct harness_child *c, char want)
{
    char got = 0;
    harness_get(c->from, &got, 1);
    assert_int_equal(got, want);
}

static void test_engines_see_each_others_writes(void **state)
{
    struct harness *h = *state;
    sharr_t *conn = harness_connect(h);
    sharr_array_t *arr = harness_create(conn, "engine", "<f4", 10);
    float *mine = sharr_array_data(arr);
    for (int i = 0; i < 10; i++)
        assert_true(mine[i] == 0.0f);

    struct harness_child engines[ENGINES];
    for (int i = 0; i < ENGINES; i++)
        harness_child_start(h, &engines[i], engine_child, "engine");
    for (int i = 0; i < ENGINES; i++)
        expect_ack(&engines[i], 'A');

    struct sharr_info info;
    assert_rc(sharr_stat(conn, "engine", &info), 0);
    assert_int_equal(info.nattached, 1 + ENGINES);

    struct engine_cmd w0 = { 'w', 0, 42.0f }, w1 = { 'w', 1, 43.0f }, rep = { 's', 0, 0 };
    harness_put(engines[0].to, &w0, sizeof w0);
    expect_ack(&engines[0], 'W');
    harness_put(engines[1].to, &w1, sizeof w1);
    expect_ack(&engines[1], 'W');

    double want_sum = 0.0;
    for (int i = 0; i < 10; i++)
        want_sum += mine[i];
    assert_true(mine[0] == 42.0f && mine[1] == 43.0f);
    assert_true(want_sum == 85.0);
    for (int i = 0; i < ENGINES; i++) {
        struct engine_report got;
        harness_put(engines[i].to, &rep, sizeof rep);
        harness_get(engines[i].from, &got, sizeof got);
        assert_true(got.v0 == 42.0f);
        assert_true(got.v1 == 43.0f);
        assert_true(got.sum == want_sum);
    }

    struct engine_cmd quit = { 'q', 0, 0 };
    for (int i = 0; i < ENGINES; i++) {
        harness_put(engines[i].to, &quit, sizeof quit);
        assert_int_equal(harness_child_wait(h, &engines[i]), 0);
    }
    assert_rc(sharr_stat(conn, "engine", &info), 0);
    assert_int_equal(info.nattached, 1);
    assert_rc(sharr_close(arr), 0);
    sharr_disconnect(conn);
}

/* ---- a large array, four readers at once ---- */

#define BIG_N 10000000u
#define READERS 4

static double pattern(uint64_t i)
{
    return (double)i * 0.25 + (double)(i % 7);
}

struct reader_report {
    uint64_t mismatches;
    uint64_t first_bad;
    double sum;
};

static int reader_child(int rfd, int wfd, void *arg)
{
    (void)arg;
    sharr_t *conn = NULL;
    sharr_array_t *arr = NULL;
    CHILD_CHECK(sharr_connect(NULL, &conn) == 0);
    CHILD_CHECK(sharr_open(conn, "big", "r", NULL, &arr) == 0);
    const struct sharr_info *info = sharr_array_info(arr);
    CHILD_CHECK(strcmp(info->dtype, "<f8") == 0 && info->ndim == 1 && info->shape[0] == BIG_N);
    CHILD_CHECK(info->nbytes == (uint64_t)BIG_N * 8);
    const double *d = sharr_array_data(arr);
    CHILD_CHECK(d != NULL);
    CHILD_CHECK(chan_put(wfd, "A", 1) == 0);

    char go;
    CHILD_CHECK(chan_get(rfd, &go, 1) == 0 && go == 'g');
    struct reader_report rep = { 0, 0, 0.0 };
    for (uint64_t i = 0; i < BIG_N; i++) {
        if (d[i] != pattern(i) && rep.mismatches++ == 0)
            rep.first_bad = i;
        rep.sum += d[i];
    }
    CHILD_CHECK(chan_put(wfd, &rep, sizeof rep) == 0);
    CHILD_CHECK(chan_get(rfd, &go, 1) == 0 && go == 'q');
    CHILD_CHECK(sharr_close(arr) == 0);
    /* A round trip after the release notification: the daemon has applied it when
     * this child reports done, so the parent's count right after is exact. */
    CHILD_CHECK(sharr_stats(conn, &(struct sharr_stats){ 0 }) == 0);
    sharr_disconnect(conn);
    return 0;
}

static void test_large_array_attached_by_four_processes_at_once(void **state)
{
    struct harness *h = *state;
    sharr_t *conn = harness_connect(h);
    const uint64_t shape[1] = { BIG_N };
    sharr_array_t *arr = NULL;
    assert_rc(sharr_create(conn, "big", "float64", 1, shape, NULL, &arr), 0);
    assert_int_equal(sharr_array_info(arr)->nbytes, (uint64_t)BIG_N * 8);
    double *d = sharr_array_data(arr);
    double want_sum = 0.0;
    for (uint64_t i = 0; i < BIG_N; i++) {
        d[i] = pattern(i);
        want_sum += d[i];
    }

    struct harness_child readers[READERS];
    for (int i = 0; i < READERS; i++)
        harness_child_start(h, &readers[i], reader_child, NULL);
    for (int i = 0; i < READERS; i++)
        expect_ack(&readers[i], 'A');

    /* All four hold the array now; the daemon counts them with the creator. */
    struct sharr_info info;
    assert_rc(sharr_stat(conn, "big", &info), 0);
    assert_int_equal(info.nattached, 1 + READERS);

    for (int i = 0; i < READERS; i++)
        harness_put(readers[i].to, "g", 1);
    for (int i = 0; i < READERS; i++) {
        struct reader_report rep;
        harness_get(readers[i].from, &rep, sizeof rep);
        if (rep.mismatches != 0)
            print_error("reader %d: %llu mismatches, first at %llu\n", i,
                        (unsigned long long)rep.mismatches,
                        (unsigned long long)rep.first_bad);
        assert_int_equal(rep.mismatches, 0);
        assert_true(rep.sum == want_sum);
    }
    for (int i = 0; i < READERS; i++) {
        harness_put(readers[i].to, "q", 1);
        assert_int_equal(harness_child_wait(h, &readers[i]), 0);
    }
    assert_rc(sharr_stat(conn, "big", &info), 0);
    assert_int_equal(info.nattached, 1);
    assert_rc(sharr_close(arr), 0);
    sharr_disconnect(conn);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_engines_see_each_others_writes, harness_setup,
                                        harness_teardown),
        cmocka_unit_test_setup_teardown(test_large_array_attached_by_four_processes_at_once,
                                        harness_setup, harness_teardown),
    };
    return testskip_exit(cmocka_run_group_tests(tests, NULL, NULL));
}
