/* test_reqmem.c -- cJSON's memory from the request arena: blocks, big blocks, reset, chunks */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "jsonout.h"
#include "reqmem.h"

#if defined(__SANITIZE_ADDRESS__)
#define ARENA_ON 0 /* documented: under AddressSanitizer cJSON keeps malloc */
#else
#define ARENA_ON 1
#endif

static int setup(void **state)
{
    (void)state;
    reqmem_install();
    reqmem_reset();
    return 0;
}

/* A response-sized tree is cut from the arena, prints as it should, and the reset gives
 * every byte back while keeping one chunk. */
static void test_tree_from_arena(void **state)
{
    cJSON *root = cJSON_CreateObject(), *rows = cJSON_AddArrayToObject(root, "rows");
    text_buf_t out = {0};
    char *printed;
    (void)state;

    for (int i = 0; i < 50; i++) {
        cJSON *row = cJSON_CreateObject();
        cJSON_AddNumberToObject(row, "id", i);
        cJSON_AddStringToObject(row, "level", i % 2 ? "ERROR" : "INFO");
        cJSON_AddItemToArray(rows, row);
    }
    if (ARENA_ON) {
        assert_true(reqmem_used() > 50 * 3 * sizeof(cJSON));
        assert_int_equal(reqmem_chunks(), 1);
    } else {
        assert_int_equal(reqmem_used(), 0);
    }
    printed = cJSON_PrintUnformatted(root);
    assert_int_equal(json_write(root, &out), 0);
    assert_string_equal(out.data, printed);
    assert_non_null(strstr(printed, "{\"id\":49,\"level\":\"ERROR\"}]}"));
    cJSON_free(printed);
    cJSON_Delete(root);
    text_buf_free(&out);
    reqmem_reset();
    assert_int_equal(reqmem_used(), 0);
}

/* Blocks are aligned for any type, and do not overlap. */
static void test_blocks_aligned_and_apart(void **state)
{
    cJSON *a = cJSON_CreateString("a"), *b = cJSON_CreateString("b");
    (void)state;

    assert_int_equal((uintptr_t)a % 16, 0);
    assert_int_equal((uintptr_t)b % 16, 0);
    assert_true((char *)b >= (char *)(a + 1) || (char *)a >= (char *)(b + 1));
    assert_string_equal(a->valuestring, "a");
    assert_string_equal(b->valuestring, "b");
    cJSON_Delete(a);
    cJSON_Delete(b);
    reqmem_reset();
}

/* A string over 4 KiB comes from malloc (and goes back at its free); the arena's use grows
 * only by the item itself. */
static void test_big_block_from_heap(void **state)
{
    size_t n = 100000, before;
    char *text = malloc(n + 1);
    cJSON *big;
    (void)state;

    memset(text, 'x', n);
    text[n] = '\0';
    before = reqmem_used();
    big = cJSON_CreateString(text);
    assert_int_equal(strlen(big->valuestring), n);
    if (ARENA_ON)
        assert_true(reqmem_used() - before < 256);
    cJSON_Delete(big);
    free(text);
    reqmem_reset();
}

/* A request that needs more than one chunk gets them; the reset returns all but one. */
static void test_many_chunks_then_one(void **state)
{
    cJSON *arr = cJSON_CreateArray();
    (void)state;

    for (int i = 0; i < 10000; i++)
        cJSON_AddItemToArray(arr, cJSON_CreateNumber(i));
    assert_int_equal(cJSON_GetArraySize(arr), 10000);
    assert_int_equal(cJSON_GetArrayItem(arr, 9999)->valueint, 9999);
    if (ARENA_ON)
        assert_true(reqmem_chunks() >= 10);
    cJSON_Delete(arr);
    reqmem_reset();
    assert_int_equal(reqmem_chunks(), ARENA_ON ? 1 : 0);
    assert_int_equal(reqmem_used(), 0);
}

/* Parsing, as routes parse the JSON their SQL builds, works from the arena too. */
static void test_parse(void **state)
{
    cJSON *doc = cJSON_Parse("{\"total\": 1000000, \"levels\": [\"INFO\", \"ERROR\"], \"x\": 0.25}");
    (void)state;

    assert_non_null(doc);
    assert_int_equal(cJSON_GetObjectItem(doc, "total")->valuedouble, 1000000);
    assert_string_equal(cJSON_GetArrayItem(cJSON_GetObjectItem(doc, "levels"), 1)->valuestring,
                        "ERROR");
    cJSON_Delete(doc);
    reqmem_reset();
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup(test_tree_from_arena, setup),
        cmocka_unit_test_setup(test_blocks_aligned_and_apart, setup),
        cmocka_unit_test_setup(test_big_block_from_heap, setup),
        cmocka_unit_test_setup(test_many_chunks_then_one, setup),
        cmocka_unit_test_setup(test_parse, setup),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
