/* config.h -- configuration from the environment, validated once at startup. */
#ifndef CONFIG_H
#define CONFIG_H

#include <stdbool.h>
#include <stddef.h>

typedef struct config {
    const char *database_url;      /* NULL when unset: libpq's own PG* defaults apply */
    int db_connection_budget;      /* connections all workers on this host may hold */
    int pool_min;                  /* connections a worker keeps while idle */
    int pool_max;                  /* connections a worker may hold */
    int pool_acquire_timeout_ms;   /* longest wait for a connection before 503 */
    int pool_idle_timeout_s;       /* idle connections above pool_min close after this */
    int pool_max_lifetime_s;       /* a connection is replaced after this (with jitter) */
    int pool_ping_idle_s;          /* idle longer than this: round trip before reuse */
    int db_connect_timeout_s;
    int db_statement_timeout_ms;
    int max_requests;              /* a worker retires after this many; 0 = never */
    bool pool_reuse;               /* POOL_REUSE=0: close at release (a benchmark baseline) */
    bool db_prepared_statements;   /* plan once per connection; 0 behind PgBouncer (txn mode) */
    int db_max_size_mb;            /* the database plan's size, for /api/monitoring */
    bool auth_required;
    const char *jwt_secret_key;    /* NULL when unset */
    const char *environment;       /* APP_ENV, reported by /api/health */
    const char *run_dir;           /* ELOG_RUN_DIR: where the host-wide budget lives */
    const char *log_level;
} config_t;

extern config_t cfg;

/* Reads and validates every variable into cfg. Returns 0, or -1 with a message naming the
 * offending variable in err. */
int config_load(char *err, size_t errlen);

/* Parses a whole decimal integer in [min, max]; returns 0 or -1. No sign but '-', no spaces,
 * no trailing text. */
int config_parse_int(const char *text, long min, long max, long *out);

/* Copies a DSN with any password replaced by "****" (URL or key=value form). */
void config_mask_dsn(const char *dsn, char *out, size_t outlen);

#endif
