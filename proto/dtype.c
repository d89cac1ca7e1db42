/* dtype.c — numpy element types: parse what a user writes, produce one canonical
 * array-interface typestr and its item size.
 *
 * Canonical means: explicit byte order ('<' or '>'), '|' wherever order cannot
 * matter (one-byte types, S and V), and the item size in bytes (element count for
 * S/U/V, as numpy writes it). Only fixed-size, non-object types exist here. A record
 * is checked and rewritten in the form numpy prints its list description in, by a
 * parser whose recursion stops at the depth limit and which allocates nothing (its
 * tokens are read by pylit.h).
 */
#include "dtype.h"

#include <errno.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pylit.h"

#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_BIG_ENDIAN__
#define DTYPE_HOST_ORDER '>'
#else
#define DTYPE_HOST_ORDER '<'
#endif

/* numpy caps an item size at INT_MAX; so does sharr. */
#define DTYPE_ITEMSIZE_MAX 2147483647ull

struct dtype_alias {
    const char *name;
    const char *typestr; /* without byte order: host order is implied */
};

static const struct dtype_alias dtype_aliases[] = {
    { "bool", "b1" },       { "bool_", "b1" },
    { "int8", "i1" },       { "int16", "i2" },      { "int32", "i4" },  { "int64", "i8" },
    { "uint8", "u1" },      { "uint16", "u2" },     { "uint32", "u4" }, { "uint64", "u8" },
    { "float16", "f2" },    { "float32", "f4" },    { "float64", "f8" },
    { "complex64", "c8" },  { "complex128", "c16" },
    { "byte", "i1" },       { "ubyte", "u1" },      { "short", "i2" },  { "ushort", "u2" },
    { "intc", "i4" },       { "uintc", "u4" },      { "longlong", "i8" },
    { "ulonglong", "u8" },  { "int", "i8" },        { "uint", "u8" },
    { "half", "f2" },       { "single", "f4" },     { "double", "f8" }, { "float", "f8" },
    { "csingle", "c8" },    { "cdouble", "c16" },   { "complex", "c16" },
};

#define DTYPE_NALIASES (sizeof(dtype_aliases) / sizeof(dtype_aliases[0]))

/* datetime64/timedelta64 units numpy knows. */
static const char *const dtype_time_units[] = {
    "Y", "M", "W", "D", "h", "m", "s", "ms", "us", "ns", "ps", "fs", "as",
};

static bool dtype_is_order(char c)
{
    return c == '<' || c == '>' || c == '|' || c == '=';
}

static bool dtype_digit(char c)
{
    return c >= '0' && c <= '9';
}

/* A positive decimal without sign or leading zero, at most DTYPE_ITEMSIZE_MAX.
 * Advances *p past it. */
static int dtype_parse_count(const char **p, uint64_t *ret)
{
    const char *s = *p;
    uint64_t v = 0;

    if (!dtype_digit(*s) || *s == '0')
        return -EINVAL;
    while (dtype_digit(*s)) {
        v = v * 10 + (uint64_t)(*s - '0');
        if (v > DTYPE_ITEMSIZE_MAX)
            return -EINVAL;
        s++;
    }
    *p = s;
    *ret = v;
    return 0;
}

/* "[unit]" after m8/M8, or nothing (generic unit). Copies the bracketed text. */
static int dtype_parse_unit(const char **p, char *unit, size_t unitlen)
{
    const char *s = *p;
    const char *close;
    size_t n;

    unit[0] = '\0';
    if (*s != '[')
        return 0;
    close = strchr(s, ']');
    if (close == NULL)
        return -EINVAL;
    n = (size_t)(close - s - 1);
    for (size_t i = 0; i < sizeof(dtype_time_units) / sizeof(dtype_time_units[0]); i++) {
        if (strlen(dtype_time_units[i]) == n && memcmp(dtype_time_units[i], s + 1, n) == 0) {
            if (n + 3 > unitlen)
                return -EINVAL;
            memcpy(unit, s, n + 2);
            unit[n + 2] = '\0';
            *p = close + 1;
            return 0;
        }
    }
    return -EINVAL;
}

