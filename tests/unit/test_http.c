/* test_http.c -- unit tests for the query parser, body reader, responses, config and times. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "http.h"
#include "timeutil.h"


/* ---- helpers -------------------------------------------------------------------- */

/* Checks res holds exactly the API.md error body; parameter NULL means no such member. */
static void assert_error(const http_response_t *res, int status, const char *code,
                         const char *message, const char *parameter)
{
    const cJSON *success, *error, *msg, *param;

    assert_int_equal(res->status, status);
    assert_non_null(res->body);
    success = cJSON_GetObjectItemCaseSensitive(res->body, "success");
    error = cJSON_GetObjectItemCaseSensitive(res->body, "error");
    msg = cJSON_GetObjectItemCaseSensitive(res->body, "message");
    param = cJSON_GetObjectItemCaseSensitive(res->body, "parameter");
    assert_true(cJSON_IsFalse(success));
    assert_true(cJSON_IsString(error));
    assert_string_equal(error->valuestring, code);
    assert_true(cJSON_IsString(msg));
    if (message != NULL)
        assert_string_equal(msg->valuestring, message);
    if (parameter == NULL) {
        assert_null(param);
        assert_int_equal(cJSON_GetArraySize(res->body), 3);
    } else {
        assert_true(cJSON_IsString(param));
        assert_string_equal(param->valuestring, parameter);
        assert_int_equal(cJSON_GetArraySize(res->body), 4);
    }
}

/* Parses query into a fresh request that must be accepted; the caller frees it. */
static void parse_ok(http_request_t *req, const char *query)
{
    http_response_t res;

    memset(req, 0, sizeof *req);
    memset(&res, 0, sizeof res);
    if (http_parse_query(req, &res, query) != 0)
        fail_msg("rejected query \"%.80s\"", query);
    assert_int_equal(res.status, 0);
    assert_null(res.body);
}

/* Parses query, which must be rejected with a 400 INVALID_PARAMETER; frees everything. Returns
 * how many parameters were stored before the rejection. */
static int parse_rejected(const char *query, const char *message, const char *parameter)
{
    http_request_t req;
    http_response_t res;
    int nparams;

    memset(&req, 0, sizeof req);
    memset(&res, 0, sizeof res);
    if (http_parse_query(&req, &res, query) != -1)
        fail_msg("accepted query \"%.80s\"", query);
    assert_error(&res, 400, "INVALID_PARAMETER", message, parameter);
    nparams = req.nparams;
    http_request_free(&req);
    http_response_free(&res);
    assert_int_equal(req.nparams, 0);
    assert_null(res.body);
    return nparams;
}

/* Returns a malloc'ed string of n copies of c. */
static char *repeat(char c, size_t n)
{
    char *s = malloc(n + 1);
    assert_non_null(s);
    memset(s, c, n);
    s[n] = '\0';
    return s;
}


/* ---- 1. query string ------------------------------------------------------------ */

static void test_query_simple_pairs(void **state)
{
    http_request_t req;
    (void)state;
    parse_ok(&req, "level=ERROR&page=2&source=api");
    assert_int_equal(req.nparams, 3);
    assert_string_equal(req.params[0].name, "level");
    assert_string_equal(req.params[0].value, "ERROR");
    assert_string_equal(req.params[1].name, "page");
    assert_string_equal(req.params[1].value, "2");
    assert_string_equal(req.params[2].name, "source");
    assert_string_equal(req.params[2].value, "api");
    assert_string_equal(http_param(&req, "page"), "2");
    assert_null(http_param(&req, "Page"));
    assert_null(http_param(&req, "missing"));
    http_request_free(&req);
    assert_int_equal(req.nparams, 0);

    parse_ok(&req, "a==b");
    assert_int_equal(req.nparams, 1);
    assert_string_equal(http_param(&req, "a"), "=b");
    http_request_free(&req);
}

static void test_query_plus_and_percent(void **state)
{
    http_request_t req;
    (void)state;
    parse_ok(&req, "q=a+b++c&p=%2B1&r=+");
    assert_string_equal(http_param(&req, "q"), "a b  c");
    assert_string_equal(http_param(&req, "p"), "+1");
    assert_string_equal(http_param(&req, "r"), " ");
    http_request_free(&req);

    parse_ok(&req, "u=%41%42%63%6a%6A%7e%2f%2F%26%3D&%6Eame=%25&e=caf%C3%A9&x=%41");
    assert_int_equal(req.nparams, 4);
    assert_string_equal(http_param(&req, "u"), "ABcjj~//&=");
    assert_string_equal(http_param(&req, "name"), "%");
    assert_string_equal(http_param(&req, "e"), "caf\xc3\xa9");
    /* An escape ending exactly at the end of the query is complete. */
    assert_string_equal(http_param(&req, "x"), "A");
    http_request_free(&req);

    parse_ok(&req, "sp%20ace=1");
    assert_string_equal(req.params[0].name, "sp ace");
    http_request_free(&req);
}

static void test_query_empty_segments(void **state)
{
    http_request_t req;
    (void)state;
    parse_ok(&req, "a=1&&b=2");
    assert_int_equal(req.nparams, 2);
    assert_string_equal(http_param(&req, "a"), "1");
    assert_string_equal(http_param(&req, "b"), "2");
    http_request_free(&req);

    parse_ok(&req, "&a=1&");
    assert_int_equal(req.nparams, 1);
    assert_string_equal(http_param(&req, "a"), "1");
    http_request_free(&req);

    parse_ok(&req, "&&&");
    assert_int_equal(req.nparams, 0);
    http_request_free(&req);

    parse_ok(&req, "");
    assert_int_equal(req.nparams, 0);
    http_request_free(&req);

    parse_ok(&req, NULL);
    assert_int_equal(req.nparams, 0);
    http_request_free(&req);
}

static void test_query_name_without_value(void **state)
{
    http_request_t req;
    (void)state;
    parse_ok(&req, "flag&x=1&empty=");
    assert_int_equal(req.nparams, 3);
    assert_string_equal(req.params[0].name, "flag");
    assert_string_equal(req.params[0].value, "");
    assert_string_equal(http_param(&req, "x"), "1");
    assert_string_equal(http_param(&req, "empty"), "");
    http_request_free(&req);
}

static void test_query_bad_escapes(void **state)
{
    static const char *const bad[] = {
        "a=%",      "a=%4",   "a=%zz",  "a=%00", "a=%g1",  "a=%1g", "a=x%",  "a=%%41",
        "%=1",      "%4=1",   "%zz=1",  "%00=1", "a%00b=1", "a=1%0", "a=%-1", "a=% 1",
    };
    const char *const msg = "The query string has a malformed percent-escape or an empty name.";
    (void)state;
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        assert_int_equal(parse_rejected(bad[i], msg, NULL), 0);
    /* Parameters stored before the bad one stay owned by the request and are freed with it. */
    assert_int_equal(parse_rejected("a=1&b=2&c=%zz", msg, NULL), 2);
}

