/* test_releases.c — the release rings (daemon/releases.c) with the sessions and the
 * registry they release into, each connection a real one (daemon/conn.c) on a
 * socketpair and a private loop, the methods replaced by a hook that records: what a
 * client posts is detached before its next request is handed up; a handle that is not
 * the connection's own is ignored; an impossible head closes the connection and lets
 * go of all it held; a second ring is refused; the sweep runs only while an array
 * without a name is attached.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cmocka.h>

#include "daemon.h"
#include "heldregistry.h"
#include "releases.h"
#include "ring.h"
#include "session.h"
#include "testskip.h"

struct fixture {
    struct daemon d;
    struct registry_array *a;
    uint64_t attached_at_request; /* registry.nattached when the last request came */
    unsigned requests;
};

/* The client's end and mapping of one connection. */
struct client {
    struct conn *c;
    int sock;
    void *ring;
};

static bool on_message(struct conn *c, const msgpack_object *obj, const int *fds,
                       unsigned nfds)
{
    struct fixture *f = (struct fixture *)daemon_of(c); /* d is its first member */

    (void)obj;
    (void)fds;
    assert_int_equal(nfds, 0);
    f->attached_at_request = f->d.registry.nattached;
    f->requests++;
    return false;
}

static void on_close(struct conn *c)
{
    session_close(c);
    releases_ring_drop(c);
}

/* As daemon.c's, but for the methods. */
static const struct conn_hooks hooks = {
    .on_message = on_message,
    .on_read = releases_take,
    .on_close = on_close,
    .on_free = session_free,
};

static int setup(void **state)
{
    struct fixture *f = calloc(1, sizeof(*f));

    assert_non_null(f);
    f->d.log.level = LOG_LEVEL_ERROR;
    policy_defaults(&f->d.cfg.policy);
    assert_int_equal(uv_loop_init(&f->d.loop), 0);
    trim_init(&f->d.trim, &f->d.loop);
    ratelog_init(&f->d.closings, &f->d.loop, &f->d.log, "connections closed");
    conn_pool_init(&f->d.conns, &f->d.loop, &f->d.log, &f->d.cfg.policy, &f->d.peers,
                   &f->d.trim, &f->d.closings);
    heldregistry_open(&f->d);
    releases_init(&f->d);
    heldregistry_add(&f->d, "test_releases", &f->a);
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    struct fixture *f = *state;

    while (f->d.conns.head)
        conn_close(f->d.conns.head, "the test is over");
    releases_close(&f->d);
    conn_pool_close(&f->d.conns);
    ratelog_close(&f->d.closings);
    trim_close(&f->d.trim);
    heldregistry_close(&f->d);
    free(f);
    return 0;
}

/* A connection of uid 1000 with a release ring, as the method ring makes one. */
static void client_open(struct fixture *f, struct client *cl)
{
    struct access_peer peer = { .uid = 1000, .gid = 1000, .pid = (uint32_t)getpid() };
    struct session *s = session_new();
    char err[256];
    int sv[2], fd;

    assert_non_null(s);
    assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0, sv), 0);
    cl->sock = sv[1];
    cl->c = conn_new(&f->d.conns, sv[0], &peer, &hooks, s);
    assert_non_null(cl->c);
    session_start(cl->c);
    assert_int_equal(releases_ring_new(cl->c, &fd, err, sizeof(err)), 0);
    cl->ring = mmap(NULL, RING_BYTES, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    assert_true(cl->ring != MAP_FAILED);
    close(fd);
}

static void client_close(struct client *cl)
{
    munmap(cl->ring, RING_BYTES);
    close(cl->sock);
}

static uint64_t attach(struct fixture *f, struct client *cl)
{
    struct registry_attach att;
    char err[256];

    registry_attach(&f->d.registry, f->a, META_MODE_R, &att);
    assert_int_equal(session_attach_add(cl->c, &att, err, sizeof(err)), 0);
    return att.handle;
}

