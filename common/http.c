/* http.c -- one request and its response: query string, body, headers, JSON out. */
#include "http.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "config.h"
#include "jsonout.h"
#include "textbuf.h"
#include "timeutil.h"

int http_hex_value(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

/* Decodes src[0..len) into a new string; NULL on a bad escape or an embedded NUL. */
static char *percent_decode(const char *src, size_t len)
{
    char *out = malloc(len + 1), *o = out;

    if (out == NULL)
        return NULL;
    for (size_t i = 0; i < len; i++) {
        char c = src[i];
        if (c == '+') {
            c = ' ';
        } else if (c == '%') {
            int hi = i + 2 < len ? http_hex_value(src[i + 1]) : -1;
            int lo = i + 2 < len ? http_hex_value(src[i + 2]) : -1;
            if (hi < 0 || lo < 0 || (hi == 0 && lo == 0)) {
                free(out);
                return NULL;
            }
            c = (char)(hi * 16 + lo);
            i += 2;
        }
        *o++ = c;
    }
    *o = '\0';
    return out;
}

bool http_utf8_valid(const char *text, size_t len)
{
    const unsigned char *s = (const unsigned char *)text;
    size_t i = 0;

    while (i < len) {
        unsigned char c = s[i];
        uint32_t cp;
        int extra;
        if (c < 0x80) {
            i++;
            continue;
        } else if ((c & 0xE0) == 0xC0) {
            cp = c & 0x1F;
            extra = 1;
        } else if ((c & 0xF0) == 0xE0) {
            cp = c & 0x0F;
            extra = 2;
        } else if ((c & 0xF8) == 0xF0) {
            cp = c & 0x07;
            extra = 3;
        } else {
            return false;
        }
        if (i + (size_t)extra >= len)
            return false;
        for (int k = 1; k <= extra; k++) {
            if ((s[i + (size_t)k] & 0xC0) != 0x80)
                return false;
            cp = (cp << 6) | (s[i + (size_t)k] & 0x3F);
        }
        if ((extra == 1 && cp < 0x80) || (extra == 2 && cp < 0x800) ||
            (extra == 3 && cp < 0x10000) || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF))
            return false;
        i += (size_t)extra + 1;
    }
    return true;
}

int http_parse_query(http_request_t *req, http_response_t *res, const char *query)
{
    const char *p = query;

    if (query == NULL || *query == '\0')
        return 0;
    if (strlen(query) > HTTP_MAX_QUERY)
        return http_error(res, 400, "INVALID_PARAMETER", "The query string is too long.", NULL);
    while (*p != '\0') {
        size_t seg = strcspn(p, "&");
        const char *eq = memchr(p, '=', seg);
        size_t name_len = eq != NULL ? (size_t)(eq - p) : seg;
        char *name, *value;

        if (seg == 0) {
            p++;
            continue;
        }
        name = percent_decode(p, name_len);
        value = eq != NULL ? percent_decode(eq + 1, seg - name_len - 1) : strdup("");
        if (name == NULL || value == NULL || *name == '\0') {
            free(name);
            free(value);
            return http_error(res, 400, "INVALID_PARAMETER",
                              "The query string has a malformed percent-escape or an empty name.",
                              NULL);
        }
        if (!http_utf8_valid(name, strlen(name)) || !http_utf8_valid(value, strlen(value)) ||
            strlen(value) > HTTP_MAX_VALUE || req->nparams == HTTP_MAX_PARAMS ||
            http_param(req, name) != NULL) {
            const char *why = req->nparams == HTTP_MAX_PARAMS ? "Too many query parameters."
                              : http_param(req, name) != NULL ? "A parameter is given twice."
                              : strlen(value) > HTTP_MAX_VALUE
                                  ? "A parameter value is too long."
                                  : "A parameter is not valid UTF-8.";
            int rc = http_error(res, 400, "INVALID_PARAMETER", why,
                                http_utf8_valid(name, strlen(name)) ? name : NULL);
            free(name);
            free(value);
            return rc;
        }
        req->params[req->nparams].name = name;
        req->params[req->nparams].value = value;
        req->nparams++;
        p += seg;
        if (*p == '&')
            p++;
    }
    return 0;
}

