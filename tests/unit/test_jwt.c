/* test_jwt.c -- unit tests for HS256 JWT sign/verify and the base64 codecs */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>
#include <openssl/hmac.h>

#include "b64.h"
#include "jwt.h"

#define KEY "unit-test-secret-0123456789abcdef"
#define KEY_ARGS (const unsigned char *)KEY, strlen(KEY)
#define IAT 1700000000L

/* Computed outside this code base with the shell:
 *   b64u() { base64 -w0 | tr '+/' '-_' | tr -d '='; }
 *   H=$(printf '%s' '{"alg":"HS256","typ":"JWT"}' | b64u)
 *   P=$(printf '%s' '{"sub":"42","username":"alice","role":"admin","permissions":["read_logs",
 *       "view_dashboard"],"iat":1700000000,"exp":1700001800,"type":"access"}' | b64u)
 *   S=$(printf '%s' "$H.$P" | openssl dgst -sha256 -mac HMAC -macopt key:"$KEY" -binary | b64u)
 * (the payload on one line, no spaces). */
static const char known_token[] =
    "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9"
    ".eyJzdWIiOiI0MiIsInVzZXJuYW1lIjoiYWxpY2UiLCJyb2xlIjoiYWRtaW4iLCJwZXJtaXNzaW9ucyI6WyJyZWFkX2"
    "xvZ3MiLCJ2aWV3X2Rhc2hib2FyZCJdLCJpYXQiOjE3MDAwMDAwMDAsImV4cCI6MTcwMDAwMTgwMCwidHlwZSI6ImFjY2"
    "VzcyJ9"
    ".60h6IKpmTWh-zG72cOSTjk_jrNkdUfpAy1h8Zl2tfdg";

/* Same way: header '{"typ":"JWT", "alg":"HS256"}', payload
 * '{ "type": "refresh", "exp": 2000000000, "iat": 1700000000, "sub": "7" }' (spaces kept). */
static const char shell_refresh_token[] =
    "eyJ0eXAiOiJKV1QiLCAiYWxnIjoiSFMyNTYifQ"
    ".eyAidHlwZSI6ICJyZWZyZXNoIiwgImV4cCI6IDIwMDAwMDAwMDAsICJpYXQiOiAxNzAwMDAwMDAwLCAic3ViIjogIjciIH0"
    ".184m1zWSDtC94dJTuuwlx_RzC1o7GCMmGSFLtqjKTHc";

/* Same payload as known_token under {"alg":"HS512","typ":"JWT"}, signed with HMAC-SHA512. */
static const char shell_hs512_token[] =
    "eyJhbGciOiJIUzUxMiIsInR5cCI6IkpXVCJ9"
    ".eyJzdWIiOiI0MiIsInVzZXJuYW1lIjoiYWxpY2UiLCJyb2xlIjoiYWRtaW4iLCJwZXJtaXNzaW9ucyI6WyJyZWFkX2"
    "xvZ3MiLCJ2aWV3X2Rhc2hib2FyZCJdLCJpYXQiOjE3MDAwMDAwMDAsImV4cCI6MTcwMDAwMTgwMCwidHlwZSI6ImFjY2"
    "VzcyJ9"
    ".vrNjuPCaKVN8aFRsLD_IwJ-5866GVcHBxW9AfXZ3GfxF5wCGx1ifnO1_b23_1P5NIvdnVC95M1PKQtu4ogWLIg";


/* Appends "." and the base64url HMAC-SHA256 of input, computed here with OpenSSL directly, so
 * tests can sign texts jwt_sign would never produce. Caller frees. */
static char *sign_input(const char *input)
{
    unsigned char mac[EVP_MAX_MD_SIZE];
    unsigned mac_len = 0;
    assert_non_null(HMAC(EVP_sha256(), KEY, (int)strlen(KEY), (const unsigned char *)input,
                         strlen(input), mac, &mac_len));
    char *s = b64_url_encode(mac, mac_len);
    assert_non_null(s);
    char *token = malloc(strlen(input) + 1 + strlen(s) + 1);
    assert_non_null(token);
    strcpy(token, input);
    strcat(token, ".");
    strcat(token, s);
    free(s);
    return token;
}

/* Builds a signed token from raw header and payload bytes (which may hold NULs). */
static char *make_token(const char *header, size_t header_len, const char *payload,
                        size_t payload_len)
{
    char *h = b64_url_encode((const unsigned char *)header, header_len);
    char *p = b64_url_encode((const unsigned char *)payload, payload_len);
    assert_non_null(h);
    assert_non_null(p);
    char *input = malloc(strlen(h) + 1 + strlen(p) + 1);
    assert_non_null(input);
    strcpy(input, h);
    strcat(input, ".");
    strcat(input, p);
    char *token = sign_input(input);
    free(h);
    free(p);
    free(input);
    return token;
}

