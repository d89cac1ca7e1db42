/* daemon.c — assemble one sharrd from its parts and take it down cleanly.
 *
 * Start order: limits, loop, registry, service (notify socket, SIGHUP), listener
 * (so a second daemon fails before touching the store), store (its arrays join the
 * registry), signals, then READY=1. Stop sends STOPPING=1, undoes the visible part
 * at once (no new clients, the socket file gone, connections closed) and lets
 * queued disk work finish.
 */
#include "daemon.h"

#include <errno.h>
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include "codec.h"
#include "conn.h"
#include "descriptors.h"
#include "fdstore.h"
#include "hugepages.h"
#include "methods.h"
#include "methods_jobs.h"
#include "nofile.h"
#include "openers.h"
#include "procfd.h"
#include "recover.h"
#include "releases.h"
#include "session.h"

/* Tell a client over a connection limit why it is turned away, then drop it. The
 * log line is rate-limited: a peer can knock at will. */
static void daemon_refuse(struct daemon *d, int fd, const struct access_peer *peer,
                          const char *text)
{
    msgpack_sbuffer sb;

    if (ratelog_allow(&d->refusals))
        log_warning(&d->log, "refusing a connection of pid %u uid %u: %s", peer->pid,
                    peer->uid, text);
    msgpack_sbuffer_init(&sb);
    if (codec_pack_error(&sb, 0, -EMFILE, text) == 0
        && send(fd, sb.data, sb.size, MSG_NOSIGNAL | MSG_DONTWAIT) < 0)
        log_debug(&d->log, "the refused client left first: %s", strerror(errno));
    msgpack_sbuffer_destroy(&sb);
    close(fd);
}

/* A closing connection stops watching, lets go of what its client holds, then of its
 * release ring and of the descriptions it was handed. */
static void daemon_on_conn_close(struct conn *c)
{
    watch_remove(&daemon_of(c)->watches, session_of(c)->watch);
    session_of(c)->watch = NULL;
    session_close(c);
    releases_ring_drop(c);
    descriptors_drop(c, NULL);
}

/* A watcher that read all it was sent hears of the events it lost meanwhile. */
static void daemon_on_conn_drained(struct conn *c)
{
    watch_drained(session_of(c)->watch);
}

/* What a connection hands up: its requests to the methods, its release ring to
 * releases.c, its close to all; its replies' array descriptors come from
 * descriptors.c; its session goes with it. */
static const struct conn_hooks daemon_conn_hooks = {
    .on_message = methods_dispatch,
    .on_frame = methods_frame,
    .on_read = releases_take,
    .on_close = daemon_on_conn_close,
    .on_free = session_free,
    .out_fd = descriptors_out_fd,
    .out_unref = descriptors_out_unref,
    .on_drained = daemon_on_conn_drained,
};

struct conn *daemon_conn_new(struct daemon *d, int fd, const struct access_peer *peer)
{
    struct session *s = session_new();
    struct conn *c;

    if (!s) {
        close(fd);
        return NULL;
    }
    c = conn_new(&d->conns, fd, peer, &daemon_conn_hooks, s);
    if (!c) {
        free(s);
        return NULL;
    }
    session_start(c);
    return c;
}

static void daemon_on_accept(void *arg, int fd, const struct access_peer *peer)
{
    struct daemon *d = arg;
    char why[128];

    if (peers_may_connect(&d->peers, &d->cfg.policy, d->cfg.max_connections, d->conns.n,
                          peer->uid, why, sizeof(why)) < 0)
        daemon_refuse(d, fd, peer, why);
    else if (!daemon_conn_new(d, fd, peer))
        log_warning(&d->log, "out of memory: dropping a connection of pid %u", peer->pid);
}

static void daemon_on_removed(void *arg, struct registry_array *a)
{
    struct daemon *d = arg;

    genpage_bump(&d->gens, a->meta.name); /* cached attachments of it are let go */
    descriptors_drop_all(d, a);
    registry_keep_file(&d->store, a); /* a replaced one's file still has the name */
    releases_sweep(d);
}

static bool daemon_on_last(void *arg, struct registry_array *a)
{
    struct daemon *d = arg;

    if (leftover_keep(d, a))
        return true;
    growth_forget(d, a);
    return false;
}

static size_t daemon_reclaim(void *arg)
{
    return descriptors_drop_all(arg, NULL);
}

