/* test_npy.c — the .npy header: exact layout, parse round trip, numpy's own
 * headers, hostile headers, and numpy.load on files sharr wrote and sharr's parser
 * on files numpy wrote, with Debian's python3 and numpy (prerequisites that
 * scripts/deps.sh installs: these tests fail without them).
 */
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <spawn.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "npy.h"
#include "shape.h"
#include "testskip.h"

extern char **environ;

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

/* Parse bytes held in an exact-size heap copy, so overreads show under ASan. A record's
 * description is written into a buffer of this file, which outlives the copy (until
 * the next parse). */
static int parse_copy(const void *bytes, size_t len, struct meta *m, uint64_t *off,
                      char *err, size_t errlen)
{
    static struct dtype_text text;
    uint8_t *copy = malloc(len > 0 ? len : 1);
    int r;

    assert_non_null(copy);
    memcpy(copy, bytes, len);
    r = npy_header_parse(copy, len, m, &text, off, err, errlen);
    free(copy);
    return r;
}

/* A header with the given version and dict text, as numpy would lay it out. */
static size_t make_header(uint8_t *out, size_t cap, int major, const char *dict)
{
    size_t pre = major == 1 ? 10 : 12;
    size_t n = strlen(dict);

    assert_true(pre + n <= cap);
    memcpy(out, "\x93NUMPY", 6);
    out[6] = (uint8_t)major;
    out[7] = 0;
    out[8] = (uint8_t)(n & 0xff);
    out[9] = (uint8_t)(n >> 8);
    if (major != 1) {
        out[10] = (uint8_t)(n >> 16);
        out[11] = (uint8_t)(n >> 24);
    }
    memcpy(out + pre, dict, n);
    return pre + n;
}

/* The header npy_header_format writes into h for an array of dtype, order and shape
 * starts its dict (after the magic, the version and the length) with want. */
static void expect_header_dict(uint8_t h[NPY_HEADER_LEN], const char *dtype, char order,
                               uint32_t ndim, const uint64_t *shape, const char *want)
{
    struct meta m;

    meta_of(&m, dtype, order, ndim, shape);
    assert_int_equal(npy_header_format(&m, h), 0);
    assert_memory_equal(h + 10, want, strlen(want));
}

static void test_npy_header_is_exactly_4096_bytes_numpy_style(void **state)
{
    const uint64_t shape[] = { 1000000, 100 };
    const char *want = "{'descr': '<f4', 'fortran_order': False, 'shape': (1000000, 100), }";
    uint8_t h[NPY_HEADER_LEN];

    (void)state;
    expect_header_dict(h, "float32", 'C', 2, shape, want);
    assert_memory_equal(h, "\x93NUMPY\x01\x00", 8);
    assert_int_equal(h[8] | h[9] << 8, NPY_HEADER_LEN - 10);
    for (size_t i = 10 + strlen(want); i < NPY_HEADER_LEN - 1; i++)
        assert_int_equal(h[i], ' ');
    assert_int_equal(h[NPY_HEADER_LEN - 1], '\n');
    assert_int_equal(NPY_HEADER_LEN, 4096);
}

static void test_npy_one_dimension_has_trailing_comma_and_fortran_is_true(void **state)
{
    const uint64_t one[] = { 10 };
    const uint64_t two[] = { 3, 4 };
    const char *want1 = "{'descr': '|u1', 'fortran_order': False, 'shape': (10,), }";
    const char *want2 = "{'descr': '<c16', 'fortran_order': True, 'shape': (3, 4), }";
    uint8_t h[NPY_HEADER_LEN];

    (void)state;
    expect_header_dict(h, "uint8", 'C', 1, one, want1);
    expect_header_dict(h, "<c16", 'F', 2, two, want2);
}

static void test_npy_zero_dimensions_are_numpys_empty_tuple_both_ways(void **state)
{
    const char *want = "{'descr': '<f8', 'fortran_order': False, 'shape': (), }";
    const uint64_t none[] = { 0 };
    uint8_t h[NPY_HEADER_LEN];
    struct meta m, back;
    uint64_t off;

    (void)state;
    meta_of(&m, "<f8", 'C', 0, none);
    assert_int_equal(m.nbytes, 8);
    assert_int_equal(npy_header_format(&m, h), 0);
    assert_memory_equal(h + 10, want, strlen(want));
    assert_int_equal(parse_copy(h, sizeof(h), &back, &off, NULL, 0), 0);
    assert_int_equal(back.ndim, 0);
    assert_int_equal(back.nbytes, 8);
    assert_int_equal(off, NPY_HEADER_LEN);
}

