/* roundtrip.c — see roundtrip.h. */
#include "roundtrip.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

void roundtrip_decode(const msgpack_sbuffer *sb, msgpack_zone *z, struct codec_msg *msg)
{
    msgpack_object obj;
    size_t off = 0;
    char err[256];

    assert_int_equal(msgpack_unpack(sb->data, sb->size, &off, z, &obj), MSGPACK_UNPACK_SUCCESS);
    assert_int_equal(off, sb->size);
    assert_int_equal(codec_parse_msg(&obj, msg, NULL, err, sizeof err), 0);
}

void roundtrip_init(struct roundtrip *rt)
{
    msgpack_sbuffer_init(&rt->sb);
    msgpack_zone_init(&rt->z, 1024);
}

const msgpack_object *roundtrip_request(struct roundtrip *rt, const char *method,
                                        uint32_t msgid)
{
    roundtrip_decode(&rt->sb, &rt->z, &rt->msg);
    assert_string_equal(rt->msg.method, method);
    assert_int_equal(rt->msg.msgid, msgid);
    return rt->msg.params;
}

void roundtrip_free(struct roundtrip *rt)
{
    msgpack_zone_destroy(&rt->z);
    msgpack_sbuffer_destroy(&rt->sb);
}
