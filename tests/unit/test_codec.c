/* test_codec.c — every sharr message through bytes and back, and every way a peer
 * can get one wrong.
 *
 * Messages are encoded, fed through a real decoder and parsed, exactly as on a
 * connection. Hostile messages are built as msgpack objects, packed to bytes and
 * decoded the same way, so each rejection seen here is one a peer can trigger.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <msgpack.h>

#include "codec.h"
#include "decoder.h"
#include "limits.h"
#include "testskip.h"

/* Object builders. */

static msgpack_object o_nil(void)
{
    return (msgpack_object){ .type = MSGPACK_OBJECT_NIL };
}

static msgpack_object o_bool(bool v)
{
    return (msgpack_object){ .type = MSGPACK_OBJECT_BOOLEAN, .via.boolean = v };
}

static msgpack_object o_uint(uint64_t v)
{
    return (msgpack_object){ .type = MSGPACK_OBJECT_POSITIVE_INTEGER, .via.u64 = v };
}

static msgpack_object o_neg(int64_t v)
{
    return (msgpack_object){ .type = MSGPACK_OBJECT_NEGATIVE_INTEGER, .via.i64 = v };
}

static msgpack_object o_f64(double v)
{
    return (msgpack_object){ .type = MSGPACK_OBJECT_FLOAT64, .via.f64 = v };
}

static msgpack_object o_strn(const char *s, uint32_t n)
{
    return (msgpack_object){ .type = MSGPACK_OBJECT_STR, .via.str = { n, s } };
}

static msgpack_object o_str(const char *s)
{
    return o_strn(s, (uint32_t)strlen(s));
}

static msgpack_object o_bin(const char *s)
{
    return (msgpack_object){ .type = MSGPACK_OBJECT_BIN,
                             .via.bin = { (uint32_t)strlen(s), s } };
}

static msgpack_object o_ext(void)
{
    return (msgpack_object){ .type = MSGPACK_OBJECT_EXT, .via.ext = { 5, 2, "ab" } };
}

static msgpack_object o_array(msgpack_object *items, uint32_t n)
{
    return (msgpack_object){ .type = MSGPACK_OBJECT_ARRAY, .via.array = { n, items } };
}

static msgpack_object o_map(msgpack_object_kv *kv, uint32_t n)
{
    return (msgpack_object){ .type = MSGPACK_OBJECT_MAP, .via.map = { n, kv } };
}

/* The wire. */

/* A decoder that every message in a test passes through. */
struct wire {
    struct decoder *d;
    msgpack_object obj;
};

static int wire_setup(void **state)
{
    struct wire *w = calloc(1, sizeof(*w));

    if (w == NULL)
        return -1;
    w->d = decoder_new(PROTO_RESPONSE_MAX, PROTO_DEPTH_MAX);
    if (w->d == NULL) {
        free(w);
        return -1;
    }
    *state = w;
    return 0;
}

static int wire_teardown(void **state)
{
    struct wire *w = *state;

    decoder_free(w->d);
    free(w);
    return 0;
}

/* Feed an encoder's bytes, expect exactly one whole object. Valid until the next
 * wire call. */
static const msgpack_object *wire_bytes(struct wire *w, const msgpack_sbuffer *sb)
{
    assert_int_equal(decoder_feed(w->d, sb->data, sb->size), 0);
    assert_int_equal(decoder_next(w->d, &w->obj), 1);
    assert_int_equal(decoder_pending(w->d), 0);
    return &w->obj;
}

static const msgpack_object *wire_object(struct wire *w, msgpack_object in)
{
    msgpack_sbuffer sb;
    msgpack_packer pk;
    const msgpack_object *out;

    msgpack_sbuffer_init(&sb);
    msgpack_packer_init(&pk, &sb, msgpack_sbuffer_write);
    assert_int_equal(msgpack_pack_object(&pk, in), 0);
    out = wire_bytes(w, &sb);
    msgpack_sbuffer_destroy(&sb);
    return out;
}

/* Decode an envelope that must be well formed and of the given type. */
static void wire_msg(struct wire *w, const msgpack_sbuffer *sb, enum codec_type type,
                     uint32_t msgid, struct codec_msg *msg)
{
    char err[256] = "";
    int known = -1;

    assert_int_equal(codec_parse_msg(wire_bytes(w, sb), msg, &known, err, sizeof(err)), 0);
    assert_string_equal(err, "");
    assert_int_equal(msg->type, type);
    assert_int_equal(msg->msgid, msgid);
}

/* Sample data. */

static void sample_meta(struct meta *m, const char *name)
{
    memset(m, 0, sizeof(*m));
    strcpy(m->name, name);
    assert_int_equal(dtype_parse("<f4", &m->dtype), 0);
    m->ndim = 3;
    m->shape[0] = 2;
    m->shape[1] = 3;
    m->shape[2] = 1000000;
    m->order = 'F';
    m->nbytes = 2ull * 3 * 1000000 * 4;
    m->offset = PROTO_DATA_OFFSET;
    m->persist = true;
    m->perm = 0640;
    m->uid = 1000;
    m->gid = 100;
    m->ctime_ns = 1700000000123456789ll;
    m->nattached = 3;
    strcpy(m->path, "/var/lib/sharr/arrays/x.npy");
    m->grown = 1ull << 40;
    m->damaged = true;
}

static void assert_meta_equal(const struct meta *a, const struct meta *b)
{
    assert_string_equal(a->name, b->name);
    assert_string_equal(a->dtype.str, b->dtype.str);
    assert_int_equal(a->dtype.itemsize, b->dtype.itemsize);
    assert_int_equal(a->ndim, b->ndim);
    for (uint32_t i = 0; i < a->ndim; i++)
        assert_int_equal(a->shape[i], b->shape[i]);
    assert_int_equal(a->order, b->order);
    assert_int_equal(a->nbytes, b->nbytes);
    assert_int_equal(a->offset, b->offset);
    assert_int_equal(a->persist, b->persist);
    assert_int_equal(a->perm, b->perm);
    assert_int_equal(a->uid, b->uid);
    assert_int_equal(a->gid, b->gid);
    assert_int_equal(a->ctime_ns, b->ctime_ns);
    assert_int_equal(a->nattached, b->nattached);
    assert_string_equal(a->path, b->path);
    assert_int_equal(a->grown, b->grown);
    assert_int_equal(a->damaged, b->damaged);
}

/* Round trips: requests. */

static void test_codec_hello_round_trips(void **state)
{
    struct wire *w = *state;
    struct codec_hello in = { .version = PROTO_VERSION }, out;
    struct codec_msg msg;
    msgpack_sbuffer sb;
    char err[256];

    strcpy(in.client, "libsharr 0.1.0");
    msgpack_sbuffer_init(&sb);
    assert_int_equal(codec_pack_hello(&sb, 1, &in), 0);
    wire_msg(w, &sb, CODEC_REQUEST, 1, &msg);
    assert_string_equal(msg.method, "hello");
    assert_int_equal(codec_parse_hello(msg.params, &out, err, sizeof(err)), 0);
    assert_int_equal(out.version, PROTO_VERSION);
    assert_string_equal(out.client, "libsharr 0.1.0");
    msgpack_sbuffer_destroy(&sb);
}

static void test_codec_create_round_trips(void **state)
{
    struct wire *w = *state;
    struct codec_create in = { .ndim = 2, .shape = { 1000000, 100 }, .order = 'F',
                               .persist = true, .perm = 0644, .overwrite = true };
    struct codec_create out;
    struct codec_msg msg;
    msgpack_sbuffer sb;
    char err[256];

    strcpy(in.name, "weights");
    assert_int_equal(dtype_parse("float32", &in.dtype), 0);
    msgpack_sbuffer_init(&sb);
    assert_int_equal(codec_pack_create(&sb, UINT32_MAX, &in), 0);
    wire_msg(w, &sb, CODEC_REQUEST, UINT32_MAX, &msg);
    assert_string_equal(msg.method, "create");
    memset(&out, 0, sizeof(out));
    assert_int_equal(codec_parse_create(msg.params, &out, err, sizeof(err)), 0);
    assert_string_equal(out.name, "weights");
    assert_string_equal(out.dtype.str, "<f4");
    assert_int_equal(out.dtype.itemsize, 4);
    assert_int_equal(out.ndim, 2);
    assert_int_equal(out.shape[0], 1000000);
    assert_int_equal(out.shape[1], 100);
    assert_int_equal(out.order, 'F');
    assert_true(out.persist);
    assert_int_equal(out.perm, 0644);
    assert_true(out.overwrite);
    msgpack_sbuffer_destroy(&sb);
}

static void test_codec_create_defaults_apply_when_keys_are_absent(void **state)
{
    struct wire *w = *state;
    msgpack_object dims[] = { o_uint(10) };
    msgpack_object_kv kv[] = {
        { o_str("name"), o_str("a") },
        { o_str("dtype"), o_str("u1") },
        { o_str("shape"), o_array(dims, 1) },
        { o_str("from_the_future"), o_array(dims, 1) }, /* unknown keys are ignored */
    };
    struct codec_create out;
    char err[256];

    memset(&out, 0x5a, sizeof(out));
    assert_int_equal(codec_parse_create(wire_object(w, o_map(kv, 4)), &out, err, sizeof(err)), 0);
    assert_string_equal(out.dtype.str, "|u1");
    assert_int_equal(out.order, 'C');
    assert_false(out.persist);
    assert_int_equal(out.perm, 0600);
    assert_false(out.overwrite);
}

