/* textbuf.h -- a growable text buffer filled printf-style. */
#ifndef ELOG_TEXTBUF_H
#define ELOG_TEXTBUF_H

#include <stdbool.h>
#include <stddef.h>

/* Zero-initialise before use; data is NUL-terminated once anything was written. A failed
 * allocation sets failed and ignores later writes, so callers check once at the end. */
typedef struct text_buf {
    char *data;
    size_t len, cap;
    bool failed;
} text_buf_t;

void text_buf_printf(text_buf_t *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Makes room for n more bytes and a terminating NUL, and returns where they go; the caller
 * writes up to n bytes there and adds what it wrote to len. NULL once an allocation failed. */
char *text_buf_grow(text_buf_t *b, size_t n);
static inline char *text_buf_reserve(text_buf_t *b, size_t n)
{
    return !b->failed && b->cap - b->len > n ? b->data + b->len : text_buf_grow(b, n);
}

/* Appends n bytes of s. */
void text_buf_append(text_buf_t *b, const char *s, size_t n);

/* Empties the buffer and keeps its memory for reuse. */
void text_buf_reset(text_buf_t *b);

/* Frees the text and zeroes the buffer for reuse. */
void text_buf_free(text_buf_t *b);

#endif
