/* jwt.c -- HS256 JSON Web Tokens: build claims, sign, and verify with strict checks */
#include "jwt.h"

#include <limits.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "b64.h"
#include "sha256.h"

#define JWT_HEADER_JSON "{\"alg\":\"HS256\",\"typ\":\"JWT\"}"
#define JWT_MAC_LEN 32
/* base64url of 32 bytes without padding */
#define JWT_SIG_B64_LEN 43


cJSON *jwt_claims_new(long sub, const char *username, const char *role, const cJSON *permissions,
                      const char *type, long iat, long ttl_s)
{
    if (sub <= 0 || username == NULL || role == NULL || type == NULL || ttl_s <= 0
        || iat > LONG_MAX - ttl_s || (permissions != NULL && !cJSON_IsArray(permissions))) {
        return NULL;
    }
    char sub_text[24];
    snprintf(sub_text, sizeof sub_text, "%ld", sub);

    cJSON *claims = cJSON_CreateObject();
    cJSON *perms = permissions != NULL ? cJSON_Duplicate(permissions, true) : cJSON_CreateArray();
    if (claims == NULL || perms == NULL) {
        goto fail;
    }
    if (cJSON_AddStringToObject(claims, "sub", sub_text) == NULL
        || cJSON_AddStringToObject(claims, "username", username) == NULL
        || cJSON_AddStringToObject(claims, "role", role) == NULL) {
        goto fail;
    }
    if (!cJSON_AddItemToObject(claims, "permissions", perms)) {
        goto fail;
    }
    perms = NULL; /* owned by claims now */
    if (cJSON_AddNumberToObject(claims, "iat", (double)iat) == NULL
        || cJSON_AddNumberToObject(claims, "exp", (double)(iat + ttl_s)) == NULL
        || cJSON_AddStringToObject(claims, "type", type) == NULL) {
        goto fail;
    }
    return claims;

fail:
    cJSON_Delete(perms);
    cJSON_Delete(claims);
    return NULL;
}


int jwt_claims_sub(const cJSON *claims, long *sub)
{
    const cJSON *item = cJSON_GetObjectItemCaseSensitive(claims, "sub");
    if (!cJSON_IsString(item) || sub == NULL) {
        return -1;
    }
    const char *s = item->valuestring;
    if (*s < '1' || *s > '9') {
        return -1;
    }
    long value = 0;
    for (; *s != '\0'; s++) {
        if (*s < '0' || *s > '9') {
            return -1;
        }
        int digit = *s - '0';
        if (value > (LONG_MAX - digit) / 10) {
            return -1;
        }
        value = value * 10 + digit;
    }
    *sub = value;
    return 0;
}




char *jwt_sign(const cJSON *claims, const unsigned char *key, size_t key_len)
{
    if (!cJSON_IsObject(claims) || key == NULL || key_len == 0) {
        return NULL;
    }
    bool ok = false;
    char *token = NULL;
    char *header_b64 = NULL;
    char *payload_b64 = NULL;
    char *sig_b64 = NULL;
    char *payload_json = cJSON_PrintUnformatted(claims);
    if (payload_json == NULL) {
        goto done;
    }
    header_b64 = b64_url_encode((const unsigned char *)JWT_HEADER_JSON, strlen(JWT_HEADER_JSON));
    payload_b64 = b64_url_encode((const unsigned char *)payload_json, strlen(payload_json));
    if (header_b64 == NULL || payload_b64 == NULL) {
        goto done;
    }

    /* header.payload.signature, where the MAC covers "header.payload" */
    size_t header_len = strlen(header_b64);
    size_t payload_len = strlen(payload_b64);
    size_t signed_len = header_len + 1 + payload_len;
    if (signed_len + 1 + JWT_SIG_B64_LEN > JWT_MAX_TOKEN_LEN) {
        goto done;
    }
    token = malloc(signed_len + 1 + JWT_SIG_B64_LEN + 1);
    if (token == NULL) {
        goto done;
    }
    memcpy(token, header_b64, header_len);
    token[header_len] = '.';
    memcpy(token + header_len + 1, payload_b64, payload_len);

    unsigned char mac[JWT_MAC_LEN];
    hmac_sha256(key, key_len, token, signed_len, mac);
    sig_b64 = b64_url_encode(mac, sizeof mac);
    explicit_bzero(mac, sizeof mac);
    if (sig_b64 == NULL) {
        goto done;
    }
    token[signed_len] = '.';
    memcpy(token + signed_len + 1, sig_b64, JWT_SIG_B64_LEN + 1);
    ok = true;

done:
    if (!ok) {
        free(token);
        token = NULL;
    }
    cJSON_free(payload_json);
    free(header_b64);
    free(payload_b64);
    free(sig_b64);
    return token;
}


/* Decodes one base64url segment and parses it as a JSON object. Rejects embedded NUL bytes and
 * anything after the object but whitespace. Returns the object, or NULL (also when out of
 * memory: a token is at most 8 KiB, so that is reported as malformed). */
