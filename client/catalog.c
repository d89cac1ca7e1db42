/* catalog.c — what the daemon knows by name and of itself: stat, list, unlink, chmod, chown and
 * stats, and the conversion of the wire's metadata to the public struct sharr_info.
 *
 * Nothing here attaches an array or receives a descriptor; that is array.c.
 */
#include <errno.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "client.h"
#include "codec.h"
#include "proto_limits.h"
#include "perm.h"

/* A page of sharr_list: each array parsed into scratch is copied into out[] at once. */
struct catalog_page {
    struct sharr_info *out;
    struct meta *scratch;   /* its dtype.descr points into the reply while a row is
                             * copied: only descr_len is read from it */
    size_t cap;
    size_t n;
    bool more;
};

/* The structs this file fills keep their size for the whole ABI (sharr.h). */
_Static_assert(sizeof(struct sharr_info) == 2048, "sharr_info: take new fields from reserved");
_Static_assert(sizeof(struct sharr_stats) == 256, "sharr_stats: take new fields from reserved");

/* struct sharr_stats is proto/stats.h's record, field for field: each field of the
 * table is in it, of the table's type, where the codec's struct has it, and the
 * reserved space follows the last, so no public field is outside the table. */
#define CATALOG_STATS_CHECK(field, type, key, required)                                   \
    _Static_assert(_Generic(((struct sharr_stats *)0)->field, type: 1, default: 0) &&     \
                   offsetof(struct sharr_stats, field) ==                                 \
                       offsetof(struct codec_stats_reply, field),                         \
                   "sharr_stats." #field " is not proto/stats.h's");
PROTO_STATS_FIELDS(CATALOG_STATS_CHECK)
#undef CATALOG_STATS_CHECK
_Static_assert(offsetof(struct sharr_stats, reserved) == sizeof(struct codec_stats_reply),
               "sharr_stats has a field proto/stats.h does not list");

/* How each kind of META_FIELDS (meta.h) is copied into struct sharr_info: strings up
 * to their NUL and the shape up to ndim, with zeros after it (a list page fills a
 * thousand of these, and whole-struct copies dominated it); booleans as 0 or 1. */
#define CATALOG_COPY_NAME(f)                                                              \
    do {                                                                                  \
        size_t n = strnlen(m->f, sizeof(out->f) - 1);                                     \
        memcpy(out->f, m->f, n);                                                          \
        out->f[n] = '\0';                                                                 \
    } while (0)
#define CATALOG_COPY_TEXT CATALOG_COPY_NAME
#define CATALOG_COPY_DTYPE(f)                                                             \
    do {                                                                                  \
        memcpy(out->f, m->f.str, sizeof(out->f));                                         \
        out->itemsize = m->f.itemsize;                                                    \
    } while (0)
#define CATALOG_COPY_SHAPE(f)                                                             \
    do {                                                                                  \
        out->ndim = (int)m->ndim;                                                         \
        memcpy(out->f, m->f, m->ndim * sizeof(uint64_t));                                 \
        memset(out->f + m->ndim, 0, (SHARR_NDIM_MAX - m->ndim) * sizeof(uint64_t));      \
    } while (0)
#define CATALOG_COPY_BOOL(f) out->f = m->f ? 1 : 0
#define CATALOG_COPY_U32(f) out->f = m->f
#define CATALOG_COPY_U64 CATALOG_COPY_U32
#define CATALOG_COPY_I64 CATALOG_COPY_U32
#define CATALOG_COPY_ORDER CATALOG_COPY_U32
#define CATALOG_COPY_NBYTES CATALOG_COPY_U32
#define CATALOG_COPY_OFFSET CATALOG_COPY_U32
#define CATALOG_COPY_PERM CATALOG_COPY_U32
#define CATALOG_COPY_DESCR(f) out->f = m->dtype.descr_len

void catalog_info_from_meta(const struct meta *m, struct sharr_info *out)
{
#define CATALOG_INFO_FIELD(id, field, key, kind, required) CATALOG_COPY_##kind(field);
    META_FIELDS(CATALOG_INFO_FIELD)
#undef CATALOG_INFO_FIELD
    memset(out->reserved, 0, sizeof(out->reserved));
}

static int catalog_pack_stat(msgpack_sbuffer *out, uint32_t msgid, const void *params)
{
    return codec_pack_name(out, msgid, "stat", params);
}

static int catalog_pack_unlink(msgpack_sbuffer *out, uint32_t msgid, const void *params)
{
    return codec_pack_name(out, msgid, "unlink", params);
}

static int catalog_pack_list(msgpack_sbuffer *out, uint32_t msgid, const void *params)
{
    return codec_pack_list(out, msgid, params);
}

static int catalog_pack_stats(msgpack_sbuffer *out, uint32_t msgid, const void *params)
{
    (void)params;
    return codec_pack_stats(out, msgid);
}

/* A stat reply as kept past its bytes: the record description, if any, copied into
 * descr (m.dtype.descr points there). */
struct catalog_stat {
    struct meta m;
    struct dtype_text descr;
};

static int catalog_parse_stat(const msgpack_object *result, void *out, char *err,
                              size_t errlen)
{
    return codec_parse_reply_stat(result, out, err, errlen);
}

static int catalog_parse_describe(const msgpack_object *result, void *out, char *err,
                                  size_t errlen)
{
    struct catalog_stat *st = out;
    int rc = codec_parse_reply_stat(result, &st->m, err, errlen);

    if (rc == 0)
        dtype_keep(&st->m.dtype, &st->descr);
    return rc;
}

static int catalog_list_row(void *arg, size_t i, const struct meta *m)
{
    struct catalog_page *page = arg;

    catalog_info_from_meta(m, &page->out[i]);
    return 0;
}

static int catalog_parse_list(const msgpack_object *result, void *out, char *err,
                              size_t errlen)
{
    struct catalog_page *page = out;

    return codec_parse_reply_list_each(result, page->scratch, page->cap, catalog_list_row,
                                       page, &page->n, &page->more, err, errlen);
}

static int catalog_parse_stats(const msgpack_object *result, void *out, char *err,
                               size_t errlen)
{
    return codec_parse_reply_stats(result, out, err, errlen);
}

static int catalog_name_params(const char *name, struct codec_name *p)
{
    int rc = client_check_name(name);

    if (rc < 0)
        return rc;
    memcpy(p->name, name, strlen(name) + 1);
    return 0;
}

/* Ask for the stat of name on conn, its reply parsed by parse into out. */
static int catalog_stat_call(sharr_t *conn, const char *name, client_parse_fn parse,
                             void *out)
{
    struct codec_name p;
    struct client_request req = { .pack = catalog_pack_stat, .params = &p, .parse = parse,
                                  .out = out, .frame = true };
    int rc = catalog_name_params(name, &p);

    return rc < 0 ? rc : client_call(conn, &req, NULL);
}

int sharr_stat(sharr_t *conn, const char *name, struct sharr_info *ret_info)
{
    struct meta m;
    int rc;

    if (conn == NULL || ret_info == NULL)
        return client_fail(-EINVAL, "sharr_stat: conn and ret_info must not be NULL");
    rc = catalog_stat_call(conn, name, catalog_parse_stat, &m);
    if (rc < 0)
        return rc;
    catalog_info_from_meta(&m, ret_info);
    return 0;
}

int sharr_describe(sharr_t *conn, const char *name, struct sharr_info *ret_info, char *descr,
                   size_t len)
{
    struct catalog_stat st;
    const char *text;
    size_t n;
    int rc;

    if (conn == NULL || descr == NULL || len == 0)
        return client_fail(-EINVAL, "sharr_describe: conn and descr must not be NULL, len "
                           "not 0");
    rc = catalog_stat_call(conn, name, catalog_parse_describe, &st);
    if (rc < 0)
        return rc;
    text = st.m.dtype.descr != NULL ? st.m.dtype.descr : st.m.dtype.str;
    n = strlen(text);
    if (n >= len)
        return client_fail(-ERANGE, "the dtype of '%s' takes %zu bytes and the NUL, %zu "
                           "given", name, n, len);
    memcpy(descr, text, n + 1);
    if (ret_info != NULL)
        catalog_info_from_meta(&st.m, ret_info);
    return 0;
}

int sharr_list(sharr_t *conn, const char *after, struct sharr_info *out, size_t cap,
               size_t *ret_n, int *ret_more)
{
    struct codec_list p = { 0 };
    struct catalog_page page = { 0 };
    struct client_request req = {
        .pack = catalog_pack_list, .params = &p, .parse = catalog_parse_list, .out = &page,
    };
    int rc;

    if (conn == NULL || out == NULL || ret_n == NULL || ret_more == NULL)
        return client_fail(-EINVAL, "sharr_list: conn, out, ret_n and ret_more must not "
                           "be NULL");
    if (cap == 0)
        return client_fail(-EINVAL, "sharr_list: cap must be at least 1");
    rc = client_copy_name(after, p.after);
    if (rc < 0)
        return rc;
    page.cap = client_page_size(conn, cap);
    page.out = out;
    p.limit = (uint32_t)page.cap;
    p.table = true;
    /* One meta for the whole page: rows are copied into out as they are parsed. On a
     * failed parse out may hold the rows before it; *ret_n and *ret_more are untouched. */
    page.scratch = malloc(sizeof(*page.scratch));
    if (page.scratch == NULL)
        return client_fail(-ENOMEM, "out of memory");
    rc = client_call(conn, &req, NULL);
    if (rc >= 0) {
        *ret_n = page.n;
        *ret_more = page.more ? 1 : 0;
    }
    free(page.scratch);
    return rc;
}

int sharr_unlink(sharr_t *conn, const char *name)
{
    struct codec_name p;
    struct client_request req = { .pack = catalog_pack_unlink, .params = &p };
    int rc;

    if (conn == NULL)
        return client_fail(-EINVAL, "sharr_unlink: conn is NULL");
    rc = catalog_name_params(name, &p);
    if (rc < 0)
        return rc;
    return client_call(conn, &req, NULL);
}

int sharr_stats(sharr_t *conn, struct sharr_stats *ret_stats)
{
    struct codec_stats_reply r;
    struct client_request req = {
        .pack = catalog_pack_stats, .parse = catalog_parse_stats, .out = &r,
    };
    int rc;

    if (conn == NULL || ret_stats == NULL)
        return client_fail(-EINVAL, "sharr_stats: conn and ret_stats must not be NULL");
    rc = client_call(conn, &req, NULL);
    if (rc < 0)
        return rc;
    memset(ret_stats, 0, sizeof(*ret_stats));
#define CATALOG_STATS_COPY(field, type, key, required) ret_stats->field = r.field;
    PROTO_STATS_FIELDS(CATALOG_STATS_COPY)
#undef CATALOG_STATS_COPY
    return 0;
}

static int catalog_pack_chmod(msgpack_sbuffer *out, uint32_t msgid, const void *params)
{
    return codec_pack_chmod(out, msgid, params);
}

static int catalog_pack_chown(msgpack_sbuffer *out, uint32_t msgid, const void *params)
{
    return codec_pack_chown(out, msgid, params);
}

int sharr_chmod(sharr_t *conn, const char *name, uint32_t perm)
{
    struct codec_chmod p = { .perm = perm };
    struct client_request req = { .pack = catalog_pack_chmod, .params = &p };
    char why[64];
    int rc;

    if (conn == NULL)
        return client_fail(-EINVAL, "sharr_chmod: conn is NULL");
    if (perm_check(perm, why, sizeof(why)) < 0)
        return client_fail(-EINVAL, "sharr_chmod: %s", why);
    rc = client_check_name(name);
    if (rc < 0)
        return rc;
    memcpy(p.name, name, strlen(name) + 1);
    return client_call(conn, &req, NULL);
}

int sharr_chown(sharr_t *conn, const char *name, uint32_t uid, uint32_t gid)
{
    struct codec_chown p = {
        .has_uid = uid != SHARR_ID_KEEP, .has_gid = gid != SHARR_ID_KEEP, .uid = uid, .gid = gid,
    };
    struct client_request req = { .pack = catalog_pack_chown, .params = &p };
    int rc;

    if (conn == NULL)
        return client_fail(-EINVAL, "sharr_chown: conn is NULL");
    if (!p.has_uid && !p.has_gid)
        return client_fail(-EINVAL, "sharr_chown: give a uid, a gid or both");
    rc = client_check_name(name);
    if (rc < 0)
        return rc;
    memcpy(p.name, name, strlen(name) + 1);
    return client_call(conn, &req, NULL);
}
