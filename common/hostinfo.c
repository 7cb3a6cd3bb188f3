/* hostinfo.c -- CPU, memory and disk use of this host from /proc and statvfs. */
#include "hostinfo.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/statvfs.h>
#include <time.h>
#include <unistd.h>

#include "timeutil.h"

#define CPU_MIN_INTERVAL_US 100000   /* shorter intervals are too few clock ticks to mean much */
#define CPU_REFERENCE_MAX_US 5000000 /* an older reference would average over a stale period */
#define CPU_REFERENCE_MOVE_US 1000000

/* Reads up to len-1 bytes of a /proc file (they have no size, so read until EOF). */
static int read_text(const char *path, char *buf, size_t len)
{
    size_t got = 0;
    int fd = open(path, O_RDONLY | O_CLOEXEC);

    if (fd < 0)
        return -1;
    while (got < len - 1) {
        ssize_t n = read(fd, buf + got, len - 1 - got);
        if (n < 0) {
            close(fd);
            return -1;
        }
        if (n == 0)
            break;
        got += (size_t)n;
    }
    close(fd);
    buf[got] = '\0';
    return 0;
}

int hostinfo_parse_cpu(const char *proc_stat, hostinfo_cpu_sample_t *out)
{
    uint64_t v[8];
    const char *p;
    char *end;

    if (strncmp(proc_stat, "cpu ", 4) != 0)
        return -1;
    p = proc_stat + 4;
    /* user nice system idle iowait irq softirq steal; guest time is already in user/nice. */
    for (int i = 0; i < 8; i++) {
        while (*p == ' ')
            p++;
        if (*p < '0' || *p > '9')
            return -1;
        v[i] = strtoull(p, &end, 10);
        p = end;
    }
    out->idle = v[3] + v[4];
    out->total = 0;
    for (int i = 0; i < 8; i++)
        out->total += v[i];
    return 0;
}

double hostinfo_cpu_between(const hostinfo_cpu_sample_t *before,
                            const hostinfo_cpu_sample_t *after)
{
    uint64_t total, idle;

    if (after->total <= before->total || after->idle < before->idle)
        return -1;
    total = after->total - before->total;
    idle = after->idle - before->idle;
    if (idle > total)
        return -1;
    return (double)(total - idle) * 100.0 / (double)total;
}

static int sample_cpu(hostinfo_cpu_sample_t *out)
{
    char buf[4096];
    return read_text("/proc/stat", buf, sizeof buf) == 0 ? hostinfo_parse_cpu(buf, out) : -1;
}

/* The reference is replaced by a newer sample ("mid", taken once the reference is 1 s old) as
 * soon as that one is itself old enough to measure against, so steady callers never sleep. */
double hostinfo_cpu_percent(void)
{
    static hostinfo_cpu_sample_t reference, mid;
    static int64_t reference_us = -1, mid_us = -1;
    hostinfo_cpu_sample_t now;
    int64_t t = time_mono_us();
    double busy;

    if (reference_us < 0 || t - reference_us > CPU_REFERENCE_MAX_US ||
        t - reference_us < CPU_MIN_INTERVAL_US) {
        struct timespec pause = {0, CPU_MIN_INTERVAL_US * 1000L};
        if (sample_cpu(&reference) != 0)
            return -1;
        reference_us = time_mono_us();
        mid_us = -1;
        while (nanosleep(&pause, &pause) != 0 && errno == EINTR)
            ;
        t = time_mono_us();
    }
    if (sample_cpu(&now) != 0)
        return -1;
    busy = hostinfo_cpu_between(&reference, &now);
    if (mid_us >= 0 && t - mid_us >= CPU_MIN_INTERVAL_US) {
        reference = mid;
        reference_us = mid_us;
        mid_us = -1;
    } else if (mid_us < 0 && t - reference_us >= CPU_REFERENCE_MOVE_US) {
        mid = now;
        mid_us = t;
    }
    return busy;
}

/* The value in kB of one "Name:   123 kB" line of /proc/meminfo, or -1. */
static long long meminfo_value(const char *text, const char *name)
{
    size_t len = strlen(name);
    const char *p = text;

    while (p != NULL && *p != '\0') {
        if (strncmp(p, name, len) == 0 && p[len] == ':')
            return strtoll(p + len + 1, NULL, 10);
        p = strchr(p, '\n');
        if (p != NULL)
            p++;
    }
    return -1;
}

double hostinfo_parse_memory(const char *proc_meminfo)
{
    long long total = meminfo_value(proc_meminfo, "MemTotal");
    long long available = meminfo_value(proc_meminfo, "MemAvailable");

    if (total <= 0 || available < 0 || available > total)
        return -1;
    return (double)(total - available) * 100.0 / (double)total;
}

double hostinfo_memory_percent(void)
{
    char buf[8192];
    return read_text("/proc/meminfo", buf, sizeof buf) == 0 ? hostinfo_parse_memory(buf) : -1;
}

double hostinfo_disk_percent(const char *path)
{
    struct statvfs fs;
    unsigned long long used, usable;

    if (statvfs(path, &fs) != 0 || fs.f_blocks == 0 || fs.f_bfree > fs.f_blocks)
        return -1;
    used = (unsigned long long)(fs.f_blocks - fs.f_bfree);
    usable = used + (unsigned long long)fs.f_bavail;
    return usable == 0 ? -1 : (double)used * 100.0 / (double)usable;
}
