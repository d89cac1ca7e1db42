/* dtype.c — numpy element types: parse what a user writes, produce one canonical
 * array-interface typestr and its item size.
 *
 * Canonical means: explicit byte order ('<' or '>'), '|' wherever order cannot
 * matter (one-byte types, S and V), and the item size in bytes (element count for
 * S/U/V, as numpy writes it). Only fixed-size, non-object types exist here.
 */
#include "dtype.h"

#include <errno.h>
#include <stdbool.h>
#include <string.h>

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

int dtype_parse(const char *in, struct dtype *out)
{
    struct dtype parsed;
    const char *typestr;

    if (in == NULL || out == NULL)
        return -EINVAL;
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
    if (dtype_parse_typestr(typestr, &parsed) < 0)
        return -EINVAL;
    *out = parsed;
    return 0;
}
