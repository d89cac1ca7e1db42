/* test_wait.c — open may wait for another process to create the name.
 *
 * A worker that starts before its producer gets the array once it exists; a bounded
 * wait on a name nobody creates ends in -ETIMEDOUT; and a waiting open holds neither
 * the connection nor the daemon: another thread's request on the same connection is
 * answered meanwhile.
 */
#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include "harness.h"
#include "testskip.h"

static int waiter_child(int rfd, int wfd, void *arg)
{
    (void)arg;
    sharr_t *conn = NULL;
    sharr_array_t *arr = NULL;
    CHILD_CHECK(sharr_connect(NULL, &conn) == 0);
    struct sharr_open_opts opts = { .size = sizeof(opts), .wait_ms = 10000 };
    CHILD_CHECK(chan_put(wfd, "w", 1) == 0);
    int rc = sharr_open(conn, "late", "r", &opts, &arr);
    CHILD_CHECK(chan_put(wfd, &rc, sizeof rc) == 0);
    CHILD_CHECK(rc == 0);
    const struct sharr_info *info = sharr_array_info(arr);
    CHILD_CHECK(strcmp(info->dtype, "<u2") == 0 && info->ndim == 1 && info->shape[0] == 64);
    char cmd;
    CHILD_CHECK(chan_get(rfd, &cmd, 1) == 0 && cmd == 'v');
    const uint16_t *v = sharr_array_data(arr);
    for (int i = 0; i < 64; i++)
        CHILD_CHECK(v[i] == (uint16_t)(i * 3));
    CHILD_CHECK(sharr_close(arr) == 0);
    sharr_disconnect(conn);
    return 0;
}

static void test_open_waits_until_name_is_created(void **state)
{
    struct harness *h = *state;
    sharr_t *conn = harness_connect(h);
    struct harness_child c;
    harness_child_start(h, &c, waiter_child, NULL);
    char ack = 0;
    harness_get(c.from, &ack, 1);
    assert_int_equal(ack, 'w');

    const uint64_t shape[1] = { 64 };
    sharr_array_t *arr = NULL;
    assert_rc(sharr_create(conn, "late", "uint16", 1, shape, NULL, &arr), 0);
    int rc = -1;
    harness_get(c.from, &rc, sizeof rc);
    assert_rc(rc, 0);
    uint16_t *v = sharr_array_data(arr);
    for (int i = 0; i < 64; i++)
        v[i] = (uint16_t)(i * 3);
    harness_put(c.to, "v", 1);
    assert_int_equal(harness_child_wait(h, &c), 0);
    assert_rc(sharr_close(arr), 0);
    sharr_disconnect(conn);
}

static void test_open_wait_times_out_on_missing_name(void **state)
{
    struct harness *h = *state;
    sharr_t *conn = harness_connect(h);
    struct sharr_open_opts opts = { .size = sizeof(opts), .wait_ms = 200 };
    sharr_array_t *arr = NULL;
    assert_rc(sharr_open(conn, "never", "r", &opts, &arr), -ETIMEDOUT);
    assert_null(arr);
    /* Without a wait the same open fails at once, and the connection still works. */
    assert_rc(sharr_open(conn, "never", "r", NULL, &arr), -ENOENT);
    assert_int_equal(harness_stats(conn).attachments, 0);
    sharr_disconnect(conn);
}

struct waiting_open {
    sharr_t *conn;
    atomic_int started;
    atomic_int done;
    int rc;
    sharr_array_t *arr;
};

static void *waiting_open_thread(void *p)
{
    struct waiting_open *w = p;
    struct sharr_open_opts opts = { .size = sizeof(opts), .wait_ms = 20000 };
    atomic_store(&w->started, 1);
    w->rc = sharr_open(w->conn, "awaited", "r", &opts, &w->arr);
    atomic_store(&w->done, 1);
    return NULL;
}

static void test_waiting_open_does_not_block_other_requests(void **state)
{
    struct harness *h = *state;
    sharr_t *conn = harness_connect(h);
    sharr_array_t *present = harness_create(conn, "present", "<i4", 8);
    int32_t *p = sharr_array_data(present);
    for (int i = 0; i < 8; i++)
        p[i] = 100 + i;

    /* On the heap: should an assert below end this test early, the thread still has
     * somewhere valid to write when its wait ends. */
    struct waiting_open *w = calloc(1, sizeof *w);
    assert_non_null(w);
    w->conn = conn;
    pthread_t tid;
    assert_int_equal(pthread_create(&tid, NULL, waiting_open_thread, w), 0);
    while (!atomic_load(&w->started))
        sched_yield();

    /* Had the waiting open held the connection, these would return only after its
     * 20 s wait ends, and done would be set by then. Several rounds make sure some
     * run while the open is pending in the daemon. */
    for (int i = 0; i < 50; i++) {
        struct sharr_info info;
        assert_rc(sharr_stat(conn, "present", &info), 0);
        assert_int_equal(info.shape[0], 8);
        assert_int_equal(atomic_load(&w->done), 0);
    }
    sharr_array_t *second = NULL;
    assert_rc(sharr_open(conn, "present", "r", NULL, &second), 0);
    assert_int_equal(((const int32_t *)sharr_array_data(second))[7], 107);
    assert_rc(sharr_close(second), 0);
    assert_int_equal(atomic_load(&w->done), 0);

    /* Creating the awaited name ends the wait with success. */
    sharr_array_t *awaited = harness_create(conn, "awaited", "<i4", 8);
    assert_int_equal(pthread_join(tid, NULL), 0);
    assert_rc(w->rc, 0);
    assert_string_equal(sharr_array_info(w->arr)->name, "awaited");
    assert_rc(sharr_close(w->arr), 0);
    free(w);
    assert_rc(sharr_close(awaited), 0);
    assert_rc(sharr_close(present), 0);
    sharr_disconnect(conn);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_open_waits_until_name_is_created, harness_setup,
                                        harness_teardown),
        cmocka_unit_test_setup_teardown(test_open_wait_times_out_on_missing_name,
                                        harness_setup, harness_teardown),
        cmocka_unit_test_setup_teardown(test_waiting_open_does_not_block_other_requests,
                                        harness_setup, harness_teardown),
    };
    return testskip_exit(cmocka_run_group_tests(tests, NULL, NULL));
}
