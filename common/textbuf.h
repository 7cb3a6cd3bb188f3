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

/* Appends n bytes of s. */
void text_buf_append(text_buf_t *b, const char *s, size_t n);

/* Empties the buffer and keeps its memory for reuse. */
void text_buf_reset(text_buf_t *b);

/* Frees the text and zeroes the buffer for reuse. */
void text_buf_free(text_buf_t *b);

#endif
