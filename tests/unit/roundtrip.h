/* roundtrip.h — what the codec unit tests share: unpacking one packed message and
 * parsing its envelope, failing the test on any error; a request packed, decoded and
 * parsed back (ROUNDTRIP_REQUEST); and params maps written by hand, one field of one
 * msgpack type at a time, for tables of what a parser accepts and refuses.
 */
#ifndef TESTS_UNIT_ROUNDTRIP_H
#define TESTS_UNIT_ROUNDTRIP_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <msgpack.h>

#include "codec.h"
#include "codecwire.h"

/* Unpack sb's one message and parse its envelope into msg; z keeps the objects. */
void roundtrip_decode(const msgpack_sbuffer *sb, msgpack_zone *z, struct codec_msg *msg);

/* One message packed into sb and what decoding it gives: roundtrip_init, a codec_pack_*
 * into rt.sb, roundtrip_message or roundtrip_request, then roundtrip_free. */
struct roundtrip {
    msgpack_sbuffer sb;
    msgpack_zone z;
    struct codec_msg msg;
};
void roundtrip_init(struct roundtrip *rt);
/* Decode rt->sb, which must hold one well-formed message, into rt->msg; returns it. */
const struct codec_msg *roundtrip_message(struct roundtrip *rt);
/* Decode rt->sb, which must be a request of method with msgid; returns its params. */
const msgpack_object *roundtrip_request(struct roundtrip *rt, const char *method,
                                        uint32_t msgid);
void roundtrip_free(struct roundtrip *rt);

/* Pack *p with codec_pack_<method> as request msgid, decode it (a request of that
 * method and msgid) and parse its params with codec_parse_<method> into *q, which is
 * first filled with 0xff bytes; every step must succeed. */
#define ROUNDTRIP_REQUEST(method, msgid, p, q)                                             \
    do {                                                                                   \
        struct roundtrip rt_;                                                              \
        char err_[256];                                                                    \
        roundtrip_init(&rt_);                                                              \
        assert_int_equal(codec_pack_##method(&rt_.sb, (msgid), (p)), 0);                   \
        const msgpack_object *params_ = roundtrip_request(&rt_, #method, (msgid));         \
        memset((q), 0xff, sizeof *(q));                                                    \
        assert_int_equal(codec_parse_##method(params_, (q), err_, sizeof err_), 0);        \
        roundtrip_free(&rt_);                                                              \
    } while (0)

/* One field of a params map written by hand: its key and a value of one msgpack type. */
enum param_type { PARAM_UINT, PARAM_NEG, PARAM_STR, PARAM_NIL, PARAM_TRUE };
struct param {
    const char *key; /* NULL: no field (ends a params_case's fields) */
    enum param_type type;
    uint64_t u;    /* PARAM_UINT's value */
    const char *s; /* PARAM_STR's value */
};
#define P_UINT(key, v) { (key), PARAM_UINT, (v), NULL }
#define P_NEG(key) { (key), PARAM_NEG, 0, NULL } /* -1 */
#define P_STR(key, v) { (key), PARAM_STR, 0, (v) }
#define P_NIL(key) { (key), PARAM_NIL, 0, NULL }
#define P_TRUE(key) { (key), PARAM_TRUE, 0, NULL }

/* Pack the map of the n fields (fewer when a key is NULL: the fields before it) into
 * rt->sb, replacing what it held, and unpack it into rt->z: the params object a parser
 * receives, valid until roundtrip_free. */
const msgpack_object *roundtrip_params(struct roundtrip *rt, const struct param *fields,
                                       size_t n);

#define PARAMS_CASE_FIELDS 2

/* A params map and what parsing it must give: 0, or a negative errno with a message
 * that holds errhas (when not NULL). */
struct params_case {
    struct param fields[PARAMS_CASE_FIELDS];
    int want;
    const char *errhas;
};

/* Parse each case's map with parse: the result is the case's want, and a refusal has
 * a message that holds what (when not NULL) and the case's errhas. A failure names the
 * case by its index. */
void roundtrip_params_cases(parse_fn parse, const char *what, const struct params_case *cases,
                            size_t n);

/* The perm field of a request whose one other required field is its name, parsed by
 * parse: rwx bits are taken; setuid, setgid and sticky bits, bits above 07777, a
 * negative number, a string and nil are refused (roundtrip_params_cases, with what). */
void roundtrip_perm_cases(parse_fn parse, const char *what);

#endif
