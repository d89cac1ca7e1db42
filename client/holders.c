/* holders.c — sharr_holders: which processes hold which arrays, one page at a time.
 *
 * A thin request over the holders method; the paging cursor is the handle of the
 * last attachment returned.
 */
#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "client.h"
#include "codec.h"

/* sharr_holder keeps its size for the whole ABI (sharr.h). */
_Static_assert(sizeof(struct sharr_holder) == 384, "sharr_holder: take new fields from reserved");

struct holders_page {
    struct codec_holder *hs;
    size_t cap;
    size_t n;
    bool more;
};

static int holders_pack(msgpack_sbuffer *out, uint32_t msgid, const void *params)
{
    return codec_pack_holders(out, msgid, params);
}

static int holders_parse(const msgpack_object *result, void *out, char *err, size_t errlen)
{
    struct holders_page *page = out;

    return codec_parse_reply_holders(result, page->hs, page->cap, &page->n, &page->more, err,
                                     errlen);
}

/* How each kind of CODEC_HOLDER_FIELDS (codec.h) is copied into struct sharr_holder:
 * strings whole (both sides have the same room; the codec's end in a NUL), the mode as
 * its name, booleans as 0 or 1. */
#define HOLDERS_COPY_U64(to, from) (to) = (from)
#define HOLDERS_COPY_U32 HOLDERS_COPY_U64
#define HOLDERS_COPY_I64 HOLDERS_COPY_U64
#define HOLDERS_COPY_BOOL(to, from) (to) = (from) ? 1 : 0
#define HOLDERS_COPY_NAME(to, from)                                                       \
    _Static_assert(sizeof(to) == sizeof(from), "sharr_holder: " #to " is not the codec's"); \
    memcpy(to, from, sizeof(to))
#define HOLDERS_COPY_TEXT HOLDERS_COPY_NAME
#define HOLDERS_COPY_MODE(to, from) \
    memcpy(to, meta_mode_name(from), strlen(meta_mode_name(from)) + 1)

int sharr_holders(sharr_t *conn, const char *name, uint64_t after, struct sharr_holder *out,
                  size_t cap, size_t *ret_n, int *ret_more)
{
    struct codec_holders p = { .after = after };
    struct holders_page page = { 0 };
    struct client_request req = {
        .pack = holders_pack, .params = &p, .parse = holders_parse, .out = &page,
    };
    int rc;

    if (conn == NULL || out == NULL || ret_n == NULL || ret_more == NULL || cap == 0)
        return client_fail(-EINVAL, "sharr_holders: conn, out, ret_n and ret_more must not "
                           "be NULL and cap at least 1");
    rc = client_copy_name(name, p.name);
    if (rc < 0)
        return rc;
    page.cap = client_page_size(conn, cap);
    p.limit = (uint32_t)page.cap;
    page.hs = malloc(page.cap * sizeof(*page.hs));
    if (page.hs == NULL)
        return client_fail(-ENOMEM, "out of memory");
    rc = client_call(conn, &req, NULL);
    if (rc < 0)
        goto out;
    for (size_t i = 0; i < page.n; i++) {
        const struct codec_holder *h = &page.hs[i];

        memset(&out[i], 0, sizeof(out[i]));
#define HOLDERS_COPY(field, key, kind, required) HOLDERS_COPY_##kind(out[i].field, h->field);
        CODEC_HOLDER_FIELDS(HOLDERS_COPY)
#undef HOLDERS_COPY
    }
    *ret_n = page.n;
    *ret_more = page.more ? 1 : 0;
out:
    free(page.hs);
    return rc;
}
