/* ingest.h -- strict checks of client JSON text before PostgreSQL stores it as jsonb. */
#ifndef INGEST_H
#define INGEST_H

#include <stddef.h>

/* Deepest array/object nesting ingest_json_check accepts (cJSON's own limit is 1000). */
#define INGEST_JSON_MAX_DEPTH 512

/* Checks that text[0..len) is exactly one JSON value (RFC 8259; whitespace around it allowed)
 * which PostgreSQL's jsonb input accepts as is, so that text validated here never turns into
 * a database error: valid UTF-8, no control characters in strings, no \u0000 escape (jsonb
 * cannot store it), surrogate escapes only as pairs, numbers at most 400 characters long
 * with an exponent within +-1000, nesting at most INGEST_JSON_MAX_DEPTH. The text need not
 * be NUL-terminated and may not contain NUL. Returns 0, or -1 with *offset set to the byte
 * where the problem is and *why to a static reason ("unterminated string", ...). */
int ingest_json_check(const char *text, size_t len, size_t *offset, const char **why)
    __attribute__((warn_unused_result));

/* Number of characters in a valid UTF-8 string: what varchar(n) limits. */
size_t ingest_utf8_chars(const char *text);

#endif
