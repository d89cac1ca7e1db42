/* test_hostile.c — hostile input against a real sharrd, each case followed by a
 * check that the daemon still answers and every existing array is intact.
 *
 * Wrong msgpack types at every position of every method, names and sizes no client
 * library would send, descriptors sent by the client (closed, never leaked), a
 * thousand connections at once, running out of descriptors at accept, and peers
 * that leave in the middle of replies carrying descriptors. Frames, nesting and
 * truncation are in test_raw_protocol.c; limits with their flags in test_limits.c.
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#include "codec.h"
#include "keeper.h"
#include "launch.h"
#include "proto_limits.h"
#include "rawconn.h"
#include "testskip.h"

/* ---- wrong types at every position ---- */

enum kind { K_NIL, K_TRUE, K_NEG, K_POS, K_FLOAT, K_STR, K_BIN, K_ARR, K_MAP, K_EXT, K_COUNT };
#define SKIP(k) (1u << (k))

static void pack_kind(msgpack_packer *pk, enum kind k)
{
    switch (k) {
    case K_NIL: msgpack_pack_nil(pk); break;
    case K_TRUE: msgpack_pack_true(pk); break;
    case K_NEG: msgpack_pack_int64(pk, -1); break;
    case K_POS: msgpack_pack_uint64(pk, 7); break;
    case K_FLOAT: msgpack_pack_double(pk, 1.5); break;
    case K_STR: msgpack_pack_str_with_body(pk, "x", 1); break;
    case K_BIN: msgpack_pack_bin_with_body(pk, "\x01\x02", 2); break;
    case K_ARR: msgpack_pack_array(pk, 1); msgpack_pack_uint64(pk, 1); break;
    case K_MAP: msgpack_pack_map(pk, 0); break;
    default: msgpack_pack_ext_with_body(pk, "\x05", 1, 3); break;
    }
}

typedef void value_fn(msgpack_packer *pk);
static void v_keep(msgpack_packer *pk) { msgpack_pack_str_with_body(pk, KEEPER_NAME, 4); }
static void v_fresh(msgpack_packer *pk) { msgpack_pack_str_with_body(pk, "fresh", 5); }
static void v_dtype(msgpack_packer *pk) { msgpack_pack_str_with_body(pk, "<f4", 3); }
static void v_shape(msgpack_packer *pk) { msgpack_pack_array(pk, 1); msgpack_pack_uint64(pk, 4); }
static void v_order(msgpack_packer *pk) { msgpack_pack_str_with_body(pk, "C", 1); }
static void v_false(msgpack_packer *pk) { msgpack_pack_false(pk); }
static void v_perm(msgpack_packer *pk) { msgpack_pack_uint64(pk, 0600); }
static void v_mode(msgpack_packer *pk) { msgpack_pack_str_with_body(pk, "r", 1); }
static void v_zero(msgpack_packer *pk) { msgpack_pack_uint64(pk, 0); }
static void v_five(msgpack_packer *pk) { msgpack_pack_uint64(pk, 5); }
static void v_empty(msgpack_packer *pk) { msgpack_pack_str_with_body(pk, "", 0); }
static void v_version(msgpack_packer *pk) { msgpack_pack_uint64(pk, PROTO_VERSION); }
static void v_handle(msgpack_packer *pk) { msgpack_pack_uint64(pk, 987654); }

struct field {
    const char *key;
    value_fn *valid;
    unsigned skip; /* kinds that are valid here and so not tried */
};

#define STR_OK SKIP(K_STR)
#define UINT_OK SKIP(K_POS)
#define INT_OK (SKIP(K_POS) | SKIP(K_NEG))
#define BOOL_OK SKIP(K_TRUE)
#define ARR_OK SKIP(K_ARR)