static void test_codec_open_round_trips_every_mode(void **state)
{
    struct wire *w = *state;
    const enum meta_mode modes[] = { META_MODE_R, META_MODE_RPLUS, META_MODE_C };
    const int64_t waits[] = { -1, 0, 5000, INT64_MAX };

    for (size_t i = 0; i < 3; i++) {
        for (size_t j = 0; j < 4; j++) {
            struct codec_open in = { .mode = modes[i], .wait_ms = waits[j] }, out;
            struct codec_msg msg;
            msgpack_sbuffer sb;
            char err[256];

            strcpy(in.name, "frames.0");
            msgpack_sbuffer_init(&sb);
            assert_int_equal(codec_pack_open(&sb, (uint32_t)(i * 10 + j), &in), 0);
            wire_msg(w, &sb, CODEC_REQUEST, (uint32_t)(i * 10 + j), &msg);
            assert_string_equal(msg.method, "open");
            assert_int_equal(codec_parse_open(msg.params, &out, err, sizeof(err)), 0);
            assert_string_equal(out.name, "frames.0");
            assert_int_equal(out.mode, modes[i]);
            assert_int_equal(out.wait_ms, waits[j]);
            msgpack_sbuffer_destroy(&sb);
        }
    }
}

static void test_codec_open_defaults_to_rplus_without_waiting(void **state)
{
    struct wire *w = *state;
    msgpack_object_kv kv[] = { { o_str("name"), o_str("a") } };
    struct codec_open out = { .mode = META_MODE_C, .wait_ms = 99 };
    char err[256];

    out.has_owner = true;
    assert_int_equal(codec_parse_open(wire_object(w, o_map(kv, 1)), &out, err, sizeof(err)), 0);
    assert_int_equal(out.mode, META_MODE_RPLUS);
    assert_int_equal(out.wait_ms, 0);
    assert_false(out.has_owner);
}

static void test_codec_open_owner_round_trips_and_is_a_uid(void **state)
{
    struct wire *w = *state;
    const uint32_t owners[] = { 0, 1000, 65534, UINT32_MAX - 1 };
    char err[256];

    for (size_t i = 0; i < 4; i++) {
        struct codec_open in = { .mode = META_MODE_R, .has_owner = true, .owner = owners[i] };
        struct codec_open out;
        struct codec_msg msg;
        msgpack_sbuffer sb;

        strcpy(in.name, "uid1000.frames");
        msgpack_sbuffer_init(&sb);
        assert_int_equal(codec_pack_open(&sb, 3, &in), 0);
        wire_msg(w, &sb, CODEC_REQUEST, 3, &msg);
        assert_int_equal(codec_parse_open(msg.params, &out, err, sizeof(err)), 0);
        assert_true(out.has_owner);
        assert_int_equal(out.owner, owners[i]);
        msgpack_sbuffer_destroy(&sb);
    }
    /* (uid_t)-1 is no uid; neither is anything negative or wider. */
    msgpack_object_kv kv[] = { { o_str("name"), o_str("a") }, { o_str("owner"), o_nil() } };
    const msgpack_object bad[] = { o_uint(UINT32_MAX), o_uint(1ull << 32), o_neg(-1),
                                   o_str("root"), o_nil(), o_bool(true) };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        struct codec_open out;

        kv[1].val = bad[i];
        assert_int_equal(codec_parse_open(wire_object(w, o_map(kv, 2)), &out, err, sizeof(err)),
                         -EINVAL);
        assert_string_equal(err, "open: 'owner' must be a uid, an integer in 0..4294967294");
    }
}

static void test_codec_name_requests_round_trip(void **state)
{
    struct wire *w = *state;
    const char *methods[] = { "stat", "unlink", "sync" };
    msgpack_sbuffer sb;

    for (size_t i = 0; i < 3; i++) {
        struct codec_name in, out;
        struct codec_msg msg;
        char err[256];

        strcpy(in.name, "x-y_z.0");
        msgpack_sbuffer_init(&sb);
        assert_int_equal(codec_pack_name(&sb, 7, methods[i], &in), 0);
        wire_msg(w, &sb, CODEC_REQUEST, 7, &msg);
        assert_string_equal(msg.method, methods[i]);
        assert_int_equal(codec_parse_name(msg.params, &out, err, sizeof(err)), 0);
        assert_string_equal(out.name, "x-y_z.0");
        msgpack_sbuffer_destroy(&sb);
    }
    msgpack_sbuffer_init(&sb);
    {
        struct codec_name in = { .name = "a" };
        assert_int_equal(codec_pack_name(&sb, 7, "open", &in), -EINVAL);
        assert_int_equal(sb.size, 0);
    }
    msgpack_sbuffer_destroy(&sb);
}

static void test_codec_release_round_trips(void **state)
{
    struct wire *w = *state;
    struct codec_release in = { .handle = UINT64_MAX }, out = { 0 };
    struct codec_msg msg;
    msgpack_sbuffer sb;
    char err[256];

    msgpack_sbuffer_init(&sb);
    assert_int_equal(codec_pack_release(&sb, 3, &in), 0);
    wire_msg(w, &sb, CODEC_REQUEST, 3, &msg);
    assert_string_equal(msg.method, "release");
    assert_int_equal(codec_parse_release(msg.params, &out, err, sizeof(err)), 0);
    assert_int_equal(out.handle, UINT64_MAX);
    msgpack_sbuffer_destroy(&sb);
}

static void test_codec_release_notification_round_trips(void **state)
{
    struct wire *w = *state;
    struct codec_release in = { .handle = 1234567 }, out = { 0 };
    struct codec_msg msg;
    msgpack_sbuffer sb;
    char err[256];

    msgpack_sbuffer_init(&sb);
    assert_int_equal(codec_pack_release_notify(&sb, &in), 0);
    wire_msg(w, &sb, CODEC_NOTIFY, 0, &msg);
    assert_string_equal(msg.method, "release");
    assert_int_equal(codec_parse_release(msg.params, &out, err, sizeof(err)), 0);
    assert_int_equal(out.handle, 1234567);
    msgpack_sbuffer_destroy(&sb);
}

static void test_codec_list_round_trips_and_defaults(void **state)
{
    struct wire *w = *state;
    struct codec_list in = { .after = "abc", .limit = PROTO_LIST_PAGE_MAX, .table = true }, out;
    struct codec_msg msg;
    msgpack_sbuffer sb;
    char err[256];

    msgpack_sbuffer_init(&sb);
    assert_int_equal(codec_pack_list(&sb, 4, &in), 0);
    wire_msg(w, &sb, CODEC_REQUEST, 4, &msg);
    assert_string_equal(msg.method, "list");
    assert_int_equal(codec_parse_list(msg.params, &out, err, sizeof(err)), 0);
    assert_string_equal(out.after, "abc");
    assert_int_equal(out.limit, PROTO_LIST_PAGE_MAX);
    assert_true(out.table);
    msgpack_sbuffer_destroy(&sb);

    in.after[0] = '\0';
    in.limit = 0; /* the server's default */
    in.table = false; /* maps, as a client that predates tables asks */
    msgpack_sbuffer_init(&sb);
    assert_int_equal(codec_pack_list(&sb, 5, &in), 0);
    wire_msg(w, &sb, CODEC_REQUEST, 5, &msg);
    assert_int_equal(codec_parse_list(msg.params, &out, err, sizeof(err)), 0);
    assert_string_equal(out.after, "");
    assert_int_equal(out.limit, PROTO_LIST_PAGE_DEFAULT);
    assert_false(out.table);
    msgpack_sbuffer_destroy(&sb);

    /* no params at all */
    assert_int_equal(codec_parse_list(NULL, &out, err, sizeof(err)), 0);
    assert_int_equal(out.limit, PROTO_LIST_PAGE_DEFAULT);
}

static void test_codec_stats_request_has_no_params(void **state)
{
    struct wire *w = *state;
    struct codec_msg msg;
    msgpack_sbuffer sb;

    msgpack_sbuffer_init(&sb);
    assert_int_equal(codec_pack_stats(&sb, 8), 0);
    wire_msg(w, &sb, CODEC_REQUEST, 8, &msg);
    assert_string_equal(msg.method, "stats");
    assert_null(msg.params);
    msgpack_sbuffer_destroy(&sb);
}

/* Round trips: replies. */

