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
