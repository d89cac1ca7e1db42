/* socket.c — sharr_default_socket: where a client finds sharrd when given no socket,
 * as sharr_connect(NULL, ...) resolves it. The resolution itself is proto/sockpath.c,
 * the one copy the daemon, the library, the CLI and the Python package all use.
 */
#include <errno.h>

#include "client.h"
#include "sockpath.h"

int sharr_default_socket(char *buf, size_t len)
{
    int rc;

    if (buf == NULL || len == 0)
        return client_fail(-EINVAL, "sharr_default_socket: buf is NULL or len is 0");
    rc = sockpath_client(buf, len);
    if (rc < 0)
        return client_fail(rc, "the default socket path does not fit %zu bytes or a "
                           "socket address (%d bytes)", len, SHARR_SOCKET_MAX);
    return 0;
}
