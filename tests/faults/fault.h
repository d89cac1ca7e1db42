/* fault.h — what the fault tests need beyond the integration harness: a sharrd
 * started with a fault point or with descriptors from a stand-in for systemd's fd
 * store, killed with SIGKILL, and counts of what the daemon holds.
 *
 * The stand-in (struct fault_fdstore) binds a datagram NOTIFY_SOCKET, keeps every
 * FDSTORE=1 descriptor by FDNAME, forgets on FDSTOREREMOVE=1, and hands them to the
 * next daemon as LISTEN_FDS/LISTEN_FDNAMES/LISTEN_PID, as systemd does.
 */
#ifndef FAULT_H
#define FAULT_H

#include <pthread.h>
#include <stddef.h>
#include <stdint.h>

#include "harness.h"

#define FAULT_STORE_MAX 512

struct fault_fdstore {
    char path[192];            /* the NOTIFY_SOCKET */
    int sock;
    pthread_t thread;          /* reads the socket until close, so the daemon never blocks */
    pthread_mutex_t lock;      /* guards what follows */
    int stop;
    size_t n;
    int fds[FAULT_STORE_MAX];
    char names[FAULT_STORE_MAX][64];
};

/* Bind the socket in h's directory and start reading it. */
void fault_fdstore_init(struct fault_fdstore *s, const struct harness *h);
/* Read every datagram queued now: the daemon stores before it replies, so after a
 * reply (or once it is dead) everything it stored is in s. Returns s->n. */
size_t fault_fdstore_drain(struct fault_fdstore *s);
void fault_fdstore_close(struct fault_fdstore *s);

/* Start sharrd like harness_daemon_start, with $SHARR_FAULT_POINT = point (NULL:
 * none) and, when s is not NULL, $NOTIFY_SOCKET and s's descriptors passed. With a
 * point it runs sharrd-test, the daemon built with its test hooks; without one the
 * daemon as installed (sharrd), which has none. */
void fault_daemon_start(struct harness *h, const char *point, struct fault_fdstore *s);
/* As fault_daemon_start, running the program sharrd (a path). */
void fault_daemon_start_program(struct harness *h, const char *sharrd, const char *point,
                                struct fault_fdstore *s);
/* Start sharrd with $SHARR_FAULT_POINT = point as fault_daemon_start does, where it
 * may reach its point before it serves (while it reads its store back): returns 1 if
 * it died of SIGKILL so, 0 once it answers. */
int fault_daemon_start_or_die(struct harness *h, const char *point);
/* SIGKILL the daemon and reap it. */
void fault_daemon_kill(struct harness *h);
/* Reap a daemon that killed itself at its fault point (bounded wait); returns 1 if it
 * died of SIGKILL, 0 if it is still running. */
int fault_daemon_reap(struct harness *h);

/* Descriptors open in the daemon, counted after a round trip on c: the daemon closes
 * the descriptor a reply carried just after sending it, so a client can see the reply
 * before the close; a later reply on the same connection comes after it. */
int fault_daemon_fds(const struct harness *h, sharr_t *c);

/* The daemon's resident memory in KiB. */
long fault_daemon_rss_kib(const struct harness *h);

/* Assert that the daemon's resident memory kib (fault_daemon_rss_kib) is at most
 * limit_kib; what names the moment in the message. In a sanitizer build resident
 * memory measures the sanitizer (freed memory held in quarantine, shadow memory), not
 * sharrd, so there the check is reported skipped (testskip_note), and CTest shows
 * the test skipped; LeakSanitizer checks the daemon at its exit instead, and the
 * harness insists on a clean exit. */
void fault_assert_rss_at_most(long kib, long limit_kib, const char *what);

/* Files in h's store (names not starting with "."/ ".." counted too). */
int fault_store_files(const struct harness *h, char *names, size_t len);

/* A scale factor for loop counts: $SHARR_FAULTS_SCALE (default 1.0). */
double fault_scale(void);

/* Deterministic pattern of the array seeded seed, and its check. */
void fault_fill(void *data, uint64_t nbytes, uint64_t seed);
int fault_check(const void *data, uint64_t nbytes, uint64_t seed);

#endif
