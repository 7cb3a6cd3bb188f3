/* http.h -- one request and its response: query string, body, headers, JSON out. */
#ifndef HTTP_H
#define HTTP_H

#include <fcgiapp.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <cjson/cJSON.h>

#define HTTP_MAX_PARAMS 32
#define HTTP_MAX_QUERY 4096
#define HTTP_MAX_VALUE 1024

typedef struct http_param {
    char *name;
    char *value;
} http_param_t;

typedef struct auth_user {
    long id;
    char username[101];
    char role[21];
    cJSON *permissions;          /* array of strings; owned by the request */
    bool authenticated;
} auth_user_t;

typedef struct db_conn db_conn_t;

typedef struct http_request {
    FCGX_Request *fcgi;
    const char *method;          /* as sent; valid until the request finishes */
    const char *content_type;
    const char *authorization;
    const char *remote_addr;
    char request_id[65];
    int64_t arrived_us;          /* monotonic time of its accept */
    http_param_t params[HTTP_MAX_PARAMS];
    int nparams;
    char *body;                  /* NUL-terminated; NULL without a body */
    size_t body_len;
    auth_user_t user;
    db_conn_t *db;               /* the pooled connection this request holds, if any */
} http_request_t;

typedef struct http_response {
    int status;
    cJSON *body;                 /* owned; NULL means no body (204) */
    char headers[1024];          /* extra header lines, each ending in \r\n */
    size_t headers_len;
} http_response_t;

/* Splits and percent-decodes a query string into req->params. Rejects bad escapes, NUL,
 * invalid UTF-8, repeated names, over-long values and too many parameters. Returns 0, or -1
 * with a 400 set in res. */
int http_parse_query(http_request_t *req, http_response_t *res, const char *query);

/* The value of one hexadecimal digit, or -1. */
int http_hex_value(char c);

/* True when text is well-formed UTF-8 (no overlongs, surrogates or values past U+10FFFF). */
bool http_utf8_valid(const char *text, size_t len);

/* The decoded value of a parameter, or NULL when absent. */
const char *http_param(const http_request_t *req, const char *name);

/* 400s for any parameter not in the NULL-terminated list. Returns 0 or -1. */
int http_allow_params(const http_request_t *req, http_response_t *res,
                      const char *const *allowed);

/* Reads an optional integer parameter in [min, max]; absent gives def. Returns 0, or -1 with a
 * 400 naming the parameter. */
int http_param_int(const http_request_t *req, http_response_t *res, const char *name, long def,
                   long min, long max, long *out);

/* Matches an optional parameter case-insensitively against a NULL-terminated list; absent
 * gives def_index (which must not be -1, the error value). Returns the index, or -1 with a 400
 * naming the parameter. */
int http_param_enum(const http_request_t *req, http_response_t *res, const char *name,
                    const char *const *choices, int def_index);

/* Reads the body announced by CONTENT_LENGTH, refusing more than limit bytes (413) and a
 * malformed length (400). Returns 0 or -1 with the error set in res. */
int http_read_body(http_request_t *req, http_response_t *res, size_t limit);

/* Starts a 200 response whose body is {"success": true}; returns the body to fill. */
cJSON *http_ok(http_response_t *res);

/* Answers with body as the whole response (taking ownership, replacing any earlier body),
 * e.g. a document the SQL built. Returns 0. */
int http_respond(http_response_t *res, int status, cJSON *body);

/* Sets the error body of API.md; parameter may be NULL. Always returns -1 so a handler can
 * `return http_error(...)`. */
int http_error(http_response_t *res, int status, const char *code, const char *message,
               const char *parameter);

/* Adds a header line "Name: value". */
void http_add_header(http_response_t *res, const char *name, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Writes status, headers and body to the FastCGI stream. Returns 0, or -1 when the client
 * has gone away. */
int http_send(http_request_t *req, http_response_t *res);

/* Adds a timestamp string member (RFC 3339 UTC) for epoch_ms. */
void json_add_time(cJSON *obj, const char *name, int64_t epoch_ms);

/* Adds a number rounded to the given decimals. */
void json_add_rounded(cJSON *obj, const char *name, double value, int decimals);

/* Frees what the request and response own. */
void http_request_free(http_request_t *req);
void http_response_free(http_response_t *res);

#endif