static char *make_token_str(const char *header, const char *payload)
{
    return make_token(header, strlen(header), payload, strlen(payload));
}

static const char std_header[] = "{\"alg\":\"HS256\",\"typ\":\"JWT\"}";

static char *sign_access(const char *role)
{
    cJSON *perms = cJSON_CreateArray();
    assert_non_null(perms);
    cJSON_AddItemToArray(perms, cJSON_CreateString("read_logs"));
    cJSON_AddItemToArray(perms, cJSON_CreateString("view_dashboard"));
    cJSON *claims =
        jwt_claims_new(42, "alice", role, perms, JWT_TYPE_ACCESS, IAT, JWT_ACCESS_TTL_S);
    cJSON_Delete(perms);
    assert_non_null(claims);
    char *token = jwt_sign(claims, KEY_ARGS);
    cJSON_Delete(claims);
    assert_non_null(token);
    return token;
}

/* Verifies as an access token at IAT + 1 and checks the code; returns the reason. */
static const char *expect_code(const char *token, int code)
{
    cJSON *claims = (cJSON *)1;
    const char *why = NULL;
    int rc = jwt_verify(token, KEY_ARGS, IAT + 1, JWT_TYPE_ACCESS, &claims, &why);
    assert_int_equal(rc, code);
    assert_non_null(why);
    if (code == JWT_OK) {
        assert_non_null(claims);
        cJSON_Delete(claims);
    } else {
        assert_null(claims);
    }
    return why;
}


/* ---- base64 ---------------------------------------------------------------------------- */

static void test_b64_rfc4648_vectors(void **state)
{
    (void)state;
    static const char *const plain[] = {"", "f", "fo", "foo", "foob", "fooba", "foobar"};
    static const char *const std[] = {"",         "Zg==",     "Zm8=",    "Zm9v",
                                      "Zm9vYg==", "Zm9vYmE=", "Zm9vYmFy"};
    static const char *const url[] = {"", "Zg", "Zm8", "Zm9v", "Zm9vYg", "Zm9vYmE", "Zm9vYmFy"};
    for (size_t i = 0; i < 7; i++) {
        char *e = b64_std_encode((const unsigned char *)plain[i], strlen(plain[i]));
        assert_string_equal(e, std[i]);
        free(e);
        e = b64_url_encode((const unsigned char *)plain[i], strlen(plain[i]));
        assert_string_equal(e, url[i]);
        free(e);

        unsigned char *d = NULL;
        size_t n = 0;
        assert_int_equal(b64_std_decode(std[i], strlen(std[i]), &d, &n), 0);
        assert_int_equal(n, strlen(plain[i]));
        assert_memory_equal(d, plain[i], n);
        assert_int_equal(d[n], '\0');
        free(d);
        assert_int_equal(b64_url_decode(url[i], strlen(url[i]), &d, &n), 0);
        assert_int_equal(n, strlen(plain[i]));
        assert_memory_equal(d, plain[i], n);
        free(d);
    }
}

static void test_b64_alphabets_differ(void **state)
{
    (void)state;
    static const unsigned char bytes[] = {0xfb, 0xff, 0xbf};
    char *e = b64_url_encode(bytes, 3);
    assert_string_equal(e, "-_-_");
    free(e);
    e = b64_std_encode(bytes, 3);
    assert_string_equal(e, "+/+/");
    free(e);
}

static void test_b64_rejects(void **state)
{
    (void)state;
    static const char *const bad_url[] = {
        "Z",     /* 4k+1 characters */
        "Zg==",  /* padding is not base64url */
        "Zh",    /* non-zero spare bits: "Zg" is the only encoding of "f" */
        "Zm9",   /* same with two spare bits */
        "+/+/",  /* standard alphabet */
        "Zm 9v", /* whitespace */
        "Zm9v\n", "Zm*v",
    };
    for (size_t i = 0; i < sizeof bad_url / sizeof bad_url[0]; i++) {
        unsigned char *d = (unsigned char *)1;
        size_t n = 99;
        assert_int_equal(b64_url_decode(bad_url[i], strlen(bad_url[i]), &d, &n), -1);
        assert_ptr_equal(d, (unsigned char *)1);
    }
    static const char *const bad_std[] = {
        "Zg", "Zg=", "Z===", "Zg=a", "=Zg=", "Zm=v", "Zh==", "-_-_", "Zm9v===="};
    for (size_t i = 0; i < sizeof bad_std / sizeof bad_std[0]; i++) {
        unsigned char *d = NULL;
        size_t n = 0;
        assert_int_equal(b64_std_decode(bad_std[i], strlen(bad_std[i]), &d, &n), -1);
    }
    /* An embedded NUL is a character outside the alphabet, not an end marker. */
    unsigned char *d = NULL;
    size_t n = 0;
    assert_int_equal(b64_url_decode("Zm\0v", 4, &d, &n), -1);
}