static void test_npy_format_then_parse_round_trips(void **state)
{
    const char *dtypes[] = { "<f4", ">f8", "|u1", "|b1", "<i8", "<c8", "|S7", "<U3",
                             "|V16", "<M8[ns]", "<m8", ">u2", "<f2" };
    uint64_t shape[PROTO_NDIM_MAX];
    uint8_t h[NPY_HEADER_LEN];

    (void)state;
    for (size_t d = 0; d < sizeof(dtypes) / sizeof(dtypes[0]); d++) {
        for (uint32_t ndim = 1; ndim <= PROTO_NDIM_MAX; ndim += 7) {
            for (int f = 0; f < 2; f++) {
                struct meta m, back;
                uint64_t off = 0;
                char err[128] = "";
                for (uint32_t i = 0; i < ndim; i++)
                    shape[i] = i < 2 ? 1000 + i : 1;
                meta_of(&m, dtypes[d], f ? 'F' : 'C', ndim, shape);
                assert_int_equal(npy_header_format(&m, h), 0);
                memset(&back, 0, sizeof(back));
                assert_int_equal(parse_copy(h, sizeof(h), &back, &off, err, sizeof(err)), 0);
                assert_int_equal(off, 4096);
                assert_string_equal(back.dtype.str, m.dtype.str);
                assert_int_equal(back.dtype.itemsize, m.dtype.itemsize);
                assert_int_equal(back.order, m.order);
                assert_int_equal(back.ndim, ndim);
                assert_memory_equal(back.shape, shape, ndim * sizeof(uint64_t));
                assert_int_equal(back.nbytes, m.nbytes);
            }
        }
    }
}

static void test_npy_largest_shape_fits_the_header(void **state)
{
    uint64_t shape[PROTO_NDIM_MAX];
    uint8_t h[NPY_HEADER_LEN];
    struct meta m, back;
    uint64_t off;

    (void)state;
    for (int i = 0; i < PROTO_NDIM_MAX; i++)
        shape[i] = 1;
    shape[0] = PROTO_ARRAY_BYTES_MAX / 32;
    meta_of(&m, "<U8", 'F', PROTO_NDIM_MAX, shape);
    assert_int_equal(npy_header_format(&m, h), 0);
    assert_int_equal(parse_copy(h, sizeof(h), &back, &off, NULL, 0), 0);
    assert_int_equal(back.nbytes, PROTO_ARRAY_BYTES_MAX);
}

/* A record's header holds its list form unquoted, as numpy writes it: the longest
 * description beside the longest shape fits the 4096 bytes and reads back. */
static void test_npy_record_description_fits_with_any_shape_and_round_trips(void **state)
{
    static char descr[PROTO_DESCR_MAX + 1];
    uint64_t shape[PROTO_NDIM_MAX];
    uint8_t h[NPY_HEADER_LEN];
    struct meta m, back;
    uint64_t off;
    char err[128] = "";
    size_t name = PROTO_DESCR_MAX - strlen("[('', '|u1')]");

    (void)state;
    memcpy(descr, "[('", 3);
    memset(descr + 3, 'n', name);
    strcpy(descr + 3 + name, "', '|u1')]");
    assert_int_equal(strlen(descr), PROTO_DESCR_MAX);
    for (int i = 0; i < PROTO_NDIM_MAX; i++)
        shape[i] = 1;
    shape[0] = PROTO_ARRAY_BYTES_MAX;
    meta_of(&m, descr, 'F', PROTO_NDIM_MAX, shape);
    assert_int_equal(npy_header_format(&m, h), 0);
    assert_non_null(memmem(h, sizeof(h), "{'descr': [('nnn", 16));
    memset(&back, 0, sizeof(back));
    assert_int_equal(parse_copy(h, sizeof(h), &back, &off, err, sizeof(err)), 0);
    assert_string_equal(back.dtype.descr, descr);
    assert_string_equal(back.dtype.str, "|V1");
    assert_int_equal(back.nbytes, PROTO_ARRAY_BYTES_MAX);

    shape[0] = 3;
    meta_of(&m, "[('x', '<f4'), ('', '|V4'), ('y', '<i8', (2,))]", 'C', 1, shape);
    assert_int_equal(npy_header_format(&m, h), 0);
    assert_int_equal(parse_copy(h, sizeof(h), &back, &off, err, sizeof(err)), 0);
    assert_string_equal(back.dtype.descr, m.dtype.descr);
    assert_string_equal(back.dtype.str, "|V24");
    /* a description that does not match the typestr is not written */
    strcpy(m.dtype.str, "|V25");
    m.dtype.itemsize = 25;
    assert_int_equal(npy_header_format(&m, h), -EINVAL);
}

