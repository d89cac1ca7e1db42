/* test_conn_framing.c — how a connection (daemon/conn.c) cuts the bytes it reads into
 * requests and hands each up with its descriptors, on a socketpair and a private
 * libuv loop, with no layer above but the test's hooks: a request split at any byte
 * is handed up once whole, several requests in one read are handed up in order, and a
 * descriptor goes to the request whose bytes carried it (the one starting last among
 * them), or is closed when it came with bytes that start no request.
 */
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "connpair.h"
#include "fdio.h"
#include "testskip.h"

/* Requests first..first+n-1, back to back, in sb (initialised here). */
static void pack_requests(msgpack_sbuffer *sb, uint64_t first, unsigned n)
{
    msgpack_sbuffer_init(sb);
    for (unsigned i = 0; i < n; i++)
        connpair_pack(sb, first + i);
}

static void send_with_fd(struct connpair *p, const void *buf, size_t len, int fd)
{
    assert_int_equal(fdio_send(p->client, buf, len, fd, 0), (ssize_t)len);
}

static ino_t inode_of(int fd)
{
    struct stat st;

    assert_int_equal(fstat(fd, &st), 0);
    return st.st_ino;
}

static void test_conn_request_split_at_every_byte_is_handed_up_once_whole(void **state)
{
    struct connpair *p = connpair_new();
    msgpack_sbuffer sb, one;
    size_t end_of_first;

    (void)state;
    msgpack_sbuffer_init(&one);
    connpair_pack(&one, 1);
    end_of_first = one.size;
    msgpack_sbuffer_destroy(&one);
    pack_requests(&sb, 1, 2);
    for (size_t i = 0; i < sb.size; i++) {
        connpair_write(p, sb.data + i, 1);
        connpair_settle(p);
        /* Handed up exactly when its last byte arrives, not before. */
        assert_int_equal(p->nmsgs, (i + 1 >= sb.size) ? 2 : (i + 1 >= end_of_first) ? 1 : 0);
    }
    assert_int_equal(p->msgs[0].id, 1);
    assert_int_equal(p->msgs[1].id, 2);
    assert_int_equal(p->closed, 0);
    msgpack_sbuffer_destroy(&sb);
    connpair_free(p);
}

static void test_conn_every_split_point_of_two_requests_gives_both_in_order(void **state)
{
    msgpack_sbuffer sb;

    (void)state;
    pack_requests(&sb, 7, 2);
    for (size_t cut = 1; cut < sb.size; cut++) {
        struct connpair *p = connpair_new();

        connpair_write(p, sb.data, cut);
        connpair_settle(p);
        connpair_write(p, sb.data + cut, sb.size - cut);
        connpair_settle(p);
        assert_int_equal(p->nmsgs, 2);
        assert_int_equal(p->msgs[0].id, 7);
        assert_int_equal(p->msgs[1].id, 8);
        assert_int_equal(p->c->nrequests, 2);
        connpair_free(p);
    }
    msgpack_sbuffer_destroy(&sb);
}

static void test_conn_several_requests_in_one_read_are_handed_up_in_order(void **state)
{
    struct connpair *p = connpair_new();
    msgpack_sbuffer sb;

    (void)state;
    pack_requests(&sb, 100, 10);
    connpair_write(p, sb.data, sb.size);
    connpair_settle(p);
    assert_int_equal(p->nmsgs, 10);
    for (unsigned i = 0; i < 10; i++) {
        assert_int_equal(p->msgs[i].id, 100 + i);
        assert_int_equal(p->msgs[i].nfds, 0);
    }
    assert_int_equal(p->c->rx_bytes, sb.size);
    msgpack_sbuffer_destroy(&sb);
    connpair_free(p);
}

/* A, then B sent with a descriptor, then C, all before the connection reads: only B
 * gets it, though A's bytes may come in the same read. */
