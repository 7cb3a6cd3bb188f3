/* test_log.c -- log lines and their writes: one write a line, or the held lines of a batch in
 * one write, with warnings and errors never held back. Standard error is a SOCK_SEQPACKET
 * socket here, so that every write arrives as one message and can be counted. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "log.h"

static int reader = -1;

static int setup(void **state)
{
    int sv[2];
    FILE *report;
    (void)state;
    /* cmocka reports through the stdio stream stderr: it keeps the original descriptor. */
    if (socketpair(AF_UNIX, SOCK_SEQPACKET, 0, sv) != 0 ||
        (report = fdopen(dup(STDERR_FILENO), "w")) == NULL || dup2(sv[1], STDERR_FILENO) < 0)
        return -1;
    setvbuf(report, NULL, _IONBF, 0);
    stderr = report;
    close(sv[1]);
    reader = sv[0];
    log_set_tag("test");
    return 0;
}

/* The next write, or "" when none is waiting. */
static const char *next_write(void)
{
    static char buf[65536];
    ssize_t n = recv(reader, buf, sizeof buf - 1, MSG_DONTWAIT);
    buf[n > 0 ? n : 0] = '\0';
    return buf;
}

static int count_lines(const char *s)
{
    int n = 0;
    for (; *s != '\0'; s++)
        n += *s == '\n';
    return n;
}

static void test_a_line_a_write(void **state)
{
    const char *w;
    (void)state;
    log_info("first %d", 1);
    w = next_write();
    assert_non_null(strstr(w, " INFO test["));
    assert_non_null(strstr(w, "] first 1\n"));
    assert_int_equal(count_lines(w), 1);
    log_info("second");
    assert_non_null(strstr(next_write(), "] second\n"));
    assert_string_equal(next_write(), "");
}

static void test_held_lines_go_out_together(void **state)
{
    const char *w;
    (void)state;
    log_hold();
    log_info("access one");
    log_info("access two");
    log_info("access three");
    assert_string_equal(next_write(), "");
    log_release();
    w = next_write();
    assert_int_equal(count_lines(w), 3);
    assert_true(strstr(w, "access one") < strstr(w, "access two"));
    assert_true(strstr(w, "access two") < strstr(w, "access three"));
    assert_string_equal(next_write(), "");
    /* Nothing held: no write at all. */
    log_release();
    assert_string_equal(next_write(), "");
}

static void test_warnings_are_not_held(void **state)
{
    const char *w;
    (void)state;
    log_hold();
    log_info("access before");
    log_warn("something went wrong");
    w = next_write();
    assert_int_equal(count_lines(w), 2);
    assert_true(strstr(w, "access before") < strstr(w, " WARN test["));
    log_info("access after");
    log_error("worse");
    w = next_write();
    assert_int_equal(count_lines(w), 2);
    assert_non_null(strstr(w, " ERROR test["));
    log_info("access last");
    assert_string_equal(next_write(), "");
    log_release();
    assert_non_null(strstr(next_write(), "access last"));
}

/* More than the hold buffer: full buffers go out early, each write whole lines, none lost. */
static void test_overflow_writes_whole_lines(void **state)
{
    char pad[200], all[65536] = "";
    const char *w;
    int writes = 0;
    (void)state;
    memset(pad, 'x', sizeof pad - 1);
    pad[sizeof pad - 1] = '\0';
    log_hold();
    for (int i = 0; i < 150; i++)
        log_info("line %03d %s", i, pad);
    while (*(w = next_write()) != '\0') {
        assert_int_equal(w[strlen(w) - 1], '\n');
        strncat(all, w, sizeof all - strlen(all) - 1);
        writes++;
    }
    assert_true(writes >= 1);
    log_release();
    w = next_write();
    assert_int_equal(w[strlen(w) - 1], '\n');
    strncat(all, w, sizeof all - strlen(all) - 1);
    assert_int_equal(count_lines(all), 150);
    for (int i = 1; i < 150; i++) {
        char a[16], b[16];
        snprintf(a, sizeof a, "line %03d ", i - 1);
        snprintf(b, sizeof b, "line %03d ", i);
        assert_true(strstr(all, a) < strstr(all, b));
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_a_line_a_write),
        cmocka_unit_test(test_held_lines_go_out_together),
        cmocka_unit_test(test_warnings_are_not_held),
        cmocka_unit_test(test_overflow_writes_whole_lines),
    };
    return cmocka_run_group_tests(tests, setup, NULL);
}
