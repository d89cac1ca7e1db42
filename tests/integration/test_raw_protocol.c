/* test_raw_protocol.c — the daemon's own handling of the wire, on a plain socket.
 *
 * Requests the client library would never send (unknown methods, bad envelopes, wrong
 * types, invalid values), hostile bytes (0xc1, a 2^32-1 element header, frames over
 * the limit, deep nesting, truncation) and the framing rules (pipelining, byte by
 * byte delivery, a descriptor on the first byte of its reply). After each case the
 * keeper checks the daemon still serves with its arrays intact.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "codec.h"
#include "keeper.h"
#include "proto_limits.h"
#include "npy.h"
#include "rawconn.h"
#include "testskip.h"

/* The keeper's stat on this raw connection answers, with the keeper's shape. */
static void expect_stat_keeper(struct rawconn *rc, uint32_t msgid)
{
    rawconn_send_name(rc, msgid, "stat", KEEPER_NAME);
    const msgpack_object *result = NULL;
    rawconn_expect_reply(rc, msgid, NULL, &result);
    struct meta m;
    char err[256] = "";
    assert_int_equal(codec_parse_reply_stat(result, &m, err, sizeof err), 0);
    assert_string_equal(m.name, KEEPER_NAME);
    assert_int_equal(m.shape[0], KEEPER_N);
}

/* What most cases work with: the keeper, which checks after the case that the daemon
 * still serves with its array intact, and a raw connection that has said hello. */
struct raw_case {
    struct keeper k;
    struct rawconn rc;
};

/* Start the keeper and open the connection, chunk bytes a read, with or without hello. */
static void raw_case_start_as(struct raw_case *t, void **state, size_t chunk, bool hello)
{
    keeper_start(&t->k, *state);
    rawconn_open(&t->rc, t->k.h->sock, chunk);
    if (hello)
        rawconn_hello(&t->rc, 1);
}

static void raw_case_start(struct raw_case *t, void **state)
{
    raw_case_start_as(t, state, 4096, true);
}

/* Close the connection (if the case has not), check the keeper and stop it. */
static void raw_case_finish(struct raw_case *t)
{
    rawconn_close(&t->rc);
    keeper_check(&t->k);
    keeper_stop(&t->k);
}

/* The keeper's array has n attachments, as the library's stat reports them. */
static void expect_keeper_attached(struct keeper *k, uint32_t n)
{
    struct sharr_info info;
    assert_rc(sharr_stat(k->conn, KEEPER_NAME, &info), 0);
    assert_int_equal(info.nattached, n);
}

static void test_raw_hello_reports_the_protocol_limits(void **state)
{
    struct raw_case t;
    raw_case_start_as(&t, state, 4096, false);
    msgpack_sbuffer sb;
    msgpack_sbuffer_init(&sb);
    struct codec_hello hello = { .version = PROTO_VERSION };
    strcpy(hello.client, "raw");
    assert_int_equal(codec_pack_hello(&sb, 1, &hello), 0);
    rawconn_send_sbuf(&t.rc, &sb);
    msgpack_sbuffer_destroy(&sb);
    const msgpack_object *result = NULL;
    rawconn_expect_reply(&t.rc, 1, NULL, &result);
    struct codec_hello_reply reply;
    char err[256] = "";
    assert_int_equal(codec_parse_reply_hello(result, &reply, err, sizeof err), 0);
    assert_int_equal(reply.version, PROTO_VERSION);
    assert_int_equal(reply.pid, t.k.h->daemon);
    assert_int_equal(reply.max_name, PROTO_NAME_MAX);
    assert_int_equal(reply.max_ndim, PROTO_NDIM_MAX);
    assert_int_equal(reply.max_request, PROTO_REQUEST_MAX);
    assert_int_equal(reply.list_page_max, PROTO_LIST_PAGE_MAX);
    struct sharr_server server;
    assert_rc(sharr_server_info(t.k.conn, &server), 0);
    assert_int_equal(server.pid, t.k.h->daemon);
    assert_int_equal(server.max_request, PROTO_REQUEST_MAX);
    raw_case_finish(&t);
}

