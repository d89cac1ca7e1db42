/* fuzz_daemon.c — libFuzzer target: random request sequences served by a whole
 * sharrd in this process (registry, stores, quotas, access checks, thread pool).
 *
 * Each input gets a fresh daemon in a new temporary directory (removed after), and is one
 * client's byte stream: the first byte picks the peer (root, a user, nobody) and the
 * chunk size; replies and their descriptors are read and dropped as they come. Then
 * the daemon shuts down as on SIGTERM. A crash, a sanitizer report or a leak is a finding.
 */
#include <errno.h>
#include <ftw.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "conn.h"
#include "daemon.h"

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define FUZZ_PUMPS 64 /* loop turns to let one chunk be answered */

static char fuzz_dir[64], fuzz_sock[96], fuzz_store[96];

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    unsetenv("NOTIFY_SOCKET");
    unsetenv("LISTEN_PID");
    unsetenv("LISTEN_FDS");
    return 0;
}

static int fuzz_remove(const char *path, const struct stat *sb, int type, struct FTW *ftw)
{
    (void)sb;
    (void)type;
    (void)ftw;
    return remove(path);
}

/* Read and drop whatever the daemon sent, closing any descriptors. */
static void fuzz_drain(int fd)
{
    char buf[65536];
    union {
        struct cmsghdr align;
        char buf[CMSG_SPACE(sizeof(int) * 16)];
    } ctl;

    for (;;) {
        struct iovec iov = { .iov_base = buf, .iov_len = sizeof(buf) };
        struct msghdr msg = { .msg_iov = &iov, .msg_iovlen = 1, .msg_control = ctl.buf,
                              .msg_controllen = sizeof(ctl.buf) };
        ssize_t n = recvmsg(fd, &msg, MSG_DONTWAIT | MSG_CMSG_CLOEXEC);

        if (n <= 0)
            return;
        for (struct cmsghdr *cm = CMSG_FIRSTHDR(&msg); cm; cm = CMSG_NXTHDR(&msg, cm)) {
            if (cm->cmsg_level != SOL_SOCKET || cm->cmsg_type != SCM_RIGHTS)
                continue;
            for (size_t i = 0; i < (cm->cmsg_len - CMSG_LEN(0)) / sizeof(int); i++) {
                int got;
                memcpy(&got, CMSG_DATA(cm) + i * sizeof(int), sizeof(int));
                close(got);
            }
        }
    }
}

static void fuzz_pump(struct daemon *d, int fd)
{
    for (int i = 0; i < FUZZ_PUMPS; i++) {
        uv_run(&d->loop, UV_RUN_NOWAIT);
        fuzz_drain(fd);
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const uint32_t uids[] = { 0, 1000, 65534 };
    char *argv[] = { "sharrd", "--socket", fuzz_sock, "--store", fuzz_store, "--config", "",
                     "--log-level", "error", "--max-bytes", "8M", "--max-arrays", "32",
                     "--max-queued", "256K", NULL };
    struct access_peer peer;
    struct daemon *d;
    struct config cfg;
    char err[512];
    size_t stride;
    int sv[2];

    if (size == 0)
        return 0;
    peer = (struct access_peer){ uids[data[0] % 3], uids[data[0] % 3], (uint32_t)getpid() };
    stride = (size_t)(data[0] / 3) * 64 + 1;
    data++;
    size--;
    snprintf(fuzz_dir, sizeof(fuzz_dir), "/tmp/sharr-fuzz-XXXXXX");
    if (!mkdtemp(fuzz_dir))
        abort();
    snprintf(fuzz_sock, sizeof(fuzz_sock), "%s/s.sock", fuzz_dir);
    snprintf(fuzz_store, sizeof(fuzz_store), "%s/store", fuzz_dir);
    d = calloc(1, sizeof(*d));
    if (!d || config_parse((int)(sizeof(argv) / sizeof(argv[0])) - 1, argv, &cfg, err,
                           sizeof(err)) != CONFIG_RUN
        || daemon_start(d, &cfg, err, sizeof(err)) < 0) {
        fprintf(stderr, "fuzz_daemon: cannot start: %s\n", err);
        abort();
    }
    if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0, sv) < 0)
        abort();
    daemon_conn_new(d, sv[0], &peer);
    for (size_t off = 0; off < size && d->conns.n > 0;) {
        size_t n = size - off < stride ? size - off : stride;
        ssize_t w = send(sv[1], data + off, n, MSG_NOSIGNAL | MSG_DONTWAIT);

        if (w > 0)
            off += (size_t)w;
        else if (w < 0 && errno != EAGAIN && errno != EINTR)
            break;
        fuzz_pump(d, sv[1]);
    }
    fuzz_pump(d, sv[1]);
    close(sv[1]);
    daemon_stop(d);
    daemon_close(d);
    free(d);
    nftw(fuzz_dir, fuzz_remove, 8, FTW_DEPTH | FTW_PHYS);
    return 0;
}
