/* roundtrip.h — what the codec unit tests share: unpacking one packed message and
 * parsing its envelope, failing the test on any error.
 */
#ifndef TESTS_UNIT_ROUNDTRIP_H
#define TESTS_UNIT_ROUNDTRIP_H

#include <msgpack.h>

#include "codec.h"

/* Unpack sb's one message and parse its envelope into msg; z keeps the objects. */
void roundtrip_decode(const msgpack_sbuffer *sb, msgpack_zone *z, struct codec_msg *msg);

#endif