/* ---- JWT ------------------------------------------------------------------------------- */

static void test_round_trip(void **state)
{
    (void)state;
    char *token = sign_access("admin");
    cJSON *claims = NULL;
    const char *why = NULL;
    assert_int_equal(jwt_verify(token, KEY_ARGS, IAT + 1, JWT_TYPE_ACCESS, &claims, &why), JWT_OK);
    assert_string_equal(why, "ok");
    long sub = 0;
    assert_int_equal(jwt_claims_sub(claims, &sub), 0);
    assert_int_equal(sub, 42);
    assert_string_equal(cJSON_GetObjectItemCaseSensitive(claims, "username")->valuestring, "alice");
    assert_string_equal(cJSON_GetObjectItemCaseSensitive(claims, "role")->valuestring, "admin");
    assert_int_equal(cJSON_GetArraySize(cJSON_GetObjectItemCaseSensitive(claims, "permissions")),
                     2);
    assert_true(cJSON_GetObjectItemCaseSensitive(claims, "iat")->valuedouble == (double)IAT);
    assert_true(cJSON_GetObjectItemCaseSensitive(claims, "exp")->valuedouble
                == (double)(IAT + JWT_ACCESS_TTL_S));
    cJSON_Delete(claims);
    /* claims_out and why are optional */
    assert_int_equal(jwt_verify(token, KEY_ARGS, IAT + 1, JWT_TYPE_ACCESS, NULL, NULL), JWT_OK);
    free(token);
}

static void test_known_vector_sign(void **state)
{
    (void)state;
    char *token = sign_access("admin");
    assert_string_equal(token, known_token);
    free(token);
}

static void test_independent_token_verifies(void **state)
{
    (void)state;
    cJSON *claims = NULL;
    assert_int_equal(
        jwt_verify(shell_refresh_token, KEY_ARGS, IAT, JWT_TYPE_REFRESH, &claims, NULL), JWT_OK);
    long sub = 0;
    assert_int_equal(jwt_claims_sub(claims, &sub), 0);
    assert_int_equal(sub, 7);
    cJSON_Delete(claims);
    assert_string_equal(expect_code(known_token, JWT_OK), "ok");
}

/* RFC 7515 appendix A.1: an HS256 JWS from the standard, with its own key. The signature must
 * verify, and the token must then fail only because it lacks our iat and type claims. */
static void test_rfc7515_a1(void **state)
{
    (void)state;
    static const unsigned char rfc_key[] = {
        0x03, 0x23, 0x35, 0x4b, 0x2b, 0x0f, 0xa5, 0xbc, 0x83, 0x7e, 0x06, 0x65, 0x77,
        0x7b, 0xa6, 0x8f, 0x5a, 0xb3, 0x28, 0xe6, 0xf0, 0x54, 0xc9, 0x28, 0xa9, 0x0f,
        0x84, 0xb2, 0xd2, 0x50, 0x2e, 0xbf, 0xd3, 0xfb, 0x5a, 0x92, 0xd2, 0x06, 0x47,
        0xef, 0x96, 0x8a, 0xb4, 0xc3, 0x77, 0x62, 0x3d, 0x22, 0x3d, 0x2e, 0x21, 0x72,
        0x05, 0x2e, 0x4f, 0x08, 0xc0, 0xcd, 0x9a, 0xf5, 0x67, 0xd0, 0x80, 0xa3};
    static const char rfc_token[] =
        "eyJ0eXAiOiJKV1QiLA0KICJhbGciOiJIUzI1NiJ9"
        ".eyJpc3MiOiJqb2UiLA0KICJleHAiOjEzMDA4MTkzODAsDQogImh0dHA6Ly9leGFtcGxlLmNvbS9pc19yb290Ijp0cn"
        "VlfQ"
        ".dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk";
    const char *why = NULL;
    assert_int_equal(
        jwt_verify(rfc_token, rfc_key, sizeof rfc_key, 1300819379L, JWT_TYPE_ACCESS, NULL, &why),
        JWT_EMALFORMED);
    assert_string_equal(why, "missing exp or iat");
    assert_int_equal(jwt_verify(rfc_token, KEY_ARGS, 1300819379L, JWT_TYPE_ACCESS, NULL, &why),
                     JWT_ESIGNATURE);
}