static void test_npy_format_refuses_what_it_cannot_describe(void **state)
{
    const uint64_t shape[] = { 3 };
    uint8_t h[NPY_HEADER_LEN];
    struct meta m;

    (void)state;
    meta_of(&m, "<f4", 'C', 1, shape);
    m.order = 'X';
    assert_int_equal(npy_header_format(&m, h), -EINVAL);
    m.order = 'C';
    m.ndim = PROTO_NDIM_MAX + 1;
    assert_int_equal(npy_header_format(&m, h), -EINVAL);
    m.ndim = 1;
    strcpy(m.dtype.str, "|O8");
    assert_int_equal(npy_header_format(&m, h), -EINVAL);
}

static void test_npy_parses_numpy_written_headers_of_every_version(void **state)
{
    /* as numpy 1.x writes them: 64-byte aligned, padded with spaces, '\n' at the end */
    const char *v1 = "{'descr': '<i8', 'fortran_order': False, 'shape': (3, 4), }"
                     "                                                    \n";
    const char *v3 = "{'descr': '<U5', 'fortran_order': True, 'shape': (7,), }\n";
    const char *odd = "{\"shape\":(2L,3L,),'fortran_order' :True,\t'descr':\"<f8\"}";
    uint8_t buf[512];
    struct meta m;
    uint64_t off;
    size_t n;
    char err[128];

    (void)state;
    n = make_header(buf, sizeof(buf), 1, v1);
    assert_int_equal(parse_copy(buf, n, &m, &off, err, sizeof(err)), 0);
    assert_int_equal(off, n);
    assert_string_equal(m.dtype.str, "<i8");
    assert_int_equal(m.ndim, 2);
    assert_int_equal(m.shape[0], 3);
    assert_int_equal(m.shape[1], 4);
    assert_int_equal(m.order, 'C');
    assert_int_equal(m.nbytes, 96);

    n = make_header(buf, sizeof(buf), 2, v1);
    assert_int_equal(parse_copy(buf, n, &m, &off, err, sizeof(err)), 0);
    assert_int_equal(off, n);

    n = make_header(buf, sizeof(buf), 3, v3);
    assert_int_equal(parse_copy(buf, n, &m, &off, err, sizeof(err)), 0);
    assert_string_equal(m.dtype.str, "<U5");
    assert_int_equal(m.order, 'F');
    assert_int_equal(m.ndim, 1);
    assert_int_equal(m.nbytes, 140);

    n = make_header(buf, sizeof(buf), 1, odd);
    assert_int_equal(parse_copy(buf, n, &m, &off, err, sizeof(err)), 0);
    assert_string_equal(m.dtype.str, "<f8");
    assert_int_equal(m.ndim, 2);
    assert_int_equal(m.order, 'F');
    /* numpy 1.24's np.save of np.dtype([('x', '<f4'), ('y', '<i8')], align=True) */
    n = make_header(buf, sizeof(buf), 1,
                    "{'descr': [('x', '<f4'), ('', '|V4'), ('y', '<i8')], "
                    "'fortran_order': False, 'shape': (2,), }         \n");
    assert_int_equal(parse_copy(buf, n, &m, &off, err, sizeof(err)), 0);
    assert_string_equal(m.dtype.str, "|V16");
    assert_string_equal(m.dtype.descr, "[('x', '<f4'), ('', '|V4'), ('y', '<i8')]");
    assert_int_equal(m.nbytes, 32);
}