static const struct {
    const char *method;
    struct field fields[8];
} methods[] = {
    { "hello", { { "version", v_version, UINT_OK }, { "client", v_empty, STR_OK } } },
    { "create", { { "name", v_fresh, STR_OK }, { "dtype", v_dtype, STR_OK },
                  { "shape", v_shape, ARR_OK }, { "order", v_order, STR_OK },
                  { "persist", v_false, BOOL_OK }, { "perm", v_perm, UINT_OK },
                  { "overwrite", v_false, BOOL_OK } } },
    { "open", { { "name", v_keep, STR_OK }, { "mode", v_mode, STR_OK },
                { "wait_ms", v_zero, INT_OK } } },
    { "stat", { { "name", v_keep, STR_OK } } },
    { "unlink", { { "name", v_keep, STR_OK } } },
    { "sync", { { "name", v_keep, STR_OK } } },
    { "release", { { "handle", v_handle, UINT_OK } } },
    { "list", { { "after", v_empty, STR_OK }, { "limit", v_five, UINT_OK } } },
    { "holders", { { "name", v_keep, STR_OK }, { "after", v_zero, UINT_OK },
                   { "limit", v_five, UINT_OK } } },
    { "chmod", { { "name", v_keep, STR_OK }, { "perm", v_perm, UINT_OK } } },
    { "chown", { { "name", v_keep, STR_OK }, { "uid", v_zero, UINT_OK },
                 { "gid", v_zero, UINT_OK } } },
};

/* [0, msgid, method, [{fields, with field `bad` replaced by kind k}]] */
static void pack_with_wrong_field(msgpack_sbuffer *sb, uint32_t msgid, size_t m, size_t bad,
                                  enum kind k)
{
    msgpack_packer pk;
    msgpack_packer_init(&pk, sb, msgpack_sbuffer_write);
    size_t n = 0;
    while (n < 8 && methods[m].fields[n].key)
        n++;
    rawconn_pack_request_head(&pk, msgid, methods[m].method);
    msgpack_pack_map(&pk, n);
    for (size_t i = 0; i < n; i++) {
        const struct field *f = &methods[m].fields[i];
        msgpack_pack_str_with_body(&pk, f->key, strlen(f->key));
        if (i == bad)
            pack_kind(&pk, k);
        else
            f->valid(&pk);
    }
}

static void test_wrong_type_at_every_param_is_einval(void **state)
{
    struct keeper k;
    keeper_start(&k, *state);
    struct rawconn rc;
    rawconn_open_hello(&rc, k.h->sock, 65536);
    msgpack_sbuffer sb;
    msgpack_sbuffer_init(&sb);
    uint32_t id = 100;
    size_t cases = 0;
    for (size_t m = 0; m < sizeof methods / sizeof methods[0]; m++) {
        for (size_t f = 0; f < 8 && methods[m].fields[f].key; f++) {
            for (enum kind kd = 0; kd < K_COUNT; kd++) {
                if (methods[m].fields[f].skip & SKIP(kd))
                    continue;
                msgpack_sbuffer_clear(&sb);
                pack_with_wrong_field(&sb, id, m, f, kd);
                rawconn_send_sbuf(&rc, &sb);
                rawconn_expect_reply(&rc, id++, "EINVAL", NULL);
                cases++;
            }
        }
    }
    assert_true(cases > 200);
    /* Inside the shape array: every element kind but a positive integer. */
    for (enum kind kd = 0; kd < K_COUNT; kd++) {
        if (kd == K_POS)
            continue;
        msgpack_sbuffer_clear(&sb);
        msgpack_packer pk;
        msgpack_packer_init(&pk, &sb, msgpack_sbuffer_write);
        rawconn_pack_request_head(&pk, id, "create");
        msgpack_pack_map(&pk, 3);
        msgpack_pack_str_with_body(&pk, "name", 4); v_fresh(&pk);
        msgpack_pack_str_with_body(&pk, "dtype", 5); v_dtype(&pk);
        msgpack_pack_str_with_body(&pk, "shape", 5);
        msgpack_pack_array(&pk, 2);
        msgpack_pack_uint64(&pk, 3);
        pack_kind(&pk, kd);
        rawconn_send_sbuf(&rc, &sb);
        rawconn_expect_reply(&rc, id++, "EINVAL", NULL);
    }
    /* Map keys that are not strings, and a repeated key. */
    msgpack_sbuffer_clear(&sb);
    msgpack_packer pk;
    msgpack_packer_init(&pk, &sb, msgpack_sbuffer_write);
    rawconn_pack_request_head(&pk, id, "stat");
    msgpack_pack_map(&pk, 2);
    msgpack_pack_str_with_body(&pk, "name", 4); v_keep(&pk);
    msgpack_pack_uint64(&pk, 1); v_keep(&pk);
    rawconn_send_sbuf(&rc, &sb);
    rawconn_expect_reply(&rc, id++, "EINVAL", NULL);
    msgpack_sbuffer_clear(&sb);
    rawconn_pack_request_head(&pk, id, "stat");
    msgpack_pack_map(&pk, 2);
    msgpack_pack_str_with_body(&pk, "name", 4); v_keep(&pk);
    msgpack_pack_str_with_body(&pk, "name", 4); v_keep(&pk);
    rawconn_send_sbuf(&rc, &sb);
    rawconn_expect_reply(&rc, id++, "EINVAL", NULL);
    msgpack_sbuffer_destroy(&sb);
    rawconn_close(&rc);
    struct sharr_stats st = harness_stats(k.conn);
    assert_int_equal(st.arrays, 1);
    assert_int_equal(st.attachments, 1);
    struct sharr_info info;
    assert_rc(sharr_stat(k.conn, KEEPER_NAME, &info), 0);
    assert_int_equal(info.perm, 0600);
    assert_int_equal(info.uid, 0);
    keeper_check(&k);
    keeper_stop(&k);
}

