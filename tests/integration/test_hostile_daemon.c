/* test_hostile_daemon.c — libsharr against a daemon that sends what sharrd never would:
 * a forked fake daemon on a real Unix socket answers hello, then answers an open or a
 * stat with scripted bytes and descriptors (split byte by byte, two replies in one
 * write, another msgid first, errors, descriptors that disagree with the reply, cut
 * off, huge lengths, deep nesting, wrong types). Each call must end with its reply's
 * result or a clear negative errno, and the process must hold no descriptor more than
 * before it connected.
 */
#include <dirent.h>
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include "codec.h"
#include "decoder.h"
#include "harness.h"
#include "sharr.h"

#define FAKE_NAME "a"

/* What the fake daemon sends for the request with msgid id (method m). */
typedef void fake_answer_fn(int sock, uint32_t id, const char *method);

static int count_fds(void)
{
    DIR *d = opendir("/proc/self/fd");
    int n = 0;

    assert_non_null(d);
    while (readdir(d) != NULL)
        n++;
    closedir(d);
    return n;
}

/* Send len bytes with the n descriptors fds on their first byte. */
static void fake_send(int sock, const void *bytes, size_t len, const int *fds, int n)
{
    char ctl[CMSG_SPACE(8 * sizeof(int))] = { 0 };
    struct iovec iov = { .iov_base = (void *)bytes, .iov_len = len };
    struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1 };

    if (n > 0) {
        struct cmsghdr *cm;

        mh.msg_control = ctl;
        mh.msg_controllen = CMSG_SPACE(n * sizeof(int));
        cm = CMSG_FIRSTHDR(&mh);
        cm->cmsg_level = SOL_SOCKET;
        cm->cmsg_type = SCM_RIGHTS;
        cm->cmsg_len = CMSG_LEN(n * sizeof(int));
        memcpy(CMSG_DATA(cm), fds, n * sizeof(int));
    }
    if (sendmsg(sock, &mh, MSG_NOSIGNAL) != (ssize_t)len)
        _exit(3);
}

static void fake_meta(struct meta *m)
{
    memset(m, 0, sizeof(*m));
    snprintf(m->name, sizeof(m->name), FAKE_NAME);
    if (dtype_parse("<f8", &m->dtype) < 0)
        _exit(4);
    m->ndim = 1;
    m->shape[0] = 4;
    m->nbytes = 32;
    m->offset = PROTO_DATA_OFFSET;
    m->order = 'C';
    m->perm = 0600;
    m->uid = getuid();
    m->gid = getgid();
}

/* An attach reply to id and a memfd that fits it (the caller closes it). */
static void fake_attach_reply(msgpack_sbuffer *sb, uint32_t id, int *ret_fd)
{
    struct codec_attach_reply r = { .handle = 7 };

    fake_meta(&r.meta);
    if (codec_pack_reply_attach(sb, id, &r) < 0)
        _exit(5);
    *ret_fd = memfd_create("fake", MFD_CLOEXEC);
    if (*ret_fd < 0 || ftruncate(*ret_fd, PROTO_DATA_OFFSET + 32) < 0)
        _exit(6);
}

/* The fake daemon: hello, then answer(...) for every other request, until EOF. */
static void fake_serve(int lsock, fake_answer_fn *answer)
{
    struct decoder *dec = decoder_new(PROTO_REQUEST_MAX, PROTO_DEPTH_MAX);
    int sock = accept(lsock, NULL, NULL);
    uint8_t buf[4096];
    ssize_t n;

    if (sock < 0 || dec == NULL)
        _exit(2);
    while ((n = read(sock, buf, sizeof(buf))) > 0) {
        msgpack_object obj;
        int r;

        decoder_feed(dec, buf, (size_t)n);
        while ((r = decoder_next(dec, &obj)) == 1) {
            struct codec_msg m;
            char err[256];

            if (codec_parse_msg(&obj, &m, NULL, err, sizeof(err)) < 0)
                _exit(7);
            if (m.type != CODEC_REQUEST)
                continue;
            if (strcmp(m.method, "hello") == 0) {
                struct codec_hello_reply h = {
                    .version = PROTO_VERSION, .server = "fake", .pid = 1,
                    .max_name = PROTO_NAME_MAX, .max_ndim = PROTO_NDIM_MAX,
                    .max_request = PROTO_REQUEST_MAX, .list_page_max = PROTO_LIST_PAGE_MAX,
                };
                msgpack_sbuffer sb;

                msgpack_sbuffer_init(&sb);
                codec_pack_reply_hello(&sb, m.msgid, &h);
                fake_send(sock, sb.data, sb.size, NULL, 0);
                msgpack_sbuffer_destroy(&sb);
            } else if (strcmp(m.method, "release") != 0) {
                answer(sock, m.msgid, m.method);
            }
        }
        if (r < 0)
            _exit(8);
    }
    _exit(0);
}