static void test_raw_unknown_method_is_enosys(void **state)
{
    struct raw_case t;
    raw_case_start(&t, state);
    msgpack_sbuffer sb;
    msgpack_packer pk;
    rawconn_request_begin(&sb, &pk, 5, "frobnicate");
    msgpack_pack_map(&pk, 0);
    rawconn_send_sbuf(&t.rc, &sb);
    rawconn_expect_reply(&t.rc, 5, "ENOSYS", NULL);
    /* The connection goes on. */
    expect_stat_keeper(&t.rc, 6);
    msgpack_sbuffer_destroy(&sb);
    raw_case_finish(&t);
}

/* Sends sb's bytes (cleared after) after hello on a connection of its own and expects
 * success (want NULL) or the error code want in reply to msgid. */
static void expect_reply_on_new_connection(struct keeper *k, msgpack_sbuffer *sb,
                                           uint32_t msgid, const char *want)
{
    struct rawconn rc;
    rawconn_open_hello(&rc, k->h->sock, 4096);
    rawconn_send_sbuf(&rc, sb);
    rawconn_expect_reply(&rc, msgid, want, NULL);
    rawconn_close(&rc);
}

static void test_raw_malformed_envelope_with_msgid_is_ebadmsg(void **state)
{
    struct keeper k;
    keeper_start(&k, *state);
    msgpack_sbuffer sb;
    msgpack_sbuffer_init(&sb);
    msgpack_packer pk;
    msgpack_packer_init(&pk, &sb, msgpack_sbuffer_write);

    /* The method is not a string. */
    msgpack_pack_array(&pk, 4);
    msgpack_pack_uint32(&pk, 0);
    msgpack_pack_uint32(&pk, 7);
    msgpack_pack_uint32(&pk, 42);
    msgpack_pack_array(&pk, 0);
    expect_reply_on_new_connection(&k, &sb, 7, "EBADMSG");

    /* A request of three elements. */
    msgpack_pack_array(&pk, 3);
    msgpack_pack_uint32(&pk, 0);
    msgpack_pack_uint32(&pk, 8);
    rawconn_pack_str(&pk, "stats");
    expect_reply_on_new_connection(&k, &sb, 8, "EBADMSG");

    /* Params that are an array holding an array, not a map. */
    rawconn_pack_request_head(&pk, 9, "create");
    msgpack_pack_array(&pk, 2);
    rawconn_pack_str(&pk, "typed");
    rawconn_pack_str(&pk, "<f4");
    expect_reply_on_new_connection(&k, &sb, 9, "EBADMSG");

    msgpack_sbuffer_destroy(&sb);
    keeper_check(&k);
    keeper_stop(&k);
}

/* Sends create with the params map built by fn and expects error code want. */
typedef void params_fn(msgpack_packer *pk);

static void expect_create_error(struct rawconn *rc, uint32_t msgid, params_fn *fn,
                                const char *want)
{
    msgpack_sbuffer sb;
    msgpack_packer pk;
    rawconn_request_begin(&sb, &pk, msgid, "create");
    fn(&pk);
    rawconn_send_sbuf(rc, &sb);
    msgpack_sbuffer_destroy(&sb);
    rawconn_expect_reply(rc, msgid, want, NULL);
}

static void name_is_int(msgpack_packer *pk)
{
    msgpack_pack_map(pk, 3);
    rawconn_pack_str(pk, "name"); msgpack_pack_int(pk, 5);
    rawconn_pack_str(pk, "dtype"); rawconn_pack_str(pk, "<f4");
    rawconn_pack_str(pk, "shape"); msgpack_pack_array(pk, 1); msgpack_pack_int(pk, 4);
}

static void dtype_is_int(msgpack_packer *pk)
{
    msgpack_pack_map(pk, 3);
    rawconn_pack_str(pk, "name"); rawconn_pack_str(pk, "typed");
    rawconn_pack_str(pk, "dtype"); msgpack_pack_int(pk, 4);
    rawconn_pack_str(pk, "shape"); msgpack_pack_array(pk, 1); msgpack_pack_int(pk, 4);
}

static void shape_is_str(msgpack_packer *pk)
{
    msgpack_pack_map(pk, 3);
    rawconn_pack_str(pk, "name"); rawconn_pack_str(pk, "typed");
    rawconn_pack_str(pk, "dtype"); rawconn_pack_str(pk, "<f4");
    rawconn_pack_str(pk, "shape"); rawconn_pack_str(pk, "4");
}

