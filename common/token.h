/* token.h -- what /api/auth reads and issues: login and refresh bodies, bearer headers,
 * signed token pairs; and the permission test of a token's claims. */
#ifndef TOKEN_H
#define TOKEN_H

#include <stdbool.h>
#include <stddef.h>

#include <cjson/cJSON.h>

#include "http.h"
#include "jwt.h"

/* Longest accepted username (the users column) and password, in bytes. */
#define TOKEN_USERNAME_MAX 100
#define TOKEN_PASSWORD_MAX 1024

enum token_request_kind {
    TOKEN_REQUEST_LOGIN,   /* {"username", "password"} */
    TOKEN_REQUEST_REFRESH, /* {"refresh_token"} */
};

typedef struct token_request {
    enum token_request_kind kind;
    char username[TOKEN_USERNAME_MAX + 1];    /* "" for a refresh */
    char password[TOKEN_PASSWORD_MAX + 1];    /* "" for a refresh */
    char refresh_token[JWT_MAX_TOKEN_LEN + 1]; /* "" for a login */
} token_request_t;

/* Parses a POST /api/auth body: body[0..len) followed by a NUL at body[len]. Accepts a JSON
 * object (nothing but whitespace around it, no NUL byte, valid UTF-8) holding either
 * "username" and "password" (strings of 1..TOKEN_USERNAME_MAX and 1..TOKEN_PASSWORD_MAX
 * bytes) or "refresh_token" (a string of 1..JWT_MAX_TOKEN_LEN bytes), each at most once;
 * other members are ignored. Returns 0 with out filled, or -1 with *why set to a static
 * sentence and *field to the offending member name (NULL when the body as a whole is at
 * fault). No pointer is kept. */
int token_parse_request(const char *body, size_t len, token_request_t *out, const char **field,
                        const char **why) __attribute__((warn_unused_result));

/* Overwrites the secrets of a parsed request (call when done with it). */
void token_request_wipe(token_request_t *request);

/* The token of an "Authorization: Bearer <token>" header (scheme matched case-insensitively,
 * one space), or NULL when the header is NULL, of another scheme, or has no token. */
const char *token_bearer(const char *authorization);

/* Sets the 401 of API.md with "WWW-Authenticate: Bearer" and returns -1. */
int token_unauthorized(http_response_t *res, const char *message);

/* Verifies the request's bearer token (of type JWT_TYPE_ACCESS or JWT_TYPE_REFRESH) under
 * JWT_SECRET_KEY, whatever AUTH_REQUIRED says. Returns 0 with *claims set (caller deletes),
 * or -1 with the 401 set and *claims NULL. */
int token_verify(const char *token, const char *type, http_response_t *res, cJSON **claims)
    __attribute__((warn_unused_result));

/* Signs a token of type for the user, issued at now, with the type's lifetime
 * (JWT_ACCESS_TTL_S or JWT_REFRESH_TTL_S). Returns a malloc'd token the caller frees, or
 * NULL when JWT_SECRET_KEY is unset or the claims cannot be built (out of memory). */
char *token_issue(long id, const char *username, const char *role, const cJSON *permissions,
                  const char *type, long now) __attribute__((warn_unused_result));

/* True when permissions (a JSON array, may be NULL) holds the string name. */
bool token_has_permission(const cJSON *permissions, const char *name);

#endif