static void test_codec_hello_reply_round_trips(void **state)
{
    struct wire *w = *state;
    struct codec_hello_reply in = { .version = PROTO_VERSION, .server = "sharrd 0.1.0",
                                    .pid = 4242, .max_name = PROTO_NAME_MAX,
                                    .max_ndim = PROTO_NDIM_MAX,
                                    .max_request = PROTO_REQUEST_MAX,
                                    .list_page_max = PROTO_LIST_PAGE_MAX };
    struct codec_hello_reply out;
    const msgpack_object *caps = NULL;
    struct codec_msg msg;
    msgpack_sbuffer sb;
    char err[256];

    msgpack_sbuffer_init(&sb);
    assert_int_equal(codec_pack_reply_hello(&sb, 1, &in), 0);
    wire_msg(w, &sb, CODEC_RESPONSE, 1, &msg);
    assert_int_equal(msg.err, 0);
    assert_non_null(msg.result);
    assert_int_equal(codec_parse_reply_hello(msg.result, &out, err, sizeof(err)), 0);
    assert_int_equal(out.version, in.version);
    assert_string_equal(out.server, in.server);
    assert_int_equal(out.pid, in.pid);
    assert_int_equal(out.max_name, in.max_name);
    assert_int_equal(out.max_ndim, in.max_ndim);
    assert_int_equal(out.max_request, in.max_request);
    assert_int_equal(out.list_page_max, in.list_page_max);
    assert_true(out.release_notify);
    for (uint32_t i = 0; i < msg.result->via.map.size; i++) {
        const msgpack_object_kv *kv = &msg.result->via.map.ptr[i];
        if (kv->key.via.str.size == 12 && memcmp(kv->key.via.str.ptr, "capabilities", 12) == 0)
            caps = &kv->val;
    }
    assert_non_null(caps);
    assert_int_equal(caps->type, MSGPACK_OBJECT_ARRAY);
    assert_true(caps->via.array.size > 0);
    msgpack_sbuffer_destroy(&sb);
}

static void test_codec_attach_reply_round_trips_and_declares_fd(void **state)
{
    struct wire *w = *state;
    struct codec_attach_reply in = { .handle = 77 }, out;
    struct codec_msg msg;
    msgpack_sbuffer sb;
    int has_fd = 0;
    char err[256];

    sample_meta(&in.meta, "weights");
    msgpack_sbuffer_init(&sb);
    assert_int_equal(codec_pack_reply_attach(&sb, 12, &in), 0);
    wire_msg(w, &sb, CODEC_RESPONSE, 12, &msg);
    assert_int_equal(codec_parse_reply_attach(msg.result, &out, &has_fd, err, sizeof(err)), 0);
    assert_int_equal(has_fd, 1);
    assert_int_equal(out.handle, 77);
    assert_meta_equal(&out.meta, &in.meta);
    msgpack_sbuffer_destroy(&sb);
}

static void test_codec_stat_reply_round_trips(void **state)
{
    struct wire *w = *state;
    struct meta in, out;
    struct codec_msg msg;
    msgpack_sbuffer sb;
    char err[256];

    sample_meta(&in, "a");
    in.persist = false;
    in.path[0] = '\0';
    in.ndim = 1;
    in.shape[0] = 5;
    in.order = 'C';
    assert_int_equal(dtype_parse("<U3", &in.dtype), 0);
    in.nbytes = 60;
    in.offset = 128; /* an adopted numpy file's data offset */
    in.ctime_ns = -5;
    msgpack_sbuffer_init(&sb);
    assert_int_equal(codec_pack_reply_stat(&sb, 2, &in), 0);
    wire_msg(w, &sb, CODEC_RESPONSE, 2, &msg);
    assert_int_equal(codec_parse_reply_stat(msg.result, &out, err, sizeof(err)), 0);
    assert_meta_equal(&out, &in);
    msgpack_sbuffer_destroy(&sb);
}

static bool map_has(const msgpack_object *map, const char *key)
{
    for (uint32_t i = 0; map->type == MSGPACK_OBJECT_MAP && i < map->via.map.size; i++) {
        const msgpack_object *k = &map->via.map.ptr[i].key;
        if (k->type == MSGPACK_OBJECT_STR && k->via.str.size == strlen(key) &&
            memcmp(k->via.str.ptr, key, k->via.str.size) == 0)
            return true;
    }
    return false;
}

static void test_codec_list_reply_round_trips_and_respects_cap(void **state)
{
    struct wire *w = *state;
    struct meta in[3], out[3];
    const struct meta *ptrs[3] = { &in[0], &in[1], &in[2] };
    struct codec_msg msg;
    msgpack_sbuffer sb;
    size_t n = 99;
    bool more = false;
    char err[256];

    sample_meta(&in[0], "a");
    sample_meta(&in[1], "b");
    sample_meta(&in[2], "c");
    in[1].uid = 0;
    /* The table a client asks for, and the maps of a client that predates tables. */
    for (int table = 0; table < 2; table++) {
        msgpack_sbuffer_init(&sb);
        assert_int_equal(codec_pack_reply_list(&sb, 6, ptrs, 3, true, table), 0);
        wire_msg(w, &sb, CODEC_RESPONSE, 6, &msg);
        assert_true(map_has(msg.result, table ? "rows" : "arrays"));
        assert_int_equal(
            codec_parse_reply_list(msg.result, out, 3, &n, &more, err, sizeof(err)), 0);
        assert_int_equal(n, 3);
        assert_true(more);
        for (size_t i = 0; i < 3; i++)
            assert_meta_equal(&out[i], &in[i]);
        assert_int_equal(
            codec_parse_reply_list(msg.result, out, 2, &n, &more, err, sizeof(err)),
            -EOVERFLOW);
        msgpack_sbuffer_destroy(&sb);
    }

    msgpack_sbuffer_init(&sb);
    assert_int_equal(codec_pack_reply_list(&sb, 7, NULL, 0, false, true), 0);
    wire_msg(w, &sb, CODEC_RESPONSE, 7, &msg);
    assert_int_equal(codec_parse_reply_list(msg.result, out, 0, &n, &more, err, sizeof(err)), 0);
    assert_int_equal(n, 0);
    assert_false(more);
    msgpack_sbuffer_destroy(&sb);
}

/* A peer may send the columns in any order and columns this reader does not know;
 * a column left out takes an array map's default, and a row must fill every column. */
static void test_codec_list_reply_rows_are_read_by_column_name(void **state)
{
    struct wire *w = *state;
    msgpack_object dims[] = { o_uint(3), o_uint(2) };
    msgpack_object columns[] = { o_str("shape"), o_str("from_the_future"), o_str("uid"),
                                 o_str("dtype"), o_str("name") };
    msgpack_object row[] = { o_array(dims, 2), o_str("?"), o_uint(7), o_str("<f8"),
                             o_str("b") };
    msgpack_object rows[] = { o_array(row, 5) }, short_rows[] = { o_array(row, 4) };
    msgpack_object_kv kv[] = { { o_str("columns"), o_array(columns, 5) },
                               { o_str("rows"), o_array(rows, 1) } };
    struct meta out[1];
    size_t n = 0;
    bool more = true;
    char err[256] = "";

    assert_int_equal(codec_parse_reply_list(wire_object(w, o_map(kv, 2)), out, 1, &n, &more,
                                            err, sizeof(err)), 0);
    assert_int_equal(n, 1);
    assert_false(more);
    assert_string_equal(out[0].name, "b");
    assert_string_equal(out[0].dtype.str, "<f8");
    assert_int_equal(out[0].ndim, 2);
    assert_int_equal(out[0].shape[0], 3);
    assert_int_equal(out[0].shape[1], 2);
    assert_int_equal(out[0].nbytes, 48);
    assert_int_equal(out[0].uid, 7);
    assert_int_equal(out[0].gid, 0);
    assert_int_equal(out[0].order, 'C');
    assert_int_equal(out[0].offset, PROTO_DATA_OFFSET);
    assert_string_equal(out[0].path, "");

    kv[1].val = o_array(short_rows, 1);
    assert_int_equal(codec_parse_reply_list(wire_object(w, o_map(kv, 2)), out, 1, &n, &more,
                                            err, sizeof(err)), -EINVAL);
    assert_string_equal(err, "list reply: rows[]: a row must be an array of one value per "
                        "column");
}

static void test_codec_stats_reply_round_trips(void **state)
{
    struct wire *w = *state;
    struct codec_stats_reply in = { 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, UINT64_MAX, 12, -13,
                                    14, 15, 16, 17, 18 };
    struct codec_stats_reply out;
    struct codec_msg msg;
    msgpack_sbuffer sb;
    char err[256];

    msgpack_sbuffer_init(&sb);
    assert_int_equal(codec_pack_reply_stats(&sb, 9, &in), 0);
    wire_msg(w, &sb, CODEC_RESPONSE, 9, &msg);
    memset(&out, 0, sizeof(out));
    assert_int_equal(codec_parse_reply_stats(msg.result, &out, err, sizeof(err)), 0);
    assert_int_equal(out.arrays, 1);
    assert_int_equal(out.arrays_volatile, 2);
    assert_int_equal(out.arrays_persistent, 3);
    assert_int_equal(out.bytes, 4);
    assert_int_equal(out.bytes_volatile, 5);
    assert_int_equal(out.bytes_persistent, 6);
    assert_int_equal(out.connections, 7);
    assert_int_equal(out.attachments, 8);
    assert_int_equal(out.persist_capacity, 9);
    assert_int_equal(out.persist_free, 10);
    assert_int_equal(out.volatile_capacity, 11);
    assert_int_equal(out.volatile_free, UINT64_MAX);
    assert_int_equal(out.pid, 12);
    assert_int_equal(out.uptime_ms, -13);
    assert_int_equal(out.volatile_limit, 14);
    assert_int_equal(out.volatile_limit_per_uid, 15);
    assert_int_equal(out.volatile_reserved, 16);
    assert_int_equal(out.bytes_grown, 17);
    assert_int_equal(out.arrays_damaged, 18);
    msgpack_sbuffer_destroy(&sb);
}

