/* test_mpread.c — the bounded msgpack cursor (mpread.c) and the replies read straight
 * from their bytes with it (codec_frame.c): every read stays inside the bytes given
 * (each buffer is a heap copy of exactly its length, for AddressSanitizer), values read
 * as msgpack-c unpacks them, and a reply read so parses exactly as the same bytes
 * unpacked whole (replydiff.c), over hand-made and mutated replies.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <msgpack.h>

#include "codec.h"
#include "mpread.h"
#include "proto_limits.h"
#include "replydiff.h"
#include "testskip.h"

/* An exact-size heap copy of n bytes (freed by the caller). */
static uint8_t *mp_copy(const void *bytes, size_t n)
{
    uint8_t *c = malloc(n > 0 ? n : 1);

    assert_non_null(c);
    if (n > 0)
        memcpy(c, bytes, n);
    return c;
}

/* replydiff_check over an exact-size copy; fails the test when the two ways differ. */
static int mp_diff(const void *bytes, size_t n)
{
    uint8_t *c = mp_copy(bytes, n);
    char why[512] = "";
    int r = replydiff_check(c, n, why, sizeof(why));

    free(c);
    if (r < 0)
        fail_msg("read from bytes and unpacked differ: %s", why);
    return r;
}

static void mp_pack_values(msgpack_packer *pk)
{
    char big[300];

    memset(big, 'x', sizeof(big));
    msgpack_pack_nil(pk);
    msgpack_pack_true(pk);
    msgpack_pack_false(pk);
    msgpack_pack_uint8(pk, 200);
    msgpack_pack_uint16(pk, 60000);
    msgpack_pack_uint32(pk, 4000000000u);
    msgpack_pack_uint64(pk, UINT64_MAX);
    msgpack_pack_int8(pk, -100);
    msgpack_pack_int8(pk, 100); /* a signed type, not negative: POSITIVE_INTEGER */
    msgpack_pack_int16(pk, -30000);
    msgpack_pack_int32(pk, 5);
    msgpack_pack_int64(pk, INT64_MIN);
    msgpack_pack_fix_int8(pk, -1);
    msgpack_pack_float(pk, 1.5f);
    msgpack_pack_double(pk, 2.5);
    msgpack_pack_str_with_body(pk, "abc", 3);
    msgpack_pack_str_with_body(pk, big, 40);   /* str8 */
    msgpack_pack_str_with_body(pk, big, 300);  /* str16 */
    msgpack_pack_bin_with_body(pk, "\0\1", 2);
    msgpack_pack_ext_with_body(pk, "abcd", 4, 5);  /* fixext4 */
    msgpack_pack_ext_with_body(pk, "abc", 3, -2);  /* ext8 */
    msgpack_pack_array(pk, 0);
    msgpack_pack_map(pk, 0);
}

/* The same object as msgpack-c's, where mpread reads it whole. */
static void mp_assert_same(const msgpack_object *a, const msgpack_object *b)
{
    assert_int_equal(a->type, b->type);
    switch (a->type) {
    case MSGPACK_OBJECT_BOOLEAN:
        assert_int_equal(a->via.boolean, b->via.boolean);
        break;
    case MSGPACK_OBJECT_POSITIVE_INTEGER:
    case MSGPACK_OBJECT_NEGATIVE_INTEGER:
        assert_true(a->via.u64 == b->via.u64);
        break;
    case MSGPACK_OBJECT_FLOAT32:
    case MSGPACK_OBJECT_FLOAT64:
        assert_true(a->via.f64 == b->via.f64);
        break;
    case MSGPACK_OBJECT_STR:
    case MSGPACK_OBJECT_BIN:
        assert_int_equal(a->via.str.size, b->via.str.size);
        assert_memory_equal(a->via.str.ptr, b->via.str.ptr, a->via.str.size);
        break;
    case MSGPACK_OBJECT_EXT:
        assert_int_equal(a->via.ext.type, b->via.ext.type);
        assert_int_equal(a->via.ext.size, b->via.ext.size);
        assert_memory_equal(a->via.ext.ptr, b->via.ext.ptr, a->via.ext.size);
        break;
    case MSGPACK_OBJECT_ARRAY:
        assert_int_equal(a->via.array.size, b->via.array.size);
        break;
    case MSGPACK_OBJECT_MAP:
        assert_int_equal(a->via.map.size, b->via.map.size);
        break;
    default:
        break;
    }
}

