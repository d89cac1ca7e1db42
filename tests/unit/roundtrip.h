/* roundtrip.h — what the codec unit tests share: unpacking one packed message and
 * parsing its envelope, failing the test on any error.
 */
#ifndef TESTS_UNIT_ROUNDTRIP_H
#define TESTS_UNIT_ROUNDTRIP_H

#include <msgpack.h>

#include "codec.h"

/* Unpack sb's one message and parse its envelope into msg; z keeps the objects. */
void roundtrip_decode(const msgpack_sbuffer *sb, msgpack_zone *z, struct codec_msg *msg);

/* One request packed into sb and what decoding it gives: roundtrip_init, a codec_pack_*
 * into rt.sb, roundtrip_request, then roundtrip_free. */
struct roundtrip {
    msgpack_sbuffer sb;
    msgpack_zone z;
    struct codec_msg msg;
};
void roundtrip_init(struct roundtrip *rt);
/* Decode rt->sb, which must be a request of method with msgid; returns its params. */
const msgpack_object *roundtrip_request(struct roundtrip *rt, const char *method,
                                        uint32_t msgid);
void roundtrip_free(struct roundtrip *rt);

#endif
