/* test_npy_format.c — the .npy header npy_header_format writes, byte for byte against
 * a reference kept here: the header as snprintf built it (head, each shape element,
 * tail), over many random metas (plain typestrs, record descriptions, both orders,
 * 0 to 64 dimensions, shapes up to 2^62 bytes) and their edges, and the same return
 * for every meta it refuses, with out left untouched then.
 */
#include <errno.h>
#include <inttypes.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "npy.h"
#include "shape.h"
#include "testskip.h"

/* The header as sharr wrote it with snprintf before it formatted by hand: the
 * reference the formatter must match, checks and all. */
static int ref_header_format(const struct meta *m, uint8_t out[NPY_HEADER_LEN])
{
    static const uint8_t magic[6] = { 0x93, 'N', 'U', 'M', 'P', 'Y' };
    char text[NPY_HEADER_LEN];
    const size_t text_len = NPY_HEADER_LEN - 10;
    struct dtype dt;
    uint64_t nbytes;
    size_t n = 0;
    int w;

    if (m == NULL || out == NULL)
        return -EINVAL;
    if (dtype_parse(m->dtype.str, &dt) < 0)
        return -EINVAL;
    if (m->dtype.descr != NULL &&
        (dtype_parse_descr(m->dtype.descr, m->dtype.descr_len, &dt, NULL, NULL, NULL, 0) < 0 ||
         strcmp(dt.str, m->dtype.str) != 0))
        return -EINVAL;
    if (m->order != 'C' && m->order != 'F')
        return -EINVAL;
    if (shape_nbytes(m->ndim, m->shape, dt.itemsize, &nbytes) < 0)
        return -EINVAL;
    if (dt.descr != NULL)
        w = snprintf(text, sizeof(text), "{'descr': %.*s, 'fortran_order': %s, 'shape': (",
                     (int)dt.descr_len, dt.descr, m->order == 'F' ? "True" : "False");
    else
        w = snprintf(text, sizeof(text), "{'descr': '%s', 'fortran_order': %s, 'shape': (",
                     dt.str, m->order == 'F' ? "True" : "False");
    n = (size_t)w;
    for (uint32_t i = 0; i < m->ndim; i++) {
        w = snprintf(text + n, sizeof(text) - n, i == 0 ? "%llu" : ", %llu",
                     (unsigned long long)m->shape[i]);
        n += (size_t)w;
    }
    w = snprintf(text + n, sizeof(text) - n, "%s), }", m->ndim == 1 ? "," : "");
    n += (size_t)w;
    if (n >= text_len)
        return -EINVAL;
    memset(text + n, ' ', text_len - 1 - n);
    text[text_len - 1] = '\n';
    memcpy(out, magic, sizeof(magic));
    out[6] = 1;
    out[7] = 0;
    out[8] = (uint8_t)(text_len & 0xff);
    out[9] = (uint8_t)(text_len >> 8);
    memcpy(out + 10, text, text_len);
    return 0;
}

/* xorshift64*: the same sequence on every run, so a failure repeats. */
static uint64_t rng_next(uint64_t *s)
{
    *s ^= *s >> 12;
    *s ^= *s << 25;
    *s ^= *s >> 27;
    return *s * 0x2545F4914F6CDD1Dull;
}

static uint64_t rng_below(uint64_t *s, uint64_t n)
{
    return rng_next(s) % n;
}

/* Both formatters on m: the same return, the same 4096 bytes on success, and out
 * untouched (still its fill byte) on failure. */
static void expect_same_header(const struct meta *m, uint64_t iteration)
{
    static uint8_t got[NPY_HEADER_LEN], want[NPY_HEADER_LEN];
    int r_got, r_want;

    memset(got, 0xa5, sizeof(got));
    memset(want, 0xa5, sizeof(want));
    r_want = ref_header_format(m, want);
    r_got = npy_header_format(m, got);
    if (r_got != r_want || memcmp(got, want, sizeof(got)) != 0) {
        print_error("iteration %" PRIu64 ": dtype %s, order %c, ndim %u: returned %d, "
                    "the reference %d; header %s\n", iteration, m->dtype.str,
                    m->order, m->ndim, r_got, r_want,
                    memcmp(got, want, sizeof(got)) == 0 ? "same" : "differs");
        if (r_got == 0 && r_want == 0)
            print_error("got  %.120s\nwant %.120s\n", (const char *)got + 10,
                        (const char *)want + 10);
        fail();
    }
}

static void meta_of(struct meta *m, const char *dtype, char order, uint32_t ndim,
                    const uint64_t *shape)
{
    memset(m, 0, sizeof(*m));
    assert_int_equal(dtype_parse(dtype, &m->dtype), 0);
    m->order = order;
    m->ndim = ndim;
    memcpy(m->shape, shape, ndim * sizeof(uint64_t));
    assert_int_equal(shape_nbytes(ndim, shape, m->dtype.itemsize, &m->nbytes), 0);
}