/* [type, msgid, method, params] with position pos replaced by kind kd. */
static void pack_wrong_envelope(msgpack_sbuffer *sb, unsigned pos, enum kind kd)
{
    msgpack_packer pk;
    msgpack_packer_init(&pk, sb, msgpack_sbuffer_write);
    msgpack_pack_array(&pk, 4);
    if (pos == 0) pack_kind(&pk, kd); else msgpack_pack_uint32(&pk, 0);
    if (pos == 1) pack_kind(&pk, kd); else msgpack_pack_uint32(&pk, 9);
    if (pos == 2) pack_kind(&pk, kd); else msgpack_pack_str_with_body(&pk, "stats", 5);
    if (pos == 3) {
        pack_kind(&pk, kd);
    } else {
        msgpack_pack_array(&pk, 0);
    }
}

static void test_wrong_type_at_every_envelope_position(void **state)
{
    struct keeper k;
    keeper_start(&k, *state);
    msgpack_sbuffer sb;
    msgpack_sbuffer_init(&sb);
    for (unsigned pos = 0; pos < 4; pos++) {
        for (enum kind kd = 0; kd < K_COUNT; kd++) {
            /* What is valid at each position: a request type 0 (K_POS is 7, invalid),
             * a msgid, a method name (K_STR "x" is an unknown method), no params. */
            if ((pos == 1 && kd == K_POS) || (pos == 2 && kd == K_STR))
                continue;
            struct rawconn rc;
            rawconn_open_hello(&rc, k.h->sock, 4096);
            msgpack_sbuffer_clear(&sb);
            pack_wrong_envelope(&sb, pos, kd);
            rawconn_send_sbuf(&rc, &sb);
            if (pos >= 2) {
                /* The msgid was readable: an answer, and the connection goes on. */
                rawconn_expect_reply(&rc, 9, "EBADMSG", NULL);
                rawconn_send_name(&rc, 10, "stat", KEEPER_NAME);
                rawconn_expect_reply(&rc, 10, NULL, NULL);
            } else {
                assert_int_equal(rawconn_expect_closed(&rc), 0);
            }
            rawconn_close(&rc);
        }
    }
    msgpack_sbuffer_destroy(&sb);
    keeper_check(&k);
    keeper_stop(&k);
}

/* ---- names and sizes ---- */

