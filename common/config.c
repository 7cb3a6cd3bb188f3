/* config.c -- configuration from the environment, validated once at startup. */
#include "config.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"

config_t cfg;

int config_parse_int(const char *text, long min, long max, long *out)
{
    char *end;
    long v;

    if (text == NULL || *text == '\0' || (*text != '-' && (*text < '0' || *text > '9')))
        return -1;
    errno = 0;
    v = strtol(text, &end, 10);
    if (errno != 0 || *end != '\0' || v < min || v > max)
        return -1;
    *out = v;
    return 0;
}

/* Reads one integer variable; a missing or empty one takes the default. */
static int env_int(const char *name, long def, long min, long max, int *out, char *err,
                   size_t errlen)
{
    const char *text = getenv(name);
    long v = def;

    if (text != NULL && *text != '\0' && config_parse_int(text, min, max, &v) != 0) {
        snprintf(err, errlen, "%s must be a whole number from %ld to %ld (got \"%.40s\")", name,
                 min, max, text);
        return -1;
    }
    *out = (int)v;
    return 0;
}

static const char *env_str(const char *name, const char *def)
{
    const char *text = getenv(name);
    return text != NULL && *text != '\0' ? text : def;
}

int config_load(char *err, size_t errlen)
{
    int auth = 1, reuse = 1, prepared = 1;

    memset(&cfg, 0, sizeof cfg);
    if (env_int("DB_CONNECTION_BUDGET", 20, 1, 10000, &cfg.db_connection_budget, err, errlen) ||
        env_int("POOL_MIN", 1, 0, 64, &cfg.pool_min, err, errlen) ||
        env_int("POOL_MAX", 2, 1, 64, &cfg.pool_max, err, errlen) ||
        env_int("POOL_ACQUIRE_TIMEOUT_MS", 2000, 1, 600000, &cfg.pool_acquire_timeout_ms, err,
                errlen) ||
        env_int("POOL_IDLE_TIMEOUT_S", 300, 1, 86400, &cfg.pool_idle_timeout_s, err, errlen) ||
        env_int("POOL_MAX_LIFETIME_S", 1800, 1, 604800, &cfg.pool_max_lifetime_s, err, errlen) ||
        env_int("POOL_PING_IDLE_S", 30, 1, 86400, &cfg.pool_ping_idle_s, err, errlen) ||
        env_int("DB_CONNECT_TIMEOUT_S", 5, 1, 300, &cfg.db_connect_timeout_s, err, errlen) ||
        env_int("DB_STATEMENT_TIMEOUT_MS", 30000, 1, 3600000, &cfg.db_statement_timeout_ms, err,
                errlen) ||
        env_int("MAX_REQUESTS", 0, 0, 100000000, &cfg.max_requests, err, errlen) ||
        env_int("DB_MAX_SIZE_MB", 1024, 1, 100000000, &cfg.db_max_size_mb, err, errlen) ||
        env_int("AUTH_REQUIRED", 1, 0, 1, &auth, err, errlen) ||
        env_int("POOL_REUSE", 1, 0, 1, &reuse, err, errlen) ||
        env_int("DB_PREPARED_STATEMENTS", 1, 0, 1, &prepared, err, errlen))
        return -1;
    if (cfg.pool_min > cfg.pool_max) {
        snprintf(err, errlen, "POOL_MIN (%d) must not exceed POOL_MAX (%d)", cfg.pool_min,
                 cfg.pool_max);
        return -1;
    }
    cfg.auth_required = auth == 1;
    cfg.pool_reuse = reuse == 1;
    cfg.db_prepared_statements = prepared == 1;
    cfg.database_url = env_str("DATABASE_URL", NULL);
    cfg.jwt_secret_key = env_str("JWT_SECRET_KEY", NULL);
    cfg.environment = env_str("APP_ENV", "development");
    cfg.run_dir = env_str("ELOG_RUN_DIR", NULL);
    cfg.log_level = env_str("LOG_LEVEL", "info");
    if (log_set_level(cfg.log_level) != 0) {
        snprintf(err, errlen, "LOG_LEVEL must be debug, info, warn or error (got \"%.20s\")",
                 cfg.log_level);
        return -1;
    }
    if (cfg.auth_required && cfg.jwt_secret_key == NULL) {
        snprintf(err, errlen, "JWT_SECRET_KEY must be set when AUTH_REQUIRED=1");
        return -1;
    }
    if (cfg.jwt_secret_key != NULL && strlen(cfg.jwt_secret_key) < 32) {
        snprintf(err, errlen, "JWT_SECRET_KEY must be at least 32 bytes long");
        return -1;
    }
    return 0;
}

/* Masks "user:pass@" in a URL and every "password = value" (spaces allowed around '=', as
 * libpq allows) in a key=value DSN or a URL's query. */
void config_mask_dsn(const char *dsn, char *out, size_t outlen)
{
    const char *p, *scheme, *at, *colon;
    size_t n = 0;

    if (dsn == NULL) {
        snprintf(out, outlen, "(libpq defaults)");
        return;
    }
#define EMIT(text, count)                                                                     \
    do {                                                                                      \
        int w_ = snprintf(out + n, n < outlen ? outlen - n : 0, "%.*s", (int)(count), text);  \
        n += w_ > 0 ? (size_t)w_ : 0;                                                         \
        if (n >= outlen)                                                                      \
            n = outlen - 1;                                                                   \
    } while (0)
    if (outlen == 0)
        return;
    out[0] = '\0';
    p = dsn;
    scheme = strstr(dsn, "://");
    if (scheme != NULL) {
        const char *auth = scheme + 3;
        at = strchr(auth, '@');
        colon = strchr(auth, ':');
        if (at != NULL && colon != NULL && colon < at && strcspn(auth, "/?") > (size_t)(at - auth)) {
            EMIT(dsn, colon - dsn + 1);
            EMIT("****", 4);
            p = at;
        }
    }
    while (*p != '\0') {
        const char *pw = strstr(p, "password");
        const char *eq;
        if (pw == NULL) {
            EMIT(p, strlen(p));
            break;
        }
        eq = pw + 8;
        while (*eq == ' ' || *eq == '\t')
            eq++;
        if (*eq != '=' || (pw > dsn && (isalnum((unsigned char)pw[-1]) || pw[-1] == '_'))) {
            EMIT(p, pw + 8 - p);
            p = pw + 8;
            continue;
        }
        EMIT(p, eq + 1 - p);
        EMIT("****", 4);
        eq++;
        while (*eq == ' ' || *eq == '\t')
            eq++;
        if (*eq == '\'') {
            eq++;
            while (*eq != '\0' && *eq != '\'')
                eq += (*eq == '\\' && eq[1] != '\0') ? 2 : 1;
            if (*eq == '\'')
                eq++;
        } else {
            eq += strcspn(eq, " \t&");
        }
        p = eq;
    }
#undef EMIT
}