/* Say what the volatile caps are and where the memory they come from was read. */
static void daemon_log_memory(struct daemon *d)
{
    const struct memlimit *ml = &d->cfg.memory;
    const struct policy *p = &d->cfg.policy;
    struct hugepages_host host;
    uint64_t huge;

    hugepages_read("", true, &host);
    huge = hugepages_size_now(&host, d->cfg.huge_pages);

    log_info(&d->log, "memory: %" PRIu64 " bytes (%s); volatile arrays: at most %" PRIu64
             " bytes in all, %" PRIu64 " per uid (0: no limit)", ml->ceiling,
             ml->cgroup < ml->total || (ml->total == 0 && ml->cgroup_file[0])
                 ? ml->cgroup_file : "MemTotal of /proc/meminfo",
             p->max_volatile_bytes, p->max_volatile_bytes_per_uid);
    log_info(&d->log, "huge pages: %s; a large volatile array created now gets pages of %"
             PRIu64 " bytes", hugepages_mode_name(d->cfg.huge_pages),
             huge ? huge : (uint64_t)sysconf(_SC_PAGESIZE));
    if (ml->ceiling == 0 && (p->volatile_share.percent || p->volatile_uid_share.percent))
        log_warning(&d->log, "cannot tell how much memory there is: the volatile caps given "
                    "as a percentage are off");
}

static void daemon_on_signal(uv_signal_t *h, int signum)
{
    struct daemon *d = h->data;

    log_info(&d->log, "%s: shutting down", strsignal(signum));
    daemon_stop(d);
}

/* A persistent array found at start: what writers did to its file while the daemon
 * was away is charged and reported from the start. A process that still holds the
 * file (a writer of the daemon that ran before may) has it watched, as a writer
 * attached now would; fd, the daemon's only description of it, is asked with a write
 * lease, which any other description refuses. */
static void daemon_found_array(void *arg, const struct meta *m, int fd)
{
    struct daemon *d = arg;
    struct meta found = *m;
    struct stat st;
    bool held;

    if (fstat(fd, &st) == 0) {
        growth_measure(&found, &st, &found.grown, &found.damaged);
        growth_report_found(d, &found);
    }
    held = openers_probe(fd, false) != 0; /* when the kernel cannot tell, too */
    if (registry_append(&d->registry, &found, fd) < 0)
        log_warning(&d->log, "out of memory: cannot serve persistent array %s", m->name);
    else if (held)
        growth_watch(d, d->registry.arrays[d->registry.n - 1]); /* appended last */
}

static int daemon_found_volatile(void *arg, const struct meta *m, int fd)
{
    struct daemon *d = arg;
    /* A damaged persistent array keeps its name, as a served one would. */
    int r = store_damaged(&d->store, m->name) ? -EEXIST : registry_add(&d->registry, m, fd, NULL);

    if (r < 0)
        close(fd);
    return r;
}