static void test_mpread_reads_each_type_as_msgpack_c_unpacks_it(void **state)
{
    msgpack_sbuffer sb;
    msgpack_packer pk;
    msgpack_unpacked un;
    struct mpread r;
    size_t off = 0;
    uint8_t *bytes;
    unsigned n = 0;

    (void)state;
    msgpack_sbuffer_init(&sb);
    msgpack_packer_init(&pk, &sb, msgpack_sbuffer_write);
    mp_pack_values(&pk);
    bytes = mp_copy(sb.data, sb.size);
    msgpack_unpacked_init(&un);
    mpread_init(&r, bytes, sb.size, PROTO_DEPTH_MAX);
    while (msgpack_unpack_next(&un, (const char *)bytes, sb.size, &off) ==
           MSGPACK_UNPACK_SUCCESS) {
        msgpack_object o, oi;
        struct mpread ri = r;

        assert_int_equal(mpread_next(&r, 0, &o), 0);
        assert_int_equal(mpread_next_inline(&ri, 0, &oi), 0);
        assert_ptr_equal(r.p, bytes + off);
        assert_ptr_equal(ri.p, r.p);
        mp_assert_same(&un.data, &o);
        mp_assert_same(&un.data, &oi);
        n++;
    }
    assert_int_equal(n, 23);
    assert_ptr_equal(r.p, r.end);
    assert_int_equal(mpread_next(&r, 0, &(msgpack_object){ 0 }), -EAGAIN);
    msgpack_unpacked_destroy(&un);
    free(bytes);
    msgpack_sbuffer_destroy(&sb);
}

static void test_mpread_cut_short_reads_nothing(void **state)
{
    msgpack_sbuffer sb;
    msgpack_packer pk;
    msgpack_unpacked un;

    (void)state;
    msgpack_sbuffer_init(&sb);
    msgpack_packer_init(&pk, &sb, msgpack_sbuffer_write);
    mp_pack_values(&pk);
    msgpack_unpacked_init(&un);
    /* Each value cut at every length short of its end. */
    for (size_t start = 0, off = 0; msgpack_unpack_next(&un, sb.data, sb.size, &off) ==
                                    MSGPACK_UNPACK_SUCCESS; start = off) {
        for (size_t cut = start; cut < off; cut++) {
            uint8_t *c = mp_copy(sb.data + start, cut - start);
            msgpack_object o;
            struct mpread r;

            mpread_init(&r, c, cut - start, PROTO_DEPTH_MAX);
            assert_int_equal(mpread_next(&r, 0, &o), -EAGAIN);
            assert_ptr_equal(r.p, c);
            assert_int_equal(mpread_next_inline(&r, 0, &o), -EAGAIN);
            assert_int_equal(mpread_object(&r, 0, &o, NULL, 0), -EAGAIN);
            assert_int_equal(mpread_skip(&r, 0), -EAGAIN);
            assert_ptr_equal(r.p, c);
            free(c);
        }
    }
    msgpack_unpacked_destroy(&un);
    msgpack_sbuffer_destroy(&sb);
}

