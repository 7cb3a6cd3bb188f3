/* jsonout.c -- JSON output: members under constant keys, and a tree written to a buffer as
 * cJSON_PrintUnformatted would write it. */
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

static void write_number(double d, text_buf_t *out)
{
    char buf[32];
    size_t n;

    if (isnan(d) || isinf(d)) {
        text_buf_append(out, "null", 4);
        return;
    }
    n = format_fast(d, buf);
    if (n == 0) {
        /* cJSON's way: 15 significant digits when they read back, else 17. */
        n = (size_t)snprintf(buf, sizeof buf, "%1.15g", d);
        if (!close_enough(strtod(buf, NULL), d))
            n = (size_t)snprintf(buf, sizeof buf, "%1.17g", d);
    }
    text_buf_append(out, buf, n);
}

static void write_string(const char *s, text_buf_t *out)
{
    static const char hex[] = "0123456789abcdef";
    const char *run = s;

    text_buf_append(out, "\"", 1);
    for (; s != NULL && *s != '\0'; s++) {
        unsigned char c = (unsigned char)*s;
        char esc[6] = {'\\', 0, '0', '0', 0, 0};
        size_t len = 2;

        if (c >= 32 && c != '"' && c != '\\')
            continue;
        text_buf_append(out, run, (size_t)(s - run));
        run = s + 1;
        switch (c) {
        case '"': esc[1] = '"'; break;
        case '\\': esc[1] = '\\'; break;
        case '\b': esc[1] = 'b'; break;
        case '\f': esc[1] = 'f'; break;
        case '\n': esc[1] = 'n'; break;
        case '\r': esc[1] = 'r'; break;
        case '\t': esc[1] = 't'; break;
        default:
            esc[1] = 'u';
            esc[4] = hex[c >> 4];
            esc[5] = hex[c & 15];
            len = 6;
        }
        text_buf_append(out, esc, len);
    }
    if (s != NULL)
        text_buf_append(out, run, (size_t)(s - run));
    text_buf_append(out, "\"", 1);
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
        text_buf_append(out, (item->type & 0xFF) == cJSON_Array ? "[" : "{", 1);
        for (child = item->child; child != NULL; child = child->next) {
            if (child != item->child)
                text_buf_append(out, ",", 1);
            if ((item->type & 0xFF) == cJSON_Object) {
                write_string(child->string, out);
                text_buf_append(out, ":", 1);
            }
            if (json_write(child, out) != 0)
                return -1;
        }
        text_buf_append(out, (item->type & 0xFF) == cJSON_Array ? "]" : "}", 1);
        break;
    default: return -1;
    }
    return out->failed ? -1 : 0;
}

void json_add_number_const(cJSON *obj, const char *constant_name, double value)
{
    cJSON_AddItemToObjectCS(obj, constant_name, cJSON_CreateNumber(value));
}
