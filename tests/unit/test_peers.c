/* test_peers.c — what each uid's connections hold and the admission of a new one
 * (daemon/peers.c), built from its one source file: a uid's record lives from its
 * first connection to its last, and each connection limit refuses at the count it names.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "peers.h"
#include "testskip.h"

static void test_peers_record_lives_from_first_to_last_connection(void **state)
{
    (void)state;
    struct peers p = { 0 };
    struct peers_uid *a, *b, *c;

    assert_null(peers_find(&p, 1000));
    a = peers_join(&p, 1000);
    b = peers_join(&p, 1000);
    c = peers_join(&p, 1001);
    assert_non_null(a);
    assert_ptr_equal(a, b); /* one record per uid */
    assert_ptr_not_equal(a, c);
    assert_int_equal(peers_find(&p, 1000)->conns, 2);
    assert_int_equal(peers_find(&p, 1001)->conns, 1);
    peers_leave(&p, a);
    assert_int_equal(peers_find(&p, 1000)->conns, 1);
    peers_leave(&p, b);
    assert_null(peers_find(&p, 1000));
    assert_non_null(peers_find(&p, 1001));
    peers_leave(&p, c);
    assert_null(p.head);
}

static void test_peers_max_connections_binds_everyone(void **state)
{
    (void)state;
    struct peers p = { 0 };
    struct policy pol = { 0 };
    char why[256] = "";

    assert_int_equal(peers_may_connect(&p, &pol, 4, 3, 1000, why, sizeof(why)), 0);
    assert_int_equal(peers_may_connect(&p, &pol, 4, 4, 1000, why, sizeof(why)), -EMFILE);
    assert_non_null(strstr(why, "--max-connections"));
    assert_int_equal(peers_may_connect(&p, &pol, 4, 4, 0, why, sizeof(why)), -EMFILE);
}

/* The last reserved connections are root's: others are refused before them. */
static void test_peers_reserved_connections_are_roots(void **state)
{
    (void)state;
    struct peers p = { 0 };
    struct policy pol = { .reserved_root_connections = 2 };
    char why[256] = "";

    assert_int_equal(peers_may_connect(&p, &pol, 10, 7, 1000, why, sizeof(why)), 0);
    assert_int_equal(peers_may_connect(&p, &pol, 10, 8, 1000, why, sizeof(why)), -EMFILE);
    assert_non_null(strstr(why, "--reserved-root-connections"));
    assert_int_equal(peers_may_connect(&p, &pol, 10, 9, 0, why, sizeof(why)), 0);
}

/* --max-connections-per-uid counts the uid's own connections, and spares root. */
static void test_peers_per_uid_connections_count_that_uids_own(void **state)
{
    (void)state;
    struct peers p = { 0 };
    struct policy pol = { .max_connections_per_uid = 2 };
    struct peers_uid *u[3];
    char why[256] = "";

    u[0] = peers_join(&p, 1000);
    u[1] = peers_join(&p, 1000);
    u[2] = peers_join(&p, 0);
    assert_int_equal(peers_may_connect(&p, &pol, 100, 3, 1000, why, sizeof(why)), -EMFILE);
    assert_non_null(strstr(why, "--max-connections-per-uid"));
    assert_int_equal(peers_may_connect(&p, &pol, 100, 3, 1001, why, sizeof(why)), 0);
    peers_leave(&p, u[1]);
    assert_int_equal(peers_may_connect(&p, &pol, 100, 2, 1000, why, sizeof(why)), 0);
    peers_join(&p, 0);
    assert_int_equal(peers_may_connect(&p, &pol, 100, 3, 0, why, sizeof(why)), 0);
    peers_leave(&p, u[2]);
    peers_leave(&p, u[2]);
    peers_leave(&p, u[0]);
    assert_null(p.head);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_peers_record_lives_from_first_to_last_connection),
        cmocka_unit_test(test_peers_max_connections_binds_everyone),
        cmocka_unit_test(test_peers_reserved_connections_are_roots),
        cmocka_unit_test(test_peers_per_uid_connections_count_that_uids_own),
    };
    return testskip_exit(cmocka_run_group_tests(tests, NULL, NULL));
}