static void test_mpread_refuses_c1_and_nesting_deeper_than_its_limit(void **state)
{
    const uint8_t c1[] = { 0xc1 };
    const uint8_t in_array[] = { 0x92, 0x01, 0xc1 };
    const uint8_t deep[] = { 0x91, 0x91, 0x91, 0x01 };  /* three non-empty arrays */
    const uint8_t empty_at_limit[] = { 0x91, 0x91, 0x90 };
    msgpack_object o;
    struct mpread r;
    uint8_t *c;

    (void)state;
    c = mp_copy(c1, sizeof(c1));
    mpread_init(&r, c, sizeof(c1), 2);
    assert_int_equal(mpread_next(&r, 0, &o), -EBADMSG);
    assert_int_equal(mpread_object_inline(&r, 0, &o, NULL, 0), -EBADMSG);
    assert_int_equal(mpread_skip(&r, 0), -EBADMSG);
    free(c);
    c = mp_copy(in_array, sizeof(in_array));
    mpread_init(&r, c, sizeof(in_array), 2);
    assert_int_equal(mpread_skip(&r, 0), -EBADMSG);
    assert_int_equal(mpread_object(&r, 0, &o, (msgpack_object[2]){ 0 }, 2), -EBADMSG);
    assert_ptr_equal(r.p, c);
    free(c);
    c = mp_copy(deep, sizeof(deep));
    mpread_init(&r, c, sizeof(deep), 2);
    assert_int_equal(mpread_skip(&r, 0), -ELOOP);
    assert_int_equal(mpread_next(&r, 2, &o), -ELOOP);  /* a third one, two around it */
    assert_int_equal(mpread_next(&r, 1, &o), 0);       /* the second: allowed */
    assert_int_equal(mpread_skip(&r, 2), -ELOOP);
    free(c);
    c = mp_copy(empty_at_limit, sizeof(empty_at_limit));
    mpread_init(&r, c, sizeof(empty_at_limit), 2);
    assert_int_equal(mpread_skip(&r, 0), 0);  /* an empty one adds no depth */
    assert_ptr_equal(r.p, r.end);
    free(c);
}

static void test_mpread_huge_lengths_and_counts_wait_for_their_bytes(void **state)
{
    const uint8_t str32[] = { 0xdb, 0xff, 0xff, 0xff, 0xff, 'a', 'b' };
    const uint8_t bin32[] = { 0xc6, 0xff, 0xff, 0xff, 0xf0, 0 };
    const uint8_t ext32[] = { 0xc9, 0x80, 0, 0, 0, 1 };
    const uint8_t array32[] = { 0xdd, 0xff, 0xff, 0xff, 0xff, 1, 2, 3 };
    const uint8_t map32[] = { 0xdf, 0xff, 0xff, 0xff, 0xff, 1, 2 };
    const struct { const uint8_t *b; size_t n; } cases[] = {
        { str32, sizeof(str32) }, { bin32, sizeof(bin32) }, { ext32, sizeof(ext32) },
        { array32, sizeof(array32) }, { map32, sizeof(map32) },
    };
    msgpack_object elems[4];

    (void)state;
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        uint8_t *c = mp_copy(cases[i].b, cases[i].n);
        msgpack_object o;
        struct mpread r;

        mpread_init(&r, c, cases[i].n, PROTO_DEPTH_MAX);
        assert_int_equal(mpread_object(&r, 0, &o, elems, 4), -EAGAIN);
        assert_int_equal(mpread_skip(&r, 0), -EAGAIN);
        assert_ptr_equal(r.p, c);
        free(c);
    }
}

static void test_mpread_object_reads_the_elements_of_short_arrays_only(void **state)
{
    const uint8_t three[] = { 0x93, 0x01, 0xa1, 'x', 0x92, 0x01, 0x02, 0xc3 };
    msgpack_object o, elems[3];
    struct mpread r;
    uint8_t *c = mp_copy(three, sizeof(three));

    (void)state;
    mpread_init(&r, c, sizeof(three), PROTO_DEPTH_MAX);
    assert_int_equal(mpread_object(&r, 0, &o, elems, 3), 0);
    assert_int_equal(o.type, MSGPACK_OBJECT_ARRAY);
    assert_int_equal(o.via.array.size, 3);
    assert_ptr_equal(o.via.array.ptr, elems);
    assert_int_equal(elems[0].via.u64, 1);
    assert_int_equal(elems[1].type, MSGPACK_OBJECT_STR);
    assert_int_equal(elems[2].type, MSGPACK_OBJECT_ARRAY);  /* nested: type and size */
    assert_int_equal(elems[2].via.array.size, 2);
    assert_null(elems[2].via.array.ptr);
    assert_ptr_equal(r.p, c + 7);
    mpread_init(&r, c, sizeof(three), PROTO_DEPTH_MAX);
    assert_int_equal(mpread_object(&r, 0, &o, elems, 2), 0);  /* too long for elems */
    assert_int_equal(o.via.array.size, 3);
    assert_null(o.via.array.ptr);
    assert_ptr_equal(r.p, c + 7);
    free(c);
}

