/* fuzz_jwt.c -- libFuzzer driver: arbitrary bytes as a bearer token for jwt_verify */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "b64.h"
#include "jwt.h"

/* The key the seed corpus is signed with, so mutations of valid tokens reach the payload
 * checks instead of stopping at the signature. */
static const unsigned char fuzz_key[] = "unit-test-secret-0123456789abcdef";

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *token = malloc(size + 1);
    if (token == NULL) {
        return 0;
    }
    memcpy(token, data, size);
    token[size] = '\0';

    cJSON *claims = NULL;
    const char *why = NULL;
    int rc = jwt_verify(token, fuzz_key, sizeof fuzz_key - 1, 1700000001L, JWT_TYPE_ACCESS, &claims,
                        &why);
    /* Contract: a reason always, claims exactly on success. */
    if (why == NULL || (rc == JWT_OK) != (claims != NULL)) {
        abort();
    }
    if (rc == JWT_OK) {
        /* Anything accepted must be re-signable and accepted again. */
        char *again = jwt_sign(claims, fuzz_key, sizeof fuzz_key - 1);
        if (again != NULL
            && jwt_verify(again, fuzz_key, sizeof fuzz_key - 1, 1700000001L, JWT_TYPE_ACCESS, NULL,
                          NULL)
                   != JWT_OK) {
            abort();
        }
        free(again);
    }
    cJSON_Delete(claims);

    /* The strict decoder accepts one spelling per byte string: decode then encode must give
     * back the input exactly. */
    unsigned char *raw = NULL;
    size_t raw_len = 0;
    if (b64_url_decode(token, size, &raw, &raw_len) == 0) {
        char *text = b64_url_encode(raw, raw_len);
        if (text == NULL || strlen(text) != size || memcmp(text, token, size) != 0) {
            abort();
        }
        free(text);
        free(raw);
    }
    free(token);
    return 0;
}
