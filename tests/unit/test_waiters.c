/* test_waiters.c — opens waiting for a name (daemon/waiters.c), built from its one
 * source file on a private libuv loop: a wake answers exactly its name's waits, oldest
 * first, in later turns and at most WAITERS_BATCH per turn; a cancel answers only its
 * owner's, at once; deadlines answer -ETIMEDOUT; and the loop closes with nothing left.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "testskip.h"
#include "waiters.h"

/* What the "registry" holds: a name is found when it is in here. */
struct names {
    const char *present[4];
    int found_as; /* what a found name is answered with (its address) */
};

static void *names_lookup(void *arg, const char *name)
{
    struct names *n = arg;

    for (size_t i = 0; i < 4; i++)
        if (n->present[i] && strcmp(n->present[i], name) == 0)
            return &n->found_as;
    return NULL;
}

/* One waiter's answer. */
struct answer {
    int calls, err, order;
    void *found;
    char name[32];
};

static int answer_seq;

static void on_answer(void *arg, const char *name, void *found, int err)
{
    struct answer *a = arg;

    a->calls++;
    a->err = err;
    a->found = found;
    a->order = ++answer_seq;
    snprintf(a->name, sizeof(a->name), "%s", name);
}

static void loop_close(uv_loop_t *loop, struct waiters *ws)
{
    waiters_close(ws);
    assert_int_equal(uv_run(loop, UV_RUN_DEFAULT), 0);
    assert_int_equal(uv_loop_close(loop), 0); /* no handle left open */
}

static void test_waiters_wake_answers_its_names_waits_oldest_first_next_turn(void **state)
{
    (void)state;
    struct names names = { .present = { "a" } };
    struct waiters_owner owner = { 0 };
    struct answer ans[3] = { 0 };
    struct waiters ws;
    uv_loop_t loop;

    assert_int_equal(uv_loop_init(&loop), 0);
    waiters_init(&ws, &loop, names_lookup, &names);
    assert_int_equal(waiters_add(&ws, "a", -1, &owner, on_answer, &ans[0]), 0);
    assert_int_equal(waiters_add(&ws, "b", -1, &owner, on_answer, &ans[1]), 0);
    assert_int_equal(waiters_add(&ws, "a", -1, &owner, on_answer, &ans[2]), 0);
    assert_int_equal(owner.n, 3);
    waiters_wake(&ws, "a");
    assert_int_equal(ans[0].calls + ans[2].calls, 0); /* not during the wake */
    uv_run(&loop, UV_RUN_NOWAIT);
    assert_int_equal(ans[0].calls, 1);
    assert_int_equal(ans[2].calls, 1);
    assert_int_equal(ans[0].err, 0);
    assert_ptr_equal(ans[0].found, &names.found_as);
    assert_string_equal(ans[0].name, "a");
    assert_true(ans[0].order < ans[2].order);
    assert_int_equal(ans[1].calls, 0); /* another name's wait goes on */
    assert_int_equal(owner.n, 1);
    assert_int_equal(ws.n, 1);
    loop_close(&loop, &ws);
    assert_int_equal(ans[1].calls, 1);
    assert_int_equal(ans[1].err, -ECANCELED);
}

/* A wake of a name the lookup does not find (created, then gone again) answers nothing. */
static void test_waiters_wake_of_a_name_not_found_leaves_its_waits(void **state)
{
    (void)state;
    struct names names = { .present = { NULL } };
    struct waiters_owner owner = { 0 };
    struct answer ans = { 0 };
    struct waiters ws;
    uv_loop_t loop;

    assert_int_equal(uv_loop_init(&loop), 0);
    waiters_init(&ws, &loop, names_lookup, &names);
    assert_int_equal(waiters_add(&ws, "gone", -1, &owner, on_answer, &ans), 0);
    waiters_wake(&ws, "gone");
    for (int i = 0; i < 3; i++)
        uv_run(&loop, UV_RUN_NOWAIT);
    assert_int_equal(ans.calls, 0);
    assert_int_equal(owner.n, 1);
    loop_close(&loop, &ws);
    assert_int_equal(ans.err, -ECANCELED);
}

/* A cancel answers every wait of its owner at once, and only those; the shared count
 * of the owner's group follows. */