const char *http_param(const http_request_t *req, const char *name)
{
    for (int i = 0; i < req->nparams; i++) {
        if (strcmp(req->params[i].name, name) == 0)
            return req->params[i].value;
    }
    return NULL;
}

int http_allow_params(const http_request_t *req, http_response_t *res,
                      const char *const *allowed)
{
    for (int i = 0; i < req->nparams; i++) {
        const char *const *a = allowed;
        while (*a != NULL && strcmp(*a, req->params[i].name) != 0)
            a++;
        if (*a == NULL)
            return http_error(res, 400, "INVALID_PARAMETER",
                              "This route has no parameter of that name.", req->params[i].name);
    }
    return 0;
}

int http_param_int(const http_request_t *req, http_response_t *res, const char *name, long def,
                   long min, long max, long *out)
{
    const char *text = http_param(req, name);
    char msg[128];

    if (text == NULL) {
        *out = def;
        return 0;
    }
    if (config_parse_int(text, min, max, out) != 0) {
        snprintf(msg, sizeof msg, "%s must be a whole number from %ld to %ld.", name, min, max);
        return http_error(res, 400, "INVALID_PARAMETER", msg, name);
    }
    return 0;
}

int http_param_enum(const http_request_t *req, http_response_t *res, const char *name,
                    const char *const *choices, int def_index)
{
    const char *text = http_param(req, name);
    char msg[256];
    size_t n = 0;

    if (text == NULL)
        return def_index;
    for (int i = 0; choices[i] != NULL; i++) {
        if (strcasecmp(text, choices[i]) == 0)
            return i;
    }
    n = (size_t)snprintf(msg, sizeof msg, "%s must be one of:", name);
    for (int i = 0; choices[i] != NULL && n < sizeof msg; i++)
        n += (size_t)snprintf(msg + n, sizeof msg - n, "%s %s", i ? "," : "", choices[i]);
    if (n < sizeof msg - 1)
        strcat(msg, ".");
    return http_error(res, 400, "INVALID_PARAMETER", msg, name);
}

int http_read_body(http_request_t *req, http_response_t *res, size_t limit)
{
    const char *cl = FCGX_GetParam("CONTENT_LENGTH", req->fcgi->envp);
    long len;
    size_t got = 0;

    if (cl == NULL || *cl == '\0')
        return http_error(res, 400, "INVALID_JSON",
                          "A request body with a Content-Length is required.", NULL);
    if (config_parse_int(cl, 0, 1L << 40, &len) != 0)
        return http_error(res, 400, "INVALID_PARAMETER", "Content-Length is not a valid number.",
                          NULL);
    if ((size_t)len > limit) {
        char msg[96];
        snprintf(msg, sizeof msg, "The request body exceeds this route's limit of %zu bytes.",
                 limit);
        return http_error(res, 413, "PAYLOAD_TOO_LARGE", msg, NULL);
    }
    req->body = malloc((size_t)len + 1);
    if (req->body == NULL)
        return http_error(res, 500, "INTERNAL_ERROR", "Out of memory.", NULL);
    while (got < (size_t)len) {
        int n = FCGX_GetStr(req->body + got, (int)((size_t)len - got), req->fcgi->in);
        if (n <= 0)
            break;
        got += (size_t)n;
    }
    req->body[got] = '\0';
    req->body_len = got;
    if (got != (size_t)len)
        return http_error(res, 400, "INVALID_JSON", "The request body ended early.", NULL);
    return 0;
}

cJSON *http_ok(http_response_t *res)
{
    cJSON_Delete(res->body);
    res->status = 200;
    res->body = cJSON_CreateObject();
    cJSON_AddBoolToObject(res->body, "success", 1);
    return res->body;
}

int http_respond(http_response_t *res, int status, cJSON *body)
{
    cJSON_Delete(res->body);
    res->status = status;
    res->body = body;
    return 0;
}

int http_error(http_response_t *res, int status, const char *code, const char *message,
               const char *parameter)
{
    cJSON_Delete(res->body);
    res->status = status;
    res->body = cJSON_CreateObject();
    cJSON_AddBoolToObject(res->body, "success", 0);
    cJSON_AddStringToObject(res->body, "error", code);
    cJSON_AddStringToObject(res->body, "message", message);
    if (parameter != NULL)
        cJSON_AddStringToObject(res->body, "parameter", parameter);
    return -1;
}