/* Item size from kind and the number after it; -EINVAL for sizes numpy lacks. */
static int dtype_itemsize(char kind, uint64_t n, uint64_t *ret)
{
    switch (kind) {
    case 'b':
        if (n != 1)
            return -EINVAL;
        break;
    case 'i':
    case 'u':
        if (n != 1 && n != 2 && n != 4 && n != 8)
            return -EINVAL;
        break;
    case 'f':
        if (n != 2 && n != 4 && n != 8 && n != 16)
            return -EINVAL;
        break;
    case 'c':
        if (n != 8 && n != 16 && n != 32)
            return -EINVAL;
        break;
    case 'm':
    case 'M':
        if (n != 8)
            return -EINVAL;
        break;
    case 'S':
    case 'V':
        break;
    case 'U':
        if (n > DTYPE_ITEMSIZE_MAX / 4)
            return -EINVAL;
        *ret = n * 4;
        return 0;
    default:
        return -EINVAL;
    }
    *ret = n;
    return 0;
}

/* "<order><kind><n><unit>" into str: at most 1 + 1 + 10 + 7 bytes and the NUL, as n is
 * at most DTYPE_ITEMSIZE_MAX and dtype_parse_unit keeps a unit to 7 bytes. By hand,
 * not snprintf: the client parses the dtype of every array in a list reply. */
static void dtype_format(char str[PROTO_DTYPE_MAX + 1], char order, char kind, uint64_t n,
                         const char *unit)
{
    char digits[20];
    size_t nd = 0, len = 0;

    do {
        digits[nd++] = (char)('0' + n % 10);
        n /= 10;
    } while (n > 0);
    str[len++] = order;
    str[len++] = kind;
    while (nd > 0)
        str[len++] = digits[--nd];
    for (; *unit != '\0'; unit++)
        str[len++] = *unit;
    str[len] = '\0';
}

static int dtype_parse_typestr(const char *in, struct dtype *out)
{
    const char *p = in;
    char order = '=';
    char kind;
    char unit[8];
    uint64_t n, itemsize;

    if (dtype_is_order(*p))
        order = *p++;
    kind = *p++;
    if (kind == '\0' || strchr("biufcSUVmM", kind) == NULL)
        return -EINVAL;
    if (dtype_parse_count(&p, &n) < 0)
        return -EINVAL;
    if (dtype_itemsize(kind, n, &itemsize) < 0)
        return -EINVAL;
    unit[0] = '\0';
    if ((kind == 'm' || kind == 'M') && dtype_parse_unit(&p, unit, sizeof(unit)) < 0)
        return -EINVAL;
    if (*p != '\0')
        return -EINVAL;

    if (itemsize == 1 || kind == 'S' || kind == 'V')
        order = '|';
    else if (order == '=' || order == '|')
        order = DTYPE_HOST_ORDER;
    dtype_format(out->str, order, kind, n, unit);
    out->itemsize = itemsize;
    return 0;
}

/* A record's description being parsed: the input, the canonical text written so
 * far, and the names of the fields of the lists open now (offsets into out), to find a
 * name repeated within its record. */
struct dtype_rec {
    struct pylit in;
    char out[PROTO_DESCR_MAX + 1];
    size_t n;
    unsigned nfields;
    struct {
        uint32_t off, len;
    } names[PROTO_DESCR_FIELDS_MAX];
    unsigned nnames;
    char *err;
    size_t errlen;
};