static void test_query_invalid_utf8(void **state)
{
    static const char *const bad_values[] = {
        "a=%C3%28",          /* lead byte followed by ASCII */
        "a=%C0%AF",          /* overlong '/' */
        "a=%E0%80%AF",       /* three-byte overlong */
        "a=%ED%A0%80",       /* surrogate U+D800 */
        "a=%F8%88%80%80%80", /* five-byte form */
        "a=%F4%90%80%80",    /* U+110000 */
        "a=%C3",             /* truncated */
        "a=%FF",
        "a=%80",
    };
    const char *const msg = "A parameter is not valid UTF-8.";
    (void)state;
    for (size_t i = 0; i < sizeof bad_values / sizeof bad_values[0]; i++)
        assert_int_equal(parse_rejected(bad_values[i], msg, "a"), 0);
    /* An invalid name is not echoed back in "parameter". */
    assert_int_equal(parse_rejected("%C3%28=1", msg, NULL), 0);
    assert_int_equal(parse_rejected("ok=1&%ED%A0%80", msg, NULL), 1);
}

static void test_query_empty_name(void **state)
{
    const char *const msg = "The query string has a malformed percent-escape or an empty name.";
    (void)state;
    assert_int_equal(parse_rejected("=x", msg, NULL), 0);
    assert_int_equal(parse_rejected("=", msg, NULL), 0);
    assert_int_equal(parse_rejected("a=1&=2", msg, NULL), 1);
}

static void test_query_repeated_name(void **state)
{
    const char *const msg = "A parameter is given twice.";
    (void)state;
    assert_int_equal(parse_rejected("a=1&a=2", msg, "a"), 1);
    assert_int_equal(parse_rejected("a&a", msg, "a"), 1);
    /* Names are compared after decoding. */
    assert_int_equal(parse_rejected("page=1&x=2&p%61ge=3", msg, "page"), 2);
}

static void test_query_too_many_params(void **state)
{
    char query[HTTP_MAX_PARAMS * 16];
    size_t n = 0;
    http_request_t req;
    (void)state;
    for (int i = 0; i < HTTP_MAX_PARAMS; i++)
        n += (size_t)snprintf(query + n, sizeof query - n, "%sp%d=%d", i ? "&" : "", i, i);
    parse_ok(&req, query);
    assert_int_equal(req.nparams, HTTP_MAX_PARAMS);
    assert_string_equal(http_param(&req, "p31"), "31");
    http_request_free(&req);

    snprintf(query + n, sizeof query - n, "&p%d=%d", HTTP_MAX_PARAMS, HTTP_MAX_PARAMS);
    assert_int_equal(parse_rejected(query, "Too many query parameters.", "p32"),
                     HTTP_MAX_PARAMS);
    /* Empty segments do not count as parameters. */
    snprintf(query + n, sizeof query - n, "&&&");
    parse_ok(&req, query);
    assert_int_equal(req.nparams, HTTP_MAX_PARAMS);
    http_request_free(&req);
}

static void test_query_value_too_long(void **state)
{
    char *value = repeat('x', HTTP_MAX_VALUE + 1), *query = malloc(HTTP_MAX_QUERY + 1);
    http_request_t req;
    (void)state;
    assert_non_null(query);
    snprintf(query, HTTP_MAX_QUERY + 1, "v=%.*s", HTTP_MAX_VALUE, value);
    parse_ok(&req, query);
    assert_int_equal(strlen(http_param(&req, "v")), HTTP_MAX_VALUE);
    http_request_free(&req);

    snprintf(query, HTTP_MAX_QUERY + 1, "v=%s", value);
    assert_int_equal(parse_rejected(query, "A parameter value is too long.", "v"), 0);

    /* The limit applies to the decoded bytes: 1024 escapes decode to 1024 bytes. */
    strcpy(query, "v=");
    for (int i = 0; i < HTTP_MAX_VALUE; i++)
        strcat(query, "%41");
    parse_ok(&req, query);
    assert_int_equal(strlen(http_param(&req, "v")), HTTP_MAX_VALUE);
    assert_int_equal(http_param(&req, "v")[HTTP_MAX_VALUE - 1], 'A');
    http_request_free(&req);
    free(value);
    free(query);
}

static void test_query_too_long(void **state)
{
    char *query = malloc(HTTP_MAX_QUERY + 2), *fill = repeat('y', HTTP_MAX_VALUE);
    size_t tail;
    http_request_t req;
    (void)state;
    assert_non_null(query);
    /* Four parameters, three '&', four "k=": 11 bytes around the values. */
    tail = HTTP_MAX_QUERY - 11 - 3 * HTTP_MAX_VALUE;
    snprintf(query, HTTP_MAX_QUERY + 2, "a=%s&b=%s&c=%s&d=%.*s", fill, fill, fill, (int)tail,
             fill);
    assert_int_equal(strlen(query), HTTP_MAX_QUERY);
    parse_ok(&req, query);
    assert_int_equal(req.nparams, 4);
    assert_int_equal(strlen(http_param(&req, "d")), tail);
    http_request_free(&req);

    strcat(query, "y");
    assert_int_equal(strlen(query), HTTP_MAX_QUERY + 1);
    assert_int_equal(parse_rejected(query, "The query string is too long.", NULL), 0);
    free(fill);
    free(query);
}


/* ---- 2. UTF-8 ------------------------------------------------------------------- */

typedef struct utf8_case {
    const char *text;
    size_t len;
} utf8_case_t;

#define U8(s) {s, sizeof s - 1}

static void test_utf8_valid_table(void **state)
{
    static const utf8_case_t valid[] = {
        U8(""),
        U8("plain ascii"),
        U8("\x7f"),                 /* U+007F */
        U8("\xc2\x80"),             /* U+0080 */
        U8("\xdf\xbf"),             /* U+07FF */
        U8("\xe0\xa0\x80"),         /* U+0800 */
        U8("\xed\x9f\xbf"),         /* U+D7FF, just below the surrogates */
        U8("\xee\x80\x80"),         /* U+E000, just above them */
        U8("\xef\xbf\xbf"),         /* U+FFFF */
        U8("\xf0\x90\x80\x80"),     /* U+10000 */
        U8("\xf4\x8f\xbf\xbf"),     /* U+10FFFF */
        U8("caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80"),
        U8("a\0b"),                 /* NUL is valid UTF-8; the query parser refuses it itself */
    };
    static const utf8_case_t invalid[] = {
        U8("\x80"),                 /* lone continuation */
        U8("\xbf"),
        U8("\xc0\x80"),             /* overlong U+0000 */
        U8("\xc1\xbf"),             /* overlong U+007F */
        U8("\xe0\x9f\xbf"),         /* overlong U+07FF */
        U8("\xf0\x8f\xbf\xbf"),     /* overlong U+FFFF */
        U8("\xed\xa0\x80"),         /* U+D800 */
        U8("\xed\xbf\xbf"),         /* U+DFFF */
        U8("\xf4\x90\x80\x80"),     /* U+110000 */
        U8("\xf5\x80\x80\x80"),
        U8("\xf7\xbf\xbf\xbf"),
        U8("\xf8\x88\x80\x80\x80"), /* five-byte form */
        U8("\xfc\x84\x80\x80\x80\x80"),
        U8("\xfe"),
        U8("\xff"),
        U8("\xc2"),                 /* truncated sequences */
        U8("\xe0\xa0"),
        U8("\xf0\x90\x80"),
        U8("abc\xc3"),
        U8("\xc2\x41"),             /* continuation replaced by ASCII */
        U8("\xe0\x41\x80"),
        U8("\xf0\x90\x41\x80"),
        U8("\xc3\xa9\xa9"),         /* one continuation too many */
    };
    (void)state;
    for (size_t i = 0; i < sizeof valid / sizeof valid[0]; i++) {
        if (!http_utf8_valid(valid[i].text, valid[i].len))
            fail_msg("rejected valid UTF-8 #%zu", i);
    }
    for (size_t i = 0; i < sizeof invalid / sizeof invalid[0]; i++) {
        if (http_utf8_valid(invalid[i].text, invalid[i].len))
            fail_msg("accepted invalid UTF-8 #%zu", i);
    }
    /* The length bounds the check, in both directions. */
    assert_false(http_utf8_valid("\xc2\x80", 1));
    assert_true(http_utf8_valid("ab\xff", 2));
    assert_false(http_utf8_valid("\xf0\x90\x80\x80", 3));
}


