/* floor.h — the floor an attach is measured against: a tiny server process that
 * answers each request with one descriptor by SCM_RIGHTS, and its client side.
 *
 * It has sharrd's process layout (one single-threaded epoll loop, one stream
 * connection per client process, a reply about the size of an attach reply) and
 * does nothing else: no decoding, no registry, no access checks, no bookkeeping.
 */
#ifndef BENCH_FLOOR_H
#define BENCH_FLOOR_H

#include <sys/types.h>
#include <sys/un.h>

#define FLOOR_REQUEST_LEN 48  /* about a sharr "open" request */
#define FLOOR_REPLY_LEN 160   /* about a sharr attach reply with its metadata */

struct floor_server {
    pid_t pid;
    char path[sizeof(((struct sockaddr_un *)0)->sun_path)];
};

/* Listen on path (replacing a stale socket file) and fork the server, which hands
 * out fd (sent by SCM_RIGHTS; the kernel duplicates it per reply). 0 or -errno. */
int floor_start(struct floor_server *f, const char *path, int fd);

/* Stop the server and remove its socket file. */
void floor_stop(struct floor_server *f);

/* A connection to the server: the socket, or -errno. */
int floor_connect(const char *path);

/* One round trip whose reply carries a descriptor: *ret_fd owns it. 0 or -errno. */
int floor_fetch(int sock, int *ret_fd);

/* One round trip without a descriptor (as a release would be). 0 or -errno. */
int floor_ping(int sock);

#endif