static void test_codec_empty_reply_is_an_empty_map(void **state)
{
    struct wire *w = *state;
    struct codec_msg msg;
    msgpack_sbuffer sb;

    msgpack_sbuffer_init(&sb);
    assert_int_equal(codec_pack_reply_empty(&sb, 10), 0);
    wire_msg(w, &sb, CODEC_RESPONSE, 10, &msg);
    assert_int_equal(msg.err, 0);
    assert_int_equal(msg.result->type, MSGPACK_OBJECT_MAP);
    assert_int_equal(msg.result->via.map.size, 0);
    msgpack_sbuffer_destroy(&sb);
}

static void test_codec_error_reply_carries_code_and_message(void **state)
{
    struct wire *w = *state;
    struct codec_msg msg;
    msgpack_sbuffer sb;
    char longmsg[1000];

    msgpack_sbuffer_init(&sb);
    assert_int_equal(codec_pack_error(&sb, 11, -ENOENT, "no array named 'x'"), 0);
    wire_msg(w, &sb, CODEC_RESPONSE, 11, &msg);
    assert_int_equal(msg.err, -ENOENT);
    assert_string_equal(msg.errmsg, "no array named 'x'");
    assert_null(msg.result);
    msgpack_sbuffer_destroy(&sb);

    /* messages are cut to PROTO_TEXT_MAX on the way out */
    memset(longmsg, 'm', sizeof(longmsg) - 1);
    longmsg[sizeof(longmsg) - 1] = '\0';
    msgpack_sbuffer_init(&sb);
    assert_int_equal(codec_pack_error(&sb, 12, -EPROTONOSUPPORT, longmsg), 0);
    wire_msg(w, &sb, CODEC_RESPONSE, 12, &msg);
    assert_int_equal(msg.err, -EPROTONOSUPPORT);
    assert_int_equal(strlen(msg.errmsg), PROTO_TEXT_MAX);
    msgpack_sbuffer_destroy(&sb);
}

static void test_codec_error_reply_from_peer_is_bounded_and_unknown_codes_are_eio(void **state)
{
    struct wire *w = *state;
    static char longmsg[5000];
    msgpack_object_kv ekv[] = { { o_str("code"), o_str("EFROMTHEFUTURE") },
                                { o_str("message"), o_strn(longmsg, sizeof(longmsg)) } };
    msgpack_object env[] = { o_uint(1), o_uint(3), o_map(ekv, 2), o_nil() };
    struct codec_msg msg;
    char err[256];

    memset(longmsg, 'q', sizeof(longmsg));
    assert_int_equal(codec_parse_msg(wire_object(w, o_array(env, 4)), &msg, NULL, err,
                                     sizeof(err)), 0);
    assert_int_equal(msg.err, -EIO);
    assert_int_equal(strlen(msg.errmsg), PROTO_TEXT_MAX);
}

static void test_codec_notification_parses(void **state)
{
    struct wire *w = *state;
    msgpack_object_kv kv[] = { { o_str("name"), o_str("a") } };
    msgpack_object params[] = { o_map(kv, 1) };
    msgpack_object env[] = { o_uint(2), o_str("created"), o_array(params, 1) };
    struct codec_msg msg;
    char err[256];

    assert_int_equal(codec_parse_msg(wire_object(w, o_array(env, 3)), &msg, NULL, err,
                                     sizeof(err)), 0);
    assert_int_equal(msg.type, CODEC_NOTIFY);
    assert_string_equal(msg.method, "created");
    assert_non_null(msg.params);
    assert_int_equal(msg.params->type, MSGPACK_OBJECT_MAP);
}

/* Malformed envelopes. */

static void expect_bad_envelope(struct wire *w, msgpack_object env, int want_known)
{
    struct codec_msg msg;
    char err[256] = "";
    int known = -1;

    assert_int_equal(codec_parse_msg(wire_object(w, env), &msg, &known, err, sizeof(err)),
                     -EBADMSG);
    assert_int_equal(known, want_known);
    assert_true(strncmp(err, "envelope", 8) == 0);
}

/* Values of every msgpack type, to put where they do not belong. */
static size_t wrong_values(msgpack_object *out)
{
    static msgpack_object one[1];
    static msgpack_object_kv kv[1];
    size_t n = 0;

    one[0] = o_uint(1);
    kv[0].key = o_str("a");
    kv[0].val = o_uint(1);
    out[n++] = o_nil();
    out[n++] = o_bool(true);
    out[n++] = o_neg(-5);
    out[n++] = o_uint(7);
    out[n++] = o_f64(1.5);
    out[n++] = o_str("x");
    out[n++] = o_bin("x");
    out[n++] = o_ext();
    out[n++] = o_array(NULL, 0);
    out[n++] = o_array(one, 1);
    out[n++] = o_map(NULL, 0);
    out[n++] = o_map(kv, 1);
    return n;
}

static void test_codec_rejects_wrong_types_at_every_envelope_position(void **state)
{
    struct wire *w = *state;
    msgpack_object_kv kv[] = { { o_str("name"), o_str("a") } };
    msgpack_object params[] = { o_map(kv, 1) };
    msgpack_object good[] = { o_uint(0), o_uint(7), o_str("stat"), o_array(params, 1) };
    msgpack_object wrong[16];
    size_t nwrong = wrong_values(wrong);
    struct codec_msg msg;
    char err[256];

    assert_int_equal(codec_parse_msg(wire_object(w, o_array(good, 4)), &msg, NULL, err,
                                     sizeof(err)), 0);
    for (size_t pos = 0; pos < 4; pos++) {
        for (size_t i = 0; i < nwrong; i++) {
            msgpack_object env[4];
            memcpy(env, good, sizeof(good));
            if (wrong[i].type == good[pos].type)
                continue;
            env[pos] = wrong[i];
            /* a type of 1 or 2 makes a different (and here malformed) envelope */
            if (pos == 0 && wrong[i].type == MSGPACK_OBJECT_POSITIVE_INTEGER)
                continue;
            expect_bad_envelope(w, o_array(env, 4), pos >= 2 ? 1 : 0);
        }
    }
}

static void test_codec_rejects_malformed_envelopes(void **state)
{
    struct wire *w = *state;
    msgpack_object_kv kv[] = { { o_str("name"), o_str("a") } };
    msgpack_object_kv nonstr_key[] = { { o_uint(1), o_str("ENOENT") } };
    msgpack_object_kv bad_code[] = { { o_str("code"), o_uint(2) } };
    msgpack_object_kv no_code[] = { { o_str("message"), o_str("x") } };
    msgpack_object_kv bad_message[] = { { o_str("code"), o_str("ENOENT") },
                                        { o_str("message"), o_uint(1) } };
    msgpack_object one_map[] = { o_map(kv, 1) };
    msgpack_object two_maps[] = { o_map(kv, 1), o_map(kv, 1) };
    msgpack_object a_nil[] = { o_nil() };
    char method16[PROTO_METHOD_MAX + 1];

    memset(method16, 'm', sizeof(method16));
    {
        msgpack_object e[] = { o_uint(3), o_uint(1), o_str("stat"), o_array(one_map, 1) };
        expect_bad_envelope(w, o_array(e, 4), 0); /* type 3 */
    }
    {
        msgpack_object e[] = { o_uint(0), o_uint(1ull << 32), o_str("stat"),
                               o_array(one_map, 1) };
        expect_bad_envelope(w, o_array(e, 4), 0); /* msgid beyond 32 bits */
    }
    {
        msgpack_object e[] = { o_uint(0), o_uint(1), o_str("stat") };
        expect_bad_envelope(w, o_array(e, 3), 1); /* too short, msgid known */
    }
    {
        msgpack_object e[] = { o_uint(0), o_uint(1), o_str("stat"), o_array(one_map, 1),
                               o_nil() };
        expect_bad_envelope(w, o_array(e, 5), 1);
    }
    {
        msgpack_object e[] = { o_uint(0), o_uint(1), o_strn(method16, sizeof(method16)),
                               o_array(one_map, 1) };
        expect_bad_envelope(w, o_array(e, 4), 1); /* method over PROTO_METHOD_MAX */
    }
    {
        msgpack_object e[] = { o_uint(0), o_uint(1), o_str(""), o_array(one_map, 1) };
        expect_bad_envelope(w, o_array(e, 4), 1);
    }
    {
        msgpack_object e[] = { o_uint(0), o_uint(1), o_strn("st\0t", 4), o_array(one_map, 1) };
        expect_bad_envelope(w, o_array(e, 4), 1);
    }
    {
        msgpack_object e[] = { o_uint(0), o_uint(1), o_str("stat"), o_array(two_maps, 2) };
        expect_bad_envelope(w, o_array(e, 4), 1);
    }
    {
        msgpack_object e[] = { o_uint(0), o_uint(1), o_str("stat"), o_array(a_nil, 1) };
        expect_bad_envelope(w, o_array(e, 4), 1);
    }
    expect_bad_envelope(w, o_array(NULL, 0), 0);
    expect_bad_envelope(w, o_map(kv, 1), 0);
    expect_bad_envelope(w, o_str("hello"), 0);
    {
        msgpack_object e[] = { o_uint(1), o_uint(1), o_str("boom"), o_map(NULL, 0) };
        expect_bad_envelope(w, o_array(e, 4), 0); /* error must be nil or a map */
    }
    {
        msgpack_object e[] = { o_uint(1), o_uint(1), o_nil(), o_nil() };
        expect_bad_envelope(w, o_array(e, 4), 0); /* success needs a result map */
    }
    {
        msgpack_object e[] = { o_uint(1), o_uint(1), o_nil(), o_array(NULL, 0) };
        expect_bad_envelope(w, o_array(e, 4), 0);
    }
    {
        msgpack_object e[] = { o_uint(1), o_uint(1), o_map(bad_code, 1), o_nil() };
        expect_bad_envelope(w, o_array(e, 4), 0);
    }
    {
        msgpack_object e[] = { o_uint(1), o_uint(1), o_map(no_code, 1), o_nil() };
        expect_bad_envelope(w, o_array(e, 4), 0);
    }
    {
        msgpack_object e[] = { o_uint(1), o_uint(1), o_map(bad_message, 2), o_nil() };
        expect_bad_envelope(w, o_array(e, 4), 0);
    }
    {
        msgpack_object e[] = { o_uint(1), o_uint(1), o_map(nonstr_key, 1), o_nil() };
        expect_bad_envelope(w, o_array(e, 4), 0);
    }
    {
        msgpack_object e[] = { o_uint(2), o_str("x") };
        expect_bad_envelope(w, o_array(e, 2), 0);
    }
    {
        msgpack_object e[] = { o_uint(2), o_uint(5), o_array(NULL, 0) };
        expect_bad_envelope(w, o_array(e, 3), 0);
    }
}

