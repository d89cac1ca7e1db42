/* daemon.h — one sharrd: the loop and everything it serves (listener,
 * connections, registry, persistent store), started and stopped as a whole.
 *
 * No global state: two daemons can live in one process, as tests may want.
 */
#ifndef DAEMON_DAEMON_H
#define DAEMON_DAEMON_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <uv.h>

#include "config.h"
#include "conn.h"
#include "genpage.h"
#include "growth.h"
#include "leftover.h"
#include "log.h"
#include "memstore.h"
#include "notify.h"
#include "peers.h"
#include "ratelog.h"
#include "registry.h"
#include "server.h"
#include "service.h"
#include "store.h"
#include "trim.h"
#include "watch.h"

struct daemon {
    uv_loop_t loop;
    bool loop_on;           /* the loop was initialised: daemon_close must run it */
    struct config cfg;
    struct log_ctx log;
    struct server server;
    struct registry registry;
    struct store store;
    uv_signal_t sigint, sigterm;
    bool signals_on;
    struct conn_pool conns; /* open connections and what they share (conn.c) */
    struct peers peers;     /* what each uid's connections hold (per-uid limits) */
    struct ratelog refusals; /* "refusing a connection" lines */
    struct ratelog closings; /* lines on connections closed for what their peer sent */
    struct trim trim;       /* gives freed heap memory back after a burst */
    uint64_t start_ns;      /* uv_hrtime() at start, for the uptime in stats */
    uint64_t id;            /* random, never 0, drawn at start: sent in hello so that
                             * clients can tell this sharrd from another (e.g. another
                             * host's) */
    bool stopping;
    struct notify notify;   /* sd_notify socket ($NOTIFY_SOCKET), disabled without one */
    struct service service; /* READY/STATUS/WATCHDOG/STOPPING and SIGHUP (service.c) */
    struct quota quota;     /* arrays and bytes per owner, charged by the registry */
    struct memstore_budget membudget; /* memory volatile creates may take (memstore.c) */
    struct hugepages_host huge; /* what the host offered at the last reading (methods_jobs.c) */
    uint64_t huge_read_ns;  /* when that was, uv_hrtime(); 0: never */
    struct methods_job *spare_job; /* a finished job kept for the next (methods_jobs.c) */
    bool huge_short;        /* the hugetlb pool ran out at the last create that asked for
                             * it (logged once, until a create gets its pages again) */
    uv_timer_t releases_timer; /* sweeps the release rings while any exists (releases.c) */
    bool releases_on;       /* releases_timer was initialised and is not closed */
    unsigned nrings;        /* connections with a release ring */
    struct growth growth;   /* persistent files writers grew or cut (growth.c) */
    struct leftover leftover; /* arrays let go of that a process still holds (leftover.c) */
    struct watches watches; /* connections subscribed to events on names (watch.c) */
    struct genpage gens;    /* counters of events on names, shared read-only with clients
                             * so they can reuse cached attachments (genpage.c) */
    int procfd;             /* the daemon's /proc/self/fd directory (procfd.h), through
                             * which memfds are reopened; -1 without /proc */
    uint64_t requests;      /* requests handled since start (stats) */
};

/* Set up d from cfg: raise RLIMIT_NOFILE, listen, open the store and load its
 * arrays, catch SIGINT/SIGTERM. Returns 0, or a negative errno with a message in
 * err. Call daemon_close afterwards either way. */
int daemon_start(struct daemon *d, const struct config *cfg, char *err, size_t errlen);

/* Serve until daemon_stop and until the work it lets finish is done. Returns 0. */
int daemon_run(struct daemon *d);

/* Begin a clean shutdown: stop accepting, remove the socket file, close every
 * connection; thread-pool work already queued still finishes. Idempotent. */
void daemon_stop(struct daemon *d);

/* Free everything d owns. */
void daemon_close(struct daemon *d);

/* The daemon c is a connection of (c->pool is its conns). */
static inline struct daemon *daemon_of(const struct conn *c)
{
    return (struct daemon *)((char *)c->pool - offsetof(struct daemon, conns));
}

/* Serve fd (taken) for peer as an accepted connection, its requests answered by the
 * methods (conn_new with the daemon's hooks), without the admission check of the
 * listener. Returns the connection, or NULL when out of memory (fd closed). */
struct conn *daemon_conn_new(struct daemon *d, int fd, const struct access_peer *peer);

#endif
