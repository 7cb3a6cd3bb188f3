/* b64.h -- strict base64url (no padding, RFC 7515) and standard base64 (padded, RFC 4648) */
#ifndef B64_H
#define B64_H

#include <stddef.h>

/* Encodes len bytes of data as base64url without '=' padding.
 * Returns a malloc'd NUL-terminated string the caller frees, or NULL when out of memory. */
char *b64_url_encode(const unsigned char *data, size_t len) __attribute__((warn_unused_result));

/* Decodes in_len characters of unpadded base64url. Rejects (returns -1, *out untouched) any
 * character outside [A-Za-z0-9_-] (so also '=' and NUL), a length of 4k+1, and non-zero unused
 * trailing bits, so every byte string has exactly one accepted encoding.
 * On success returns 0, sets *out to a malloc'd buffer of *out_len bytes followed by one extra
 * NUL byte (not counted in *out_len) so text can be used as a C string; the caller frees *out.
 * Returns -1 as well when out of memory. */
int b64_url_decode(const char *in, size_t in_len, unsigned char **out, size_t *out_len)
    __attribute__((warn_unused_result));

/* Encodes len bytes as standard base64 ('+', '/') with '=' padding to a multiple of 4.
 * Returns a malloc'd NUL-terminated string the caller frees, or NULL when out of memory. */
char *b64_std_encode(const unsigned char *data, size_t len) __attribute__((warn_unused_result));

/* Decodes in_len characters of padded standard base64 with the same strictness as
 * b64_url_decode: length must be a multiple of 4, '=' only as the final one or two characters,
 * no whitespace, unused trailing bits zero. Same return and ownership contract. */
int b64_std_decode(const char *in, size_t in_len, unsigned char **out, size_t *out_len)
    __attribute__((warn_unused_result));

#endif
