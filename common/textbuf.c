/* textbuf.c -- a growable text buffer filled printf-style. */
#include "textbuf.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Makes room for n more bytes and a terminating NUL. */
static bool reserve(text_buf_t *b, size_t n)
{
    size_t cap;
    char *data;

    if (b->failed)
        return false;
    if (b->cap - b->len > n)
        return true;
    cap = b->cap == 0 ? 4096 : b->cap * 2;
    while (cap - b->len <= n)
        cap *= 2;
    data = realloc(b->data, cap);
    if (data == NULL) {
        b->failed = true;
        return false;
    }
    b->data = data;
    b->cap = cap;
    return true;
}

void text_buf_printf(text_buf_t *b, const char *fmt, ...)
{
    va_list ap;
    int n;

    if (!reserve(b, 0))
        return;
    va_start(ap, fmt);
    n = vsnprintf(b->data + b->len, b->cap - b->len, fmt, ap);
    va_end(ap);
    if (n >= 0 && (size_t)n >= b->cap - b->len && reserve(b, (size_t)n)) {
        va_start(ap, fmt);
        n = vsnprintf(b->data + b->len, b->cap - b->len, fmt, ap);
        va_end(ap);
    }
    if (n < 0)
        b->failed = true;
    else if (!b->failed)
        b->len += (size_t)n;
}

char *text_buf_grow(text_buf_t *b, size_t n)
{
    return reserve(b, n) ? b->data + b->len : NULL;
}

void text_buf_append(text_buf_t *b, const char *s, size_t n)
{
    if (!reserve(b, n))
        return;
    memcpy(b->data + b->len, s, n);
    b->len += n;
    b->data[b->len] = '\0';
}

void text_buf_reset(text_buf_t *b)
{
    b->len = 0;
    b->failed = false;
    if (b->data != NULL)
        b->data[0] = '\0';
}

void text_buf_free(text_buf_t *b)
{
    free(b->data);
    b->data = NULL;
    b->len = b->cap = 0;
    b->failed = false;
}
