/* test_token.c -- /api/auth bodies, bearer headers, issued tokens and the permission test */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "config.h"
#include "token.h"

static int parse(const char *body, token_request_t *out, const char **field, const char **why)
{
    int rc = token_parse_request(body, strlen(body), out, field, why);
    if (rc != 0)
        assert_non_null(*why);
    return rc;
}

static void test_login_and_refresh_bodies(void **state)
{
    token_request_t rq;
    const char *field, *why;
    (void)state;

    assert_int_equal(parse(" {\"username\":\"admin\",\"password\":\"p\\u00e9ss\",\"remember\":1} ",
                           &rq, &field, &why),
                     0);
    assert_int_equal(rq.kind, TOKEN_REQUEST_LOGIN);
    assert_string_equal(rq.username, "admin");
    assert_string_equal(rq.password, "p\xc3\xa9ss");
    assert_string_equal(rq.refresh_token, "");
    token_request_wipe(&rq);
    assert_string_equal(rq.password, "");

    assert_int_equal(parse("{\"refresh_token\":\"a.b.c\"}", &rq, &field, &why), 0);
    assert_int_equal(rq.kind, TOKEN_REQUEST_REFRESH);
    assert_string_equal(rq.refresh_token, "a.b.c");
    assert_string_equal(rq.username, "");
}

static void test_rejected_bodies(void **state)
{
    static const struct {
        const char *body;
        const char *field; /* NULL: the body as a whole */
    } cases[] = {
        {"", NULL},
        {"[]", NULL},
        {"\"admin\"", NULL},
        {"{\"username\":\"a\",\"password\":\"b\"} {}", NULL},
        {"{\"username\":\"a\"}", NULL},
        {"{\"password\":\"b\"}", NULL},
        {"{}", NULL},
        {"{\"username\":\"a\",\"password\":\"b\",\"refresh_token\":\"c\"}", NULL},
        {"{\"username\":1,\"password\":\"b\"}", "username"},
        {"{\"username\":\"\",\"password\":\"b\"}", "username"},
        {"{\"username\":\"a\",\"password\":null}", "password"},
        {"{\"username\":\"a\",\"username\":\"b\",\"password\":\"c\"}", "username"},
        {"{\"refresh_token\":[]}", "refresh_token"},
        {"{\"username\":\"a\\udc00\",\"password\":\"b\"}", NULL},
        {"{\"username\":\"a\xff\",\"password\":\"b\"}", NULL},
    };
    (void)state;

    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        token_request_t rq;
        const char *field = "unset", *why = NULL;
        if (parse(cases[i].body, &rq, &field, &why) == 0)
            fail_msg("case %zu accepted: %s", i, cases[i].body);
        if ((cases[i].field == NULL) != (field == NULL) ||
            (field != NULL && strcmp(field, cases[i].field) != 0))
            fail_msg("case %zu: field %s, want %s", i, field ? field : "(null)",
                     cases[i].field ? cases[i].field : "(null)");
    }
}

static void test_length_limits(void **state)
{
    char body[3000], name[TOKEN_USERNAME_MAX + 2], pass[TOKEN_PASSWORD_MAX + 2];
    token_request_t rq;
    const char *field, *why;
    (void)state;

    memset(name, 'u', sizeof name - 1);
    name[sizeof name - 1] = '\0';
    memset(pass, 'p', sizeof pass - 1);
    pass[sizeof pass - 1] = '\0';
    /* exactly at the limits */
    snprintf(body, sizeof body, "{\"username\":\"%.*s\",\"password\":\"%.*s\"}",
             TOKEN_USERNAME_MAX, name, TOKEN_PASSWORD_MAX, pass);
    assert_int_equal(parse(body, &rq, &field, &why), 0);
    assert_int_equal(strlen(rq.username), TOKEN_USERNAME_MAX);
    assert_int_equal(strlen(rq.password), TOKEN_PASSWORD_MAX);
    /* one byte over each */
    snprintf(body, sizeof body, "{\"username\":\"%s\",\"password\":\"p\"}", name);
    assert_int_equal(parse(body, &rq, &field, &why), -1);
    assert_string_equal(field, "username");
    snprintf(body, sizeof body, "{\"username\":\"u\",\"password\":\"%s\"}", pass);
    assert_int_equal(parse(body, &rq, &field, &why), -1);
    assert_string_equal(field, "password");
}

