/* client.c — one connection to sharrd through its lifetime: sharr_connect and the
 * first dial, reconnecting after the daemon went away (the state machine one thread
 * dials for all), breaking it when the socket fails, a fresh connection in a forked
 * child, the reference count and the free. What the daemon told hello is kept here:
 * sharr_server_info, the page size, the release ring's slot.
 *
 * Sending requests and reading replies are call.c's; the socket itself is link.c's.
 */
#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <unistd.h>

#include "conn.h"
#include "decoder.h"
#include "gens.h"
#include "proto_limits.h"
#include "ring.h"
#include "sockpath.h"

#define CLIENT_DIAL_TRIES 5         /* reconnect: 5 tries, waiting 62+125+250+500 ms */

/* sharr_server keeps its size for the whole ABI (sharr.h). */
_Static_assert(sizeof(struct sharr_server) == 128, "sharr_server: take new fields from reserved");

int client_break_locked(sharr_t *c, int err, const char *fmt, ...)
{
    char msg[CLIENT_MSG_MAX];
    va_list ap;
    int fd = c->fd;

    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    /* -1 before close: a fork in between must never see a closed number as ours. */
    c->fd = -1;
    if (fd >= 0)
        close(fd);
    decoder_free(c->dec);
    c->dec = NULL;
    link_close_fds(c->fdq, c->fdq_len);
    c->fdq_len = 0;
    for (struct client_call *call = c->calls; call != NULL; call = call->next) {
        call->done = true;
        call->rc = err;
        snprintf(call->msg, sizeof(call->msg), "%s", msg);
    }
    c->calls = NULL;
    c->state = CLIENT_DOWN;
    pthread_cond_broadcast(&c->cond);
    return err;
}

void client_abort_locked(sharr_t *c, int err)
{
    if (c->reading) {
        shutdown(c->fd, SHUT_RDWR);
        c->state = CLIENT_BROKEN;
        return;
    }
    client_break_locked(c, -ECONNRESET, "connection to sharrd lost: %s", sharr_strerror(err));
}

/* A new generation: its daemon's capabilities, and no ring yet. */
static void client_link_caps_locked(sharr_t *c, const struct link *link)
{
    if (c->ring != NULL)
        munmap(c->ring, RING_BYTES);
    c->ring = NULL;
    c->ring_off = false;
    /* Entries of the generation before go at the next sweep: its attachments are gone. */
    if (c->gens != NULL)
        munmap(c->gens, GENS_BYTES);
    c->gens = NULL;
    c->gens_off = false;
    c->attach_cache = link->attach_cache;
    c->release_notify = link->release_notify;
    c->release_ring = link->release_ring;
    c->records = link->records;
}

int client_ensure_up_locked(sharr_t *c)
{
    for (;;) {
        struct link link;
        char err[CLIENT_MSG_MAX];
        int rc;

        if (c->state == CLIENT_UP)
            return 0;
        if (c->state == CLIENT_BROKEN) {
            if (!c->reading)
                client_break_locked(c, -ECONNRESET, "connection to sharrd lost");
            else
                pthread_cond_wait(&c->cond, &c->lock);
            continue;
        }
        if (c->state == CLIENT_DIALING) {
            unsigned seen = c->dials;

            while (c->state == CLIENT_DIALING)
                pthread_cond_wait(&c->cond, &c->lock);
            if (c->state == CLIENT_DOWN && c->dials != seen)
                return client_fail(c->dial_err, "%s", c->dial_msg);
            continue;
        }
        c->state = CLIENT_DIALING;
        pthread_mutex_unlock(&c->lock);
        rc = link_dial(c->path, CLIENT_DIAL_TRIES, &link, err, sizeof(err));
        pthread_mutex_lock(&c->lock);
        c->dials++;
        if (rc < 0) {
            c->state = CLIENT_DOWN;
            c->dial_err = rc;
            snprintf(c->dial_msg, sizeof(c->dial_msg), "%s", err);
            pthread_cond_broadcast(&c->cond);
            return client_fail(rc, "%s", err);
        }
        c->fd = link.fd;
        c->dec = link.dec;
        c->server = link.server;
        c->dial_err = 0;
        client_link_caps_locked(c, &link);
        c->gen++;
        c->state = CLIENT_UP;
        pthread_cond_broadcast(&c->cond);
    }
}

/* In a forked child: the socket, lock, condition and pending calls are copies of
 * the parent's, and parent threads that held or waited on them do not exist here. */
