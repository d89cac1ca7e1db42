/* test_attachments.c — the table of one connection's attachments (daemon/attachments.c),
 * built from its one source file: handles are found and taken whatever their number,
 * a taken one is gone, and a walk sees each attachment held exactly once.
 */
#include <errno.h>
#include <stdbool.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "attachments.h"
#include "testskip.h"

static struct registry_attach att_of(uint64_t handle)
{
    /* The array pointer is only carried, never followed: a distinct value per handle
     * shows that take hands back the attachment it was given. */
    return (struct registry_attach){ .handle = handle,
                                     .array = (struct registry_array *)(uintptr_t)(handle * 16),
                                     .mode = handle % 2 ? META_MODE_RPLUS : META_MODE_R,
                                     .since_ns = (int64_t)handle };
}

static void test_attachments_find_and_take_what_was_added(void **state)
{
    (void)state;
    struct attachments t = { 0 };
    struct registry_attach a = att_of(7), got;

    assert_null(attachments_find(&t, 7));
    assert_int_equal(attachments_add(&t, &a), 0);
    assert_int_equal(t.n, 1);
    assert_non_null(attachments_find(&t, 7));
    assert_int_equal(attachments_find(&t, 7)->mode, META_MODE_RPLUS);
    assert_null(attachments_find(&t, 8));
    assert_int_equal(attachments_take(&t, 7, &got), 0);
    assert_memory_equal(&got, &a, sizeof(a));
    assert_int_equal(t.n, 0);
    assert_null(attachments_find(&t, 7));
    attachments_free(&t);
}

static void test_attachments_take_of_unknown_handle_is_ebadf(void **state)
{
    (void)state;
    struct attachments t = { 0 };
    struct registry_attach a = att_of(3), got = att_of(99);

    assert_int_equal(attachments_take(&t, 3, &got), -EBADF); /* empty table */
    assert_int_equal(attachments_add(&t, &a), 0);
    assert_int_equal(attachments_take(&t, 4, &got), -EBADF);
    assert_int_equal(got.handle, 99); /* untouched on failure */
    assert_int_equal(attachments_take(&t, 3, &got), 0);
    assert_int_equal(attachments_take(&t, 3, &got), -EBADF); /* taken once only */
    attachments_free(&t);
}

/* Thousands of handles, taken out in another order than they came: each is found
 * until taken and never after, the count is right throughout, the table grows to
 * hold them at most half full and shrinks as they go. */
static void test_attachments_many_handles_grow_and_shrink_the_table(void **state)
{
    (void)state;
    enum { N = 5000 };
    struct attachments t = { 0 };
    struct registry_attach got;
    size_t most = 0;

    for (uint64_t h = 1; h <= N; h++) {
        struct registry_attach a = att_of(h * 977); /* spread, with collisions */
        assert_int_equal(attachments_add(&t, &a), 0);
        assert_true(t.n * 2 <= t.cap);
    }
    assert_int_equal(t.n, N);
    most = t.cap;
    for (uint64_t h = N; h >= 2; h -= 2) { /* the even ones, from the end */
        assert_int_equal(attachments_take(&t, h * 977, &got), 0);
        assert_int_equal(got.handle, h * 977);
        assert_ptr_equal(got.array, att_of(h * 977).array);
    }
    assert_int_equal(t.n, N / 2);
    for (uint64_t h = 1; h <= N; h++) {
        const struct registry_attach *f = attachments_find(&t, h * 977);
        if (h % 2 == 0)
            assert_null(f);
        else
            assert_non_null(f);
    }
    for (uint64_t h = 1; h <= N; h++)
        attachments_take(&t, h * 977, &got);
    assert_int_equal(t.n, 0);
    assert_true(t.cap < most);
    attachments_free(&t);
    assert_int_equal(t.cap, 0);
}

/* A walk (what conn_close detaches) meets every attachment held once, and none taken. */
static void test_attachments_walk_sees_each_held_once(void **state)
{
    (void)state;
    enum { N = 300 };
    struct attachments t = { 0 };
    const struct registry_attach *a;
    struct registry_attach got;
    unsigned seen[N + 1] = { 0 };
    size_t pos = 0, n = 0;

    for (uint64_t h = 1; h <= N; h++) {
        struct registry_attach x = att_of(h);
        assert_int_equal(attachments_add(&t, &x), 0);
    }
    for (uint64_t h = 1; h <= N; h += 3)
        assert_int_equal(attachments_take(&t, h, &got), 0);
    while ((a = attachments_next(&t, &pos))) {
        assert_true(a->handle >= 1 && a->handle <= N);
        seen[a->handle]++;
        n++;
    }
    assert_int_equal(n, t.n);
    for (uint64_t h = 1; h <= N; h++)
        assert_int_equal(seen[h], (h - 1) % 3 == 0 ? 0 : 1);
    attachments_free(&t);
}

/* Adds and takes mixed at random over a few handles, so probe runs collide, wrap and
 * are cut by removals: the table always agrees with a plain list of what is held. */
static void test_attachments_agree_with_a_list_through_mixed_adds_and_takes(void **state)
{
    (void)state;
    enum { HANDLES = 600, STEPS = 60000 };
    static bool held[HANDLES + 1];
    struct attachments t = { 0 };
    struct registry_attach got;
    uint64_t x = 88172645463325252ull;
    size_t n = 0;

    memset(held, 0, sizeof(held));
    for (int step = 0; step < STEPS; step++) {
        uint64_t h;

        x ^= x << 13; /* xorshift64: the same sequence every run */
        x ^= x >> 7;
        x ^= x << 17;
        h = 1 + x % HANDLES;
        if (held[h]) {
            assert_int_equal(attachments_take(&t, h, &got), 0);
            assert_int_equal(got.handle, h);
            held[h] = false;
            n--;
        } else {
            struct registry_attach a = att_of(h);
            assert_int_equal(attachments_add(&t, &a), 0);
            held[h] = true;
            n++;
        }
        assert_int_equal(t.n, n);
        if (step % 500 == 0)
            for (uint64_t k = 1; k <= HANDLES; k++)
                assert_true((attachments_find(&t, k) != NULL) == held[k]);
    }
    attachments_free(&t);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_attachments_find_and_take_what_was_added),
        cmocka_unit_test(test_attachments_take_of_unknown_handle_is_ebadf),
        cmocka_unit_test(test_attachments_many_handles_grow_and_shrink_the_table),
        cmocka_unit_test(test_attachments_walk_sees_each_held_once),
        cmocka_unit_test(test_attachments_agree_with_a_list_through_mixed_adds_and_takes),
    };
    return testskip_exit(cmocka_run_group_tests(tests, NULL, NULL));
}