static void test_npy_short_input_asks_for_more(void **state)
{
    const uint64_t shape[] = { 5, 5 };
    uint8_t h[NPY_HEADER_LEN];
    struct meta m;
    uint64_t off;

    (void)state;
    meta_of(&m, "<f4", 'C', 2, shape);
    assert_int_equal(npy_header_format(&m, h), 0);
    for (size_t len = 0; len < NPY_HEADER_LEN; len += (len < 16 ? 1 : 97))
        assert_int_equal(parse_copy(h, len, &m, &off, NULL, 0), -EAGAIN);
    assert_int_equal(parse_copy(h, NPY_HEADER_LEN - 1, &m, &off, NULL, 0), -EAGAIN);
    assert_int_equal(npy_header_parse(NULL, 0, &m, NULL, &off, NULL, 0), -EAGAIN);
}

static void test_npy_rejects_hostile_headers(void **state)
{
    const char *bad_dicts[] = {
        "",
        "{",
        "{}",
        "[]",
        "{'descr': '<f4', 'fortran_order': False}",
        "{'descr': '<f4', 'shape': (3,)}",
        "{'fortran_order': False, 'shape': (3,)}",
        "{'descr': '<f4', 'fortran_order': False, 'shape': (3,), 'extra': 1}",
        "{'descr': '<f4', 'descr': '<f4', 'fortran_order': False, 'shape': (3,)}",
        "{'descr': [('a', '<f4'), ('a', '<f4')], 'fortran_order': False, 'shape': (3,)}",
        "{'descr': [('a', '|O')], 'fortran_order': False, 'shape': (3,)}",
        "{'descr': [('a', '<f4'), 'fortran_order': False, 'shape': (3,)}",
        "{'descr': [('a', '<f4')] 'fortran_order': False, 'shape': (3,)}",
        "{'descr': [], 'fortran_order': False, 'shape': (3,)}",
        "{'descr': '|O', 'fortran_order': False, 'shape': (3,)}",
        "{'descr': '<f4', 'fortran_order': 0, 'shape': (3,)}",
        "{'descr': '<f4', 'fortran_order': false, 'shape': (3,)}",
        "{'descr': '<f4', 'fortran_order': False, 'shape': (3)}",
        "{'descr': '<f4', 'fortran_order': False, 'shape': (0,)}",
        "{'descr': '<f4', 'fortran_order': False, 'shape': (-3,)}",
        "{'descr': '<f4', 'fortran_order': False, 'shape': (3.0,)}",
        "{'descr': '<f4', 'fortran_order': False, 'shape': (3,,)}",
        "{'descr': '<f4', 'fortran_order': False, 'shape': (3 4)}",
        "{'descr': '<f4', 'fortran_order': False, 'shape': [3]}",
        "{'descr': '<f4', 'fortran_order': False, 'shape': (99999999999999999999,)}",
        "{'descr': '<f8', 'fortran_order': False, 'shape': (4294967296, 4294967296, 2)}",
        "{'descr': '<f4', 'fortran_order': False, 'shape': (3,)} x",
        "{'descr': '<f4, 'fortran_order': False, 'shape': (3,)}",
        "{'descr': '<f4\\x', 'fortran_order': False, 'shape': (3,)}",
        "{'descr': '<f4', 'fortran_order': False, 'shape': (3,)",
        "{'descr' '<f4', 'fortran_order': False, 'shape': (3,)}",
        "{descr: '<f4', 'fortran_order': False, 'shape': (3,)}",
        "{'descr': '<f4'  'fortran_order': False, 'shape': (3,)}",
    };
    uint8_t buf[1024];
    struct meta m;
    uint64_t off;
    char err[128];

    (void)state;
    for (size_t i = 0; i < sizeof(bad_dicts) / sizeof(bad_dicts[0]); i++) {
        size_t n = make_header(buf, sizeof(buf), 1, bad_dicts[i]);
        int r;
        err[0] = '\0';
        r = parse_copy(buf, n, &m, &off, err, sizeof(err));
        if (r != -EINVAL)
            fail_msg("accepted (%d): %s", r, bad_dicts[i]);
        assert_true(strncmp(err, "npy: ", 5) == 0);
    }
}