/* ---- 3. config_parse_int -------------------------------------------------------- */

static void test_config_parse_int(void **state)
{
    static const char *const bad[] = {
        "11", "-11", "+5", " 5", "5 ", "\t5", "5\n", "5x", "0x10", "1e3", "1.0",
        "",   "-",   "--5", "- 5", "-+5", "\xd9\xa3",
    };
    long v = 0;
    (void)state;
    assert_int_equal(config_parse_int("0", -10, 10, &v), 0);
    assert_int_equal(v, 0);
    assert_int_equal(config_parse_int("7", -10, 10, &v), 0);
    assert_int_equal(v, 7);
    assert_int_equal(config_parse_int("-7", -10, 10, &v), 0);
    assert_int_equal(v, -7);
    assert_int_equal(config_parse_int("10", -10, 10, &v), 0);
    assert_int_equal(v, 10);
    assert_int_equal(config_parse_int("-10", -10, 10, &v), 0);
    assert_int_equal(v, -10);
    /* Leading zeros are plain decimal, not octal. */
    assert_int_equal(config_parse_int("010", -10, 10, &v), 0);
    assert_int_equal(v, 10);

    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        v = 12345;
        if (config_parse_int(bad[i], -10, 10, &v) != -1)
            fail_msg("accepted \"%s\"", bad[i]);
        assert_int_equal(v, 12345);
    }
    assert_int_equal(config_parse_int(NULL, 0, 10, &v), -1);
    assert_int_equal(v, 12345);

    assert_int_equal(config_parse_int("9223372036854775807", 0, LONG_MAX, &v), 0);
    assert_true(v == LONG_MAX);
    assert_int_equal(config_parse_int("-9223372036854775808", LONG_MIN, 0, &v), 0);
    assert_true(v == LONG_MIN);
    v = 1;
    assert_int_equal(config_parse_int("9223372036854775808", 0, LONG_MAX, &v), -1);
    assert_int_equal(config_parse_int("-9223372036854775809", LONG_MIN, 0, &v), -1);
    assert_int_equal(config_parse_int("99999999999999999999999", 0, LONG_MAX, &v), -1);
    assert_int_equal(v, 1);
}


/* ---- 4. typed parameters -------------------------------------------------------- */

static void test_param_int(void **state)
{
    static const char *const bad[] = {"page=abc", "page=0", "page=101", "page=", "page=-1",
                                      "page=1.5", "page=+2", "page=%202"};
    http_request_t req;
    http_response_t res;
    long v = 0;
    (void)state;
    parse_ok(&req, "page=3&low=1&high=100");
    memset(&res, 0, sizeof res);
    assert_int_equal(http_param_int(&req, &res, "page", 1, 1, 100, &v), 0);
    assert_int_equal(v, 3);
    assert_int_equal(http_param_int(&req, &res, "low", 50, 1, 100, &v), 0);
    assert_int_equal(v, 1);
    assert_int_equal(http_param_int(&req, &res, "high", 50, 1, 100, &v), 0);
    assert_int_equal(v, 100);
    assert_int_equal(http_param_int(&req, &res, "limit", 50, 1, 100, &v), 0);
    assert_int_equal(v, 50);
    assert_int_equal(res.status, 0);
    assert_null(res.body);
    http_request_free(&req);

    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        parse_ok(&req, bad[i]);
        v = 777;
        if (http_param_int(&req, &res, "page", 1, 1, 100, &v) != -1)
            fail_msg("accepted %s", bad[i]);
        assert_int_equal(v, 777);
        assert_error(&res, 400, "INVALID_PARAMETER", "page must be a whole number from 1 to 100.",
                     "page");
        http_request_free(&req);
        http_response_free(&res);
    }
}

static void test_param_enum(void **state)
{
    static const char *const order[] = {"asc", "desc", NULL};
    static const char *const many[] = {
        "choice-number-00", "choice-number-01", "choice-number-02", "choice-number-03",
        "choice-number-04", "choice-number-05", "choice-number-06", "choice-number-07",
        "choice-number-08", "choice-number-09", "choice-number-10", "choice-number-11",
        "choice-number-12", "choice-number-13", "choice-number-14", "choice-number-15",
        "choice-number-16", "choice-number-17", "choice-number-18", "choice-number-19",
        NULL,
    };
    http_request_t req;
    http_response_t res;
    const cJSON *msg;
    (void)state;
    memset(&res, 0, sizeof res);
    parse_ok(&req, "a=DESC&b=Asc&c=desc&d=up&e=&f=choice-number-19");
    assert_int_equal(http_param_enum(&req, &res, "a", order, 0), 1);
    assert_int_equal(http_param_enum(&req, &res, "b", order, 1), 0);
    assert_int_equal(http_param_enum(&req, &res, "c", order, 0), 1);
    assert_int_equal(http_param_enum(&req, &res, "absent", order, 1), 1);
    assert_int_equal(http_param_enum(&req, &res, "absent", order, -2), -2);
    assert_int_equal(res.status, 0);
    assert_null(res.body);

    assert_int_equal(http_param_enum(&req, &res, "d", order, 0), -1);
    assert_error(&res, 400, "INVALID_PARAMETER", "d must be one of: asc, desc.", "d");
    assert_int_equal(http_param_enum(&req, &res, "e", order, 0), -1);
    assert_error(&res, 400, "INVALID_PARAMETER", "e must be one of: asc, desc.", "e");

    assert_int_equal(http_param_enum(&req, &res, "f", many, 0), 19);
    /* A list longer than the message buffer is cut, never overflowed. */
    assert_int_equal(http_param_enum(&req, &res, "d", many, 0), -1);
    assert_error(&res, 400, "INVALID_PARAMETER", NULL, "d");
    msg = cJSON_GetObjectItemCaseSensitive(res.body, "message");
    assert_int_equal(strlen(msg->valuestring), 255);
    assert_memory_equal(msg->valuestring, "d must be one of: choice-number-00, choice-number-01",
                        52);
    http_request_free(&req);
    http_response_free(&res);
}

