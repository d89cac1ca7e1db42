/* daemon.c — assemble one sharrd from its parts and take it down cleanly.
 *
 * Start order: limits, loop, registry, listener (so a second daemon fails before
 * touching the store), store (its arrays join the registry), signals. Stop undoes
 * the visible part at once (no new clients, the socket file gone, connections
 * closed) and lets queued disk work finish.
 */
#include "daemon.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#include "codec.h"
#include "conn.h"

/* Each array and each connection holds a descriptor: take all the kernel allows. */
static void daemon_raise_nofile(struct daemon *d)
{
    struct rlimit rl;

    if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
        rl.rlim_cur = rl.rlim_max;
        if (setrlimit(RLIMIT_NOFILE, &rl) < 0)
            log_debug(&d->log, "cannot raise the descriptor limit: %s", strerror(errno));
    }
}

/* Tell a client over the connection limit why it is turned away, then drop it. */
static void daemon_refuse(struct daemon *d, int fd, const struct access_peer *peer)
{
    char text[96];
    msgpack_sbuffer sb;

    log_warning(&d->log, "refusing a connection of pid %u: %zu connections are open",
                peer->pid, d->nconns);
    snprintf(text, sizeof(text), "sharrd serves at most %u connections at once",
             d->cfg.max_connections);
    msgpack_sbuffer_init(&sb);
    if (codec_pack_error(&sb, 0, -EMFILE, text) == 0
        && send(fd, sb.data, sb.size, MSG_NOSIGNAL | MSG_DONTWAIT) < 0)
        log_debug(&d->log, "the refused client left first: %s", strerror(errno));
    msgpack_sbuffer_destroy(&sb);
    close(fd);
}

static void daemon_on_accept(void *arg, int fd, const struct access_peer *peer)
{
    struct daemon *d = arg;

    if (d->nconns >= d->cfg.max_connections)
        daemon_refuse(d, fd, peer);
    else if (!conn_new(d, fd, peer))
        log_warning(&d->log, "out of memory: dropping a connection of pid %u", peer->pid);
}

static void daemon_on_signal(uv_signal_t *h, int signum)
{
    struct daemon *d = h->data;

    log_info(&d->log, "%s: shutting down", strsignal(signum));
    daemon_stop(d);
}

static void daemon_found_array(void *arg, const struct meta *m, int fd)
{
    struct daemon *d = arg;

    if (registry_append(&d->registry, m, fd) < 0)
        log_warning(&d->log, "out of memory: cannot serve persistent array %s", m->name);
}

int daemon_start(struct daemon *d, const struct config *cfg, char *err, size_t errlen)
{
    int r;

    memset(d, 0, sizeof(*d));
    d->cfg = *cfg;
    d->log.level = cfg->log_level;
    d->store.dirfd = -1;
    d->server.fd = d->server.spare_fd = -1;
    d->next_conn_id = 1;
    d->start_ns = uv_hrtime();
    daemon_raise_nofile(d);
    r = uv_loop_init(&d->loop);
    if (r < 0) {
        snprintf(err, errlen, "cannot start the event loop: %s", uv_strerror(r));
        return r;
    }
    d->loop_on = true;
    registry_init(&d->registry, &d->loop);
    /* Claim the socket first: a second daemon must fail before it touches the store. */
    r = server_start(&d->server, &d->loop, cfg->socket, &d->log, daemon_on_accept, d, err, errlen);
    if (r < 0)
        return r;
    r = store_open(&d->store, cfg->store, err, errlen);
    if (r < 0)
        return r;
    r = store_load(&d->store, &d->log, daemon_found_array, d);
    if (r < 0) {
        snprintf(err, errlen, "cannot read store %s: %s", d->store.path, strerror(-r));
        return r;
    }
    registry_sort(&d->registry);
    log_info(&d->log, "store %s: %zu persistent arrays", d->store.path, d->registry.n);
    uv_signal_init(&d->loop, &d->sigint);
    uv_signal_init(&d->loop, &d->sigterm);
    d->sigint.data = d->sigterm.data = d;
    d->signals_on = true;
    uv_signal_start(&d->sigint, daemon_on_signal, SIGINT);
    uv_signal_start(&d->sigterm, daemon_on_signal, SIGTERM);
    log_info(&d->log, "listening on %s", d->server.path);
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
    server_stop(&d->server);
    if (d->signals_on) {
        uv_close((uv_handle_t *)&d->sigint, NULL);
        uv_close((uv_handle_t *)&d->sigterm, NULL);
        d->signals_on = false;
    }
    while (d->conns)
        conn_close(d->conns, "the daemon is shutting down");
    registry_cancel_waiters(&d->registry, NULL);
}

void daemon_close(struct daemon *d)
{
    if (!d->loop_on)
        return;
    daemon_stop(d);
    /* Run the close callbacks and any queued work before freeing what they use. */
    uv_run(&d->loop, UV_RUN_DEFAULT);
    registry_close(&d->registry);
    store_close(&d->store);
    if (uv_loop_close(&d->loop) != 0)
        log_warning(&d->log, "the event loop still had open handles at exit");
}