static void test_npy_rejects_bad_preamble_and_too_many_dims(void **state)
{
    char dict[2048];
    uint8_t buf[4096];
    struct meta m;
    uint64_t off;
    size_t n;

    (void)state;
    n = make_header(buf, sizeof(buf), 1, "{'descr': '<f4', 'fortran_order': False, 'shape': (3,)}");
    assert_int_equal(parse_copy(buf, n, &m, &off, NULL, 0), 0);
    buf[0] = 0x94;
    assert_int_equal(parse_copy(buf, n, &m, &off, NULL, 0), -EINVAL);
    assert_int_equal(parse_copy(buf, 1, &m, &off, NULL, 0), -EINVAL); /* known bad early */
    buf[0] = 0x93;
    buf[6] = 4;
    assert_int_equal(parse_copy(buf, n, &m, &off, NULL, 0), -EINVAL);
    buf[6] = 0;
    assert_int_equal(parse_copy(buf, n, &m, &off, NULL, 0), -EINVAL);
    buf[6] = 1;
    buf[7] = 1;
    assert_int_equal(parse_copy(buf, n, &m, &off, NULL, 0), -EINVAL);
    buf[7] = 0;
    /* a v2 header claiming 4 GiB of text is refused, not waited for */
    memcpy(buf, "\x93NUMPY\x02\x00\xff\xff\xff\xff", 12);
    assert_int_equal(parse_copy(buf, 12, &m, &off, NULL, 0), -EINVAL);

    /* 65 dimensions */
    n = (size_t)snprintf(dict, sizeof(dict), "{'descr': '<f4', 'fortran_order': False, 'shape': (");
    for (int i = 0; i < PROTO_NDIM_MAX + 1; i++)
        n += (size_t)snprintf(dict + n, sizeof(dict) - n, "1, ");
    snprintf(dict + n, sizeof(dict) - n, ")}");
    n = make_header(buf, sizeof(buf), 1, dict);
    assert_int_equal(parse_copy(buf, n, &m, &off, NULL, 0), -EINVAL);
}

/* Every single-byte change of a valid header either parses to something coherent or
 * is refused; nothing else (and no overread: exact-size copies under ASan). */
static void test_npy_survives_every_single_byte_mutation(void **state)
{
    const uint64_t shape[] = { 12, 34, 56 };
    const uint8_t values[] = { 0x00, ' ', '\'', '(', ')', ',', '9', '}', 0x80, 0xff };
    uint8_t h[NPY_HEADER_LEN];
    struct meta m;

    (void)state;
    meta_of(&m, "<f8", 'F', 3, shape);
    assert_int_equal(npy_header_format(&m, h), 0);
    for (size_t pos = 0; pos < 140; pos++) {
        for (size_t v = 0; v < sizeof(values); v++) {
            uint8_t saved = h[pos];
            struct meta back;
            uint64_t off = 0, nbytes;
            int r;
            h[pos] = values[v];
            r = parse_copy(h, sizeof(h), &back, &off, NULL, 0);
            assert_true(r == 0 || r == -EINVAL || r == -EAGAIN);
            if (r == 0) {
                assert_true(back.ndim >= 1 && back.ndim <= PROTO_NDIM_MAX);
                assert_int_equal(shape_nbytes(back.ndim, back.shape, back.dtype.itemsize,
                                              &nbytes), 0);
                assert_int_equal(nbytes, back.nbytes);
                assert_true(off <= sizeof(h));
            }
            h[pos] = saved;
        }
    }
}

/* With numpy. */

static int run_python(char *const argv[])
{
    pid_t pid;
    int status = 0;
    posix_spawn_file_actions_t fa;

    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_addopen(&fa, STDOUT_FILENO, "/dev/null", O_WRONLY, 0);
    if (posix_spawn(&pid, argv[0], &fa, NULL, argv, environ) != 0) {
        posix_spawn_file_actions_destroy(&fa);
        return -1;
    }
    posix_spawn_file_actions_destroy(&fa);
    if (waitpid(pid, &status, 0) < 0 || !WIFEXITED(status))
        return -1;
    return WEXITSTATUS(status);
}

/* Fail the test unless Debian's python3 imports numpy. */
static void require_numpy(void)
{
    char *argv[] = { SHARR_TEST_PYTHON, "-c", "import numpy", NULL };

    if (run_python(argv) != 0)
        fail_msg("%s cannot import numpy: scripts/deps.sh installs python3-numpy",
                 SHARR_TEST_PYTHON);
}

