/* test_ingest.c -- unit tests for the strict JSON check of ingested text */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include "ingest.h"

static int check(const char *text)
{
    size_t offset = 0;
    const char *why = NULL;
    int rc = ingest_json_check(text, strlen(text), &offset, &why);
    if (rc != 0)
        assert_non_null(why);
    return rc;
}

static void test_accepts_valid_json(void **state)
{
    static const char *const valid[] = {
        "[]", "{}", " [ 1 , -0 , 0.5 , -1.25e+10 , 3E-2 , 1e1000 ] ", "\"\"", "null", "true",
        "false", "{\"a\":{\"b\":[null,{\"c\":\"d\"}]}}", "\"\\\"\\\\\\/\\b\\f\\n\\r\\t\"",
        "\"\\u00e9\\uD83D\\uDE00\"", "\"caf\xc3\xa9 \xf0\x9f\x98\x80\"", "\r\n\t7\r\n",
        "\"\\\\u0000\"", "[\"a\x7f\"]",
    };
    (void)state;
    for (size_t i = 0; i < sizeof valid / sizeof valid[0]; i++) {
        if (check(valid[i]) != 0)
            fail_msg("rejected valid JSON #%zu: %s", i, valid[i]);
    }
}

static void test_rejects_invalid_json(void **state)
{
    static const char *const invalid[] = {
        "", " ", "[", "[1,]", "{\"a\"}", "{\"a\":1,}", "{a:1}", "01", "-", "1.", ".5", "+1",
        "1e", "1e+", "0x10", "[1] [2]", "nul", "True", "'a'", "\"abc", "\"a\x01\"",
        "\"tab\there\"", "\"\\x41\"", "\"\\u12\"", "\"\\u0000\"", "\"\\uD800\"",
        "\"\\uDC00\"", "\"\\uD800\\u0041\"", "\"\xc3\"", "\"\xc0\xaf\"", "\"\xed\xa0\x80\"",
        "\"\xff\"", "1e1001", "[NaN]", "[Infinity]", "{\"a\":1 \"b\":2}", "[1 2]",
    };
    (void)state;
    for (size_t i = 0; i < sizeof invalid / sizeof invalid[0]; i++) {
        if (check(invalid[i]) == 0)
            fail_msg("accepted invalid JSON #%zu: %s", i, invalid[i]);
    }
}

static void test_offset_and_reason(void **state)
{
    size_t offset = 99;
    const char *why = NULL;
    (void)state;
    assert_int_equal(ingest_json_check("[1, 2, x]", 9, &offset, &why), -1);
    assert_int_equal(offset, 7);
    assert_string_equal(why, "unexpected character");
    assert_int_equal(ingest_json_check("{\"a\": \"\\u0000\"}", 15, &offset, &why), -1);
    assert_string_equal(why, "\\u0000 cannot be stored");
    /* The length bounds the scan: a valid prefix of a longer buffer passes on its own. */
    assert_int_equal(ingest_json_check("[1]xyz", 3, &offset, &why), 0);
    assert_int_equal(ingest_json_check("a\0b", 3, &offset, &why), -1);
    assert_int_equal(ingest_json_check(NULL, 0, &offset, &why), -1);
}

static void test_number_limits(void **state)
{
    char text[600];
    (void)state;
    memset(text, '1', 400);
    text[400] = '\0';
    assert_int_equal(check(text), 0);
    memset(text, '1', 401);
    text[401] = '\0';
    assert_int_equal(check(text), -1);
    assert_int_equal(check("1e1000"), 0);
    assert_int_equal(check("1e-1000"), 0);
    assert_int_equal(check("1e00000000000000000000001000"), 0);
    assert_int_equal(check("1e-1001"), -1);
    assert_int_equal(check("1e99999999999999999999"), -1);
}

static void test_depth_limit(void **state)
{
    size_t n = INGEST_JSON_MAX_DEPTH;
    char *text = malloc(2 * (n + 1) + 1);
    (void)state;
    assert_non_null(text);
    memset(text, '[', n);
    memset(text + n, ']', n);
    text[2 * n] = '\0';
    assert_int_equal(check(text), 0);
    memset(text, '[', n + 1);
    memset(text + n + 1, ']', n + 1);
    text[2 * (n + 1)] = '\0';
    assert_int_equal(check(text), -1);
    free(text);
}

static void test_utf8_chars(void **state)
{
    (void)state;
    assert_int_equal(ingest_utf8_chars(""), 0);
    assert_int_equal(ingest_utf8_chars("abc"), 3);
    assert_int_equal(ingest_utf8_chars("caf\xc3\xa9"), 4);
    assert_int_equal(ingest_utf8_chars("\xf0\x9f\x98\x80\xe2\x82\xac"), 2);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_accepts_valid_json),
        cmocka_unit_test(test_rejects_invalid_json),
        cmocka_unit_test(test_offset_and_reason),
        cmocka_unit_test(test_number_limits),
        cmocka_unit_test(test_depth_limit),
        cmocka_unit_test(test_utf8_chars),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