static void test_waiters_cancel_answers_only_its_owners_waits_at_once(void **state)
{
    (void)state;
    struct names names = { .present = { NULL } };
    uint64_t group = 0;
    struct waiters_owner mine = { .shared = &group }, theirs = { .shared = &group };
    struct answer ans[4] = { 0 };
    struct waiters ws;
    uv_loop_t loop;

    assert_int_equal(uv_loop_init(&loop), 0);
    waiters_init(&ws, &loop, names_lookup, &names);
    assert_int_equal(waiters_add(&ws, "x", -1, &mine, on_answer, &ans[0]), 0);
    assert_int_equal(waiters_add(&ws, "x", 60000, &theirs, on_answer, &ans[1]), 0);
    assert_int_equal(waiters_add(&ws, "y", 60000, &mine, on_answer, &ans[2]), 0);
    assert_int_equal(waiters_add(&ws, "y", -1, &theirs, on_answer, &ans[3]), 0);
    assert_int_equal(group, 4);
    waiters_cancel(&ws, &mine);
    assert_int_equal(ans[0].calls, 1);
    assert_int_equal(ans[2].calls, 1);
    assert_int_equal(ans[0].err, -ECANCELED);
    assert_int_equal(ans[2].err, -ECANCELED);
    assert_int_equal(ans[1].calls + ans[3].calls, 0);
    assert_int_equal(mine.n, 0);
    assert_int_equal(theirs.n, 2);
    assert_int_equal(group, 2);
    assert_int_equal(ws.n, 2);
    loop_close(&loop, &ws);
    assert_int_equal(group, 0);
}

/* A deadline answers -ETIMEDOUT; a wait without one is left, and the loop ends once
 * no deadline is pending. */
static void test_waiters_deadline_answers_etimedout(void **state)
{
    (void)state;
    struct names names = { .present = { NULL } };
    struct waiters_owner owner = { 0 };
    struct answer soon = { 0 }, forever = { 0 };
    struct waiters ws;
    uv_loop_t loop;

    assert_int_equal(uv_loop_init(&loop), 0);
    waiters_init(&ws, &loop, names_lookup, &names);
    assert_int_equal(waiters_add(&ws, "late", 1, &owner, on_answer, &soon), 0);
    assert_int_equal(waiters_add(&ws, "late", -1, &owner, on_answer, &forever), 0);
    uv_run(&loop, UV_RUN_DEFAULT);
    assert_int_equal(soon.calls, 1);
    assert_int_equal(soon.err, -ETIMEDOUT);
    assert_null(soon.found);
    assert_int_equal(forever.calls, 0);
    assert_int_equal(owner.n, 1);
    loop_close(&loop, &ws);
    assert_int_equal(forever.err, -ECANCELED);
}

/* More woken waits than WAITERS_BATCH: no turn answers more than WAITERS_BATCH, and
 * every one is answered once, in order. */
static void test_waiters_wake_answers_at_most_a_batch_per_turn(void **state)
{
    (void)state;
    enum { N = 2 * WAITERS_BATCH + 100 };
    static struct answer ans[N];
    struct names names = { .present = { "many" } };
    struct waiters_owner owner = { 0 };
    struct waiters ws;
    uv_loop_t loop;
    int answered = 0, turns = 0;

    memset(ans, 0, sizeof(ans));
    assert_int_equal(uv_loop_init(&loop), 0);
    waiters_init(&ws, &loop, names_lookup, &names);
    for (int i = 0; i < N; i++)
        assert_int_equal(waiters_add(&ws, "many", -1, &owner, on_answer, &ans[i]), 0);
    waiters_wake(&ws, "many");
    while (answered < N && turns < 100) {
        int before = answered;

        uv_run(&loop, UV_RUN_NOWAIT);
        turns++;
        answered = 0;
        for (int i = 0; i < N; i++)
            answered += ans[i].calls;
        assert_true(answered - before <= WAITERS_BATCH);
    }
    assert_int_equal(answered, N);
    assert_true(turns >= 3);
    for (int i = 0; i < N; i++) {
        assert_int_equal(ans[i].calls, 1);
        if (i > 0)
            assert_true(ans[i - 1].order < ans[i].order);
    }
    loop_close(&loop, &ws);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_waiters_wake_answers_its_names_waits_oldest_first_next_turn),
        cmocka_unit_test(test_waiters_wake_of_a_name_not_found_leaves_its_waits),
        cmocka_unit_test(test_waiters_cancel_answers_only_its_owners_waits_at_once),
        cmocka_unit_test(test_waiters_deadline_answers_etimedout),
        cmocka_unit_test(test_waiters_wake_answers_at_most_a_batch_per_turn),
    };
    return testskip_exit(cmocka_run_group_tests(tests, NULL, NULL));
}
