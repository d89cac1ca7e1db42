/* test_fork.c — children forked from a client keep working through what they inherit.
 *
 * Four workers write through the mapping they inherited and through mappings they
 * open themselves with the parent's sharr_t, which must open a fresh connection in the
 * child rather than talk on the parent's socket. Closing an inherited array in a child
 * only unmaps it there; the parent's attachment and connection are untouched.
 */
#include <string.h>

#include "harness.h"
#include "testskip.h"

#define WORKERS 4
#define REGION 4096u

struct fork_ctx {
    sharr_t *conn;        /* the parent's connection, inherited */
    sharr_array_t *arr;   /* the parent's attachment, inherited */
    int id;
};

static int64_t value(int id, int via, uint32_t k)
{
    return (int64_t)id * 1000000 + (int64_t)k * (via == 0 ? 1 : -1);
}

static int fork_worker(int rfd, int wfd, void *arg)
{
    (void)rfd;
    (void)wfd;
    const struct fork_ctx *ctx = arg;
    int id = ctx->id;

    /* Region [id][0] through the inherited mapping. */
    int64_t *inherited = sharr_array_data(ctx->arr);
    CHILD_CHECK(inherited != NULL);
    for (uint32_t k = 0; k < REGION; k++)
        inherited[((uint64_t)id * 2 + 0) * REGION + k] = value(id, 0, k);

    /* Region [id][1] through a mapping opened on the parent's sharr_t. */
    sharr_array_t *fresh = NULL;
    CHILD_CHECK(sharr_open(ctx->conn, "forked", "r+", NULL, &fresh) == 0);
    const struct sharr_info *info = sharr_array_info(fresh);
    CHILD_CHECK(info->ndim == 3 && info->shape[0] == WORKERS && info->shape[2] == REGION);
    int64_t *mine = sharr_array_data(fresh);
    CHILD_CHECK(mine != NULL);
    for (uint32_t k = 0; k < REGION; k++)
        mine[((uint64_t)id * 2 + 1) * REGION + k] = value(id, 1, k);
    /* Both mappings are the same pages. */
    CHILD_CHECK(mine[(uint64_t)id * 2 * REGION + 5] == value(id, 0, 5));
    CHILD_CHECK(inherited[((uint64_t)id * 2 + 1) * REGION + 5] == value(id, 1, 5));

    struct sharr_info st;
    CHILD_CHECK(sharr_stat(ctx->conn, "forked", &st) == 0);
    CHILD_CHECK(sharr_close(fresh) == 0);
    CHILD_CHECK(sharr_close(ctx->arr) == 0);
    /* A round trip after the release notification: the daemon has applied it when
     * this child reports done, so the parent's count right after is exact. */
    CHILD_CHECK(sharr_stat(ctx->conn, "forked", &st) == 0);
    sharr_disconnect(ctx->conn);
    return 0;
}

static void test_fork_workers_write_through_inherited_and_fresh_mappings(void **state)
{
    struct harness *h = *state;
    sharr_t *conn = harness_connect(h);
    const uint64_t shape[3] = { WORKERS, 2, REGION };
    sharr_array_t *arr = NULL;
    assert_rc(sharr_create(conn, "forked", "<i8", 3, shape, NULL, &arr), 0);
    /* Use the connection before forking, so the children inherit a live one. */
    struct sharr_info info;
    assert_rc(sharr_stat(conn, "forked", &info), 0);
    assert_int_equal(info.nattached, 1);

    struct fork_ctx ctx[WORKERS];
    struct harness_child workers[WORKERS];
    for (int i = 0; i < WORKERS; i++) {
        ctx[i] = (struct fork_ctx){ conn, arr, i };
        harness_child_start(h, &workers[i], fork_worker, &ctx[i]);
    }
    for (int i = 0; i < WORKERS; i++)
        assert_int_equal(harness_child_wait(h, &workers[i]), 0);

    const int64_t *d = sharr_array_data(arr);
    for (int id = 0; id < WORKERS; id++)
        for (int via = 0; via < 2; via++)
            for (uint32_t k = 0; k < REGION; k++)
                assert_int_equal(d[((uint64_t)id * 2 + (uint64_t)via) * REGION + k],
                                 value(id, via, k));

    /* The children released only their own attachments: the parent's one remains, and
     * the parent's connection still answers in step. */
    assert_rc(sharr_stat(conn, "forked", &info), 0);
    assert_int_equal(info.nattached, 1);
    assert_int_equal(harness_stats(conn).attachments, 1);
    assert_rc(sharr_close(arr), 0);
    assert_rc(sharr_stat(conn, "forked", &info), 0);
    assert_int_equal(info.nattached, 0);
    sharr_disconnect(conn);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(
            test_fork_workers_write_through_inherited_and_fresh_mappings, harness_setup,
            harness_teardown),
    };
    return testskip_exit(cmocka_run_group_tests(tests, NULL, NULL));
}
