/* token.c -- what /api/auth reads and issues: login and refresh bodies, bearer headers,
 * signed token pairs; and the permission test of a token's claims. */
#include "token.h"

#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <time.h>


#include "config.h"

/* The member name when it occurs exactly once in obj; counts repeats into *count. */
static const cJSON *member(const cJSON *obj, const char *name, int *count)
{
    const cJSON *item, *found = NULL;

    *count = 0;
    cJSON_ArrayForEach(item, obj)
    {
        if (item->string != NULL && strcmp(item->string, name) == 0) {
            found = found != NULL ? found : item;
            (*count)++;
        }
    }
    return found;
}

/* Copies the string member name (1..max bytes) into out[max + 1]. Returns 0, 1 when absent,
 * or -1 with *why set. */
static int copy_string(const cJSON *obj, const char *name, size_t max, char *out,
                       const char **why)
{
    int count;
    const cJSON *item = member(obj, name, &count);
    size_t len;

    if (item == NULL)
        return 1;
    if (count > 1) {
        *why = "A member of the body is given more than once.";
        return -1;
    }
    if (!cJSON_IsString(item) || item->valuestring == NULL) {
        *why = "The member must be a string.";
        return -1;
    }
    len = strlen(item->valuestring);
    if (len == 0 || len > max) {
        *why = "The member is empty or longer than allowed.";
        return -1;
    }
    /* \u escapes are decoded by the parser, so check what they decoded to. */
    if (!http_utf8_valid(item->valuestring, len)) {
        *why = "The member is not valid UTF-8.";
        return -1;
    }
    memcpy(out, item->valuestring, len + 1);
    return 0;
}

int token_parse_request(const char *body, size_t len, token_request_t *out, const char **field,
                        const char **why)
{
    cJSON *root;
    int user, pass = 1, refresh = 1;

    memset(out, 0, sizeof *out);
    *field = NULL;
    if (body == NULL || len == 0 || memchr(body, '\0', len) != NULL ||
        !http_utf8_valid(body, len)) {
        *why = "The body must be a JSON object in UTF-8 text.";
        return -1;
    }
    root = cJSON_ParseWithOpts(body, NULL, 1);
    if (!cJSON_IsObject(root)) {
        cJSON_Delete(root);
        *why = "The body must be a JSON object.";
        return -1;
    }
    *field = "username";
    user = copy_string(root, "username", TOKEN_USERNAME_MAX, out->username, why);
    if (user >= 0) {
        *field = "password";
        pass = copy_string(root, "password", TOKEN_PASSWORD_MAX, out->password, why);
    }
    if (user >= 0 && pass >= 0) {
        *field = "refresh_token";
        refresh = copy_string(root, "refresh_token", JWT_MAX_TOKEN_LEN, out->refresh_token, why);
    }
    cJSON_Delete(root);
    if (user < 0 || pass < 0 || refresh < 0) {
        token_request_wipe(out);
        return -1;
    }
    if (refresh == 0 && user == 1 && pass == 1) {
        out->kind = TOKEN_REQUEST_REFRESH;
        return 0;
    }
    if (refresh == 1 && user == 0 && pass == 0) {
        out->kind = TOKEN_REQUEST_LOGIN;
        return 0;
    }
    token_request_wipe(out);
    *field = NULL;
    *why = "The body must hold either username and password, or refresh_token alone.";
    return -1;
}

void token_request_wipe(token_request_t *request)
{
    explicit_bzero(request->password, sizeof request->password);
    explicit_bzero(request->refresh_token, sizeof request->refresh_token);
}

const char *token_bearer(const char *authorization)
{
    if (authorization == NULL || strncasecmp(authorization, "Bearer ", 7) != 0 ||
        authorization[7] == '\0')
        return NULL;
    return authorization + 7;
}

int token_unauthorized(http_response_t *res, const char *message)
{
    http_add_header(res, "WWW-Authenticate", "Bearer realm=\"api\"");
    return http_error(res, 401, "UNAUTHORIZED", message, NULL);
}

int token_verify(const char *token, const char *type, http_response_t *res, cJSON **claims)
{
    const char *secret = cfg.jwt_secret_key, *why = "no signing key is configured";
    char message[128];

    *claims = NULL;
    if (token == NULL)
        return token_unauthorized(res, "A bearer token is required.");
    if (secret != NULL && *secret != '\0' &&
        jwt_verify(token, (const unsigned char *)secret, strlen(secret), (long)time(NULL), type,
                   claims, &why) == JWT_OK)
        return 0;
    snprintf(message, sizeof message, "The token was rejected: %s.", why);
    return token_unauthorized(res, message);
}

char *token_issue(long id, const char *username, const char *role, const cJSON *permissions,
                  const char *type, long now)
{
    const char *secret = cfg.jwt_secret_key;
    long ttl = strcmp(type, JWT_TYPE_REFRESH) == 0 ? JWT_REFRESH_TTL_S : JWT_ACCESS_TTL_S;
    cJSON *claims;
    char *token;

    if (secret == NULL || *secret == '\0')
        return NULL;
    claims = jwt_claims_new(id, username, role, permissions, type, now, ttl);
    if (claims == NULL)
        return NULL;
    token = jwt_sign(claims, (const unsigned char *)secret, strlen(secret));
    cJSON_Delete(claims);
    return token;
}

bool token_has_permission(const cJSON *permissions, const char *name)
{
    const cJSON *p;

    cJSON_ArrayForEach(p, permissions)
    {
        if (cJSON_IsString(p) && strcmp(p->valuestring, name) == 0)
            return true;
    }
    return false;
}
