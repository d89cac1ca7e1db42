/* test_unlink.c — unlink removes the name at once and nothing else.
 *
 * As with POSIX files: mappings held in this and other processes stay valid, readable
 * and writable, and still shared with each other; the name is free again at once, and
 * a new array under it is a different array.
 */
#include <errno.h>
#include <string.h>

#include "harness.h"
#include "testskip.h"

#define N 4096u

static int holder_child(int rfd, int wfd, void *arg)
{
    (void)arg;
    sharr_t *conn = NULL;
    sharr_array_t *arr = NULL;
    CHILD_CHECK(sharr_connect(NULL, &conn) == 0);
    CHILD_CHECK(sharr_open(conn, "doomed", "r+", NULL, &arr) == 0);
    int32_t *v = sharr_array_data(arr);
    CHILD_CHECK(v != NULL);
    CHILD_CHECK(chan_put(wfd, "A", 1) == 0);
    char cmd;
    /* After the unlink: the parent's writes still arrive, ours still reach it. */
    CHILD_CHECK(chan_get(rfd, &cmd, 1) == 0 && cmd == 'u');
    for (uint32_t i = 0; i < N; i++)
        CHILD_CHECK(v[i] == (int32_t)(i + 1000));
    v[7] = -7;
    CHILD_CHECK(chan_put(wfd, "W", 1) == 0);
    CHILD_CHECK(chan_get(rfd, &cmd, 1) == 0 && cmd == 'q');
    CHILD_CHECK(sharr_close(arr) == 0);
    sharr_disconnect(conn);
    return 0;
}

static void test_unlink_while_attached_keeps_mappings_and_frees_name(void **state)
{
    struct harness *h = *state;
    sharr_t *conn = harness_connect(h);
    const uint64_t shape[1] = { N };
    sharr_array_t *arr = NULL;
    assert_rc(sharr_create(conn, "doomed", "<i4", 1, shape, NULL, &arr), 0);
    int32_t *v = sharr_array_data(arr);
    for (uint32_t i = 0; i < N; i++)
        v[i] = (int32_t)i;

    struct harness_child c;
    harness_child_start(h, &c, holder_child, NULL);
    char ack = 0;
    harness_get(c.from, &ack, 1);
    assert_int_equal(ack, 'A');

    assert_rc(sharr_unlink(conn, "doomed"), 0);

    struct sharr_info info;
    assert_rc(sharr_stat(conn, "doomed", &info), -ENOENT);
    sharr_array_t *again = NULL;
    assert_rc(sharr_open(conn, "doomed", "r", NULL, &again), -ENOENT);
    assert_null(again);
    assert_rc(sharr_unlink(conn, "doomed"), -ENOENT);

    /* The old mapping still reads and writes, and is still shared with the child. */
    for (uint32_t i = 0; i < N; i++)
        assert_int_equal(v[i], i);
    for (uint32_t i = 0; i < N; i++)
        v[i] = (int32_t)(i + 1000);
    harness_put(c.to, "u", 1);
    harness_get(c.from, &ack, 1);
    assert_int_equal(ack, 'W');
    assert_int_equal(v[7], -7);

    /* The name is free: a new, different array takes it. */
    const uint64_t shape2[2] = { 2, 3 };
    sharr_array_t *fresh = NULL;
    assert_rc(sharr_create(conn, "doomed", "<f8", 2, shape2, NULL, &fresh), 0);
    double *f = sharr_array_data(fresh);
    for (int i = 0; i < 6; i++)
        assert_true(f[i] == 0.0);
    f[0] = 1.25;
    assert_int_equal(v[0], 1000);
    assert_int_equal(v[1], 1001);
    v[1] = 55;
    assert_true(f[0] == 1.25 && f[1] == 0.0);
    assert_rc(sharr_stat(conn, "doomed", &info), 0);
    assert_string_equal(info.dtype, "<f8");
    assert_int_equal(info.ndim, 2);
    assert_int_equal(info.nattached, 1);

    harness_put(c.to, "q", 1);
    assert_int_equal(harness_child_wait(h, &c), 0);
    assert_rc(sharr_close(arr), 0);
    assert_rc(sharr_close(fresh), 0);

    /* Closing the unlinked array's last holder released it from the daemon's counts. */
    struct sharr_stats st = harness_stats(conn);
    assert_int_equal(st.attachments, 0);
    assert_int_equal(st.arrays, 1);
    sharr_disconnect(conn);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_unlink_while_attached_keeps_mappings_and_frees_name,
                                        harness_setup, harness_teardown),
    };
    return testskip_exit(cmocka_run_group_tests(tests, NULL, NULL));
}