int daemon_start(struct daemon *d, const struct config *cfg, char *err, size_t errlen)
{
    char gens_err[128], procfd_err[128];
    size_t kept;
    int r;

    memset(d, 0, sizeof(*d));
    d->gens.fd = -1;
    d->procfd = -1;
    d->cfg = *cfg;
    d->log.level = cfg->log_level;
    d->log.journal = log_stderr_is_journal();
    d->notify.fd = -1;
    d->store.dirfd = -1;
    d->server.fd = d->server.spare_fd = -1;
    d->start_ns = uv_hrtime();
    do {  /* synchronous (no loop, no callback): the kernel's getrandom */
        r = uv_random(NULL, NULL, &d->id, sizeof(d->id), 0, NULL);
        if (r < 0) {
            snprintf(err, errlen, "cannot draw the daemon's id: %s", uv_strerror(r));
            return r;
        }
    } while (d->id == 0);
    nofile_raise(d);
    nofile_check(d);
    r = uv_loop_init(&d->loop);
    if (r < 0) {
        snprintf(err, errlen, "cannot start the event loop: %s", uv_strerror(r));
        return r;
    }
    d->loop_on = true;
    ratelog_init(&d->refusals, &d->loop, &d->log, "refused connections");
    ratelog_init(&d->closings, &d->loop, &d->log, "connections closed for what they sent");
    trim_init(&d->trim, &d->loop);
    conn_pool_init(&d->conns, &d->loop, &d->log, &d->cfg.policy, &d->peers, &d->trim,
                   &d->closings);
    registry_init(&d->registry, &d->loop);
    watch_init(&d->watches, &d->cfg.policy);
    d->registry.on_removed = daemon_on_removed;
    d->registry.on_removed_arg = d;
    d->registry.on_last = daemon_on_last;
    d->registry.on_last_arg = d;
    quota_init(&d->quota);
    d->registry.quota = &d->quota;
    releases_init(d);
    /* Every descriptor of a volatile array or of the generation page a client gets is
     * a new description of the daemon's own, reopened here; persistent arrays are
     * opened by name, so without /proc the daemon serves them alone. sharrd forks
     * nothing: the directory names no other process's descriptors. */
    if (procfd_open(&d->procfd, procfd_err, sizeof(procfd_err)) < 0)
        log_warning(&d->log, "%s: volatile arrays cannot be created or attached, nor "
                    "attachments cached (persistent arrays are served)", procfd_err);
    /* Without the page clients cache no attachment; the daemon serves all the same. */
    if (genpage_open(&d->gens, gens_err, sizeof(gens_err)) < 0)
        log_warning(&d->log, "%s: clients will not cache attachments", gens_err);
    growth_init(d);
    leftover_init(d);
    r = service_start(d, err, errlen);
    if (r < 0)
        return r;
    /* Claim the socket first: a second daemon must fail before it touches the store. */
    r = server_start(&d->server, &d->loop, cfg->socket, cfg->socket_mode, &d->log,
                     daemon_on_accept, d, err, errlen);
    if (r < 0)
        return r;
    d->server.reclaim = daemon_reclaim;
    r = store_open(&d->store, cfg->store, err, errlen);
    if (r < 0)
        return r;
    r = recover_store(&d->store, &d->log, daemon_found_array, d);
    if (r < 0) {
        snprintf(err, errlen, "cannot read store %s: %s", d->store.path, strerror(-r));
        return r;
    }
    registry_sort(&d->registry);
    log_info(&d->log, "store %s: %zu persistent arrays", d->store.path, d->registry.n);
    if (d->store.id_replaced)
        log_warning(&d->log, "store %s: its identity (.store-id) did not verify and was "
                    "drawn again: pickles of its arrays made before are another store's",
                    d->store.path);
    if (d->store.ndamaged > 0)
        log_warning(&d->log, "store %s: %zu damaged arrays kept aside (their names are "
                    "reserved; see the warnings above)", d->store.path, d->store.ndamaged);
    daemon_log_memory(d);
    kept = fdstore_load(&d->notify, &d->log, daemon_found_volatile, d);
    if (kept > 0)
        log_info(&d->log, "fd store: %zu volatile arrays kept across the restart", kept);
    /* The listener and the fd store have both taken their descriptors. */
    unsetenv("LISTEN_PID");
    unsetenv("LISTEN_FDS");
    unsetenv("LISTEN_FDNAMES");
    uv_signal_init(&d->loop, &d->sigint);
    uv_signal_init(&d->loop, &d->sigterm);
    d->sigint.data = d->sigterm.data = d;
    d->signals_on = true;
    uv_signal_start(&d->sigint, daemon_on_signal, SIGINT);
    uv_signal_start(&d->sigterm, daemon_on_signal, SIGTERM);
    log_info(&d->log, "listening on %s", d->server.path);
    service_ready(d);
    return 0;
}

int daemon_run(struct daemon *d)
{
    uv_run(&d->loop, UV_RUN_DEFAULT);
    return 0;
}

void daemon_stop(struct daemon *d)
{
    if (d->stopping)
        return;
    d->stopping = true;
    service_stop(d);
    server_stop(&d->server);
    if (d->signals_on) {
        uv_close((uv_handle_t *)&d->sigint, NULL);
        uv_close((uv_handle_t *)&d->sigterm, NULL);
        d->signals_on = false;
    }
    while (d->conns.head)
        conn_close(d->conns.head, "the daemon is shutting down");
    releases_close(d);
    growth_close(d);
    leftover_close(d);
    waiters_close(&d->registry.waiters);
    ratelog_close(&d->refusals);
    ratelog_close(&d->closings);
    conn_pool_close(&d->conns); /* its count of full reply queues is told last */
    trim_close(&d->trim);
}

void daemon_close(struct daemon *d)
{
    if (!d->loop_on)
        return;
    daemon_stop(d);
    /* Run the close callbacks and any queued work before freeing what they use. */
    uv_run(&d->loop, UV_RUN_DEFAULT);
    methods_jobs_close(d);
    registry_close(&d->registry);
    quota_close(&d->quota);
    store_close(&d->store);
    notify_close(&d->notify);
    genpage_close(&d->gens);
    if (d->procfd >= 0)
        close(d->procfd);
    d->procfd = -1;
    if (uv_loop_close(&d->loop) != 0)
        log_warning(&d->log, "the event loop still had open handles at exit");
}
