/* pool.h -- this worker's PostgreSQL connections: lazy, validated, budgeted, counted.
 * One pool per process, created after the process starts (a connection opened before a
 * fork would be shared by two processes). A worker serves one request at a time. */
#ifndef POOL_H
#define POOL_H

#include <libpq-fe.h>
#include <stdbool.h>
#include <stdint.h>

#include <cjson/cJSON.h>

#include "budget.h"

#define POOL_HARD_MAX SHARED_MAX_CONNS
#define POOL_APP_PREFIX "elog:"

#define POOL_MAX_PREPARED 64

typedef struct db_conn {
    PGconn *pg;
    char *prepared[POOL_MAX_PREPARED]; /* SQL of the statements prepared as elog_<index> */
    uint64_t prepared_hash[POOL_MAX_PREPARED]; /* hash of each, compared before the text */
    int nprepared;
    bool in_use;
    bool doomed;                 /* set when the server said FATAL or a query broke it */
    enum close_reason doom_reason;
    int64_t created_us, last_used_us, expires_us;
} db_conn_t;

enum pool_error {
    POOL_OK,
    POOL_TIMEOUT,                /* budget or pool exhausted past the acquire timeout */
    POOL_UNAVAILABLE,            /* the database refused or could not be reached */
};

/* Sets up the (empty) pool for route; figures go to slot. No connection is opened. */
void pool_init(const char *route, worker_slot_t *slot);

/* Server settings for every session this pool opens from now on, as "-c name=value ..."
 * (the string must outlive the pool), or NULL for none. */
void pool_set_settings(const char *settings);

/* Returns a healthy connection within timeout_ms, or NULL with *err and a human reason in
 * why (static storage until the next call). A connection that fails validation is replaced
 * before it is returned, so no application query meets a stale socket. */
db_conn_t *pool_acquire(int timeout_ms, enum pool_error *err, const char **why);

/* Takes the connection back: kept only when idle and clean (open transactions are rolled
 * back, running queries cancelled), closed otherwise. */
void pool_release(db_conn_t *conn);

/* Marks a connection to be closed at release, counting reason. */
void pool_doom(db_conn_t *conn, enum close_reason reason);

/* True when this SQLSTATE means the session is unusable (08xxx, 57P01-05, 25006). */
bool pool_sqlstate_is_fatal(const char *sqlstate);

/* Fills fds with the sockets of idle connections (the worker waits on them); returns count. */
int pool_idle_sockets(int *fds, int max);

/* A number that changes whenever a pooled connection opens or closes: a caller that keeps
 * those sockets registered (epoll) registers them again when it has changed. */
unsigned pool_sockets_generation(void);

/* Between requests: closes idle connections the server hung up on, those idle too long or
 * past their lifetime, and gives connections back when other workers wait for the budget. */
void pool_maintain(void);

/* Closes every connection with a clean Terminate. */
void pool_shutdown(void);

/* Milliseconds a client should wait before retrying after a failure (for Retry-After). */
int pool_retry_after_ms(void);

/* Adds this worker's pool figures to obj (the shape /api/health reports). */
void pool_status_json(cJSON *obj);

/* Adds a figures block (one worker's or a sum) to obj. */
void pool_figures_json(cJSON *obj, const pool_figures_t *f);

/* Sends a query and waits for its last result until deadline_us (monotonic). On deadline the
 * query is cancelled, the connection doomed and NULL returned with *timed_out set. Returns
 * NULL also when the connection broke (check PQstatus). */
PGresult *pool_exec(db_conn_t *conn, const char *sql, int nparams, const char *const *values,
                    int64_t deadline_us, bool *timed_out);

/* Like pool_exec, but prepares the statement once per connection (elog_<n>) and reuses its
 * plan afterwards, unless DB_PREPARED_STATEMENTS=0 (PgBouncer in transaction mode). */
PGresult *pool_exec_prepared(db_conn_t *conn, const char *sql, int nparams,
                             const char *const *values, int64_t deadline_us, bool *timed_out);

#endif