static void test_tampered_payload(void **state)
{
    (void)state;
    /* Splice the payload of an "admin" token onto the header and signature of a "user" one. */
    char *user = sign_access("user");
    char *admin = sign_access("admin");
    char *user_dot2 = strrchr(user, '.');
    char *admin_dot1 = strchr(admin, '.');
    char *admin_dot2 = strrchr(admin, '.');
    char forged[JWT_MAX_TOKEN_LEN];
    size_t head = (size_t)(strchr(user, '.') - user);
    memcpy(forged, user, head);
    memcpy(forged + head, admin_dot1, (size_t)(admin_dot2 - admin_dot1));
    strcpy(forged + head + (size_t)(admin_dot2 - admin_dot1), user_dot2);
    assert_string_equal(expect_code(forged, JWT_ESIGNATURE), "bad signature");

    /* One character changed in the payload. */
    char *copy = strdup(user);
    char *p = strchr(copy, '.') + 5;
    *p = (*p == 'A') ? 'B' : 'A';
    assert_string_equal(expect_code(copy, JWT_ESIGNATURE), "bad signature");
    free(copy);
    free(user);
    free(admin);
}

static void test_tampered_signature(void **state)
{
    (void)state;
    static const char alphabet[] =
        "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    char *token = sign_access("admin");
    char *sig = strrchr(token, '.') + 1;
    assert_int_equal(strlen(sig), 43);
    /* Flip bit 4 of each character in turn: still canonical base64url (the two spare bits of
     * the last character stay clear), but a different MAC, whichever byte it lands in. */
    for (size_t i = 0; i < 43; i++) {
        char saved = sig[i];
        size_t v = (size_t)(strchr(alphabet, saved) - alphabet);
        sig[i] = alphabet[v ^ 0x10];
        assert_string_equal(expect_code(token, JWT_ESIGNATURE), "bad signature");
        sig[i] = saved;
    }
    expect_code(token, JWT_OK);
    sig[10] = '\0'; /* too short to be an HS256 MAC */
    assert_int_equal(expect_code(token, JWT_EMALFORMED)[0], 'm');
    free(token);

    /* wrong key */
    token = sign_access("admin");
    assert_int_equal(
        jwt_verify(token, (const unsigned char *)"other", 5, IAT + 1, JWT_TYPE_ACCESS, NULL, NULL),
        JWT_ESIGNATURE);
    /* no key at all never verifies */
    assert_int_equal(jwt_verify(token, NULL, 0, IAT + 1, JWT_TYPE_ACCESS, NULL, NULL),
                     JWT_ESIGNATURE);
    assert_int_equal(
        jwt_verify(token, (const unsigned char *)"", 0, IAT + 1, JWT_TYPE_ACCESS, NULL, NULL),
        JWT_ESIGNATURE);
    free(token);
}

static void test_alg_none(void **state)
{
    (void)state;
    char *token = sign_access("admin");
    const char *h = "{\"alg\":\"none\",\"typ\":\"JWT\"}";
    char *hb = b64_url_encode((const unsigned char *)h, strlen(h));
    char *dot1 = strchr(token, '.');
    char *dot2 = strrchr(token, '.');
    char forged[JWT_MAX_TOKEN_LEN];

    /* unsigned: empty third segment */
    strcpy(forged, hb);
    strncat(forged, dot1, (size_t)(dot2 - dot1) + 1);
    assert_string_equal(expect_code(forged, JWT_EALG), "unsupported alg");
    /* with the original, valid signature kept */
    strcpy(forged, hb);
    strcat(forged, dot1);
    assert_string_equal(expect_code(forged, JWT_EALG), "unsupported alg");
    free(hb);
    free(token);

    static const char *const algs[] = {
        "{\"alg\":\"None\"}", "{\"alg\":\"hs256\"}", "{\"alg\":\"HS256 \"}",  "{\"alg\":null}",
        "{\"alg\":256}",      "{\"ALG\":\"HS256\"}", "{\"alg\":[\"HS256\"]}", "{\"alg\":\"RS256\"}",
    };
    for (size_t i = 0; i < sizeof algs / sizeof algs[0]; i++) {
        char *t = make_token_str(algs[i], "{\"exp\":2000000000,\"iat\":1,\"type\":\"access\"}");
        assert_int_equal(jwt_verify(t, KEY_ARGS, IAT, JWT_TYPE_ACCESS, NULL, NULL), JWT_EALG);
        free(t);
    }
}

