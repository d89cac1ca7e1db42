/* rawconn.c — a plain socket to sharrd that sends test-chosen bytes and reads replies.
 *
 * Reads always pass a control buffer (a read without one would drop a descriptor);
 * descriptors are kept with the stream offset of the recvmsg that brought them.
 * Replies are split with scan_object and unpacked with msgpack-c. Waits are bounded
 * by poll so a daemon that hangs fails the test instead of stalling it.
 */
#include "rawconn.h"

#include <errno.h>
#include <poll.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cmocka.h>

#include "codec.h"
#include "harness.h"
#include "proto_limits.h"
#include "scan.h"

#define RAWCONN_WAIT_MS 20000

void rawconn_open(struct rawconn *rc, const char *path, size_t chunk)
{
    memset(rc, 0, sizeof *rc);
    rc->chunk = chunk;
    msgpack_unpacked_init(&rc->obj);
    rc->fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    assert_true(rc->fd >= 0);
    struct sockaddr_un addr = { .sun_family = AF_UNIX };
    assert_true(strlen(path) < sizeof addr.sun_path);
    strcpy(addr.sun_path, path);
    assert_int_equal(connect(rc->fd, (struct sockaddr *)&addr, sizeof addr), 0);
}

void rawconn_open_hello(struct rawconn *rc, const char *path, size_t chunk)
{
    rawconn_open(rc, path, chunk);
    rawconn_hello(rc, 1);
}

void rawconn_adopt(struct rawconn *rc, int fd, size_t chunk)
{
    memset(rc, 0, sizeof *rc);
    rc->chunk = chunk;
    msgpack_unpacked_init(&rc->obj);
    rc->fd = fd;
}

void rawconn_close(struct rawconn *rc)
{
    if (rc->fd >= 0)
        close(rc->fd);
    rc->fd = -1;
    for (int i = 0; i < rc->nfds; i++)
        close(rc->fds[i]);
    rc->nfds = 0;
    free(rc->buf);
    rc->buf = NULL;
    free(rc->objbytes);
    rc->objbytes = NULL;
    rc->len = rc->cap = 0;
    msgpack_unpacked_destroy(&rc->obj);
}

int rawconn_send(struct rawconn *rc, const void *bytes, size_t len)
{
    return chan_send(rc->fd, bytes, len);
}

void rawconn_send_ok(struct rawconn *rc, const void *bytes, size_t len)
{
    int r = rawconn_send(rc, bytes, len);
    if (r != 0)
        print_error("send to sharrd: %s\n", strerror(-r));
    assert_int_equal(r, 0);
}

void rawconn_send_sbuf(struct rawconn *rc, msgpack_sbuffer *sb)
{
    rawconn_send_ok(rc, sb->data, sb->size);
    msgpack_sbuffer_clear(sb);
}

/* One recvmsg of up to rc->chunk bytes. Returns bytes read, 0 on EOF, or -errno. */
static int rawconn_fill(struct rawconn *rc)
{
    struct pollfd pfd = { .fd = rc->fd, .events = POLLIN };
    int pr;
    do {
        pr = poll(&pfd, 1, RAWCONN_WAIT_MS);
    } while (pr < 0 && errno == EINTR);
    if (pr == 0)
        return -ETIMEDOUT;
    if (pr < 0)
        return -errno;

    if (rc->cap - rc->len < rc->chunk) {
        size_t cap = rc->cap ? rc->cap * 2 : 65536;
        while (cap - rc->len < rc->chunk)
            cap *= 2;
        uint8_t *bigger = realloc(rc->buf, cap);
        assert_non_null(bigger);
        rc->buf = bigger;
        rc->cap = cap;
    }
    union {
        struct cmsghdr align;
        char buf[CMSG_SPACE(sizeof(int) * RAWCONN_FDS_MAX)];
    } control;
    struct iovec iov = { rc->buf + rc->len, rc->chunk };
    struct msghdr msg = { .msg_iov = &iov, .msg_iovlen = 1, .msg_control = control.buf,
                          .msg_controllen = sizeof control.buf };
    ssize_t n;
    do {
        n = recvmsg(rc->fd, &msg, MSG_CMSG_CLOEXEC);
    } while (n < 0 && errno == EINTR);
    if (n < 0)
        return -errno;
    uint64_t at = rc->consumed + rc->len;
    for (struct cmsghdr *c = CMSG_FIRSTHDR(&msg); c != NULL; c = CMSG_NXTHDR(&msg, c)) {
        if (c->cmsg_level != SOL_SOCKET || c->cmsg_type != SCM_RIGHTS)
            continue;
        size_t nfds = (c->cmsg_len - CMSG_LEN(0)) / sizeof(int);
        for (size_t i = 0; i < nfds; i++) {
            int fd;
            memcpy(&fd, CMSG_DATA(c) + i * sizeof(int), sizeof fd);
            assert_true(rc->nfds < RAWCONN_FDS_MAX);
            rc->fds[rc->nfds] = fd;
            rc->fd_at[rc->nfds] = at;
            rc->nfds++;
        }
    }
    assert_false(msg.msg_flags & MSG_CTRUNC);
    rc->len += (size_t)n;
    return (int)n;
}

