/* fuzz_wire.c — libFuzzer target for everything a peer's bytes reach before the
 * daemon acts: the push decoder (scan + unpack), the envelope parser and every
 * method's params parser, and, from the client's side, every reply parser; and the
 * daemon's open read from its bytes (openframe.h), which must decline whatever the
 * general path does not read as the very same open request.
 *
 * The input is split into feeds of varying size (its first byte picks the stride) so
 * that partial frames are exercised as a socket would deliver them.
 */
#include <stdlib.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "codec.h"
#include "decoder.h"
#include "openframe.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void fuzz_params(const struct codec_msg *m)
{
    static struct dtype_text text; /* large; kept off the stack */
    char err[256];
    union {
        struct codec_hello hello;
        struct codec_create create;
        struct codec_open open;
        struct codec_name name;
        struct codec_release release;
        struct codec_list list;
        struct codec_holders holders;
        struct codec_chmod chmod;
        struct codec_chown chown;
    } p;

    codec_parse_hello(m->params, &p.hello, err, sizeof(err));
    codec_parse_create(m->params, &p.create, &text, err, sizeof(err));
    codec_parse_create(m->params, &p.create, NULL, err, sizeof(err));
    codec_parse_open(m->params, &p.open, err, sizeof(err));
    codec_parse_name(m->params, &p.name, err, sizeof(err));
    codec_parse_release(m->params, &p.release, err, sizeof(err));
    codec_parse_list(m->params, &p.list, err, sizeof(err));
    codec_parse_holders(m->params, &p.holders, err, sizeof(err));
    codec_parse_chmod(m->params, &p.chmod, err, sizeof(err));
    codec_parse_chown(m->params, &p.chown, err, sizeof(err));
}

/* A list page's row as libsharr takes it: the scratch meta read, nothing kept. */
static int fuzz_row(void *arg, size_t i, const struct meta *m)
{
    (void)i;
    *(size_t *)arg += m->nbytes != 0;
    return 0;
}

static void fuzz_results(const struct codec_msg *m)
{
    static struct meta metas[4]; /* large; kept off the stack. Scratch only. */
    char err[256];
    size_t n;
    bool more;
    int has_fd;
    uint32_t ring_size;
    size_t rows = 0;
    union {
        struct codec_hello_reply hello;
        struct codec_attach_reply attach;
        struct codec_stats_reply stats;
    } r;

    codec_parse_reply_hello(m->result, &r.hello, err, sizeof(err));
    codec_parse_reply_attach(m->result, &r.attach, &has_fd, err, sizeof(err));
    codec_parse_reply_stat(m->result, &metas[0], err, sizeof(err));
    codec_parse_reply_list(m->result, metas, 4, &n, &more, err, sizeof(err));
    /* One scratch meta for every row: a row's dtype may be taken from the row before. */
    codec_parse_reply_list_each(m->result, &metas[0], 4, fuzz_row, &rows, &n, &more, err,
                                sizeof(err));
    codec_parse_reply_stats(m->result, &r.stats, err, sizeof(err));
    codec_parse_reply_ring(m->result, &ring_size, err, sizeof(err));
}

/* The bytes as one buffer through openframe_parse and, when it reads an open, through
 * the decoder and the codec's parsers: the same request, or abort. */
static void fuzz_openframe(const uint8_t *data, size_t size)
{
    struct codec_open fast, slow;
    struct decoder *d;
    struct codec_msg msg;
    msgpack_object obj;
    uint32_t id;
    size_t len;
    char err[256];

    if (!openframe_parse(data, size, PROTO_REQUEST_MAX, &id, &fast, &len))
        return;
    d = decoder_new(PROTO_REQUEST_MAX, PROTO_DEPTH_MAX);
    if (d == NULL)
        return;
    if (decoder_feed(d, data, size) < 0 || decoder_next(d, &obj) != 1 ||
        size - decoder_pending(d) != len ||
        codec_parse_msg(&obj, &msg, NULL, err, sizeof(err)) < 0 ||
        msg.type != CODEC_REQUEST || strcmp(msg.method, "open") != 0 || msg.msgid != id ||
        codec_parse_open(msg.params, &slow, err, sizeof(err)) < 0 ||
        strcmp(fast.name, slow.name) != 0 || fast.mode != slow.mode ||
        fast.wait_ms != slow.wait_ms || fast.has_owner != slow.has_owner ||
        fast.owner != slow.owner || fast.published != slow.published)
        abort();
    decoder_free(d);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct decoder *d;
    size_t stride, off;

    if (size == 0)
        return 0;
    stride = (size_t)(data[0] % 64) + 1;
    data++;
    size--;
    fuzz_openframe(data, size);
    d = decoder_new(PROTO_REQUEST_MAX, PROTO_DEPTH_MAX);
    if (d == NULL)
        return 0;
    for (off = 0; off < size; off += stride) {
        size_t n = size - off < stride ? size - off : stride;
        msgpack_object obj;
        int r;

        if (decoder_feed(d, data + off, n) < 0)
            break;
        while ((r = decoder_next(d, &obj)) == 1) {
            struct codec_msg m;
            char err[256];
            int known;

            if (codec_parse_msg(&obj, &m, &known, err, sizeof(err)) < 0)
                continue;
            if (m.type == CODEC_RESPONSE)
                fuzz_results(&m);
            else
                fuzz_params(&m);
        }
        if (r < 0)
            break;
    }
    decoder_free(d);
    return 0;
}
