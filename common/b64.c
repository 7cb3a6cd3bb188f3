/* b64.c -- strict base64url and standard base64 codecs for JWT segments and password hashes */
#include "b64.h"

#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>


static const char url_alphabet[] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
static const char std_alphabet[] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";


/* Value of c in the alphabet whose last two symbols are c62 and c63, or -1. */
static int sextet(unsigned char c, char c62, char c63)
{
    if (c >= 'A' && c <= 'Z') {
        return c - 'A';
    }
    if (c >= 'a' && c <= 'z') {
        return c - 'a' + 26;
    }
    if (c >= '0' && c <= '9') {
        return c - '0' + 52;
    }
    if (c == (unsigned char)c62) {
        return 62;
    }
    if (c == (unsigned char)c63) {
        return 63;
    }
    return -1;
}


static char *encode(const unsigned char *data, size_t len, const char *alphabet, bool pad)
{
    if (len > (SIZE_MAX - 5) / 4 * 3) {
        return NULL;
    }
    size_t full = len / 3;
    size_t rest = len % 3;
    size_t out_len = full * 4 + (rest == 0 ? 0 : (pad ? 4 : rest + 1));
    char *out = malloc(out_len + 1);
    if (out == NULL) {
        return NULL;
    }

    char *p = out;
    for (size_t i = 0; i < full; i++) {
        uint32_t v = (uint32_t)data[3 * i] << 16 | (uint32_t)data[3 * i + 1] << 8 | data[3 * i + 2];
        *p++ = alphabet[v >> 18 & 63];
        *p++ = alphabet[v >> 12 & 63];
        *p++ = alphabet[v >> 6 & 63];
        *p++ = alphabet[v & 63];
    }
    if (rest > 0) {
        uint32_t v = (uint32_t)data[3 * full] << 16;
        if (rest == 2) {
            v |= (uint32_t)data[3 * full + 1] << 8;
        }
        *p++ = alphabet[v >> 18 & 63];
        *p++ = alphabet[v >> 12 & 63];
        if (rest == 2) {
            *p++ = alphabet[v >> 6 & 63];
        }
        if (pad) {
            if (rest == 1) {
                *p++ = '=';
            }
            *p++ = '=';
        }
    }
    *p = '\0';
    return out;
}


/* Decodes unpadded text; the caller has already removed any '=' padding. */
static int decode(const char *in, size_t in_len, char c62, char c63, unsigned char **out,
                  size_t *out_len)
{
    if (in == NULL || out == NULL || out_len == NULL) {
        return -1;
    }
    size_t rest = in_len % 4;
    if (rest == 1) {
        return -1;
    }
    size_t len = in_len / 4 * 3 + (rest == 0 ? 0 : rest - 1);
    unsigned char *buf = malloc(len + 1);
    if (buf == NULL) {
        return -1;
    }

    size_t o = 0;
    uint32_t acc = 0;
    for (size_t i = 0; i < in_len; i++) {
        int v = sextet((unsigned char)in[i], c62, c63);
        if (v < 0) {
            free(buf);
            return -1;
        }
        acc = acc << 6 | (uint32_t)v;
        if (i % 4 == 3) {
            buf[o++] = (unsigned char)(acc >> 16);
            buf[o++] = (unsigned char)(acc >> 8);
            buf[o++] = (unsigned char)acc;
            acc = 0;
        }
    }
    /* A tail of 2 sextets carries 1 byte (4 spare bits), 3 sextets carry 2 bytes (2 spare
     * bits); spare bits must be zero or the same bytes would have several encodings. */
    if (rest == 2) {
        if ((acc & 0x0f) != 0) {
            free(buf);
            return -1;
        }
        buf[o++] = (unsigned char)(acc >> 4);
    } else if (rest == 3) {
        if ((acc & 0x03) != 0) {
            free(buf);
            return -1;
        }
        buf[o++] = (unsigned char)(acc >> 10);
        buf[o++] = (unsigned char)(acc >> 2);
    }
    buf[o] = '\0';
    *out = buf;
    *out_len = len;
    return 0;
}


char *b64_url_encode(const unsigned char *data, size_t len)
{
    if (data == NULL && len > 0) {
        return NULL;
    }
    return encode(data, len, url_alphabet, false);
}


int b64_url_decode(const char *in, size_t in_len, unsigned char **out, size_t *out_len)
{
    return decode(in, in_len, '-', '_', out, out_len);
}


char *b64_std_encode(const unsigned char *data, size_t len)
{
    if (data == NULL && len > 0) {
        return NULL;
    }
    return encode(data, len, std_alphabet, true);
}


int b64_std_decode(const char *in, size_t in_len, unsigned char **out, size_t *out_len)
{
    if (in == NULL || in_len % 4 != 0) {
        return -1;
    }
    size_t pad = 0;
    if (in_len > 0 && in[in_len - 1] == '=') {
        pad = (in[in_len - 2] == '=') ? 2 : 1;
    }
    /* Any other '=' is rejected by decode() as an invalid character. */
    return decode(in, in_len - pad, '+', '/', out, out_len);
}
