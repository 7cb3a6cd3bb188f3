/* sha256.h -- SHA-256 (FIPS 180-4) and HMAC-SHA256 (RFC 2104), for signing and checking
 * tokens on every request without initialising OpenSSL's providers in each worker (about
 * 2 MB of resident memory and a few milliseconds on a worker's first token). Password
 * hashing (password.c) keeps OpenSSL, whose SHA extensions make 600,000 PBKDF2 rounds fast. */
#ifndef SHA256_H
#define SHA256_H

#include <stddef.h>
#include <stdint.h>

#define SHA256_LEN 32
#define SHA256_BLOCK 64

typedef struct sha256 {
    uint32_t h[8];
    uint64_t bytes; /* message length so far */
    unsigned char buf[SHA256_BLOCK];
    size_t used; /* bytes waiting in buf */
} sha256_t;

void sha256_init(sha256_t *s);
void sha256_update(sha256_t *s, const void *data, size_t len);
void sha256_final(sha256_t *s, unsigned char out[SHA256_LEN]);

/* HMAC-SHA256 of data under key (any length) into out. */
void hmac_sha256(const void *key, size_t key_len, const void *data, size_t len,
                 unsigned char out[SHA256_LEN]);

/* 0 when the n bytes of a and b are equal; the time taken does not depend on where they
 * differ. */
int sha256_memcmp_ct(const void *a, const void *b, size_t n);

#endif
