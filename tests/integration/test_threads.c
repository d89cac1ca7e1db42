/* test_threads.c — one connection used by many threads at once.
 *
 * Eight threads share one sharr_t and each attaches and releases one common array and
 * one array of its own, 200 times, all starting together. Every call must succeed,
 * every write must land, and the daemon's attachment count must come back exactly.
 */
#include <pthread.h>
#include <stdio.h>
#include <string.h>

#include "harness.h"
#include "testskip.h"

#define THREADS 8
#define ROUNDS 200
#define OWN_N 256
_Static_assert(ROUNDS <= OWN_N, "each round writes its own element");

struct worker {
    sharr_t *conn;
    pthread_barrier_t *start;
    int id;
    /* the first failure, if any: which step, in which round, and its return */
    const char *failed_at;
    int round;
    int rc;
};

static int worker_fail(struct worker *w, const char *what, int round, int rc)
{
    w->failed_at = what;
    w->round = round;
    w->rc = rc;
    return -1;
}

/* One round: attach both arrays, check the previous round's writes are there (through
 * fresh mappings), write this round's, release both. */
static int worker_round(struct worker *w, const char *own_name, int round)
{
    sharr_array_t *common = NULL, *own = NULL;
    int rc = sharr_open(w->conn, "common", "r+", NULL, &common);
    if (rc < 0)
        return worker_fail(w, "open common", round, rc);
    rc = sharr_open(w->conn, own_name, "r+", NULL, &own);
    if (rc < 0) {
        sharr_close(common);
        return worker_fail(w, "open own", round, rc);
    }
    int64_t *c = sharr_array_data(common);
    int64_t *o = sharr_array_data(own);
    const struct sharr_info *oi = sharr_array_info(own);
    int ok = c != NULL && o != NULL && strcmp(oi->name, own_name) == 0 && oi->shape[0] == OWN_N;
    if (ok && round > 0)
        ok = c[w->id] == round - 1 && o[(round - 1) % OWN_N] == (round - 1) * THREADS + w->id;
    if (ok) {
        c[w->id] = round;
        o[round % OWN_N] = (int64_t)round * THREADS + w->id;
    }
    int rc_own = sharr_close(own);
    int rc_common = sharr_close(common);
    if (!ok)
        return worker_fail(w, "data check", round, 0);
    if (rc_own < 0)
        return worker_fail(w, "close own", round, rc_own);
    if (rc_common < 0)
        return worker_fail(w, "close common", round, rc_common);
    return 0;
}

static void *worker_main(void *p)
{
    struct worker *w = p;
    char own_name[32];
    snprintf(own_name, sizeof own_name, "own-%d", w->id);
    pthread_barrier_wait(w->start);
    for (int round = 0; round < ROUNDS; round++)
        if (worker_round(w, own_name, round) < 0)
            break;
    return NULL;
}

static void test_threads_attach_and_release_on_one_connection(void **state)
{
    struct harness *h = *state;
    sharr_t *conn = harness_connect(h);
    const uint64_t common_shape[1] = { THREADS }, own_shape[1] = { OWN_N };
    sharr_array_t *created[THREADS + 1];
    assert_rc(sharr_create(conn, "common", "<i8", 1, common_shape, NULL, &created[THREADS]), 0);
    for (int i = 0; i < THREADS; i++) {
        char name[32];
        snprintf(name, sizeof name, "own-%d", i);
        assert_rc(sharr_create(conn, name, "<i8", 1, own_shape, NULL, &created[i]), 0);
    }
    uint64_t baseline = harness_stats(conn).attachments;
    assert_int_equal(baseline, THREADS + 1);

    pthread_barrier_t start;
    assert_int_equal(pthread_barrier_init(&start, NULL, THREADS), 0);
    struct worker workers[THREADS];
    pthread_t tids[THREADS];
    for (int i = 0; i < THREADS; i++) {
        workers[i] = (struct worker){ .conn = conn, .start = &start, .id = i };
        assert_int_equal(pthread_create(&tids[i], NULL, worker_main, &workers[i]), 0);
    }
    for (int i = 0; i < THREADS; i++)
        assert_int_equal(pthread_join(tids[i], NULL), 0);
    pthread_barrier_destroy(&start);

    for (int i = 0; i < THREADS; i++) {
        if (workers[i].failed_at != NULL)
            print_error("thread %d: %s failed in round %d: %d (%s)\n", i, workers[i].failed_at,
                        workers[i].round, workers[i].rc, sharr_strerror(workers[i].rc));
        assert_null(workers[i].failed_at);
    }

    assert_int_equal(harness_stats(conn).attachments, baseline);
    const int64_t *c = sharr_array_data(created[THREADS]);
    for (int i = 0; i < THREADS; i++) {
        assert_int_equal(c[i], ROUNDS - 1);
        const int64_t *o = sharr_array_data(created[i]);
        for (int r = 0; r < ROUNDS; r++)
            assert_int_equal(o[r % OWN_N], (int64_t)r * THREADS + i);
        struct sharr_info info;
        assert_rc(sharr_stat(conn, sharr_array_info(created[i])->name, &info), 0);
        assert_int_equal(info.nattached, 1);
    }
    for (int i = 0; i <= THREADS; i++)
        assert_rc(sharr_close(created[i]), 0);
    assert_int_equal(harness_stats(conn).attachments, 0);
    sharr_disconnect(conn);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_threads_attach_and_release_on_one_connection,
                                        harness_setup, harness_teardown),
    };
    return testskip_exit(cmocka_run_group_tests(tests, NULL, NULL));
}
