/* auth.c -- /api/auth: log in with a password, refresh an access token, inspect a token.
 *
 * POST {"username", "password"} gives an access token (JWT_ACCESS_TTL_S) and a refresh token
 * (JWT_REFRESH_TTL_S); POST {"refresh_token"} gives a new access token for the account as it
 * is now in the database; GET with a bearer access token describes it. The route needs no
 * permission and checks tokens itself, also with AUTH_REQUIRED=0.
 *
 * Wrong password, unknown username and deactivated account all get the same 401 message, and
 * an unknown username still costs one full password hash (password_verify_dummy), so neither
 * the answer nor its timing tells which usernames exist.
 *
 * Throttling, shared by every worker of every process through the table login_failures
 * (db/auth.sql):
 *   - per username:       LOGIN_USER_LIMIT (5) attempts in LOGIN_WINDOW_S (15 minutes);
 *   - per client address: LOGIN_ADDR_LIMIT (20) attempts in the same window length
 *     (REMOTE_ADDR as nginx passes it; X-Forwarded-For is not trusted).
 * Each attempt is counted before its password is checked, in the same statement that reads
 * the counts, so concurrent attempts cannot slip past a limit. A successful login then
 * clears its username's count and takes its own attempt back from the address count (the
 * rest of the address count stays, so one valid account cannot launder guesses at others).
 * An attempt past a limit gets 429 TOO_MANY_REQUESTS with Retry-After (seconds until that
 * window ends) without its password being checked; it is counted as well, but the window
 * does not move. While an address is over its limit its attempts count against no username,
 * so spraying usernames cannot grow the table. Windows are fixed: the first counted attempt
 * starts one, and the first attempt after it ended starts the next. Rows of ended windows are
 * deleted a few at a time by later logins. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "config.h"
#include "db.h"
#include "password.h"
#include "token.h"
#include "worker.h"

#define LOGIN_USER_LIMIT 5
#define LOGIN_ADDR_LIMIT 20
#define LOGIN_WINDOW_S (15 * 60)
#define LOGIN_PURGE_BATCH 100
#define AUTH_BODY_LIMIT 8192

#define WRONG_CREDENTIALS "The username or password is incorrect."

/* The SET clause of a counted attempt on row f: one more in the window, or a new window
 * starting now when the old one has ended. */
#define COUNT_ATTEMPT                                                                         \
    "failures = CASE WHEN f.window_start <= now() - make_interval(secs => $4::int)"          \
    " THEN 1 ELSE f.failures + 1 END,"                                                       \
    " window_start = CASE WHEN f.window_start <= now() - make_interval(secs => $4::int)"     \
    " THEN now() ELSE f.window_start END"

/* Counts this attempt for its address, and for its username while the address is under its
 * limit; reads both counts, the seconds left in their windows, and the account. */
static const char *const ATTEMPT_SQL =
    "WITH addr AS ("
    "  INSERT INTO login_failures AS f (key, failures, window_start) VALUES ($2, 1, now())"
    "  ON CONFLICT (key) DO UPDATE SET " COUNT_ATTEMPT " RETURNING failures, window_start),"
    " usr AS ("
    "  INSERT INTO login_failures AS f (key, failures, window_start)"
    "  SELECT $1, 1, now() FROM addr WHERE addr.failures <= $5::int"
    "  ON CONFLICT (key) DO UPDATE SET " COUNT_ATTEMPT " RETURNING failures, window_start)"
    " SELECT a.failures,"
    "  ceil(extract(epoch FROM a.window_start + make_interval(secs => $4::int) - now()))::int,"
    "  u.failures,"
    "  ceil(extract(epoch FROM u.window_start + make_interval(secs => $4::int) - now()))::int,"
    "  x.id, x.username, x.email, x.role, x.permissions::text, x.is_active, x.password_hash"
    " FROM addr a LEFT JOIN usr u ON true LEFT JOIN users x ON x.username = $3";

/* A successful login: the account must still be active; the username's count is cleared and
 * the attempt is taken back from the address count. */
static const char *const SUCCESS_SQL =
    "WITH forget AS (DELETE FROM login_failures WHERE key = $2),"
    " give_back AS (UPDATE login_failures SET failures = failures - 1"
    "  WHERE key = $3 AND failures > 0)"
    " UPDATE users SET last_login = now() WHERE id = $1 AND is_active RETURNING id";

/* Deletes a few rows of ended windows; rows another login holds are skipped, never waited
 * for, so this statement cannot take part in a deadlock. */
static const char *const PURGE_SQL =
    "DELETE FROM login_failures WHERE key IN (SELECT key FROM login_failures"
    " WHERE window_start <= now() - make_interval(secs => $1::int)"
    " ORDER BY window_start LIMIT $2::int FOR UPDATE SKIP LOCKED)";

static const char *const ACCOUNT_SQL =
    "SELECT id, username, email, role, permissions::text FROM users WHERE id = $1 AND is_active";

enum attempt_col {
    COL_ADDR_COUNT,
    COL_ADDR_LEFT_S,
    COL_USER_COUNT,
    COL_USER_LEFT_S,
    COL_ID,
    COL_USERNAME,
    COL_EMAIL,
    COL_ROLE,
    COL_PERMISSIONS,
    COL_ACTIVE,
    COL_HASH,
};

