/* keeper.c — a known array that error tests check stays intact.
 *
 * "keep" is a <i4 array of KEEPER_N elements holding i * 7 + 1; it is checked
 * through the creator's mapping, a stat on the creator's connection, and an open
 * on a brand new connection, so a daemon that lost state or stopped accepting shows.
 */
#include "keeper.h"

#include <signal.h>
#include <string.h>

void keeper_start(struct keeper *k, struct harness *h)
{
    k->h = h;
    k->conn = harness_connect(h);
    k->arr = NULL;
    const uint64_t shape[1] = { KEEPER_N };
    assert_rc(sharr_create(k->conn, KEEPER_NAME, "<i4", 1, shape, NULL, &k->arr), 0);
    int32_t *v = sharr_array_data(k->arr);
    for (uint32_t i = 0; i < KEEPER_N; i++)
        v[i] = (int32_t)(i * 7 + 1);
}

static void keeper_assert_pattern(const int32_t *v)
{
    assert_non_null(v);
    for (uint32_t i = 0; i < KEEPER_N; i++)
        assert_int_equal(v[i], i * 7 + 1);
}

void keeper_check(const struct keeper *k)
{
    assert_int_equal(kill(k->h->daemon, 0), 0);
    struct sharr_info info;
    assert_rc(sharr_stat(k->conn, KEEPER_NAME, &info), 0);
    assert_string_equal(info.dtype, "<i4");
    assert_int_equal(info.ndim, 1);
    assert_int_equal(info.shape[0], KEEPER_N);
    keeper_assert_pattern(sharr_array_data(k->arr));

    sharr_t *fresh = harness_connect(k->h);
    sharr_array_t *arr = NULL;
    assert_rc(sharr_open(fresh, KEEPER_NAME, "r", NULL, &arr), 0);
    keeper_assert_pattern(sharr_array_data(arr));
    assert_rc(sharr_close(arr), 0);
    sharr_disconnect(fresh);
}

void keeper_stop(struct keeper *k)
{
    assert_rc(sharr_close(k->arr), 0);
    sharr_disconnect(k->conn);
    k->arr = NULL;
    k->conn = NULL;
}
