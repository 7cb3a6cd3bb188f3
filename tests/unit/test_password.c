/* test_password.c -- unit tests for PBKDF2 password hashing and password generation */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "b64.h"
#include "password.h"

/* Low cost keeps the suite fast; the default is checked separately. */
#define TEST_ITERATIONS 1000u

_Static_assert(PASSWORD_DEFAULT_ITERATIONS >= 600000u, "PBKDF2 default below OWASP 2023");

/* Computed outside this code base:
 *   openssl kdf -keylen 32 -kdfopt digest:SHA256 -kdfopt pass:'correct horse battery staple' \
 *     -kdfopt hexsalt:000102030405060708090a0b0c0d0e0f -kdfopt iter:1000 PBKDF2
 * with salt and key converted to base64 by `xxd -r -p | base64`. */
static const char known_password[] = "correct horse battery staple";
static const char known_stored[] = "pbkdf2_sha256$1000$AAECAwQFBgcICQoLDA0ODw=="
                                   "$ppsXnjrdPB4KryJ6DrOqKqhkWrhv7PbKAMF1Eml8cZ4=";


static void test_default_iterations(void **state)
{
    (void)state;
    assert_true(PASSWORD_DEFAULT_ITERATIONS >= 600000u);
    assert_true(PASSWORD_MIN_ITERATIONS <= TEST_ITERATIONS);
    /* 0 selects the default, and the stored string says so. */
    char *stored = password_hash("s3cret", 0);
    assert_non_null(stored);
    char expected_prefix[64];
    snprintf(expected_prefix, sizeof expected_prefix, "pbkdf2_sha256$%u$",
             PASSWORD_DEFAULT_ITERATIONS);
    assert_int_equal(strncmp(stored, expected_prefix, strlen(expected_prefix)), 0);
    assert_true(password_verify("s3cret", stored));
    free(stored);
}

static void test_format(void **state)
{
    (void)state;
    char *stored = password_hash("hunter2", TEST_ITERATIONS);
    assert_non_null(stored);
    assert_int_equal(strncmp(stored, "pbkdf2_sha256$1000$", 19), 0);

    const char *salt = stored + 19;
    const char *dollar = strchr(salt, '$');
    assert_non_null(dollar);
    assert_null(strchr(dollar + 1, '$'));
    unsigned char *bytes = NULL;
    size_t n = 0;
    assert_int_equal(b64_std_decode(salt, (size_t)(dollar - salt), &bytes, &n), 0);
    assert_int_equal(n, PASSWORD_SALT_LEN);
    free(bytes);
    assert_int_equal(b64_std_decode(dollar + 1, strlen(dollar + 1), &bytes, &n), 0);
    assert_int_equal(n, PASSWORD_KEY_LEN);
    free(bytes);

    /* a fresh salt every time */
    char *again = password_hash("hunter2", TEST_ITERATIONS);
    assert_non_null(again);
    assert_string_not_equal(stored, again);
    assert_true(password_verify("hunter2", again));
    free(again);
    free(stored);
}

static void test_verify_ok_and_wrong(void **state)
{
    (void)state;
    char *stored = password_hash("Tr0ub4dor&3", TEST_ITERATIONS);
    assert_non_null(stored);
    assert_true(password_verify("Tr0ub4dor&3", stored));
    assert_false(password_verify("Tr0ub4dor&4", stored));
    assert_false(password_verify("tr0ub4dor&3", stored));
    assert_false(password_verify("Tr0ub4dor&3 ", stored));
    assert_false(password_verify("Tr0ub4dor", stored));
    assert_false(password_verify("", stored));
    assert_false(password_verify(NULL, stored));
    free(stored);

    /* the empty password and non-ASCII bytes are just bytes */
    stored = password_hash("", TEST_ITERATIONS);
    assert_non_null(stored);
    assert_true(password_verify("", stored));
    assert_false(password_verify(" ", stored));
    free(stored);
    stored = password_hash("p\xc3\xa4ssw\xc3\xb6rd", TEST_ITERATIONS);
    assert_true(password_verify("p\xc3\xa4ssw\xc3\xb6rd", stored));
    assert_false(password_verify("passwrd", stored));
    free(stored);
}

static void test_known_vector(void **state)
{
    (void)state;
    assert_true(password_verify(known_password, known_stored));
    assert_false(password_verify("correct horse battery stapl", known_stored));
}