/* A random record description in numpy's canonical list form, up to PROTO_DESCR_MAX
 * bytes, into buf: one to four fields, a padding field now and then, a subarray
 * now and then, and sometimes one name long enough to reach the limit. */
static void random_record(uint64_t *s, char buf[PROTO_DESCR_MAX + 1])
{
    static const char *types[] = { "<f4", ">f8", "|u1", "<i8", "|b1", "<c16", "|S5", "<U2" };
    unsigned fields = 1 + (unsigned)rng_below(s, 4);
    bool long_name = rng_below(s, 4) == 0;
    size_t n = 0;

    buf[n++] = '[';
    for (unsigned f = 0; f < fields; f++) {
        const char *type = types[rng_below(s, sizeof(types) / sizeof(types[0]))];
        size_t room = PROTO_DESCR_MAX - n - (size_t)(4 - f) * 40;
        size_t len;

        if (f > 0)
            n += (size_t)sprintf(buf + n, ", ");
        if (f > 0 && rng_below(s, 5) == 0) {
            n += (size_t)sprintf(buf + n, "('', '|V%u')", 1 + (unsigned)rng_below(s, 16));
            continue;
        }
        len = long_name && f == 0 ? room - rng_below(s, 8) : 1 + rng_below(s, 12);
        buf[n++] = '(';
        buf[n++] = '\'';
        for (size_t i = 0; i < len; i++)
            buf[n++] = (char)(i == 0 ? 'a' + (char)f : 'a' + (char)rng_below(s, 26));
        n += (size_t)sprintf(buf + n, "', '%s'", type);
        if (rng_below(s, 4) == 0)
            n += (size_t)sprintf(buf + n, ", (%u,)", 1 + (unsigned)rng_below(s, 5));
        buf[n++] = ')';
    }
    buf[n++] = ']';
    buf[n] = '\0';
    assert_true(n <= PROTO_DESCR_MAX);
}

/* Random dimensions for an item of itemsize bytes whose product stays within
 * PROTO_ARRAY_BYTES_MAX: each up to what the dimensions before it leave, with
 * log-uniform sizes so every digit count comes up, and the whole room now and then. */
static void random_shape(uint64_t *s, uint64_t itemsize, uint32_t ndim, uint64_t *shape)
{
    uint64_t room = PROTO_ARRAY_BYTES_MAX / itemsize;

    for (uint32_t i = 0; i < ndim; i++) {
        uint64_t v = 1;

        if (room > 1 && rng_below(s, 8) == 0)
            v = room;
        else if (room > 1 && rng_below(s, ndim > 8 ? 4 : 1) == 0) {
            unsigned bits = 1 + (unsigned)rng_below(s, 64 - (unsigned)__builtin_clzll(room));
            v = 1 + (rng_next(s) >> (64 - bits)) % room;
        }
        shape[i] = v;
        room /= v;
    }
}

static void test_npy_format_matches_the_snprintf_reference_on_random_metas(void **state)
{
    static const char *plain[] = { "<f4", ">f8", "|u1", "|b1", "<i8", "<c8", "|S7", "<U3",
                                   "|V16", "<M8[ns]", "<m8", ">u2", "<f2", "uint8",
                                   "float64", "|S1", "<U64", ">c16" };
    static char descr[PROTO_DESCR_MAX + 1];
    uint64_t shape[PROTO_NDIM_MAX];
    uint64_t s = 0x9e3779b97f4a7c15ull;
    unsigned records = 0, max_dims = 0, zero_dims = 0;

    (void)state;
    for (uint64_t it = 0; it < 50000; it++) {
        struct meta m;
        bool record = rng_below(&s, 3) == 0;
        char order = rng_below(&s, 2) ? 'F' : 'C';
        uint32_t ndim = (uint32_t)rng_below(&s, PROTO_NDIM_MAX + 1);
        struct dtype dt;

        if (rng_below(&s, 8) == 0)
            ndim = (uint32_t)rng_below(&s, 3);
        if (record)
            random_record(&s, descr);
        assert_int_equal(dtype_parse(record ? descr : plain[rng_below(&s, 18)], &dt), 0);
        random_shape(&s, dt.itemsize, ndim, shape);
        meta_of(&m, record ? descr : dt.str, order, ndim, shape);
        expect_same_header(&m, it);
        records += record;
        max_dims += ndim == PROTO_NDIM_MAX;
        zero_dims += ndim == 0;
    }
    /* the draw reached every kind of meta it is meant to */
    assert_true(records > 1000 && max_dims > 100 && zero_dims > 100);
}

/* Every digit count of every dimension, the widest shapes that fit (2^62 bytes in one
 * dimension, 64 dimensions, the longest description) and the tuple's forms: ndim 0
 * "()", ndim 1 "(n,)". */
