/* jsonout.c -- JSON output: a cJSON tree written to a text buffer as cJSON_PrintUnformatted
 * would write it. */
#include "jsonout.h"

#include <float.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define FAST_WHOLE_MAX 1e15    /* cJSON's "%1.15g" writes every digit of a whole number below */
#define FAST_MILLI_MAX 1e12    /* ... and of a figure of three decimals below this */

/* Writes v's decimal digits backwards, ending at end. Returns the first digit. */
static char *digits_back(char *end, uint64_t v)
{
    do {
        *--end = (char)('0' + v % 10);
        v /= 10;
    } while (v != 0);
    return end;
}

/* A whole number below 1e15, or one of up to three decimals below 1e12, whose shortest
 * decimal form is also what "%1.15g" gives. Returns the text's length, or 0 for any other
 * number. */
static size_t format_fast(double d, char buf[32])
{
    char *end = buf + 32, *p;
    double a = fabs(d);
    uint64_t milli;
    int frac_digits = 3;

    if (a < FAST_WHOLE_MAX && d == trunc(d)) {
        p = digits_back(end, (uint64_t)a);
    } else if (a < FAST_MILLI_MAX && (double)llround(a * 1000.0) / 1000.0 == a) {
        /* a is the double nearest to milli/1000, so that decimal reads back as a. */
        milli = (uint64_t)llround(a * 1000.0);
        while (frac_digits > 0 && milli % 10 == 0) {
            milli /= 10;
            frac_digits--;
        }
        p = end;
        for (int i = 0; i < frac_digits; i++) {
            *--p = (char)('0' + milli % 10);
            milli /= 10;
        }
        *--p = '.';
        p = digits_back(p, milli);
    } else {
        return 0;
    }
    if (signbit(d))
        *--p = '-';
    memmove(buf, p, (size_t)(end - p));
    return (size_t)(end - p);
}

/* As cJSON's compare_double: equal within the relative precision of a double. */
static int close_enough(double a, double b)
{
    double max = fabs(a) > fabs(b) ? fabs(a) : fabs(b);
    return fabs(a - b) <= max * DBL_EPSILON;
}

/* Adds n written bytes to out's length. */
static void wrote(text_buf_t *out, const char *start, const char *end)
{
    out->len += (size_t)(end - start);
    out->data[out->len] = '\0';
}

static void write_number(double d, text_buf_t *out)
{
    char *p = text_buf_reserve(out, 32);
    size_t n;

    if (p == NULL)
        return;
    if (isnan(d) || isinf(d)) {
        memcpy(p, "null", 4);
        n = 4;
    } else if ((n = format_fast(d, p)) == 0) {
        /* cJSON's way: 15 significant digits when they read back, else 17. */
        n = (size_t)snprintf(p, 32, "%1.15g", d);
        if (!close_enough(strtod(p, NULL), d))
            n = (size_t)snprintf(p, 32, "%1.17g", d);
    }
    wrote(out, p, p + n);
}

/* Bytes that cJSON writes escaped: controls, the quote and the backslash. */
static const unsigned char escaped[256] = {
    1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1,
    1, 1, 1, 1, 1, 1, 1, 1, 1, 1, ['"'] = 1, ['\\'] = 1,
};

/* A string in quotes, escaped as cJSON escapes it. Room is made once, for the worst case of
 * every byte escaped as \u00XX, and runs of plain bytes are copied whole. */
static void write_string(const char *s, text_buf_t *out)
{
    static const char hex[] = "0123456789abcdef";
    size_t len = s != NULL ? strlen(s) : 0, i = 0;
    char *start = text_buf_reserve(out, len * 6 + 2), *p = start;

    if (p == NULL)
        return;
    *p++ = '"';
    while (i < len) {
        size_t run = i;
        unsigned char c;
        while (i < len && !escaped[(unsigned char)s[i]])
            i++;
        memcpy(p, s + run, i - run);
        p += i - run;
        if (i == len)
            break;
        c = (unsigned char)s[i++];
        *p++ = '\\';
        switch (c) {
        case '"': *p++ = '"'; break;
        case '\\': *p++ = '\\'; break;
        case '\b': *p++ = 'b'; break;
        case '\f': *p++ = 'f'; break;
        case '\n': *p++ = 'n'; break;
        case '\r': *p++ = 'r'; break;
        case '\t': *p++ = 't'; break;
        default:
            memcpy(p, "u00", 3);
            p[3] = hex[c >> 4];
            p[4] = hex[c & 15];
            p += 5;
        }
    }
    *p++ = '"';
    wrote(out, start, p);
}

/* One punctuation byte. */
static void write_char(char c, text_buf_t *out)
{
    char *p = text_buf_reserve(out, 1);
    if (p != NULL) {
        *p = c;
        wrote(out, p, p + 1);
    }
}

int json_write(const cJSON *item, text_buf_t *out)
{
    const cJSON *child;

    if (item == NULL)
        return -1;
    switch (item->type & 0xFF) {
    case cJSON_NULL: text_buf_append(out, "null", 4); break;
    case cJSON_False: text_buf_append(out, "false", 5); break;
    case cJSON_True: text_buf_append(out, "true", 4); break;
    case cJSON_Number: write_number(item->valuedouble, out); break;
    case cJSON_String: write_string(item->valuestring, out); break;
    case cJSON_Raw:
        if (item->valuestring == NULL)
            return -1;
        text_buf_append(out, item->valuestring, strlen(item->valuestring));
        break;
    case cJSON_Array:
    case cJSON_Object:
        write_char((item->type & 0xFF) == cJSON_Array ? '[' : '{', out);
        for (child = item->child; child != NULL; child = child->next) {
            if (child != item->child)
                write_char(',', out);
            if ((item->type & 0xFF) == cJSON_Object) {
                write_string(child->string, out);
                write_char(':', out);
            }
            if (json_write(child, out) != 0)
                return -1;
        }
        write_char((item->type & 0xFF) == cJSON_Array ? ']' : '}', out);
        break;
    default: return -1;
    }
    return out->failed ? -1 : 0;
}
