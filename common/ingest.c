/* ingest.c -- strict checks of client JSON text before PostgreSQL stores it as jsonb. */
#include "ingest.h"

#include <stdbool.h>
#include <stdlib.h>

#include "http.h"

#define NUMBER_MAX_CHARS 400
#define EXPONENT_MAX 1000

typedef struct scan {
    const char *text;
    size_t len;
    size_t pos;
    int depth;
    const char *why;
} scan_t;

static int fail(scan_t *sc, const char *why)
{
    sc->why = why;
    return -1;
}

static bool at_end(const scan_t *sc)
{
    return sc->pos >= sc->len;
}

static char peek(const scan_t *sc)
{
    return at_end(sc) ? '\0' : sc->text[sc->pos];
}

static void skip_space(scan_t *sc)
{
    while (!at_end(sc) && (peek(sc) == ' ' || peek(sc) == '\t' || peek(sc) == '\n' ||
                           peek(sc) == '\r'))
        sc->pos++;
}

static bool is_digit(char c)
{
    return c >= '0' && c <= '9';
}

/* Reads the 4 hex digits after "\u"; -1 when they are not there. */
static long read_hex4(scan_t *sc)
{
    long v = 0;

    if (sc->len - sc->pos < 4)
        return -1;
    for (int i = 0; i < 4; i++) {
        int d = http_hex_value(sc->text[sc->pos + (size_t)i]);
        if (d < 0)
            return -1;
        v = v * 16 + d;
    }
    sc->pos += 4;
    return v;
}

/* One escape sequence; sc->pos is just past the backslash. */
static int scan_escape(scan_t *sc)
{
    long unit, low;

    switch (peek(sc)) {
    case '"': case '\\': case '/': case 'b': case 'f': case 'n': case 'r': case 't':
        sc->pos++;
        return 0;
    case 'u':
        sc->pos++;
        break;
    default:
        return fail(sc, "invalid escape sequence in a string");
    }
    if ((unit = read_hex4(sc)) < 0)
        return fail(sc, "\\u must be followed by 4 hex digits");
    if (unit == 0)
        return fail(sc, "\\u0000 cannot be stored");
    if (unit >= 0xDC00 && unit <= 0xDFFF)
        return fail(sc, "unpaired low surrogate escape");
    if (unit >= 0xD800 && unit <= 0xDBFF) {
        if (sc->len - sc->pos < 2 || sc->text[sc->pos] != '\\' || sc->text[sc->pos + 1] != 'u')
            return fail(sc, "unpaired high surrogate escape");
        sc->pos += 2;
        low = read_hex4(sc);
        if (low < 0xDC00 || low > 0xDFFF)
            return fail(sc, "unpaired high surrogate escape");
    }
    return 0;
}

/* A string; sc->pos is at the opening quote. */
static int scan_string(scan_t *sc)
{
    sc->pos++;
    while (!at_end(sc)) {
        unsigned char c = (unsigned char)sc->text[sc->pos];
        size_t seq;

        if (c == '"') {
            sc->pos++;
            return 0;
        }
        if (c == '\\') {
            sc->pos++;
            if (scan_escape(sc) != 0)
                return -1;
            continue;
        }
        if (c < 0x20)
            return fail(sc, "control character in a string (it must be escaped)");
        seq = c < 0x80 ? 1 : (c & 0xE0) == 0xC0 ? 2 : (c & 0xF0) == 0xE0 ? 3 : 4;
        if (sc->len - sc->pos < seq || !http_utf8_valid(sc->text + sc->pos, seq))
            return fail(sc, "invalid UTF-8 in a string");
        sc->pos += seq;
    }
    return fail(sc, "unterminated string");
}

static int scan_number(scan_t *sc)
{
    size_t start = sc->pos;

    if (peek(sc) == '-')
        sc->pos++;
    if (peek(sc) == '0') {
        sc->pos++;
    } else if (is_digit(peek(sc))) {
        while (is_digit(peek(sc)))
            sc->pos++;
    } else {
        return fail(sc, "invalid number");
    }
    if (peek(sc) == '.') {
        sc->pos++;
        if (!is_digit(peek(sc)))
            return fail(sc, "invalid number");
        while (is_digit(peek(sc)))
            sc->pos++;
    }
    if (peek(sc) == 'e' || peek(sc) == 'E') {
        long exponent = 0;
        sc->pos++;
        if (peek(sc) == '+' || peek(sc) == '-')
            sc->pos++;
        if (!is_digit(peek(sc)))
            return fail(sc, "invalid number");
        while (is_digit(peek(sc))) {
            if (exponent <= EXPONENT_MAX)
                exponent = exponent * 10 + (peek(sc) - '0');
            sc->pos++;
        }
        if (exponent > EXPONENT_MAX)
            return fail(sc, "number exponent out of range");
    }
    if (sc->pos - start > NUMBER_MAX_CHARS)
        return fail(sc, "number too long");
    return 0;
}

static int scan_word(scan_t *sc, const char *word)
{
    for (; *word != '\0'; word++, sc->pos++) {
        if (peek(sc) != *word)
            return fail(sc, "invalid literal");
    }
    return 0;
}

static int scan_value(scan_t *sc);

/* An array or object; sc->pos is at its opening bracket. */
static int scan_container(scan_t *sc)
{
    bool object = peek(sc) == '{';
    char close = object ? '}' : ']';

    if (++sc->depth > INGEST_JSON_MAX_DEPTH)
        return fail(sc, "nesting too deep");
    sc->pos++;
    skip_space(sc);
    if (peek(sc) == close) {
        sc->pos++;
        sc->depth--;
        return 0;
    }
    for (;;) {
        skip_space(sc);
        if (object) {
            if (peek(sc) != '"')
                return fail(sc, "expected a member name");
            if (scan_string(sc) != 0)
                return -1;
            skip_space(sc);
            if (peek(sc) != ':')
                return fail(sc, "expected ':'");
            sc->pos++;
        }
        if (scan_value(sc) != 0)
            return -1;
        skip_space(sc);
        if (peek(sc) == close) {
            sc->pos++;
            sc->depth--;
            return 0;
        }
        if (peek(sc) != ',')
            return fail(sc, object ? "expected ',' or '}'" : "expected ',' or ']'");
        sc->pos++;
    }
}

static int scan_value(scan_t *sc)
{
    skip_space(sc);
    switch (peek(sc)) {
    case '{':
    case '[':
        return scan_container(sc);
    case '"':
        return scan_string(sc);
    case 't':
        return scan_word(sc, "true");
    case 'f':
        return scan_word(sc, "false");
    case 'n':
        return scan_word(sc, "null");
    default:
        if (at_end(sc))
            return fail(sc, "unexpected end of the text");
        if (peek(sc) == '-' || is_digit(peek(sc)))
            return scan_number(sc);
        return fail(sc, "unexpected character");
    }
}

int ingest_json_check(const char *text, size_t len, size_t *offset, const char **why)
{
    scan_t sc = {.text = text, .len = len, .pos = 0, .depth = 0, .why = NULL};

    if (text == NULL) {
        sc.why = "no text";
    } else if (scan_value(&sc) == 0) {
        skip_space(&sc);
        if (at_end(&sc))
            return 0;
        sc.why = "text after the JSON value";
    }
    *offset = sc.pos;
    *why = sc.why;
    return -1;
}

size_t ingest_utf8_chars(const char *text)
{
    size_t n = 0;

    for (const unsigned char *p = (const unsigned char *)text; *p != '\0'; p++) {
        if ((*p & 0xC0) != 0x80)
            n++;
    }
    return n;
}