static cJSON *decode_object(const char *segment, size_t len)
{
    unsigned char *raw = NULL;
    size_t raw_len = 0;
    if (b64_url_decode(segment, len, &raw, &raw_len) != 0) {
        return NULL;
    }
    cJSON *object = NULL;
    if (memchr(raw, '\0', raw_len) == NULL) {
        /* raw_len + 1 includes the decoder's NUL, which cJSON then requires after the value. */
        object = cJSON_ParseWithLengthOpts((const char *)raw, raw_len + 1, NULL, true);
    }
    free(raw);
    if (object != NULL && !cJSON_IsObject(object)) {
        cJSON_Delete(object);
        object = NULL;
    }
    return object;
}


int jwt_verify(const char *token, const unsigned char *key, size_t key_len, long now,
               const char *expected_type, cJSON **claims_out, const char **why)
{
    int rc = JWT_EMALFORMED;
    const char *reason = "malformed token";
    cJSON *header = NULL;
    cJSON *payload = NULL;
    unsigned char *sig = NULL;
    size_t sig_len = 0;

    if (claims_out != NULL) {
        *claims_out = NULL;
    }
    if (token == NULL || expected_type == NULL) {
        goto fail;
    }
    size_t len = strnlen(token, JWT_MAX_TOKEN_LEN + 1);
    if (len > JWT_MAX_TOKEN_LEN) {
        reason = "token too long";
        goto fail;
    }

    /* Exactly three segments; an empty signature fails later, after the alg check, so an
     * "alg":"none" token is logged as such. */
    const char *dot1 = memchr(token, '.', len);
    if (dot1 == NULL) {
        goto fail;
    }
    const char *payload_start = dot1 + 1;
    const char *dot2 = memchr(payload_start, '.', len - (size_t)(payload_start - token));
    if (dot2 == NULL) {
        goto fail;
    }
    const char *sig_start = dot2 + 1;
    size_t sig_text_len = len - (size_t)(sig_start - token);
    if (dot1 == token || dot2 == payload_start || memchr(sig_start, '.', sig_text_len) != NULL) {
        goto fail;
    }

    header = decode_object(token, (size_t)(dot1 - token));
    if (header == NULL) {
        reason = "malformed header";
        goto fail;
    }
    const cJSON *alg = cJSON_GetObjectItemCaseSensitive(header, "alg");
    if (!cJSON_IsString(alg) || strcmp(alg->valuestring, "HS256") != 0) {
        rc = JWT_EALG;
        reason = "unsupported alg";
        goto fail;
    }
    const cJSON *typ = cJSON_GetObjectItemCaseSensitive(header, "typ");
    if (typ != NULL && (!cJSON_IsString(typ) || strcmp(typ->valuestring, "JWT") != 0)) {
        rc = JWT_EALG;
        reason = "unsupported typ";
        goto fail;
    }
    /* RFC 7515 4.1.11: extensions listed in crit must be understood; we understand none. */
    if (cJSON_GetObjectItemCaseSensitive(header, "crit") != NULL) {
        rc = JWT_EALG;
        reason = "unsupported crit header";
        goto fail;
    }

    if (key == NULL || key_len == 0) {
        rc = JWT_ESIGNATURE;
        reason = "no signing key";
        goto fail;
    }
    if (b64_url_decode(sig_start, sig_text_len, &sig, &sig_len) != 0 || sig_len != JWT_MAC_LEN) {
        reason = "malformed signature";
        goto fail;
    }
    unsigned char mac[JWT_MAC_LEN];
    hmac_sha256(key, key_len, token, (size_t)(dot2 - token), mac);
    int differs = sha256_memcmp_ct(mac, sig, JWT_MAC_LEN);
    explicit_bzero(mac, sizeof mac);
    if (differs != 0) {
        rc = JWT_ESIGNATURE;
        reason = "bad signature";
        goto fail;
    }

    payload = decode_object(payload_start, (size_t)(dot2 - payload_start));
    if (payload == NULL) {
        reason = "malformed payload";
        goto fail;
    }
    const cJSON *exp = cJSON_GetObjectItemCaseSensitive(payload, "exp");
    const cJSON *iat = cJSON_GetObjectItemCaseSensitive(payload, "iat");
    if (!cJSON_IsNumber(exp) || !cJSON_IsNumber(iat)) {
        reason = "missing exp or iat";
        goto fail;
    }
    if (!(exp->valuedouble > (double)now)) {
        rc = JWT_EEXPIRED;
        reason = "token expired";
        goto fail;
    }
    const cJSON *type = cJSON_GetObjectItemCaseSensitive(payload, "type");
    if (!cJSON_IsString(type) || strcmp(type->valuestring, expected_type) != 0) {
        rc = JWT_ETYPE;
        reason = "wrong token type";
        goto fail;
    }

    cJSON_Delete(header);
    free(sig);
    if (claims_out != NULL) {
        *claims_out = payload;
    } else {
        cJSON_Delete(payload);
    }
    if (why != NULL) {
        *why = "ok";
    }
    return JWT_OK;

fail:
    cJSON_Delete(header);
    cJSON_Delete(payload);
    free(sig);
    if (why != NULL) {
        *why = reason;
    }
    return rc;
}