static void shape_has_negative(msgpack_packer *pk)
{
    msgpack_pack_map(pk, 3);
    rawconn_pack_str(pk, "name"); rawconn_pack_str(pk, "typed");
    rawconn_pack_str(pk, "dtype"); rawconn_pack_str(pk, "<f4");
    rawconn_pack_str(pk, "shape"); msgpack_pack_array(pk, 1); msgpack_pack_int(pk, -4);
}

static void shape_has_float(msgpack_packer *pk)
{
    msgpack_pack_map(pk, 3);
    rawconn_pack_str(pk, "name"); rawconn_pack_str(pk, "typed");
    rawconn_pack_str(pk, "dtype"); rawconn_pack_str(pk, "<f4");
    rawconn_pack_str(pk, "shape"); msgpack_pack_array(pk, 1); msgpack_pack_double(pk, 4.0);
}

static void shape_missing(msgpack_packer *pk)
{
    msgpack_pack_map(pk, 2);
    rawconn_pack_str(pk, "name"); rawconn_pack_str(pk, "typed");
    rawconn_pack_str(pk, "dtype"); rawconn_pack_str(pk, "<f4");
}

static void persist_is_str(msgpack_packer *pk)
{
    msgpack_pack_map(pk, 4);
    rawconn_pack_str(pk, "name"); rawconn_pack_str(pk, "typed");
    rawconn_pack_str(pk, "dtype"); rawconn_pack_str(pk, "<f4");
    rawconn_pack_str(pk, "shape"); msgpack_pack_array(pk, 1); msgpack_pack_int(pk, 4);
    rawconn_pack_str(pk, "persist"); rawconn_pack_str(pk, "yes");
}

static void test_raw_create_with_bad_param_types_is_einval(void **state)
{
    struct raw_case t;
    raw_case_start(&t, state);
    params_fn *cases[] = { name_is_int,     dtype_is_int,  shape_is_str,  shape_has_negative,
                           shape_has_float, shape_missing, persist_is_str };
    for (uint32_t i = 0; i < sizeof cases / sizeof cases[0]; i++)
        expect_create_error(&t.rc, 100 + i, cases[i], "EINVAL");
    expect_stat_keeper(&t.rc, 200);
    rawconn_close(&t.rc);
    struct sharr_info info;
    assert_rc(sharr_stat(t.k.conn, "typed", &info), -ENOENT);
    raw_case_finish(&t);
}

/* create with well-typed params whose values are invalid: the daemon must check
 * them itself, whatever the client library does. Sends the create and expects the
 * error code want. */
static void expect_create_refused(struct rawconn *rc, uint32_t msgid, const char *name,
                                  size_t name_len, const char *dtype, uint32_t ndim,
                                  const uint64_t *shape, const char *want)
{
    msgpack_sbuffer sb;
    msgpack_packer pk;
    rawconn_request_begin(&sb, &pk, msgid, "create");
    msgpack_pack_map(&pk, 3);
    rawconn_pack_str(&pk, "name"); msgpack_pack_str_with_body(&pk, name, name_len);
    rawconn_pack_str(&pk, "dtype"); rawconn_pack_str(&pk, dtype);
    rawconn_pack_str(&pk, "shape"); msgpack_pack_array(&pk, ndim);
    for (uint32_t i = 0; i < ndim; i++)
        msgpack_pack_uint64(&pk, shape[i]);
    rawconn_send_sbuf(rc, &sb);
    msgpack_sbuffer_destroy(&sb);
    rawconn_expect_reply(rc, msgid, want, NULL);
}

