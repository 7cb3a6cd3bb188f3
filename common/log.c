/* log.c -- leveled logging to stderr, one line per event. */
#include "log.h"

#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "timeutil.h"

static enum log_level threshold = LOG_INFO;
static const char *log_tag = "elog";

/* Lines held by log_hold(), written together by log_release(). */
static bool holding;
static char held[16384];
static size_t held_len;

static void write_held(void)
{
    ssize_t rc = held_len > 0 ? write(STDERR_FILENO, held, held_len) : 0;
    (void)rc; /* a failed write has nowhere to be reported */
    held_len = 0;
}

void log_hold(void)
{
    holding = true;
}

void log_release(void)
{
    holding = false;
    write_held();
}

int log_set_level(const char *name)
{
    static const char *const names[] = {"debug", "info", "warn", "error"};
    for (int i = 0; i < 4; i++) {
        if (strcasecmp(name, names[i]) == 0) {
            threshold = (enum log_level)i;
            return 0;
        }
    }
    return -1;
}

void log_set_tag(const char *tag)
{
    log_tag = tag;
}

void log_msg(enum log_level level, const char *fmt, ...)
{
    static const char *const labels[] = {"DEBUG", "INFO", "WARN", "ERROR"};
    /* Cached: getpid() is a system call, and no program here forks once it logs. */
    static pid_t pid;
    char ts[32], line[2048];
    va_list ap;
    int n;

    if (level < threshold)
        return;
    if (pid == 0)
        pid = getpid();
    time_format_rfc3339(time_now_ms(), ts, sizeof ts);
    n = snprintf(line, sizeof line, "%s %s %s[%d] ", ts, labels[level], log_tag, (int)pid);
    va_start(ap, fmt);
    if (n > 0 && (size_t)n < sizeof line)
        vsnprintf(line + n, sizeof line - (size_t)n, fmt, ap);
    va_end(ap);
    /* Whole lines in each write keep lines from different workers sharing a file intact. */
    n = (int)strlen(line);
    if (n < (int)sizeof line - 1)
        line[n++] = '\n';
    if (held_len + (size_t)n > sizeof held)
        write_held();
    memcpy(held + held_len, line, (size_t)n);
    held_len += (size_t)n;
    /* A warning or an error goes out at once, after the lines held before it. */
    if (!holding || level >= LOG_WARN)
        write_held();
}
