/* npy.c — the .npy header in front of every array's data.
 *
 * Formatting writes a v1.0 header space-padded to exactly NPY_HEADER_LEN bytes, so
 * the data is page aligned. Parsing reads any v1.0-3.0 header, whether numpy or sharr
 * wrote it, with a small bounded parser for the Python dict literal (no eval; its
 * tokens are read by pylit.h): only the keys 'descr', 'fortran_order' and 'shape'
 * with literal values are accepted.
 * A record dtype's 'descr' is its list form, written and read as numpy does.
 */
#include "npy.h"

#include <errno.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "pylit.h"
#include "shape.h"

/* numpy's own default limit on the header text (max_header_size). */
#define NPY_PARSE_TEXT_MAX 10000

/* The longest header text formatting writes: the dict's keys and punctuation, the
 * longest description, and 64 dimensions whose product is at most 2^62 (at most 83
 * digits in all, and their separators). It always fits the 4096 bytes. */
#define NPY_FORMAT_TEXT_MAX (64 + PROTO_DESCR_MAX + 83 + 2 * PROTO_NDIM_MAX)
_Static_assert(NPY_FORMAT_TEXT_MAX < NPY_HEADER_LEN - 10,
               "a record's description must fit the .npy header with any shape");

static const uint8_t npy_magic[6] = { 0x93, 'N', 'U', 'M', 'P', 'Y' };