static void test_malformed_stored(void **state)
{
    (void)state;
    static const char *const bad[] = {
        "",
        "pbkdf2_sha256",
        "pbkdf2_sha256$",
        "pbkdf2_sha256$1000",
        "pbkdf2_sha256$1000$",
        "pbkdf2_sha256$1000$AAECAwQFBgcICQoLDA0ODw==",
        "pbkdf2_sha256$1000$AAECAwQFBgcICQoLDA0ODw==$",
        /* other schemes and spellings */
        "pbkdf2_sha1$1000$AAECAwQFBgcICQoLDA0ODw==$ppsXnjrdPB4KryJ6DrOqKqhkWrhv7PbKAMF1Eml8cZ4=",
        "PBKDF2_SHA256$1000$AAECAwQFBgcICQoLDA0ODw==$ppsXnjrdPB4KryJ6DrOqKqhkWrhv7PbKAMF1Eml8cZ4=",
        "$pbkdf2_sha256$1000$AAECAwQFBgcICQoLDA0ODw==$ppsXnjrdPB4KryJ6DrOqKqhkWrhv7PbKAMF1Eml8cZ4=",
        "ppsXnjrdPB4KryJ6DrOqKqhkWrhv7PbKAMF1Eml8cZ4=",
        /* iteration field */
        "pbkdf2_sha256$999$AAECAwQFBgcICQoLDA0ODw==$ppsXnjrdPB4KryJ6DrOqKqhkWrhv7PbKAMF1Eml8cZ4=",
        "pbkdf2_sha256$01000$AAECAwQFBgcICQoLDA0ODw==$ppsXnjrdPB4KryJ6DrOqKqhkWrhv7PbKAMF1Eml8cZ4=",
        "pbkdf2_sha256$+1000$AAECAwQFBgcICQoLDA0ODw==$ppsXnjrdPB4KryJ6DrOqKqhkWrhv7PbKAMF1Eml8cZ4=",
        "pbkdf2_sha256$-1000$AAECAwQFBgcICQoLDA0ODw==$ppsXnjrdPB4KryJ6DrOqKqhkWrhv7PbKAMF1Eml8cZ4=",
        "pbkdf2_sha256$ 1000$AAECAwQFBgcICQoLDA0ODw==$ppsXnjrdPB4KryJ6DrOqKqhkWrhv7PbKAMF1Eml8cZ4=",
        "pbkdf2_sha256$1e3$AAECAwQFBgcICQoLDA0ODw==$ppsXnjrdPB4KryJ6DrOqKqhkWrhv7PbKAMF1Eml8cZ4=",
        "pbkdf2_sha256$$AAECAwQFBgcICQoLDA0ODw==$ppsXnjrdPB4KryJ6DrOqKqhkWrhv7PbKAMF1Eml8cZ4=",
        "pbkdf2_sha256$10000001$AAECAwQFBgcICQoLDA0ODw==$ppsXnjrdPB4KryJ6DrOqKqhkWrhv7PbKAMF1Eml8cZ4=",
        "pbkdf2_sha256$4294968296$AAECAwQFBgcICQoLDA0ODw==$ppsXnjrdPB4KryJ6DrOqKqhkWrhv7PbKAMF1Eml8cZ4=",
        ("pbkdf2_sha256$99999999999999999999999$AAECAwQFBgcICQoLDA0ODw=="
         "$ppsXnjrdPB4KryJ6DrOqKqhkWrhv7PbKAMF1Eml8cZ4="),
        /* salt field */
        "pbkdf2_sha256$1000$$ppsXnjrdPB4KryJ6DrOqKqhkWrhv7PbKAMF1Eml8cZ4=",
        "pbkdf2_sha256$1000$AAECAw==$ppsXnjrdPB4KryJ6DrOqKqhkWrhv7PbKAMF1Eml8cZ4=", /* 4 bytes */
        "pbkdf2_sha256$1000$AAECAwQFBgcICQoLDA0ODw$ppsXnjrdPB4KryJ6DrOqKqhkWrhv7PbKAMF1Eml8cZ4=",
        "pbkdf2_sha256$1000$AAECAwQFBgcICQoL-A0ODw==$ppsXnjrdPB4KryJ6DrOqKqhkWrhv7PbKAMF1Eml8cZ4=",
        "pbkdf2_sha256$1000$ AAECAwQFBgcICQoLDA0ODw==$ppsXnjrdPB4KryJ6DrOqKqhkWrhv7PbKAMF1Eml8cZ4=",
        /* key field */
        "pbkdf2_sha256$1000$AAECAwQFBgcICQoLDA0ODw==$ppsXnjrdPB4KryJ6DrOqKqhkWrhv7PbKAMF1Eml8cQ==",
        "pbkdf2_sha256$1000$AAECAwQFBgcICQoLDA0ODw==$ppsXnjrdPB4KryJ6DrOqKqhkWrhv7PbKAMF1Eml8cZ4AAA==",
        "pbkdf2_sha256$1000$AAECAwQFBgcICQoLDA0ODw==$ppsXnjrdPB4KryJ6DrOqKqhkWrhv7PbKAMF1Eml8cZ4",
        "pbkdf2_sha256$1000$AAECAwQFBgcICQoLDA0ODw==$ppsXnjrdPB4KryJ6DrOqKqhkWrhv7PbKAMF1Eml8cZ4=\n",
        "pbkdf2_sha256$1000$AAECAwQFBgcICQoLDA0ODw==$ppsXnjrdPB4KryJ6DrOqKqhkWrhv7PbKAMF1Eml8cZ4=$",
        "pbkdf2_sha256$1000$AAECAwQFBgcICQoLDA0ODw==$ppsXnjrdPB4KryJ6DrOqKqhkWrhv7PbKAMF1Eml8cZ4=$x",
        "pbkdf2_sha256$1000$AAECAwQFBgcICQoLDA0ODw==$ppsXnjrdPB4KryJ6DrOqKqhkWrhv7PbKAMF1Eml8cZ5=",
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        if (password_verify(known_password, bad[i])) {
            fail_msg("accepted malformed stored value %zu: %s", i, bad[i]);
        }
    }
    assert_false(password_verify(known_password, NULL));
    assert_false(password_verify(NULL, NULL));
}

