/* timeutil.c -- clocks and RFC 3339 timestamps. */
#include "timeutil.h"

#include <ctype.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

int64_t time_now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int64_t time_mono_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

char *time_format_rfc3339(int64_t epoch_ms, char *buf, size_t len)
{
    /* The date and time of day are formatted once a second: a response or a log line of the
     * same second only adds its milliseconds. */
    static time_t cached_secs;
    static char prefix[32];
    static size_t prefix_len;
    /* Floor division, so that instants before 1970 keep a positive millisecond part. */
    int64_t ms = ((epoch_ms % 1000) + 1000) % 1000;
    time_t secs = (time_t)((epoch_ms - ms) / 1000);
    char text[48];
    size_t n;

    if (prefix_len == 0 || secs != cached_secs) {
        struct tm tm;
        int w;
        gmtime_r(&secs, &tm);
        w = snprintf(prefix, sizeof prefix, "%04d-%02d-%02dT%02d:%02d:%02d", tm.tm_year + 1900,
                     tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec);
        prefix_len = w > 0 && (size_t)w < sizeof prefix ? (size_t)w : 0;
        cached_secs = secs;
    }
    memcpy(text, prefix, prefix_len);
    n = prefix_len;
    text[n++] = '.';
    text[n++] = (char)('0' + ms / 100);
    text[n++] = (char)('0' + ms / 10 % 10);
    text[n++] = (char)('0' + ms % 10);
    text[n++] = 'Z';
    text[n] = '\0';
    if (len > 0) {
        n = n < len - 1 ? n : len - 1;
        memcpy(buf, text, n);
        buf[n] = '\0';
    }
    return buf;
}

/* Reads exactly n digits; returns -1 on anything else. */
static int read_digits(const char **p, int n)
{
    int v = 0;
    for (int i = 0; i < n; i++) {
        if (!isdigit((unsigned char)**p))
            return -1;
        v = v * 10 + (**p - '0');
        (*p)++;
    }
    return v;
}

static int days_in_month(int year, int month)
{
    static const int days[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    int leap = (year % 4 == 0 && year % 100 != 0) || year % 400 == 0;
    return month == 2 ? 28 + leap : days[month - 1];
}

int time_parse_rfc3339(const char *text, int64_t *epoch_ms)
{
    const char *p = text;
    int y, mo, d, h, mi, s, ms = 0, offset_min = 0;
    struct tm tm;

    if ((y = read_digits(&p, 4)) < 0 || *p++ != '-' || (mo = read_digits(&p, 2)) < 0 ||
        *p++ != '-' || (d = read_digits(&p, 2)) < 0 || (*p != 'T' && *p != 't' && *p != ' '))
        return -1;
    p++;
    if ((h = read_digits(&p, 2)) < 0 || *p++ != ':' || (mi = read_digits(&p, 2)) < 0 ||
        *p++ != ':' || (s = read_digits(&p, 2)) < 0)
        return -1;
    if (*p == '.') {
        int digits = 0;
        p++;
        while (isdigit((unsigned char)*p)) {
            if (digits < 3)
                ms = ms * 10 + (*p - '0');
            digits++;
            p++;
        }
        if (digits == 0 || digits > 9)
            return -1;
        for (; digits < 3; digits++)
            ms *= 10;
    }
    if (*p == 'Z' || *p == 'z') {
        p++;
    } else if (*p == '+' || *p == '-') {
        int sign = *p++ == '-' ? -1 : 1, oh, om;
        if ((oh = read_digits(&p, 2)) < 0 || *p++ != ':' || (om = read_digits(&p, 2)) < 0 ||
            oh > 15 || om > 59)
            return -1;
        offset_min = sign * (oh * 60 + om);
    } else {
        return -1;
    }
    if (*p != '\0' || y < 1970 || y > 9999 || mo < 1 || mo > 12 || d < 1 ||
        d > days_in_month(y, mo) || h > 23 || mi > 59 || s > 60)
        return -1;
    memset(&tm, 0, sizeof tm);
    tm.tm_year = y - 1900;
    tm.tm_mon = mo - 1;
    tm.tm_mday = d;
    tm.tm_hour = h;
    tm.tm_min = mi;
    tm.tm_sec = s;
    *epoch_ms = ((int64_t)timegm(&tm) - (int64_t)offset_min * 60) * 1000 + ms;
    return 0;
}