/* Element k (in memory order) of each test dtype holds the value k. */
static void encode_value(const struct dtype *dt, uint64_t k, uint8_t *out)
{
    const char *s = dt->str;
    bool big = s[0] == '>';
    uint8_t le[16] = { 0 };

    if (strcmp(s + 1, "f4") == 0) {
        float f = (float)k;
        memcpy(le, &f, 4);
    } else if (strcmp(s + 1, "f8") == 0) {
        double d = (double)k;
        memcpy(le, &d, 8);
    } else if (strcmp(s + 1, "c16") == 0) {
        double d = (double)k;
        memcpy(le, &d, 8); /* real part; imaginary 0 */
    } else if (strcmp(s + 1, "b1") == 0) {
        le[0] = k != 0;
    } else { /* integers */
        for (size_t i = 0; i < dt->itemsize && i < 8; i++)
            le[i] = (uint8_t)(k >> (8 * i));
    }
    if (strcmp(s + 1, "c16") == 0 || !big) {
        memcpy(out, le, dt->itemsize);
    } else {
        for (size_t i = 0; i < dt->itemsize; i++)
            out[i] = le[dt->itemsize - 1 - i];
    }
}

static const char numpy_check_script[] =
    "import sys, numpy as np\n"
    "path, dt, shape, order = sys.argv[1], sys.argv[2], sys.argv[3], sys.argv[4]\n"
    "shape = tuple(int(x) for x in shape.split(',') if x)\n"
    "a = np.load(path, mmap_mode='r')\n"
    "assert isinstance(a, np.memmap), type(a)\n"
    "assert a.offset == 4096, a.offset\n"
    "assert a.dtype == np.dtype(dt), (a.dtype, dt)\n"
    "assert a.dtype.str == dt, (a.dtype.str, dt)\n"
    "assert a.shape == shape, (a.shape, shape)\n"
    "assert a.flags.f_contiguous if order == 'F' else a.flags.c_contiguous\n"
    "flat = np.ravel(a, order='F' if order == 'F' else 'C')\n"
    "want = np.arange(a.size).astype(dt)\n"
    "assert (flat == want).all(), (flat[:8], want[:8])\n";

static void write_file(const char *path, const uint8_t *bytes, size_t len)
{
    FILE *f = fopen(path, "wbe");

    assert_non_null(f);
    assert_int_equal(fwrite(bytes, 1, len, f), len);
    assert_int_equal(fclose(f), 0);
}

static void test_npy_files_load_in_numpy_with_mmap(void **state)
{
    struct {
        const char *dtype;
        char order;
        uint32_t ndim;
        uint64_t shape[32];
    } cases[] = {
        { "<f4", 'C', 2, { 3, 4 } },
        { "<i4", 'F', 2, { 3, 4 } },
        { "|u1", 'C', 1, { 10 } },
        { ">f8", 'C', 3, { 2, 3, 4 } },
        { ">u2", 'F', 3, { 2, 3, 4 } },
        { "|b1", 'C', 1, { 5 } },
        { "<f8", 'C', 0, { 0 } },
        { "<c16", 'F', 2, { 2, 2 } },
        { "<i8", 'C', 32, { 2, 3, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1,
                            1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 2 } },
    };
    char dir[] = "/tmp/sharr-unit-npy-XXXXXX";
    char path[64], script[64];

    (void)state;
    require_numpy();
    assert_non_null(mkdtemp(dir));
    snprintf(script, sizeof(script), "%s/check.py", dir);
    write_file(script, (const uint8_t *)numpy_check_script, strlen(numpy_check_script));
    for (size_t c = 0; c < sizeof(cases) / sizeof(cases[0]); c++) {
        struct meta m;
        uint8_t *file;
        char shape[256] = "", order[2] = { cases[c].order, '\0' };
        size_t n = 0;
        uint64_t count;

        meta_of(&m, cases[c].dtype, cases[c].order, cases[c].ndim, cases[c].shape);
        count = m.nbytes / m.dtype.itemsize;
        file = calloc(1, NPY_HEADER_LEN + m.nbytes);
        assert_non_null(file);
        assert_int_equal(npy_header_format(&m, file), 0);
        for (uint64_t k = 0; k < count; k++)
            encode_value(&m.dtype, k, file + NPY_HEADER_LEN + k * m.dtype.itemsize);
        snprintf(path, sizeof(path), "%s/a%zu.npy", dir, c);
        write_file(path, file, NPY_HEADER_LEN + m.nbytes);
        free(file);
        for (uint32_t i = 0; i < m.ndim; i++)
            n += (size_t)snprintf(shape + n, sizeof(shape) - n, i ? ",%llu" : "%llu",
                                  (unsigned long long)m.shape[i]);
        {
            char *argv[] = { SHARR_TEST_PYTHON, script, path, m.dtype.str, shape, order, NULL };
            if (run_python(argv) != 0)
                fail_msg("numpy.load disagrees on %s %c", m.dtype.str, cases[c].order);
        }
        unlink(path);
    }
    unlink(script);
    rmdir(dir);
}