static int dtype_rec_fail(struct dtype_rec *r, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static int dtype_rec_fail(struct dtype_rec *r, const char *fmt, ...)
{
    va_list ap;

    if (r->err != NULL && r->errlen > 0) {
        va_start(ap, fmt);
        vsnprintf(r->err, r->errlen, fmt, ap);
        va_end(ap);
    }
    return -EINVAL;
}

/* Append n bytes of canonical text. */
static int dtype_rec_emit(struct dtype_rec *r, const char *s, size_t n)
{
    if (n > PROTO_DESCR_MAX - r->n)
        return dtype_rec_fail(r, "descr: longer than %d bytes", PROTO_DESCR_MAX);
    memcpy(r->out + r->n, s, n);
    r->n += n;
    return 0;
}

/* A quoted string of printable ASCII without quotes or backslashes: *ret_s and *ret_n
 * point into the input. */
static int dtype_rec_string(struct dtype_rec *r, const char *what, const char **ret_s,
                            size_t *ret_n)
{
    int e = pylit_string(&r->in, PYLIT_PRINTABLE, ret_s, ret_n);

    if (e == -ENOENT)
        return dtype_rec_fail(r, "descr: %s must be a quoted string", what);
    if (e == -EILSEQ)
        return dtype_rec_fail(r, "descr: %s may hold only printable ASCII without "
                              "quotes or backslashes", what);
    if (e < 0)
        return dtype_rec_fail(r, "descr: %s is not terminated", what);
    return 0;
}

/* The subarray shape after a field's type: "(d, ...)" or one integer, each 1..2^31-1,
 * multiplying *size (the item size of the field's type). Written as Python writes a
 * tuple. */
static int dtype_rec_shape(struct dtype_rec *r, uint64_t *size)
{
    bool tuple = pylit_take(&r->in, '(');
    unsigned ndim = 0;
    char digits[24];
    int more;

    if (dtype_rec_emit(r, "(", 1) < 0)
        return -EINVAL;
    for (;;) {
        uint64_t d;

        if (tuple) {
            more = pylit_seq_next(&r->in, ')', ndim, NULL);
            if (more < 0)
                return dtype_rec_fail(r, "descr: a subarray shape is not a tuple");
            if (more == 0)
                break;
        } else if (ndim == 1) {
            break;
        }
        if (ndim == PROTO_NDIM_MAX)
            return dtype_rec_fail(r, "descr: a subarray has more than %d dimensions",
                                  PROTO_NDIM_MAX);
        if (pylit_peek(&r->in, '0'))
            return dtype_rec_fail(r, "descr: a subarray dimension is 0 (zero-size fields "
                                  "are refused)");
        if (pylit_uint(&r->in, DTYPE_ITEMSIZE_MAX, &d) < 0)
            return dtype_rec_fail(r, "descr: a subarray shape must be a tuple of "
                                  "integers in 1..2147483647");
        if (__builtin_mul_overflow(*size, d, size) || *size > DTYPE_ITEMSIZE_MAX)
            return dtype_rec_fail(r, "descr: a field is larger than 2147483647 bytes");
        ndim++;
        if (dtype_rec_emit(r, ", ", ndim > 1 ? 2 : 0) < 0 ||
            dtype_rec_emit(r, digits, (size_t)snprintf(digits, sizeof(digits), "%llu",
                                                       (unsigned long long)d)) < 0)
            return -EINVAL;
    }
    /* "()": no dimension where a tuple of them must be. */
    if (ndim == 0)
        return dtype_rec_fail(r, "descr: a subarray shape must be a tuple of "
                              "integers in 1..2147483647");
    return dtype_rec_emit(r, ndim == 1 ? ",)" : ")", ndim == 1 ? 2 : 1);
}

static int dtype_rec_list(struct dtype_rec *r, unsigned depth, uint64_t *ret_size);

/* One field, "(name, type)" or "(name, type, shape)", adding its bytes to *size. */
static int dtype_rec_field(struct dtype_rec *r, unsigned depth, unsigned first_name,
                           uint64_t *size)
{
    const char *name, *type;
    size_t nlen, tlen;
    uint64_t fsize;
    bool padding = false;
    int e;

    if (!pylit_take(&r->in, '('))
        return dtype_rec_fail(r, "descr: a field must be a tuple (name, type[, shape])");
    if (pylit_peek(&r->in, '('))
        return dtype_rec_fail(r, "descr: field titles are not supported");
    if ((e = dtype_rec_string(r, "a field name", &name, &nlen)) < 0)
        return e;
    if (++r->nfields > PROTO_DESCR_FIELDS_MAX)
        return dtype_rec_fail(r, "descr: more than %d fields", PROTO_DESCR_FIELDS_MAX);
    for (unsigned i = first_name; nlen > 0 && i < r->nnames; i++)
        if (r->names[i].len == nlen && memcmp(r->out + r->names[i].off, name, nlen) == 0)
            return dtype_rec_fail(r, "descr: field '%.*s' occurs more than once", (int)nlen,
                                  name);
    if (dtype_rec_emit(r, "('", 2) < 0)
        return -EINVAL;
    r->names[r->nnames].off = (uint32_t)r->n;
    r->names[r->nnames].len = (uint32_t)nlen;
    r->nnames++;
    if (dtype_rec_emit(r, name, nlen) < 0 || dtype_rec_emit(r, "', ", 3) < 0)
        return -EINVAL;
    if (!pylit_take(&r->in, ','))
        return dtype_rec_fail(r, "descr: field '%.*s' has no type", (int)nlen, name);
    if (pylit_peek(&r->in, '[')) {
        if (depth == PROTO_DESCR_DEPTH_MAX)
            return dtype_rec_fail(r, "descr: records nested more than %d deep",
                                  PROTO_DESCR_DEPTH_MAX);
        if ((e = dtype_rec_list(r, depth + 1, &fsize)) < 0)
            return e;
    } else {
        char text[PROTO_DTYPE_MAX + 1];
        struct dtype dt;

        if ((e = dtype_rec_string(r, "a field type", &type, &tlen)) < 0)
            return e;
        if (tlen > PROTO_DTYPE_MAX)
            return dtype_rec_fail(r, "descr: field '%.*s' has a type longer than %d bytes",
                                  (int)nlen, name, PROTO_DTYPE_MAX);
        memcpy(text, type, tlen);
        text[tlen] = '\0';
        if (dtype_parse(text, &dt) < 0)
            return dtype_rec_fail(r, "descr: field '%.*s' has type '%s', not one sharr "
                                  "holds (objects are refused)", (int)nlen, name, text);
        padding = dt.str[1] == 'V';
        fsize = dt.itemsize;
        if (dtype_rec_emit(r, "'", 1) < 0 || dtype_rec_emit(r, dt.str, strlen(dt.str)) < 0 ||
            dtype_rec_emit(r, "'", 1) < 0)
            return -EINVAL;
    }
    if (pylit_take(&r->in, ',')) {
        if (!pylit_done(&r->in) && !pylit_peek(&r->in, ')')) {
            if (dtype_rec_emit(r, ", ", 2) < 0 || (e = dtype_rec_shape(r, &fsize)) < 0)
                return -EINVAL;
            padding = false;
            (void)pylit_take(&r->in, ',');
        }
    }
    if (!pylit_take(&r->in, ')'))
        return dtype_rec_fail(r, "descr: field '%.*s' is not closed", (int)nlen, name);
    if (nlen == 0 && !padding)
        return dtype_rec_fail(r, "descr: only padding ('|V<n>') may have an empty name");
    if (__builtin_add_overflow(*size, fsize, size) || *size > DTYPE_ITEMSIZE_MAX)
        return dtype_rec_fail(r, "descr: the record is larger than 2147483647 bytes");
    return dtype_rec_emit(r, ")", 1);
}

/* One list of fields at nesting depth (1 for the outermost), its item size in
 * *ret_size. The names its fields add are forgotten when it closes. */
static int dtype_rec_list(struct dtype_rec *r, unsigned depth, uint64_t *ret_size)
{
    unsigned first_name = r->nnames;
    uint64_t size = 0;
    unsigned n = 0;
    int e;

    if (!pylit_take(&r->in, '['))
        return dtype_rec_fail(r, "descr: a record must be a list of fields");
    if (dtype_rec_emit(r, "[", 1) < 0)
        return -EINVAL;
    while ((e = pylit_seq_next(&r->in, ']', n, NULL)) > 0) {
        if (pylit_done(&r->in))
            return dtype_rec_fail(r, "descr: a list of fields is not terminated");
        if (n > 0 && dtype_rec_emit(r, ", ", 2) < 0)
            return -EINVAL;
        if ((e = dtype_rec_field(r, depth, first_name, &size)) < 0)
            return e;
        n++;
    }
    if (e < 0)
        return dtype_rec_fail(r, "descr: fields must be separated by commas and "
                              "the list closed by ']'");
    if (n == 0)
        return dtype_rec_fail(r, "descr: a record needs a field (zero-size records are "
                              "refused)");
    r->nnames = first_name;
    *ret_size = size;
    return dtype_rec_emit(r, "]", 1);
}

int dtype_parse_descr(const char *in, size_t len, struct dtype *out, struct dtype_text *text,
                      size_t *ret_used, char *err, size_t errlen)
{
    struct dtype_rec r;
    uint64_t itemsize;
    size_t used;
    int e;

    if (err != NULL && errlen > 0)
        err[0] = '\0';
    if (in == NULL || out == NULL)
        return -EINVAL;
    pylit_init(&r.in, in, len);
    r.n = 0;
    r.nfields = 0;
    r.nnames = 0;
    r.err = err;
    r.errlen = errlen;
    if ((e = dtype_rec_list(&r, 1, &itemsize)) < 0)
        return e;
    used = (size_t)(r.in.p - in);
    if (ret_used == NULL && !pylit_done(&r.in))
        return dtype_rec_fail(&r, "descr: text follows the list of fields");
    if (text == NULL && (used != r.n || memcmp(in, r.out, r.n) != 0))
        return dtype_rec_fail(&r, "descr: not written as numpy prints it (%.*s)",
                              (int)(r.n < 96 ? r.n : 96), r.out);
    r.out[r.n] = '\0';
    dtype_format(out->str, '|', 'V', itemsize, "");
    out->itemsize = itemsize;
    if (text != NULL) {
        memcpy(text->s, r.out, r.n + 1);
        out->descr = text->s;
    } else {
        out->descr = in;
    }
    out->descr_len = (uint32_t)r.n;
    if (ret_used != NULL)
        *ret_used = used;
    return 0;
}

int dtype_own(struct dtype *dt)
{
    char *copy;

    if (dt->descr == NULL)
        return 0;
    copy = malloc((size_t)dt->descr_len + 1);
    if (copy == NULL)
        return -ENOMEM;
    memcpy(copy, dt->descr, dt->descr_len);
    copy[dt->descr_len] = '\0';
    dt->descr = copy;
    return 0;
}

void dtype_keep(struct dtype *dt, struct dtype_text *text)
{
    if (dt->descr == NULL || dt->descr == text->s)
        return;
    memcpy(text->s, dt->descr, dt->descr_len);
    text->s[dt->descr_len] = '\0';
    dt->descr = text->s;
}

void dtype_own_free(struct dtype *dt)
{
    free((char *)dt->descr);
    dt->descr = NULL;
    dt->descr_len = 0;
}

int dtype_parse(const char *in, struct dtype *out)
{
    struct dtype parsed;
    const char *typestr;

    if (in == NULL || out == NULL)
        return -EINVAL;
    if (in[0] == '[')
        return dtype_parse_descr(in, strlen(in), out, NULL, NULL, NULL, 0);
    if (strnlen(in, PROTO_DTYPE_MAX + 1) > PROTO_DTYPE_MAX)
        return -EINVAL;
    typestr = in;
    /* No numpy name starts with a byte order, and the canonical typestrs every reply
     * carries always do: those skip the names. */
    for (size_t i = 0; !dtype_is_order(in[0]) && i < DTYPE_NALIASES; i++) {
        if (strcmp(in, dtype_aliases[i].name) == 0) {
            typestr = dtype_aliases[i].typestr;
            break;
        }
    }
    /* Only the typestr and size: a full copy would move the unused description too. */
    if (dtype_parse_typestr(typestr, &parsed) < 0)
        return -EINVAL;
    memcpy(out->str, parsed.str, sizeof(out->str));
    out->itemsize = parsed.itemsize;
    out->descr = NULL;
    out->descr_len = 0;
    return 0;
}