/* Send create {name (len bytes), "<f4", [dim], perm} and expect the error code want. */
static void expect_create_refused(struct rawconn *rc, uint32_t msgid, const char *name,
                                  size_t len, int64_t dim, uint64_t perm, const char *want)
{
    msgpack_sbuffer sb;
    msgpack_packer pk;
    rawconn_request_begin(&sb, &pk, msgid, "create");
    msgpack_pack_map(&pk, 4);
    msgpack_pack_str_with_body(&pk, "name", 4);
    msgpack_pack_str_with_body(&pk, name, len);
    msgpack_pack_str_with_body(&pk, "dtype", 5); v_dtype(&pk);
    msgpack_pack_str_with_body(&pk, "shape", 5);
    msgpack_pack_array(&pk, 1);
    msgpack_pack_int64(&pk, dim);
    msgpack_pack_str_with_body(&pk, "perm", 4);
    msgpack_pack_uint64(&pk, perm);
    rawconn_send_sbuf(rc, &sb);
    msgpack_sbuffer_destroy(&sb);
    rawconn_expect_reply(rc, msgid, want, NULL);
}

static void test_hostile_names_and_sizes_are_refused(void **state)
{
    struct keeper k;
    keeper_start(&k, *state);
    struct rawconn rc;
    rawconn_open_hello(&rc, k.h->sock, 65536);
    static const struct { const char *name; size_t len; } bad[] = {
        { "\xff\xfe", 2 }, { "caf\xc3", 4 }, { "\xc3\x28", 2 }, { "\xed\xa0\x80", 3 },
        { "a\x7f", 2 }, { "a\nb", 3 }, { "a\rb", 3 }, { "\x1b[2J", 4 }, { "/", 1 },
        { "/etc/passwd", 11 }, { "..", 2 }, { "a/../b", 6 }, { "a\0b", 3 }, { "\0", 1 },
        { ".x", 2 }, { "a b", 3 }, { "a\\b", 3 }, { "%s%n", 4 },
    };
    uint32_t id = 10;
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        expect_create_refused(&rc, id++, bad[i].name, bad[i].len, 4, 0600, "EINVAL");
    }
    char *long_name = malloc(4000);
    assert_non_null(long_name);
    memset(long_name, 'n', 4000);
    const size_t long_lens[] = { 256, 300, 1000, 4000 };
    for (size_t i = 0; i < 4; i++) {
        expect_create_refused(&rc, id++, long_name, long_lens[i], 4, 0600, "ENAMETOOLONG");
    }
    free(long_name);
    /* Negative, zero and overflowing dimensions and sizes; bad permission bits. */
    const int64_t dims[] = { -1, INT64_MIN, 0, -4096 };
    for (size_t i = 0; i < 4; i++) {
        expect_create_refused(&rc, id++, "sized", 5, dims[i], 0600, "EINVAL");
    }
    expect_create_refused(&rc, id++, "sized", 5, INT64_MAX, 0600, "EOVERFLOW");
    const uint64_t perms[] = { 01000, 04755, 07777, 010000, UINT64_MAX };
    for (size_t i = 0; i < 5; i++) {
        expect_create_refused(&rc, id++, "sized", 5, 4, perms[i], "EINVAL");
    }
    rawconn_close(&rc);
    assert_int_equal(harness_stats(k.conn).arrays, 1);
    keeper_check(&k);
    keeper_stop(&k);
}

/* ---- descriptors sent by the client ---- */

/* Send bytes with nfds fresh pipe descriptors attached. */
static void send_with_fds(int sock, const void *bytes, size_t len, int nfds)
{
    int fds[32];
    assert_true(nfds <= 32 && nfds % 2 == 0);
    for (int i = 0; i < nfds; i += 2)
        assert_int_equal(pipe2(fds + i, O_CLOEXEC), 0);
    union {
        struct cmsghdr align;
        char buf[CMSG_SPACE(sizeof(int) * 32)];
    } ctl;
    memset(&ctl, 0, sizeof ctl);
    struct iovec iov = { .iov_base = (void *)bytes, .iov_len = len };
    struct msghdr msg = { .msg_iov = &iov, .msg_iovlen = 1, .msg_control = ctl.buf,
                          .msg_controllen = CMSG_SPACE(sizeof(int) * (size_t)nfds) };
    struct cmsghdr *cm = CMSG_FIRSTHDR(&msg);
    cm->cmsg_level = SOL_SOCKET;
    cm->cmsg_type = SCM_RIGHTS;
    cm->cmsg_len = CMSG_LEN(sizeof(int) * (size_t)nfds);
    memcpy(CMSG_DATA(cm), fds, sizeof(int) * (size_t)nfds);
    assert_int_equal(sendmsg(sock, &msg, MSG_NOSIGNAL), (ssize_t)len);
    for (int i = 0; i < nfds; i++)
        close(fds[i]);
}