static const char numpy_write_script[] =
    "import sys, numpy as np\n"
    "a = np.arange(24, dtype='<i4').reshape(2, 3, 4)\n"
    "np.save(sys.argv[1], a)\n"
    "for v, p in (((2, 0), sys.argv[2]), ((3, 0), sys.argv[3])):\n"
    "    with open(p, 'wb') as f:\n"
    "        np.lib.format.write_array(f, np.asfortranarray(a.astype('>f8')), version=v)\n";

static uint8_t *read_file(const char *path, size_t *ret_len)
{
    FILE *f = fopen(path, "rbe");
    uint8_t *buf = malloc(1 << 16);
    size_t n;

    assert_non_null(f);
    assert_non_null(buf);
    n = fread(buf, 1, 1 << 16, f);
    fclose(f);
    *ret_len = n;
    return buf;
}

static void test_npy_parses_files_numpy_wrote(void **state)
{
    char dir[] = "/tmp/sharr-unit-npy-XXXXXX";
    char script[64], p1[64], p2[64], p3[64];
    const char *paths[] = { p1, p2, p3 };

    (void)state;
    require_numpy();
    assert_non_null(mkdtemp(dir));
    snprintf(script, sizeof(script), "%s/write.py", dir);
    snprintf(p1, sizeof(p1), "%s/v1.npy", dir);
    snprintf(p2, sizeof(p2), "%s/v2.npy", dir);
    snprintf(p3, sizeof(p3), "%s/v3.npy", dir);
    write_file(script, (const uint8_t *)numpy_write_script, strlen(numpy_write_script));
    {
        char *argv[] = { SHARR_TEST_PYTHON, script, p1, p2, p3, NULL };
        assert_int_equal(run_python(argv), 0);
    }
    for (size_t i = 0; i < 3; i++) {
        struct meta m;
        uint64_t off = 0;
        size_t len;
        char err[128] = "";
        uint8_t *buf = read_file(paths[i], &len);
        int r = npy_header_parse(buf, len, &m, NULL, &off, err, sizeof(err));
        if (r != 0)
            fail_msg("%s: %d %s", paths[i], r, err);
        assert_int_equal(m.ndim, 3);
        assert_int_equal(m.shape[0], 2);
        assert_int_equal(m.shape[1], 3);
        assert_int_equal(m.shape[2], 4);
        assert_int_equal(off + m.nbytes, len);
        if (i == 0) {
            int32_t last;
            assert_string_equal(m.dtype.str, "<i4");
            assert_int_equal(m.order, 'C');
            memcpy(&last, buf + off + m.nbytes - 4, 4);
            assert_int_equal(last, 23);
        } else {
            assert_string_equal(m.dtype.str, ">f8");
            assert_int_equal(m.order, 'F');
        }
        free(buf);
        unlink(paths[i]);
    }
    unlink(script);
    rmdir(dir);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_npy_header_is_exactly_4096_bytes_numpy_style),
        cmocka_unit_test(test_npy_one_dimension_has_trailing_comma_and_fortran_is_true),
        cmocka_unit_test(test_npy_zero_dimensions_are_numpys_empty_tuple_both_ways),
        cmocka_unit_test(test_npy_format_then_parse_round_trips),
        cmocka_unit_test(test_npy_largest_shape_fits_the_header),
        cmocka_unit_test(test_npy_record_description_fits_with_any_shape_and_round_trips),
        cmocka_unit_test(test_npy_format_refuses_what_it_cannot_describe),
        cmocka_unit_test(test_npy_parses_numpy_written_headers_of_every_version),
        cmocka_unit_test(test_npy_short_input_asks_for_more),
        cmocka_unit_test(test_npy_rejects_hostile_headers),
        cmocka_unit_test(test_npy_rejects_bad_preamble_and_too_many_dims),
        cmocka_unit_test(test_npy_survives_every_single_byte_mutation),
        cmocka_unit_test(test_npy_files_load_in_numpy_with_mmap),
        cmocka_unit_test(test_npy_parses_files_numpy_wrote),
    };
    return testskip_exit(cmocka_run_group_tests(tests, NULL, NULL));
}