/* A meta as the daemon sends one; rec: a record dtype with its description. */
static void mp_meta(struct meta *m, bool rec)
{
    *m = (struct meta){ .name = "bench.ops", .ndim = 2, .shape = { 1024, 256 },
                        .order = 'F', .offset = PROTO_DATA_OFFSET, .perm = 0640,
                        .uid = 1000, .gid = 100, .ctime_ns = 1765000000123456789,
                        .nattached = 3, .grown = 7, .max_len = 4096, .page_size = 4096,
                        .published = true, .path = "/var/lib/sharr/x.npy", .persist = true };
    if (rec) {
        static struct dtype_text text;

        const char *d = "[('a', '<i4'), ('b', '<f8')]";

        assert_int_equal(dtype_parse_descr(d, strlen(d), &m->dtype, &text, NULL, NULL, 0), 0);
    } else {
        assert_int_equal(dtype_parse("<f4", &m->dtype), 0);
    }
    m->nbytes = 1024 * 256 * m->dtype.itemsize;
}

static void test_frame_reads_attach_and_stat_replies_as_unpacked(void **state)
{
    msgpack_sbuffer sb;
    struct meta m;

    (void)state;
    for (int rec = 0; rec < 2; rec++) {
        mp_meta(&m, rec);
        msgpack_sbuffer_init(&sb);
        assert_int_equal(codec_pack_reply_attached(&sb, 77, &m, 123456789), 0);
        assert_int_equal(mp_diff(sb.data, sb.size), 1);
        msgpack_sbuffer_destroy(&sb);
        msgpack_sbuffer_init(&sb);
        assert_int_equal(codec_pack_reply_stat(&sb, 78, &m), 0);
        assert_int_equal(mp_diff(sb.data, sb.size), 1);
        msgpack_sbuffer_destroy(&sb);
    }
}

/* codec_frame_read of any msgid. */
static int mp_read(const void *buf, size_t len, unsigned depth, struct codec_frame *f,
                   size_t *ret_len)
{
    return codec_frame_read(buf, len, depth, NULL, NULL, f, ret_len);
}

/* [1, 9, nil, result] with result packed by the caller after this head. */
static void mp_head(msgpack_packer *pk)
{
    msgpack_pack_array(pk, 4);
    msgpack_pack_uint8(pk, 1);
    msgpack_pack_uint8(pk, 9);
    msgpack_pack_nil(pk);
}

static void mp_str(msgpack_packer *pk, const char *s)
{
    msgpack_pack_str_with_body(pk, s, strlen(s));
}

/* An array map of n entries: name, dtype and shape, then extra (n - 3 of them). */
static void mp_array_map(msgpack_packer *pk, uint32_t n, void (*extra)(msgpack_packer *))
{
    msgpack_pack_map(pk, n);
    mp_str(pk, "name"); mp_str(pk, "x");
    mp_str(pk, "dtype"); mp_str(pk, "<f4");
    mp_str(pk, "shape"); msgpack_pack_array(pk, 1); msgpack_pack_uint8(pk, 4);
    if (extra != NULL)
        extra(pk);
}

static void mp_extra_none(msgpack_packer *pk) { (void)pk; }
static void mp_extra_repeat_shape(msgpack_packer *pk)
{
    mp_str(pk, "shape"); msgpack_pack_array(pk, 1); msgpack_pack_uint8(pk, 5);
}
static void mp_extra_int_key(msgpack_packer *pk)
{
    msgpack_pack_uint8(pk, 3); msgpack_pack_nil(pk);
}
static void mp_extra_unknown_nested(msgpack_packer *pk)
{
    mp_str(pk, "future"); msgpack_pack_map(pk, 1); mp_str(pk, "a");
    msgpack_pack_array(pk, 2); msgpack_pack_nil(pk); msgpack_pack_map(pk, 0);
}
static void mp_extra_bad_value(msgpack_packer *pk)
{
    mp_str(pk, "uid"); msgpack_pack_int8(pk, -1);
}
static void mp_extra_wrong_nbytes(msgpack_packer *pk)
{
    mp_str(pk, "nbytes"); msgpack_pack_uint8(pk, 17);
}