static void test_raw_create_values_are_checked_by_the_daemon(void **state)
{
    struct raw_case t;
    raw_case_start(&t, state);
    uint64_t ones[PROTO_NDIM_MAX + 1];
    for (size_t i = 0; i <= PROTO_NDIM_MAX; i++)
        ones[i] = 1;
    const uint64_t four[1] = { 4 }, zero[2] = { 4, 0 };
    const uint64_t square[2] = { 1ull << 40, 1ull << 40 };
    char long_name[PROTO_NAME_MAX + 1];
    memset(long_name, 'n', sizeof long_name);

    uint32_t id = 10;
    expect_create_refused(&t.rc, id++, "x", 1, "<f3", 1, four, "EINVAL");
    expect_create_refused(&t.rc, id++, "x", 1, "<f4", 2, zero, "EINVAL");
    expect_create_refused(&t.rc, id++, "x", 1, "<f4", PROTO_NDIM_MAX + 1, ones, "EINVAL");
    expect_create_refused(&t.rc, id++, "x", 1, "<f8", 2, square, "EOVERFLOW");
    /* A record goes as 'dtype' |V<n> and 'descr': a description in 'dtype' is
     * refused, not created as the |V<n> of its bytes with the record dropped. */
    expect_create_refused(&t.rc, id++, "x", 1, "[('a', '|u1')]", 1, four, "EINVAL");
    const char *bad_names[] = { "", "..", ".hidden", "a/b", "../keep", "a\001b" };
    for (size_t i = 0; i < sizeof bad_names / sizeof bad_names[0]; i++)
        expect_create_refused(&t.rc, id++, bad_names[i], strlen(bad_names[i]), "<f4", 1, four,
                              "EINVAL");
    expect_create_refused(&t.rc, id++, "nul\0inside", 10, "<f4", 1, four, "EINVAL");
    expect_create_refused(&t.rc, id++, long_name, sizeof long_name, "<f4", 1, four,
                          "ENAMETOOLONG");
    expect_create_refused(&t.rc, id++, KEEPER_NAME, strlen(KEEPER_NAME), "<f4", 1, four,
                          "EEXIST");

    /* A bad open mode, and stat/unlink of bad names. */
    msgpack_sbuffer sb;
    msgpack_packer pk;
    rawconn_request_begin(&sb, &pk, id, "open");
    msgpack_pack_map(&pk, 2);
    rawconn_pack_str(&pk, "name"); rawconn_pack_str(&pk, KEEPER_NAME);
    rawconn_pack_str(&pk, "mode"); rawconn_pack_str(&pk, "w");
    rawconn_send_sbuf(&t.rc, &sb);
    rawconn_expect_reply(&t.rc, id++, "EINVAL", NULL);
    rawconn_pack_request_head(&pk, id, "unlink");
    msgpack_pack_map(&pk, 1);
    rawconn_pack_str(&pk, "name"); rawconn_pack_str(&pk, "../" KEEPER_NAME);
    rawconn_send_sbuf(&t.rc, &sb);
    rawconn_expect_reply(&t.rc, id++, "EINVAL", NULL);
    msgpack_sbuffer_destroy(&sb);

    expect_stat_keeper(&t.rc, id++);
    rawconn_close(&t.rc);
    assert_int_equal(harness_stats(t.k.conn).arrays, 1);
    raw_case_finish(&t);
}

static void test_raw_release_of_unknown_handle_is_an_error(void **state)
{
    struct raw_case t;
    raw_case_start(&t, state);
    msgpack_sbuffer sb;
    msgpack_sbuffer_init(&sb);
    const uint64_t handles[] = { 0, 1, 987654321, UINT64_MAX };
    for (uint32_t i = 0; i < sizeof handles / sizeof handles[0]; i++) {
        struct codec_release rel = { .handle = handles[i] };
        assert_int_equal(codec_pack_release(&sb, 20 + i, &rel), 0);
        rawconn_send_sbuf(&t.rc, &sb);
        rawconn_expect_reply(&t.rc, 20 + i, "EBADF", NULL);
    }
    msgpack_sbuffer_destroy(&sb);
    expect_stat_keeper(&t.rc, 30);
    rawconn_close(&t.rc);
    /* Another connection's handle is not this one's to release either: the keeper's
     * attachment survives. */
    expect_keeper_attached(&t.k, 1);
    raw_case_finish(&t);
}

/* Sends bytes after hello and expects the daemon to close the connection. */
static void expect_closed_after(struct keeper *k, const void *bytes, size_t len)
{
    struct rawconn rc;
    rawconn_open_hello(&rc, k->h->sock, 4096);
    /* The daemon may close before it has read everything: a failed send is fine. */
    rawconn_send(&rc, bytes, len);
    assert_int_equal(rawconn_expect_closed(&rc), 0);
    rawconn_close(&rc);
    keeper_check(k);
}

static void test_raw_non_msgpack_byte_closes_the_connection(void **state)
{
    struct keeper k;
    keeper_start(&k, *state);
    const uint8_t c1[] = { 0xc1 };
    expect_closed_after(&k, c1, sizeof c1);
    /* Also inside a request that looked right so far. */
    const uint8_t inside[] = { 0x94, 0x00, 0x01, 0xc1 };
    expect_closed_after(&k, inside, sizeof inside);
    keeper_stop(&k);
}

