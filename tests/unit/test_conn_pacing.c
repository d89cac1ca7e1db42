/* test_conn_pacing.c — how a connection (daemon/conn.c) paces its client, on a
 * socketpair and a private libuv loop with the test's hooks as the layer above: one
 * uid is answered CONN_TURN_REQUESTS requests a turn and the rest later; a request left
 * half-sent is timed out with an error to the peer, a whole one never; reading pauses
 * while its replies pile up, and while all queues together are full it is answered
 * one reply at a time; a reply queued with a reference asks for its descriptor only
 * when its first byte is sent, and a descriptor pinned to waiting replies travels with
 * them and is closed by the last.
 */
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cmocka.h>

#include "config.h"
#include "connpair.h"
#include "testskip.h"

#define BOUND 100000 /* turns of the loop a test waits at most for what it expects */

static void write_requests(struct connpair *p, uint64_t first, unsigned n)
{
    msgpack_sbuffer sb;

    msgpack_sbuffer_init(&sb);
    for (unsigned i = 0; i < n; i++)
        connpair_pack(&sb, first + i);
    connpair_write(p, sb.data, sb.size);
    msgpack_sbuffer_destroy(&sb);
}

/* Read as the client and run the loop until n requests were handed up and every reply
 * was read; returns the bytes read. */
static size_t read_until_answered(struct connpair *p, unsigned n)
{
    size_t total = 0;

    for (int i = 0; i < BOUND && (p->nmsgs < n || p->c->out_head); i++) {
        total += connpair_drain(p);
        uv_run(&p->loop, UV_RUN_NOWAIT);
    }
    total += connpair_drain(p);
    assert_int_equal(p->nmsgs, n);
    assert_null(p->c->out_head);
    return total;
}

static void test_conn_one_uid_gets_its_share_of_a_turn_and_the_rest_later(void **state)
{
    struct connpair *p = connpair_new();

    (void)state;
    write_requests(p, 0, CONN_TURN_REQUESTS + 30);
    uv_run(&p->loop, UV_RUN_NOWAIT); /* one turn */
    assert_int_equal(p->nmsgs, CONN_TURN_REQUESTS);
    assert_true(p->c->backlog);
    connpair_settle(p);
    assert_int_equal(p->nmsgs, CONN_TURN_REQUESTS + 30);
    assert_false(p->c->backlog);
    for (unsigned i = 0; i < p->nmsgs; i++)
        assert_int_equal(p->msgs[i].id, i);
    connpair_free(p);
}

static void test_conn_half_sent_request_is_closed_with_an_error(void **state)
{
    struct connpair *p = connpair_new();
    msgpack_unpacked msg;
    msgpack_sbuffer sb;
    char buf[4096];
    size_t off = 0;
    ssize_t n;

    (void)state;
    p->policy.request_timeout_ms = 10;
    msgpack_sbuffer_init(&sb);
    connpair_pack(&sb, 1);
    connpair_write(p, sb.data, sb.size);
    connpair_settle(p);
    assert_false(uv_is_active((uv_handle_t *)&p->c->idle)); /* a whole request: no timer */
    connpair_write(p, sb.data, sb.size - 1);
    connpair_settle(p);
    assert_true(uv_is_active((uv_handle_t *)&p->c->idle));
    for (int i = 0; i < BOUND && !p->closed; i++)
        uv_run(&p->loop, UV_RUN_ONCE);
    assert_int_equal(p->closed, 1);
    assert_int_equal(p->nmsgs, 1);
    /* The peer was told why, as msgid 0, then the socket was closed. */
    while ((n = recv(p->client, buf + off, sizeof(buf) - off, MSG_DONTWAIT)) > 0)
        off += (size_t)n;
    assert_true(off > 0);
    msgpack_unpacked_init(&msg);
    assert_int_equal(msgpack_unpack_next(&msg, buf, off, NULL), MSGPACK_UNPACK_SUCCESS);
    assert_int_equal(msg.data.type, MSGPACK_OBJECT_ARRAY);
    assert_int_equal(msg.data.via.array.size, 4);
    assert_int_equal(msg.data.via.array.ptr[0].via.u64, 1); /* a response */
    assert_int_equal(msg.data.via.array.ptr[1].via.u64, 0);
    assert_int_not_equal(msg.data.via.array.ptr[2].type, MSGPACK_OBJECT_NIL);
    msgpack_unpacked_destroy(&msg);
    msgpack_sbuffer_destroy(&sb);
    connpair_free(p);
}

static void test_conn_reading_pauses_while_its_replies_pile_up(void **state)
{
    struct connpair *p = connpair_new();

    (void)state;
    p->policy.max_queued = 64u << 20;
    p->reply_len = 256u << 10;
    write_requests(p, 0, 8);
    connpair_settle(p);
    /* Paused at the mark: the rest wait unread until the client reads. */
    assert_true(p->nmsgs > 0 && p->nmsgs < 8);
    assert_true(p->c->out_bytes >= CONFIG_OUTPUT_PAUSE);
    assert_false(p->c->events & UV_READABLE);
    assert_int_equal(p->closed, 0);
    assert_int_equal(read_until_answered(p, 8), 8 * p->reply_len);
    assert_int_equal(p->pool.queued_total, 0);
    connpair_free(p);
}