/* One hand-made reply: its result's entries. */
struct mp_case {
    const char *what;
    const char *attach_err;   /* codec_parse_reply_attach's message, or NULL: it passes */
    void (*pack)(msgpack_packer *pk);
};

static void mp_ok(msgpack_packer *pk)
{
    msgpack_pack_map(pk, 3);
    mp_str(pk, "array"); mp_array_map(pk, 3, mp_extra_none);
    mp_str(pk, "handle"); msgpack_pack_uint8(pk, 1);
    mp_str(pk, "fd"); msgpack_pack_true(pk);
}
static void mp_array_twice(msgpack_packer *pk)
{
    msgpack_pack_map(pk, 3);
    mp_str(pk, "array"); mp_array_map(pk, 3, mp_extra_none);
    mp_str(pk, "handle"); msgpack_pack_uint8(pk, 1);
    mp_str(pk, "array"); msgpack_pack_nil(pk);
}
static void mp_no_handle(msgpack_packer *pk)
{
    msgpack_pack_map(pk, 1);
    mp_str(pk, "array"); mp_array_map(pk, 3, mp_extra_none);
}
static void mp_fd_thrice(msgpack_packer *pk)
{
    msgpack_pack_map(pk, 5);
    mp_str(pk, "fd"); msgpack_pack_true(pk);
    mp_str(pk, "array"); mp_array_map(pk, 3, mp_extra_none);
    mp_str(pk, "fd"); msgpack_pack_false(pk);
    mp_str(pk, "handle"); msgpack_pack_uint8(pk, 1);
    mp_str(pk, "fd"); msgpack_pack_true(pk);
}
static void mp_result_int_key(msgpack_packer *pk)
{
    msgpack_pack_map(pk, 3);
    mp_str(pk, "array"); mp_array_map(pk, 3, mp_extra_none);
    mp_str(pk, "handle"); msgpack_pack_uint8(pk, 1);
    msgpack_pack_array(pk, 1); msgpack_pack_nil(pk); msgpack_pack_nil(pk);
}
static void mp_array_not_map(msgpack_packer *pk)
{
    msgpack_pack_map(pk, 2);
    mp_str(pk, "array");
    msgpack_pack_array(pk, 2);
    msgpack_pack_nil(pk);
    msgpack_pack_nil(pk);
    mp_str(pk, "handle"); msgpack_pack_uint8(pk, 1);
}
#define MP_WITH(name, n, extra)                                              \
    static void name(msgpack_packer *pk)                                     \
    {                                                                        \
        msgpack_pack_map(pk, 2);                                             \
        mp_str(pk, "array"); mp_array_map(pk, n, extra);                     \
        mp_str(pk, "handle"); msgpack_pack_uint8(pk, 1);                     \
    }
MP_WITH(mp_shape_twice, 4, mp_extra_repeat_shape)
MP_WITH(mp_array_int_key, 4, mp_extra_int_key)
MP_WITH(mp_unknown_nested, 4, mp_extra_unknown_nested)
MP_WITH(mp_bad_uid, 4, mp_extra_bad_value)
MP_WITH(mp_wrong_nbytes, 4, mp_extra_wrong_nbytes)
static void mp_no_name(msgpack_packer *pk)
{
    msgpack_pack_map(pk, 2);
    mp_str(pk, "array"); msgpack_pack_map(pk, 1); mp_str(pk, "dtype"); mp_str(pk, "<f4");
    mp_str(pk, "handle"); msgpack_pack_uint8(pk, 1);
}
static void mp_result_not_map(msgpack_packer *pk)
{
    msgpack_pack_array(pk, 1);
    msgpack_pack_map(pk, 0);
}

