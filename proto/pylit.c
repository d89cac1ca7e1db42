/* pylit.c — the tokens of Python literal text (pylit.h): whitespace, characters,
 * words, quoted strings, decimal integers and comma-separated sequences.
 */
#include "pylit.h"

#include <errno.h>
#include <string.h>

void pylit_init(struct pylit *c, const char *s, size_t len)
{
    c->p = s;
    c->end = s + len;
}

void pylit_ws(struct pylit *c)
{
    while (c->p < c->end && (*c->p == ' ' || *c->p == '\t' || *c->p == '\n' || *c->p == '\r'))
        c->p++;
}

bool pylit_done(struct pylit *c)
{
    pylit_ws(c);
    return c->p >= c->end;
}

bool pylit_peek(struct pylit *c, char ch)
{
    pylit_ws(c);
    return c->p < c->end && *c->p == ch;
}

bool pylit_take(struct pylit *c, char ch)
{
    pylit_ws(c);
    return pylit_take_next(c, ch);
}

bool pylit_take_next(struct pylit *c, char ch)
{
    if (c->p < c->end && *c->p == ch) {
        c->p++;
        return true;
    }
    return false;
}

bool pylit_take_word(struct pylit *c, const char *word)
{
    size_t n = strlen(word);

    pylit_ws(c);
    if ((size_t)(c->end - c->p) >= n && memcmp(c->p, word, n) == 0) {
        c->p += n;
        return true;
    }
    return false;
}

static bool pylit_char_ok(enum pylit_chars chars, unsigned char ch)
{
    if (chars == PYLIT_PRINTABLE)
        return ch >= 0x20 && ch <= 0x7e && ch != '\'' && ch != '"' && ch != '\\';
    return ch != '\\' && ch != '\0';
}

int pylit_string(struct pylit *c, enum pylit_chars chars, const char **ret_s,
                 size_t *ret_n)
{
    const char *s;
    char quote;

    pylit_ws(c);
    if (c->p >= c->end || (*c->p != '\'' && *c->p != '"'))
        return -ENOENT;
    quote = *c->p++;
    s = c->p;
    while (c->p < c->end && *c->p != quote) {
        if (!pylit_char_ok(chars, (unsigned char)*c->p))
            return -EILSEQ;
        c->p++;
    }
    if (c->p >= c->end)
        return -EINVAL;
    *ret_s = s;
    *ret_n = (size_t)(c->p - s);
    c->p++;
    return 0;
}

int pylit_uint(struct pylit *c, uint64_t max, uint64_t *ret)
{
    uint64_t v = 0;
    bool any = false;

    pylit_ws(c);
    while (c->p < c->end && *c->p >= '0' && *c->p <= '9') {
        uint64_t d = (uint64_t)(*c->p - '0');

        if (d > max || v > (max - d) / 10)
            return -EOVERFLOW;
        v = v * 10 + d;
        c->p++;
        any = true;
    }
    if (!any)
        return -EINVAL;
    *ret = v;
    return 0;
}

int pylit_seq_next(struct pylit *c, char close, unsigned n, bool *ret_comma)
{
    bool comma = n > 0 && pylit_take(c, ',');

    if (ret_comma != NULL)
        *ret_comma = comma;
    if (n > 0 && !comma)
        return pylit_take(c, close) ? 0 : -EINVAL;
    return pylit_take(c, close) ? 0 : 1;
}