static void test_conn_full_queues_answer_one_reply_until_it_is_read(void **state)
{
    struct connpair *p = connpair_new();

    (void)state;
    p->policy.max_queued_total = 1; /* every waiting reply fills them */
    p->reply_len = 64u << 10;     /* more than the socket takes at once */
    write_requests(p, 0, 4);
    connpair_settle(p);
    assert_int_equal(p->nmsgs, 1);
    assert_true(conn_queues_full(&p->pool));
    assert_int_equal(read_until_answered(p, 4), 4 * p->reply_len);
    assert_false(conn_queues_full(&p->pool));
    connpair_free(p);
}

static void test_conn_reply_asks_for_its_descriptor_when_its_first_byte_goes(void **state)
{
    struct connpair *p = connpair_new();
    int pipefd[2];

    (void)state;
    assert_int_equal(pipe2(pipefd, O_CLOEXEC | O_NONBLOCK), 0);
    p->ref_fd = pipefd[1];
    p->reply_ref = true;
    p->reply_len = 64u << 10;
    write_requests(p, 0, 2);
    connpair_settle(p);
    /* The first reply began (its descriptor went, its reference let go); the second
     * waits behind it holding its reference and no descriptor. */
    assert_int_equal(p->nmsgs, 2);
    assert_int_equal(p->out_fd_calls, 1);
    assert_int_equal(p->out_unref_calls, 1);
    read_until_answered(p, 2);
    assert_int_equal(p->out_fd_calls, 2);
    assert_int_equal(p->out_unref_calls, 2);
    assert_int_equal(p->fds_received, 2);
    close(pipefd[0]);
    close(pipefd[1]); /* the layer above's: conn.c never closed it */
    connpair_free(p);
}

/* A pipe for descriptors to travel (pipefd) and a connection whose socket a plain
 * reply of 64 KiB has filled, so that the replies after it wait in its queue. */
static struct connpair *pair_with_a_full_socket(int pipefd[2])
{
    struct connpair *p = connpair_new();

    assert_int_equal(pipe2(pipefd, O_CLOEXEC | O_NONBLOCK), 0);
    p->reply_len = 64u << 10;
    write_requests(p, 0, 1); /* a plain reply fills the socket */
    connpair_settle(p);
    return p;
}

static void test_conn_pinned_descriptor_travels_with_waiting_replies(void **state)
{
    int pipefd[2];
    struct connpair *p = pair_with_a_full_socket(pipefd);
    char byte;

    (void)state;
    p->reply_ref = true;
    write_requests(p, 1, 2);
    connpair_settle(p);
    assert_int_equal(p->nmsgs, 3);
    assert_int_equal(p->out_fd_calls, 0);
    assert_false(conn_pin(p->c, p, 1, pipefd[1])); /* no reply for that tag */
    assert_true(conn_pin(p->c, p, 0, pipefd[1]));
    assert_int_equal(p->out_unref_calls, 2);
    assert_int_equal(p->c->pinned, 1);
    read_until_answered(p, 3);
    assert_int_equal(p->out_fd_calls, 0); /* never asked: they carried the pinned one */
    assert_int_equal(p->fds_received, 2);
    assert_int_equal(p->c->pinned, 0);
    assert_int_equal(read(pipefd[0], &byte, 1), 0); /* the last reply closed it: EOF */
    close(pipefd[0]);
    connpair_free(p);
}

static void test_conn_descriptor_sent_once_is_closed_after_its_reply(void **state)
{
    int pipefd[2];
    struct connpair *p = pair_with_a_full_socket(pipefd);
    char *data;
    char byte;

    (void)state;
    data = calloc(1, 100);
    assert_non_null(data);
    assert_int_equal(conn_send(p->c, data, 100, pipefd[1]), 0);
    conn_release_fd(p->c, pipefd[1]); /* still queued: closed once sent */
    assert_int_equal(fcntl(pipefd[1], F_GETFD) >= 0, 1);
    read_until_answered(p, 1);
    assert_int_equal(p->fds_received, 1);
    assert_int_equal(read(pipefd[0], &byte, 1), 0);
    close(pipefd[0]);
    connpair_free(p);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_conn_one_uid_gets_its_share_of_a_turn_and_the_rest_later),
        cmocka_unit_test(test_conn_half_sent_request_is_closed_with_an_error),
        cmocka_unit_test(test_conn_reading_pauses_while_its_replies_pile_up),
        cmocka_unit_test(test_conn_full_queues_answer_one_reply_until_it_is_read),
        cmocka_unit_test(test_conn_reply_asks_for_its_descriptor_when_its_first_byte_goes),
        cmocka_unit_test(test_conn_pinned_descriptor_travels_with_waiting_replies),
        cmocka_unit_test(test_conn_descriptor_sent_once_is_closed_after_its_reply),
    };

    return testskip_exit(cmocka_run_group_tests(tests, NULL, NULL));
}