static void client_reset_after_fork(sharr_t *c)
{
    /* A lock that is free was not held mid-change at fork: the state is sound and
     * the decoder can be freed. A lock held by a parent thread that does not exist
     * here is initialised afresh, and the decoder it guarded is left allocated
     * rather than freed in an unknown state. */
    bool consistent = pthread_mutex_trylock(&c->lock) == 0;

    /* Closing the child's copies sends nothing; the parent's socket stays open. */
    if (c->fd >= 0)
        close(c->fd);
    link_close_fds(c->fdq, c->fdq_len);
    if (consistent)
        decoder_free(c->dec);
    c->state = CLIENT_DOWN;
    c->fd = -1;
    c->dec = NULL;
    c->reading = false;
    c->calls = NULL;
    c->fdq_len = 0;
    /* The ring and the generation page were mapped MADV_DONTFORK: they are not in the
     * child, nor is any attachment the cache holds. */
    c->ring = NULL;
    c->gens = NULL;
    attcache_after_fork(&c->cache, consistent);
    /* Initialised, not destroyed: destroying a condition that parent threads were
     * waiting on blocks forever. */
    pthread_cond_init(&c->cond, NULL);
    if (consistent)
        pthread_mutex_unlock(&c->lock);
    else
        pthread_mutex_init(&c->lock, NULL);
}

/* The calling process's pid without a system call per use. This cache is the one
 * piece of process-wide mutable state in libsharr: a pthread_atfork child handler
 * clears it, so the child of a fork() (os.fork and multiprocessing included) reads
 * its own pid again at its first call. A child made by a raw clone() system call,
 * which runs no fork handlers, must not use libsharr. */
static atomic_int client_cached_pid;
static pthread_once_t client_pid_once = PTHREAD_ONCE_INIT;

static void client_pid_forget(void)
{
    atomic_store(&client_cached_pid, 0);
}

static void client_pid_watch_forks(void)
{
    pthread_atfork(NULL, NULL, client_pid_forget);
}

pid_t client_pid(void)
{
    int pid = atomic_load_explicit(&client_cached_pid, memory_order_relaxed);

    if (pid == 0) {
        /* The handler is in place before the pid is cached: any fork after this
         * point clears it in the child. */
        pthread_once(&client_pid_once, client_pid_watch_forks);
        pid = (int)getpid();
        atomic_store(&client_cached_pid, pid);
    }
    return pid;
}

/* Every entry point runs this before touching the lock. The compare-exchange lets
 * exactly one thread of a child reset; the others wait until it is done. */
void client_check_fork(sharr_t *c)
{
    int me = (int)client_pid();

    for (;;) {
        int seen = atomic_load(&c->owner_pid);

        if (seen == me)
            return;
        if (seen == -me) {
            sched_yield();
            continue;
        }
        if (atomic_compare_exchange_strong(&c->owner_pid, &seen, -me)) {
            client_reset_after_fork(c);
            atomic_store(&c->owner_pid, me);
            return;
        }
    }
}

bool client_unreachable(sharr_t *c)
{
    bool down;

    pthread_mutex_lock(&c->lock);
    down = c->state == CLIENT_DOWN && c->dial_err != 0;
    pthread_mutex_unlock(&c->lock);
    return down;
}

size_t client_page_size(sharr_t *c, size_t cap)
{
    uint32_t n;

    client_check_fork(c);
    pthread_mutex_lock(&c->lock);
    n = c->server.list_page_max;
    pthread_mutex_unlock(&c->lock);
    if (n == 0 || n > PROTO_LIST_PAGE_MAX)
        n = PROTO_LIST_PAGE_MAX;
    return cap < n ? cap : n;
}

int client_ring_post(sharr_t *c, uint64_t gen, uint64_t handle)
{
    int rc;

    client_check_fork(c);
    pthread_mutex_lock(&c->lock);
    if (c->state != CLIENT_UP || c->gen != gen)
        rc = c->gen != gen ? 0 : -ENOSPC;
    else if (c->ring != NULL)
        rc = ring_post(c->ring, handle);
    else
        rc = c->release_ring && !c->ring_off ? 1 : -ENOSPC;
    pthread_mutex_unlock(&c->lock);
    return rc;
}

/* Give generation gen the shared page map (bytes long, taken) in *page, or mark it as
 * having none (*off) when map is NULL; map is unmapped when gen is gone or already has
 * its page or has none. */