static void test_client_sent_descriptors_are_closed_not_leaked(void **state)
{
    struct keeper k;
    keeper_start(&k, *state);
    pid_t d = k.h->daemon;
    struct rawconn rc;
    rawconn_open_hello(&rc, k.h->sock, 4096);
    int base = launch_count_fds(d);
    assert_true(base > 0);
    msgpack_sbuffer sb;
    msgpack_sbuffer_init(&sb);
    for (uint32_t id = 2; id < 52; id++) {
        msgpack_sbuffer_clear(&sb);
        rawconn_pack_name(&sb, id, "stat", KEEPER_NAME);
        /* 2 to 32 descriptors: more than the daemon's control buffer takes at once. */
        send_with_fds(rc.fd, sb.data, sb.size, 2 + (int)(id % 16) * 2);
        rawconn_expect_reply(&rc, id, NULL, NULL);
    }
    /* Descriptors that come with half a request, and with the bytes of no request. */
    msgpack_sbuffer_clear(&sb);
    rawconn_pack_name(&sb, 60, "stat", KEEPER_NAME);
    send_with_fds(rc.fd, sb.data, 3, 8);
    send_with_fds(rc.fd, sb.data + 3, sb.size - 3, 8);
    rawconn_expect_reply(&rc, 60, NULL, NULL);
    msgpack_sbuffer_destroy(&sb);
    assert_int_equal(launch_count_fds(d), base);
    rawconn_close(&rc);
    assert_int_equal(harness_wait_connections(k.conn, 1), 1);
    assert_int_equal(launch_wait_fds(d, base - 1), base - 1);
    keeper_check(&k);
    keeper_stop(&k);
}

/* Opens in libsharr's form (which the daemon answers from their bytes), an open in
 * another form, a stat and refused opens, pipelined in one stream cut in two at every
 * byte, with descriptors sent along with either half: each request gets its answer
 * and only the successful opens a descriptor, and the daemon keeps none of those sent. */
