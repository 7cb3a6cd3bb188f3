/* fuzz_query.c -- libFuzzer driver: arbitrary bytes as a query string for http_parse_query,
 * and as text for http_utf8_valid (checked against a reference decoder) */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "http.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Unicode 15, table 3-7: the well-formed byte sequences, written out range by range. */
static bool reference_utf8(const unsigned char *s, size_t len)
{
    size_t i = 0;
    while (i < len) {
        unsigned char c = s[i];
        unsigned char lo = 0x80, hi = 0xBF;
        size_t n;
        if (c <= 0x7F) {
            i++;
            continue;
        }
        if (c >= 0xC2 && c <= 0xDF)
            n = 1;
        else if (c >= 0xE0 && c <= 0xEF)
            n = 2;
        else if (c >= 0xF0 && c <= 0xF4)
            n = 3;
        else
            return false;
        if (c == 0xE0)
            lo = 0xA0;
        else if (c == 0xED)
            hi = 0x9F;
        else if (c == 0xF0)
            lo = 0x90;
        else if (c == 0xF4)
            hi = 0x8F;
        if (i + n >= len)
            return false;
        if (s[i + 1] < lo || s[i + 1] > hi)
            return false;
        for (size_t k = 2; k <= n; k++) {
            if (s[i + k] < 0x80 || s[i + k] > 0xBF)
                return false;
        }
        i += n + 1;
    }
    return true;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    http_request_t req;
    http_response_t res;
    char *query = malloc(size + 1);

    if (query == NULL)
        return 0;
    memcpy(query, data, size);
    query[size] = '\0';

    if (http_utf8_valid((const char *)data, size) != reference_utf8(data, size))
        abort();

    memset(&req, 0, sizeof req);
    memset(&res, 0, sizeof res);
    if (http_parse_query(&req, &res, query) == 0) {
        /* Accepted: a body was never set, and every parameter is sane and unique. */
        if (res.body != NULL || req.nparams > HTTP_MAX_PARAMS)
            abort();
        for (int i = 0; i < req.nparams; i++) {
            const char *name = req.params[i].name, *value = req.params[i].value;
            if (name == NULL || value == NULL || *name == '\0' || strlen(value) > HTTP_MAX_VALUE ||
                !http_utf8_valid(name, strlen(name)) || !http_utf8_valid(value, strlen(value)) ||
                http_param(&req, name) != value)
                abort();
        }
    } else if (res.status != 400 || res.body == NULL) {
        abort();
    }
    http_request_free(&req);
    http_response_free(&res);
    free(query);
    return 0;
}
