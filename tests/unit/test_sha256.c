/* test_sha256.c -- SHA-256 and HMAC-SHA256 against the published vectors (FIPS 180-4
 * examples, RFC 4231), and against OpenSSL for every length 0..300 fed in uneven pieces. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

#include "sha256.h"

static void hex(const unsigned char *b, size_t n, char *out)
{
    for (size_t i = 0; i < n; i++)
        sprintf(out + 2 * i, "%02x", b[i]);
}

static void assert_sha256(const void *data, size_t len, const char *want)
{
    unsigned char d[SHA256_LEN];
    char got[2 * SHA256_LEN + 1];
    sha256_t s;

    sha256_init(&s);
    sha256_update(&s, data, len);
    sha256_final(&s, d);
    hex(d, sizeof d, got);
    assert_string_equal(got, want);
}

static void fips_examples(void **state)
{
    (void)state;
    assert_sha256("", 0, "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
    assert_sha256("abc", 3, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
    assert_sha256("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq", 56,
                  "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1");
}

static void million_a(void **state)
{
    static unsigned char a[1000000];
    (void)state;
    memset(a, 'a', sizeof a);
    assert_sha256(a, sizeof a, "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0");
}

static void assert_hmac(const void *key, size_t key_len, const void *data, size_t len,
                        const char *want)
{
    unsigned char mac[SHA256_LEN];
    char got[2 * SHA256_LEN + 1];

    hmac_sha256(key, key_len, data, len, mac);
    hex(mac, sizeof mac, got);
    assert_string_equal(got, want);
}

static void rfc4231(void **state)
{
    unsigned char k20[20], k131[131], aa50[50], cd50[50], k25[25];
    (void)state;
    memset(k20, 0x0b, sizeof k20);
    assert_hmac(k20, 20, "Hi There", 8,
                "b0344c61d8db38535ca8afceaf0bf12b881dc200c9833da726e9376c2e32cff7");
    assert_hmac("Jefe", 4, "what do ya want for nothing?", 28,
                "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843");
    memset(k20, 0xaa, sizeof k20);
    memset(cd50, 0xdd, sizeof cd50);
    assert_hmac(k20, 20, cd50, 50,
                "773ea91e36800e46854db8ebd09181a72959098b3ef8c122d9635514ced565fe");
    for (int i = 0; i < 25; i++)
        k25[i] = (unsigned char)(i + 1);
    memset(aa50, 0xcd, sizeof aa50);
    assert_hmac(k25, 25, aa50, 50,
                "82558a389a443c0ea4cc819899f2083a85f0faa3e578f8077a2e3ff46729665b");
    memset(k131, 0xaa, sizeof k131);
    assert_hmac(k131, 131, "Test Using Larger Than Block-Size Key - Hash Key First", 54,
                "60e431591ee0b67f0d8a26aacbf5b77f8e0bc6213728c5140546040f0ee37f54");
    {
        const char *m = "This is a test using a larger than block-size key and a larger than "
                        "block-size data. The key needs to be hashed before being used by the "
                        "HMAC algorithm.";
        assert_hmac(k131, 131, m, strlen(m),
                    "9b09ffa71b942fcb27635fbcd5b0e944bfdc63644f0713938a7f51535c3a35e2");
    }
}

/* Every message length across the block and padding boundaries, the key longer and shorter
 * than a block, the message fed in pieces of 1, 7 and 63 bytes. */
static void agrees_with_openssl(void **state)
{
    unsigned char msg[300], key[100], ours[SHA256_LEN], theirs[SHA256_LEN];
    unsigned int theirs_len = 0;
    (void)state;
    for (size_t i = 0; i < sizeof msg; i++)
        msg[i] = (unsigned char)(i * 131 + 7);
    for (size_t i = 0; i < sizeof key; i++)
        key[i] = (unsigned char)(i * 17 + 3);
    for (size_t len = 0; len <= sizeof msg; len++) {
        size_t key_len = len % sizeof key;
        hmac_sha256(key, key_len, msg, len, ours);
        HMAC(EVP_sha256(), key, (int)key_len, msg, len, theirs, &theirs_len);
        assert_int_equal(theirs_len, SHA256_LEN);
        assert_memory_equal(ours, theirs, SHA256_LEN);

        static const size_t pieces[] = {1, 7, 63};
        sha256_t s;
        sha256_init(&s);
        for (size_t at = 0, k = 0; at < len; k++) {
            size_t n = pieces[k % 3] < len - at ? pieces[k % 3] : len - at;
            sha256_update(&s, msg + at, n);
            at += n;
        }
        sha256_final(&s, ours);
        EVP_Digest(msg, len, theirs, &theirs_len, EVP_sha256(), NULL);
        assert_memory_equal(ours, theirs, SHA256_LEN);
    }
}

static void constant_time_compare(void **state)
{
    unsigned char a[32] = {0}, b[32] = {0};
    (void)state;
    assert_int_equal(sha256_memcmp_ct(a, b, sizeof a), 0);
    b[31] = 1;
    assert_int_not_equal(sha256_memcmp_ct(a, b, sizeof a), 0);
    b[31] = 0;
    b[0] = 0x80;
    assert_int_not_equal(sha256_memcmp_ct(a, b, sizeof a), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(fips_examples),
        cmocka_unit_test(million_a),
        cmocka_unit_test(rfc4231),
        cmocka_unit_test(agrees_with_openssl),
        cmocka_unit_test(constant_time_compare),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
