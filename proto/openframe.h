/* openframe.h — the open request read straight from its bytes, for the daemon's
 * attach path: the common form of [0, msgid, "open", [{params}]] that libsharr sends,
 * parsed without unpacking it into msgpack objects. Anything else is declined, and the
 * caller decodes the frame as every other request (decoder.h, codec_parse_msg,
 * codec_parse_open), which gives the errors; what this accepts, that path accepts alike.
 */
#ifndef PROTO_OPENFRAME_H
#define PROTO_OPENFRAME_H

#include <stddef.h>
#include <stdint.h>

#include "codec.h"

/* Parse the frame that starts buf (len bytes available, frames of at most max_len
 * bytes allowed). Returns 1 with *ret_msgid, *ret (as codec_parse_open fills it) and
 * *ret_len (the frame's bytes) set when the frame is a whole, valid open request in
 * the common form; 0 when it is not (another method, a form or value this leaves to
 * the general path, an error, or a frame not yet complete), with nothing set. */
int openframe_parse(const uint8_t *buf, size_t len, size_t max_len, uint32_t *ret_msgid,
                    struct codec_open *ret, size_t *ret_len);

#endif