static void test_alg_hs512(void **state)
{
    (void)state;
    assert_string_equal(expect_code(shell_hs512_token, JWT_EALG), "unsupported alg");
}

static void test_missing_alg(void **state)
{
    (void)state;
    char *t =
        make_token_str("{\"typ\":\"JWT\"}", "{\"exp\":2000000000,\"iat\":1,\"type\":\"access\"}");
    assert_string_equal(expect_code(t, JWT_EALG), "unsupported alg");
    free(t);
}

static void test_header_typ_and_crit(void **state)
{
    (void)state;
    static const char payload[] = "{\"exp\":2000000000,\"iat\":1,\"type\":\"access\"}";
    char *t = make_token_str("{\"alg\":\"HS256\"}", payload);
    expect_code(t, JWT_OK); /* typ is optional */
    free(t);
    t = make_token_str("{\"alg\":\"HS256\",\"typ\":\"JWE\"}", payload);
    expect_code(t, JWT_EALG);
    free(t);
    t = make_token_str("{\"alg\":\"HS256\",\"typ\":1}", payload);
    expect_code(t, JWT_EALG);
    free(t);
    t = make_token_str("{\"alg\":\"HS256\",\"crit\":[\"exp\"]}", payload);
    expect_code(t, JWT_EALG);
    free(t);
}

static void test_expired(void **state)
{
    (void)state;
    char *token = sign_access("admin");
    long exp = IAT + JWT_ACCESS_TTL_S;
    assert_int_equal(jwt_verify(token, KEY_ARGS, exp - 1, JWT_TYPE_ACCESS, NULL, NULL), JWT_OK);
    const char *why = NULL;
    assert_int_equal(jwt_verify(token, KEY_ARGS, exp, JWT_TYPE_ACCESS, NULL, &why), JWT_EEXPIRED);
    assert_string_equal(why, "token expired");
    assert_int_equal(jwt_verify(token, KEY_ARGS, exp + 86400, JWT_TYPE_ACCESS, NULL, NULL),
                     JWT_EEXPIRED);
    free(token);
}

static void test_refresh_as_access(void **state)
{
    (void)state;
    cJSON *claims =
        jwt_claims_new(42, "alice", "admin", NULL, JWT_TYPE_REFRESH, IAT, JWT_REFRESH_TTL_S);
    assert_non_null(claims);
    char *token = jwt_sign(claims, KEY_ARGS);
    cJSON_Delete(claims);
    assert_string_equal(expect_code(token, JWT_ETYPE), "wrong token type");
    assert_int_equal(jwt_verify(token, KEY_ARGS, IAT + 1, JWT_TYPE_REFRESH, NULL, NULL), JWT_OK);
    /* a refresh token outlives an access token */
    assert_int_equal(jwt_verify(token, KEY_ARGS, IAT + 3 * 86400, JWT_TYPE_REFRESH, NULL, NULL),
                     JWT_OK);
    free(token);
    /* an access token is not a refresh token either */
    token = sign_access("admin");
    assert_int_equal(jwt_verify(token, KEY_ARGS, IAT + 1, JWT_TYPE_REFRESH, NULL, NULL), JWT_ETYPE);
    free(token);
}

