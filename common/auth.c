/* auth.c -- bearer-token enforcement: who is calling, and may they do this. */
#include "auth.h"

#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "config.h"
#include "jwt.h"

static int unauthorized(http_response_t *res, const char *message)
{
    http_add_header(res, "WWW-Authenticate", "Bearer realm=\"api\"");
    return http_error(res, 401, "UNAUTHORIZED", message, NULL);
}

static bool has_permission(const cJSON *permissions, const char *permission)
{
    const cJSON *p;
    cJSON_ArrayForEach(p, permissions)
    {
        if (cJSON_IsString(p) && strcmp(p->valuestring, permission) == 0)
            return true;
    }
    return false;
}

int auth_authorize(http_request_t *req, http_response_t *res, const char *permission)
{
    const char *header = req->authorization, *why = NULL;
    const cJSON *username, *role, *permissions;
    cJSON *claims = NULL;
    char message[128];

    if (permission == NULL || !cfg.auth_required)
        return 0;
    if (header == NULL || strncasecmp(header, "Bearer ", 7) != 0 || header[7] == '\0')
        return unauthorized(res, "A bearer token is required for this route.");
    if (jwt_verify(header + 7, (const unsigned char *)cfg.jwt_secret_key,
                   strlen(cfg.jwt_secret_key), (long)time(NULL), JWT_TYPE_ACCESS, &claims,
                   &why) != JWT_OK) {
        snprintf(message, sizeof message, "The token was rejected: %s.", why);
        return unauthorized(res, message);
    }
    username = cJSON_GetObjectItemCaseSensitive(claims, "username");
    role = cJSON_GetObjectItemCaseSensitive(claims, "role");
    permissions = cJSON_GetObjectItemCaseSensitive(claims, "permissions");
    if (!cJSON_IsString(username) || !cJSON_IsString(role) || !cJSON_IsArray(permissions) ||
        jwt_claims_sub(claims, &req->user.id) != 0) {
        cJSON_Delete(claims);
        return unauthorized(res, "The token lacks the claims this service issues.");
    }
    snprintf(req->user.username, sizeof req->user.username, "%s", username->valuestring);
    snprintf(req->user.role, sizeof req->user.role, "%s", role->valuestring);
    req->user.permissions = cJSON_Duplicate(permissions, 1);
    req->user.authenticated = true;
    cJSON_Delete(claims);
    if (!has_permission(req->user.permissions, permission)) {
        snprintf(message, sizeof message, "This route needs the %s permission.", permission);
        return http_error(res, 403, "FORBIDDEN", message, NULL);
    }
    return 0;
}
