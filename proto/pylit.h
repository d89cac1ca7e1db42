/* pylit.h — a cursor over Python literal text, the kind numpy writes: the dict of a
 * .npy header (npy.c) and a record dtype's list description (dtype.c). It reads the
 * tokens both are made of (whitespace, single characters, words, quoted strings
 * without escapes, non-negative decimal integers, comma-separated sequences); each
 * caller keeps its own grammar and error messages. Never allocates, never reads past
 * end (the text need not be NUL-terminated).
 */
#ifndef PROTO_PYLIT_H
#define PROTO_PYLIT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* The text still to read: [p, end). */
struct pylit {
    const char *p;
    const char *end;
};

/* Which bytes a quoted string may hold. */
enum pylit_chars {
    PYLIT_ANY,        /* every byte but a backslash and NUL (so no escapes) */
    PYLIT_PRINTABLE,  /* printable ASCII without quotes of either kind or a backslash */
};

/* A cursor over the len bytes at s. */
void pylit_init(struct pylit *c, const char *s, size_t len);

/* Skip spaces, tabs, newlines and carriage returns. */
void pylit_ws(struct pylit *c);

/* Skip whitespace; then whether nothing is left. */
bool pylit_done(struct pylit *c);

/* Skip whitespace; then whether ch comes next (it is not taken). */
bool pylit_peek(struct pylit *c, char ch);

/* Skip whitespace, then take ch if it comes next. Whether it was taken. */
bool pylit_take(struct pylit *c, char ch);

/* Take ch if it is the very next byte (no whitespace before it). Whether it was taken. */
bool pylit_take_next(struct pylit *c, char ch);

/* Skip whitespace, then take the bytes of word if they come next (a longer word that
 * starts with them is not told apart). Whether they were taken. */
bool pylit_take_word(struct pylit *c, const char *word);

/* Skip whitespace, then take a string quoted with ' or " whose bytes are all of chars:
 * 0 with *ret_s and *ret_n its text between the quotes (pointing into the input);
 * -ENOENT when no quote opens one, -EILSEQ at a byte chars refuses, -EINVAL when it is
 * not closed before the end. */
int pylit_string(struct pylit *c, enum pylit_chars chars, const char **ret_s,
                 size_t *ret_n);

/* Skip whitespace, then take a decimal integer (leading zeros allowed, no sign) into
 * *ret: 0; -EINVAL when no digit comes; -EOVERFLOW when it exceeds max (the cursor is
 * then left inside it). */
int pylit_uint(struct pylit *c, uint64_t max, uint64_t *ret);

/* The items of a sequence Python writes, separated by commas, a comma after the last
 * allowed, closed by close. Call after its opening bracket, with n the items read so
 * far: 1 when another item follows (the separator before it taken); 0 when the
 * sequence closed (close taken); -EINVAL when after an item neither a comma nor close
 * comes. ret_comma (or NULL) tells whether the last item had a comma after it, which a
 * one-item tuple needs. */
int pylit_seq_next(struct pylit *c, char close, unsigned n, bool *ret_comma);

#endif