static void test_claims_checked(void **state)
{
    (void)state;
    static const struct {
        const char *payload;
        int code;
    } cases[] = {
        {"{\"iat\":1,\"type\":\"access\"}", JWT_EMALFORMED},                        /* no exp */
        {"{\"exp\":\"2000000000\",\"iat\":1,\"type\":\"access\"}", JWT_EMALFORMED}, /* string */
        {"{\"exp\":2000000000,\"type\":\"access\"}", JWT_EMALFORMED},               /* no iat */
        {"{\"exp\":2000000000,\"iat\":null,\"type\":\"access\"}", JWT_EMALFORMED},
        {"{\"EXP\":2000000000,\"iat\":1,\"type\":\"access\"}", JWT_EMALFORMED}, /* case */
        {"{\"exp\":2000000000,\"iat\":1}", JWT_ETYPE},                          /* no type */
        {"{\"exp\":2000000000,\"iat\":1,\"type\":\"Access\"}", JWT_ETYPE},
        {"{\"exp\":2000000000,\"iat\":1,\"type\":[\"access\"]}", JWT_ETYPE},
        {"{\"exp\":1e300,\"iat\":1,\"type\":\"access\"}", JWT_OK},
        {"{\"exp\":-1e300,\"iat\":1,\"type\":\"access\"}", JWT_EEXPIRED},
        {"[\"exp\",2000000000]", JWT_EMALFORMED}, /* not an object */
        {"\"x\"", JWT_EMALFORMED},
        {"{\"exp\":2000000000,\"iat\":1,\"type\":\"access\"} x", JWT_EMALFORMED}, /* trailing */
        {"{\"exp\":2000000000,\"iat\":1,\"type\":\"access\"", JWT_EMALFORMED},    /* truncated */
        {"{\"exp\":2000000000,\"iat\":1,\"type\":\"access\"} \n", JWT_OK},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char *t = make_token_str(std_header, cases[i].payload);
        cJSON *claims = (cJSON *)1;
        int rc = jwt_verify(t, KEY_ARGS, IAT, JWT_TYPE_ACCESS, &claims, NULL);
        if (rc != cases[i].code) {
            fail_msg("case %zu: %s gave %d, want %d", i, cases[i].payload, rc, cases[i].code);
        }
        cJSON_Delete(rc == JWT_OK ? claims : NULL);
        free(t);
    }

    /* A NUL byte inside the signed JSON must not cut it short. */
    static const char with_nul[] = "{\"exp\":2000000000,\"iat\":1,\"type\":\"access\"}\0junk";
    char *t = make_token(std_header, strlen(std_header), with_nul, sizeof with_nul - 1);
    expect_code(t, JWT_EMALFORMED);
    free(t);
    /* cJSON alone would skip a NUL as whitespace, and cut a string at it ("access\0x"). */
    static const char nul_after[] = "{\"exp\":2000000000,\"iat\":1,\"type\":\"access\"}\0";
    static const char nul_before[] = "\0{\"exp\":2000000000,\"iat\":1,\"type\":\"access\"}";
    static const char nul_inside[] = "{\"exp\":2000000000,\"iat\":1,\"type\":\"access\0x\"}";
    static const struct {
        const char *bytes;
        size_t len;
    } nul_payloads[] = {
        {nul_after, sizeof nul_after - 1},
        {nul_before, sizeof nul_before - 1},
        {nul_inside, sizeof nul_inside - 1},
    };
    for (size_t i = 0; i < sizeof nul_payloads / sizeof nul_payloads[0]; i++) {
        t = make_token(std_header, strlen(std_header), nul_payloads[i].bytes, nul_payloads[i].len);
        assert_string_equal(expect_code(t, JWT_EMALFORMED), "malformed payload");
        free(t);
    }
    /* Nor in the header. */
    static const char header_nul[] = "{\"alg\":\"HS256\"}\0{\"alg\":\"none\"}";
    t = make_token(header_nul, sizeof header_nul - 1, with_nul, strlen(with_nul));
    assert_string_equal(expect_code(t, JWT_EMALFORMED), "malformed header");
    free(t);
    /* the header must be an object */
    t = make_token_str("[\"HS256\"]", "{\"exp\":2000000000,\"iat\":1,\"type\":\"access\"}");
    expect_code(t, JWT_EMALFORMED);
    free(t);
}