static void test_frame_repeated_missing_and_odd_keys_fail_as_unpacked(void **state)
{
    static const struct mp_case cases[] = {
        { "whole", NULL, mp_ok },
        { "array twice", "attach reply: 'array' appears more than once", mp_array_twice },
        { "no handle", "attach reply: 'handle' is required", mp_no_handle },
        { "fd thrice", "attach reply: 'fd' appears more than once", mp_fd_thrice },
        { "result int key", "attach reply: the result keys must be strings",
          mp_result_int_key },
        { "array not a map", "attach reply: 'array' must be a map", mp_array_not_map },
        { "shape twice", "attach reply: array: 'shape' appears more than once",
          mp_shape_twice },
        { "array int key", "attach reply: array: the array keys must be strings",
          mp_array_int_key },
        { "unknown nested", NULL, mp_unknown_nested },
        { "bad uid", "attach reply: array: 'uid' must be an integer in 0..4294967295",
          mp_bad_uid },
        { "wrong nbytes",
          "attach reply: array: 'nbytes' 17 does not match shape and dtype (16)",
          mp_wrong_nbytes },
        { "no name", "attach reply: array: 'name' is required", mp_no_name },
        { "result not a map", NULL, mp_result_not_map },
    };

    (void)state;
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        static struct codec_frame f;
        struct codec_attach_reply ar;
        struct codec_msg m;
        msgpack_sbuffer sb;
        msgpack_packer pk;
        char err[256] = "";
        size_t used = 0;
        int rc;

        msgpack_sbuffer_init(&sb);
        msgpack_packer_init(&pk, &sb, msgpack_sbuffer_write);
        mp_head(&pk);
        cases[i].pack(&pk);
        print_message("%s\n", cases[i].what);
        assert_int_equal(mp_diff(sb.data, sb.size), 1);
        assert_int_equal(mp_read(sb.data, sb.size, PROTO_DEPTH_MAX, &f, &used), 1);
        assert_int_equal(used, sb.size);
        rc = codec_parse_msg(&f.msg, &m, NULL, err, sizeof(err));
        if (cases[i].pack == mp_result_not_map) {
            assert_int_equal(rc, -EBADMSG);
        } else {
            assert_int_equal(rc, 0);
            rc = codec_parse_reply_attach(m.result, &ar, NULL, err, sizeof(err));
            if (cases[i].attach_err == NULL) {
                assert_int_equal(rc, 0);
            } else {
                assert_int_equal(rc, -EINVAL);
                assert_string_equal(err, cases[i].attach_err);
            }
        }
        msgpack_sbuffer_destroy(&sb);
    }
}

/* A want that keeps the msgid it was asked about and wants only 6; one that wants none. */
static bool mp_want_6(void *arg, uint32_t msgid)
{
    *(uint32_t *)arg = msgid;
    return msgid == 6;
}

static bool mp_want_none(void *arg, uint32_t msgid)
{
    (void)arg;
    (void)msgid;
    return false;
}

static void test_frame_leaves_other_messages_and_cut_frames_to_the_decoder(void **state)
{
    static struct codec_frame f;
    msgpack_sbuffer sb;
    msgpack_packer pk;
    struct meta m;
    uint32_t msgid = 0;
    size_t used;

    (void)state;
    msgpack_sbuffer_init(&sb);
    msgpack_packer_init(&pk, &sb, msgpack_sbuffer_write);
    /* An error response, a request and a notification. */
    assert_int_equal(codec_pack_error(&sb, 5, -ENOENT, "no such array"), 0);
    assert_int_equal(mp_read(sb.data, sb.size, PROTO_DEPTH_MAX, &f, &used), 0);
    sb.size = 0;
    assert_int_equal(codec_pack_stats(&sb, 5), 0);
    assert_int_equal(mp_read(sb.data, sb.size, PROTO_DEPTH_MAX, &f, &used), 0);
    sb.size = 0;
    /* A reply cut at every length, and one nested deeper than the limit. */
    mp_meta(&m, true);
    assert_int_equal(codec_pack_reply_attached(&sb, 6, &m, 1), 0);
    assert_int_equal(codec_frame_read(sb.data, sb.size, PROTO_DEPTH_MAX, mp_want_6, &msgid,
                                      &f, &used), 1);
    assert_int_equal(msgid, 6);
    assert_int_equal(codec_frame_read(sb.data, sb.size, PROTO_DEPTH_MAX, mp_want_none, &msgid,
                                      &f, &used), 0);
    for (size_t cut = 0; cut < sb.size; cut++) {
        uint8_t *c = mp_copy(sb.data, cut);

        assert_int_equal(mp_read(c, cut, PROTO_DEPTH_MAX, &f, &used), 0);
        free(c);
    }
    sb.size = 0;
    mp_head(&pk);
    msgpack_pack_map(&pk, 1);
    mp_str(&pk, "future");
    for (int d = 0; d < PROTO_DEPTH_MAX; d++)
        msgpack_pack_array(&pk, 1);
    msgpack_pack_nil(&pk);
    assert_int_equal(mp_read(sb.data, sb.size, PROTO_DEPTH_MAX, &f, &used), 0);
    assert_int_equal(mp_read(sb.data, sb.size, PROTO_DEPTH_MAX + 2, &f, &used), 1);
    msgpack_sbuffer_destroy(&sb);
}

