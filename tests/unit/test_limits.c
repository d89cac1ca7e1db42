/* test_limits.c — the protocol limits: their values, the public header's mirror of
 * them, and that the largest legal reply still fits a response frame.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <sys/un.h>
#include <unistd.h>

#include <cmocka.h>

#include "codec.h"
#include "proto_limits.h"
#include "sharr.h"
#include "testskip.h"

static void test_limits_public_header_mirrors_protocol(void **state)
{
    (void)state;
    assert_int_equal(SHARR_NAME_MAX, PROTO_NAME_MAX);
    assert_int_equal(SHARR_NDIM_MAX, PROTO_NDIM_MAX);
    assert_int_equal(SHARR_DTYPE_MAX, PROTO_DTYPE_MAX);
    assert_int_equal(SHARR_DESCR_MAX, PROTO_DESCR_MAX);
    assert_int_equal(SHARR_PATH_MAX, PROTO_PATH_MAX);
    assert_int_equal(SHARR_SOCKET_MAX, sizeof(((struct sockaddr_un *)0)->sun_path));
    assert_int_equal(SHARR_NPY_HEADER_MAX, PROTO_DATA_OFFSET_MAX);
}

static void test_limits_have_their_documented_values(void **state)
{
    (void)state;
    assert_int_equal(PROTO_VERSION, 1);
    assert_int_equal(PROTO_NAME_MAX, 255);
    assert_int_equal(PROTO_NDIM_MAX, 64);
    assert_int_equal(PROTO_DTYPE_MAX, 31);
    assert_int_equal(PROTO_DESCR_MAX, 3584);
    assert_int_equal(PROTO_DESCR_DEPTH_MAX, 8);
    assert_int_equal(PROTO_DESCR_FIELDS_MAX, 256);
    assert_int_equal(PROTO_METHOD_MAX, 15);
    assert_int_equal(PROTO_TEXT_MAX, 255);
    assert_int_equal(PROTO_PATH_MAX, 1024);
    assert_int_equal(PROTO_REQUEST_MAX, 65536);
    assert_int_equal(PROTO_RESPONSE_MAX, 8 * 1024 * 1024);
    assert_int_equal(PROTO_DEPTH_MAX, 8);
    assert_int_equal(PROTO_LIST_PAGE_MAX, 1024);
    assert_int_equal(PROTO_LIST_PAGE_DEFAULT, 256);
    assert_true(PROTO_LIST_PAGE_DEFAULT <= PROTO_LIST_PAGE_MAX);
    assert_int_equal(PROTO_ARRAY_BYTES_MAX, 1ull << 62);
}

static void test_limits_data_offset_is_page_aligned(void **state)
{
    long page = sysconf(_SC_PAGESIZE);

    (void)state;
    assert_true(page > 0);
    assert_int_equal(PROTO_DATA_OFFSET % page, 0);
    assert_int_equal(PROTO_DATA_OFFSET % 64, 0); /* numpy aligns headers to 64 */
}

/* An adopted numpy file's data starts where its header ends: a multiple of 64, after
 * at most 12 bytes of preamble and the 10,000 bytes of text numpy allows. */
static void test_limits_data_offset_max_holds_any_npy_header(void **state)
{
    (void)state;
    assert_int_equal(PROTO_DATA_OFFSET_ALIGN, 64);
    assert_int_equal(PROTO_DATA_OFFSET_MAX, 16384);
    assert_int_equal(PROTO_DATA_OFFSET_MAX % PROTO_DATA_OFFSET_ALIGN, 0);
    assert_true(PROTO_DATA_OFFSET_MAX >= 12 + 10000);
    assert_true(PROTO_DATA_OFFSET <= PROTO_DATA_OFFSET_MAX);
}

/* A full list page of the largest metas, and a create request with the largest
 * fields, must fit their frames, or a legal exchange could be refused. */
static void test_limits_largest_messages_fit_their_frames(void **state)
{
    struct meta *m = calloc(1, sizeof(*m));
    const struct meta **ms = calloc(PROTO_LIST_PAGE_MAX, sizeof(*ms));
    struct codec_create *c = calloc(1, sizeof(*c));
    msgpack_sbuffer buf;

    (void)state;
    assert_non_null(m);
    assert_non_null(ms);
    assert_non_null(c);
    memset(m->name, 'n', PROTO_NAME_MAX);
    strcpy(m->dtype.str, "<U536870911");
    m->ndim = PROTO_NDIM_MAX;
    for (int i = 0; i < PROTO_NDIM_MAX; i++)
        m->shape[i] = UINT64_MAX;
    m->order = 'F';
    m->nbytes = UINT64_MAX;
    m->perm = 07777;
    m->uid = m->gid = m->nattached = UINT32_MAX;
    m->ctime_ns = INT64_MIN;
    memset(m->path, 'p', PROTO_PATH_MAX - 1);
    m->grown = UINT64_MAX;
    m->damaged = true;
    for (size_t i = 0; i < PROTO_LIST_PAGE_MAX; i++)
        ms[i] = m;
    /* Both forms; maps repeat every key and are the larger. */
    for (int table = 0; table < 2; table++) {
        msgpack_sbuffer_init(&buf);
        assert_int_equal(
            codec_pack_reply_list(&buf, UINT32_MAX, ms, PROTO_LIST_PAGE_MAX, true, table), 0);
        assert_true(buf.size <= PROTO_RESPONSE_MAX);
        msgpack_sbuffer_destroy(&buf);
    }

    memset(c->name, 'n', PROTO_NAME_MAX);
    strcpy(c->dtype.str, "<U536870911");
    c->ndim = PROTO_NDIM_MAX;
    for (int i = 0; i < PROTO_NDIM_MAX; i++)
        c->shape[i] = UINT64_MAX;
    msgpack_sbuffer_init(&buf);
    assert_int_equal(codec_pack_create(&buf, UINT32_MAX, c), 0);
    assert_true(buf.size <= PROTO_REQUEST_MAX);
    msgpack_sbuffer_destroy(&buf);
    free(c);
    free(ms);
    free(m);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_limits_public_header_mirrors_protocol),
        cmocka_unit_test(test_limits_have_their_documented_values),
        cmocka_unit_test(test_limits_data_offset_is_page_aligned),
        cmocka_unit_test(test_limits_data_offset_max_holds_any_npy_header),
        cmocka_unit_test(test_limits_largest_messages_fit_their_frames),
    };
    return testskip_exit(cmocka_run_group_tests(tests, NULL, NULL));
}
