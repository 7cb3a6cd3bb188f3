/* hostinfo.h -- real figures of this host: CPU busy, memory and disk use, in percent. */
#ifndef HOSTINFO_H
#define HOSTINFO_H

#include <stdint.h>

/* Cumulative CPU time of all CPUs from the first line of /proc/stat, in clock ticks. */
typedef struct hostinfo_cpu_sample {
    uint64_t total; /* user + nice + system + idle + iowait + irq + softirq + steal */
    uint64_t idle;  /* idle + iowait */
} hostinfo_cpu_sample_t;

/* Parses the text of /proc/stat. Returns 0, or -1 when its "cpu " line is missing or short. */
int hostinfo_parse_cpu(const char *proc_stat, hostinfo_cpu_sample_t *out);

/* Busy percent between two samples; -1 when no time passed between them or they go back. */
double hostinfo_cpu_between(const hostinfo_cpu_sample_t *before,
                            const hostinfo_cpu_sample_t *after);

/* Used memory percent, (MemTotal - MemAvailable) / MemTotal, from the text of /proc/meminfo;
 * -1 when either line is missing or MemTotal is 0. */
double hostinfo_parse_memory(const char *proc_meminfo);

/* CPU busy percent of the whole host (all CPUs), measured between a reference sample kept by
 * this process and now. The reference is 100 ms to about 2 s old under steady calls (it moves
 * forward as calls come); when there is none, or it is over 5 s old, the call takes a fresh one
 * and sleeps 100 ms before the second sample. Returns -1 when /proc/stat cannot be read or no
 * CPU time passed. Not thread-safe (a worker serves one request at a time). */
double hostinfo_cpu_percent(void);

/* Used memory percent from /proc/meminfo, or -1 when it cannot be read. */
double hostinfo_memory_percent(void);

/* Used percent of the filesystem holding path, as df counts it: used / (used + available to
 * unprivileged users). Returns -1 when statvfs fails or the filesystem reports no blocks. */
double hostinfo_disk_percent(const char *path);

#endif
