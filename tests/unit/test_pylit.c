/* test_pylit.c — the cursor over Python literal text (proto/pylit.h) that the .npy
 * header's dict and a record dtype's description are read with: each token, what it
 * takes and refuses, and that it never reads past the end of text that is not
 * NUL-terminated (every text here is copied into a buffer of exactly its length).
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "pylit.h"
#include "testskip.h"

/* A cursor over a heap copy of s without its NUL; *ret_buf is freed by the caller. */
static struct pylit over(const char *s, char **ret_buf)
{
    size_t n = strlen(s);
    char *buf = malloc(n > 0 ? n : 1);
    struct pylit c;

    assert_non_null(buf);
    memcpy(buf, s, n);
    pylit_init(&c, buf, n);
    *ret_buf = buf;
    return c;
}

/* What is left to read, as a string. */
static void assert_rest(const struct pylit *c, const char *want)
{
    assert_int_equal((size_t)(c->end - c->p), strlen(want));
    assert_memory_equal(c->p, want, strlen(want));
}

static void test_pylit_ws_skips_space_tab_newline_return_only(void **state)
{
    char *buf;
    struct pylit c = over(" \t\r\n\fx", &buf);

    (void)state;
    pylit_ws(&c);
    assert_rest(&c, "\fx");
    free(buf);
    c = over(" \n ", &buf);
    assert_true(pylit_done(&c));
    free(buf);
    c = over("  ,", &buf);
    assert_false(pylit_done(&c));
    assert_rest(&c, ",");
    free(buf);
}

static void test_pylit_take_skips_whitespace_take_next_does_not(void **state)
{
    char *buf;
    struct pylit c = over("  (x", &buf);

    (void)state;
    assert_false(pylit_take_next(&c, '('));
    assert_true(pylit_peek(&c, '('));
    assert_rest(&c, "(x");
    assert_false(pylit_take(&c, ')'));
    assert_true(pylit_take(&c, '('));
    assert_true(pylit_take_next(&c, 'x'));
    assert_false(pylit_take(&c, 'x'));
    assert_false(pylit_peek(&c, 'x'));
    free(buf);
}

static void test_pylit_take_word_takes_its_bytes_only(void **state)
{
    char *buf;
    struct pylit c = over(" Tru", &buf);

    (void)state;
    assert_false(pylit_take_word(&c, "True"));
    free(buf);
    c = over(" Truex", &buf);
    assert_true(pylit_take_word(&c, "True"));
    assert_rest(&c, "x");
    free(buf);
}

static void test_pylit_string_either_quote_points_into_input(void **state)
{
    char *buf;
    const char *s;
    size_t n;
    struct pylit c = over(" 'a b' \"it's\"''", &buf);

    (void)state;
    assert_int_equal(pylit_string(&c, PYLIT_ANY, &s, &n), 0);
    assert_int_equal(n, 3);
    assert_memory_equal(s, "a b", 3);
    assert_ptr_equal(s, buf + 2);
    assert_int_equal(pylit_string(&c, PYLIT_ANY, &s, &n), 0);
    assert_int_equal(n, 4);
    assert_memory_equal(s, "it's", 4);
    assert_int_equal(pylit_string(&c, PYLIT_ANY, &s, &n), 0);
    assert_int_equal(n, 0);
    assert_true(pylit_done(&c));
    free(buf);
}

static void test_pylit_string_refusals_say_which(void **state)
{
    static const struct {
        const char *in;
        enum pylit_chars chars;
        int want;
    } cases[] = {
        { "", PYLIT_ANY, -ENOENT },           { " x'a'", PYLIT_ANY, -ENOENT },
        { "'abc", PYLIT_ANY, -EINVAL },       { "\"abc'", PYLIT_ANY, -EINVAL },
        { "'a\\'b'", PYLIT_ANY, -EILSEQ },    { "'a\\'", PYLIT_PRINTABLE, -EILSEQ },
        { "\"it's\"", PYLIT_PRINTABLE, -EILSEQ }, { "'a\tb'", PYLIT_PRINTABLE, -EILSEQ },
        { "'\x7f'", PYLIT_PRINTABLE, -EILSEQ }, { "'\xc3\xa9'", PYLIT_PRINTABLE, -EILSEQ },
        { "'a\tb'", PYLIT_ANY, 0 },           { "'\xc3\xa9'", PYLIT_ANY, 0 },
        { "'a b~'", PYLIT_PRINTABLE, 0 },
    };

    (void)state;
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        char *buf;
        const char *s;
        size_t n;
        struct pylit c = over(cases[i].in, &buf);
        int r = pylit_string(&c, cases[i].chars, &s, &n);

        if (r != cases[i].want)
            fail_msg("pylit_string(%s) = %d, want %d", cases[i].in, r, cases[i].want);
        free(buf);
    }
}