/* Malformed params and results. */

typedef int (*parse_fn)(const msgpack_object *map, char *err, size_t errlen);

struct field {
    const char *key;
    msgpack_object value;
    int flags;
};

#define REQ 1    /* the field is required */
#define ANYINT 2 /* negative and non-negative integers are both of the right type */

static void expect_field_error(const char *what, const char *key, const char *err, int r,
                               const char *why)
{
    char quoted[64];

    snprintf(quoted, sizeof(quoted), "'%s'", key);
    if (r >= 0)
        fail_msg("%s: '%s' %s was accepted", what, key, why);
    if (strncmp(err, what, strlen(what)) != 0 || strstr(err, quoted) == NULL)
        fail_msg("%s: '%s' %s: message \"%s\" does not name method and field", what, key,
                 why, err);
}

/* For each field: every wrong msgpack type, absence (when required) and repetition
 * must be refused with a message naming what is parsed and the field. */
static void check_fields(struct wire *w, const char *what, parse_fn parse,
                         const struct field *fields, size_t n)
{
    msgpack_object_kv kv[32];
    msgpack_object wrong[16];
    size_t nwrong = wrong_values(wrong);
    char err[256] = "";
    int r;

    assert_true(n < 31);
    for (size_t i = 0; i < n; i++) {
        kv[i].key = o_str(fields[i].key);
        kv[i].val = fields[i].value;
    }
    r = parse(wire_object(w, o_map(kv, (uint32_t)n)), err, sizeof(err));
    if (r != 0)
        fail_msg("%s: the valid map was refused (%d): %s", what, r, err);

    for (size_t i = 0; i < n; i++) {
        for (size_t j = 0; j < nwrong; j++) {
            bool is_int = wrong[j].type == MSGPACK_OBJECT_POSITIVE_INTEGER ||
                          wrong[j].type == MSGPACK_OBJECT_NEGATIVE_INTEGER;
            if (wrong[j].type == fields[i].value.type || ((fields[i].flags & ANYINT) && is_int))
                continue;
            kv[i].val = wrong[j];
            err[0] = '\0';
            r = parse(wire_object(w, o_map(kv, (uint32_t)n)), err, sizeof(err));
            expect_field_error(what, fields[i].key, err, r, "of a wrong type");
            assert_int_equal(r, -EINVAL);
        }
        kv[i].val = fields[i].value;

        /* repeated */
        kv[n] = kv[i];
        err[0] = '\0';
        r = parse(wire_object(w, o_map(kv, (uint32_t)n + 1)), err, sizeof(err));
        expect_field_error(what, fields[i].key, err, r, "repeated");

        /* absent */
        if ((fields[i].flags & REQ)) {
            msgpack_object_kv saved = kv[i];
            kv[i] = kv[n - 1];
            err[0] = '\0';
            r = parse(wire_object(w, o_map(kv, (uint32_t)n - 1)), err, sizeof(err));
            expect_field_error(what, fields[i].key, err, r, "absent");
            kv[n - 1] = kv[i];
            kv[i] = saved;
        }
    }

    /* a key that is not a string */
    kv[n].key = o_uint(1);
    kv[n].val = o_uint(1);
    r = parse(wire_object(w, o_map(kv, (uint32_t)n + 1)), err, sizeof(err));
    assert_int_equal(r, -EINVAL);
    /* params that are not a map at all */
    r = parse(wire_object(w, o_str("params")), err, sizeof(err));
    assert_int_equal(r, -EINVAL);
}

static int parse_hello(const msgpack_object *m, char *err, size_t errlen)
{
    struct codec_hello out;
    return codec_parse_hello(m, &out, err, errlen);
}

static int parse_create(const msgpack_object *m, char *err, size_t errlen)
{
    struct codec_create out;
    return codec_parse_create(m, &out, err, errlen);
}

static int parse_open(const msgpack_object *m, char *err, size_t errlen)
{
    struct codec_open out;
    return codec_parse_open(m, &out, err, errlen);
}

static int parse_name(const msgpack_object *m, char *err, size_t errlen)
{
    struct codec_name out;
    return codec_parse_name(m, &out, err, errlen);
}

static int parse_release(const msgpack_object *m, char *err, size_t errlen)
{
    struct codec_release out;
    return codec_parse_release(m, &out, err, errlen);
}

static int parse_list(const msgpack_object *m, char *err, size_t errlen)
{
    struct codec_list out;
    return codec_parse_list(m, &out, err, errlen);
}

static int parse_meta(const msgpack_object *m, char *err, size_t errlen)
{
    struct meta out;
    return codec_parse_meta(m, &out, err, errlen);
}

static int parse_reply_hello(const msgpack_object *m, char *err, size_t errlen)
{
    struct codec_hello_reply out;
    return codec_parse_reply_hello(m, &out, err, errlen);
}

static int parse_reply_attach(const msgpack_object *m, char *err, size_t errlen)
{
    struct codec_attach_reply out;
    int has_fd;
    return codec_parse_reply_attach(m, &out, &has_fd, err, errlen);
}

static int parse_reply_stat(const msgpack_object *m, char *err, size_t errlen)
{
    struct meta out;
    return codec_parse_reply_stat(m, &out, err, errlen);
}

static int parse_reply_list(const msgpack_object *m, char *err, size_t errlen)
{
    struct meta out[2];
    size_t n;
    bool more;
    return codec_parse_reply_list(m, out, 2, &n, &more, err, errlen);
}

static int parse_reply_stats(const msgpack_object *m, char *err, size_t errlen)
{
    struct codec_stats_reply out;
    return codec_parse_reply_stats(m, &out, err, errlen);
}

/* A meta map nested where the replies carry it. */
static int parse_meta_in_attach(const msgpack_object *m, char *err, size_t errlen)
{
    msgpack_object_kv kv[] = { { o_str("array"), *m }, { o_str("handle"), o_uint(1) } };
    msgpack_object result = o_map(kv, 2);
    return parse_reply_attach(&result, err, errlen);
}

/* A list reply is a table: the map's keys become its columns and its values one row.
 * What is not a map becomes a row of its own under no columns. */
static int parse_meta_in_list(const msgpack_object *m, char *err, size_t errlen)
{
    msgpack_object columns[32], values[32], rows[1];
    uint32_t n = m->type == MSGPACK_OBJECT_MAP ? m->via.map.size : 0;
    msgpack_object_kv kv[2];
    msgpack_object result;

    assert_true(n <= 32);
    for (uint32_t i = 0; i < n; i++) {
        columns[i] = m->via.map.ptr[i].key;
        values[i] = m->via.map.ptr[i].val;
    }
    rows[0] = m->type == MSGPACK_OBJECT_MAP ? o_array(values, n) : *m;
    kv[0] = (msgpack_object_kv){ o_str("columns"), o_array(columns, n) };
    kv[1] = (msgpack_object_kv){ o_str("rows"), o_array(rows, 1) };
    result = o_map(kv, 2);
    return parse_reply_list(&result, err, errlen);
}

static int parse_limits_in_hello(const msgpack_object *m, char *err, size_t errlen)
{
    msgpack_object_kv kv[] = { { o_str("version"), o_uint(1) }, { o_str("pid"), o_uint(2) },
                               { o_str("limits"), *m } };
    msgpack_object result = o_map(kv, 3);
    return parse_reply_hello(&result, err, errlen);
}

static msgpack_object shape_dims[] = { { .type = MSGPACK_OBJECT_POSITIVE_INTEGER, .via.u64 = 3 },
                                       { .type = MSGPACK_OBJECT_POSITIVE_INTEGER, .via.u64 = 4 } };

#define META_NFIELDS 15 /* the keys of an array map */

