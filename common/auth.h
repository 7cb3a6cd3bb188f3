/* auth.h -- bearer-token enforcement: who is calling, and may they do this. */
#ifndef AUTH_H
#define AUTH_H

#include "http.h"

#define ACCESS_TOKEN_TTL_S 1800
#define REFRESH_TOKEN_TTL_S (7 * 24 * 3600)

/* Checks the request's bearer token for permission (NULL: open route, nothing checked).
 * With AUTH_REQUIRED=0 every request passes. On success fills req->user and returns 0; else
 * sets 401 (missing, forged, expired, wrong type; with WWW-Authenticate) or 403 (valid token
 * without the permission) and returns -1. May be called again by a handler for a further
 * permission; the token is verified once per request. */
int auth_authorize(http_request_t *req, http_response_t *res, const char *permission);

#endif