static void test_malformed_base64(void **state)
{
    (void)state;
    /* {"alg":"HS256"} and {"exp":2000000000,"iat":1,"type":"access"} */
    static const char header[] = "eyJhbGciOiJIUzI1NiJ9";
    static const char payload[] = "eyJleHAiOjIwMDAwMDAwMDAsImlhdCI6MSwidHlwZSI6ImFjY2VzcyJ9";
    char input[512];
    snprintf(input, sizeof input, "%s.%s", header, payload);
    char *good = sign_input(input);
    expect_code(good, JWT_OK);
    /* the helper agrees with `openssl dgst -sha256 -mac HMAC` */
    assert_string_equal(strrchr(good, '.') + 1, "FRKwb_dJ9rHP5hYgKLHAjyqFflpqGuF1cc98Pn5su28");

    /* The header is read before the signature is checked... */
    static const char *const bad_headers[] = {
        "eyJhbGciOiJIUzI1NiJ9==", "eyJhbGciOiJIUzI1NiJ9A", "eyJhbGciOiJIUzI1NiJ+",
        "eyJhbGciOiJIUzI1NiJ/",   "eyJhbGci*iJIUzI1NiJ9",  "eyJhbGci iJIUzI1NiJ9",
    };
    for (size_t i = 0; i < sizeof bad_headers / sizeof bad_headers[0]; i++) {
        snprintf(input, sizeof input, "%s.%s", bad_headers[i], payload);
        char *t = sign_input(input);
        assert_string_equal(expect_code(t, JWT_EMALFORMED), "malformed header");
        free(t);
    }

    /* ...the payload only after it, so these are signed correctly to reach the decoder. */
    static const char *const bad_payloads[] = {
        "eyJleHAiOjIwMDAwMDAwMDAsImlhdCI6MSwidHlwZSI6ImFjY2VzcyJ9=",
        "eyJleHAiOjIwMDAwMDAwMDAsImlhdCI6MSwidHlwZSI6ImFjY2VzcyJ9A",
        "eyJleHAiOjIwMDAwMDAwMDAsImlhdCI6MSwidHlwZSI6ImFjY2VzcyJ+",
        "eyJleHAiOjIwMDAwMDAwMDAsImlhdCI6MSwidHlwZSI6ImFjY2VzcyJ%",
    };
    for (size_t i = 0; i < sizeof bad_payloads / sizeof bad_payloads[0]; i++) {
        snprintf(input, sizeof input, "%s.%s", header, bad_payloads[i]);
        char *t = sign_input(input);
        assert_string_equal(expect_code(t, JWT_EMALFORMED), "malformed payload");
        free(t);
    }

    /* Signature: foreign characters, padding, wrong length. */
    char *sig = strrchr(good, '.') + 1;
    static const char swaps[] = {'+', '/', '*', ' ', '='};
    char bad[512];
    for (size_t i = 0; i < sizeof swaps; i++) {
        strcpy(bad, good);
        strrchr(bad, '.')[3] = swaps[i];
        assert_string_equal(expect_code(bad, JWT_EMALFORMED), "malformed signature");
    }
    /* 43 characters carry 32 bytes and 2 spare bits; setting one must not give a second valid
     * spelling of the same signature. */
    strcpy(bad, good);
    char *last = bad + strlen(bad) - 1;
    assert_int_equal(*last, '8'); /* sextet 60 = 111100b */
    *last = '9';                  /* 111101b */
    assert_string_equal(expect_code(bad, JWT_EMALFORMED), "malformed signature");
    snprintf(bad, sizeof bad, "%s=", good);
    assert_string_equal(expect_code(bad, JWT_EMALFORMED), "malformed signature");
    snprintf(bad, sizeof bad, "%s.%s.%.42s", header, payload, sig);
    assert_string_equal(expect_code(bad, JWT_EMALFORMED), "malformed signature");
    snprintf(bad, sizeof bad, "%s.%s.%sAA", header, payload, sig);
    assert_string_equal(expect_code(bad, JWT_EMALFORMED), "malformed signature");
    free(good);
}

static void test_segments(void **state)
{
    (void)state;
    char *token = sign_access("admin");
    char bad[JWT_MAX_TOKEN_LEN];

    /* two segments */
    strcpy(bad, token);
    *strrchr(bad, '.') = '\0';
    assert_string_equal(expect_code(bad, JWT_EMALFORMED), "malformed token");
    /* four segments */
    strcpy(bad, token);
    strcat(bad, ".");
    assert_string_equal(expect_code(bad, JWT_EMALFORMED), "malformed token");
    strcpy(bad, token);
    strcat(bad, ".e30");
    assert_string_equal(expect_code(bad, JWT_EMALFORMED), "malformed token");
    /* empty header or payload */
    strcpy(bad, strchr(token, '.'));
    expect_code(bad, JWT_EMALFORMED);
    strcpy(bad, token);
    strcpy(strchr(bad, '.') + 1, strrchr(token, '.'));
    expect_code(bad, JWT_EMALFORMED);
    /* empty signature */
    strcpy(bad, token);
    strrchr(bad, '.')[1] = '\0';
    expect_code(bad, JWT_EMALFORMED);

    static const char *const junk[] = {"", ".", "..", "...", "a", "a.b", "a.b.c", "Bearer x.y.z"};
    for (size_t i = 0; i < sizeof junk / sizeof junk[0]; i++) {
        expect_code(junk[i], JWT_EMALFORMED);
    }
    expect_code(NULL, JWT_EMALFORMED);
    assert_int_equal(jwt_verify(token, KEY_ARGS, IAT, NULL, NULL, NULL), JWT_EMALFORMED);
    free(token);
}

