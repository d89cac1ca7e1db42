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
        out[i].handle = h->handle;
        memcpy(out[i].name, h->name, sizeof(out[i].name));
        out[i].pid = h->pid;
        out[i].uid = h->uid;
        out[i].gid = h->gid;
        memcpy(out[i].comm, h->comm, sizeof(out[i].comm));
        memcpy(out[i].mode, meta_mode_name(h->mode), strlen(meta_mode_name(h->mode)) + 1);
        out[i].since_ns = h->since_ns;
        out[i].nbytes = h->nbytes;
        out[i].persist = h->persist ? 1 : 0;
        out[i].unlinked = h->unlinked ? 1 : 0;
    }
    *ret_n = page.n;
    *ret_more = page.more ? 1 : 0;
out:
    free(page.hs);
    return rc;
}
