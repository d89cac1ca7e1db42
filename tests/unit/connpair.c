/* connpair.c — one daemon connection on a socketpair and a private loop, with hooks
 * that record what it hands up (connpair.h).
 */
#include "connpair.h"

#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cmocka.h>

#include "fdio.h"

static bool connpair_on_message(struct conn *c, const msgpack_object *obj, const int *fds,
                                unsigned nfds)
{
    struct connpair *p = c->data;
    struct connpair_msg *m;

    assert_true(p->nmsgs < CONNPAIR_MSGS);
    m = &p->msgs[p->nmsgs++];
    assert_int_equal(obj->type, MSGPACK_OBJECT_ARRAY);
    assert_int_equal(obj->via.array.size, 4);
    m->id = obj->via.array.ptr[1].via.u64;
    m->nfds = nfds;
    memcpy(m->fds, fds, nfds * sizeof(*fds));
    if (p->reply_len > 0) {
        char *reply = malloc(p->reply_len);

        assert_non_null(reply);
        memset(reply, 'r', p->reply_len);
        if (p->reply_ref)
            conn_send_ref(c, reply, p->reply_len, p, 0);
        else
            conn_send(c, reply, p->reply_len, -1);
    }
    return false;
}

static bool connpair_on_read(struct conn *c)
{
    (void)c;
    return true;
}

static void connpair_on_close(struct conn *c)
{
    ((struct connpair *)c->data)->closed++;
}

static void connpair_on_free(struct conn *c)
{
    ((struct connpair *)c->data)->freed++;
}

static int connpair_out_fd(struct conn *c, void *ref, int tag, int *ret_fd)
{
    struct connpair *p = c->data;

    assert_ptr_equal(ref, p);
    assert_int_equal(tag, 0);
    p->out_fd_calls++;
    *ret_fd = p->ref_fd;
    return 0;
}

/* The reference a reply is queued with is the connpair itself. */
static void connpair_out_unref(void *ref)
{
    ((struct connpair *)ref)->out_unref_calls++;
}

static const struct conn_hooks connpair_hooks = {
    .on_message = connpair_on_message,
    .on_read = connpair_on_read,
    .on_close = connpair_on_close,
    .on_free = connpair_on_free,
    .out_fd = connpair_out_fd,
    .out_unref = connpair_out_unref,
};

struct connpair *connpair_new(void)
{
    struct connpair *p = calloc(1, sizeof(*p));
    struct access_peer peer = { .uid = 1000, .gid = 1000, .pid = (uint32_t)getpid() };
    int sv[2], small = 4096;

    assert_non_null(p);
    p->log.level = LOG_LEVEL_ERROR;
    p->ref_fd = -1;
    policy_defaults(&p->policy);
    assert_int_equal(uv_loop_init(&p->loop), 0);
    trim_init(&p->trim, &p->loop);
    ratelog_init(&p->closings, &p->loop, &p->log, "connections closed for what they sent");
    conn_pool_init(&p->pool, &p->loop, &p->log, &p->policy, &p->peers, &p->trim,
                   &p->closings);
    assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0, sv), 0);
    assert_int_equal(setsockopt(sv[0], SOL_SOCKET, SO_SNDBUF, &small, sizeof(small)), 0);
    p->client = sv[1];
    p->c = conn_new(&p->pool, sv[0], &peer, &connpair_hooks, p);
    assert_non_null(p->c);
    assert_int_equal(p->pool.n, 1);
    return p;
}

void connpair_settle(struct connpair *p)
{
    for (int i = 0; i < 16; i++)
        uv_run(&p->loop, UV_RUN_NOWAIT);
}

void connpair_free(struct connpair *p)
{
    if (!p->closed)
        conn_close(p->c, "the test is over");
    conn_pool_close(&p->pool);
    ratelog_close(&p->closings);
    trim_close(&p->trim);
    assert_int_equal(uv_run(&p->loop, UV_RUN_DEFAULT), 0);
    assert_int_equal(uv_loop_close(&p->loop), 0);
    assert_int_equal(p->closed, 1);
    assert_int_equal(p->freed, 1);
    assert_int_equal(p->pool.n, 0);
    assert_int_equal(p->pool.queued_total, 0);
    assert_null(p->peers.head);
    for (unsigned i = 0; i < p->nmsgs; i++)
        for (unsigned j = 0; j < p->msgs[i].nfds; j++)
            close(p->msgs[i].fds[j]);
    close(p->client);
    free(p);
}

void connpair_pack(msgpack_sbuffer *sb, uint64_t id)
{
    msgpack_packer pk;

    msgpack_packer_init(&pk, sb, msgpack_sbuffer_write);
    msgpack_pack_array(&pk, 4);
    msgpack_pack_uint8(&pk, 0);
    msgpack_pack_uint64(&pk, id);
    msgpack_pack_str_with_body(&pk, "ping", 4);
    msgpack_pack_array(&pk, 0);
}

void connpair_write(struct connpair *p, const void *buf, size_t len)
{
    const char *at = buf;

    while (len > 0) {
        ssize_t n = send(p->client, at, len, MSG_NOSIGNAL);

        if (n < 0 && (errno == EAGAIN || errno == EINTR)) {
            connpair_settle(p);
            continue;
        }
        assert_true(n > 0);
        at += n;
        len -= (size_t)n;
    }
}

size_t connpair_drain(struct connpair *p)
{
    char buf[65536];
    int fds[FDIO_FDS_MAX];
    size_t total = 0, nfds;
    bool truncated;
    ssize_t n;

    while ((n = fdio_recv(p->client, buf, sizeof(buf), MSG_DONTWAIT, fds, FDIO_FDS_MAX, &nfds,
                          &truncated)) > 0) {
        total += (size_t)n;
        p->fds_received += (unsigned)nfds;
        for (size_t i = 0; i < nfds; i++)
            close(fds[i]);
    }
    return total;
}
