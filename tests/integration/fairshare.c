/* fairshare.c — the fair-share tests' uids, connections of other uids, replies read
 * as counts, readable arrays and the daemon's RSS (fairshare.h).
 */
#include "fairshare.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "asuser.h"
#include "codec.h"
#include "launch.h"

const uint32_t fairshare_uids[UIDS + 1] = { 65534, 65533, 65532, 65531, 65530 };

bool fairshare_rss_meaningful(void)
{
#ifdef FAIR_SANITIZED
    return false;
#else
    return true;
#endif
}

long fairshare_rss_kib(const struct harness *h)
{
    long kib = launch_rss_kib(h->daemon);
    assert_true(kib > 0);
    return kib;
}

long fairshare_wait_rss_at_most(const struct harness *h, long want)
{
    long kib = fairshare_rss_kib(h);
    for (int i = 0; i < 400 && kib > want; i++) {
        usleep(50 * 1000);
        kib = fairshare_rss_kib(h);
    }
    return kib;
}

void fairshare_raise_nofile(rlim_t want)
{
    struct rlimit rl;
    assert_int_equal(getrlimit(RLIMIT_NOFILE, &rl), 0);
    if (rl.rlim_cur < want) {
        rl.rlim_cur = want < rl.rlim_max ? want : rl.rlim_max;
        assert_int_equal(setrlimit(RLIMIT_NOFILE, &rl), 0);
    }
}

int fairshare_hello_or_refused(struct rawconn *rc)
{
    msgpack_sbuffer sb;
    msgpack_sbuffer_init(&sb);
    struct codec_hello hello = { .version = PROTO_VERSION };
    strcpy(hello.client, "test_fair_share");
    assert_int_equal(codec_pack_hello(&sb, 1, &hello), 0);
    (void)rawconn_send(rc, sb.data, sb.size);
    msgpack_sbuffer_destroy(&sb);
    msgpack_object obj;
    int r = rawconn_next(rc, &obj, NULL);
    if (r == 0 || r == -ECONNRESET)
        return -EMFILE;
    assert_int_equal(r, 1);
    char code[32];
    rawconn_reply_code(&obj, code, sizeof code);
    if (obj.via.array.ptr[1].via.u64 == 1 && code[0] == '\0')
        return 0;
    assert_int_equal(obj.via.array.ptr[1].via.u64, 0);
    assert_string_equal(code, "EMFILE");
    return -EMFILE;
}

void fairshare_connect_hello_as(struct harness *h, uint32_t uid, struct rawconn *rcs, int n,
                                size_t chunk)
{
    int *fds = malloc(sizeof(int) * (size_t)n);
    assert_non_null(fds);
    asuser_connect(h, uid, uid, fds, n);
    for (int i = 0; i < n; i++) {
        rawconn_adopt(&rcs[i], fds[i], chunk);
        rawconn_hello(&rcs[i], 1);
    }
    free(fds);
}

uint64_t fairshare_read_attachment_rises(struct rawconn *b, uint32_t first, int count,
                                         uint64_t prev, uint64_t total,
                                         uint64_t *ret_most_rise, int *ret_during)
{
    uint64_t most_rise = 0;
    int during = 0;
    for (int i = 0; i < count; i++) {
        const msgpack_object *result = NULL;
        rawconn_expect_reply(b, first + (uint32_t)i, NULL, &result);
        struct codec_stats_reply rep;
        char err[256];
        assert_int_equal(codec_parse_reply_stats(result, &rep, err, sizeof err), 0);
        assert_true(rep.attachments >= prev);
        if (rep.attachments - prev > most_rise)
            most_rise = rep.attachments - prev;
        during += rep.attachments > 1 && rep.attachments < total + 1;
        prev = rep.attachments;
    }
    *ret_most_rise = most_rise;
    *ret_during = during;
    return prev;
}

int fairshare_connect_as(struct harness *h, uint32_t uid, struct rawconn *rcs, int n)
{
    int *fds = malloc(sizeof(int) * (size_t)n);
    assert_non_null(fds);
    asuser_connect(h, uid, uid, fds, n);
    int served = 0;
    for (int i = 0; i < n; i++) {
        struct rawconn *rc = &rcs[served];
        rawconn_adopt(rc, fds[i], 4096);
        if (fairshare_hello_or_refused(rc) == 0)
            served++;
        else
            rawconn_close(rc);
    }
    free(fds);
    return served;
}

sharr_array_t *fairshare_create_readable(sharr_t *c, const char *name, uint64_t n)
{
    const uint64_t shape[1] = { n };
    struct sharr_create_opts open_to_all = { .size = sizeof(open_to_all), .perm = 0644 };
    sharr_array_t *a = NULL;
    assert_rc(sharr_create(c, name, "|u1", 1, shape, &open_to_all, &a), 0);
    return a;
}
