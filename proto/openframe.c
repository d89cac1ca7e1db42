/* openframe.c — the open request parsed from its bytes (openframe.h). It reads the
 * values with mpread.h, so each encoding of a value reads as msgpack-c unpacks it, and
 * takes the five keys of open, each at most once, in any order, with values the
 * general path accepts; it declines every other frame rather than judge it, so it has
 * no error messages of its own. No I/O.
 */
#include "openframe.h"

#include <string.h>

#include "mpread.h"
#include "name.h"
#include "proto_limits.h"

/* The next value, read as msgpack-c unpacks it (mpread.h), if it is of type t. */
static bool openframe_next(struct mpread *r, unsigned depth, msgpack_object_type t,
                           msgpack_object *o)
{
    return mpread_next_inline(r, depth, o) == 0 && o->type == t;
}

/* An integer in any msgpack encoding, as msgpack-c reads it: *neg when negative. */
static bool openframe_int(struct mpread *r, unsigned depth, bool *neg, uint64_t *u,
                          int64_t *i)
{
    msgpack_object o;

    if (mpread_next_inline(r, depth, &o) < 0)
        return false;
    *neg = o.type == MSGPACK_OBJECT_NEGATIVE_INTEGER;
    if (*neg)
        *i = o.via.i64;
    else
        *u = o.via.u64;
    return *neg || o.type == MSGPACK_OBJECT_POSITIVE_INTEGER;
}

static bool openframe_key_is(const msgpack_object *k, const char *want)
{
    return k->via.str.size == strlen(want) && memcmp(k->via.str.ptr, want, k->via.str.size) == 0;
}

int openframe_parse(const uint8_t *buf, size_t len, size_t max_len, uint32_t *ret_msgid,
                    struct codec_open *ret, size_t *ret_len)
{
    static const uint8_t head[] = { 0x94, 0x00 };
    static const uint8_t method[] = { 0xa4, 'o', 'p', 'e', 'n', 0x91 };
    struct codec_open p = { .mode = META_MODE_RPLUS };
    bool neg, seen_name = false, seen_mode = false, seen_wait = false, seen_owner = false,
              seen_pub = false;
    uint64_t u = 0, msgid;
    msgpack_object k, v;
    struct mpread r;
    int64_t i = 0;

    /* [0, msgid, "open", [{params}]]: the map's entries are three containers deep. */
    len = len < max_len ? len : max_len;
    if (len < sizeof(head) || memcmp(buf, head, sizeof(head)) != 0)
        return 0;
    mpread_init(&r, buf + sizeof(head), len - sizeof(head), PROTO_DEPTH_MAX);
    if (!openframe_int(&r, 1, &neg, &msgid, &i) || neg || msgid > UINT32_MAX
        || (size_t)(r.end - r.p) < sizeof(method) || memcmp(r.p, method, sizeof(method)) != 0)
        return 0;
    r.p += sizeof(method);
    if (!openframe_next(&r, 2, MSGPACK_OBJECT_MAP, &v))
        return 0;
    for (uint32_t n = v.via.map.size; n > 0; n--) {
        if (!openframe_next(&r, 3, MSGPACK_OBJECT_STR, &k))
            return 0;
        if (openframe_key_is(&k, "name") && !seen_name) {
            seen_name = true;
            if (!openframe_next(&r, 3, MSGPACK_OBJECT_STR, &v)
                || name_check(v.via.str.ptr, v.via.str.size) < 0)
                return 0;
            memcpy(p.name, v.via.str.ptr, v.via.str.size);
            p.name[v.via.str.size] = '\0';
        } else if (openframe_key_is(&k, "mode") && !seen_mode) {
            char mode[4];

            seen_mode = true;
            if (!openframe_next(&r, 3, MSGPACK_OBJECT_STR, &v) || v.via.str.size >= sizeof(mode)
                || memchr(v.via.str.ptr, '\0', v.via.str.size))
                return 0;
            memcpy(mode, v.via.str.ptr, v.via.str.size);
            mode[v.via.str.size] = '\0';
            if (meta_mode_parse(mode, &p.mode) < 0)
                return 0;
        } else if (openframe_key_is(&k, "wait_ms") && !seen_wait) {
            seen_wait = true;
            if (!openframe_int(&r, 3, &neg, &u, &i) || (neg ? i < -1 : u > INT64_MAX))
                return 0;
            p.wait_ms = neg ? i : (int64_t)u;
        } else if (openframe_key_is(&k, "owner") && !seen_owner) {
            seen_owner = true;
            if (!openframe_int(&r, 3, &neg, &u, &i) || neg || u > UINT32_MAX - 1)
                return 0;
            p.has_owner = true;
            p.owner = (uint32_t)u;
        } else if (openframe_key_is(&k, "published") && !seen_pub) {
            seen_pub = true;
            if (!openframe_next(&r, 3, MSGPACK_OBJECT_BOOLEAN, &v))
                return 0;
            p.published = v.via.boolean;
        } else {
            return 0; /* a repeat or another key: the general path's */
        }
    }
    if (!seen_name)
        return 0;
    *ret_msgid = (uint32_t)msgid;
    *ret = p;
    *ret_len = (size_t)(r.p - buf);
    return 1;
}
