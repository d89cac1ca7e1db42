/* test_sockpath.c — where the daemon listens and where clients look, by default.
 *
 * Each test sets the environment it needs; sockets are real AF_UNIX sockets bound
 * in a temporary directory standing in for $XDG_RUNTIME_DIR.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <cmocka.h>

#include "sockpath.h"
#include "testskip.h"

struct tmp {
    char dir[64];
    char sub[96];
    char sock[128];
    int fd;
};

static int tmp_setup(void **state)
{
    struct tmp *t = calloc(1, sizeof(*t));

    if (t == NULL)
        return -1;
    strcpy(t->dir, "/tmp/sharr-unit-sock-XXXXXX");
    if (mkdtemp(t->dir) == NULL)
        return -1;
    snprintf(t->sub, sizeof(t->sub), "%s/sharr", t->dir);
    snprintf(t->sock, sizeof(t->sock), "%s/sharr.sock", t->sub);
    t->fd = -1;
    unsetenv("SHARR_SOCKET");
    setenv("XDG_RUNTIME_DIR", t->dir, 1);
    *state = t;
    return 0;
}

static int tmp_teardown(void **state)
{
    struct tmp *t = *state;

    if (t->fd >= 0)
        close(t->fd);
    unlink(t->sock);
    rmdir(t->sub);
    rmdir(t->dir);
    free(t);
    return 0;
}

static void bind_socket(struct tmp *t)
{
    struct sockaddr_un sa = { .sun_family = AF_UNIX };

    assert_int_equal(mkdir(t->sub, 0700), 0);
    t->fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    assert_true(t->fd >= 0);
    assert_true(strlen(t->sock) < sizeof(sa.sun_path));
    memcpy(sa.sun_path, t->sock, strlen(t->sock) + 1);
    assert_int_equal(bind(t->fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
}

static void test_sockpath_explicit_variable_wins_for_both(void **state)
{
    char out[108];

    (void)state;
    setenv("SHARR_SOCKET", "/somewhere/else.sock", 1);
    assert_int_equal(sockpath_daemon(out, sizeof(out)), 0);
    assert_string_equal(out, "/somewhere/else.sock");
    assert_int_equal(sockpath_client(out, sizeof(out)), 0);
    assert_string_equal(out, "/somewhere/else.sock");
    unsetenv("SHARR_SOCKET");
}

static void test_sockpath_daemon_uses_runtime_dir(void **state)
{
    struct tmp *t = *state;
    char out[108];

    assert_int_equal(sockpath_daemon(out, sizeof(out)), 0);
    assert_string_equal(out, t->sock);
}

static void test_sockpath_daemon_without_runtime_dir_depends_on_uid(void **state)
{
    char out[108], want[108];

    (void)state;
    unsetenv("XDG_RUNTIME_DIR");
    assert_int_equal(sockpath_daemon(out, sizeof(out)), 0);
    if (geteuid() == 0)
        snprintf(want, sizeof(want), "/run/sharr/sharr.sock");
    else
        snprintf(want, sizeof(want), "/tmp/sharr-%u/sharr.sock", (unsigned)geteuid());
    assert_string_equal(out, want);
}

static void test_sockpath_client_finds_existing_socket_in_runtime_dir(void **state)
{
    struct tmp *t = *state;
    char out[108];

    bind_socket(t);
    assert_int_equal(sockpath_client(out, sizeof(out)), 0);
    assert_string_equal(out, t->sock);
}

static void test_sockpath_client_falls_back_to_daemon_default(void **state)
{
    struct tmp *t = *state;
    char out[108], want[108];
    struct stat st;

    snprintf(want, sizeof(want), "/tmp/sharr-%u/sharr.sock", (unsigned)geteuid());
    if (stat("/run/sharr/sharr.sock", &st) == 0 || stat(want, &st) == 0)
        testskip("a sharrd serves this machine at /run/sharr/sharr.sock or %s, and "
                 "would rightly be chosen", want);
    assert_int_equal(sockpath_client(out, sizeof(out)), 0);
    assert_string_equal(out, t->sock);
}

static void test_sockpath_too_long_is_enametoolong(void **state)
{
    char longdir[200];
    char out[108];
    char small[8];

    (void)state;
    memset(longdir, 'd', sizeof(longdir) - 1);
    longdir[0] = '/';
    longdir[sizeof(longdir) - 1] = '\0';
    setenv("XDG_RUNTIME_DIR", longdir, 1);
    assert_int_equal(sockpath_daemon(out, sizeof(out)), -ENAMETOOLONG);
    setenv("SHARR_SOCKET", longdir, 1);
    assert_int_equal(sockpath_daemon(out, sizeof(out)), -ENAMETOOLONG);
    assert_int_equal(sockpath_client(out, sizeof(out)), -ENAMETOOLONG);
    setenv("SHARR_SOCKET", "/a/b/c/d/e/f.sock", 1);
    assert_int_equal(sockpath_daemon(small, sizeof(small)), -ENAMETOOLONG);
    unsetenv("SHARR_SOCKET");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_sockpath_explicit_variable_wins_for_both,
                                        tmp_setup, tmp_teardown),
        cmocka_unit_test_setup_teardown(test_sockpath_daemon_uses_runtime_dir, tmp_setup,
                                        tmp_teardown),
        cmocka_unit_test_setup_teardown(test_sockpath_daemon_without_runtime_dir_depends_on_uid,
                                        tmp_setup, tmp_teardown),
        cmocka_unit_test_setup_teardown(test_sockpath_client_finds_existing_socket_in_runtime_dir,
                                        tmp_setup, tmp_teardown),
        cmocka_unit_test_setup_teardown(test_sockpath_client_falls_back_to_daemon_default,
                                        tmp_setup, tmp_teardown),
        cmocka_unit_test_setup_teardown(test_sockpath_too_long_is_enametoolong, tmp_setup,
                                        tmp_teardown),
    };
    return testskip_exit(cmocka_run_group_tests(tests, NULL, NULL));
}