static void test_allow_params(void **state)
{
    static const char *const allowed[] = {"page", "level", NULL};
    static const char *const none[] = {NULL};
    http_request_t req;
    http_response_t res;
    (void)state;
    memset(&res, 0, sizeof res);
    parse_ok(&req, "page=1&level=x");
    assert_int_equal(http_allow_params(&req, &res, allowed), 0);
    assert_int_equal(res.status, 0);
    assert_null(res.body);
    http_request_free(&req);

    parse_ok(&req, "");
    assert_int_equal(http_allow_params(&req, &res, none), 0);
    http_request_free(&req);

    parse_ok(&req, "page=1&bogus=2&other=3");
    assert_int_equal(http_allow_params(&req, &res, allowed), -1);
    assert_error(&res, 400, "INVALID_PARAMETER", "This route has no parameter of that name.",
                 "bogus");
    http_request_free(&req);
    http_response_free(&res);

    /* Names match exactly: case matters. */
    parse_ok(&req, "Page=1");
    assert_int_equal(http_allow_params(&req, &res, allowed), -1);
    assert_error(&res, 400, "INVALID_PARAMETER", NULL, "Page");
    http_request_free(&req);
    http_response_free(&res);
}


/* ---- 5. body reader ------------------------------------------------------------- */

/* A stream of up to three chunks handed out by fill(); then end of input. */
typedef struct fake_input {
    unsigned char chunks[3][64];
    size_t lens[3];
    int nchunks, next, fills;
} fake_input_t;

typedef struct fake_fcgi {
    FCGX_Request fcgi;
    FCGX_Stream in;
    fake_input_t input;
    char env_length[64];
    char *envp[3];
} fake_fcgi_t;

static void fake_fill(FCGX_Stream *stream)
{
    fake_input_t *input = stream->data;
    input->fills++;
    if (input->next == input->nchunks) {
        stream->isClosed = 1;
        return;
    }
    stream->rdNext = input->chunks[input->next];
    stream->stop = stream->rdNext + input->lens[input->next];
    stream->stopUnget = stream->rdNext;
    input->next++;
}

/* content_length NULL leaves CONTENT_LENGTH out of the environment; the body arrives in the
 * NULL-terminated list of chunks. */
static void fake_init(fake_fcgi_t *f, const char *content_length, const char *const *chunks)
{
    int k = 0;

    memset(f, 0, sizeof *f);
    for (int i = 0; chunks[i] != NULL; i++) {
        assert_true(i < 3 && strlen(chunks[i]) <= sizeof f->input.chunks[i]);
        f->input.lens[i] = strlen(chunks[i]);
        memcpy(f->input.chunks[i], chunks[i], f->input.lens[i]);
        f->input.nchunks++;
    }
    f->envp[k++] = (char *)"REQUEST_METHOD=POST";
    if (content_length != NULL) {
        snprintf(f->env_length, sizeof f->env_length, "CONTENT_LENGTH=%s", content_length);
        f->envp[k++] = f->env_length;
    }
    f->envp[k] = NULL;
    f->in.rdNext = f->in.stop = f->in.stopUnget = f->input.chunks[0];
    f->in.wrNext = NULL;
    f->in.isReader = 1;
    f->in.isClosed = 0;
    f->in.FCGI_errno = 0;
    f->in.fillBuffProc = fake_fill;
    f->in.data = &f->input;
    f->fcgi.in = &f->in;
    f->fcgi.envp = f->envp;
}

/* Runs http_read_body on a fresh request; the caller frees req and res. */
static int read_body(fake_fcgi_t *f, http_request_t *req, http_response_t *res,
                     const char *content_length, const char *const *chunks, size_t limit)
{
    fake_init(f, content_length, chunks);
    memset(req, 0, sizeof *req);
    memset(res, 0, sizeof *res);
    req->fcgi = &f->fcgi;
    return http_read_body(req, res, limit);
}

static void test_body_exact(void **state)
{
    static const char *const hello[] = {"hello", NULL};
    static const char *const split[] = {"he", "l", "lo", NULL};
    static const char *const longer[] = {"hello world", NULL};
    static const char *const empty[] = {NULL};
    fake_fcgi_t f;
    http_request_t req;
    http_response_t res;
    (void)state;
    assert_int_equal(read_body(&f, &req, &res, "5", hello, 100), 0);
    assert_int_equal(req.body_len, 5);
    assert_memory_equal(req.body, "hello", 6);
    assert_int_equal(res.status, 0);
    assert_null(res.body);
    http_request_free(&req);
    assert_null(req.body);

    assert_int_equal(read_body(&f, &req, &res, "5", split, 100), 0);
    assert_int_equal(req.body_len, 5);
    assert_memory_equal(req.body, "hello", 6);
    assert_int_equal(f.input.next, 3);
    http_request_free(&req);

    /* Only the announced bytes are read; the rest stays in the stream. */
    assert_int_equal(read_body(&f, &req, &res, "5", longer, 100), 0);
    assert_int_equal(req.body_len, 5);
    assert_memory_equal(req.body, "hello", 6);
    assert_ptr_equal(f.in.rdNext, f.input.chunks[0] + 5);
    http_request_free(&req);

    /* A limit equal to the length is allowed. */
    assert_int_equal(read_body(&f, &req, &res, "5", hello, 5), 0);
    assert_int_equal(req.body_len, 5);
    http_request_free(&req);

    assert_int_equal(read_body(&f, &req, &res, "0", empty, 100), 0);
    assert_int_equal(req.body_len, 0);
    assert_non_null(req.body);
    assert_string_equal(req.body, "");
    assert_int_equal(f.input.fills, 0);
    http_request_free(&req);
}

static void test_body_bad_length(void **state)
{
    static const char *const hello[] = {"hello", NULL};
    static const char *const bad[] = {"abc", "-1", "-5", "5x", " 5", "+5", "5.0", "0x5",
                                      "1099511627777", "99999999999999999999999"};
    fake_fcgi_t f;
    http_request_t req;
    http_response_t res;
    (void)state;
    assert_int_equal(read_body(&f, &req, &res, NULL, hello, 100), -1);
    assert_error(&res, 400, "INVALID_JSON", "A request body with a Content-Length is required.",
                 NULL);
    assert_null(req.body);
    http_request_free(&req);
    http_response_free(&res);

    assert_int_equal(read_body(&f, &req, &res, "", hello, 100), -1);
    assert_error(&res, 400, "INVALID_JSON", "A request body with a Content-Length is required.",
                 NULL);
    http_request_free(&req);
    http_response_free(&res);

    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        if (read_body(&f, &req, &res, bad[i], hello, 100) != -1)
            fail_msg("accepted Content-Length \"%s\"", bad[i]);
        assert_error(&res, 400, "INVALID_PARAMETER", "Content-Length is not a valid number.",
                     NULL);
        assert_null(req.body);
        assert_ptr_equal(f.in.rdNext, f.input.chunks[0]);
        assert_int_equal(f.input.fills, 0);
        http_request_free(&req);
        http_response_free(&res);
    }
}