static void test_raw_huge_container_headers_close_the_connection(void **state)
{
    struct keeper k;
    keeper_start(&k, *state);
    const uint8_t array32[] = { 0xdd, 0xff, 0xff, 0xff, 0xff };
    const uint8_t map32[] = { 0xdf, 0xff, 0xff, 0xff, 0xff };
    const uint8_t str32[] = { 0xdb, 0xff, 0xff, 0xff, 0xff };
    const uint8_t bin32[] = { 0xc6, 0xff, 0xff, 0xff, 0xff };
    /* A request whose params array claims 2^32-1 elements. */
    const uint8_t nested[] = { 0x94, 0x00, 0x01, 0xa5, 's', 't', 'a', 't', 's',
                               0xdd, 0xff, 0xff, 0xff, 0xff };
    expect_closed_after(&k, array32, sizeof array32);
    expect_closed_after(&k, map32, sizeof map32);
    expect_closed_after(&k, str32, sizeof str32);
    expect_closed_after(&k, bin32, sizeof bin32);
    expect_closed_after(&k, nested, sizeof nested);
    keeper_stop(&k);
}

/* A stat of the keeper whose params carry an unknown key holding nested arrays, so
 * the whole message nests exactly depth containers (request, params, map, arrays). */
static void pack_nested_stat(msgpack_sbuffer *sb, uint32_t msgid, unsigned depth)
{
    rawconn_pack_stat_with_key(sb, msgid, KEEPER_NAME, "nest");
    msgpack_packer pk;
    msgpack_packer_init(&pk, sb, msgpack_sbuffer_write);
    for (unsigned i = 3; i < depth; i++)
        msgpack_pack_array(&pk, 1);
    msgpack_pack_nil(&pk);
}

static void test_raw_deep_nesting_closes_the_connection(void **state)
{
    struct keeper k;
    keeper_start(&k, *state);
    uint8_t deep[64];
    memset(deep, 0x91, sizeof deep - 1); /* 63 one-element arrays around a nil */
    deep[sizeof deep - 1] = 0xc0;
    expect_closed_after(&k, deep, sizeof deep);

    msgpack_sbuffer sb;
    msgpack_sbuffer_init(&sb);
    /* At the limit: answered, the unknown key ignored. */
    pack_nested_stat(&sb, 2, PROTO_DEPTH_MAX);
    expect_reply_on_new_connection(&k, &sb, 2, NULL);
    /* One level deeper: closed. */
    pack_nested_stat(&sb, 3, PROTO_DEPTH_MAX + 1);
    expect_closed_after(&k, sb.data, sb.size);
    msgpack_sbuffer_destroy(&sb);
    keeper_stop(&k);
}

static void test_raw_frame_limit_is_exact(void **state)
{
    struct keeper k;
    keeper_start(&k, *state);
    msgpack_sbuffer sb;
    msgpack_sbuffer_init(&sb);

    /* Exactly PROTO_REQUEST_MAX bytes: answered (unknown keys are ignored). */
    rawconn_pack_padded_stat(&sb, 2, KEEPER_NAME, PROTO_REQUEST_MAX);
    expect_reply_on_new_connection(&k, &sb, 2, NULL);

    /* One byte more: closed. */
    rawconn_pack_padded_stat(&sb, 3, KEEPER_NAME, PROTO_REQUEST_MAX + 1);
    expect_closed_after(&k, sb.data, sb.size);

    /* Far more, with a valid header: closed without reading it all. */
    msgpack_sbuffer_clear(&sb);
    msgpack_packer pk;
    msgpack_packer_init(&pk, &sb, msgpack_sbuffer_write);
    rawconn_pack_request_head(&pk, 4, "stat");
    msgpack_pack_map(&pk, 1);
    rawconn_pack_str(&pk, "name"); msgpack_pack_str(&pk, 1u << 24);
    expect_closed_after(&k, sb.data, sb.size);
    msgpack_sbuffer_destroy(&sb);
    keeper_stop(&k);
}

