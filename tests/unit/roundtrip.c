/* roundtrip.c — see roundtrip.h. */
#include "roundtrip.h"

#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

void roundtrip_decode(const msgpack_sbuffer *sb, msgpack_zone *z, struct codec_msg *msg)
{
    msgpack_object obj;
    size_t off = 0;
    char err[256];

    assert_int_equal(msgpack_unpack(sb->data, sb->size, &off, z, &obj), MSGPACK_UNPACK_SUCCESS);
    assert_int_equal(off, sb->size);
    assert_int_equal(codec_parse_msg(&obj, msg, NULL, err, sizeof err), 0);
}

void roundtrip_init(struct roundtrip *rt)
{
    msgpack_sbuffer_init(&rt->sb);
    msgpack_zone_init(&rt->z, 1024);
}

const struct codec_msg *roundtrip_message(struct roundtrip *rt)
{
    roundtrip_decode(&rt->sb, &rt->z, &rt->msg);
    return &rt->msg;
}

const msgpack_object *roundtrip_request(struct roundtrip *rt, const char *method,
                                        uint32_t msgid)
{
    roundtrip_message(rt);
    assert_string_equal(rt->msg.method, method);
    assert_int_equal(rt->msg.msgid, msgid);
    return rt->msg.params;
}

void roundtrip_free(struct roundtrip *rt)
{
    msgpack_zone_destroy(&rt->z);
    msgpack_sbuffer_destroy(&rt->sb);
}

const msgpack_object *roundtrip_params(struct roundtrip *rt, const struct param *fields,
                                       size_t n)
{
    msgpack_packer pk;
    msgpack_object *obj;
    size_t count = 0, off = 0;

    while (count < n && fields[count].key)
        count++;
    msgpack_sbuffer_clear(&rt->sb);
    msgpack_packer_init(&pk, &rt->sb, msgpack_sbuffer_write);
    msgpack_pack_map(&pk, count);
    for (size_t i = 0; i < count; i++) {
        const struct param *p = &fields[i];

        msgpack_pack_str_with_body(&pk, p->key, strlen(p->key));
        switch (p->type) {
        case PARAM_UINT:
            msgpack_pack_uint64(&pk, p->u);
            break;
        case PARAM_NEG:
            msgpack_pack_int64(&pk, -1);
            break;
        case PARAM_STR:
            msgpack_pack_str_with_body(&pk, p->s, strlen(p->s));
            break;
        case PARAM_NIL:
            msgpack_pack_nil(&pk);
            break;
        case PARAM_TRUE:
            msgpack_pack_true(&pk);
            break;
        }
    }
    obj = msgpack_zone_malloc(&rt->z, sizeof(*obj));
    assert_non_null(obj);
    assert_int_equal(msgpack_unpack(rt->sb.data, rt->sb.size, &off, &rt->z, obj),
                     MSGPACK_UNPACK_SUCCESS);
    return obj;
}

void roundtrip_params_cases(parse_fn parse, const char *what, const struct params_case *cases,
                            size_t n)
{
    for (size_t i = 0; i < n; i++) {
        const struct params_case *c = &cases[i];
        struct roundtrip rt;
        char err[256] = "";
        int r;

        roundtrip_init(&rt);
        r = parse(roundtrip_params(&rt, c->fields, PARAMS_CASE_FIELDS), err, sizeof err);
        roundtrip_free(&rt);
        if (r != c->want)
            fail_msg("case %zu: parsing gave %d, not %d (%s)", i, r, c->want, err);
        if (r < 0 && strlen(err) == 0)
            fail_msg("case %zu: refused without a message", i);
        if (r < 0 && what && !strstr(err, what))
            fail_msg("case %zu: \"%s\" does not name %s", i, err, what);
        if (r < 0 && c->errhas && !strstr(err, c->errhas))
            fail_msg("case %zu: \"%s\" does not say %s", i, err, c->errhas);
    }
}

void roundtrip_perm_cases(parse_fn parse, const char *what)
{
    const struct params_case cases[] = {
        { { P_STR("name", "w"), P_UINT("perm", 0777) }, 0, NULL },
        { { P_STR("name", "w"), P_UINT("perm", 02777) }, -EINVAL, NULL },
        { { P_STR("name", "w"), P_UINT("perm", 04755) }, -EINVAL, NULL },
        { { P_STR("name", "w"), P_UINT("perm", 07777) }, -EINVAL, NULL },
        { { P_STR("name", "w"), P_UINT("perm", 010000) }, -EINVAL, NULL },
        { { P_STR("name", "w"), P_NEG("perm") }, -EINVAL, NULL },
        { { P_STR("name", "w"), P_STR("perm", "yes") }, -EINVAL, NULL },
        { { P_STR("name", "w"), P_STR("perm", "0644") }, -EINVAL, NULL },
        { { P_STR("name", "w"), P_NIL("perm") }, -EINVAL, NULL },
    };
    roundtrip_params_cases(parse, what, cases, sizeof cases / sizeof cases[0]);
}
