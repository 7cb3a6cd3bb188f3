/* password.h -- PBKDF2-HMAC-SHA256 password hashes and random initial passwords */
#ifndef PASSWORD_H
#define PASSWORD_H

#include <stdbool.h>
#include <stddef.h>

/* OWASP 2023 figure for PBKDF2-HMAC-SHA256. */
#define PASSWORD_DEFAULT_ITERATIONS 600000u
/* Range accepted from stored hashes and from password_hash callers. */
#define PASSWORD_MIN_ITERATIONS 1000u
#define PASSWORD_MAX_ITERATIONS 10000000u
#define PASSWORD_SALT_LEN 16
#define PASSWORD_KEY_LEN 32

/* Hashes password with a fresh 16-byte RAND_bytes salt into
 * "pbkdf2_sha256$<iterations>$<salt>$<key>" (salt and 32-byte key in padded standard base64).
 * iterations 0 means PASSWORD_DEFAULT_ITERATIONS. Returns a malloc'd string the caller frees,
 * or NULL when password is NULL, iterations is outside [PASSWORD_MIN_ITERATIONS,
 * PASSWORD_MAX_ITERATIONS], the random generator fails, or out of memory. */
char *password_hash(const char *password, unsigned iterations) __attribute__((warn_unused_result));

/* True when stored is a well-formed hash of password. False for a wrong password and for any
 * malformed stored value: other scheme, iteration count with sign, leading zero or outside
 * the accepted range, salt not 8..64 bytes, key not exactly 32 bytes, bad base64, extra
 * fields. The key comparison is constant-time. */
bool password_verify(const char *password, const char *stored) __attribute__((warn_unused_result));

/* Spends the time of a default-cost password_verify and returns false. Call it when the user
 * does not exist so response timing does not reveal which usernames are registered. */
bool password_verify_dummy(const char *password);

/* Writes len - 1 random characters from a 56-symbol alphabet without look-alikes
 * (no 0 O o 1 l I) and a terminating NUL into out; about 5.8 bits per character, e.g.
 * len 21 gives a 20-character password of ~116 bits. Returns 0, or -1 (out set to "" when
 * len > 0) when out is NULL, len - 1 < 12, or the random generator fails. */
int password_generate(char *out, size_t len) __attribute__((warn_unused_result));

#endif
