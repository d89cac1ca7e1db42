/* fairshare.h — what the tests of sharrd's fair share of its one loop among local
 * users share: the uids, sharrd's default limits, connections of other uids that say
 * hello (or are refused), replies read as counts, arrays any uid may open, and the
 * daemon's resident memory.
 *
 * RSS is the daemon's VmRSS: in a sanitizer build it measures the sanitizer's quarantine
 * and shadow memory rather than sharrd's allocations, so those assertions hold only in
 * a plain build (FAIR_SANITIZED; reported skipped there); the counts are checked in both.
 */
#ifndef FAIRSHARE_H
#define FAIRSHARE_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/resource.h>

#include "harness.h"
#include "rawconn.h"

/* Four unprivileged uids (the most the issue asks to hold off root with) and a fifth:
 * fairshare_uids[0 .. UIDS]. */
#define UIDS 4
extern const uint32_t fairshare_uids[UIDS + 1];

/* sharrd's defaults, as its --help states them. */
#define DEFAULT_MAX_CONNECTIONS 1024
#define DEFAULT_CONNECTIONS_PER_UID (DEFAULT_MAX_CONNECTIONS / 8)
#define DEFAULT_WAITING_OPENS_PER_UID 4096
/* The most requests of one connection sharrd answers in one turn of its loop. */
#define TURN_REQUESTS 64

/* Why, with the count of what, when fairshare_rss_meaningful() is false (CTest shows
 * it skipped). */
#define RSS_NOT_CHECKED "sharrd's RSS bounds %s not checked: in a sanitizer build RSS " \
                        "measures the sanitizer's quarantine and shadow memory; the " \
                        "plain build checks them"

/* Whether the daemon's RSS measures sharrd (false in a sanitizer build). */
bool fairshare_rss_meaningful(void);
/* The daemon's resident memory in KiB (VmRSS); fails the test if it cannot be read. */
long fairshare_rss_kib(const struct harness *h);
/* Poll until the daemon's RSS is at most want KiB (it trims its heap shortly after a
 * large release); returns the last value seen. Bounded: 20 s. */
long fairshare_wait_rss_at_most(const struct harness *h, long want);

/* Raise the test's own descriptor limit to want (or its hard limit). */
void fairshare_raise_nofile(rlim_t want);

/* Send hello over a socket the daemon may have refused. 0 when it answers, -EMFILE
 * when it refused the connection: an EMFILE error with msgid 0, or the connection
 * closed or reset before an answer (the refusal raced the hello). */
int fairshare_hello_or_refused(struct rawconn *rc);
/* Connect up to n times as uid and keep the connections the daemon serves in rcs;
 * returns how many it served. */
int fairshare_connect_as(struct harness *h, uint32_t uid, struct rawconn *rcs, int n);
/* n connections made as uid (gid the same), adopted with chunk bytes a read into
 * rcs, each having said hello. */
void fairshare_connect_hello_as(struct harness *h, uint32_t uid, struct rawconn *rcs, int n,
                                size_t chunk);

/* Read the replies to count stats from msgid first on b, each one's attachments at
 * least the last (prev to begin with). Returns the last; *ret_most_rise gets the
 * largest rise between two, *ret_during how many saw more than 1 and fewer than
 * total + 1 attachments (stats answered while the others' requests were). */
uint64_t fairshare_read_attachment_rises(struct rawconn *b, uint32_t first, int count,
                                         uint64_t prev, uint64_t total,
                                         uint64_t *ret_most_rise, int *ret_during);

/* Create name, a 1-d |u1 array of n elements that every uid may read (0644). */
sharr_array_t *fairshare_create_readable(sharr_t *c, const char *name, uint64_t n);

#endif
