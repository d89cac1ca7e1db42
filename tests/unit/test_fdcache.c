/* test_fdcache.c — one connection's cache of descriptions (daemon/fdcache.c), built
 * from its one source file: what is put is found by (array, mode), the least recently
 * used entry is the one given up, take hands descriptors back, and every entry holds
 * exactly one reference to its array.
 *
 * The registry's reference count is all fdcache uses of it: registry_ref and
 * registry_unref here count on the test's arrays. No descriptor is opened (fdcache
 * never opens or closes one); the numbers stand for descriptors.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "fdcache.h"
#include "testskip.h"

void registry_ref(struct registry_array *a)
{
    a->refs++;
}

void registry_unref(struct registry_array *a)
{
    assert_true(a->refs > 0);
    a->refs--;
}

static void test_fdcache_finds_by_array_and_mode(void **state)
{
    (void)state;
    struct registry_array a = { .refs = 0 }, b = { .refs = 0 };
    struct fdcache fc;

    fdcache_init(&fc);
    assert_int_equal(fdcache_find(&fc, &a, META_MODE_R), -1);
    assert_int_equal(fdcache_put(&fc, &a, META_MODE_R, 100), -1);
    assert_int_equal(fdcache_put(&fc, &a, META_MODE_RPLUS, 101), -1);
    assert_int_equal(fdcache_put(&fc, &b, META_MODE_R, 102), -1);
    assert_int_equal(fdcache_find(&fc, &a, META_MODE_R), 100);
    assert_int_equal(fdcache_find(&fc, &a, META_MODE_RPLUS), 101);
    assert_int_equal(fdcache_find(&fc, &b, META_MODE_R), 102);
    assert_int_equal(fdcache_find(&fc, &b, META_MODE_RPLUS), -1);
    assert_int_equal(fdcache_find(&fc, &a, META_MODE_C), -1);
    assert_int_equal(a.refs, 2); /* one per entry */
    assert_int_equal(b.refs, 1);
    while (fdcache_take(&fc, NULL, NULL) >= 0)
        ;
    assert_int_equal(a.refs, 0);
    assert_int_equal(b.refs, 0);
}

/* Full: a put gives up the least recently used entry (a find counts as a use), hands
 * its descriptor back and drops its reference. */
static void test_fdcache_full_put_gives_up_least_recently_used(void **state)
{
    (void)state;
    struct registry_array arr[FDCACHE_SIZE + 1];
    struct fdcache fc;

    memset(arr, 0, sizeof(arr));
    fdcache_init(&fc);
    for (int i = 0; i < FDCACHE_SIZE; i++)
        assert_int_equal(fdcache_put(&fc, &arr[i], META_MODE_R, 200 + i), -1);
    /* Use every entry but the second again: the second is now the oldest. */
    for (int i = 0; i < FDCACHE_SIZE; i++)
        if (i != 1)
            assert_int_equal(fdcache_find(&fc, &arr[i], META_MODE_R), 200 + i);
    assert_int_equal(fdcache_put(&fc, &arr[FDCACHE_SIZE], META_MODE_R, 300), 201);
    assert_int_equal(arr[1].refs, 0);
    assert_int_equal(fdcache_find(&fc, &arr[1], META_MODE_R), -1);
    assert_int_equal(fdcache_find(&fc, &arr[FDCACHE_SIZE], META_MODE_R), 300);
    /* Then the first is the oldest of those left. */
    assert_int_equal(fdcache_put(&fc, &arr[1], META_MODE_RPLUS, 301), 200);
    assert_int_equal(arr[0].refs, 0);
    while (fdcache_take(&fc, NULL, NULL) >= 0)
        ;
    for (int i = 0; i <= FDCACHE_SIZE; i++)
        assert_int_equal(arr[i].refs, 0);
}

/* take of one array gives back each of its entries with its mode, and leaves the others. */
static void test_fdcache_take_gives_back_one_arrays_entries(void **state)
{
    (void)state;
    struct registry_array a = { .refs = 0 }, b = { .refs = 0 };
    enum meta_mode modes[2], mode;
    struct fdcache fc;
    int fds[2];

    fdcache_init(&fc);
    fdcache_put(&fc, &a, META_MODE_R, 10);
    fdcache_put(&fc, &b, META_MODE_R, 11);
    fdcache_put(&fc, &a, META_MODE_RPLUS, 12);
    for (int i = 0; i < 2; i++) {
        fds[i] = fdcache_take(&fc, &a, &modes[i]);
        assert_true(fds[i] >= 0);
    }
    assert_int_equal(fdcache_take(&fc, &a, &mode), -1);
    assert_true((fds[0] == 10 && modes[0] == META_MODE_R && fds[1] == 12
                 && modes[1] == META_MODE_RPLUS)
                || (fds[0] == 12 && modes[0] == META_MODE_RPLUS && fds[1] == 10
                    && modes[1] == META_MODE_R));
    assert_int_equal(a.refs, 0);
    assert_int_equal(b.refs, 1);
    assert_int_equal(fdcache_find(&fc, &b, META_MODE_R), 11);
    assert_int_equal(fdcache_take(&fc, NULL, &mode), 11);
    assert_int_equal(mode, META_MODE_R);
    assert_int_equal(fdcache_take(&fc, NULL, &mode), -1);
    assert_int_equal(b.refs, 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_fdcache_finds_by_array_and_mode),
        cmocka_unit_test(test_fdcache_full_put_gives_up_least_recently_used),
        cmocka_unit_test(test_fdcache_take_gives_back_one_arrays_entries),
    };
    return testskip_exit(cmocka_run_group_tests(tests, NULL, NULL));
}