static void client_page_keep(sharr_t *c, uint64_t gen, void **page, bool *off, void *map,
                             size_t bytes)
{
    client_check_fork(c);
    pthread_mutex_lock(&c->lock);
    if (c->gen == gen && *page == NULL && !*off) {
        *page = map;
        *off = map == NULL;
        map = NULL;
    }
    pthread_mutex_unlock(&c->lock);
    if (map != NULL)
        munmap(map, bytes);
}

void client_ring_set(sharr_t *c, uint64_t gen, void *map)
{
    client_page_keep(c, gen, &c->ring, &c->ring_off, map, RING_BYTES);
}

void client_gens_set(sharr_t *c, uint64_t gen, void *map)
{
    client_page_keep(c, gen, &c->gens, &c->gens_off, map, GENS_BYTES);
}

static void client_free(sharr_t *c)
{
    attcache_free(&c->cache);
    if (c->gens != NULL)
        munmap(c->gens, GENS_BYTES);
    if (c->ring != NULL)
        munmap(c->ring, RING_BYTES);
    if (c->fd >= 0)
        close(c->fd);
    decoder_free(c->dec);
    link_close_fds(c->fdq, c->fdq_len);
    pthread_cond_destroy(&c->cond);
    pthread_mutex_destroy(&c->lock);
    free(c->rbuf);
    free(c);
}

void client_ref(sharr_t *c)
{
    atomic_fetch_add(&c->refs, 1);
}

void client_unref(sharr_t *c)
{
    client_check_fork(c);
    if (atomic_fetch_sub(&c->refs, 1) == 1)
        client_free(c);
}

int sharr_connect(const char *path, sharr_t **ret_conn)
{
    struct link link;
    char err[CLIENT_MSG_MAX];
    sharr_t *c = NULL;
    int rc;

    if (ret_conn == NULL)
        return client_fail(-EINVAL, "sharr_connect: ret_conn is NULL");
    c = calloc(1, sizeof(*c));
    if (c == NULL)
        return client_fail(-ENOMEM, "out of memory");
    c->fd = -1;
    attcache_init(&c->cache);
    if (path == NULL) {
        rc = sockpath_client(c->path, sizeof(c->path));
        if (rc < 0) {
            rc = client_fail(rc, "default socket path is too long");
            goto fail;
        }
    } else if (path[0] == '\0' || strlen(path) >= sizeof(c->path)) {
        rc = client_fail(path[0] == '\0' ? -EINVAL : -ENAMETOOLONG,
                         "socket path '%s' is empty or longer than %zu bytes", path,
                         sizeof(c->path) - 1);
        goto fail;
    } else {
        memcpy(c->path, path, strlen(path) + 1);
    }
    c->rbuf = malloc(CLIENT_RECV_CHUNK);
    if (c->rbuf == NULL) {
        rc = client_fail(-ENOMEM, "out of memory");
        goto fail;
    }
    /* The first connect is tried once: a daemon that is not running is reported at
     * once. Reconnects later retry, since then a daemon is likely restarting. */
    rc = link_dial(c->path, 1, &link, err, sizeof(err));
    if (rc < 0) {
        rc = client_fail(rc, "%s", err);
        goto fail;
    }
    pthread_mutex_init(&c->lock, NULL);
    pthread_cond_init(&c->cond, NULL);
    atomic_init(&c->refs, 1);
    atomic_init(&c->owner_pid, (int)client_pid());
    atomic_init(&c->next_msgid, LINK_HELLO_MSGID + 1);
    c->fd = link.fd;
    c->dec = link.dec;
    c->server = link.server;
    client_link_caps_locked(c, &link);
    c->gen = 1;
    c->state = CLIENT_UP;
    *ret_conn = c;
    return 0;
fail:
    free(c->rbuf);
    free(c);
    return rc;
}

void sharr_disconnect(sharr_t *conn)
{
    if (conn != NULL)
        client_unref(conn);
}

int sharr_server_info(sharr_t *conn, struct sharr_server *ret_info)
{
    if (conn == NULL || ret_info == NULL)
        return client_fail(-EINVAL, "sharr_server_info: conn or ret_info is NULL");
    client_check_fork(conn);
    pthread_mutex_lock(&conn->lock);
    *ret_info = conn->server;
    pthread_mutex_unlock(&conn->lock);
    return 0;
}