static void npy_errf(char *err, size_t errlen, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void npy_errf(char *err, size_t errlen, const char *fmt, ...)
{
    va_list ap;

    if (err == NULL || errlen == 0)
        return;
    va_start(ap, fmt);
    vsnprintf(err, errlen, fmt, ap);
    va_end(ap);
}

/* s's n bytes at p; returns the end. */
static char *npy_put(char *p, const char *s, size_t n)
{
    memcpy(p, s, n);
    return p + n;
}

/* v in decimal at p, as "%llu" writes it; returns the end. */
static char *npy_put_u64(char *p, uint64_t v)
{
    char digits[20];
    size_t i = sizeof(digits);

    do {
        digits[--i] = (char)('0' + v % 10);
        v /= 10;
    } while (v != 0);
    return npy_put(p, digits + i, sizeof(digits) - i);
}

#define NPY_PUT_LIT(p, lit) npy_put((p), (lit), sizeof(lit) - 1)

/* The dict is written straight into out by hand, not with snprintf: this runs on
 * every create. Every check comes before the first write, and NPY_FORMAT_TEXT_MAX
 * bounds what the writes can reach, so out is untouched on failure. */
int npy_header_format(const struct meta *m, uint8_t out[NPY_HEADER_LEN])
{
    const size_t text_len = NPY_HEADER_LEN - 10;
    char *text, *p;
    struct dtype dt;
    uint64_t nbytes;

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

    text = (char *)out + 10;
    p = NPY_PUT_LIT(text, "{'descr': ");
    /* A record's description is a list, unquoted; any other dtype a quoted typestr. */
    if (dt.descr != NULL) {
        p = npy_put(p, dt.descr, dt.descr_len);
    } else {
        *p++ = '\'';
        p = npy_put(p, dt.str, strlen(dt.str));
        *p++ = '\'';
    }
    p = m->order == 'F' ? NPY_PUT_LIT(p, ", 'fortran_order': True, 'shape': (")
                        : NPY_PUT_LIT(p, ", 'fortran_order': False, 'shape': (");
    for (uint32_t i = 0; i < m->ndim; i++) {
        if (i > 0)
            p = NPY_PUT_LIT(p, ", ");
        p = npy_put_u64(p, m->shape[i]);
    }
    if (m->ndim == 1)
        *p++ = ',';
    p = NPY_PUT_LIT(p, "), }");
    memset(p, ' ', (size_t)(text + text_len - 1 - p));
    text[text_len - 1] = '\n';

    memcpy(out, npy_magic, sizeof(npy_magic));
    out[6] = 1;
    out[7] = 0;
    out[8] = (uint8_t)(text_len & 0xff);
    out[9] = (uint8_t)(text_len >> 8);
    return 0;
}

/* A quoted Python string without escapes, copied into out (outlen with the NUL). */
static int npy_string(struct pylit *c, char *out, size_t outlen)
{
    const char *s;
    size_t n;

    if (pylit_string(c, PYLIT_ANY, &s, &n) < 0 || n >= outlen)
        return -EINVAL;
    memcpy(out, s, n);
    out[n] = '\0';
    return 0;
}

/* A non-negative decimal integer, with the 'L' suffix old Python 2 numpy wrote. */
static int npy_uint(struct pylit *c, uint64_t *ret)
{
    int r = pylit_uint(c, UINT64_MAX, ret);

    if (r == 0)
        (void)pylit_take_next(c, 'L');
    return r;
}

/* "(a, b, ...)" as Python writes a tuple: one element needs its trailing comma. */
static int npy_shape(struct pylit *c, uint32_t *ret_ndim, uint64_t *shape,
                     char *err, size_t errlen)
{
    uint32_t ndim = 0;
    bool comma = false;
    int more;

    if (!pylit_take(c, '('))
        goto bad;
    while ((more = pylit_seq_next(c, ')', ndim, &comma)) > 0) {
        if (ndim == PROTO_NDIM_MAX) {
            npy_errf(err, errlen, "npy: more than %d dimensions", PROTO_NDIM_MAX);
            return -EINVAL;
        }
        if (npy_uint(c, &shape[ndim]) < 0)
            goto bad;
        ndim++;
    }
    if (more < 0 || (ndim == 1 && !comma))
        goto bad;
    *ret_ndim = ndim;
    return 0;

bad:
    npy_errf(err, errlen, "npy: 'shape' is not a tuple of non-negative integers");
    return -EINVAL;
}

/* The dict literal in [c->p, c->end). */
static int npy_dict(struct pylit *c, struct meta *out, struct dtype_text *text,
                    char *err, size_t errlen)
{
    bool have_descr = false, have_order = false, have_shape = false;
    char key[16];
    char descr[PROTO_DTYPE_MAX + 1];
    char why[160];
    size_t used;
    unsigned n = 0;
    int r;

    if (!pylit_take(c, '{'))
        goto bad;
    while ((r = pylit_seq_next(c, '}', n++, NULL)) > 0) {
        if (npy_string(c, key, sizeof(key)) < 0 || !pylit_take(c, ':'))
            goto bad;
        if (strcmp(key, "descr") == 0 && !have_descr) {
            if (pylit_peek(c, '[')) {
                if (dtype_parse_descr(c->p, (size_t)(c->end - c->p), &out->dtype, text, &used,
                                      why, sizeof(why)) < 0) {
                    npy_errf(err, errlen, "npy: 'descr' is a record sharr cannot hold: %s",
                             why);
                    return -EINVAL;
                }
                c->p += used;
            } else if (npy_string(c, descr, sizeof(descr)) < 0 ||
                       dtype_parse(descr, &out->dtype) < 0) {
                npy_errf(err, errlen, "npy: 'descr' is not a dtype sharr supports");
                return -EINVAL;
            }
            have_descr = true;
        } else if (strcmp(key, "fortran_order") == 0 && !have_order) {
            if (pylit_take_word(c, "True"))
                out->order = 'F';
            else if (pylit_take_word(c, "False"))
                out->order = 'C';
            else
                goto bad;
            have_order = true;
        } else if (strcmp(key, "shape") == 0 && !have_shape) {
            r = npy_shape(c, &out->ndim, out->shape, err, errlen);
            if (r < 0)
                return r;
            have_shape = true;
        } else {
            npy_errf(err, errlen, "npy: unexpected or repeated key '%s'", key);
            return -EINVAL;
        }
    }
    if (r < 0 || !pylit_done(c))
        goto bad;
    if (!have_descr || !have_order || !have_shape) {
        npy_errf(err, errlen, "npy: header lacks 'descr', 'fortran_order' or 'shape'");
        return -EINVAL;
    }
    return 0;

bad:
    npy_errf(err, errlen, "npy: header is not a dict literal numpy writes");
    return -EINVAL;
}

int npy_header_parse(const uint8_t *buf, size_t len, struct meta *m, struct dtype_text *text,
                     uint64_t *ret_offset, char *err, size_t errlen)
{
    struct meta parsed;
    struct pylit c;
    size_t preamble, text_len;
    uint64_t nbytes;
    int r;

    if (buf == NULL)
        return len > 0 ? -EINVAL : -EAGAIN;
    if (memcmp(buf, npy_magic, len < sizeof(npy_magic) ? len : sizeof(npy_magic)) != 0) {
        npy_errf(err, errlen, "npy: not a .npy file (bad magic)");
        return -EINVAL;
    }
    if (len < 8)
        return -EAGAIN;
    if (buf[6] < 1 || buf[6] > 3 || buf[7] != 0) {
        npy_errf(err, errlen, "npy: unsupported format version %u.%u", buf[6], buf[7]);
        return -EINVAL;
    }
    preamble = buf[6] == 1 ? 10 : 12;
    if (len < preamble)
        return -EAGAIN;
    text_len = (size_t)buf[8] | (size_t)buf[9] << 8;
    if (preamble == 12)
        text_len |= (size_t)buf[10] << 16 | (size_t)buf[11] << 24;
    if (text_len > NPY_PARSE_TEXT_MAX) {
        npy_errf(err, errlen, "npy: header of %zu bytes exceeds %d", text_len,
                 NPY_PARSE_TEXT_MAX);
        return -EINVAL;
    }
    if (len < preamble + text_len)
        return -EAGAIN;

    memset(&parsed, 0, sizeof(parsed));
    pylit_init(&c, (const char *)buf + preamble, text_len);
    r = npy_dict(&c, &parsed, text, err, errlen);
    if (r < 0)
        return r;
    r = shape_nbytes(parsed.ndim, parsed.shape, parsed.dtype.itemsize, &nbytes);
    if (r < 0) {
        npy_errf(err, errlen, "npy: %s", r == -EOVERFLOW ? "array size overflows"
                                                        : "empty arrays are not supported");
        return -EINVAL;
    }

    m->dtype = parsed.dtype;
    m->order = parsed.order;
    m->ndim = parsed.ndim;
    memcpy(m->shape, parsed.shape, sizeof(m->shape));
    m->nbytes = nbytes;
    *ret_offset = preamble + text_len;
    return 0;
}
