/* version.c — which libsharr this is: its version (the project's, from CMake) and the
 * wire protocol version it speaks in hello. Constants only.
 */
#include <stdint.h>

#include "client.h"
#include "proto_limits.h"

const char *sharr_version(void)
{
    return SHARR_VERSION_STRING;
}

uint32_t sharr_protocol_version(void)
{
    return PROTO_VERSION;
}