struct fake {
    char dir[64];
    char path[108];
    pid_t pid;
};

static void fake_start(struct fake *f, fake_answer_fn *answer)
{
    struct sockaddr_un sa = { .sun_family = AF_UNIX };
    int lsock;

    snprintf(f->dir, sizeof(f->dir), "/tmp/sharr-fake-XXXXXX");
    assert_non_null(mkdtemp(f->dir));
    snprintf(f->path, sizeof(f->path), "%s/s", f->dir);
    snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", f->path);
    lsock = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    assert_true(lsock >= 0);
    assert_int_equal(bind(lsock, (struct sockaddr *)&sa, sizeof(sa)), 0);
    assert_int_equal(listen(lsock, 4), 0);
    f->pid = fork();
    assert_true(f->pid >= 0);
    if (f->pid == 0) {
        alarm(60);
        fake_serve(lsock, answer);
    }
    close(lsock);
}

static void fake_stop(struct fake *f)
{
    int st;

    kill(f->pid, SIGKILL);
    waitpid(f->pid, &st, 0);
    unlink(f->path);
    rmdir(f->dir);
}

/* Open FAKE_NAME read-only on a fresh connection to a fake daemon that answers with
 * answer; returns what sharr_open returned, checking that nothing leaked. */
static int fake_open(fake_answer_fn *answer)
{
    struct fake f;
    sharr_t *conn = NULL;
    sharr_array_t *a = NULL;
    int before, rc;

    fake_start(&f, answer);
    before = count_fds();
    assert_int_equal(sharr_connect(f.path, &conn), 0);
    rc = sharr_open(conn, FAKE_NAME, "r", NULL, &a);
    if (rc < 0) {
        assert_null(a);
        assert_true(sharr_last_error()[0] != '\0');
    } else {
        assert_non_null(a);
        assert_int_equal(sharr_close(a), 0);
    }
    sharr_disconnect(conn);
    assert_int_equal(count_fds(), before);
    fake_stop(&f);
    return rc;
}

static void answer_byte_by_byte(int sock, uint32_t id, const char *method)
{
    msgpack_sbuffer sb;
    int fd;

    (void)method;
    msgpack_sbuffer_init(&sb);
    fake_attach_reply(&sb, id, &fd);
    fake_send(sock, sb.data, 1, &fd, 1);
    for (size_t i = 1; i < sb.size; i++) {
        fake_send(sock, sb.data + i, 1, NULL, 0);
        usleep(100);
    }
    close(fd);
    msgpack_sbuffer_destroy(&sb);
}

static void test_attach_reply_split_byte_by_byte_attaches(void **state)
{
    (void)state;
    assert_int_equal(fake_open(answer_byte_by_byte), 0);
}

/* A reply to a msgid nobody waits for, with its descriptor, then the one waited for,
 * in one write. */
static void answer_other_msgid_first(int sock, uint32_t id, const char *method)
{
    msgpack_sbuffer a, b;
    int fds[2];

    (void)method;
    msgpack_sbuffer_init(&a);
    msgpack_sbuffer_init(&b);
    fake_attach_reply(&a, id + 1000, &fds[0]);
    fake_attach_reply(&b, id, &fds[1]);
    msgpack_sbuffer_write(&a, b.data, b.size);
    fake_send(sock, a.data, a.size, fds, 2);
    close(fds[0]);
    close(fds[1]);
    msgpack_sbuffer_destroy(&a);
    msgpack_sbuffer_destroy(&b);
}

static void test_reply_to_another_msgid_first_leaks_nothing(void **state)
{
    (void)state;
    assert_int_equal(fake_open(answer_other_msgid_first), 0);
}

static void answer_error(int sock, uint32_t id, const char *method)
{
    msgpack_sbuffer sb;

    (void)method;
    msgpack_sbuffer_init(&sb);
    codec_pack_error(&sb, id, -ENOENT, "no array named a");
    fake_send(sock, sb.data, sb.size, NULL, 0);
    msgpack_sbuffer_destroy(&sb);
}

