/* codecwire.h — what the codec unit tests share: msgpack objects built by hand, a
 * decoder every message passes through (struct wire), a sample array record, and
 * check_fields, which puts every wrong type, a repeat and an absence into each field
 * of a map and expects a refusal that names it.
 */
#ifndef TESTS_UNIT_CODECWIRE_H
#define TESTS_UNIT_CODECWIRE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <msgpack.h>

#include "codec.h"
#include "decoder.h"

/* msgpack objects of each type; o_array and o_map point at the caller's items. */
msgpack_object o_nil(void);
msgpack_object o_bool(bool v);
msgpack_object o_uint(uint64_t v);
msgpack_object o_neg(int64_t v);
msgpack_object o_f64(double v);
msgpack_object o_strn(const char *s, uint32_t n);
msgpack_object o_str(const char *s);
msgpack_object o_bin(const char *s);
msgpack_object o_ext(void);
msgpack_object o_array(msgpack_object *items, uint32_t n);
msgpack_object o_map(msgpack_object_kv *kv, uint32_t n);

/* A decoder that every message in a test passes through. */
struct wire {
    struct decoder *d;
    msgpack_object obj;
};

/* cmocka setup and teardown: *state is a struct wire with a fresh decoder. */
int wire_setup(void **state);
int wire_teardown(void **state);

/* Feed an encoder's bytes, expect exactly one whole object. Valid until the next
 * wire call. */
const msgpack_object *wire_bytes(struct wire *w, const msgpack_sbuffer *sb);

/* Pack in to bytes and feed them through wire_bytes. */
const msgpack_object *wire_object(struct wire *w, msgpack_object in);

/* Decode an envelope that must be well formed and of the given type. */
void wire_msg(struct wire *w, const msgpack_sbuffer *sb, enum codec_type type,
              uint32_t msgid, struct codec_msg *msg);

/* An array record with every field set to something other than its default. */
void sample_meta(struct meta *m, const char *name);

/* Every field of a and b is the same. */
void assert_meta_equal(const struct meta *a, const struct meta *b);

/* map is a map with key among its keys. */
bool map_has(const msgpack_object *map, const char *key);

/* Values of every msgpack type, to put where they do not belong. */
size_t wrong_values(msgpack_object *out);

typedef int (*parse_fn)(const msgpack_object *map, char *err, size_t errlen);

/* Defines parse_<method>, the parse_fn that parses with codec_parse_<method> into a
 * local value of type and lets it go. */
#define PARSE_FN(method, type)                                                         \
    static int parse_##method(const msgpack_object *m, char *err, size_t errlen)       \
    {                                                                                  \
        type out;                                                                      \
        return codec_parse_##method(m, &out, err, errlen);                             \
    }

struct field {
    const char *key;
    msgpack_object value;
    int flags;
};

#define REQ 1    /* the field is required */
#define ANYINT 2 /* negative and non-negative integers are both of the right type */

/* r is a refusal and err names what was parsed and the key. */
void expect_field_error(const char *what, const char *key, const char *err, int r,
                        const char *why);

/* For each field: every wrong msgpack type, absence (when required) and repetition
 * must be refused with a message naming what is parsed and the field. */
void check_fields(struct wire *w, const char *what, parse_fn parse,
                  const struct field *fields, size_t n);

/* A valid shape, [3, 4], for the maps the tests build. */
extern msgpack_object shape_dims[2];

#define META_NFIELDS 15 /* the keys of an array map */

/* The META_NFIELDS fields of a valid array map, for check_fields. */
void meta_fields(struct field *f);

#endif
