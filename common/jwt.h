/* jwt.h -- HS256 JSON Web Tokens: build claims, sign, and verify with strict checks */
#ifndef JWT_H
#define JWT_H

#include <stddef.h>

#include <cjson/cJSON.h>

/* Longest token jwt_verify will look at; anything longer is rejected unread. */
#define JWT_MAX_TOKEN_LEN 8192

#define JWT_TYPE_ACCESS "access"
#define JWT_TYPE_REFRESH "refresh"
#define JWT_ACCESS_TTL_S 1800L
#define JWT_REFRESH_TTL_S 604800L

/* jwt_verify results: 0 or one negative code per reason (all map to 401). */
enum jwt_status {
    JWT_OK = 0,
    JWT_EMALFORMED = -1, /* length, segments, base64url, JSON shape, missing exp/iat */
    JWT_EALG = -2,       /* header alg is not exactly "HS256", typ not "JWT", or "crit" present */
    JWT_ESIGNATURE = -3, /* HMAC does not match, or no key was given */
    JWT_EEXPIRED = -4,   /* exp <= now */
    JWT_ETYPE = -5,      /* type claim differs from the expected one */
};

/* Builds the claims object {sub, username, role, permissions, iat, exp, type} with
 * sub as the decimal string of the user id (RFC 7519 says sub is a string), exp = iat + ttl_s,
 * and permissions a deep copy of the given array (NULL means an empty array).
 * Returns a new object the caller frees with cJSON_Delete, or NULL when an argument is NULL
 * (other than permissions), permissions is not an array, ttl_s <= 0, or out of memory. */
cJSON *jwt_claims_new(long sub, const char *username, const char *role, const cJSON *permissions,
                      const char *type, long iat, long ttl_s) __attribute__((warn_unused_result));

/* Reads the sub claim written by jwt_claims_new back into *sub.
 * Returns 0, or -1 (leaving *sub untouched) when it is missing or not a positive decimal string
 * without sign, leading zero or overflow. */
int jwt_claims_sub(const cJSON *claims, long *sub) __attribute__((warn_unused_result));

/* Signs claims (a JSON object) with HMAC-SHA256 under key, header {"alg":"HS256","typ":"JWT"}.
 * Returns a malloc'd NUL-terminated token the caller frees, or NULL when claims is not an
 * object, key is NULL or empty, the token would exceed JWT_MAX_TOKEN_LEN, or out of memory. */
char *jwt_sign(const cJSON *claims, const unsigned char *key, size_t key_len)
    __attribute__((warn_unused_result));

/* Verifies token against key at time now (seconds since the epoch). Accepts only: at most
 * JWT_MAX_TOKEN_LEN bytes; exactly three base64url segments; a header object with
 * "alg" exactly "HS256", "typ" absent or "JWT", no "crit"; a valid HMAC-SHA256 (constant-time
 * compare, the signature decoding to exactly 32 bytes) under a non-empty key; a payload object with
 * numeric "exp" > now, numeric "iat", and string "type" equal to expected_type (which must not be
 * NULL). Names are matched case-sensitively. The signature is checked before the payload is parsed.
 * Returns JWT_OK and, when claims_out is not NULL, sets *claims_out to the parsed payload
 * (caller frees with cJSON_Delete). Otherwise returns a negative enum jwt_status and sets
 * *claims_out to NULL. When why is not NULL, *why is set to a short static reason
 * ("ok", "malformed token", "unsupported alg", "bad signature", ...) fit for a log line. */
int jwt_verify(const char *token, const unsigned char *key, size_t key_len, long now,
               const char *expected_type, cJSON **claims_out, const char **why)
    __attribute__((warn_unused_result));

#endif
