/* test_codec_stats.c — the stats reply is proto/stats.h's record: the packed map holds
 * exactly the table's keys, each once with its field's value, and the map's count says
 * so; every field survives pack / decode / parse; the optional fields of an older daemon
 * read as 0 and a missing required one is refused.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>
#include <msgpack.h>

#include "codec.h"
#include "roundtrip.h"
#include "stats.h"
#include "testskip.h"

/* Field i of the table holds i + 1 (uptime_ms, a signed field, its negation), so no
 * two fields share a value and a field read into another's place shows. */
static void stats_sample(struct codec_stats_reply *s)
{
    uint64_t i = 0;

    memset(s, 0, sizeof *s);
#define SAMPLE(field, type, key, required) s->field = (type)(++i);
    PROTO_STATS_FIELDS(SAMPLE)
#undef SAMPLE
    s->uptime_ms = -s->uptime_ms;
}

/* The value under key in map m, which must be there exactly once. */
static const msgpack_object *stats_value(const msgpack_object *m, const char *key)
{
    const msgpack_object *found = NULL;

    for (uint32_t i = 0; i < m->via.map.size; i++) {
        const msgpack_object *k = &m->via.map.ptr[i].key;

        if (k->type == MSGPACK_OBJECT_STR && k->via.str.size == strlen(key) &&
            memcmp(k->via.str.ptr, key, k->via.str.size) == 0) {
            assert_null(found);
            found = &m->via.map.ptr[i].val;
        }
    }
    if (found == NULL)
        fail_msg("the stats reply has no '%s'", key);
    return found;
}

static int64_t stats_number(const msgpack_object *v)
{
    if (v->type == MSGPACK_OBJECT_NEGATIVE_INTEGER)
        return v->via.i64;
    assert_int_equal(v->type, MSGPACK_OBJECT_POSITIVE_INTEGER);
    return (int64_t)v->via.u64;
}

/* A field's value as a decoder gives it: negative integers of signed fields apart. */
static msgpack_object stats_object(uint64_t u, int64_t i, bool is_signed)
{
    if (is_signed && i < 0)
        return (msgpack_object){ .type = MSGPACK_OBJECT_NEGATIVE_INTEGER, .via.i64 = i };
    return (msgpack_object){ .type = MSGPACK_OBJECT_POSITIVE_INTEGER, .via.u64 = u };
}

/* A packer whose map count disagrees with its entries still decodes when a later
 * message follows; the count is checked here against the table itself. */
static void test_stats_reply_map_holds_exactly_the_tables_fields(void **state)
{
    (void)state;
    struct codec_stats_reply in;
    struct codec_msg msg;
    msgpack_sbuffer sb;
    msgpack_zone z;
    unsigned n = 0;

    stats_sample(&in);
    msgpack_sbuffer_init(&sb);
    msgpack_zone_init(&z, 1024);
    assert_int_equal(codec_pack_reply_stats(&sb, 3, &in), 0);
    roundtrip_decode(&sb, &z, &msg);
    assert_int_equal(msg.result->type, MSGPACK_OBJECT_MAP);
#define CHECK(field, type, key, required)                                                 \
    assert_int_equal(stats_number(stats_value(msg.result, key)), (int64_t)in.field); n++;
    PROTO_STATS_FIELDS(CHECK)
#undef CHECK
    assert_int_equal(n, PROTO_STATS_NFIELDS);
    assert_int_equal(msg.result->via.map.size, PROTO_STATS_NFIELDS);
    msgpack_zone_destroy(&z);
    msgpack_sbuffer_destroy(&sb);
}

static void test_stats_reply_round_trips_every_field(void **state)
{
    (void)state;
    struct codec_stats_reply in, out;
    struct codec_msg msg;
    msgpack_sbuffer sb;
    msgpack_zone z;
    char err[256] = "";

    stats_sample(&in);
    in.volatile_free = UINT64_MAX;
    in.pid = UINT32_MAX;
    msgpack_sbuffer_init(&sb);
    msgpack_zone_init(&z, 1024);
    assert_int_equal(codec_pack_reply_stats(&sb, 4, &in), 0);
    roundtrip_decode(&sb, &z, &msg);
    memset(&out, 0xa5, sizeof out);
    assert_int_equal(codec_parse_reply_stats(msg.result, &out, err, sizeof err), 0);
#define SAME(field, type, key, required) assert_true(out.field == in.field);
    PROTO_STATS_FIELDS(SAME)
#undef SAME
    msgpack_zone_destroy(&z);
    msgpack_sbuffer_destroy(&sb);
}

/* Each field left out of an otherwise whole reply: an optional one reads as 0, a
 * required one is refused by name. */
static void test_stats_reply_optional_fields_default_and_required_ones_are_checked(
    void **state)
{
    (void)state;
    static const struct {
        const char *key;
        bool required;
    } fields[] = {
#define ROW(field, type, key, required) { key, required },
        PROTO_STATS_FIELDS(ROW)
#undef ROW
    };
    struct codec_stats_reply in, out;

    stats_sample(&in);
    for (size_t left = 0; left < PROTO_STATS_NFIELDS; left++) {
        msgpack_object_kv kv[PROTO_STATS_NFIELDS];
        msgpack_object map = { .type = MSGPACK_OBJECT_MAP };
        char err[256] = "", want[128];
        uint32_t n = 0;
        size_t i = 0;
        int r;

#define KV(f, t, k, req)                                                                  \
    if (i++ != left) {                                                                    \
        kv[n].key = (msgpack_object){ .type = MSGPACK_OBJECT_STR,                         \
                                      .via.str = { (uint32_t)strlen(k), k } };            \
        kv[n].val = stats_object((uint64_t)in.f, (int64_t)in.f,                           \
                                 _Generic(in.f, int64_t: true, default: false));          \
        n++;                                                                              \
    }
        PROTO_STATS_FIELDS(KV)
#undef KV
        map.via.map.size = n;
        map.via.map.ptr = kv;
        memset(&out, 0xa5, sizeof out);
        r = codec_parse_reply_stats(&map, &out, err, sizeof err);
        if (fields[left].required) {
            assert_int_equal(r, -EINVAL);
            snprintf(want, sizeof want, "stats reply: '%s' is required", fields[left].key);
            assert_string_equal(err, want);
            continue;
        }
        assert_int_equal(r, 0);
        i = 0;
#define ZERO_OR_SAME(field, type, key, required)                                          \
    assert_true(i++ == left ? out.field == 0 : out.field == in.field);
        PROTO_STATS_FIELDS(ZERO_OR_SAME)
#undef ZERO_OR_SAME
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_stats_reply_map_holds_exactly_the_tables_fields),
        cmocka_unit_test(test_stats_reply_round_trips_every_field),
        cmocka_unit_test(test_stats_reply_optional_fields_default_and_required_ones_are_checked),
    };
    return testskip_exit(cmocka_run_group_tests(tests, NULL, NULL));
}