void http_add_header(http_response_t *res, const char *name, const char *fmt, ...)
{
    va_list ap;
    size_t room = sizeof res->headers - res->headers_len;
    int n = snprintf(res->headers + res->headers_len, room, "%s: ", name);

    if (n < 0 || (size_t)n >= room) {
        res->headers[res->headers_len] = '\0';
        return;
    }
    va_start(ap, fmt);
    int m = vsnprintf(res->headers + res->headers_len + n, room - (size_t)n, fmt, ap);
    va_end(ap);
    if (m < 0 || (size_t)(n + m + 2) >= room) {
        res->headers[res->headers_len] = '\0';
        return;
    }
    memcpy(res->headers + res->headers_len + n + m, "\r\n", 3);
    res->headers_len += (size_t)(n + m + 2);
}

static const char *status_text(int status)
{
    switch (status) {
    case 200: return "OK";
    case 201: return "Created";
    case 204: return "No Content";
    case 400: return "Bad Request";
    case 401: return "Unauthorized";
    case 403: return "Forbidden";
    case 404: return "Not Found";
    case 405: return "Method Not Allowed";
    case 413: return "Payload Too Large";
    case 415: return "Unsupported Media Type";
    case 429: return "Too Many Requests";
    case 500: return "Internal Server Error";
    case 503: return "Service Unavailable";
    case 504: return "Gateway Timeout";
    default: return "Unknown";
    }
}

/* A response's body is composed first, so that its head can give its length (nginx then
 * passes the response on as it is instead of chunking it), and both go out together. The
 * buffers are kept for the next response unless a large one made them grow past
 * RESPONSE_BUF_KEEP. */
#define RESPONSE_BUF_KEEP (256 * 1024)
static text_buf_t head_buf, body_buf;

int http_send(http_request_t *req, http_response_t *res)
{
    int rc = 0;

    if (res->body != NULL && cJSON_GetObjectItemCaseSensitive(res->body, "timestamp") == NULL)
        json_add_time(res->body, "timestamp", time_now_ms());
    text_buf_reset(&head_buf);
    text_buf_reset(&body_buf);
    if (res->body != NULL && json_write(res->body, &body_buf) != 0)
        rc = -1;
    text_buf_printf(&head_buf,
                    "Status: %d %s\r\n"
                    "Access-Control-Allow-Origin: *\r\n"
                    "Access-Control-Allow-Methods: GET, POST, OPTIONS\r\n"
                    "Access-Control-Allow-Headers: Content-Type, Authorization\r\n"
                    "X-Request-Id: %s\r\n"
                    "%s",
                    res->status, status_text(res->status), req->request_id, res->headers);
    if (res->body != NULL)
        text_buf_printf(&head_buf, "Content-Type: application/json\r\nContent-Length: %zu\r\n",
                        body_buf.len);
    text_buf_append(&head_buf, "\r\n", 2);
    if (rc != 0 || head_buf.failed || body_buf.failed ||
        FCGX_PutStr(head_buf.data, (int)head_buf.len, req->fcgi->out) < 0 ||
        (body_buf.len > 0 && FCGX_PutStr(body_buf.data, (int)body_buf.len, req->fcgi->out) < 0))
        rc = -1;
    if (body_buf.cap > RESPONSE_BUF_KEEP)
        text_buf_free(&body_buf);
    if (head_buf.cap > RESPONSE_BUF_KEEP)
        text_buf_free(&head_buf);
    return rc;
}

void json_add_time(cJSON *obj, const char *name, int64_t epoch_ms)
{
    char buf[40];
    cJSON_AddStringToObject(obj, name, time_format_rfc3339(epoch_ms, buf, sizeof buf));
}

void json_add_rounded(cJSON *obj, const char *name, double value, int decimals)
{
    double scale = pow(10, decimals);
    cJSON_AddNumberToObject(obj, name, round(value * scale) / scale);
}

void http_request_free(http_request_t *req)
{
    for (int i = 0; i < req->nparams; i++) {
        free(req->params[i].name);
        free(req->params[i].value);
    }
    req->nparams = 0;
    free(req->body);
    req->body = NULL;
    cJSON_Delete(req->user.permissions);
    req->user.permissions = NULL;
}

void http_response_free(http_response_t *res)
{
    cJSON_Delete(res->body);
    res->body = NULL;
}
