/* test_quota.c — the daemon's counts of arrays, bytes and volatile memory per owner
 * (daemon/quota.c), built from its one source file: each limit refuses with its own
 * error and flag at the count it names, uid 0 is held only to the totals, and what is
 * charged is given back exactly.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "quota.h"
#include "testskip.h"

static const struct quota_cost one_kib = { .bytes = 1024, .memory = 0 };

static void test_quota_max_arrays_refuses_the_one_past_it(void **state)
{
    (void)state;
    struct policy p = { .max_arrays = 2 };
    struct quota q;
    char err[256] = "";

    quota_init(&q);
    for (int i = 0; i < 2; i++) {
        assert_int_equal(quota_check(&q, &p, 1000, one_kib, err, sizeof(err)), 0);
        assert_int_equal(quota_charge(&q, 1000 + (uint32_t)i, one_kib), 0);
    }
    assert_int_equal(quota_check(&q, &p, 1002, one_kib, err, sizeof(err)), -ENOSPC);
    assert_non_null(strstr(err, "--max-arrays"));
    /* The total binds root too. */
    assert_int_equal(quota_check(&q, &p, 0, one_kib, err, sizeof(err)), -ENOSPC);
    quota_release(&q, 1001, one_kib);
    assert_int_equal(quota_check(&q, &p, 1002, one_kib, err, sizeof(err)), 0);
    quota_close(&q);
}

/* A per-uid limit is that uid's (EDQUOT), counts only its arrays, and spares uid 0. */
static void test_quota_per_uid_limits_are_edquot_and_spare_root(void **state)
{
    (void)state;
    struct policy p = { .max_arrays_per_uid = 1, .max_bytes_per_uid = 4096 };
    struct quota q;
    char err[256] = "";

    quota_init(&q);
    assert_int_equal(quota_charge(&q, 1000, one_kib), 0);
    assert_int_equal(quota_check(&q, &p, 1000, one_kib, err, sizeof(err)), -EDQUOT);
    assert_non_null(strstr(err, "--max-arrays-per-uid"));
    assert_int_equal(quota_check(&q, &p, 1001, one_kib, err, sizeof(err)), 0);
    assert_int_equal(quota_check(&q, &p, 1001, (struct quota_cost){ .bytes = 4097 }, err,
                                 sizeof(err)), -EDQUOT);
    assert_non_null(strstr(err, "--max-bytes-per-uid"));
    assert_int_equal(quota_check(&q, &p, 1001, (struct quota_cost){ .bytes = 4096 }, err,
                                 sizeof(err)), 0);
    assert_int_equal(quota_charge(&q, 0, one_kib), 0);
    assert_int_equal(quota_check(&q, &p, 0, (struct quota_cost){ .bytes = 1 << 20 }, err,
                                 sizeof(err)), 0);
    quota_close(&q);
}

/* Volatile memory is checked only for what has memory, against the total and the uid's. */
static void test_quota_volatile_memory_limits_apply_to_volatile_arrays(void **state)
{
    (void)state;
    struct policy p = { .max_volatile_bytes = 8192, .max_volatile_bytes_per_uid = 4096 };
    struct quota_cost page = { .bytes = 100, .memory = 4096 };
    struct quota q;
    char err[256] = "";

    quota_init(&q);
    assert_int_equal(quota_charge(&q, 1000, page), 0);
    assert_int_equal(quota_check(&q, &p, 1000, page, err, sizeof(err)), -EDQUOT);
    assert_non_null(strstr(err, "--max-volatile-bytes-per-uid"));
    assert_int_equal(quota_check(&q, &p, 1000, one_kib, err, sizeof(err)), 0); /* on disk */
    assert_int_equal(quota_charge(&q, 1001, page), 0);
    assert_int_equal(quota_check(&q, &p, 1002, page, err, sizeof(err)), -ENOSPC);
    assert_non_null(strstr(err, "--max-volatile-bytes)"));
    quota_close(&q);
}

/* A uid already over its bytes (its files grew) is refused even a create of nothing. */
static void test_quota_uid_over_its_bytes_is_refused_an_empty_create(void **state)
{
    (void)state;
    struct policy p = { .max_bytes_per_uid = 1000 };
    struct quota q;
    char err[256] = "";

    quota_init(&q);
    assert_int_equal(quota_charge(&q, 1000, (struct quota_cost){ .bytes = 500 }), 0);
    quota_recharge(&q, 1000, (struct quota_cost){ .bytes = 500 },
                   (struct quota_cost){ .bytes = 1500 });
    assert_int_equal(quota_of(&q, 1000).bytes, 1500);
    assert_int_equal(quota_of(&q, 1000).arrays, 1);
    assert_int_equal(quota_check(&q, &p, 1000, (struct quota_cost){ 0 }, err, sizeof(err)),
                     -EDQUOT);
    quota_close(&q);
}

/* Many owners charged and released in another order: every count returns to zero and
 * an owner with no array left is forgotten. */
static void test_quota_charges_and_releases_balance(void **state)
{
    (void)state;
    enum { UIDS = 40 };
    struct quota q;

    quota_init(&q);
    for (uint32_t u = 0; u < UIDS; u++)
        for (uint32_t k = 0; k <= u % 3; k++)
            assert_int_equal(quota_charge(&q, 1000 + u, (struct quota_cost){ .bytes = u + 1,
                                                                            .memory = 4096 }),
                             0);
    assert_int_equal(q.n, UIDS);
    assert_int_equal(quota_of(&q, 1005).arrays, 5 % 3 + 1); /* uid 1000 + u has u % 3 + 1 */
    for (uint32_t u = UIDS; u-- > 0;)
        for (uint32_t k = 0; k <= u % 3; k++)
            quota_release(&q, 1000 + u, (struct quota_cost){ .bytes = u + 1, .memory = 4096 });
    assert_int_equal(q.arrays, 0);
    assert_int_equal(q.bytes, 0);
    assert_int_equal(q.memory, 0);
    assert_int_equal(q.n, 0);
    assert_int_equal(quota_of(&q, 1003).arrays, 0);
    quota_close(&q);
}

/* A volatile array costs its header and data in whole pages; a persistent one no memory. */
static void test_quota_cost_of_counts_whole_pages_of_volatile_arrays(void **state)
{
    (void)state;
    uint64_t page = (uint64_t)sysconf(_SC_PAGESIZE);
    struct meta m;

    memset(&m, 0, sizeof(m));
    m.offset = 4096;
    m.nbytes = 1;
    m.grown = 7;
    assert_int_equal(quota_cost_of(&m).bytes, 8);
    assert_int_equal(quota_cost_of(&m).memory, (4097 + page - 1) / page * page);
    m.persist = true;
    assert_int_equal(quota_cost_of(&m).memory, 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_quota_max_arrays_refuses_the_one_past_it),
        cmocka_unit_test(test_quota_per_uid_limits_are_edquot_and_spare_root),
        cmocka_unit_test(test_quota_volatile_memory_limits_apply_to_volatile_arrays),
        cmocka_unit_test(test_quota_uid_over_its_bytes_is_refused_an_empty_create),
        cmocka_unit_test(test_quota_charges_and_releases_balance),
        cmocka_unit_test(test_quota_cost_of_counts_whole_pages_of_volatile_arrays),
    };
    return testskip_exit(cmocka_run_group_tests(tests, NULL, NULL));
}
