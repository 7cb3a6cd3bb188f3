/* password.c -- PBKDF2-HMAC-SHA256 password hashes and random initial passwords */
#include "password.h"

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/rand.h>

#include "b64.h"

#define PASSWORD_SCHEME "pbkdf2_sha256"
#define PASSWORD_SALT_MIN 8
#define PASSWORD_SALT_MAX 64
#define PASSWORD_GENERATE_MIN_CHARS 12

/* Upper and lower case letters and digits without 0 O o 1 l I: 24 + 24 + 8 = 56 symbols. */
static const char generate_alphabet[] = "ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnpqrstuvwxyz23456789";


/* PBKDF2-HMAC-SHA256 of password into key. Returns false on failure. */
static bool derive(const char *password, const unsigned char *salt, size_t salt_len,
                   unsigned iterations, unsigned char key[PASSWORD_KEY_LEN])
{
    size_t password_len = strlen(password);
    if (password_len > INT_MAX || salt_len > INT_MAX || iterations > INT_MAX) {
        return false;
    }
    return PKCS5_PBKDF2_HMAC(password, (int)password_len, salt, (int)salt_len, (int)iterations,
                             EVP_sha256(), PASSWORD_KEY_LEN, key)
           == 1;
}


char *password_hash(const char *password, unsigned iterations)
{
    if (iterations == 0) {
        iterations = PASSWORD_DEFAULT_ITERATIONS;
    }
    if (password == NULL || iterations < PASSWORD_MIN_ITERATIONS
        || iterations > PASSWORD_MAX_ITERATIONS) {
        return NULL;
    }
    char *result = NULL;
    char *salt_b64 = NULL;
    char *key_b64 = NULL;
    unsigned char salt[PASSWORD_SALT_LEN];
    unsigned char key[PASSWORD_KEY_LEN];

    if (RAND_bytes(salt, sizeof salt) != 1
        || !derive(password, salt, sizeof salt, iterations, key)) {
        goto done;
    }
    salt_b64 = b64_std_encode(salt, sizeof salt);
    key_b64 = b64_std_encode(key, sizeof key);
    if (salt_b64 == NULL || key_b64 == NULL) {
        goto done;
    }
    int len = snprintf(NULL, 0, PASSWORD_SCHEME "$%u$%s$%s", iterations, salt_b64, key_b64);
    if (len < 0) {
        goto done;
    }
    result = malloc((size_t)len + 1);
    if (result != NULL) {
        snprintf(result, (size_t)len + 1, PASSWORD_SCHEME "$%u$%s$%s", iterations, salt_b64,
                 key_b64);
    }

done:
    OPENSSL_cleanse(key, sizeof key);
    free(salt_b64);
    free(key_b64);
    return result;
}


/* Parses the iteration field at *p up to the next '$' and advances *p past that '$'.
 * Digits only, no leading zero, within the accepted range. Returns 0 or -1. */
static int parse_iterations(const char **p, unsigned *iterations)
{
    const char *s = *p;
    if (*s < '1' || *s > '9') {
        return -1;
    }
    unsigned long value = 0;
    for (; *s >= '0' && *s <= '9'; s++) {
        value = value * 10 + (unsigned long)(*s - '0');
        if (value > PASSWORD_MAX_ITERATIONS) {
            return -1;
        }
    }
    if (*s != '$' || value < PASSWORD_MIN_ITERATIONS) {
        return -1;
    }
    *iterations = (unsigned)value;
    *p = s + 1;
    return 0;
}


bool password_verify(const char *password, const char *stored)
{
    if (password == NULL || stored == NULL) {
        return false;
    }
    static const char prefix[] = PASSWORD_SCHEME "$";
    if (strncmp(stored, prefix, sizeof prefix - 1) != 0) {
        return false;
    }
    const char *p = stored + sizeof prefix - 1;
    unsigned iterations = 0;
    if (parse_iterations(&p, &iterations) != 0) {
        return false;
    }
    const char *dollar = strchr(p, '$');
    if (dollar == NULL) {
        return false;
    }

    bool match = false;
    unsigned char *salt = NULL;
    unsigned char *expected = NULL;
    size_t salt_len = 0;
    size_t expected_len = 0;
    unsigned char key[PASSWORD_KEY_LEN];
    /* A '$' inside the key field makes its base64 invalid, so extra fields are rejected. */
    if (b64_std_decode(p, (size_t)(dollar - p), &salt, &salt_len) != 0
        || b64_std_decode(dollar + 1, strlen(dollar + 1), &expected, &expected_len) != 0) {
        goto done;
    }
    if (salt_len < PASSWORD_SALT_MIN || salt_len > PASSWORD_SALT_MAX
        || expected_len != PASSWORD_KEY_LEN) {
        goto done;
    }
    if (!derive(password, salt, salt_len, iterations, key)) {
        goto done;
    }
    match = CRYPTO_memcmp(key, expected, PASSWORD_KEY_LEN) == 0;
    OPENSSL_cleanse(key, sizeof key);

done:
    free(salt);
    free(expected);
    return match;
}


bool password_verify_dummy(const char *password)
{
    static const unsigned char salt[PASSWORD_SALT_LEN] = {0};
    unsigned char key[PASSWORD_KEY_LEN];
    if (derive(password == NULL ? "" : password, salt, sizeof salt, PASSWORD_DEFAULT_ITERATIONS,
               key)) {
        OPENSSL_cleanse(key, sizeof key);
    }
    return false;
}


int password_generate(char *out, size_t len)
{
    if (out == NULL) {
        return -1;
    }
    if (len > 0) {
        out[0] = '\0';
    }
    if (len < PASSWORD_GENERATE_MIN_CHARS + 1) {
        return -1;
    }
    enum { ALPHABET_LEN = sizeof generate_alphabet - 1 };
    /* Bytes at or above the largest multiple of the alphabet size are redrawn, so every symbol
     * is equally likely (no modulo bias). */
    const unsigned limit = 256 / ALPHABET_LEN * ALPHABET_LEN;
    unsigned char pool[64];
    size_t used = sizeof pool;
    size_t n = 0;
    while (n < len - 1) {
        if (used == sizeof pool) {
            if (RAND_bytes(pool, sizeof pool) != 1) {
                OPENSSL_cleanse(out, len);
                out[0] = '\0';
                return -1;
            }
            used = 0;
        }
        unsigned char byte = pool[used++];
        if (byte < limit) {
            out[n++] = generate_alphabet[byte % ALPHABET_LEN];
        }
    }
    out[n] = '\0';
    OPENSSL_cleanse(pool, sizeof pool);
    return 0;
}