static void test_raw_truncated_frame_then_close_is_forgotten(void **state)
{
    struct keeper k;
    keeper_start(&k, *state);
    msgpack_sbuffer sb;
    msgpack_sbuffer_init(&sb);
    rawconn_pack_name(&sb, 2, "stat", KEEPER_NAME);
    for (size_t cut = 1; cut < sb.size; cut += 3) {
        struct rawconn rc;
        rawconn_open_hello(&rc, k.h->sock, 4096);
        rawconn_send_ok(&rc, sb.data, cut);
        rawconn_close(&rc);
    }
    msgpack_sbuffer_destroy(&sb);
    /* Every half-sent connection is dropped: only the keeper's remains. */
    assert_int_equal(harness_wait_connections(k.conn, 1), 1);
    keeper_check(&k);
    assert_int_equal(harness_wait_connections(k.conn, 1), 1);
    keeper_stop(&k);
}

static void test_raw_pipelined_requests_are_all_answered(void **state)
{
    struct raw_case t;
    raw_case_start_as(&t, state, 4096, false);
    msgpack_sbuffer sb;
    msgpack_sbuffer_init(&sb);
    struct codec_hello hello = { .version = PROTO_VERSION };
    assert_int_equal(codec_pack_hello(&sb, 1, &hello), 0);
    for (uint32_t id = 2; id < 40; id++) {
        if (id % 3 == 0)
            assert_int_equal(codec_pack_stats(&sb, id), 0);
        else
            rawconn_pack_name(&sb, id, "stat", KEEPER_NAME);
    }
    rawconn_send_sbuf(&t.rc, &sb);
    msgpack_sbuffer_destroy(&sb);

    /* Replies may come in any order; each msgid exactly once. */
    int seen[40] = { 0 };
    for (int n = 1; n < 40; n++) {
        msgpack_object obj;
        assert_int_equal(rawconn_next(&t.rc, &obj, NULL), 1);
        assert_int_equal(obj.type, MSGPACK_OBJECT_ARRAY);
        struct codec_msg msg;
        char err[256] = "";
        assert_int_equal(codec_parse_msg(&obj, &msg, NULL, err, sizeof err), 0);
        assert_int_equal(msg.type, CODEC_RESPONSE);
        assert_int_equal(msg.err, 0);
        assert_true(msg.msgid >= 1 && msg.msgid < 40);
        assert_int_equal(seen[msg.msgid], 0);
        seen[msg.msgid] = 1;
        if (msg.msgid >= 2 && msg.msgid % 3 != 0) {
            struct meta m;
            assert_int_equal(codec_parse_reply_stat(msg.result, &m, err, sizeof err), 0);
            assert_string_equal(m.name, KEEPER_NAME);
        }
    }
    raw_case_finish(&t);
}

static void test_raw_request_sent_byte_by_byte_is_answered(void **state)
{
    struct raw_case t;
    raw_case_start(&t, state);
    msgpack_sbuffer sb;
    msgpack_sbuffer_init(&sb);
    rawconn_pack_name(&sb, 2, "stat", KEEPER_NAME);
    for (size_t i = 0; i < sb.size; i++)
        rawconn_send_ok(&t.rc, sb.data + i, 1);
    msgpack_sbuffer_destroy(&sb);
    rawconn_expect_reply(&t.rc, 2, NULL, NULL);
    raw_case_finish(&t);
}