static int no_signing_key(http_response_t *res)
{
    return http_error(res, 500, "INTERNAL_ERROR",
                      "Tokens cannot be issued: JWT_SECRET_KEY is not configured.", NULL);
}

/* Adds {"id", "username", "email", "role", "permissions"} from row of r, whose first five
 * columns are those. Returns 0, or -1 when the stored permissions are not a JSON array. */
static int add_user(cJSON *data, const PGresult *r, int row, int first_col)
{
    cJSON *user = cJSON_AddObjectToObject(data, "user");
    cJSON *permissions = cJSON_Parse(PQgetvalue(r, row, first_col + 4));

    if (!cJSON_IsArray(permissions)) {
        cJSON_Delete(permissions);
        return -1;
    }
    cJSON_AddNumberToObject(user, "id", atof(PQgetvalue(r, row, first_col)));
    cJSON_AddStringToObject(user, "username", PQgetvalue(r, row, first_col + 1));
    if (PQgetisnull(r, row, first_col + 2))
        cJSON_AddNullToObject(user, "email");
    else
        cJSON_AddStringToObject(user, "email", PQgetvalue(r, row, first_col + 2));
    cJSON_AddStringToObject(user, "role", PQgetvalue(r, row, first_col + 3));
    cJSON_AddItemToObject(user, "permissions", permissions);
    return 0;
}

/* Signs the token(s) for the account in row of r and fills the 200 body. */
static int respond_tokens(http_response_t *res, const PGresult *r, int first_col, bool refresh)
{
    long now = (long)time(NULL);
    long id = atol(PQgetvalue(r, 0, first_col));
    const char *username = PQgetvalue(r, 0, first_col + 1), *role = PQgetvalue(r, 0, first_col + 3);
    cJSON *permissions = cJSON_Parse(PQgetvalue(r, 0, first_col + 4)), *data, *body;
    char *access = token_issue(id, username, role, permissions, JWT_TYPE_ACCESS, now);
    char *refresh_token = refresh ? token_issue(id, username, role, permissions,
                                                JWT_TYPE_REFRESH, now)
                                  : NULL;
    int rc = 0;

    cJSON_Delete(permissions);
    if (access == NULL || (refresh && refresh_token == NULL)) {
        rc = http_error(res, 500, "INTERNAL_ERROR", "The tokens could not be signed.", NULL);
    } else {
        body = http_ok(res);
        data = cJSON_AddObjectToObject(body, "data");
        cJSON_AddStringToObject(data, "access_token", access);
        if (refresh)
            cJSON_AddStringToObject(data, "refresh_token", refresh_token);
        cJSON_AddStringToObject(data, "token_type", "bearer");
        cJSON_AddNumberToObject(data, "expires_in", JWT_ACCESS_TTL_S);
        if (add_user(data, r, 0, first_col) != 0)
            rc = http_error(res, 500, "INTERNAL_ERROR", "A stored account is malformed.", NULL);
    }
    free(access);
    free(refresh_token);
    return rc;
}

static int purge_ended_windows(http_request_t *req, http_response_t *res)
{
    char window[16], batch[16];
    const char *values[] = {window, batch};
    PGresult *r;

    snprintf(window, sizeof window, "%d", LOGIN_WINDOW_S);
    snprintf(batch, sizeof batch, "%d", LOGIN_PURGE_BATCH);
    r = db_query(req, res, PURGE_SQL, 2, values);
    PQclear(r);
    return r != NULL ? 0 : -1;
}

static int too_many(http_response_t *res, int seconds, const char *whose)
{
    char message[160];

    seconds = seconds < 1 ? 1 : seconds;
    snprintf(message, sizeof message,
             "Too many failed logins %s; try again in %d seconds.", whose, seconds);
    http_add_header(res, "Retry-After", "%d", seconds);
    return http_error(res, 429, "TOO_MANY_REQUESTS", message, NULL);
}