static void test_oversize(void **state)
{
    (void)state;
    /* A validly signed token just over the cap is refused before anything is parsed. */
    size_t filler = JWT_MAX_TOKEN_LEN;
    char *payload = malloc(filler + 100);
    assert_non_null(payload);
    int n = sprintf(payload, "{\"exp\":2000000000,\"iat\":1,\"type\":\"access\",\"pad\":\"");
    memset(payload + n, 'x', filler);
    strcpy(payload + n + filler, "\"}");
    char *t = make_token_str(std_header, payload);
    assert_true(strlen(t) > JWT_MAX_TOKEN_LEN);
    assert_string_equal(expect_code(t, JWT_EMALFORMED), "token too long");
    free(t);
    free(payload);

    char *big = malloc(JWT_MAX_TOKEN_LEN + 2);
    assert_non_null(big);
    memset(big, 'A', JWT_MAX_TOKEN_LEN + 1);
    big[JWT_MAX_TOKEN_LEN + 1] = '\0';
    assert_string_equal(expect_code(big, JWT_EMALFORMED), "token too long");
    free(big);

    /* jwt_sign does not issue a token jwt_verify would refuse. */
    cJSON *claims = jwt_claims_new(1, "u", "viewer", NULL, JWT_TYPE_ACCESS, IAT, 60);
    char *pad = malloc(7000);
    assert_non_null(pad);
    memset(pad, 'x', 6999);
    pad[6999] = '\0';
    cJSON_AddStringToObject(claims, "pad", pad);
    assert_null(jwt_sign(claims, KEY_ARGS));
    free(pad);
    cJSON_Delete(claims);
}

static void test_sign_and_claims_arguments(void **state)
{
    (void)state;
    cJSON *claims = jwt_claims_new(1, "u", "viewer", NULL, JWT_TYPE_ACCESS, IAT, 60);
    assert_non_null(claims);
    assert_int_equal(cJSON_GetArraySize(cJSON_GetObjectItemCaseSensitive(claims, "permissions")),
                     0);
    assert_null(jwt_sign(claims, NULL, 0));
    assert_null(jwt_sign(claims, (const unsigned char *)KEY, 0));
    cJSON *array = cJSON_CreateArray();
    assert_null(jwt_sign(array, KEY_ARGS));
    assert_null(jwt_sign(NULL, KEY_ARGS));
    cJSON_Delete(claims);

    cJSON *not_array = cJSON_CreateObject();
    assert_null(jwt_claims_new(1, "u", "r", not_array, "access", IAT, 60));
    assert_null(jwt_claims_new(0, "u", "r", array, "access", IAT, 60));
    assert_null(jwt_claims_new(-5, "u", "r", array, "access", IAT, 60));
    assert_null(jwt_claims_new(1, NULL, "r", array, "access", IAT, 60));
    assert_null(jwt_claims_new(1, "u", NULL, array, "access", IAT, 60));
    assert_null(jwt_claims_new(1, "u", "r", array, NULL, IAT, 60));
    assert_null(jwt_claims_new(1, "u", "r", array, "access", IAT, 0));
    cJSON_Delete(not_array);
    cJSON_Delete(array);
}

static void test_claims_sub(void **state)
{
    (void)state;
    static const struct {
        const char *json;
        int rc;
        long sub;
    } cases[] = {
        {"{\"sub\":\"1\"}", 0, 1},
        {"{\"sub\":\"9223372036854775807\"}", 0, 9223372036854775807L},
        {"{\"sub\":\"9223372036854775808\"}", -1, 0},
        {"{\"sub\":\"0\"}", -1, 0},
        {"{\"sub\":\"01\"}", -1, 0},
        {"{\"sub\":\"-1\"}", -1, 0},
        {"{\"sub\":\"+1\"}", -1, 0},
        {"{\"sub\":\"1 \"}", -1, 0},
        {"{\"sub\":\"\"}", -1, 0},
        {"{\"sub\":12}", -1, 0},
        {"{}", -1, 0},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        cJSON *c = cJSON_Parse(cases[i].json);
        assert_non_null(c);
        long sub = 0;
        assert_int_equal(jwt_claims_sub(c, &sub), cases[i].rc);
        assert_int_equal(sub, cases[i].sub);
        cJSON_Delete(c);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_b64_rfc4648_vectors),
        cmocka_unit_test(test_b64_alphabets_differ),
        cmocka_unit_test(test_b64_rejects),
        cmocka_unit_test(test_round_trip),
        cmocka_unit_test(test_known_vector_sign),
        cmocka_unit_test(test_independent_token_verifies),
        cmocka_unit_test(test_rfc7515_a1),
        cmocka_unit_test(test_tampered_payload),
        cmocka_unit_test(test_tampered_signature),
        cmocka_unit_test(test_alg_none),
        cmocka_unit_test(test_alg_hs512),
        cmocka_unit_test(test_missing_alg),
        cmocka_unit_test(test_header_typ_and_crit),
        cmocka_unit_test(test_expired),
        cmocka_unit_test(test_refresh_as_access),
        cmocka_unit_test(test_claims_checked),
        cmocka_unit_test(test_malformed_base64),
        cmocka_unit_test(test_segments),
        cmocka_unit_test(test_oversize),
        cmocka_unit_test(test_sign_and_claims_arguments),
        cmocka_unit_test(test_claims_sub),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