static void test_error_reply_is_its_errno(void **state)
{
    (void)state;
    assert_int_equal(fake_open(answer_error), -ENOENT);
}

static void answer_error_with_a_descriptor(int sock, uint32_t id, const char *method)
{
    msgpack_sbuffer sb;
    int fd = memfd_create("fake", MFD_CLOEXEC);

    (void)method;
    msgpack_sbuffer_init(&sb);
    codec_pack_error(&sb, id, -ENOENT, "no array named a");
    fake_send(sock, sb.data, sb.size, &fd, 1);
    close(fd);
    msgpack_sbuffer_destroy(&sb);
}

static void test_error_reply_with_a_descriptor_is_its_errno_and_leaks_nothing(void **state)
{
    (void)state;
    assert_int_equal(fake_open(answer_error_with_a_descriptor), -ENOENT);
}

/* A stat reply split byte by byte, a descriptor it does not announce on its first. */
static void answer_stat_split_with_a_descriptor(int sock, uint32_t id, const char *method)
{
    msgpack_sbuffer sb;
    struct meta m;
    int fd = memfd_create("fake", MFD_CLOEXEC);

    (void)method;
    fake_meta(&m);
    msgpack_sbuffer_init(&sb);
    codec_pack_reply_stat(&sb, id, &m);
    fake_send(sock, sb.data, 1, &fd, 1);
    for (size_t i = 1; i < sb.size; i++)
        fake_send(sock, sb.data + i, 1, NULL, 0);
    close(fd);
    msgpack_sbuffer_destroy(&sb);
}

static void test_stat_reply_split_with_an_unannounced_descriptor_leaks_nothing(void **state)
{
    struct fake f;
    struct sharr_info info;
    sharr_t *conn = NULL;
    int before;

    (void)state;
    fake_start(&f, answer_stat_split_with_a_descriptor);
    before = count_fds();
    assert_int_equal(sharr_connect(f.path, &conn), 0);
    assert_int_equal(sharr_stat(conn, FAKE_NAME, &info), 0);
    assert_int_equal(info.shape[0], 4);
    sharr_disconnect(conn);
    assert_int_equal(count_fds(), before);
    fake_stop(&f);
}

static void answer_fd_missing(int sock, uint32_t id, const char *method)
{
    msgpack_sbuffer sb;
    int fd;

    (void)method;
    msgpack_sbuffer_init(&sb);
    fake_attach_reply(&sb, id, &fd);
    fake_send(sock, sb.data, sb.size, NULL, 0);
    close(fd);
    msgpack_sbuffer_destroy(&sb);
}

static void test_attach_reply_without_its_descriptor_is_eproto(void **state)
{
    (void)state;
    assert_int_equal(fake_open(answer_fd_missing), -EPROTO);
}

static void answer_two_fds(int sock, uint32_t id, const char *method)
{
    msgpack_sbuffer sb;
    int fds[2];

    (void)method;
    msgpack_sbuffer_init(&sb);
    fake_attach_reply(&sb, id, &fds[0]);
    fds[1] = dup(fds[0]);
    fake_send(sock, sb.data, sb.size, fds, 2);
    close(fds[0]);
    close(fds[1]);
    msgpack_sbuffer_destroy(&sb);
}

static void test_attach_reply_with_a_descriptor_too_many_leaks_nothing(void **state)
{
    (void)state;
    int rc = fake_open(answer_two_fds);
    assert_true(rc == 0 || rc == -EPROTO);
}

static void answer_cut_off(int sock, uint32_t id, const char *method)
{
    msgpack_sbuffer sb;
    int fd;

    (void)method;
    msgpack_sbuffer_init(&sb);
    fake_attach_reply(&sb, id, &fd);
    fake_send(sock, sb.data, sb.size / 2, &fd, 1);
    close(fd);
    msgpack_sbuffer_destroy(&sb);
    shutdown(sock, SHUT_RDWR);
    _exit(0);
}

static void test_reply_cut_off_then_closed_is_econnreset(void **state)
{
    (void)state;
    assert_int_equal(fake_open(answer_cut_off), -ECONNRESET);
}

/* [1, id, nil, {"array": <str32 of 4 GiB>}] */
static void answer_huge_length(int sock, uint32_t id, const char *method)
{
    uint8_t b[] = { 0x94, 0x01, 0xce, 0, 0, 0, 0, 0xc0, 0x81, 0xa5, 'a', 'r', 'r', 'a', 'y',
                    0xdb, 0xff, 0xff, 0xff, 0xff, 'x' };

    (void)method;
    b[3] = (uint8_t)(id >> 24);
    b[4] = (uint8_t)(id >> 16);
    b[5] = (uint8_t)(id >> 8);
    b[6] = (uint8_t)id;
    fake_send(sock, b, sizeof(b), NULL, 0);
}