static int login(http_request_t *req, http_response_t *res, const token_request_t *body)
{
    char user_key[TOKEN_USERNAME_MAX + 8], addr_key[80], window[16], addr_limit[16];
    const char *values[] = {user_key, addr_key, body->username, window, addr_limit};
    const char *success_values[3];
    PGresult *r, *s;
    bool exists, verified;
    int addr_count, user_count = 0, rc;

    snprintf(user_key, sizeof user_key, "user:%s", body->username);
    snprintf(addr_key, sizeof addr_key, "addr:%s",
             req->remote_addr != NULL ? req->remote_addr : "");
    snprintf(window, sizeof window, "%d", LOGIN_WINDOW_S);
    snprintf(addr_limit, sizeof addr_limit, "%d", LOGIN_ADDR_LIMIT);
    r = db_query(req, res, ATTEMPT_SQL, 5, values);
    if (r == NULL)
        return -1;
    addr_count = atoi(PQgetvalue(r, 0, COL_ADDR_COUNT));
    if (!PQgetisnull(r, 0, COL_USER_COUNT))
        user_count = atoi(PQgetvalue(r, 0, COL_USER_COUNT));
    if (addr_count > LOGIN_ADDR_LIMIT) {
        rc = too_many(res, atoi(PQgetvalue(r, 0, COL_ADDR_LEFT_S)), "from this address");
        PQclear(r);
        return rc;
    }
    if (user_count > LOGIN_USER_LIMIT) {
        rc = too_many(res, atoi(PQgetvalue(r, 0, COL_USER_LEFT_S)), "for this username");
        PQclear(r);
        return rc;
    }

    exists = !PQgetisnull(r, 0, COL_ID);
    verified = exists ? password_verify(body->password, PQgetvalue(r, 0, COL_HASH))
                      : password_verify_dummy(body->password);
    if (!verified || strcmp(PQgetvalue(r, 0, COL_ACTIVE), "t") != 0) {
        PQclear(r);
        if (purge_ended_windows(req, res) != 0)
            return -1;
        return token_unauthorized(res, WRONG_CREDENTIALS);
    }

    success_values[0] = PQgetvalue(r, 0, COL_ID);
    success_values[1] = user_key;
    success_values[2] = addr_key;
    s = db_query(req, res, SUCCESS_SQL, 3, success_values);
    if (s == NULL) {
        PQclear(r);
        return -1;
    }
    if (PQntuples(s) != 1) {
        /* Deactivated between the check and now. */
        PQclear(s);
        PQclear(r);
        return token_unauthorized(res, WRONG_CREDENTIALS);
    }
    PQclear(s);
    rc = purge_ended_windows(req, res) == 0 ? respond_tokens(res, r, COL_ID, true) : -1;
    PQclear(r);
    return rc;
}

static int refresh(http_request_t *req, http_response_t *res, const token_request_t *body)
{
    cJSON *claims;
    long id;
    char id_text[24];
    const char *values[] = {id_text};
    PGresult *r;
    int rc;

    if (token_verify(body->refresh_token, JWT_TYPE_REFRESH, res, &claims) != 0)
        return -1;
    rc = jwt_claims_sub(claims, &id);
    cJSON_Delete(claims);
    if (rc != 0)
        return token_unauthorized(res, "The token lacks the claims this service issues.");
    snprintf(id_text, sizeof id_text, "%ld", id);
    r = db_query(req, res, ACCOUNT_SQL, 1, values);
    if (r == NULL)
        return -1;
    rc = PQntuples(r) == 1
             ? respond_tokens(res, r, 0, false)
             : token_unauthorized(res, "The account of this token does not exist or is inactive.");
    PQclear(r);
    return rc;
}

static int post_auth(http_request_t *req, http_response_t *res)
{
    token_request_t body;
    const char *field, *why;
    int rc;

    if (token_parse_request(req->body, req->body_len, &body, &field, &why) != 0)
        return http_error(res, 400, "INVALID_JSON", why, field);
    if (cfg.jwt_secret_key == NULL)
        rc = no_signing_key(res);
    else if (body.kind == TOKEN_REQUEST_LOGIN)
        rc = login(req, res, &body);
    else
        rc = refresh(req, res, &body);
    token_request_wipe(&body);
    return rc;
}

static int get_auth(http_request_t *req, http_response_t *res)
{
    cJSON *claims, *body, *data, *authn, *info;
    const cJSON *exp, *username, *role, *permissions;
    long now = (long)time(NULL);

    if (token_verify(token_bearer(req->authorization), JWT_TYPE_ACCESS, res, &claims) != 0)
        return -1;
    exp = cJSON_GetObjectItemCaseSensitive(claims, "exp");
    username = cJSON_GetObjectItemCaseSensitive(claims, "username");
    role = cJSON_GetObjectItemCaseSensitive(claims, "role");
    permissions = cJSON_GetObjectItemCaseSensitive(claims, "permissions");
    if (!cJSON_IsNumber(exp) || !cJSON_IsString(username) || !cJSON_IsString(role) ||
        !cJSON_IsArray(permissions)) {
        cJSON_Delete(claims);
        return token_unauthorized(res, "The token lacks the claims this service issues.");
    }
    body = http_ok(res);
    data = cJSON_AddObjectToObject(body, "data");
    authn = cJSON_AddObjectToObject(data, "authentication");
    cJSON_AddStringToObject(authn, "status", "active");
    cJSON_AddStringToObject(authn, "method", "JWT");
    /* jwt_verify accepted exp > now, so this is at least 1. */
    cJSON_AddNumberToObject(authn, "expires_in", (double)((long)exp->valuedouble - now));
    info = cJSON_AddObjectToObject(data, "user_info");
    cJSON_AddStringToObject(info, "username", username->valuestring);
    cJSON_AddStringToObject(info, "role", role->valuestring);
    cJSON_AddItemToObject(info, "permissions", cJSON_Duplicate(permissions, 1));
    cJSON_Delete(claims);
    return 0;
}

static const route_t route = {
    .name = "auth",
    .get = get_auth,
    .post = post_auth,
    .body_limit = AUTH_BODY_LIMIT,
};

ROUTE_MAIN(route)