int rawconn_next(struct rawconn *rc, msgpack_object *ret_obj, uint64_t *ret_at)
{
    for (;;) {
        size_t objlen = 0;
        int s = rc->len > 0 ? scan_object(rc->buf, rc->len, PROTO_RESPONSE_MAX,
                                          PROTO_DEPTH_MAX, &objlen)
                            : 0;
        if (s < 0) {
            print_error("the daemon sent bytes that do not scan: %d\n", s);
            fail();
        }
        if (s == 1) {
            /* msgpack-c points strings into the bytes it unpacks: keep them aside. */
            free(rc->objbytes);
            rc->objbytes = malloc(objlen);
            assert_non_null(rc->objbytes);
            memcpy(rc->objbytes, rc->buf, objlen);
            size_t off = 0;
            msgpack_unpack_return ur =
                msgpack_unpack_next(&rc->obj, (const char *)rc->objbytes, objlen, &off);
            assert_int_equal(ur, MSGPACK_UNPACK_SUCCESS);
            assert_int_equal(off, objlen);
            if (ret_at != NULL)
                *ret_at = rc->consumed;
            memmove(rc->buf, rc->buf + objlen, rc->len - objlen);
            rc->len -= objlen;
            rc->consumed += objlen;
            *ret_obj = rc->obj.data;
            return 1;
        }
        int n = rawconn_fill(rc);
        if (n == 0) {
            if (rc->len != 0) {
                print_error("the daemon closed the connection inside a reply\n");
                fail();
            }
            return 0;
        }
        if (n < 0)
            return n;
    }
}

int rawconn_expect_closed(struct rawconn *rc)
{
    for (;;) {
        rc->len = 0; /* replies before the close do not matter here */
        int n = rawconn_fill(rc);
        if (n == 0 || n == -ECONNRESET)
            return 0;
        if (n < 0)
            return n;
    }
}

int rawconn_take_fd(struct rawconn *rc, uint64_t *ret_at)
{
    if (rc->nfds == 0)
        return -1;
    int fd = rc->fds[0];
    if (ret_at != NULL)
        *ret_at = rc->fd_at[0];
    rc->nfds--;
    memmove(rc->fds, rc->fds + 1, sizeof rc->fds[0] * (size_t)rc->nfds);
    memmove(rc->fd_at, rc->fd_at + 1, sizeof rc->fd_at[0] * (size_t)rc->nfds);
    return fd;
}

const msgpack_object *rawconn_map_get(const msgpack_object *map, const char *key)
{
    if (map == NULL || map->type != MSGPACK_OBJECT_MAP)
        return NULL;
    size_t klen = strlen(key);
    for (uint32_t i = 0; i < map->via.map.size; i++) {
        const msgpack_object *k = &map->via.map.ptr[i].key;
        if (k->type == MSGPACK_OBJECT_STR && k->via.str.size == klen &&
            memcmp(k->via.str.ptr, key, klen) == 0)
            return &map->via.map.ptr[i].val;
    }
    return NULL;
}

