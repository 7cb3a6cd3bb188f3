/* db.h -- queries on behalf of a request: the pooled connection is taken at the first query,
 * held until the request ends, and every failure becomes the honest HTTP error of API.md. */
#ifndef DB_H
#define DB_H

#include <libpq-fe.h>

#include "http.h"

/* Runs one parameterised statement. Returns a result with status TUPLES_OK or COMMAND_OK
 * (the caller PQclears it), or NULL with the error already set in res: 503 when no
 * connection could be had, 504 when the statement timeout fired, 500 otherwise. A read that
 * meets a connection the server just closed is retried once on a fresh connection. */
PGresult *db_query(http_request_t *req, http_response_t *res, const char *sql, int nparams,
                   const char *const *values);

/* Like db_query, but the statement is planned for these values on every call, whatever the
 * session's plan_cache_mode: it runs in a transaction with SET LOCAL
 * plan_cache_mode=force_custom_plan (three more round trips: BEGIN, SET and COMMIT; inside a
 * transaction the caller opened, only the SET, and the setting lasts to its end). For a
 * statement whose best plan depends on its values. */
PGresult *db_query_custom(http_request_t *req, http_response_t *res, const char *sql,
                          int nparams, const char *const *values);

/* Like db_query, but expects exactly one row and one column of JSON text and parses it.
 * Returns a cJSON tree (caller deletes) or NULL with the error set. */
cJSON *db_query_json(http_request_t *req, http_response_t *res, const char *sql, int nparams,
                     const char *const *values);

/* Gives the request's connection back to the pool (the runtime calls this after the handler). */
void db_release(http_request_t *req);

/* Round-trip latency of "SELECT 1" in ms through the pool, or -1 with res set. A successful
 * round trip that was sent after this request arrived (one made for another request accepted
 * in the same batch, see route_t.accept_batch) answers for it as well: then no query is sent,
 * its latency is returned and *shared is set. A failure is never shared. */
double db_ping(http_request_t *req, http_response_t *res, bool *shared);

#endif
