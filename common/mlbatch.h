/* mlbatch.h -- log entries scored with the models of scoring.h against the last 24 hours:
 * the comparison context measured in SQL, one entry's prediction, the batch that fills
 * ml_predictions (shared by POST /api/ml and tools/ml_batch), and the POST /api/ml body. */
#ifndef MLBATCH_H
#define MLBATCH_H

#include <arpa/inet.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <cjson/cJSON.h>
#include <libpq-fe.h>

#include "scoring.h"

#define MLBATCH_WINDOW_HOURS 24
#define MLBATCH_CHUNK_ROWS 5000
#define MLBATCH_MODEL_VERSION SEVERITY_MODEL_VERSION "+" ANOMALY_MODEL_VERSION
#define MLBATCH_MAX_ITEMS 100

/* How mlbatch reaches the database, so that a route and a tool share every statement and
 * differ only in where the connection comes from. exec runs one parameterised statement and
 * returns a result with status PGRES_TUPLES_OK or PGRES_COMMAND_OK (the caller PQclears it),
 * or NULL after reporting the failure its own way (an HTTP error, a line on stderr). */
typedef PGresult *(*mlbatch_exec_fn)(void *arg, const char *sql, int nparams,
                                     const char *const *values);

typedef struct mlbatch_db {
    mlbatch_exec_fn exec;
    void *arg;
} mlbatch_db_t;

/* An exec over a plain connection: arg is the PGconn *; failures are printed to stderr. */
PGresult *mlbatch_exec_pg(void *arg, const char *sql, int nparams, const char *const *values);

/* The statistics of one window (to - MLBATCH_WINDOW_HOURS, to] of log_entries. */
typedef struct mlbatch_context mlbatch_context_t;

/* Measures the window ending at to (a timestamptz text as this session prints it, or NULL
 * for now()) with one statement, fetched once: rows per UTC hour of day, per host and
 * source_type, per source_type, per message and per IP address, and the count, sum and sum
 * of squares of response_time_ms. messages_json and ips_json (JSON arrays of strings, or
 * NULL for all) restrict which messages and addresses are counted, for callers that score a
 * few known entries. Returns a context the caller frees, or NULL (failure reported by exec,
 * or out of memory, reported on stderr). */
mlbatch_context_t *mlbatch_context_load(const mlbatch_db_t *db, const char *to,
                                        const char *messages_json, const char *ips_json);

void mlbatch_context_free(mlbatch_context_t *ctx);

/* The window's bounds, as epoch milliseconds. */
int64_t mlbatch_context_from_ms(const mlbatch_context_t *ctx);
int64_t mlbatch_context_to_ms(const mlbatch_context_t *ctx);

/* One log entry as both models see it. Strings may be NULL (none). */
typedef struct mlbatch_entry {
    int hour;                 /* UTC hour of day of its timestamp, 0..23 */
    const char *host;
    const char *source_type;  /* splunk, sap or application */
    const char *service;
    const char *level;
    const char *message;
    const char *endpoint;
    const char *ip;           /* canonical text (mlbatch_canonical_ip) */
    int http_status;          /* 0 = none */
    double response_time_ms;  /* negative = none */
    bool labelled_anomaly;    /* the entry's own is_anomaly flag: an input of rules-v1 */
    bool in_window;           /* a stored row of the context's window */
} mlbatch_entry_t;

typedef struct mlbatch_prediction {
    int severity_points;
    const char *severity;     /* rules-v1 label; also the stored predicted_level */
    double level_confidence;
    anomaly_result_t anomaly;
    double anomaly_confidence;
} mlbatch_prediction_t;

/* Scores entry with rules-v1 and stats-v1. The anomaly context is the window without the
 * entry itself: a stored row of the window (in_window) has its own contribution taken out of
 * every count and of the response-time statistics; any other entry is compared with the
 * window as it is. An entry without a host is compared on its source_type alone (an absent
 * field is not evidence of anything unusual). */
void mlbatch_score(const mlbatch_context_t *ctx, const mlbatch_entry_t *entry,
                   mlbatch_prediction_t *out);