static void test_body_too_large(void **state)
{
    static const char *const body[] = {"hello world", NULL};
    fake_fcgi_t f;
    http_request_t req;
    http_response_t res;
    (void)state;
    assert_int_equal(read_body(&f, &req, &res, "11", body, 10), -1);
    assert_error(&res, 413, "PAYLOAD_TOO_LARGE",
                 "The request body exceeds this route's limit of 10 bytes.", NULL);
    assert_null(req.body);
    assert_int_equal(req.body_len, 0);
    /* Nothing was read. */
    assert_ptr_equal(f.in.rdNext, f.input.chunks[0]);
    assert_int_equal(f.input.fills, 0);
    http_request_free(&req);
    http_response_free(&res);

    /* The largest length that parses is still refused by the limit, not allocated. */
    assert_int_equal(read_body(&f, &req, &res, "1099511627776", body, 1048576), -1);
    assert_error(&res, 413, "PAYLOAD_TOO_LARGE",
                 "The request body exceeds this route's limit of 1048576 bytes.", NULL);
    assert_null(req.body);
    assert_int_equal(f.input.fills, 0);
    http_request_free(&req);
    http_response_free(&res);
}

static void test_body_short(void **state)
{
    static const char *const abc[] = {"abc", NULL};
    static const char *const split[] = {"ab", "c", NULL};
    static const char *const empty[] = {NULL};
    fake_fcgi_t f;
    http_request_t req;
    http_response_t res;
    (void)state;
    assert_int_equal(read_body(&f, &req, &res, "5", abc, 100), -1);
    assert_error(&res, 400, "INVALID_JSON", "The request body ended early.", NULL);
    assert_int_equal(req.body_len, 3);
    assert_memory_equal(req.body, "abc", 4);
    assert_int_equal(f.in.isClosed, 1);
    http_request_free(&req);
    http_response_free(&res);

    assert_int_equal(read_body(&f, &req, &res, "4", split, 100), -1);
    assert_error(&res, 400, "INVALID_JSON", "The request body ended early.", NULL);
    assert_int_equal(req.body_len, 3);
    assert_memory_equal(req.body, "abc", 4);
    http_request_free(&req);
    http_response_free(&res);

    assert_int_equal(read_body(&f, &req, &res, "1", empty, 100), -1);
    assert_error(&res, 400, "INVALID_JSON", "The request body ended early.", NULL);
    assert_int_equal(req.body_len, 0);
    assert_string_equal(req.body, "");
    http_request_free(&req);
    http_response_free(&res);
}


/* ---- 6. response shaping -------------------------------------------------------- */

static void test_error_and_ok(void **state)
{
    http_response_t res;
    cJSON *body;
    char *json;
    (void)state;
    memset(&res, 0, sizeof res);
    assert_int_equal(http_error(&res, 404, "NOT_FOUND", "No such thing.", NULL), -1);
    assert_error(&res, 404, "NOT_FOUND", "No such thing.", NULL);
    json = cJSON_PrintUnformatted(res.body);
    assert_string_equal(json,
                        "{\"success\":false,\"error\":\"NOT_FOUND\",\"message\":\"No such thing.\"}");
    free(json);

    /* A second error replaces the first body (ASan reports the old one if it leaked). */
    assert_int_equal(http_error(&res, 400, "INVALID_PARAMETER", "Bad page.", "page"), -1);
    assert_error(&res, 400, "INVALID_PARAMETER", "Bad page.", "page");
    json = cJSON_PrintUnformatted(res.body);
    assert_string_equal(json, "{\"success\":false,\"error\":\"INVALID_PARAMETER\","
                              "\"message\":\"Bad page.\",\"parameter\":\"page\"}");
    free(json);

    body = http_ok(&res);
    assert_ptr_equal(body, res.body);
    assert_int_equal(res.status, 200);
    json = cJSON_PrintUnformatted(res.body);
    assert_string_equal(json, "{\"success\":true}");
    free(json);

    cJSON_AddNumberToObject(body, "n", 1);
    assert_int_equal(http_error(&res, 503, "SERVICE_UNAVAILABLE", "Busy.", NULL), -1);
    assert_error(&res, 503, "SERVICE_UNAVAILABLE", "Busy.", NULL);
    http_response_free(&res);
    assert_null(res.body);
    http_response_free(&res);
}

/* Every line in headers[0..len) is "Name: value\r\n" and the string ends at len. */
static void assert_headers_well_formed(const http_response_t *res)
{
    const char *p = res->headers, *end = res->headers + res->headers_len;

    assert_true(res->headers_len < sizeof res->headers);
    assert_int_equal(strlen(res->headers), res->headers_len);
    while (p < end) {
        const char *crlf = strstr(p, "\r\n"), *colon = strstr(p, ": ");
        assert_non_null(crlf);
        assert_non_null(colon);
        assert_true(colon > p && colon < crlf);
        assert_null(memchr(p, '\n', (size_t)(crlf - p)));
        p = crlf + 2;
    }
    assert_ptr_equal(p, end);
}

static void test_add_header(void **state)
{
    http_response_t res;
    char value[200];
    size_t before;
    int added = 0;
    (void)state;
    memset(&res, 0, sizeof res);
    http_add_header(&res, "X-A", "1");
    assert_string_equal(res.headers, "X-A: 1\r\n");
    assert_int_equal(res.headers_len, 8);
    http_add_header(&res, "X-Count", "%d of %s", 42, "many");
    assert_string_equal(res.headers, "X-A: 1\r\nX-Count: 42 of many\r\n");
    assert_int_equal(res.headers_len, 29);
    assert_headers_well_formed(&res);

    /* Fill with 40-byte lines until full; the buffer never overflows and stays well-formed. */
    memset(value, 'v', 28);
    value[28] = '\0';
    for (int i = 0; i < 100; i++) {
        before = res.headers_len;
        http_add_header(&res, "X-Fill", "%02d%s", i % 100, value);
        assert_headers_well_formed(&res);
        if (res.headers_len != before) {
            assert_int_equal(res.headers_len, before + 40);
            added++;
        }
    }
    /* 29 + 24 * 40 = 989 bytes; a 25th line would need 1029 bytes plus the NUL. */
    assert_int_equal(added, 24);
    assert_int_equal(res.headers_len, 989);

    /* A value that would not fit is dropped whole, even by one byte; a short one still fits. */
    memset(value, 'w', sizeof value - 1);
    value[sizeof value - 1] = '\0';
    http_add_header(&res, "X-Big", "%s", value);
    assert_int_equal(res.headers_len, 989);
    assert_headers_well_formed(&res);
    http_add_header(&res, "X-Last", "%s", "0123456789012345678901234");
    assert_int_equal(res.headers_len, 989);
    assert_headers_well_formed(&res);
    http_add_header(&res, "X-Last", "%s", "012345678901234567890123");
    assert_int_equal(res.headers_len, 1023);
    assert_headers_well_formed(&res);
    assert_string_equal(res.headers + 989, "X-Last: 012345678901234567890123\r\n");
    http_add_header(&res, "X", "%s", "");
    assert_int_equal(res.headers_len, 1023);
    assert_headers_well_formed(&res);
    http_response_free(&res);
}

/* The number member name of obj, which must exist. */
static double number_of(const cJSON *obj, const char *name)
{
    const cJSON *item = cJSON_GetObjectItemCaseSensitive(obj, name);
    assert_true(cJSON_IsNumber(item));
    return item->valuedouble;
}

