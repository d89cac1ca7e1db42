/* test_client_death.c — a client killed while holding arrays leaves nothing behind,
 * and one that closes its arrays and exits at once leaves nothing either.
 *
 * A child attaches ten arrays and is SIGKILLed without releasing anything; the daemon
 * must notice the closed connection and drop its attachments. That notice is
 * asynchronous, so the parent polls the stats, with a bound.
 */
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>

#include "harness.h"
#include "testskip.h"

#define HELD 10

static int holder_child(int rfd, int wfd, void *arg)
{
    (void)arg;
    sharr_t *conn = NULL;
    CHILD_CHECK(sharr_connect(NULL, &conn) == 0);
    sharr_array_t *arrs[HELD];
    for (int i = 0; i < HELD; i++) {
        char name[32];
        snprintf(name, sizeof name, "held-%d", i);
        CHILD_CHECK(sharr_open(conn, name, i % 2 ? "r" : "r+", NULL, &arrs[i]) == 0);
    }
    CHILD_CHECK(chan_put(wfd, "H", 1) == 0);
    /* Hold everything until killed; the parent never writes. */
    char never;
    chan_get(rfd, &never, 1);
    return 1;
}

/* Create held-0 .. held-(HELD-1), float32 x 1000, element 0 of held-i set to i. */
static void create_held(sharr_t *conn, sharr_array_t *created[HELD])
{
    const uint64_t shape[1] = { 1000 };
    for (int i = 0; i < HELD; i++) {
        char name[32];
        snprintf(name, sizeof name, "held-%d", i);
        assert_rc(sharr_create(conn, name, "<f4", 1, shape, NULL, &created[i]), 0);
        ((float *)sharr_array_data(created[i]))[0] = (float)i;
    }
}

static void test_killed_client_attachments_are_released(void **state)
{
    struct harness *h = *state;
    sharr_t *conn = harness_connect(h);
    sharr_array_t *created[HELD];
    create_held(conn, created);
    struct sharr_stats before = harness_stats(conn);
    assert_int_equal(before.attachments, HELD);

    struct harness_child c;
    harness_child_start(h, &c, holder_child, NULL);
    char ack = 0;
    harness_get(c.from, &ack, 1);
    assert_int_equal(ack, 'H');
    struct sharr_stats holding = harness_stats(conn);
    assert_int_equal(holding.attachments, before.attachments + HELD);
    assert_true(holding.connections >= 2);

    assert_int_equal(kill(c.pid, SIGKILL), 0);
    assert_int_equal(harness_child_wait(h, &c), 128 + SIGKILL);

    assert_int_equal(harness_wait_attachments(conn, before.attachments), before.attachments);
    assert_int_equal(harness_wait_connections(conn, 1), 1);
    assert_int_equal(harness_stats(conn).arrays, HELD);
    for (int i = 0; i < HELD; i++) {
        struct sharr_info info;
        char name[32];
        snprintf(name, sizeof name, "held-%d", i);
        assert_rc(sharr_stat(conn, name, &info), 0);
        assert_int_equal(info.nattached, 1);
        assert_true(((const float *)sharr_array_data(created[i]))[0] == (float)i);
        assert_rc(sharr_close(created[i]), 0);
    }
    sharr_disconnect(conn);
}

/* Closes every array (each release a notification, sent without waiting) and exits
 * at once, without disconnecting. */
static int close_and_exit_child(int rfd, int wfd, void *arg)
{
    (void)rfd;
    (void)wfd;
    (void)arg;
    sharr_t *conn = NULL;
    CHILD_CHECK(sharr_connect(NULL, &conn) == 0);
    for (int i = 0; i < HELD; i++) {
        sharr_array_t *a = NULL;
        char name[32];
        snprintf(name, sizeof name, "held-%d", i);
        CHILD_CHECK(sharr_open(conn, name, "r", NULL, &a) == 0);
        CHILD_CHECK(sharr_close(a) == 0);
    }
    return 0;
}

static void test_close_then_exit_releases_everything(void **state)
{
    struct harness *h = *state;
    sharr_t *conn = harness_connect(h);
    sharr_array_t *created[HELD];
    create_held(conn, created);
    struct harness_child c;
    harness_child_start(h, &c, close_and_exit_child, NULL);
    assert_int_equal(harness_child_wait(h, &c), 0);
    /* The releases and the disconnect reach the daemon after the child is gone. */
    assert_int_equal(harness_wait_attachments(conn, HELD), HELD);
    assert_int_equal(harness_wait_connections(conn, 1), 1);
    for (int i = 0; i < HELD; i++) {
        struct sharr_info info;
        assert_rc(sharr_stat(conn, sharr_array_info(created[i])->name, &info), 0);
        assert_int_equal(info.nattached, 1);
        assert_rc(sharr_close(created[i]), 0);
    }
    sharr_disconnect(conn);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_killed_client_attachments_are_released,
                                        harness_setup, harness_teardown),
        cmocka_unit_test_setup_teardown(test_close_then_exit_releases_everything,
                                        harness_setup, harness_teardown),
    };
    return testskip_exit(cmocka_run_group_tests(tests, NULL, NULL));
}