static void test_npy_format_matches_the_reference_at_the_edges(void **state)
{
    static char descr[PROTO_DESCR_MAX + 1];
    uint64_t shape[PROTO_NDIM_MAX];
    size_t name = PROTO_DESCR_MAX - strlen("[('', '|u1')]");
    struct meta m;
    uint64_t p = 1, it = 0;

    (void)state;
    for (int d = 1; d <= 18; d++) {
        p *= 10;
        for (uint64_t v = p - 1; v <= p; v++) {
            shape[0] = v;
            shape[1] = 2;
            meta_of(&m, "|u1", 'C', 1, shape);
            expect_same_header(&m, it++);
            meta_of(&m, "<f2", 'F', 2, shape);
            expect_same_header(&m, it++);
        }
    }
    shape[0] = PROTO_ARRAY_BYTES_MAX;
    meta_of(&m, "|u1", 'C', 1, shape);
    expect_same_header(&m, it++);
    meta_of(&m, "|u1", 'C', 0, shape);
    expect_same_header(&m, it++);

    /* 64 dimensions whose digits are as many as 2^62 bytes allow: 2s and 3s */
    for (int i = 0; i < PROTO_NDIM_MAX; i++)
        shape[i] = i < 38 ? 2 : i < 53 ? 3 : 1;
    meta_of(&m, "|u1", 'F', PROTO_NDIM_MAX, shape);
    expect_same_header(&m, it++);
    for (int i = 0; i < PROTO_NDIM_MAX; i++)
        shape[i] = 1;
    shape[0] = 4611686018427387903ull; /* 2^62 - 1: 19 digits */
    meta_of(&m, "|u1", 'C', PROTO_NDIM_MAX, shape);
    expect_same_header(&m, it++);

    /* the longest description beside the longest shape */
    memcpy(descr, "[('", 3);
    memset(descr + 3, 'n', name);
    strcpy(descr + 3 + name, "', '|u1')]");
    assert_int_equal(strlen(descr), PROTO_DESCR_MAX);
    meta_of(&m, descr, 'F', PROTO_NDIM_MAX, shape);
    expect_same_header(&m, it++);
    meta_of(&m, descr, 'C', 1, shape);
    expect_same_header(&m, it++);
    meta_of(&m, descr, 'C', 0, shape);
    expect_same_header(&m, it++);
}

/* What the formatter refuses it refuses with the reference's return, out untouched:
 * no meta, an unknown or mismatched dtype, an order that is neither, too many
 * dimensions, a zero dimension, more than 2^62 bytes. */
static void test_npy_format_refuses_what_the_reference_refuses(void **state)
{
    static char descr[PROTO_DESCR_MAX + 1];
    uint64_t shape[PROTO_NDIM_MAX];
    uint8_t h[NPY_HEADER_LEN];
    uint64_t s = 12345;
    struct meta m;

    (void)state;
    shape[0] = 3;
    meta_of(&m, "<f4", 'C', 1, shape);
    assert_int_equal(npy_header_format(NULL, h), -EINVAL);
    assert_int_equal(npy_header_format(&m, NULL), -EINVAL);
    for (uint64_t it = 0; it < 20000; it++) {
        bool record = rng_below(&s, 3) == 0;
        uint32_t ndim = 1 + (uint32_t)rng_below(&s, PROTO_NDIM_MAX);

        if (record)
            random_record(&s, descr);
        random_shape(&s, 4096, ndim, shape); /* any record here is smaller */
        meta_of(&m, record ? descr : "<i8", 'C', ndim, shape);
        switch (rng_below(&s, 7)) {
        case 0: m.order = (char)rng_below(&s, 256); break;
        case 1: m.ndim = PROTO_NDIM_MAX + 1 + (uint32_t)rng_below(&s, 3); break;
        case 2: m.shape[rng_below(&s, ndim)] = 0; break;
        case 3: m.shape[rng_below(&s, ndim)] = (PROTO_ARRAY_BYTES_MAX >> rng_below(&s, 3)) + 1; break;
        case 4: strcpy(m.dtype.str, record ? "|V999" : "|O8"); break;
        case 5: m.dtype.str[rng_below(&s, 3)] = (char)('a' + rng_below(&s, 26)); break;
        default:
            if (record)
                m.dtype.descr_len = (uint32_t)rng_below(&s, m.dtype.descr_len);
            else
                m.dtype.itemsize = 0;
            break;
        }
        expect_same_header(&m, it);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_npy_format_matches_the_snprintf_reference_on_random_metas),
        cmocka_unit_test(test_npy_format_matches_the_reference_at_the_edges),
        cmocka_unit_test(test_npy_format_refuses_what_the_reference_refuses),
    };

    return testskip_exit(cmocka_run_group_tests(tests, NULL, NULL));
}