static void test_json_add_rounded(void **state)
{
    cJSON *obj = cJSON_CreateObject();
    char *json;
    (void)state;
    /* 1.005 is stored as 1.00499999999999989..., so *100 gives 100.4999... and rounds down. */
    json_add_rounded(obj, "a", 1.005, 2);
    /* 2.345 is stored as 2.34500000000000019..., so it rounds up. */
    json_add_rounded(obj, "b", 2.345, 2);
    /* 2.675 is stored below 2.675, but 2.675 * 100 rounds to exactly 267.5 and round() goes up. */
    json_add_rounded(obj, "c", 2.675, 2);
    /* Exact halves round away from zero. */
    json_add_rounded(obj, "d", 0.125, 2);
    json_add_rounded(obj, "e", -2.5, 0);
    json_add_rounded(obj, "f", 2.5, 0);
    json_add_rounded(obj, "g", 1234.5678, 1);
    json_add_rounded(obj, "h", 1234.5678, 0);
    json_add_rounded(obj, "i", 0.0, 3);
    json_add_rounded(obj, "j", 99.999, 2);
    assert_true(number_of(obj, "a") == 1.0);
    assert_true(number_of(obj, "b") == 2.35);
    assert_true(number_of(obj, "c") == 2.68);
    assert_true(number_of(obj, "d") == 0.13);
    assert_true(number_of(obj, "e") == -3.0);
    assert_true(number_of(obj, "f") == 3.0);
    assert_true(number_of(obj, "g") == 1234.6);
    assert_true(number_of(obj, "h") == 1235.0);
    assert_true(number_of(obj, "i") == 0.0);
    assert_true(number_of(obj, "j") == 100.0);
    json = cJSON_PrintUnformatted(obj);
    assert_string_equal(json, "{\"a\":1,\"b\":2.35,\"c\":2.68,\"d\":0.13,\"e\":-3,\"f\":3,"
                              "\"g\":1234.6,\"h\":1235,\"i\":0,\"j\":100}");
    free(json);
    cJSON_Delete(obj);
}

static void test_json_add_time(void **state)
{
    cJSON *obj = cJSON_CreateObject();
    char *json;
    (void)state;
    json_add_time(obj, "epoch", 0);
    json_add_time(obj, "t", INT64_C(1760799845123));
    json_add_time(obj, "ms7", INT64_C(1760799845007));
    json_add_time(obj, "leap", INT64_C(1709164800000) + 86399999);
    json_add_time(obj, "max", INT64_C(253402300799999));
    json = cJSON_PrintUnformatted(obj);
    assert_string_equal(json, "{\"epoch\":\"1970-01-01T00:00:00.000Z\","
                              "\"t\":\"2025-10-18T15:04:05.123Z\","
                              "\"ms7\":\"2025-10-18T15:04:05.007Z\","
                              "\"leap\":\"2024-02-29T23:59:59.999Z\","
                              "\"max\":\"9999-12-31T23:59:59.999Z\"}");
    free(json);
    cJSON_Delete(obj);
}


/* ---- 7. RFC 3339 ---------------------------------------------------------------- */

#define T_2025 INT64_C(1760799845000) /* 2025-10-18T15:04:05Z */

static void expect_time(const char *text, int64_t want)
{
    int64_t got = -42;
    if (time_parse_rfc3339(text, &got) != 0)
        fail_msg("rejected \"%s\"", text);
    if (got != want)
        fail_msg("\"%s\" gave %lld, want %lld", text, (long long)got, (long long)want);
}

static void test_time_parse_valid(void **state)
{
    (void)state;
    expect_time("2025-10-18T15:04:05Z", T_2025);
    expect_time("2025-10-18t15:04:05z", T_2025);
    expect_time("2025-10-18 15:04:05Z", T_2025);
    expect_time("2025-10-18T15:04:05+00:00", T_2025);
    expect_time("2025-10-18T15:04:05-00:00", T_2025);
    expect_time("2025-10-18T20:34:05+05:30", T_2025);
    expect_time("2025-10-17T23:05:05-15:59", T_2025);
    expect_time("2025-10-19T07:03:05+15:59", T_2025);
    expect_time("2025-10-18T15:04:05.1Z", T_2025 + 100);
    expect_time("2025-10-18T15:04:05.12Z", T_2025 + 120);
    expect_time("2025-10-18T15:04:05.123Z", T_2025 + 123);
    expect_time("2025-10-18T15:04:05.0009Z", T_2025);
    /* Digits past the millisecond are dropped, not rounded. */
    expect_time("2025-10-18T15:04:05.123999999Z", T_2025 + 123);
    expect_time("2025-10-18T20:34:05.5+05:30", T_2025 + 500);
    expect_time("1970-01-01T00:00:00Z", 0);
    expect_time("2024-02-29T00:00:00Z", INT64_C(1709164800000));
    expect_time("2000-02-29T12:34:56Z", INT64_C(951827696000));
    expect_time("9999-12-31T23:59:59.999Z", INT64_C(253402300799999));
    /* A leap second is accepted and lands on the next second. */
    expect_time("2016-12-31T23:59:60Z", INT64_C(1483228800000));
}

static void test_time_parse_invalid(void **state)
{
    static const char *const bad[] = {
        "2025-10-18T15:04:05+16:00",  "2025-10-18T15:04:05-16:00",
        "2025-10-18T15:04:05+05:60",  "2025-10-18T15:04:05+0530",
        "2025-10-18T15:04:05+05",     "2025-10-18T15:04:05+5:30",
        "2025-10-18T15:04:05.1234567890Z", "2025-10-18T15:04:05.Z",
        "2025-10-18T15:04:05",        "2025-10-18",
        "2025-02-30T00:00:00Z",       "2025-13-01T00:00:00Z",
        "2025-00-01T00:00:00Z",       "2025-01-00T00:00:00Z",
        "2025-01-32T00:00:00Z",       "2025-04-31T00:00:00Z",
        "2025-01-01T24:00:00Z",       "2025-01-01T23:60:00Z",
        "2025-01-01T23:59:61Z",       "2023-02-29T00:00:00Z",
        "1900-02-29T00:00:00Z",       "2100-02-29T00:00:00Z",
        "2025-10-18T15:04:05Zx",      "2025-10-18T15:04:05Z ",
        "2025-10-18T15:04:05+05:30x", "2025-10-18T15:04:05.123",
        "",                           "2025-1-18T15:04:05Z",
        "2025/10/18T15:04:05Z",       "2025-10-18X15:04:05Z",
        "2025-10-18T15-04-05Z",       "2025-10-18T1:04:05Z",
        "1969-12-31T23:59:59Z",       "+2025-10-18T15:04:05Z",
        " 2025-10-18T15:04:05Z",      "20251018T150405Z",
    };
    (void)state;
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        int64_t out = -42;
        if (time_parse_rfc3339(bad[i], &out) != -1)
            fail_msg("accepted \"%s\"", bad[i]);
        assert_int_equal(out, -42);
    }
}