static void test_hash_arguments(void **state)
{
    (void)state;
    assert_null(password_hash(NULL, TEST_ITERATIONS));
    assert_null(password_hash("x", PASSWORD_MIN_ITERATIONS - 1));
    assert_null(password_hash("x", PASSWORD_MAX_ITERATIONS + 1));
    assert_null(password_hash("x", 4294967295u));
}

static void test_dummy(void **state)
{
    (void)state;
    assert_false(password_verify_dummy("anything"));
    assert_false(password_verify_dummy(NULL));
}

static void test_generate(void **state)
{
    (void)state;
    static const char alphabet[] = "ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnpqrstuvwxyz23456789";
    assert_int_equal(strlen(alphabet), 56);
    char a[21];
    char b[21];
    assert_int_equal(password_generate(a, sizeof a), 0);
    assert_int_equal(password_generate(b, sizeof b), 0);
    assert_int_equal(strlen(a), 20);
    assert_int_equal(strspn(a, alphabet), 20);
    assert_string_not_equal(a, b);
    assert_null(strpbrk(a, "0O1lIo"));

    /* Over 5600 characters every symbol shows up (a missing one has odds about 56 e^-100). */
    int seen[256] = {0};
    for (int round = 0; round < 280; round++) {
        assert_int_equal(password_generate(a, sizeof a), 0);
        for (const char *p = a; *p != '\0'; p++) {
            seen[(unsigned char)*p]++;
        }
    }
    for (const char *p = alphabet; *p != '\0'; p++) {
        assert_true(seen[(unsigned char)*p] > 0);
    }

    /* generated passwords go through the hash like any other */
    char *stored = password_hash(a, TEST_ITERATIONS);
    assert_true(password_verify(a, stored));
    free(stored);
}

static void test_generate_arguments(void **state)
{
    (void)state;
    char small[12];
    memset(small, 'x', sizeof small);
    assert_int_equal(password_generate(small, sizeof small), -1);
    assert_int_equal(small[0], '\0');
    char exact[13];
    assert_int_equal(password_generate(exact, sizeof exact), 0);
    assert_int_equal(strlen(exact), 12);
    assert_int_equal(password_generate(NULL, 21), -1);
    assert_int_equal(password_generate(exact, 0), -1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_default_iterations),
        cmocka_unit_test(test_format),
        cmocka_unit_test(test_verify_ok_and_wrong),
        cmocka_unit_test(test_known_vector),
        cmocka_unit_test(test_malformed_stored),
        cmocka_unit_test(test_hash_arguments),
        cmocka_unit_test(test_dummy),
        cmocka_unit_test(test_generate),
        cmocka_unit_test(test_generate_arguments),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