void rawconn_expect_reply(struct rawconn *rc, uint32_t msgid, const char *want_code,
                          const msgpack_object **ret_result)
{
    msgpack_object obj;
    int r = rawconn_next(rc, &obj, NULL);
    if (r != 1)
        print_error("waiting for the reply to msgid %u: %s\n", msgid,
                    r == 0 ? "connection closed" : strerror(-r));
    assert_int_equal(r, 1);
    assert_int_equal(obj.type, MSGPACK_OBJECT_ARRAY);
    assert_int_equal(obj.via.array.size, 4);
    const msgpack_object *e = obj.via.array.ptr;
    assert_int_equal(e[0].type, MSGPACK_OBJECT_POSITIVE_INTEGER);
    assert_int_equal(e[0].via.u64, 1);
    assert_int_equal(e[1].type, MSGPACK_OBJECT_POSITIVE_INTEGER);
    assert_int_equal(e[1].via.u64, msgid);
    if (want_code == NULL) {
        if (e[2].type != MSGPACK_OBJECT_NIL) {
            const msgpack_object *m = rawconn_map_get(&e[2], "message");
            print_error("msgid %u failed: %.*s\n", msgid,
                        m && m->type == MSGPACK_OBJECT_STR ? (int)m->via.str.size : 0,
                        m && m->type == MSGPACK_OBJECT_STR ? m->via.str.ptr : "");
        }
        assert_int_equal(e[2].type, MSGPACK_OBJECT_NIL);
        assert_int_equal(e[3].type, MSGPACK_OBJECT_MAP);
        if (ret_result != NULL)
            *ret_result = &e[3];
        return;
    }
    assert_int_equal(e[2].type, MSGPACK_OBJECT_MAP);
    assert_int_equal(e[3].type, MSGPACK_OBJECT_NIL);
    const msgpack_object *code = rawconn_map_get(&e[2], "code");
    const msgpack_object *message = rawconn_map_get(&e[2], "message");
    assert_non_null(code);
    assert_int_equal(code->type, MSGPACK_OBJECT_STR);
    assert_non_null(message);
    assert_int_equal(message->type, MSGPACK_OBJECT_STR);
    char got[64];
    size_t n = code->via.str.size < sizeof got - 1 ? code->via.str.size : sizeof got - 1;
    memcpy(got, code->via.str.ptr, n);
    got[n] = '\0';
    if (strcmp(got, want_code) != 0)
        print_error("msgid %u: error %s (%.*s), want %s\n", msgid, got,
                    (int)message->via.str.size, message->via.str.ptr, want_code);
    assert_string_equal(got, want_code);
    if (ret_result != NULL)
        *ret_result = NULL;
}

const msgpack_object *rawconn_call(struct rawconn *rc, uint32_t msgid, msgpack_sbuffer *sb)
{
    const msgpack_object *result = NULL;
    rawconn_send_sbuf(rc, sb);
    msgpack_sbuffer_destroy(sb);
    rawconn_expect_reply(rc, msgid, NULL, &result);
    return result;
}

void rawconn_hello(struct rawconn *rc, uint32_t msgid)
{
    msgpack_sbuffer sb;
    msgpack_sbuffer_init(&sb);
    struct codec_hello hello = { .version = PROTO_VERSION };
    strcpy(hello.client, "sharr integration rawconn");
    assert_int_equal(codec_pack_hello(&sb, msgid, &hello), 0);
    const msgpack_object *result = rawconn_call(rc, msgid, &sb);
    struct codec_hello_reply reply;
    char err[256] = "";
    int r = codec_parse_reply_hello(result, &reply, err, sizeof err);
    if (r != 0)
        print_error("hello reply: %s\n", err);
    assert_int_equal(r, 0);
    assert_int_equal(reply.version, PROTO_VERSION);
}

void rawconn_pack_request_head(msgpack_packer *pk, uint32_t msgid, const char *method)
{
    msgpack_pack_array(pk, 4);
    msgpack_pack_uint32(pk, 0);
    msgpack_pack_uint32(pk, msgid);
    rawconn_pack_str(pk, method);
    msgpack_pack_array(pk, 1);
}

void rawconn_request_begin(msgpack_sbuffer *sb, msgpack_packer *pk, uint32_t msgid,
                           const char *method)
{
    msgpack_sbuffer_init(sb);
    msgpack_packer_init(pk, sb, msgpack_sbuffer_write);
    rawconn_pack_request_head(pk, msgid, method);
}