static void test_pylit_string_refuses_nul_unless_printable_refuses_it_too(void **state)
{
    static const char text[] = { '\'', 'a', '\0', 'b', '\'' };
    const char *s;
    size_t n;
    struct pylit c;

    (void)state;
    pylit_init(&c, text, sizeof(text));
    assert_int_equal(pylit_string(&c, PYLIT_ANY, &s, &n), -EILSEQ);
    pylit_init(&c, text, sizeof(text));
    assert_int_equal(pylit_string(&c, PYLIT_PRINTABLE, &s, &n), -EILSEQ);
}

static void test_pylit_uint_reads_decimal_up_to_max(void **state)
{
    static const struct {
        const char *in;
        uint64_t max;
        int want;
        uint64_t v;
        const char *rest;
    } cases[] = {
        { " 42,", UINT64_MAX, 0, 42, "," },
        { "007L", UINT64_MAX, 0, 7, "L" },
        { "0", 10, 0, 0, "" },
        { "18446744073709551615", UINT64_MAX, 0, UINT64_MAX, "" },
        { "18446744073709551616", UINT64_MAX, -EOVERFLOW, 0, NULL },
        { "2147483647)", 2147483647u, 0, 2147483647u, ")" },
        { "2147483648", 2147483647u, -EOVERFLOW, 0, NULL },
        { "99999999999999999999", 2147483647u, -EOVERFLOW, 0, NULL },
        { "-1", UINT64_MAX, -EINVAL, 0, NULL },
        { "+1", UINT64_MAX, -EINVAL, 0, NULL },
        { "  ", UINT64_MAX, -EINVAL, 0, NULL },
        { "", UINT64_MAX, -EINVAL, 0, NULL },
    };

    (void)state;
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        char *buf;
        uint64_t v = 0;
        struct pylit c = over(cases[i].in, &buf);
        int r = pylit_uint(&c, cases[i].max, &v);

        if (r != cases[i].want || (r == 0 && v != cases[i].v))
            fail_msg("pylit_uint(%s) = %d/%llu, want %d/%llu", cases[i].in, r,
                     (unsigned long long)v, cases[i].want, (unsigned long long)cases[i].v);
        if (r == 0)
            assert_rest(&c, cases[i].rest);
        free(buf);
    }
}

/* The items of s (after its opening bracket) read as single digits by pylit_seq_next:
 * how many, whether the last had a comma, and the final result (0 or -EINVAL). */
static int seq_read(const char *s, char close, unsigned *ret_n, bool *ret_comma)
{
    char *buf;
    struct pylit c = over(s, &buf);
    unsigned n = 0;
    int more;

    while ((more = pylit_seq_next(&c, close, n, ret_comma)) > 0) {
        uint64_t v;

        if (pylit_uint(&c, 9, &v) < 0) {
            more = -EBADMSG;
            break;
        }
        n++;
    }
    free(buf);
    *ret_n = n;
    return more;
}

static void test_pylit_seq_next_python_sequences(void **state)
{
    static const struct {
        const char *in;
        int want;
        unsigned n;
        bool comma;
    } cases[] = {
        { ")", 0, 0, false },         { " )", 0, 0, false },
        { "1)", 0, 1, false },        { "1,)", 0, 1, true },
        { "1 , 2 )", 0, 2, false },   { "1, 2, )", 0, 2, true },
        { "1 2)", -EINVAL, 1, false }, { "1, 2", -EINVAL, 2, false },
        { "1,", -EBADMSG, 1, true },  { ",)", -EBADMSG, 0, false },
        { "1,,)", -EBADMSG, 1, true }, { "", -EBADMSG, 0, false },
    };

    (void)state;
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        unsigned n;
        bool comma = false;
        int r = seq_read(cases[i].in, ')', &n, &comma);

        if (r != cases[i].want || n != cases[i].n || (r == 0 && comma != cases[i].comma))
            fail_msg("(%s: %d, %u items, comma %d; want %d, %u, %d", cases[i].in, r, n,
                     comma, cases[i].want, cases[i].n, cases[i].comma);
    }
}

static void test_pylit_seq_next_closes_on_its_own_bracket(void **state)
{
    unsigned n;
    bool comma;

    (void)state;
    assert_int_equal(seq_read("1, 2]", ']', &n, &comma), 0);
    assert_int_equal(n, 2);
    assert_int_equal(seq_read("1, 2)", ']', &n, &comma), -EINVAL);
    assert_int_equal(seq_read("1, 2}", '}', &n, NULL), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_pylit_ws_skips_space_tab_newline_return_only),
        cmocka_unit_test(test_pylit_take_skips_whitespace_take_next_does_not),
        cmocka_unit_test(test_pylit_take_word_takes_its_bytes_only),
        cmocka_unit_test(test_pylit_string_either_quote_points_into_input),
        cmocka_unit_test(test_pylit_string_refusals_say_which),
        cmocka_unit_test(test_pylit_string_refuses_nul_unless_printable_refuses_it_too),
        cmocka_unit_test(test_pylit_uint_reads_decimal_up_to_max),
        cmocka_unit_test(test_pylit_seq_next_python_sequences),
        cmocka_unit_test(test_pylit_seq_next_closes_on_its_own_bracket),
    };
    return testskip_exit(cmocka_run_group_tests(tests, NULL, NULL));
}