static void test_conn_descriptor_goes_to_the_request_its_bytes_carried(void **state)
{
    struct connpair *p = connpair_new();
    msgpack_sbuffer a, b, c;
    int pipefd[2];

    (void)state;
    assert_int_equal(pipe2(pipefd, O_CLOEXEC | O_NONBLOCK), 0);
    pack_requests(&a, 1, 1);
    pack_requests(&b, 2, 1);
    pack_requests(&c, 3, 1);
    connpair_write(p, a.data, a.size);
    send_with_fd(p, b.data, b.size, pipefd[0]);
    connpair_write(p, c.data, c.size);
    connpair_settle(p);
    assert_int_equal(p->nmsgs, 3);
    assert_int_equal(p->msgs[0].nfds, 0);
    assert_int_equal(p->msgs[1].nfds, 1);
    assert_int_equal(p->msgs[2].nfds, 0);
    assert_int_equal(inode_of(p->msgs[1].fds[0]), inode_of(pipefd[0]));
    close(pipefd[0]);
    close(pipefd[1]);
    msgpack_sbuffer_destroy(&a);
    msgpack_sbuffer_destroy(&b);
    msgpack_sbuffer_destroy(&c);
    connpair_free(p);
}

/* The descriptor comes with the end of A and the start of B: B, the request that
 * starts among those bytes, gets it, whether or not A's start was read before. */
static void test_conn_descriptor_sent_across_two_requests_goes_to_the_later(void **state)
{
    msgpack_sbuffer sb, one;
    size_t a_len;

    (void)state;
    msgpack_sbuffer_init(&one);
    connpair_pack(&one, 1);
    a_len = one.size;
    msgpack_sbuffer_destroy(&one);
    pack_requests(&sb, 1, 2);
    for (int settle_between = 0; settle_between < 2; settle_between++) {
        struct connpair *p = connpair_new();
        int pipefd[2];

        assert_int_equal(pipe2(pipefd, O_CLOEXEC | O_NONBLOCK), 0);
        connpair_write(p, sb.data, a_len / 2);
        if (settle_between)
            connpair_settle(p);
        send_with_fd(p, sb.data + a_len / 2, a_len - a_len / 2 + 3, pipefd[1]);
        if (settle_between)
            connpair_settle(p);
        connpair_write(p, sb.data + a_len + 3, sb.size - a_len - 3);
        connpair_settle(p);
        assert_int_equal(p->nmsgs, 2);
        assert_int_equal(p->msgs[0].nfds, 0);
        assert_int_equal(p->msgs[1].nfds, 1);
        assert_int_equal(inode_of(p->msgs[1].fds[0]), inode_of(pipefd[1]));
        close(pipefd[0]);
        close(pipefd[1]);
        connpair_free(p);
    }
    msgpack_sbuffer_destroy(&sb);
}

/* A descriptor sent with bytes in the middle of a request (that request started in
 * an earlier read) belongs to no request: the connection closes its copy. */
static void test_conn_descriptor_with_bytes_that_start_no_request_is_closed(void **state)
{
    struct connpair *p = connpair_new();
    msgpack_sbuffer sb;
    int pipefd[2];
    char byte;

    (void)state;
    assert_int_equal(pipe2(pipefd, O_CLOEXEC | O_NONBLOCK), 0);
    pack_requests(&sb, 5, 1);
    connpair_write(p, sb.data, 2);
    connpair_settle(p);
    send_with_fd(p, sb.data + 2, 2, pipefd[1]);
    close(pipefd[1]); /* the connection's copy is now the pipe's only writer */
    connpair_settle(p);
    connpair_write(p, sb.data + 4, sb.size - 4);
    connpair_settle(p);
    assert_int_equal(p->nmsgs, 1);
    assert_int_equal(p->msgs[0].nfds, 0);
    assert_int_equal(read(pipefd[0], &byte, 1), 0); /* no writer left: EOF */
    close(pipefd[0]);
    msgpack_sbuffer_destroy(&sb);
    connpair_free(p);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_conn_request_split_at_every_byte_is_handed_up_once_whole),
        cmocka_unit_test(test_conn_every_split_point_of_two_requests_gives_both_in_order),
        cmocka_unit_test(test_conn_several_requests_in_one_read_are_handed_up_in_order),
        cmocka_unit_test(test_conn_descriptor_goes_to_the_request_its_bytes_carried),
        cmocka_unit_test(test_conn_descriptor_sent_across_two_requests_goes_to_the_later),
        cmocka_unit_test(test_conn_descriptor_with_bytes_that_start_no_request_is_closed),
    };

    return testskip_exit(cmocka_run_group_tests(tests, NULL, NULL));
}