typedef struct mlbatch_counts {
    long scored;              /* entries scored */
    long inserted;            /* new predictions */
    long updated;             /* predictions a concurrent batch had written first */
    int64_t window_from_ms;
    int64_t window_to_ms;
    int64_t duration_ms;
} mlbatch_counts_t;

/* Scores every log of the last MLBATCH_WINDOW_HOURS that has no prediction yet and upserts
 * ml_predictions: the context is measured once, candidates are read and written in chunks of
 * MLBATCH_CHUNK_ROWS (each chunk its own statement, so memory stays bounded and work done is
 * kept), and the run is recorded in ml_batch_runs with trigger ("api" or "cli"). Rows that
 * enter the window while it runs are left to the next batch. Returns 0 with counts filled, or
 * -1 after exec reported the failure. */
int mlbatch_run(const mlbatch_db_t *db, const char *trigger, mlbatch_counts_t *counts);

/* Writes the canonical text of an IPv4 or IPv6 address into out; returns 0, or -1 when text
 * is not an address. */
int mlbatch_canonical_ip(const char *text, char out[INET6_ADDRSTRLEN]);

/* ---- POST /api/ml body ---- */

enum mlbatch_action {
    MLBATCH_ACTION_ANALYZE,
    MLBATCH_ACTION_BATCH,
    MLBATCH_ACTION_UNKNOWN,
};

typedef struct mlbatch_item {
    const cJSON *id;          /* as given (number or string), NULL when absent */
    long log_entry_id;        /* id read as log_entries.id, 0 when it is not one */
    const char *log_id;       /* id read as log_entries.log_id, NULL when not */
    int64_t timestamp_ms;
    char ip[INET6_ADDRSTRLEN];
    mlbatch_entry_t entry;    /* strings point into the parsed body */
} mlbatch_item_t;

typedef struct mlbatch_request {
    enum mlbatch_action action;
    cJSON *root;              /* owns every string of the items */
    int nitems;
    mlbatch_item_t items[MLBATCH_MAX_ITEMS];
    char field[64];           /* the offending member after a failure, "" for the body */
} mlbatch_request_t;

enum mlbatch_parse_status {
    MLBATCH_PARSE_OK = 0,
    MLBATCH_PARSE_SHAPE = -1, /* not JSON, or a member missing or of the wrong type: 400 INVALID_JSON */
    MLBATCH_PARSE_VALUE = -2, /* a value out of its set or range, too long, too many: 400 INVALID_PARAMETER */
};

/* Parses {"action": "analyze"|"batch" (any case; absent means analyze), "log_data": [...]}
 * from body[0..len) followed by a NUL at body[len]. For analyze, log_data is an array of at
 * most MLBATCH_MAX_ITEMS objects, each with "message" (string), "level" (DEBUG INFO WARN
 * WARNING ERROR FATAL, any case), "source" or "source_type" (splunk sap application, any case)
 * and "timestamp" (RFC 3339), and optionally "id" (a log_entries id as number or digits, or a
 * log_id string), "host", "service", "endpoint", "responseTime" or "response_time_ms",
 * "ipAddress" or "ip_address", "httpStatus" or "http_status", "isAnomaly" or "is_anomaly"
 * (null means absent; other members are ignored). An unknown action is not an error: it is
 * reported in out->action and nothing else is read. Returns MLBATCH_PARSE_OK with out filled
 * (free it with mlbatch_request_free), or a negative status with *why set to a static
 * sentence and out->field naming the member (out needs no freeing then). */
enum mlbatch_parse_status mlbatch_parse_request(const char *body, size_t len,
                                                mlbatch_request_t *out, const char **why);

void mlbatch_request_free(mlbatch_request_t *request);

/* An entry of the window from eleven consecutive columns of r starting at first_col: hour,
 * host, source_type, service, level, message, endpoint, ip, http_status, response_time_ms,
 * is_anomaly label. Strings point into r; a valid ip is canonicalised into ip_buf
 * (INET6_ADDRSTRLEN bytes). */
mlbatch_entry_t mlbatch_entry_from_row(const PGresult *r, int row, int first_col, char *ip_buf);

#endif