static void test_embedded_nul(void **state)
{
    static const char body[] = "{\"username\":\"a\",\"password\":\"b\"}\0";
    token_request_t rq;
    const char *field, *why;
    (void)state;
    assert_int_equal(token_parse_request(body, sizeof body - 1, &rq, &field, &why), -1);
}

static void test_bearer(void **state)
{
    (void)state;
    assert_string_equal(token_bearer("Bearer abc"), "abc");
    assert_string_equal(token_bearer("bearer abc"), "abc");
    assert_null(token_bearer(NULL));
    assert_null(token_bearer("Bearer "));
    assert_null(token_bearer("Bearer"));
    assert_null(token_bearer("Basic abc"));
    assert_null(token_bearer("Bearerabc"));
}

static void test_issue_and_verify(void **state)
{
    cJSON *perms = cJSON_Parse("[\"read_logs\"]"), *claims = NULL;
    http_response_t res;
    long now = (long)time(NULL), sub;
    char *access, *refresh;
    (void)state;

    cfg.jwt_secret_key = NULL;
    assert_null(token_issue(3, "ann", "user", perms, JWT_TYPE_ACCESS, now));
    cfg.jwt_secret_key = "unit-test-secret-0123456789abcdef";
    access = token_issue(3, "ann", "user", perms, JWT_TYPE_ACCESS, now);
    refresh = token_issue(3, "ann", "user", perms, JWT_TYPE_REFRESH, now);
    assert_non_null(access);
    assert_non_null(refresh);

    memset(&res, 0, sizeof res);
    assert_int_equal(token_verify(access, JWT_TYPE_ACCESS, &res, &claims), 0);
    assert_int_equal(jwt_claims_sub(claims, &sub), 0);
    assert_int_equal(sub, 3);
    assert_int_equal((long)cJSON_GetObjectItem(claims, "exp")->valuedouble, now + JWT_ACCESS_TTL_S);
    assert_true(token_has_permission(cJSON_GetObjectItem(claims, "permissions"), "read_logs"));
    assert_false(token_has_permission(cJSON_GetObjectItem(claims, "permissions"), "manage_system"));
    cJSON_Delete(claims);
    assert_int_equal(token_verify(refresh, JWT_TYPE_REFRESH, &res, &claims), 0);
    assert_int_equal((long)cJSON_GetObjectItem(claims, "exp")->valuedouble, now + JWT_REFRESH_TTL_S);
    cJSON_Delete(claims);

    /* each type is refused where the other is expected, with a 401 and WWW-Authenticate */
    assert_int_equal(token_verify(refresh, JWT_TYPE_ACCESS, &res, &claims), -1);
    assert_null(claims);
    assert_int_equal(res.status, 401);
    assert_non_null(strstr(res.headers, "WWW-Authenticate: Bearer"));
    http_response_free(&res);
    memset(&res, 0, sizeof res);
    assert_int_equal(token_verify(access, JWT_TYPE_REFRESH, &res, &claims), -1);
    assert_int_equal(res.status, 401);
    http_response_free(&res);
    memset(&res, 0, sizeof res);
    assert_int_equal(token_verify(NULL, JWT_TYPE_ACCESS, &res, &claims), -1);
    assert_int_equal(res.status, 401);
    http_response_free(&res);

    free(access);
    free(refresh);
    cJSON_Delete(perms);
    cfg.jwt_secret_key = NULL;
}

static void test_has_permission(void **state)
{
    cJSON *perms = cJSON_Parse("[1, \"manage_system\", null]");
    (void)state;
    assert_true(token_has_permission(perms, "manage_system"));
    assert_false(token_has_permission(perms, "manage"));
    assert_false(token_has_permission(NULL, "manage_system"));
    cJSON_Delete(perms);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_login_and_refresh_bodies),
        cmocka_unit_test(test_rejected_bodies),
        cmocka_unit_test(test_length_limits),
        cmocka_unit_test(test_embedded_nul),
        cmocka_unit_test(test_bearer),
        cmocka_unit_test(test_issue_and_verify),
        cmocka_unit_test(test_has_permission),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
