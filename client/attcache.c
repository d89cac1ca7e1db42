/* attcache.c — the attachments a connection keeps for reuse (attcache.h): finding one
 * and checking it against sharrd's generation page, keeping what a miss attached,
 * letting entries go, and the page itself, asked for once per connection generation
 * (method gens) when the daemon offers "attach_cache".
 *
 * Entries are unmapped, closed and released outside the connection's lock: the release
 * posts in the release ring, which takes the lock itself.
 */
#include "attcache.h"

#include <errno.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#include "codec.h"
#include "conn.h"
#include "gens.h"

static uint64_t attcache_now_ns(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/* A number from the environment variable var in 0..max, or dflt when unset or not one. */
static uint64_t attcache_env(const char *var, uint64_t dflt, uint64_t max)
{
    const char *s = getenv(var);
    char *end;
    unsigned long long v;

    if (s == NULL || *s < '0' || *s > '9')
        return dflt;
    errno = 0;
    v = strtoull(s, &end, 10);
    if (errno != 0 || *end != '\0')
        return dflt;
    return v > max ? max : v;
}

void attcache_init(struct attcache *ac)
{
    ac->head = NULL;
    ac->nidle = 0;
    ac->max_idle = (size_t)attcache_env("SHARR_CACHE_MAX", ATTCACHE_MAX_DEFAULT,
                                        ATTCACHE_MAX_LIMIT);
    ac->ttl_ns = attcache_env("SHARR_CACHE_MS", ATTCACHE_MS_DEFAULT, 86400000u) * 1000000u;
}

/* Unmap and close e, release its attachment when this process made it, and free it. */
static void attcache_destroy(sharr_t *c, struct attcache_entry *e)
{
    if (e->map != NULL)
        munmap(e->map, e->maplen);
    close(e->fd);
    if (c != NULL && e->pid == client_pid())
        (void)release_attachment(c, e->gen, e->handle);
    free(e);
}

/* Destroy the entries chained on their next pointers (taken out of the list). */
static void attcache_destroy_all(sharr_t *c, struct attcache_entry *drop)
{
    while (drop != NULL) {
        struct attcache_entry *next = drop->next;

        attcache_destroy(c, drop);
        drop = next;
    }
}

/* Whether e may still be handed out on c now. */
static bool attcache_current_locked(const sharr_t *c, const struct attcache_entry *e,
                                    uint64_t now)
{
    if (e->gen != c->gen || c->gens == NULL || gens_read(c->gens, e->slot) != e->slot_gen)
        return false;
    /* Kept less than T: T = 0 lets an entry go at its last close. */
    return e->refs > 0 || now - e->released_ns < c->cache.ttl_ns;
}

/* Unlist the entries that are no longer current; those nobody holds are chained onto
 * *drop. Then, while more than N idle entries are listed, the oldest idle ones too. */
static void attcache_sweep_locked(sharr_t *c, uint64_t now, struct attcache_entry **drop)
{
    struct attcache_entry **pp = &c->cache.head, *e;
    size_t idle = 0;

    while ((e = *pp) != NULL) {
        bool keep = attcache_current_locked(c, e, now);

        /* Newest first: idle entries past the first N are the oldest. */
        if (keep && e->refs == 0 && ++idle > c->cache.max_idle)
            keep = false;
        if (keep) {
            pp = &e->next;
            continue;
        }
        *pp = e->next;
        e->listed = false;
        if (e->refs == 0) {
            c->cache.nidle--;
            e->next = *drop;
            *drop = e;
        }
    }
}

/* Whether c's socket shows that sharrd closed it (it stopped or died): its cached
 * attachments died with it, though the connection has not noticed yet. */
static bool attcache_hung_up_locked(const sharr_t *c)
{
    struct pollfd p = { .fd = c->fd, .events = POLLRDHUP };

    return c->fd < 0 || (poll(&p, 1, 0) > 0 && (p.revents & (POLLRDHUP | POLLHUP | POLLERR)));
}

static int attcache_pack_gens(msgpack_sbuffer *out, uint32_t msgid, const void *params)
{
    (void)params;
    return codec_pack_gens(out, msgid);
}

/* Ask for generation gen's page and map it read-only; on any failure the generation
 * is marked as having none (its opens go to the daemon). */
static void attcache_fetch_page(sharr_t *c, uint64_t gen)
{
    void *map;

    (void)client_call_page(c, attcache_pack_gens, gen, GENS_BYTES, PROT_READ, &map);
    if (map != NULL && !gens_valid(map)) {
        munmap(map, GENS_BYTES);
        map = NULL;
    }
    client_gens_set(c, gen, map);
}

/* Whether an open with flags, owner and mode may be answered from the cache at all. */
static bool attcache_fits(const char *mode, int flags)
{
    return (strcmp(mode, "r") == 0 || strcmp(mode, "r+") == 0) &&
           (flags & ~(SHARR_F_OWNER | SHARR_F_PUBLISHED)) == 0;
}

/* The first listed entry of name (in slot) in mode that an open with flags and owner
 * may take, or NULL; with check, one that is current at now (a sweep that just ran
 * made every listed entry current). */
static struct attcache_entry *attcache_find_locked(const sharr_t *c, uint32_t slot,
                                                   const char *name, const char *mode,
                                                   int flags, const uint32_t *owner,
                                                   bool check, uint64_t now)
{
    struct attcache_entry *e;

    for (e = c->cache.head; e != NULL; e = e->next) {
        if (e->slot == slot && strcmp(e->mode, mode) == 0 &&
            strcmp(e->info.name, name) == 0 && (owner == NULL || e->info.uid == *owner) &&
            (!(flags & SHARR_F_PUBLISHED) || e->info.published) &&
            (!check || attcache_current_locked(c, e, now)))
            break;
    }
    return e;
}

int attcache_peek(sharr_t *c, const char *name, const char *mode, int flags,
                  const uint32_t *owner, struct attcache_entry **ret)
{
    struct attcache_entry *e = NULL;
    uint32_t slot;
    uint64_t now;

    /* In a forked child the first call resets the connection: a full open's work. */
    if (c->cache.max_idle == 0 || !attcache_fits(mode, flags) ||
        atomic_load(&c->owner_pid) != (int)client_pid())
        return 0;
    slot = gens_slot(name, strlen(name));
    now = attcache_now_ns();
    if (pthread_mutex_trylock(&c->lock) != 0)
        return 0;
    if (c->state == CLIENT_UP && c->attach_cache && !c->gens_off && c->gens != NULL &&
        !attcache_hung_up_locked(c)) {
        e = attcache_find_locked(c, slot, name, mode, flags, owner, true, now);
        if (e != NULL && e->refs++ == 0)
            c->cache.nidle--;
    }
    pthread_mutex_unlock(&c->lock);
    if (e == NULL)
        return 0;
    *ret = e;
    return 1;
}

int attcache_take(sharr_t *c, const char *name, const char *mode, int flags,
                  const uint32_t *owner, struct attcache_entry **ret,
                  struct attcache_snap *snap)
{
    struct attcache_entry *drop = NULL, *e = NULL;
    uint32_t slot;
    uint64_t now, gen;
    bool fetched = false;

    snap->ok = false;
    if (c->cache.max_idle == 0 || !attcache_fits(mode, flags))
        return 0;
    slot = gens_slot(name, strlen(name));
    client_check_fork(c);
    for (;;) {
        now = attcache_now_ns();
        pthread_mutex_lock(&c->lock);
        if (c->state != CLIENT_UP || !c->attach_cache || c->gens_off ||
            attcache_hung_up_locked(c))
            break;
        if (c->gens == NULL) {
            gen = c->gen;
            pthread_mutex_unlock(&c->lock);
            if (fetched)
                return 0;
            attcache_fetch_page(c, gen);
            fetched = true;
            continue;
        }
        attcache_sweep_locked(c, now, &drop);
        e = attcache_find_locked(c, slot, name, mode, flags, owner, false, now);
        if (e != NULL) {
            if (e->refs++ == 0)
                c->cache.nidle--;
        } else {
            *snap = (struct attcache_snap){ .ok = true, .gen = c->gen, .slot = slot,
                                            .slot_gen = gens_read(c->gens, slot) };
        }
        break;
    }
    pthread_mutex_unlock(&c->lock);
    attcache_destroy_all(c, drop);
    if (e == NULL)
        return 0;
    *ret = e;
    return 1;
}

struct attcache_entry *attcache_keep(sharr_t *c, const struct attcache_snap *snap,
                                     const char *mode, uint64_t gen, uint64_t handle, int fd,
                                     void *map, size_t maplen, const struct sharr_info *info,
                                     const char *descr)
{
    size_t dlen = strlen(descr);
    struct attcache_entry *e;

    if (!snap->ok || snap->gen != gen || map == NULL)
        return NULL;
    e = malloc(sizeof(*e) + dlen + 1);
    if (e == NULL)
        return NULL;
    *e = (struct attcache_entry){
        .refs = 1, .listed = true, .pid = client_pid(), .gen = gen, .handle = handle,
        .fd = fd, .map = map, .maplen = maplen, .slot = snap->slot,
        .slot_gen = snap->slot_gen,
    };
    memcpy(e->mode, mode, strlen(mode) + 1);
    e->info = *info;
    memcpy(e->descr, descr, dlen + 1);
    pthread_mutex_lock(&c->lock);
    e->next = c->cache.head;
    c->cache.head = e;
    pthread_mutex_unlock(&c->lock);
    return e;
}

void attcache_put(sharr_t *c, struct attcache_entry *e)
{
    struct attcache_entry *drop = NULL;
    uint64_t now = attcache_now_ns();

    client_check_fork(c);
    pthread_mutex_lock(&c->lock);
    if (--e->refs == 0) {
        e->released_ns = now;
        if (e->listed) {
            /* To the front: idle entries stay in the order they were let go, newest
             * first, so the sweep's room limit drops the oldest. */
            struct attcache_entry **pp = &c->cache.head;

            while (*pp != e)
                pp = &(*pp)->next;
            *pp = e->next;
            e->next = c->cache.head;
            c->cache.head = e;
            c->cache.nidle++;
        } else {
            e->next = drop;
            drop = e;
        }
    }
    if (c->state == CLIENT_UP && c->gens != NULL)
        attcache_sweep_locked(c, now, &drop);
    pthread_mutex_unlock(&c->lock);
    attcache_destroy_all(c, drop);
}

void attcache_sweep(sharr_t *c)
{
    struct attcache_entry *drop = NULL;
    uint64_t now;

    /* A cache that is off keeps nothing (attcache_take never snaps for it), and its N is
     * set once at init: no clock read, no lock after every call. */
    if (c->cache.max_idle == 0)
        return;
    now = attcache_now_ns();
    pthread_mutex_lock(&c->lock);
    if (c->cache.head != NULL && c->state == CLIENT_UP && c->gens != NULL)
        attcache_sweep_locked(c, now, &drop);
    pthread_mutex_unlock(&c->lock);
    attcache_destroy_all(c, drop);
}

size_t attcache_drop_idle(sharr_t *c)
{
    struct attcache_entry **pp, *e, *drop = NULL;
    size_t n = 0;

    client_check_fork(c);
    pthread_mutex_lock(&c->lock);
    pp = &c->cache.head;
    while ((e = *pp) != NULL) {
        if (e->refs > 0) {
            pp = &e->next;
            continue;
        }
        *pp = e->next;
        e->listed = false;
        e->next = drop;
        drop = e;
        n++;
    }
    c->cache.nidle = 0;
    pthread_mutex_unlock(&c->lock);
    attcache_destroy_all(c, drop);
    return n;
}

void attcache_after_fork(struct attcache *ac, bool consistent)
{
    struct attcache_entry *e = consistent ? ac->head : NULL, *next;

    for (; e != NULL; e = next) {
        next = e->next;
        e->listed = false;
        if (e->refs == 0)
            attcache_destroy(NULL, e);
    }
    ac->head = NULL;
    ac->nidle = 0;
}

void attcache_free(struct attcache *ac)
{
    struct attcache_entry *e = ac->head, *next;

    for (; e != NULL; e = next) {
        next = e->next;
        attcache_destroy(NULL, e);
    }
    ac->head = NULL;
    ac->nidle = 0;
}