static void test_pipelined_opens_cut_anywhere_with_descriptors_are_answered_and_leak_nothing(
    void **state)
{
    struct keeper k;
    keeper_start(&k, *state);
    pid_t d = k.h->daemon;
    int base = launch_count_fds(d);
    assert_true(base > 0);

    static const struct { uint32_t id; const char *code; bool fd; } want[] = {
        { 2, NULL, true }, { 3, NULL, false }, { 4, "ENOENT", false },
        { 5, "EACCES", false }, { 6, NULL, true }, { 7, NULL, true },
    };
    size_t ends[6];
    msgpack_sbuffer sb;
    msgpack_sbuffer_init(&sb);
    struct codec_open op = { .mode = META_MODE_R };
    strcpy(op.name, KEEPER_NAME);
    assert_int_equal(codec_pack_open(&sb, 2, &op), 0);
    ends[0] = sb.size;
    rawconn_pack_name(&sb, 3, "stat", KEEPER_NAME);
    ends[1] = sb.size;
    struct codec_open missing = { .mode = META_MODE_R };
    strcpy(missing.name, "missing");
    assert_int_equal(codec_pack_open(&sb, 4, &missing), 0);
    ends[2] = sb.size;
    struct codec_open other = op;
    other.has_owner = true;
    other.owner = 4242;
    assert_int_equal(codec_pack_open(&sb, 5, &other), 0);
    ends[3] = sb.size;
    msgpack_packer pk;
    msgpack_packer_init(&pk, &sb, msgpack_sbuffer_write);
    rawconn_pack_request_head(&pk, 6, "open"); /* a key it does not know: the general path */
    msgpack_pack_map(&pk, 3);
    rawconn_pack_str(&pk, "name");
    rawconn_pack_str(&pk, KEEPER_NAME);
    rawconn_pack_str(&pk, "mode");
    rawconn_pack_str(&pk, "c");
    rawconn_pack_str(&pk, "x");
    msgpack_pack_nil(&pk);
    ends[4] = sb.size;
    struct codec_open rw = op;
    rw.mode = META_MODE_RPLUS;
    assert_int_equal(codec_pack_open(&sb, 7, &rw), 0);
    ends[5] = sb.size;

    for (size_t cut = 1; cut < sb.size; cut++) {
        struct rawconn rc;
        rawconn_open_hello(&rc, k.h->sock, 1); /* byte by byte: pins where descriptors come */
        send_with_fds(rc.fd, sb.data, cut, cut % 2 ? 2 : 0);
        size_t got = 0;
        uint64_t at[6];
        /* What the first half holds whole is answered before the second half is sent. */
        for (int pass = 0; pass < 2; pass++) {
            size_t upto = 0;
            while (upto < 6 && ends[upto] <= cut)
                upto++;
            if (pass == 1) {
                send_with_fds(rc.fd, sb.data + cut, sb.size - cut, cut % 3 ? 0 : 4);
                upto = 6;
            }
            for (; got < upto; got++) {
                msgpack_object obj;
                struct codec_msg msg;
                char err[256] = "", code[32] = "";
                assert_int_equal(rawconn_next(&rc, &obj, &at[got]), 1);
                assert_int_equal(codec_parse_msg(&obj, &msg, NULL, err, sizeof err), 0);
                assert_int_equal(msg.msgid, want[got].id);
                rawconn_reply_code(&obj, code, sizeof code);
                assert_string_equal(code, want[got].code ? want[got].code : "");
            }
        }
        /* Each descriptor came with the first byte of a successful open's reply. */
        for (size_t i = 0; i < 6; i++) {
            if (!want[i].fd)
                continue;
            uint64_t fd_at = UINT64_MAX;
            int fd = rawconn_take_fd(&rc, &fd_at);
            assert_true(fd >= 0);
            close(fd);
            assert_int_equal(fd_at, at[i]);
        }
        assert_int_equal(rawconn_take_fd(&rc, NULL), -1);
        rawconn_close(&rc);
    }
    msgpack_sbuffer_destroy(&sb);
    assert_int_equal(harness_wait_connections(k.conn, 1), 1);
    assert_int_equal(launch_wait_fds(d, base), base);
    keeper_check(&k);
    keeper_stop(&k);
}

/* ---- many connections, few descriptors ---- */

#define MANY 1000

static void raise_own_nofile(rlim_t want)
{
    struct rlimit rl;
    assert_int_equal(getrlimit(RLIMIT_NOFILE, &rl), 0);
    if (rl.rlim_cur < want) {
        rl.rlim_cur = want;
        if (rl.rlim_max < want)
            rl.rlim_max = want;
        assert_int_equal(setrlimit(RLIMIT_NOFILE, &rl), 0);
    }
}

/* Open n connections (calloc'd, for the caller to close and free) and send each a
 * hello without reading its reply; with may_drop a failed send is no failure (the
 * daemon may have dropped the connection already). */
static struct rawconn *open_many_sending_hello(const char *sock, int n, bool may_drop)
{
    struct rawconn *rc = calloc((size_t)n, sizeof *rc);
    assert_non_null(rc);
    msgpack_sbuffer sb;
    msgpack_sbuffer_init(&sb);
    struct codec_hello hello = { .version = PROTO_VERSION };
    assert_int_equal(codec_pack_hello(&sb, 1, &hello), 0);
    for (int i = 0; i < n; i++) {
        rawconn_open(&rc[i], sock, 4096);
        if (may_drop)
            rawconn_send(&rc[i], sb.data, sb.size);
        else
            rawconn_send_ok(&rc[i], sb.data, sb.size);
    }
    msgpack_sbuffer_destroy(&sb);
    return rc;
}

static void test_thousand_simultaneous_connections_are_served(void **state)
{
    struct keeper k;
    keeper_start(&k, *state);
    raise_own_nofile(MANY * 2 + 256);
    struct rawconn *rc = open_many_sending_hello(k.h->sock, MANY, false);
    for (int i = 0; i < MANY; i++)
        rawconn_expect_reply(&rc[i], 1, NULL, NULL);
    assert_int_equal(harness_stats(k.conn).connections, MANY + 1);
    keeper_check(&k);
    for (int i = 0; i < MANY; i++)
        rawconn_close(&rc[i]);
    free(rc);
    assert_int_equal(harness_wait_connections(k.conn, 1), 1);
    keeper_check(&k);
    keeper_stop(&k);
}

