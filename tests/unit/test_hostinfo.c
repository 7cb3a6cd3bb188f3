/* test_hostinfo.c -- host figures: the /proc parsers on fixed text, then the live readings
 * against this machine's own /proc and statvfs. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include "hostinfo.h"
#include "timeutil.h"

#define EPS 1e-9

static const char proc_stat[] =
    "cpu  100 20 30 800 50 5 5 0 7 0\n"
    "cpu0 50 10 15 400 25 2 3 0 7 0\n"
    "intr 12345\n";

static void test_parse_cpu(void **state)
{
    hostinfo_cpu_sample_t s;
    (void)state;
    assert_int_equal(hostinfo_parse_cpu(proc_stat, &s), 0);
    /* guest (7) is already inside user and must not be counted twice */
    assert_int_equal(s.total, 100 + 20 + 30 + 800 + 50 + 5 + 5 + 0);
    assert_int_equal(s.idle, 800 + 50);
}

static void test_parse_cpu_rejects(void **state)
{
    hostinfo_cpu_sample_t s;
    (void)state;
    assert_int_equal(hostinfo_parse_cpu("cpu0 1 2 3 4 5 6 7 8\n", &s), -1);
    assert_int_equal(hostinfo_parse_cpu("cpu  1 2 3\n", &s), -1);
    assert_int_equal(hostinfo_parse_cpu("", &s), -1);
}

static void test_cpu_between(void **state)
{
    hostinfo_cpu_sample_t a = {.total = 1000, .idle = 800};
    hostinfo_cpu_sample_t b = {.total = 1200, .idle = 950};
    (void)state;
    /* 200 ticks passed, 150 idle: 25 % busy */
    assert_true(hostinfo_cpu_between(&a, &b) > 25 - EPS && hostinfo_cpu_between(&a, &b) < 25 + EPS);
    /* no time passed, or the counters went back: no figure */
    assert_true(hostinfo_cpu_between(&a, &a) < 0);
    assert_true(hostinfo_cpu_between(&b, &a) < 0);
}

static void test_parse_memory(void **state)
{
    (void)state;
    double used = hostinfo_parse_memory("MemTotal:       16000000 kB\n"
                                        "MemFree:         1000000 kB\n"
                                        "MemAvailable:    4000000 kB\n");
    assert_true(used > 75 - EPS && used < 75 + EPS);
    assert_true(hostinfo_parse_memory("MemTotal: 100 kB\nMemFree: 5 kB\n") < 0);
    assert_true(hostinfo_parse_memory("MemAvailable: 5 kB\n") < 0);
    /* "MemTotalX" is not MemTotal */
    assert_true(hostinfo_parse_memory("MemTotalX: 100 kB\nMemAvailable: 5 kB\n") < 0);
}

static void test_live_cpu(void **state)
{
    (void)state;
    for (int i = 0; i < 3; i++) {
        double busy = hostinfo_cpu_percent();
        assert_true(busy >= 0 && busy <= 100);
    }
}

/* One CPU kept busy for 400 ms between two readings must show: at least half of the share
 * one CPU has of the host (other load only adds to it). */
static void test_live_cpu_sees_load(void **state)
{
    long cpus = sysconf(_SC_NPROCESSORS_ONLN);
    int64_t until;
    volatile uint64_t spin = 0;
    double busy;
    (void)state;
    assert_true(cpus > 0);
    assert_true(hostinfo_cpu_percent() >= 0);
    until = time_mono_us() + 400000;
    while (time_mono_us() < until)
        spin++;
    busy = hostinfo_cpu_percent();
    assert_true(busy >= 50.0 / (double)cpus && busy <= 100);
}

/* The live reading against a fresh read of /proc/meminfo: memory moves a little between the
 * two reads, so they must agree within 2 points. */
static void test_live_memory(void **state)
{
    char buf[8192];
    size_t n;
    FILE *f = fopen("/proc/meminfo", "r");
    double mine, theirs;
    (void)state;
    assert_non_null(f);
    n = fread(buf, 1, sizeof buf - 1, f);
    fclose(f);
    buf[n] = '\0';
    mine = hostinfo_parse_memory(buf);
    theirs = hostinfo_memory_percent();
    assert_true(theirs > 0 && theirs <= 100);
    assert_true(mine - theirs < 2 && theirs - mine < 2);
}

static void test_live_disk(void **state)
{
    struct statvfs fs;
    double used, expect;
    (void)state;
    assert_int_equal(statvfs("/", &fs), 0);
    expect = (double)(fs.f_blocks - fs.f_bfree) * 100.0 /
             (double)(fs.f_blocks - fs.f_bfree + fs.f_bavail);
    used = hostinfo_disk_percent("/");
    assert_true(used >= 0 && used <= 100);
    assert_true(used - expect < 1 && expect - used < 1);
    assert_true(hostinfo_disk_percent("/no/such/folder/at/all") < 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_parse_cpu),    cmocka_unit_test(test_parse_cpu_rejects),
        cmocka_unit_test(test_cpu_between),  cmocka_unit_test(test_parse_memory),
        cmocka_unit_test(test_live_cpu),     cmocka_unit_test(test_live_cpu_sees_load),
        cmocka_unit_test(test_live_memory),
        cmocka_unit_test(test_live_disk),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