static void meta_fields(struct field *f)
{
    const struct field all[] = {
        { "name", o_str("a"), REQ },          { "dtype", o_str("<f4"), REQ },
        { "shape", o_array(shape_dims, 2), REQ }, { "order", o_str("C"), 0 },
        { "nbytes", o_uint(48), 0 },       { "offset", o_uint(4096), 0 },
        { "persist", o_bool(false), 0 },   { "perm", o_uint(0600), 0 },
        { "uid", o_uint(1), 0 },           { "gid", o_uint(2), 0 },
        { "ctime_ns", o_uint(3), ANYINT },      { "nattached", o_uint(0), 0 },
        { "path", o_str(""), 0 },          { "grown", o_uint(0), 0 },
        { "damaged", o_bool(false), 0 },
    };
    memcpy(f, all, sizeof(all));
}

static void test_codec_rejects_wrong_types_in_every_request_field(void **state)
{
    struct wire *w = *state;
    const struct field hello[] = {
        { "version", o_uint(1), REQ }, { "client", o_str("me"), 0 },
    };
    const struct field create[] = {
        { "name", o_str("a"), REQ },        { "dtype", o_str("<f4"), REQ },
        { "shape", o_array(shape_dims, 2), REQ }, { "order", o_str("F"), 0 },
        { "persist", o_bool(true), 0 },  { "perm", o_uint(0644), 0 },
        { "overwrite", o_bool(false), 0 },
    };
    const struct field open[] = {
        { "name", o_str("a"), REQ }, { "mode", o_str("r"), 0 },
        { "wait_ms", o_uint(10), ANYINT }, { "owner", o_uint(1000), 0 },
    };
    const struct field open_neg[] = {
        { "name", o_str("a"), REQ }, { "wait_ms", o_neg(-1), ANYINT },
    };
    const struct field name[] = { { "name", o_str("a"), REQ } };
    const struct field release[] = { { "handle", o_uint(5), REQ } };
    const struct field list[] = {
        { "after", o_str(""), 0 }, { "limit", o_uint(10), 0 },
    };

    check_fields(w, "hello", parse_hello, hello, 2);
    check_fields(w, "create", parse_create, create, 7);
    check_fields(w, "open", parse_open, open, 4);
    check_fields(w, "open", parse_open, open_neg, 2);
    check_fields(w, "request", parse_name, name, 1);
    check_fields(w, "release", parse_release, release, 1);
    check_fields(w, "list", parse_list, list, 2);
}

static void test_codec_rejects_wrong_types_in_every_reply_field(void **state)
{
    struct wire *w = *state;
    msgpack_object caps[] = { o_str("persist") };
    msgpack_object_kv limits_kv[] = {
        { o_str("name"), o_uint(255) }, { o_str("ndim"), o_uint(64) },
        { o_str("request"), o_uint(65536) }, { o_str("list_page"), o_uint(1024) },
    };
    const struct field hello[] = {
        { "version", o_uint(1), REQ }, { "server", o_str("sharrd"), 0 },
        { "pid", o_uint(1), REQ },     { "limits", o_map(limits_kv, 4), REQ },
        { "capabilities", o_array(caps, 1), 0 },
    };
    const struct field limits[] = {
        { "name", o_uint(255), REQ }, { "ndim", o_uint(64), REQ },
        { "request", o_uint(65536), REQ }, { "list_page", o_uint(1024), REQ },
    };
    struct field meta[META_NFIELDS];
    msgpack_object_kv meta_kv[META_NFIELDS];
    msgpack_object meta_columns[META_NFIELDS], meta_values[META_NFIELDS], one_row[1];
    const char *counters[] = { "arrays", "arrays_volatile", "arrays_persistent", "bytes",
                               "bytes_volatile", "bytes_persistent", "connections",
                               "attachments", "persist_capacity", "persist_free",
                               "volatile_capacity", "volatile_free", "pid" };
    const char *optional[] = { "volatile_limit", "volatile_limit_per_uid",
                               "volatile_reserved", "bytes_grown", "arrays_damaged" };
    struct field stats[19];

    meta_fields(meta);
    for (size_t i = 0; i < META_NFIELDS; i++) {
        meta_kv[i].key = o_str(meta[i].key);
        meta_kv[i].val = meta[i].value;
        meta_columns[i] = o_str(meta[i].key);
        meta_values[i] = meta[i].value;
    }
    one_row[0] = o_array(meta_values, META_NFIELDS);
    {
        const struct field attach[] = {
            { "array", o_map(meta_kv, META_NFIELDS), REQ }, { "handle", o_uint(1), REQ },
            { "fd", o_bool(true), 0 },
        };
        const struct field stat[] = { { "array", o_map(meta_kv, META_NFIELDS), REQ } };
        const struct field list[] = {
            { "columns", o_array(meta_columns, META_NFIELDS), REQ }, { "rows", o_array(one_row, 1), REQ },
            { "more", o_bool(false), 0 },
        };
        check_fields(w, "attach reply", parse_reply_attach, attach, 3);
        check_fields(w, "stat reply", parse_reply_stat, stat, 1);
        check_fields(w, "list reply", parse_reply_list, list, 3);
    }
    for (size_t i = 0; i < 13; i++)
        stats[i] = (struct field){ counters[i], o_uint(i), REQ };
    stats[13] = (struct field){ "uptime_ms", o_uint(5), REQ | ANYINT };
    for (size_t i = 0; i < 5; i++)
        stats[14 + i] = (struct field){ optional[i], o_uint(i), 0 };

    check_fields(w, "hello reply", parse_reply_hello, hello, 5);
    check_fields(w, "hello reply: limits", parse_limits_in_hello, limits, 4);
    check_fields(w, "array", parse_meta, meta, META_NFIELDS);
    check_fields(w, "attach reply: array", parse_meta_in_attach, meta, META_NFIELDS);
    /* Repeated and missing columns are named under "columns", bad values under "rows[]". */
    check_fields(w, "list reply: ", parse_meta_in_list, meta, META_NFIELDS);
    check_fields(w, "stats reply", parse_reply_stats, stats, 19);
}

/* Values of the right type. */

/* A create map with one field replaced; returns the parse result. */
static int create_with(struct wire *w, const char *key, msgpack_object value, char *err,
                       size_t errlen, struct codec_create *out)
{
    msgpack_object_kv kv[] = {
        { o_str("name"), o_str("a") },
        { o_str("dtype"), o_str("<f8") },
        { o_str("shape"), o_array(shape_dims, 2) },
    };
    msgpack_object_kv extra[4];
    uint32_t n = 3;
    bool replaced = false;

    memcpy(extra, kv, sizeof(kv));
    for (uint32_t i = 0; i < n; i++) {
        if (strcmp(kv[i].key.via.str.ptr, key) == 0) {
            extra[i].val = value;
            replaced = true;
        }
    }
    if (!replaced) {
        extra[n].key = o_str(key);
        extra[n].val = value;
        n++;
    }
    err[0] = '\0';
    return codec_parse_create(wire_object(w, o_map(extra, n)), out, err, errlen);
}