void rawconn_pack_str(msgpack_packer *pk, const char *s)
{
    msgpack_pack_str_with_body(pk, s, strlen(s));
}

void rawconn_pack_name(msgpack_sbuffer *sb, uint32_t msgid, const char *method,
                       const char *name)
{
    struct codec_name p;
    memset(&p, 0, sizeof p);
    assert_true(strlen(name) < sizeof p.name);
    strcpy(p.name, name);
    assert_int_equal(codec_pack_name(sb, msgid, method, &p), 0);
}

void rawconn_pack_stat_with_key(msgpack_sbuffer *sb, uint32_t msgid, const char *name,
                                const char *key)
{
    msgpack_sbuffer_clear(sb);
    msgpack_packer pk;
    msgpack_packer_init(&pk, sb, msgpack_sbuffer_write);
    rawconn_pack_request_head(&pk, msgid, "stat");
    msgpack_pack_map(&pk, 2);
    rawconn_pack_str(&pk, "name");
    rawconn_pack_str(&pk, name);
    rawconn_pack_str(&pk, key);
}

void rawconn_pack_padded_stat(msgpack_sbuffer *sb, uint32_t msgid, const char *name,
                              size_t total)
{
    /* The pad's string header keeps its width between the two tries for every total
     * the tests use, so the second try lands on total exactly. */
    size_t pad = total / 2;
    for (int attempt = 0; attempt < 2; attempt++) {
        rawconn_pack_stat_with_key(sb, msgid, name, "pad");
        msgpack_packer pk;
        msgpack_packer_init(&pk, sb, msgpack_sbuffer_write);
        msgpack_pack_str(&pk, pad);
        char *filler = malloc(pad);
        assert_non_null(filler);
        memset(filler, 'p', pad);
        msgpack_pack_str_body(&pk, filler, pad);
        free(filler);
        pad = pad + total - sb->size;
    }
    assert_int_equal(sb->size, total);
}

void rawconn_send_name(struct rawconn *rc, uint32_t msgid, const char *method,
                       const char *name)
{
    msgpack_sbuffer sb;
    msgpack_sbuffer_init(&sb);
    rawconn_pack_name(&sb, msgid, method, name);
    rawconn_send_sbuf(rc, &sb);
    msgpack_sbuffer_destroy(&sb);
}

int rawconn_open_read(struct rawconn *rc, uint32_t msgid, const char *name,
                      struct codec_attach_reply *ret_att)
{
    msgpack_sbuffer sb;
    msgpack_sbuffer_init(&sb);
    struct codec_open op = { .mode = META_MODE_R };
    assert_true(strlen(name) < sizeof op.name);
    strcpy(op.name, name);
    assert_int_equal(codec_pack_open(&sb, msgid, &op), 0);
    const msgpack_object *result = rawconn_call(rc, msgid, &sb);
    struct codec_attach_reply att;
    char err[256] = "";
    int has_fd = 0;
    assert_int_equal(codec_parse_reply_attach(result, &att, &has_fd, err, sizeof err), 0);
    assert_int_equal(has_fd, 1);
    int fd = rawconn_take_fd(rc, NULL);
    assert_true(fd >= 0);
    if (ret_att != NULL)
        *ret_att = att;
    return fd;
}

void rawconn_reply_code(const msgpack_object *obj, char *code, size_t len)
{
    code[0] = '\0';
    const msgpack_object *e = obj->via.array.ptr;
    if (e[2].type != MSGPACK_OBJECT_MAP)
        return;
    const msgpack_object *c = rawconn_map_get(&e[2], "code");
    assert_non_null(c);
    snprintf(code, len, "%.*s", (int)c->via.str.size, c->via.str.ptr);
}

void rawconn_reply_message(const msgpack_object *obj, char *text, size_t len)
{
    text[0] = '\0';
    const msgpack_object *e = obj->via.array.ptr;
    const msgpack_object *m = e[2].type == MSGPACK_OBJECT_MAP ? rawconn_map_get(&e[2], "message")
                                                              : NULL;
    if (m)
        snprintf(text, len, "%.*s", (int)m->via.str.size, m->via.str.ptr);
}
