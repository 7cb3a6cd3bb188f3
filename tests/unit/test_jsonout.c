/* test_jsonout.c -- json_write gives, byte for byte, what cJSON_PrintUnformatted gives */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "jsonout.h"

/* Prints item both ways and fails, naming what differs, unless the texts are equal. */
static void expect_same(const cJSON *item, const char *what)
{
    char *want = cJSON_PrintUnformatted(item);
    text_buf_t got = {0};

    assert_non_null(want);
    assert_int_equal(json_write(item, &got), 0);
    if (strcmp(got.data, want) != 0)
        fail_msg("%s: json_write gave %s, cJSON gives %s", what, got.data, want);
    free(want);
    text_buf_free(&got);
}

static void expect_number(double d)
{
    char what[64];
    cJSON *n = cJSON_CreateNumber(d);

    snprintf(what, sizeof what, "number %.17g", d);
    expect_same(n, what);
    cJSON_Delete(n);
}

/* Whole numbers: small, at the int limits, past them, and around 1e15 where the fast path
 * stops and cJSON switches to an exponent. */
static void test_whole_numbers(void **state)
{
    static const double cases[] = {0,           -0.0,         1,          -1,         7,
                                   10,          100,          2147483647, 2147483648, -2147483648.0,
                                   -2147483649, 4294967296.0, 1e14,       999999999999999,
                                   1e15,        1e15 + 2,     -1e15,      9007199254740992.0,
                                   1e16,        1e20,         -1e300,     1e308};
    (void)state;
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++)
        expect_number(cases[i]);
}

/* Figures rounded to one, two or three decimals, as the routes make them, and values near
 * the edges of the three-decimal path. */
static void test_decimal_figures(void **state)
{
    static const double cases[] = {0.1,    0.2,      0.3,       0.001,      -0.001,  0.5,
                                   26.45,  0.373,    -12.5,     99.9,       1e-3,    123.456,
                                   999999999999.999, 1e12 - 0.5, 1e12 + 0.5, 0.0005, 0.0001,
                                   1.0005, 0.1 + 0.2, 1.0 / 3,  2.0 / 3,    -1.0 / 7, 1e-7,
                                   3.14159265358979, 6.02214076e23, 5e-324, 1.7976931348623157e308};
    (void)state;
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++)
        expect_number(cases[i]);
    for (int k = -20000; k <= 20000; k += 7)
        for (int scale = 1; scale <= 1000; scale *= 10) {
            expect_number((double)k / scale);
            expect_number(round((double)k / 997.0 * scale) / scale);
        }
}

/* Pseudo-random bit patterns of a fixed seed: any double that is not NaN or infinite. */
static void test_arbitrary_doubles(void **state)
{
    uint64_t x = 0x9E3779B97F4A7C15u;
    (void)state;
    for (int i = 0; i < 20000; i++) {
        double d;
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        memcpy(&d, &x, sizeof d);
        if (!isnan(d) && !isinf(d))
            expect_number(d);
        expect_number((double)(int64_t)(x >> 11) / (double)(1 + (x & 0xFFFF)));
    }
}

static void test_not_finite(void **state)
{
    (void)state;
    expect_number(NAN);
    expect_number(INFINITY);
    expect_number(-INFINITY);
}

/* Every byte that must be escaped, bytes above 127 left as they are, and empty strings. */
static void test_strings(void **state)
{
    char all[256];
    cJSON *s;
    (void)state;

    for (int i = 1; i < 256; i++)
        all[i - 1] = (char)i;
    all[255] = '\0';
    s = cJSON_CreateString(all);
    expect_same(s, "every byte");
    cJSON_Delete(s);
    s = cJSON_CreateString("");
    expect_same(s, "empty string");
    cJSON_Delete(s);
    s = cJSON_CreateString("plain \"quoted\" back\\slash\ttab line\nend ok \xc3\xa9");
    expect_same(s, "mixed string");
    cJSON_Delete(s);
}

/* Nested objects and arrays, empty ones, every item type, keys that need escaping and a
 * raw item. */
static void test_trees(void **state)
{
    cJSON *root = cJSON_CreateObject(), *arr, *obj;
    (void)state;

    cJSON_AddStringToObject(root, "status", "healthy");
    cJSON_AddNumberToObject(root, "latency_ms", 0.373);
    cJSON_AddNullToObject(root, "none");
    cJSON_AddTrueToObject(root, "yes");
    cJSON_AddFalseToObject(root, "no");
    cJSON_AddObjectToObject(root, "empty_object");
    cJSON_AddArrayToObject(root, "empty_array");
    cJSON_AddRawToObject(root, "raw", "[1,2,{\"a\":null}]");
    cJSON_AddNumberToObject(root, "key \"with\" \n escapes", 5);
    arr = cJSON_AddArrayToObject(root, "rows");
    for (int i = 0; i < 5; i++) {
        obj = cJSON_CreateObject();
        cJSON_AddNumberToObject(obj, "id", i * 1000003);
        cJSON_AddNumberToObject(obj, "ratio", i / 3.0);
        cJSON_AddItemToArray(arr, obj);
        cJSON_AddItemToArray(arr, cJSON_CreateString("x"));
        cJSON_AddItemToArray(arr, cJSON_CreateArray());
    }
    expect_same(root, "tree");
    cJSON_Delete(root);
}

/* The text is appended after what the buffer already holds. */
static void test_appends(void **state)
{
    text_buf_t b = {0};
    cJSON *n = cJSON_CreateNumber(42);
    (void)state;

    text_buf_append(&b, "head:", 5);
    assert_int_equal(json_write(n, &b), 0);
    assert_string_equal(b.data, "head:42");
    assert_int_equal(b.len, 7);
    cJSON_Delete(n);
    text_buf_free(&b);
}

/* What cJSON refuses to print, json_write refuses too. */
static void test_refusals(void **state)
{
    text_buf_t b = {0};
    cJSON *raw = cJSON_CreateRaw("1"), *invalid = cJSON_CreateObject();
    (void)state;

    free(raw->valuestring);
    raw->valuestring = NULL;
    assert_null(cJSON_PrintUnformatted(raw));
    assert_int_equal(json_write(raw, &b), -1);
    invalid->type = cJSON_Invalid;
    assert_null(cJSON_PrintUnformatted(invalid));
    assert_int_equal(json_write(invalid, &b), -1);
    assert_int_equal(json_write(NULL, &b), -1);
    cJSON_Delete(raw);
    cJSON_Delete(invalid);
    text_buf_free(&b);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_whole_numbers),     cmocka_unit_test(test_decimal_figures),
        cmocka_unit_test(test_arbitrary_doubles), cmocka_unit_test(test_not_finite),
        cmocka_unit_test(test_strings),           cmocka_unit_test(test_trees),
        cmocka_unit_test(test_appends),           cmocka_unit_test(test_refusals),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