static void test_codec_create_checks_values(void **state)
{
    struct wire *w = *state;
    msgpack_object overflow[] = { o_uint(1ull << 32), o_uint(1ull << 32), o_uint(2) };
    msgpack_object zero[] = { o_uint(3), o_uint(0) };
    msgpack_object negative[] = { o_neg(-3) };
    msgpack_object floating[] = { o_f64(3.0) };
    msgpack_object text[] = { o_str("3") };
    msgpack_object dims65[PROTO_NDIM_MAX + 1];
    char long_name[PROTO_NAME_MAX + 1];
    char long_dtype[PROTO_DTYPE_MAX + 1];
    struct codec_create out;
    char err[256];

    for (size_t i = 0; i < PROTO_NDIM_MAX + 1; i++)
        dims65[i] = o_uint(1);
    memset(long_name, 'n', sizeof(long_name));
    memset(long_dtype, '0', sizeof(long_dtype));
    memcpy(long_dtype, "|S1", 3);

    assert_int_equal(create_with(w, "shape", o_array(overflow, 3), err, sizeof(err), &out),
                     -EOVERFLOW);
    assert_non_null(strstr(err, "create: 'shape'"));
    assert_int_equal(create_with(w, "shape", o_array(zero, 2), err, sizeof(err), &out), -EINVAL);
    assert_string_equal(err, "create: 'shape' must be an array of 1..64 positive integers");
    assert_int_equal(create_with(w, "shape", o_array(negative, 1), err, sizeof(err), &out),
                     -EINVAL);
    assert_int_equal(create_with(w, "shape", o_array(floating, 1), err, sizeof(err), &out),
                     -EINVAL);
    assert_int_equal(create_with(w, "shape", o_array(text, 1), err, sizeof(err), &out), -EINVAL);
    assert_int_equal(create_with(w, "shape", o_array(NULL, 0), err, sizeof(err), &out), -EINVAL);
    assert_int_equal(create_with(w, "shape", o_array(dims65, PROTO_NDIM_MAX + 1), err,
                                 sizeof(err), &out), -EINVAL);
    assert_int_equal(create_with(w, "shape", o_array(dims65, PROTO_NDIM_MAX), err, sizeof(err),
                                 &out), 0);
    assert_int_equal(out.ndim, PROTO_NDIM_MAX);

    assert_int_equal(create_with(w, "name", o_strn(long_name, PROTO_NAME_MAX + 1), err,
                                 sizeof(err), &out), -ENAMETOOLONG);
    assert_non_null(strstr(err, "create: 'name'"));
    assert_int_equal(create_with(w, "name", o_strn(long_name, PROTO_NAME_MAX), err,
                                 sizeof(err), &out), 0);
    assert_int_equal(strlen(out.name), PROTO_NAME_MAX);
    assert_int_equal(create_with(w, "name", o_str(""), err, sizeof(err), &out), -EINVAL);
    assert_int_equal(create_with(w, "name", o_str("../x"), err, sizeof(err), &out), -EINVAL);
    assert_int_equal(create_with(w, "name", o_str(".x"), err, sizeof(err), &out), -EINVAL);
    assert_int_equal(create_with(w, "name", o_strn("a\0b", 3), err, sizeof(err), &out), -EINVAL);

    assert_int_equal(create_with(w, "dtype", o_str("float33"), err, sizeof(err), &out), -EINVAL);
    assert_non_null(strstr(err, "create: 'dtype'"));
    assert_int_equal(create_with(w, "dtype", o_strn(long_dtype, sizeof(long_dtype)), err,
                                 sizeof(err), &out), -EINVAL);
    assert_int_equal(create_with(w, "dtype", o_str("|O"), err, sizeof(err), &out), -EINVAL);
    assert_int_equal(create_with(w, "dtype", o_str("complex128"), err, sizeof(err), &out), 0);
    assert_string_equal(out.dtype.str, "<c16");

    assert_int_equal(create_with(w, "order", o_str("c"), err, sizeof(err), &out), -EINVAL);
    assert_int_equal(create_with(w, "order", o_str("CF"), err, sizeof(err), &out), -EINVAL);
    assert_int_equal(create_with(w, "perm", o_uint(010000), err, sizeof(err), &out), -EINVAL);
    /* One rule for permission bits (perm.h): no setuid, setgid or sticky bit. */
    assert_int_equal(create_with(w, "perm", o_uint(01000), err, sizeof(err), &out), -EINVAL);
    assert_string_equal(err, "create: 'perm' must be permission bits, at most 0777");
    assert_int_equal(create_with(w, "perm", o_uint(07777), err, sizeof(err), &out), -EINVAL);
    assert_int_equal(create_with(w, "perm", o_uint(0777), err, sizeof(err), &out), 0);
    assert_int_equal(out.perm, 0777);
    assert_int_equal(create_with(w, "perm", o_uint(0), err, sizeof(err), &out), 0);
    assert_int_equal(out.perm, 0);

    /* no params at all: the name is missing */
    assert_int_equal(codec_parse_create(NULL, &out, err, sizeof(err)), -EINVAL);
    assert_string_equal(err, "create: 'name' is required");
}

static void test_codec_open_list_hello_check_values(void **state)
{
    struct wire *w = *state;
    char err[256];
    char long_after[PROTO_NAME_MAX + 1];
    char long_client[PROTO_TEXT_MAX + 50];
    struct codec_open o;
    struct codec_list l;
    struct codec_hello h;

    memset(long_after, 'a', sizeof(long_after));
    memset(long_client, 'c', sizeof(long_client));
    {
        msgpack_object_kv kv[] = { { o_str("name"), o_str("a") }, { o_str("wait_ms"), o_neg(-2) } };
        assert_int_equal(codec_parse_open(wire_object(w, o_map(kv, 2)), &o, err, sizeof(err)),
                         -EINVAL);
        assert_non_null(strstr(err, "open: 'wait_ms'"));
        kv[1].val = o_uint(1ull << 63);
        assert_int_equal(codec_parse_open(wire_object(w, o_map(kv, 2)), &o, err, sizeof(err)),
                         -EINVAL);
    }
    {
        const char *modes[] = { "w+", "rw", "", "R", "r+ " };
        msgpack_object_kv kv[] = { { o_str("name"), o_str("a") }, { o_str("mode"), o_nil() } };
        for (size_t i = 0; i < 5; i++) {
            kv[1].val = o_str(modes[i]);
            assert_int_equal(codec_parse_open(wire_object(w, o_map(kv, 2)), &o, err,
                                              sizeof(err)), -EINVAL);
            assert_string_equal(err, "open: 'mode' must be \"r\", \"r+\" or \"c\"");
        }
    }
    {
        msgpack_object_kv kv[] = { { o_str("limit"), o_uint(0) } };
        assert_int_equal(codec_parse_list(wire_object(w, o_map(kv, 1)), &l, err, sizeof(err)),
                         -EINVAL);
        assert_string_equal(err, "list: 'limit' must be an integer in 1..1024");
        kv[0].val = o_uint(PROTO_LIST_PAGE_MAX + 1);
        assert_int_equal(codec_parse_list(wire_object(w, o_map(kv, 1)), &l, err, sizeof(err)),
                         -EINVAL);
        kv[0].val = o_uint(1);
        assert_int_equal(codec_parse_list(wire_object(w, o_map(kv, 1)), &l, err, sizeof(err)), 0);
        assert_int_equal(l.limit, 1);
        kv[0].key = o_str("after");
        kv[0].val = o_strn(long_after, sizeof(long_after));
        assert_int_equal(codec_parse_list(wire_object(w, o_map(kv, 1)), &l, err, sizeof(err)),
                         -EINVAL);
        assert_non_null(strstr(err, "list: 'after'"));
    }
    {
        msgpack_object_kv kv[] = { { o_str("version"), o_uint(1ull << 32) },
                                   { o_str("client"), o_strn(long_client, sizeof(long_client)) } };
        assert_int_equal(codec_parse_hello(wire_object(w, o_map(kv, 2)), &h, err, sizeof(err)),
                         -EINVAL);
        kv[0].val = o_uint(PROTO_VERSION);
        assert_int_equal(codec_parse_hello(wire_object(w, o_map(kv, 2)), &h, err, sizeof(err)), 0);
        assert_int_equal(strlen(h.client), PROTO_TEXT_MAX); /* free text is cut, not refused */
        assert_int_equal(codec_parse_hello(NULL, &h, err, sizeof(err)), -EINVAL);
        assert_string_equal(err, "hello: 'version' is required");
    }
}

static void test_codec_meta_checks_size_offset_and_path(void **state)
{
    struct wire *w = *state;
    struct field f[META_NFIELDS];
    msgpack_object_kv kv[META_NFIELDS];
    static char long_path[PROTO_PATH_MAX];
    struct meta m;
    char err[256];

    meta_fields(f);
    for (size_t i = 0; i < META_NFIELDS; i++) {
        kv[i].key = o_str(f[i].key);
        kv[i].val = f[i].value;
    }
    assert_int_equal(codec_parse_meta(wire_object(w, o_map(kv, META_NFIELDS)), &m, err, sizeof(err)), 0);
    assert_int_equal(m.nbytes, 48);
    kv[4].val = o_uint(47); /* nbytes */
    assert_int_equal(codec_parse_meta(wire_object(w, o_map(kv, META_NFIELDS)), &m, err, sizeof(err)),
                     -EINVAL);
    assert_non_null(strstr(err, "'nbytes'"));
    kv[4].val = o_uint(48);
    static const uint64_t bad_offsets[] = { 0, 100, PROTO_DATA_OFFSET_MAX + 64 };
    for (size_t i = 0; i < sizeof(bad_offsets) / sizeof(bad_offsets[0]); i++) {
        kv[5].val = o_uint(bad_offsets[i]); /* offset */
        assert_int_equal(codec_parse_meta(wire_object(w, o_map(kv, META_NFIELDS)), &m, err, sizeof(err)),
                         -EINVAL);
        assert_non_null(strstr(err, "'offset'"));
    }
    kv[5].val = o_uint(128);
    assert_int_equal(codec_parse_meta(wire_object(w, o_map(kv, META_NFIELDS)), &m, err, sizeof(err)), 0);
    assert_int_equal(m.offset, 128);
    kv[5].val = o_uint(4096);
    memset(long_path, 'p', sizeof(long_path));
    kv[12].val = o_strn(long_path, PROTO_PATH_MAX);
    assert_int_equal(codec_parse_meta(wire_object(w, o_map(kv, META_NFIELDS)), &m, err, sizeof(err)),
                     -EINVAL);
    kv[12].val = o_strn(long_path, PROTO_PATH_MAX - 1);
    assert_int_equal(codec_parse_meta(wire_object(w, o_map(kv, META_NFIELDS)), &m, err, sizeof(err)), 0);
    assert_int_equal(strlen(m.path), PROTO_PATH_MAX - 1);
    kv[7].val = o_uint(010000); /* perm */
    assert_int_equal(codec_parse_meta(wire_object(w, o_map(kv, META_NFIELDS)), &m, err, sizeof(err)),
                     -EINVAL);
    kv[7].val = o_uint(0600);
    kv[8].val = o_uint(1ull << 32); /* uid */
    assert_int_equal(codec_parse_meta(wire_object(w, o_map(kv, META_NFIELDS)), &m, err, sizeof(err)),
                     -EINVAL);
}

/* Frames on the wire. */

