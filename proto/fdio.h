/* fdio.h — bytes with descriptors over a Unix stream socket (SCM_RIGHTS), for both
 * ends: one sendmsg that may carry one descriptor with its first byte, and one recvmsg
 * that never drops a descriptor sent with the bytes it reads.
 */
#ifndef PROTO_FDIO_H
#define PROTO_FDIO_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#define FDIO_FDS_MAX 32 /* descriptors one fdio_recv can take */

/* One sendmsg of the len bytes at buf, with fd (when >= 0) attached to the first of
 * them. flags are sendmsg's (MSG_DONTWAIT, say); MSG_NOSIGNAL is always added. The
 * bytes sent (maybe fewer than len; fd went with them) or -errno (-EINTR, -EAGAIN
 * included; then nothing was sent). */
ssize_t fdio_send(int sock, const void *buf, size_t len, int fd, int flags);

/* One recvmsg into the len bytes at buf, with room for cap descriptors (at most
 * FDIO_FDS_MAX), received close-on-exec into fds; *ret_nfds of them. *ret_truncated
 * is set when the kernel had more than cap (those it closed). flags are recvmsg's.
 * The bytes read (0 at EOF) or -errno (and no descriptors). */
ssize_t fdio_recv(int sock, void *buf, size_t len, int flags, int *fds, size_t cap,
                  size_t *ret_nfds, bool *ret_truncated);

#endif
