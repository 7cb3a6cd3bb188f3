/* auth.c -- bearer-token enforcement: who is calling, and may they do this. */
#include "auth.h"

#include <stdio.h>
#include <string.h>

#include "config.h"
#include "jwt.h"
#include "token.h"

/* Reads the verified claims into req->user (once per request). Returns 0 or -1 with a 401. */
static int load_user(http_request_t *req, http_response_t *res)
{
    const cJSON *username, *role, *permissions;
    cJSON *claims = NULL;

    if (req->user.authenticated)
        return 0;
    if (token_verify(token_bearer(req->authorization), JWT_TYPE_ACCESS, res, &claims) != 0)
        return -1;
    username = cJSON_GetObjectItemCaseSensitive(claims, "username");
    role = cJSON_GetObjectItemCaseSensitive(claims, "role");
    permissions = cJSON_GetObjectItemCaseSensitive(claims, "permissions");
    if (!cJSON_IsString(username) || !cJSON_IsString(role) || !cJSON_IsArray(permissions) ||
        jwt_claims_sub(claims, &req->user.id) != 0) {
        cJSON_Delete(claims);
        return token_unauthorized(res, "The token lacks the claims this service issues.");
    }
    snprintf(req->user.username, sizeof req->user.username, "%s", username->valuestring);
    snprintf(req->user.role, sizeof req->user.role, "%s", role->valuestring);
    req->user.permissions = cJSON_DetachItemViaPointer(claims, (cJSON *)permissions);
    req->user.authenticated = true;
    cJSON_Delete(claims);
    return 0;
}

int auth_authorize(http_request_t *req, http_response_t *res, const char *permission)
{
    char message[128];

    if (permission == NULL || !cfg.auth_required)
        return 0;
    if (load_user(req, res) != 0)
        return -1;
    if (!token_has_permission(req->user.permissions, permission)) {
        snprintf(message, sizeof message, "This route needs the %s permission.", permission);
        return http_error(res, 403, "FORBIDDEN", message, NULL);
    }
    return 0;
}
