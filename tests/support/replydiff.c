/* replydiff.c — codec_frame_read against the decoder's scan and unpack (replydiff.h).
 *
 * Both sides' message goes through codec_parse_msg, codec_parse_reply_attach and
 * codec_parse_reply_stat; their return values, messages and outputs (zeroed first, so
 * that a field both sides leave alone compares equal; field by field) must match.
 */
#include "replydiff.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include <msgpack.h>

#include "codec.h"
#include "proto_limits.h"
#include "scan.h"

/* What one side's message parses to. */
struct replydiff_side {
    int msg_rc, attach_rc, stat_rc, has_fd;
    char msg_err[256], attach_err[256], stat_err[256];
    struct codec_msg m;
    struct codec_attach_reply attach;
    struct meta stat;
};

static void replydiff_parse(const msgpack_object *obj, struct replydiff_side *s)
{
    memset(s, 0, sizeof(*s));
    s->msg_rc = codec_parse_msg(obj, &s->m, NULL, s->msg_err, sizeof(s->msg_err));
    if (s->msg_rc < 0 || s->m.result == NULL)
        return;
    s->attach_rc = codec_parse_reply_attach(s->m.result, &s->attach, &s->has_fd,
                                            s->attach_err, sizeof(s->attach_err));
    s->stat_rc = codec_parse_reply_stat(s->m.result, &s->stat, s->stat_err,
                                        sizeof(s->stat_err));
}

static int replydiff_fail(char *why, size_t whylen, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static int replydiff_fail(char *why, size_t whylen, const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(why, whylen, fmt, ap);
    va_end(ap);
    return -1;
}

/* How each kind of META_FIELDS compares: the field's meaning, not its spare bytes (a
 * text's after its NUL are whatever the parser's copy left). */
#define REPLYDIFF_NAME(a, b, f) (strcmp((a)->f, (b)->f) == 0)
#define REPLYDIFF_TEXT REPLYDIFF_NAME
#define REPLYDIFF_DTYPE(a, b, f) \
    (strcmp((a)->f.str, (b)->f.str) == 0 && (a)->f.itemsize == (b)->f.itemsize)
#define REPLYDIFF_SHAPE(a, b, f) \
    ((a)->ndim == (b)->ndim && memcmp((a)->f, (b)->f, (a)->ndim * sizeof((a)->f[0])) == 0)
#define REPLYDIFF_DESCR(a, b, f)                                                      \
    ((a)->dtype.descr_len == (b)->dtype.descr_len &&                                 \
     ((a)->dtype.descr == NULL) == ((b)->dtype.descr == NULL) &&                     \
     ((a)->dtype.descr == NULL ||                                                    \
      memcmp((a)->dtype.descr, (b)->dtype.descr, (a)->dtype.descr_len) == 0))
#define REPLYDIFF_SCALAR(a, b, f) ((a)->f == (b)->f)
#define REPLYDIFF_ORDER REPLYDIFF_SCALAR
#define REPLYDIFF_NBYTES REPLYDIFF_SCALAR
#define REPLYDIFF_OFFSET REPLYDIFF_SCALAR
#define REPLYDIFF_PERM REPLYDIFF_SCALAR
#define REPLYDIFF_U32 REPLYDIFF_SCALAR
#define REPLYDIFF_U64 REPLYDIFF_SCALAR
#define REPLYDIFF_I64 REPLYDIFF_SCALAR
#define REPLYDIFF_BOOL REPLYDIFF_SCALAR

/* The name of the first field a and b differ in, or NULL. */
static const char *replydiff_meta(const struct meta *a, const struct meta *b)
{
#define REPLYDIFF_FIELD(id, field, key, kind, required) \
    if (!REPLYDIFF_##kind(a, b, field))                 \
        return key;
    META_FIELDS(REPLYDIFF_FIELD)
#undef REPLYDIFF_FIELD
    return NULL;
}

/* Two parses of one part: the same return value and message; diff says where their
 * outputs differ when they passed (NULL: nowhere). */
static int replydiff_same(const char *what, int ra, int rb, const char *ea, const char *eb,
                          const char *diff, char *why, size_t whylen)
{
    if (ra != rb)
        return replydiff_fail(why, whylen, "%s: %d (%s) against %d (%s)", what, ra, ea, rb,
                              eb);
    if (ra < 0 && strcmp(ea, eb) != 0)
        return replydiff_fail(why, whylen, "%s: message '%s' against '%s'", what, ea, eb);
    if (ra == 0 && diff != NULL)
        return replydiff_fail(why, whylen, "%s: the outputs differ in %s", what, diff);
    return 0;
}

int replydiff_check(const uint8_t *buf, size_t len, char *why, size_t whylen)
{
    static struct codec_frame f;     /* large: kept off the stack */
    static struct replydiff_side a, b;
    msgpack_unpacked un;
    size_t used = 0, flen = 0, off = 0;
    int r;

    if (!codec_frame_read(buf, len, PROTO_DEPTH_MAX, NULL, NULL, &f, &used))
        return 0;
    r = scan_object(buf, len, PROTO_RESPONSE_MAX, PROTO_DEPTH_MAX, &flen);
    if (r != 1 || flen != used)
        return replydiff_fail(why, whylen, "read %zu bytes that scan_object says %d, %zu to",
                              used, r, flen);
    msgpack_unpacked_init(&un);
    if (msgpack_unpack_next(&un, (const char *)buf, flen, &off) != MSGPACK_UNPACK_SUCCESS ||
        off != flen) {
        msgpack_unpacked_destroy(&un);
        return replydiff_fail(why, whylen, "msgpack-c does not unpack the %zu bytes read",
                              used);
    }
    replydiff_parse(&un.data, &a);
    replydiff_parse(&f.msg, &b);
    msgpack_unpacked_destroy(&un);
    if (replydiff_same("envelope", a.msg_rc, b.msg_rc, a.msg_err, b.msg_err,
                       a.m.type != b.m.type || a.m.msgid != b.m.msgid || a.m.err != b.m.err
                           ? "type, msgid or error" : NULL, why, whylen) < 0 ||
        replydiff_same("attach", a.attach_rc, b.attach_rc, a.attach_err, b.attach_err,
                       a.attach.handle != b.attach.handle
                           ? "handle" : replydiff_meta(&a.attach.meta, &b.attach.meta),
                       why, whylen) < 0 ||
        replydiff_same("stat", a.stat_rc, b.stat_rc, a.stat_err, b.stat_err,
                       replydiff_meta(&a.stat, &b.stat), why, whylen) < 0)
        return -1;
    if (a.has_fd != b.has_fd)
        return replydiff_fail(why, whylen, "has_fd %d against %d", a.has_fd, b.has_fd);
    return 1;
}