static void test_time_round_trip(void **state)
{
    static const int64_t times[] = {
        0, 1, 999, 1000, INT64_C(951827696789), INT64_C(1709164800000), T_2025 + 123,
        INT64_C(4102444799999), INT64_C(253402300799999),
    };
    char buf[40];
    (void)state;
    for (size_t i = 0; i < sizeof times / sizeof times[0]; i++) {
        int64_t back = -1;
        time_format_rfc3339(times[i], buf, sizeof buf);
        assert_int_equal(strlen(buf), 24);
        assert_int_equal(buf[23], 'Z');
        assert_int_equal(buf[19], '.');
        assert_int_equal(time_parse_rfc3339(buf, &back), 0);
        assert_int_equal(back, times[i]);
    }
    assert_string_equal(time_format_rfc3339(T_2025 + 9, buf, sizeof buf),
                        "2025-10-18T15:04:05.009Z");
    /* The formatted second is kept: the same second again, the next one, and back. */
    assert_string_equal(time_format_rfc3339(T_2025 + 990, buf, sizeof buf),
                        "2025-10-18T15:04:05.990Z");
    assert_string_equal(time_format_rfc3339(T_2025 + 1000, buf, sizeof buf),
                        "2025-10-18T15:04:06.000Z");
    assert_string_equal(time_format_rfc3339(T_2025 - 1, buf, sizeof buf),
                        "2025-10-18T15:04:04.999Z");
    /* A short buffer gets the text cut, terminated, as snprintf would. */
    assert_string_equal(time_format_rfc3339(T_2025 + 9, buf, 11), "2025-10-18");
}


/* ---- 8. DSN masking ------------------------------------------------------------- */

static void expect_mask(const char *dsn, const char *want)
{
    char out[256];
    config_mask_dsn(dsn, out, sizeof out);
    assert_string_equal(out, want);
}

static void test_mask_dsn(void **state)
{
    char small[12];
    (void)state;
    expect_mask("postgresql://app:s3cret@db.example:5432/elog",
                "postgresql://app:****@db.example:5432/elog");
    expect_mask("postgres://app:pa:ss@db/elog?sslmode=require",
                "postgres://app:****@db/elog?sslmode=require");
    expect_mask("postgresql://app@db.example:5432/elog", "postgresql://app@db.example:5432/elog");
    expect_mask("postgresql://db.example:5432/elog", "postgresql://db.example:5432/elog");
    expect_mask("postgresql://app@db/elog?password=secret", "postgresql://app@db/elog?password=****");
    expect_mask("host=db user=app password=secret dbname=elog",
                "host=db user=app password=**** dbname=elog");
    expect_mask("host=db password='a b' dbname=elog", "host=db password=**** dbname=elog");
    expect_mask("password='it\\'s here' host=db", "password=**** host=db");
    expect_mask("host=db password=secret", "host=db password=****");
    expect_mask("host=db\tpassword=secret\tport=5432", "host=db\tpassword=****\tport=5432");
    expect_mask("host=db user=app dbname=elog", "host=db user=app dbname=elog");
    expect_mask("", "");
    expect_mask(NULL, "(libpq defaults)");

    /* A short buffer truncates and never shows the password. */
    config_mask_dsn("postgresql://app:s3cret@db/elog", small, sizeof small);
    assert_string_equal(small, "postgresql:");
    config_mask_dsn("password=s3cret", small, sizeof small);
    assert_string_equal(small, "password=**");
}


/* ---- 9. config_load ------------------------------------------------------------- */

static void clear_env(void)
{
    static const char *const names[] = {
        "DB_CONNECTION_BUDGET", "POOL_MIN", "POOL_MAX", "POOL_ACQUIRE_TIMEOUT_MS",
        "POOL_IDLE_TIMEOUT_S", "POOL_MAX_LIFETIME_S", "POOL_PING_IDLE_S",
        "DB_CONNECT_TIMEOUT_S", "DB_STATEMENT_TIMEOUT_MS", "MAX_REQUESTS", "DB_MAX_SIZE_MB",
        "AUTH_REQUIRED", "POOL_REUSE", "DB_PREPARED_STATEMENTS", "DATABASE_URL",
        "JWT_SECRET_KEY", "APP_ENV", "ELOG_RUN_DIR", "LOG_LEVEL",
    };
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++)
        unsetenv(names[i]);
}

#define SECRET_32 "0123456789abcdef0123456789abcdef"

static void expect_load_error(const char *want)
{
    char err[256] = "";
    assert_int_equal(config_load(err, sizeof err), -1);
    assert_string_equal(err, want);
}

static void test_config_defaults(void **state)
{
    char err[256] = "";
    (void)state;
    clear_env();
    setenv("JWT_SECRET_KEY", SECRET_32, 1);
    assert_int_equal(config_load(err, sizeof err), 0);
    assert_string_equal(err, "");
    assert_int_equal(cfg.db_connection_budget, 20);
    assert_int_equal(cfg.pool_min, 1);
    assert_int_equal(cfg.pool_max, 2);
    assert_int_equal(cfg.pool_acquire_timeout_ms, 2000);
    assert_int_equal(cfg.pool_idle_timeout_s, 300);
    assert_int_equal(cfg.pool_max_lifetime_s, 1800);
    assert_int_equal(cfg.pool_ping_idle_s, 30);
    assert_int_equal(cfg.db_connect_timeout_s, 5);
    assert_int_equal(cfg.db_statement_timeout_ms, 30000);
    assert_int_equal(cfg.max_requests, 0);
    assert_int_equal(cfg.db_max_size_mb, 1024);
    assert_true(cfg.auth_required);
    assert_true(cfg.pool_reuse);
    assert_true(cfg.db_prepared_statements);
    assert_null(cfg.database_url);
    assert_string_equal(cfg.jwt_secret_key, SECRET_32);
    assert_string_equal(cfg.environment, "development");
    assert_null(cfg.run_dir);
    assert_string_equal(cfg.log_level, "info");

    /* An empty variable takes the default too. */
    setenv("POOL_MAX", "", 1);
    setenv("APP_ENV", "", 1);
    assert_int_equal(config_load(err, sizeof err), 0);
    assert_int_equal(cfg.pool_max, 2);
    assert_string_equal(cfg.environment, "development");

    setenv("POOL_MAX", "64", 1);
    setenv("POOL_MIN", "0", 1);
    setenv("POOL_REUSE", "0", 1);
    setenv("DB_CONNECTION_BUDGET", "7", 1);
    setenv("APP_ENV", "production", 1);
    assert_int_equal(config_load(err, sizeof err), 0);
    assert_int_equal(cfg.pool_max, 64);
    assert_int_equal(cfg.pool_min, 0);
    assert_false(cfg.pool_reuse);
    assert_int_equal(cfg.db_connection_budget, 7);
    assert_string_equal(cfg.environment, "production");
    clear_env();
}

