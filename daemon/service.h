/* service.h — sharrd under a service manager: READY=1 once the registry is
 * loaded, a one-line STATUS=, WATCHDOG=1 pings when $WATCHDOG_USEC asks for them,
 * STOPPING=1 at shutdown, and SIGHUP reloading the configuration.
 *
 * The datagrams go through notify.c (d->notify); with no $NOTIFY_SOCKET they go
 * nowhere, and SIGHUP still reloads.
 */
#ifndef DAEMON_SERVICE_H
#define DAEMON_SERVICE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <uv.h>

struct daemon;

#define SERVICE_STATUS_PERIOD_MS 10000 /* STATUS= refresh when no watchdog asks sooner */

struct service {
    uv_timer_t timer;        /* WATCHDOG=1 and STATUS= refresh */
    uv_signal_t sighup;
    bool on;                 /* timer and sighup are initialised */
    uint64_t watchdog_usec;  /* 0: no watchdog */
};

/* Open d->notify from $NOTIFY_SOCKET, read $WATCHDOG_USEC/$WATCHDOG_PID and catch
 * SIGHUP. Returns 0 or a negative errno with a message in err. */
int service_start(struct daemon *d, char *err, size_t errlen);

/* The daemon serves: send READY=1 with its status and start the watchdog pings. */
void service_ready(struct daemon *d);

/* Re-read the command line and configuration file and apply what can change
 * while running (limits, log level); the socket and store stay. Clients stay
 * connected. Returns 0, or a negative errno after logging why nothing changed. */
int service_reload(struct daemon *d);

/* Shutdown begins: send STOPPING=1, stop the pings and SIGHUP. Idempotent. */
void service_stop(struct daemon *d);

/* Write the one-line summary ("3 arrays (2 volatile, 1 persistent), 1.5 GiB, 4
 * connections") into buf. */
void service_summary(const struct daemon *d, char *buf, size_t len);

#endif