static void test_reply_claiming_a_huge_length_is_eproto(void **state)
{
    (void)state;
    assert_int_equal(fake_open(answer_huge_length), -EPROTO);
}

/* [1, id, nil, {"array": [[[[[[[[[[1]]]]]]]]]]}] */
static void answer_deep(int sock, uint32_t id, const char *method)
{
    uint8_t b[64] = { 0x94, 0x01, 0xce, 0, 0, 0, 0, 0xc0, 0x81, 0xa5, 'a', 'r', 'r', 'a', 'y' };
    size_t n = 15;

    (void)method;
    b[3] = (uint8_t)(id >> 24);
    b[4] = (uint8_t)(id >> 16);
    b[5] = (uint8_t)(id >> 8);
    b[6] = (uint8_t)id;
    for (int i = 0; i < 12; i++)
        b[n++] = 0x91;
    b[n++] = 0x01;
    fake_send(sock, b, n, NULL, 0);
}

static void test_reply_nested_too_deep_is_eproto(void **state)
{
    (void)state;
    assert_int_equal(fake_open(answer_deep), -EPROTO);
}

/* {"array": meta, "handle": "x", "fd": true} */
static void answer_wrong_handle_type(int sock, uint32_t id, const char *method)
{
    msgpack_sbuffer sb;
    msgpack_packer pk;
    struct meta m;
    int fd;

    (void)method;
    fake_meta(&m);
    msgpack_sbuffer_init(&sb);
    msgpack_packer_init(&pk, &sb, msgpack_sbuffer_write);
    msgpack_pack_array(&pk, 4);
    msgpack_pack_uint32(&pk, 1);
    msgpack_pack_uint32(&pk, id);
    msgpack_pack_nil(&pk);
    msgpack_pack_map(&pk, 3);
    msgpack_pack_str_with_body(&pk, "array", 5);
    {
        msgpack_sbuffer one;
        size_t start;

        /* The meta map as a stat reply packs it: its bytes after "array". */
        msgpack_sbuffer_init(&one);
        codec_pack_reply_stat(&one, id, &m);
        start = one.size;
        for (size_t i = 0; i + 6 <= one.size; i++) {
            if (memcmp(one.data + i, "\xa5" "array", 6) == 0) {
                start = i + 6;
                break;
            }
        }
        msgpack_sbuffer_write(&sb, one.data + start, one.size - start);
        msgpack_sbuffer_destroy(&one);
    }
    msgpack_pack_str_with_body(&pk, "handle", 6);
    msgpack_pack_str_with_body(&pk, "x", 1);
    msgpack_pack_str_with_body(&pk, "fd", 2);
    msgpack_pack_true(&pk);
    fd = memfd_create("fake", MFD_CLOEXEC);
    fake_send(sock, sb.data, sb.size, &fd, 1);
    close(fd);
    msgpack_sbuffer_destroy(&sb);
}

static void test_attach_reply_with_a_wrong_typed_handle_is_eproto(void **state)
{
    (void)state;
    assert_int_equal(fake_open(answer_wrong_handle_type), -EPROTO);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_attach_reply_split_byte_by_byte_attaches),
        cmocka_unit_test(test_reply_to_another_msgid_first_leaks_nothing),
        cmocka_unit_test(test_error_reply_is_its_errno),
        cmocka_unit_test(test_error_reply_with_a_descriptor_is_its_errno_and_leaks_nothing),
        cmocka_unit_test(test_stat_reply_split_with_an_unannounced_descriptor_leaks_nothing),
        cmocka_unit_test(test_attach_reply_without_its_descriptor_is_eproto),
        cmocka_unit_test(test_attach_reply_with_a_descriptor_too_many_leaks_nothing),
        cmocka_unit_test(test_reply_cut_off_then_closed_is_econnreset),
        cmocka_unit_test(test_reply_claiming_a_huge_length_is_eproto),
        cmocka_unit_test(test_reply_nested_too_deep_is_eproto),
        cmocka_unit_test(test_attach_reply_with_a_wrong_typed_handle_is_eproto),
    };
    signal(SIGPIPE, SIG_IGN);
    return testskip_exit(cmocka_run_group_tests(tests, NULL, NULL));
}
