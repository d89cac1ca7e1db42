/* test_sweep.c — the daemon's swept lists (daemon/sweep.c): batches that resume where
 * the last pass stopped so every array gets its turn, the uid filter, a drop that
 * moves the last array into the freed slot and says so, and a timer that runs only
 * while the list is not empty. On a real libuv loop; the arrays are plain records.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>
#include <uv.h>

#include "registry.h"
#include "sweep.h"
#include "testskip.h"

#define N 10

struct fixture {
    uv_loop_t loop;
    struct sweep s;
    struct registry_array arrays[N];
    unsigned looks[N];      /* looks at each array */
    size_t slot_of[N];      /* where the moved callback last put it */
    int drop_uid;           /* look drops the arrays of this uid (-1: none) */
    unsigned let_go;        /* arrays handed to let_go */
};

static struct fixture *fixture_now;

static void tick(uv_timer_t *t)
{
    (void)t;
}

static void moved(struct registry_array *a, size_t slot)
{
    fixture_now->slot_of[a - fixture_now->arrays] = slot;
}

static enum sweep_verdict look(void *ctx, struct registry_array *a)
{
    struct fixture *f = ctx;

    f->looks[a - f->arrays]++;
    return (int)a->meta.uid == f->drop_uid ? SWEEP_DROP : SWEEP_KEEP;
}

static void let_go(void *ctx, struct registry_array *a)
{
    struct fixture *f = ctx;

    assert_true(a >= f->arrays && a < f->arrays + N);
    f->let_go++;
}

static int setup(void **state)
{
    static struct fixture f;
    size_t slot;

    memset(&f, 0, sizeof(f));
    fixture_now = &f;
    f.drop_uid = -1;
    assert_int_equal(uv_loop_init(&f.loop), 0);
    sweep_init(&f.s, &f.loop, &f, tick, 1000, moved);
    assert_false(uv_is_active((uv_handle_t *)&f.s.timer));
    for (size_t i = 0; i < N; i++) {
        f.arrays[i].meta.uid = (uint32_t)(i % 2); /* even: uid 0, odd: uid 1 */
        assert_int_equal(sweep_add(&f.s, &f.arrays[i], &slot), 0);
        assert_int_equal(slot, i);
        f.slot_of[i] = slot;
    }
    assert_true(uv_is_active((uv_handle_t *)&f.s.timer));
    *state = &f;
    return 0;
}

static int teardown(void **state)
{
    struct fixture *f = *state;

    sweep_close(&f->s);
    sweep_close(&f->s); /* idempotent */
    uv_run(&f->loop, UV_RUN_DEFAULT);
    assert_int_equal(uv_loop_close(&f->loop), 0);
    return 0;
}

static void test_sweep_passes_resume_so_every_array_gets_its_turn(void **state)
{
    struct fixture *f = *state;

    sweep_pass(&f->s, SWEEP_ANY_UID, 4, look, let_go, f);
    sweep_pass(&f->s, SWEEP_ANY_UID, 4, look, let_go, f);
    for (size_t i = 0; i < N; i++)
        assert_int_equal(f->looks[i], i < 8 ? 1 : 0);
    sweep_pass(&f->s, SWEEP_ANY_UID, 4, look, let_go, f);
    for (size_t i = 0; i < N; i++)
        assert_int_equal(f->looks[i], i < 2 ? 2 : 1); /* 8, 9, then 0, 1 again */
    assert_int_equal(f->let_go, 0);
}

static void test_sweep_pass_looks_only_at_the_uid_asked_for(void **state)
{
    struct fixture *f = *state;

    sweep_pass(&f->s, 1, N, look, let_go, f);
    for (size_t i = 0; i < N; i++)
        assert_int_equal(f->looks[i], i % 2 == 1 ? 1 : 0);
}

static void test_sweep_drop_moves_the_last_array_into_the_slot_and_tells(void **state)
{
    struct fixture *f = *state;

    f->drop_uid = 0; /* the even ones go */
    sweep_pass(&f->s, SWEEP_ANY_UID, N, look, let_go, f);
    assert_int_equal(f->s.n, N / 2);
    assert_int_equal(f->let_go, N / 2);
    for (size_t i = 0; i < f->s.n; i++) {
        struct registry_array *a = f->s.items[i];

        assert_int_equal(a->meta.uid, 1);
        assert_int_equal(f->slot_of[a - f->arrays], i); /* told where it went */
    }
    /* Every array was looked at exactly once, the moved ones included. */
    for (size_t i = 0; i < N; i++)
        assert_int_equal(f->looks[i], 1);
    assert_true(uv_is_active((uv_handle_t *)&f->s.timer));
}

static void test_sweep_timer_stops_when_the_list_is_empty_and_starts_again(void **state)
{
    struct fixture *f = *state;
    size_t slot;

    while (f->s.n > 0)
        sweep_drop(&f->s, 0);
    assert_false(uv_is_active((uv_handle_t *)&f->s.timer));
    sweep_pass(&f->s, SWEEP_ANY_UID, N, look, let_go, f); /* nothing to look at */
    for (size_t i = 0; i < N; i++)
        assert_int_equal(f->looks[i], 0);
    assert_int_equal(sweep_add(&f->s, &f->arrays[3], &slot), 0);
    assert_int_equal(slot, 0);
    assert_true(uv_is_active((uv_handle_t *)&f->s.timer));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_sweep_passes_resume_so_every_array_gets_its_turn,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(test_sweep_pass_looks_only_at_the_uid_asked_for, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(
            test_sweep_drop_moves_the_last_array_into_the_slot_and_tells, setup, teardown),
        cmocka_unit_test_setup_teardown(
            test_sweep_timer_stops_when_the_list_is_empty_and_starts_again, setup, teardown),
    };
    return testskip_exit(cmocka_run_group_tests(tests, NULL, NULL));
}