/* The bytes a mutation puts in: every kind of header, and values near their bounds. */
static const uint8_t mp_mutants[] = {
    0x00, 0x01, 0x03, 0x7f, 0x80, 0x81, 0x8f, 0x90, 0x91, 0x9f, 0xa0, 0xa1, 0xa5, 0xbf,
    0xc0, 0xc1, 0xc2, 0xc3, 0xc4, 0xc7, 0xca, 0xcb, 0xcc, 0xcd, 0xce, 0xcf, 0xd0, 0xd3,
    0xd4, 0xd8, 0xd9, 0xdb, 0xdc, 0xdd, 0xde, 0xdf, 0xe0, 0xff, 'a', 'C', 'F', '<', 'V',
};

static void test_frame_matches_unpack_over_mutated_replies(void **state)
{
    size_t read = 0, total = 0;
    msgpack_sbuffer sb;
    struct meta m;

    (void)state;
    for (int kind = 0; kind < 4; kind++) {
        uint8_t *mut;

        mp_meta(&m, kind & 1);
        if (kind & 2)
            m = (struct meta){ .name = "z", .dtype = m.dtype, .order = 'C',
                               .offset = PROTO_DATA_OFFSET, .nbytes = m.dtype.itemsize };
        msgpack_sbuffer_init(&sb);
        assert_int_equal(codec_pack_reply_attached(&sb, 300, &m, 1ull << 40), 0);
        mut = malloc(sb.size + 1);
        assert_non_null(mut);
        for (size_t at = 0; at < sb.size; at++) {
            for (size_t v = 0; v < sizeof(mp_mutants); v++) {
                memcpy(mut, sb.data, sb.size);
                mut[at] = mp_mutants[v];
                read += mp_diff(mut, sb.size) == 1;
                /* The byte dropped, and one put in before it. */
                memcpy(mut, sb.data, at);
                memcpy(mut + at, sb.data + at + 1, sb.size - at - 1);
                read += mp_diff(mut, sb.size - 1) == 1;
                memcpy(mut, sb.data, at);
                mut[at] = mp_mutants[v];
                memcpy(mut + at + 1, sb.data + at, sb.size - at);
                read += mp_diff(mut, sb.size + 1) == 1;
                total += 3;
            }
        }
        free(mut);
        msgpack_sbuffer_destroy(&sb);
    }
    print_message("%zu of %zu mutated replies read from their bytes, all as unpacked\n",
                  read, total);
    /* Not vacuous: most mutations leave a frame that is read and then parsed. */
    assert_true(read > total / 4);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_mpread_reads_each_type_as_msgpack_c_unpacks_it),
        cmocka_unit_test(test_mpread_cut_short_reads_nothing),
        cmocka_unit_test(test_mpread_refuses_c1_and_nesting_deeper_than_its_limit),
        cmocka_unit_test(test_mpread_huge_lengths_and_counts_wait_for_their_bytes),
        cmocka_unit_test(test_mpread_object_reads_the_elements_of_short_arrays_only),
        cmocka_unit_test(test_frame_reads_attach_and_stat_replies_as_unpacked),
        cmocka_unit_test(test_frame_repeated_missing_and_odd_keys_fail_as_unpacked),
        cmocka_unit_test(test_frame_leaves_other_messages_and_cut_frames_to_the_decoder),
        cmocka_unit_test(test_frame_matches_unpack_over_mutated_replies),
    };

    return testskip_exit(cmocka_run_group_tests(tests, NULL, NULL));
}
