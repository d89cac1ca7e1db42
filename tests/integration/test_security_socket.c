/* test_security_socket.c — the listening socket file: its mode (default and
 * --socket-mode), a stale socket of a dead daemon replaced, a second sharrd on the
 * same socket refused with the reason, and flags out of range refused at start.
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "keeper.h"
#include "launch.h"
#include "testskip.h"

static unsigned socket_mode(const struct harness *h)
{
    struct stat st;
    assert_int_equal(lstat(h->sock, &st), 0);
    assert_true(S_ISSOCK(st.st_mode));
    return st.st_mode & 07777;
}

static void test_socket_default_mode_is_0666_for_root(void **state)
{
    struct harness *h = *state;
    assert_int_equal(geteuid(), 0);
    assert_int_equal(socket_mode(h), 0666);
}

static void test_socket_mode_flag_sets_the_mode(void **state)
{
    struct harness *h = *state;
    const char *const m0660[] = { "--socket-mode", "0660", NULL };
    launch_daemon(h, m0660, 0);
    assert_int_equal(socket_mode(h), 0660);
    const char *const m0600[] = { "--socket-mode", "600", NULL };
    launch_daemon(h, m0600, 0);
    assert_int_equal(socket_mode(h), 0600);
    struct keeper k;
    keeper_start(&k, h);
    keeper_check(&k);
    keeper_stop(&k);
}

static void test_socket_mode_out_of_range_is_refused(void **state)
{
    struct harness *h = *state;
    const char *bad[] = { "0400", "0777x", "888", "-0600", "01777", "", "0060" };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        const char *const argv[] = { "--socket-mode", bad[i], NULL };
        struct harness_run run;
        launch_run(h, argv, &run);
        assert_int_equal(run.status, 2); /* a usage error */
        assert_non_null(strstr(run.err, "--socket-mode"));
        harness_run_free(&run);
    }
    /* The running daemon was not disturbed. */
    struct keeper k;
    keeper_start(&k, h);
    keeper_check(&k);
    keeper_stop(&k);
}

static void test_second_daemon_on_the_socket_is_refused(void **state)
{
    struct harness *h = *state;
    struct keeper k;
    keeper_start(&k, h);
    struct harness_run run;
    launch_run(h, NULL, &run);
    assert_int_not_equal(run.status, 0);
    assert_non_null(strstr(run.err, "another sharrd is serving"));
    harness_run_free(&run);
    keeper_check(&k);
    keeper_stop(&k);
}

static void test_stale_socket_of_a_dead_daemon_is_replaced(void **state)
{
    struct harness *h = *state;
    assert_int_equal(harness_daemon_stop(h), 0);
    /* A socket file nobody listens on, as a SIGKILLed daemon leaves behind. */
    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    assert_true(fd >= 0);
    struct sockaddr_un addr = { .sun_family = AF_UNIX };
    strcpy(addr.sun_path, h->sock);
    assert_int_equal(bind(fd, (struct sockaddr *)&addr, sizeof addr), 0);
    close(fd);
    harness_daemon_start(h);
    struct keeper k;
    keeper_start(&k, h);
    keeper_check(&k);
    keeper_stop(&k);
}

static void test_socket_path_that_is_not_a_socket_is_left_alone(void **state)
{
    struct harness *h = *state;
    assert_int_equal(harness_daemon_stop(h), 0);
    FILE *f = fopen(h->sock, "w");
    assert_non_null(f);
    fputs("precious", f);
    fclose(f);
    struct harness_run run;
    launch_run(h, NULL, &run);
    assert_int_not_equal(run.status, 0);
    assert_non_null(strstr(run.err, "is not a socket"));
    harness_run_free(&run);
    struct stat st;
    assert_int_equal(lstat(h->sock, &st), 0);
    assert_true(S_ISREG(st.st_mode));
    assert_int_equal(unlink(h->sock), 0);
    harness_daemon_start(h);
}

#define T(fn) cmocka_unit_test_setup_teardown(fn, harness_setup, harness_teardown)

int main(void)
{
    const struct CMUnitTest tests[] = {
        T(test_socket_default_mode_is_0666_for_root),
        T(test_socket_mode_flag_sets_the_mode),
        T(test_socket_mode_out_of_range_is_refused),
        T(test_second_daemon_on_the_socket_is_refused),
        T(test_stale_socket_of_a_dead_daemon_is_replaced),
        T(test_socket_path_that_is_not_a_socket_is_left_alone),
    };
    return testskip_exit(cmocka_run_group_tests(tests, NULL, NULL));
}
