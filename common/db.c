/* db.c -- queries on behalf of a request, with failures mapped to HTTP errors. */
#include "db.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "log.h"
#include "pool.h"
#include "timeutil.h"

/* The client-side deadline backs up the server's statement_timeout (which answers 57014
 * first) for a server that stops answering altogether. */
#define CLIENT_DEADLINE_SLACK_US 5000000

static int unavailable(http_response_t *res, const char *why)
{
    char msg[320];
    int retry_s = (pool_retry_after_ms() + 999) / 1000;
    snprintf(msg, sizeof msg, "The database is unavailable: %s.", why);
    http_add_header(res, "Retry-After", "%d", retry_s < 1 ? 1 : retry_s);
    return http_error(res, 503, "DATABASE_UNAVAILABLE", msg, NULL);
}

static int ensure_conn(http_request_t *req, http_response_t *res)
{
    enum pool_error err;
    const char *why;

    if (req->db != NULL)
        return 0;
    req->db = pool_acquire(cfg.pool_acquire_timeout_ms, &err, &why);
    return req->db != NULL ? 0 : unavailable(res, why);
}

PGresult *db_query(http_request_t *req, http_response_t *res, const char *sql, int nparams,
                   const char *const *values)
{
    for (int attempt = 0; attempt < 2; attempt++) {
        bool fresh, timed_out;
        int64_t deadline;
        PGresult *r;
        const char *sqlstate;

        fresh = req->db == NULL;
        if (ensure_conn(req, res) != 0)
            return NULL;
        /* Only a statement outside a transaction may be retried: nothing of it took effect. */
        fresh = fresh || PQtransactionStatus(req->db->pg) == PQTRANS_IDLE;
        deadline = time_mono_us() + (int64_t)cfg.db_statement_timeout_ms * 1000 +
                   CLIENT_DEADLINE_SLACK_US;
        r = pool_exec_prepared(req->db, sql, nparams, values, deadline, &timed_out);
        if (r != NULL &&
            (PQresultStatus(r) == PGRES_TUPLES_OK || PQresultStatus(r) == PGRES_COMMAND_OK))
            return r;
        sqlstate = r != NULL ? PQresultErrorField(r, PG_DIAG_SQLSTATE) : NULL;
        if (timed_out || (sqlstate != NULL && strcmp(sqlstate, "57014") == 0)) {
            PQclear(r);
            http_error(res, 504, "QUERY_TIMEOUT",
                       "The query ran past the statement timeout and was cancelled.", NULL);
            return NULL;
        }
        if (pool_sqlstate_is_fatal(sqlstate) || PQstatus(req->db->pg) != CONNECTION_OK ||
            req->db->doomed) {
            pool_doom(req->db, CLOSE_FATAL_SQLSTATE);
            log_warn("connection lost during a query: %s",
                     r != NULL ? PQresultErrorMessage(r) : PQerrorMessage(req->db->pg));
            PQclear(r);
            db_release(req);
            if (fresh && attempt == 0)
                continue;
            unavailable(res, "the connection to the database was lost");
            return NULL;
        }
        log_error("query failed (sqlstate %s): %s", sqlstate != NULL ? sqlstate : "none",
                  r != NULL ? PQresultErrorMessage(r) : "no result");
        PQclear(r);
        http_error(res, 500, "INTERNAL_ERROR", "The database could not answer this request.",
                   NULL);
        return NULL;
    }
    return NULL;
}

/* Runs a statement that returns no rows to speak of; 0 or -1 with res set. */
static int command(http_request_t *req, http_response_t *res, const char *sql)
{
    PGresult *r = db_query(req, res, sql, 0, NULL);
    PQclear(r);
    return r != NULL ? 0 : -1;
}

PGresult *db_query_custom(http_request_t *req, http_response_t *res, const char *sql,
                          int nparams, const char *const *values)
{
    bool own_transaction = req->db == NULL || PQtransactionStatus(req->db->pg) == PQTRANS_IDLE;
    PGresult *r;

    if ((own_transaction && command(req, res, "BEGIN") != 0) ||
        command(req, res, "SET LOCAL plan_cache_mode = force_custom_plan") != 0)
        return NULL;
    r = db_query(req, res, sql, nparams, values);
    if (r != NULL && own_transaction && command(req, res, "COMMIT") != 0) {
        PQclear(r);
        return NULL;
    }
    /* On failure the transaction is left to db_release, which rolls it back. */
    return r;
}

cJSON *db_query_json(http_request_t *req, http_response_t *res, const char *sql, int nparams,
                     const char *const *values)
{
    PGresult *r = db_query(req, res, sql, nparams, values);
    cJSON *json;

    if (r == NULL)
        return NULL;
    json = PQntuples(r) == 1 && PQnfields(r) >= 1 && !PQgetisnull(r, 0, 0)
               ? cJSON_Parse(PQgetvalue(r, 0, 0))
               : NULL;
    PQclear(r);
    if (json == NULL)
        http_error(res, 500, "INTERNAL_ERROR", "The database returned an unexpected result.",
                   NULL);
    return json;
}

void db_release(http_request_t *req)
{
    if (req->db != NULL) {
        pool_release(req->db);
        req->db = NULL;
    }
}

/* The last successful round trip of db_ping: when it was sent, and how long it took. */
static int64_t last_ping_sent_us = -1;
static double last_ping_ms;

double db_ping(http_request_t *req, http_response_t *res, bool *shared)
{
    int64_t t0 = time_mono_us();
    PGresult *r;

    *shared = last_ping_sent_us >= req->arrived_us;
    if (*shared)
        return last_ping_ms;
    r = db_query(req, res, "SELECT 1", 0, NULL);
    if (r == NULL)
        return -1;
    PQclear(r);
    last_ping_sent_us = t0;
    last_ping_ms = (double)(time_mono_us() - t0) / 1000.0;
    return last_ping_ms;
}