static void test_codec_rejects_truncated_frame(void **state)
{
    struct decoder *d = decoder_new(PROTO_REQUEST_MAX, PROTO_DEPTH_MAX);
    struct codec_create c = { .name = "a", .ndim = 1, .shape = { 3 } };
    msgpack_sbuffer sb;
    msgpack_object obj;

    (void)state;
    assert_int_equal(dtype_parse("<f4", &c.dtype), 0);
    msgpack_sbuffer_init(&sb);
    assert_int_equal(codec_pack_create(&sb, 1, &c), 0);
    /* every truncation waits for more and never yields an object */
    for (size_t cut = 1; cut < sb.size; cut++) {
        struct decoder *t = decoder_new(PROTO_REQUEST_MAX, PROTO_DEPTH_MAX);
        assert_int_equal(decoder_feed(t, sb.data, cut), 0);
        assert_int_equal(decoder_next(t, &obj), 0);
        assert_int_equal(decoder_pending(t), cut);
        decoder_free(t);
    }
    assert_int_equal(decoder_feed(d, sb.data, sb.size), 0);
    assert_int_equal(decoder_next(d, &obj), 1);
    msgpack_sbuffer_destroy(&sb);
    decoder_free(d);
}

static void test_codec_rejects_oversized_request(void **state)
{
    struct decoder *d = decoder_new(PROTO_REQUEST_MAX, PROTO_DEPTH_MAX);
    static char filler[PROTO_REQUEST_MAX];
    msgpack_object_kv kv[] = { { o_str("name"), o_str("a") },
                               { o_str("junk"), o_strn(filler, sizeof(filler) - 64) } };
    msgpack_object params[] = { o_map(kv, 2) };
    msgpack_object env[] = { o_uint(0), o_uint(1), o_str("stat"), o_array(params, 1) };
    msgpack_sbuffer sb;
    msgpack_packer pk;
    msgpack_object obj;

    (void)state;
    msgpack_sbuffer_init(&sb);
    msgpack_packer_init(&pk, &sb, msgpack_sbuffer_write);
    assert_int_equal(msgpack_pack_object(&pk, o_array(env, 4)), 0);
    assert_true(sb.size <= PROTO_REQUEST_MAX); /* just fits */
    assert_int_equal(decoder_feed(d, sb.data, sb.size), 0);
    assert_int_equal(decoder_next(d, &obj), 1);
    msgpack_sbuffer_destroy(&sb);

    kv[1].val = o_strn(filler, sizeof(filler));
    msgpack_sbuffer_init(&sb);
    msgpack_packer_init(&pk, &sb, msgpack_sbuffer_write);
    assert_int_equal(msgpack_pack_object(&pk, o_array(env, 4)), 0);
    assert_int_equal(decoder_feed(d, sb.data, 64), 0); /* the header is enough to know */
    assert_int_equal(decoder_next(d, &obj), -E2BIG);
    msgpack_sbuffer_destroy(&sb);
    decoder_free(d);
}

static void test_codec_rejects_non_msgpack_and_deep_or_huge_frames(void **state)
{
    const uint8_t c1[] = { 0x94, 0x00, 0x01, 0xc1 };
    const uint8_t huge_params[] = { 0x94, 0x00, 0x01, 0xa4, 's', 't', 'a', 't',
                                    0x91, 0xdf, 0xff, 0xff, 0xff, 0xff };
    uint8_t deep[4 + PROTO_DEPTH_MAX + 2];
    struct {
        const uint8_t *bytes;
        size_t len;
        int want;
    } cases[] = {
        { c1, sizeof(c1), -EBADMSG },
        { huge_params, sizeof(huge_params), -E2BIG },
        { deep, sizeof(deep), -ELOOP },
    };
    msgpack_object obj;

    (void)state;
    memset(deep, 0x91, sizeof(deep));
    for (size_t i = 0; i < 3; i++) {
        struct decoder *d = decoder_new(PROTO_REQUEST_MAX, PROTO_DEPTH_MAX);
        assert_int_equal(decoder_feed(d, cases[i].bytes, cases[i].len), 0);
        assert_int_equal(decoder_next(d, &obj), cases[i].want);
        decoder_free(d);
    }
}

/* Encoders leave the buffer as it was when they refuse. */
static void test_codec_encoders_refuse_bad_structs_whole(void **state)
{
    struct codec_create c = { .name = "a", .ndim = PROTO_NDIM_MAX + 1 };
    struct codec_attach_reply a;
    msgpack_sbuffer sb;

    (void)state;
    sample_meta(&a.meta, "a");
    a.meta.ndim = PROTO_NDIM_MAX + 1;
    msgpack_sbuffer_init(&sb);
    assert_int_equal(codec_pack_reply_empty(&sb, 1), 0);
    {
        size_t before = sb.size;
        assert_int_equal(codec_pack_create(&sb, 2, &c), -EINVAL);
        assert_int_equal(codec_pack_reply_attach(&sb, 2, &a), -EINVAL);
        assert_int_equal(codec_pack_reply_stat(&sb, 2, &a.meta), -EINVAL);
        assert_int_equal(sb.size, before);
    }
    msgpack_sbuffer_destroy(&sb);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_codec_hello_round_trips, wire_setup, wire_teardown),
        cmocka_unit_test_setup_teardown(test_codec_create_round_trips, wire_setup, wire_teardown),
        cmocka_unit_test_setup_teardown(test_codec_create_defaults_apply_when_keys_are_absent,
                                        wire_setup, wire_teardown),
        cmocka_unit_test_setup_teardown(test_codec_open_round_trips_every_mode, wire_setup,
                                        wire_teardown),
        cmocka_unit_test_setup_teardown(test_codec_open_owner_round_trips_and_is_a_uid,
                                        wire_setup, wire_teardown),
        cmocka_unit_test_setup_teardown(test_codec_open_defaults_to_rplus_without_waiting,
                                        wire_setup, wire_teardown),
        cmocka_unit_test_setup_teardown(test_codec_name_requests_round_trip, wire_setup,
                                        wire_teardown),
        cmocka_unit_test_setup_teardown(test_codec_release_notification_round_trips, wire_setup,
                                        wire_teardown),
        cmocka_unit_test_setup_teardown(test_codec_release_round_trips, wire_setup,
                                        wire_teardown),
        cmocka_unit_test_setup_teardown(test_codec_list_round_trips_and_defaults, wire_setup,
                                        wire_teardown),
        cmocka_unit_test_setup_teardown(test_codec_stats_request_has_no_params, wire_setup,
                                        wire_teardown),
        cmocka_unit_test_setup_teardown(test_codec_hello_reply_round_trips, wire_setup,
                                        wire_teardown),
        cmocka_unit_test_setup_teardown(test_codec_attach_reply_round_trips_and_declares_fd,
                                        wire_setup, wire_teardown),
        cmocka_unit_test_setup_teardown(test_codec_stat_reply_round_trips, wire_setup,
                                        wire_teardown),
        cmocka_unit_test_setup_teardown(test_codec_list_reply_round_trips_and_respects_cap,
                                        wire_setup, wire_teardown),
        cmocka_unit_test_setup_teardown(test_codec_list_reply_rows_are_read_by_column_name,
                                        wire_setup, wire_teardown),
        cmocka_unit_test_setup_teardown(test_codec_stats_reply_round_trips, wire_setup,
                                        wire_teardown),
        cmocka_unit_test_setup_teardown(test_codec_empty_reply_is_an_empty_map, wire_setup,
                                        wire_teardown),
        cmocka_unit_test_setup_teardown(test_codec_error_reply_carries_code_and_message,
                                        wire_setup, wire_teardown),
        cmocka_unit_test_setup_teardown(
            test_codec_error_reply_from_peer_is_bounded_and_unknown_codes_are_eio, wire_setup,
            wire_teardown),
        cmocka_unit_test_setup_teardown(test_codec_notification_parses, wire_setup,
                                        wire_teardown),
        cmocka_unit_test_setup_teardown(test_codec_rejects_wrong_types_at_every_envelope_position,
                                        wire_setup, wire_teardown),
        cmocka_unit_test_setup_teardown(test_codec_rejects_malformed_envelopes, wire_setup,
                                        wire_teardown),
        cmocka_unit_test_setup_teardown(test_codec_rejects_wrong_types_in_every_request_field,
                                        wire_setup, wire_teardown),
        cmocka_unit_test_setup_teardown(test_codec_rejects_wrong_types_in_every_reply_field,
                                        wire_setup, wire_teardown),
        cmocka_unit_test_setup_teardown(test_codec_create_checks_values, wire_setup,
                                        wire_teardown),
        cmocka_unit_test_setup_teardown(test_codec_open_list_hello_check_values, wire_setup,
                                        wire_teardown),
        cmocka_unit_test_setup_teardown(test_codec_meta_checks_size_offset_and_path, wire_setup,
                                        wire_teardown),
        cmocka_unit_test(test_codec_rejects_truncated_frame),
        cmocka_unit_test(test_codec_rejects_oversized_request),
        cmocka_unit_test(test_codec_rejects_non_msgpack_and_deep_or_huge_frames),
        cmocka_unit_test(test_codec_encoders_refuse_bad_structs_whole),
    };
    return testskip_exit(cmocka_run_group_tests(tests, NULL, NULL));
}