/* Send one request as the client and let the connection read it. */
static void request(struct fixture *f, struct client *cl)
{
    static const char ping[] = { (char)0x94, 0x00, 0x01, (char)0xa4, 'p', 'i', 'n', 'g',
                                 (char)0x90 };

    assert_int_equal(send(cl->sock, ping, sizeof(ping), MSG_NOSIGNAL), (ssize_t)sizeof(ping));
    for (int i = 0; i < 16; i++)
        uv_run(&f->d.loop, UV_RUN_NOWAIT);
}

static void test_releases_posted_are_detached_before_the_next_request(void **state)
{
    struct fixture *f = *state;
    struct client cl;
    uint64_t h[3];

    client_open(f, &cl);
    for (int i = 0; i < 3; i++)
        h[i] = attach(f, &cl);
    assert_int_equal(ring_post(cl.ring, h[0]), 0);
    assert_int_equal(ring_post(cl.ring, h[2]), 0);
    request(f, &cl);
    assert_int_equal(f->requests, 1);
    assert_int_equal(f->attached_at_request, 1);
    assert_int_equal(session_of(cl.c)->atts.n, 1);
    assert_int_equal(cl.c->uid->atts, 1);
    client_close(&cl);
}

static void test_releases_of_handles_not_its_own_are_ignored(void **state)
{
    struct fixture *f = *state;
    struct client mine, other;
    uint64_t theirs;

    client_open(f, &mine);
    client_open(f, &other);
    attach(f, &mine);
    theirs = attach(f, &other);
    assert_int_equal(ring_post(mine.ring, theirs), 0);
    assert_int_equal(ring_post(mine.ring, 999999), 0);
    request(f, &mine);
    assert_int_equal(f->requests, 1);
    assert_int_equal(f->d.registry.nattached, 2);
    assert_false(mine.c->closing);
    client_close(&mine);
    client_close(&other);
}

static void test_releases_impossible_head_closes_the_connection(void **state)
{
    struct fixture *f = *state;
    struct client cl;
    struct conn *c;

    client_open(f, &cl);
    attach(f, &cl);
    attach(f, &cl);
    c = cl.c;
    conn_ref(c);
    __atomic_store_n((uint64_t *)cl.ring + RING_HEAD_AT / 8, RING_SLOTS + 1, __ATOMIC_RELEASE);
    request(f, &cl);
    assert_true(c->closing);
    assert_int_equal(f->requests, 0); /* the request after the ring was not answered */
    assert_int_equal(f->d.registry.nattached, 0);
    assert_int_equal(f->d.nrings, 0);
    conn_unref(c);
    client_close(&cl);
}

static void test_releases_second_ring_is_eexist(void **state)
{
    struct fixture *f = *state;
    struct client cl;
    char err[256];
    int fd = -1;

    client_open(f, &cl);
    assert_int_equal(releases_ring_new(cl.c, &fd, err, sizeof(err)), -EEXIST);
    assert_int_equal(fd, -1);
    assert_int_equal(f->d.nrings, 1);
    client_close(&cl);
}

/* A named array needs no sweep; one that lost its name while attached does, until the
 * last ring goes. */
static void test_releases_sweep_runs_only_for_an_attached_array_without_a_name(void **state)
{
    struct fixture *f = *state;
    struct client cl;

    client_open(f, &cl);
    attach(f, &cl);
    assert_false(uv_is_active((uv_handle_t *)&f->d.releases_timer));
    registry_remove(&f->d.registry, f->a);
    releases_sweep(&f->d);
    assert_true(uv_is_active((uv_handle_t *)&f->d.releases_timer));
    conn_close(cl.c, "the client left");
    assert_false(uv_is_active((uv_handle_t *)&f->d.releases_timer));
    client_close(&cl);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(
            test_releases_posted_are_detached_before_the_next_request, setup, teardown),
        cmocka_unit_test_setup_teardown(test_releases_of_handles_not_its_own_are_ignored,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(test_releases_impossible_head_closes_the_connection,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(test_releases_second_ring_is_eexist, setup, teardown),
        cmocka_unit_test_setup_teardown(
            test_releases_sweep_runs_only_for_an_attached_array_without_a_name, setup,
            teardown),
    };

    return testskip_exit(cmocka_run_group_tests(tests, NULL, NULL));
}