static void test_raw_open_reply_carries_descriptor_with_its_first_byte(void **state)
{
    struct raw_case t;
    raw_case_start_as(&t, state, 1, true); /* byte by byte: pins where the descriptor comes */
    assert_int_equal(rawconn_take_fd(&t.rc, NULL), -1);

    msgpack_sbuffer sb;
    msgpack_sbuffer_init(&sb);
    struct codec_open op = { .mode = META_MODE_R };
    strcpy(op.name, KEEPER_NAME);
    assert_int_equal(codec_pack_open(&sb, 2, &op), 0);
    rawconn_send_sbuf(&t.rc, &sb);

    msgpack_object obj;
    uint64_t reply_at = 0, fd_at = 0;
    assert_int_equal(rawconn_next(&t.rc, &obj, &reply_at), 1);
    struct codec_msg msg;
    char err[256] = "";
    assert_int_equal(codec_parse_msg(&obj, &msg, NULL, err, sizeof err), 0);
    assert_int_equal(msg.msgid, 2);
    assert_int_equal(msg.err, 0);
    struct codec_attach_reply att;
    int has_fd = 0;
    assert_int_equal(codec_parse_reply_attach(msg.result, &att, &has_fd, err, sizeof err), 0);
    assert_int_equal(has_fd, 1);
    int fd = rawconn_take_fd(&t.rc, &fd_at);
    assert_true(fd >= 0);
    assert_int_equal(fd_at, reply_at);
    assert_int_equal(rawconn_take_fd(&t.rc, NULL), -1);

    /* The descriptor is the array's .npy bytes, read only. */
    assert_int_equal(fcntl(fd, F_GETFL) & O_ACCMODE, O_RDONLY);
    struct stat st;
    assert_int_equal(fstat(fd, &st), 0);
    assert_true((uint64_t)st.st_size >= PROTO_DATA_OFFSET + att.meta.nbytes);
    uint8_t header[NPY_HEADER_LEN];
    assert_int_equal(pread(fd, header, sizeof header, 0), (ssize_t)sizeof header);
    assert_memory_equal(header, "\x93NUMPY\x01\x00", 8);
    struct meta m;
    memset(&m, 0, sizeof m);
    uint64_t offset = 0;
    assert_int_equal(npy_header_parse(header, sizeof header, &m, NULL, &offset, err, sizeof err),
                     0);
    assert_int_equal(offset, PROTO_DATA_OFFSET);
    assert_string_equal(m.dtype.str, "<i4");
    assert_int_equal(m.ndim, 1);
    assert_int_equal(m.shape[0], KEEPER_N);
    int32_t v[KEEPER_N];
    assert_int_equal(pread(fd, v, sizeof v, PROTO_DATA_OFFSET), (ssize_t)sizeof v);
    for (uint32_t i = 0; i < KEEPER_N; i++)
        assert_int_equal(v[i], i * 7 + 1);
    close(fd);

    /* Its handle releases the attachment, once. */
    expect_keeper_attached(&t.k, 2);
    struct codec_release rel = { .handle = att.handle };
    assert_int_equal(codec_pack_release(&sb, 3, &rel), 0);
    rawconn_send_sbuf(&t.rc, &sb);
    rawconn_expect_reply(&t.rc, 3, NULL, NULL);
    assert_int_equal(codec_pack_release(&sb, 4, &rel), 0);
    rawconn_send_sbuf(&t.rc, &sb);
    rawconn_expect_reply(&t.rc, 4, "EBADF", NULL);
    expect_keeper_attached(&t.k, 1);
    msgpack_sbuffer_destroy(&sb);
    raw_case_finish(&t);
}

/* release as a notification: no reply (a bad handle neither), and applied before the
 * next request on the same connection. */
static void test_raw_release_notification_is_unanswered_and_applied_in_order(void **state)
{
    struct raw_case t;
    raw_case_start(&t, state);
    struct codec_attach_reply att;
    close(rawconn_open_read(&t.rc, 2, KEEPER_NAME, &att));
    expect_keeper_attached(&t.k, 2);

    msgpack_sbuffer sb;
    msgpack_sbuffer_init(&sb);

    struct codec_release unknown = { .handle = 987654321 };
    struct codec_release rel = { .handle = att.handle };
    assert_int_equal(codec_pack_release_notify(&sb, &unknown), 0);
    assert_int_equal(codec_pack_release_notify(&sb, &rel), 0);
    assert_int_equal(codec_pack_release(&sb, 3, &rel), 0);
    rawconn_send_sbuf(&t.rc, &sb);
    /* The first message back answers request 3: the handle is gone already. */
    rawconn_expect_reply(&t.rc, 3, "EBADF", NULL);
    expect_keeper_attached(&t.k, 1);
    expect_stat_keeper(&t.rc, 4);
    msgpack_sbuffer_destroy(&sb);
    raw_case_finish(&t);
}

/* Bad opens, each in one write with a good open of the keeper after it: every bad one
 * gets its error, the good one its attachment, whether the bytes are read whole or
 * byte by byte (the daemon reads libsharr's open from its bytes, openframe.h). */
