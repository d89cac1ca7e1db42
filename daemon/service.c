/* service.c — READY/STATUS/WATCHDOG/STOPPING for the service manager, and SIGHUP.
 *
 * One libuv timer sends WATCHDOG=1 at half of $WATCHDOG_USEC (when set for this
 * pid) and refreshes STATUS= with the summary; it is unreferenced, so it never
 * keeps the loop alive on its own. A reload parses the same command line again
 * (which reads the configuration file again) and keeps the running socket and store.
 */
#include "service.h"

#include <errno.h>
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "daemon.h"
#include "nofile.h"

static void service_send(struct daemon *d, const char *state)
{
    int r = notify_send(&d->notify, state, NULL, 0);

    if (r < 0)
        log_debug(&d->log, "sd_notify %.20s...: %s", state, strerror(-r));
}

void service_summary(const struct daemon *d, char *buf, size_t len)
{
    uint64_t vol = 0, per = 0, bytes = 0;
    char size[32];

    for (size_t i = 0; i < d->registry.n; i++) {
        const struct registry_array *a = d->registry.arrays[i];

        if (!a->ready)
            continue;
        *(a->meta.persist ? &per : &vol) += 1;
        bytes += a->meta.nbytes;
    }
    snprintf(buf, len, "%" PRIu64 " arrays (%" PRIu64 " volatile, %" PRIu64 " persistent), %s, "
             "%zu connections", vol + per, vol, per, policy_size(bytes, size, sizeof(size)),
             d->conns.n);
}

static void service_tick(uv_timer_t *t)
{
    struct daemon *d = t->data;
    char state[256];
    int n = 0;

    if (d->service.watchdog_usec > 0)
        n = snprintf(state, sizeof(state), "WATCHDOG=1\n");
    snprintf(state + n, sizeof(state) - (size_t)n, "STATUS=");
    service_summary(d, state + strlen(state), sizeof(state) - strlen(state));
    service_send(d, state);
}

static void service_on_sighup(uv_signal_t *h, int signum)
{
    (void)signum;
    service_reload(h->data);
}

int service_start(struct daemon *d, char *err, size_t errlen)
{
    const char *usec = getenv("WATCHDOG_USEC"), *pid = getenv("WATCHDOG_PID");
    int r;

    r = notify_init(&d->notify, err, errlen);
    if (r < 0)
        return r;
    if (usec && (!pid || strtol(pid, NULL, 10) == (long)getpid())) {
        char *end;
        unsigned long long v = strtoull(usec, &end, 10);

        if (*end == '\0' && v > 0)
            d->service.watchdog_usec = v;
    }
    uv_timer_init(&d->loop, &d->service.timer);
    uv_signal_init(&d->loop, &d->service.sighup);
    d->service.timer.data = d->service.sighup.data = d;
    uv_unref((uv_handle_t *)&d->service.timer);
    d->service.on = true;
    uv_signal_start(&d->service.sighup, service_on_sighup, SIGHUP);
    return 0;
}

void service_ready(struct daemon *d)
{
    uint64_t period = SERVICE_STATUS_PERIOD_MS;
    char state[256] = "READY=1\nSTATUS=";

    service_summary(d, state + strlen(state), sizeof(state) - strlen(state));
    service_send(d, state);
    if (d->service.watchdog_usec > 0) {
        period = d->service.watchdog_usec / 2000;
        if (period == 0)
            period = 1;
        log_info(&d->log, "watchdog: pinging every %" PRIu64 " ms", period);
    }
    if (notify_enabled(&d->notify))
        uv_timer_start(&d->service.timer, service_tick, period, period);
}

int service_reload(struct daemon *d)
{
    char err[512] = "", status[320], reloading[64];
    struct timespec now;
    struct config cfg;
    int r;

    clock_gettime(CLOCK_MONOTONIC, &now);
    snprintf(reloading, sizeof(reloading), "RELOADING=1\nMONOTONIC_USEC=%" PRIu64,
             (uint64_t)now.tv_sec * 1000000 + (uint64_t)now.tv_nsec / 1000);
    service_send(d, reloading);
    r = config_parse(d->cfg.argc, d->cfg.argv, &cfg, err, sizeof(err));
    if (r == CONFIG_RUN) {
        if (strcmp(cfg.socket, d->cfg.socket) != 0 || strcmp(cfg.store, d->cfg.store) != 0)
            log_warning(&d->log, "reload: the socket and store change only at restart");
        memcpy(cfg.socket, d->cfg.socket, sizeof(cfg.socket));
        memcpy(cfg.store, d->cfg.store, sizeof(cfg.store));
        d->cfg = cfg;
        d->log.level = cfg.log_level;
        log_info(&d->log, "reloaded: log level %s, at most %u connections, volatile arrays "
                 "at most %" PRIu64 " bytes in all and %" PRIu64 " per uid (of %" PRIu64
                 " bytes of memory)", log_level_name(cfg.log_level), cfg.max_connections,
                 cfg.policy.max_volatile_bytes, cfg.policy.max_volatile_bytes_per_uid,
                 cfg.memory.ceiling);
        nofile_check(d);
    } else {
        if (r >= 0) {
            snprintf(err, sizeof(err), "the command line asks for help or the version");
            r = -EINVAL;
        }
        log_error(&d->log, "reload failed, the configuration is unchanged: %s", err);
    }
    snprintf(status, sizeof(status), "READY=1\nSTATUS=");
    service_summary(d, status + strlen(status), sizeof(status) - strlen(status));
    service_send(d, status);
    return r < 0 ? r : 0;
}

void service_stop(struct daemon *d)
{
    if (!d->service.on)
        return;
    service_send(d, "STOPPING=1\nSTATUS=shutting down");
    uv_close((uv_handle_t *)&d->service.timer, NULL);
    uv_close((uv_handle_t *)&d->service.sighup, NULL);
    d->service.on = false;
}