static void test_config_pool_errors(void **state)
{
    char err[256];
    (void)state;
    clear_env();
    setenv("JWT_SECRET_KEY", SECRET_32, 1);
    setenv("POOL_MAX", "abc", 1);
    expect_load_error("POOL_MAX must be a whole number from 1 to 64 (got \"abc\")");
    setenv("POOL_MAX", "0", 1);
    expect_load_error("POOL_MAX must be a whole number from 1 to 64 (got \"0\")");
    setenv("POOL_MAX", "65", 1);
    expect_load_error("POOL_MAX must be a whole number from 1 to 64 (got \"65\")");
    setenv("POOL_MAX", " 2", 1);
    expect_load_error("POOL_MAX must be a whole number from 1 to 64 (got \" 2\")");

    setenv("POOL_MAX", "2", 1);
    setenv("POOL_MIN", "3", 1);
    expect_load_error("POOL_MIN (3) must not exceed POOL_MAX (2)");
    setenv("POOL_MIN", "2", 1);
    assert_int_equal(config_load(err, sizeof err), 0);
    assert_int_equal(cfg.pool_min, 2);

    setenv("POOL_ACQUIRE_TIMEOUT_MS", "0", 1);
    expect_load_error("POOL_ACQUIRE_TIMEOUT_MS must be a whole number from 1 to 600000 "
                      "(got \"0\")");
    unsetenv("POOL_ACQUIRE_TIMEOUT_MS");

    /* A long bad value is quoted only in part (40 bytes), and a short buffer is not overrun. */
    setenv("DB_CONNECTION_BUDGET", "0123456789012345678901234567890123456789abcdefghij", 1);
    expect_load_error("DB_CONNECTION_BUDGET must be a whole number from 1 to 10000 "
                      "(got \"0123456789012345678901234567890123456789\")");
    memset(err, '#', sizeof err);
    assert_int_equal(config_load(err, 16), -1);
    assert_string_equal(err, "DB_CONNECTION_B");
    assert_int_equal(err[16], '#');
    clear_env();
}

static void test_config_auth_errors(void **state)
{
    char err[256];
    (void)state;
    clear_env();
    expect_load_error("JWT_SECRET_KEY must be set when AUTH_REQUIRED=1");
    setenv("AUTH_REQUIRED", "1", 1);
    expect_load_error("JWT_SECRET_KEY must be set when AUTH_REQUIRED=1");
    setenv("JWT_SECRET_KEY", "0123456789abcdef0123456789abcde", 1);
    expect_load_error("JWT_SECRET_KEY must be at least 32 bytes long");
    setenv("JWT_SECRET_KEY", SECRET_32, 1);
    assert_int_equal(config_load(err, sizeof err), 0);
    assert_true(cfg.auth_required);

    /* A short secret is refused even when auth is off: it would still sign tokens. */
    setenv("AUTH_REQUIRED", "0", 1);
    setenv("JWT_SECRET_KEY", "short", 1);
    expect_load_error("JWT_SECRET_KEY must be at least 32 bytes long");
    unsetenv("JWT_SECRET_KEY");
    assert_int_equal(config_load(err, sizeof err), 0);
    assert_false(cfg.auth_required);
    assert_null(cfg.jwt_secret_key);

    setenv("AUTH_REQUIRED", "2", 1);
    expect_load_error("AUTH_REQUIRED must be a whole number from 0 to 1 (got \"2\")");
    setenv("AUTH_REQUIRED", "0", 1);
    setenv("LOG_LEVEL", "verbose", 1);
    expect_load_error("LOG_LEVEL must be debug, info, warn or error (got \"verbose\")");
    clear_env();
    setenv("AUTH_REQUIRED", "0", 1);
    assert_int_equal(config_load(err, sizeof err), 0);
    clear_env();
}


/* Regressions: a header whose name does not fit leaves the buffer terminated; instants before
 * 1970 format with a positive millisecond part; passwords with spaces around '=' are masked. */
static void test_regressions_found_by_review(void **state)
{
    http_response_t res;
    char buf[64];
    (void)state;
    memset(&res, 0, sizeof res);
    memset(res.headers, 'x', sizeof res.headers);
    res.headers_len = 1000;
    res.headers[1000] = '\0';
    http_add_header(&res, "X-A-Rather-Long-Header-Name", "1");
    assert_int_equal(res.headers_len, 1000);
    assert_int_equal(strlen(res.headers), 1000);

    assert_string_equal(time_format_rfc3339(-1, buf, sizeof buf), "1969-12-31T23:59:59.999Z");
    assert_string_equal(time_format_rfc3339(-59500, buf, sizeof buf), "1969-12-31T23:59:00.500Z");

    config_mask_dsn("host=db user=app password = secret dbname=elog", buf, sizeof buf);
    assert_string_equal(buf, "host=db user=app password =**** dbname=elog");
    config_mask_dsn("password= secret", buf, sizeof buf);
    assert_string_equal(buf, "password=****");
    config_mask_dsn("postgresql://app:pw@db/elog?password=pw2&x=1", buf, sizeof buf);
    assert_string_equal(buf, "postgresql://app:****@db/elog?password=****&x=1");
    config_mask_dsn("user=passwordless host=x", buf, sizeof buf);
    assert_string_equal(buf, "user=passwordless host=x");
}

/* http_respond takes the body over, replacing (and freeing) any earlier one. */
static void test_respond_replaces_body(void **state)
{
    http_response_t res;
    char *text;
    (void)state;
    memset(&res, 0, sizeof res);
    http_error(&res, 500, "INTERNAL_ERROR", "x", NULL);
    assert_int_equal(http_respond(&res, 503, cJSON_Parse("{\"status\":\"unhealthy\"}")), 0);
    assert_int_equal(res.status, 503);
    text = cJSON_PrintUnformatted(res.body);
    assert_string_equal(text, "{\"status\":\"unhealthy\"}");
    free(text);
    http_response_free(&res);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_query_simple_pairs),
        cmocka_unit_test(test_query_plus_and_percent),
        cmocka_unit_test(test_query_empty_segments),
        cmocka_unit_test(test_query_name_without_value),
        cmocka_unit_test(test_query_bad_escapes),
        cmocka_unit_test(test_query_invalid_utf8),
        cmocka_unit_test(test_query_empty_name),
        cmocka_unit_test(test_query_repeated_name),
        cmocka_unit_test(test_query_too_many_params),
        cmocka_unit_test(test_query_value_too_long),
        cmocka_unit_test(test_query_too_long),
        cmocka_unit_test(test_utf8_valid_table),
        cmocka_unit_test(test_config_parse_int),
        cmocka_unit_test(test_param_int),
        cmocka_unit_test(test_param_enum),
        cmocka_unit_test(test_allow_params),
        cmocka_unit_test(test_body_exact),
        cmocka_unit_test(test_body_bad_length),
        cmocka_unit_test(test_body_too_large),
        cmocka_unit_test(test_body_short),
        cmocka_unit_test(test_error_and_ok),
        cmocka_unit_test(test_add_header),
        cmocka_unit_test(test_json_add_rounded),
        cmocka_unit_test(test_json_add_time),
        cmocka_unit_test(test_time_parse_valid),
        cmocka_unit_test(test_time_parse_invalid),
        cmocka_unit_test(test_time_round_trip),
        cmocka_unit_test(test_mask_dsn),
        cmocka_unit_test(test_config_defaults),
        cmocka_unit_test(test_config_pool_errors),
        cmocka_unit_test(test_config_auth_errors),
        cmocka_unit_test(test_regressions_found_by_review),
        cmocka_unit_test(test_respond_replaces_body),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