static void test_raw_bad_opens_are_refused_and_the_next_open_served(void **state)
{
#define O(...) { (const uint8_t[]){ __VA_ARGS__ }, sizeof((const uint8_t[]){ __VA_ARGS__ }) }
#define OPEN_HEAD(id) 0x94, 0x00, id, 0xa4, 'o', 'p', 'e', 'n'
#define NAME_X 0xa4, 'n', 'a', 'm', 'e', 0xa1, 'x'
    const struct { const uint8_t *b; size_t n; } bad[] = {
        O(OPEN_HEAD(9), 0x91, 0x81, 0xa4, 'n', 'a', 'm', 'e', 0xa2, '.', 'x'),
        O(OPEN_HEAD(9), 0x91, 0x80),
        O(OPEN_HEAD(9), 0x91, 0x82, NAME_X, NAME_X),
        O(OPEN_HEAD(9), 0x91, 0x82, NAME_X, 0xa4, 'm', 'o', 'd', 'e', 0xa1, 'w'),
        O(OPEN_HEAD(9), 0x91, 0x82, NAME_X, 0xa7, 'w', 'a', 'i', 't', '_', 'm', 's', 0xfe),
        O(OPEN_HEAD(9), 0x91, 0x82, NAME_X, 0xa5, 'o', 'w', 'n', 'e', 'r', 0xce, 0xff, 0xff,
          0xff, 0xff),
        O(OPEN_HEAD(9), 0x91, 0x82, NAME_X, 0xa9, 'p', 'u', 'b', 'l', 'i', 's', 'h', 'e', 'd',
          0x01),
        O(OPEN_HEAD(9), 0x92, 0x81, NAME_X, 0x80),
    };
    const char *want[] = { "EINVAL", "EINVAL", "EINVAL", "EINVAL", "EINVAL", "EINVAL",
                           "EINVAL", "EBADMSG" };
#undef NAME_X
#undef OPEN_HEAD
#undef O
    struct codec_open op = { .mode = META_MODE_R };
    strcpy(op.name, KEEPER_NAME);
    struct raw_case t;
    raw_case_start_as(&t, state, 1, true);
    for (size_t chunk = 1; chunk <= 4096; chunk += 4095) {
        if (chunk > 1) {
            rawconn_close(&t.rc);
            rawconn_open(&t.rc, t.k.h->sock, chunk);
            rawconn_hello(&t.rc, 1);
        }
        for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
            msgpack_sbuffer sb;
            msgpack_sbuffer_init(&sb);
            msgpack_sbuffer_write(&sb, (const char *)bad[i].b, bad[i].n);
            assert_int_equal(codec_pack_open(&sb, 10, &op), 0);
            rawconn_send_sbuf(&t.rc, &sb);
            msgpack_sbuffer_destroy(&sb);
            rawconn_expect_reply(&t.rc, 9, want[i], NULL);
            rawconn_expect_reply(&t.rc, 10, NULL, NULL);
            int fd = rawconn_take_fd(&t.rc, NULL);
            assert_true(fd >= 0);
            close(fd);
        }
        if (chunk == 1) /* the other connection's are dropped when the daemon sees it go */
            expect_keeper_attached(&t.k, 1 + sizeof bad / sizeof bad[0]);
        expect_stat_keeper(&t.rc, 11);
    }
    raw_case_finish(&t);
}

#define T(fn) cmocka_unit_test_setup_teardown(fn, harness_setup, harness_teardown)

int main(void)
{
    const struct CMUnitTest tests[] = {
        T(test_raw_hello_reports_the_protocol_limits),
        T(test_raw_unknown_method_is_enosys),
        T(test_raw_malformed_envelope_with_msgid_is_ebadmsg),
        T(test_raw_create_with_bad_param_types_is_einval),
        T(test_raw_create_values_are_checked_by_the_daemon),
        T(test_raw_release_of_unknown_handle_is_an_error),
        T(test_raw_release_notification_is_unanswered_and_applied_in_order),
        T(test_raw_non_msgpack_byte_closes_the_connection),
        T(test_raw_huge_container_headers_close_the_connection),
        T(test_raw_deep_nesting_closes_the_connection),
        T(test_raw_frame_limit_is_exact),
        T(test_raw_truncated_frame_then_close_is_forgotten),
        T(test_raw_pipelined_requests_are_all_answered),
        T(test_raw_request_sent_byte_by_byte_is_answered),
        T(test_raw_open_reply_carries_descriptor_with_its_first_byte),
        T(test_raw_bad_opens_are_refused_and_the_next_open_served),
    };
    return testskip_exit(cmocka_run_group_tests(tests, NULL, NULL));
}