static void test_out_of_descriptors_at_accept_then_serves_again(void **state)
{
    struct harness *h = *state;
    launch_daemon(h, NULL, 64);
    struct keeper k;
    keeper_start(&k, h);
    int room = 64 - launch_count_fds(h->daemon);
    assert_true(room > 0 && room < 64);
    raise_own_nofile(1024);
    /* Twice as many connections as the daemon has descriptors left. */
    int n = room * 2 + 8, served = 0, dropped = 0;
    struct rawconn *rc = open_many_sending_hello(h->sock, n, true);
    for (int i = 0; i < n; i++) {
        msgpack_object obj;
        int r = rawconn_next(&rc[i], &obj, NULL);
        if (r == 1)
            served++;
        else
            dropped++;
    }
    assert_true(served > 0);
    assert_true(dropped > 0);
    assert_int_equal(kill(h->daemon, 0), 0);
    for (int i = 0; i < n; i++)
        rawconn_close(&rc[i]);
    free(rc);
    assert_int_equal(harness_wait_connections(k.conn, 1), 1);
    /* Descriptors are free again: new connections, opens and creates work. */
    keeper_check(&k);
    const uint64_t shape[1] = { 8 };
    sharr_array_t *a = NULL;
    assert_rc(sharr_create(k.conn, "after", "<f8", 1, shape, NULL, &a), 0);
    assert_rc(sharr_close(a), 0);
    keeper_check(&k);
    keeper_stop(&k);
}

/* ---- peers that leave during replies with descriptors ---- */

static void test_peer_leaving_mid_reply_with_descriptors_leaks_nothing(void **state)
{
    struct keeper k;
    keeper_start(&k, *state);
    pid_t d = k.h->daemon;
    assert_int_equal(harness_wait_connections(k.conn, 1), 1);
    int base = launch_count_fds(d);
    msgpack_sbuffer sb;
    msgpack_sbuffer_init(&sb);
    struct codec_open op = { .mode = META_MODE_R };
    strcpy(op.name, KEEPER_NAME);
    struct codec_hello hello = { .version = PROTO_VERSION };
    assert_int_equal(codec_pack_hello(&sb, 1, &hello), 0);
    for (uint32_t id = 2; id < 1002; id++)
        assert_int_equal(codec_pack_open(&sb, id, &op), 0);
    for (int round = 0; round < 5; round++) {
        struct rawconn rc;
        rawconn_open(&rc, k.h->sock, 1);
        rawconn_send(&rc, sb.data, sb.size);
        if (round % 2 == 1) {
            /* Read a few bytes of the first replies, then leave. */
            msgpack_object obj;
            assert_int_equal(rawconn_next(&rc, &obj, NULL), 1);
        }
        rawconn_close(&rc);
    }
    msgpack_sbuffer_destroy(&sb);
    assert_int_equal(harness_wait_connections(k.conn, 1), 1);
    assert_int_equal(harness_wait_attachments(k.conn, 1), 1);
    assert_int_equal(launch_wait_fds(d, base), base);
    keeper_check(&k);
    keeper_stop(&k);
}

#define T(fn) cmocka_unit_test_setup_teardown(fn, harness_setup, harness_teardown)

int main(void)
{
    const struct CMUnitTest tests[] = {
        T(test_wrong_type_at_every_param_is_einval),
        T(test_wrong_type_at_every_envelope_position),
        T(test_hostile_names_and_sizes_are_refused),
        T(test_client_sent_descriptors_are_closed_not_leaked),
        T(test_thousand_simultaneous_connections_are_served),
        T(test_out_of_descriptors_at_accept_then_serves_again),
        T(test_peer_leaving_mid_reply_with_descriptors_leaks_nothing),
        T(test_pipelined_opens_cut_anywhere_with_descriptors_are_answered_and_leak_nothing),
    };
    return testskip_exit(cmocka_run_group_tests(tests, NULL, NULL));
}
