/* test_membudget.c — the daemon's MemAvailable check of volatile creates
 * (daemon/memstore.c): grants stay counted until their create is done.
 *
 * Only the bookkeeping runs here; nothing is allocated.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "memstore.h"
#include "testskip.h"

static uint64_t mem_available(void)
{
    unsigned long long kib = 0;
    char line[128];
    FILE *f = fopen("/proc/meminfo", "re");
    assert_non_null(f);
    while (fgets(line, sizeof line, f))
        if (sscanf(line, "MemAvailable: %llu kB", &kib) == 1)
            break;
    fclose(f);
    return (uint64_t)kib * 1024;
}

/* Three creates of 5/8 of MemAvailable, none finished: only one is granted, however
 * often /proc/meminfo is read again in between. */
static void test_grants_in_flight_survive_a_new_reading(void **state)
{
    (void)state;
    struct memstore_budget b = { 0 };
    uint64_t avail = mem_available(), each = avail / 8 * 5, granted = 0;
    char err[256];
    for (int i = 0; i < 3; i++)
        if (memstore_budget_take(&b, each, 1 + (uint64_t)i * 2000000000ull, err, sizeof err) == 0)
            granted += each;
    assert_true(granted <= avail + avail / 10);
}

/* A grant done gives its bytes back at the next reading; what is not done stays. */
static void test_done_grants_count_again_only_once_allocated(void **state)
{
    (void)state;
    struct memstore_budget b = { 0 };
    uint64_t avail = mem_available(), each = avail / 8 * 5;
    char err[256];
    assert_int_equal(memstore_budget_take(&b, each, 1, err, sizeof err), 0);
    assert_int_equal(memstore_budget_take(&b, each, 2, err, sizeof err), -ENOSPC);
    assert_non_null(strstr(err, "MemAvailable"));
    memstore_budget_done(&b, each);
    /* Nothing was allocated here, so a new reading has it all again. */
    assert_int_equal(memstore_budget_take(&b, each, 3000000000ull, err, sizeof err), 0);
    assert_int_equal(b.running, each);
    memstore_budget_done(&b, each);
    assert_int_equal(b.running, 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_grants_in_flight_survive_a_new_reading),
        cmocka_unit_test(test_done_grants_count_again_only_once_allocated),
    };
    return testskip_exit(cmocka_run_group_tests(tests, NULL, NULL));
}
