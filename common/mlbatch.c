/* mlbatch.c -- log entries scored with the models of scoring.h against the last 24 hours:
 * the comparison context measured in SQL, one entry's prediction, the batch that fills
 * ml_predictions (shared by POST /api/ml and tools/ml_batch), and the POST /api/ml body. */
#include "mlbatch.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "http.h"
#include "textbuf.h"
#include "timeutil.h"


/* ---- counts by key: a small open-addressing hash map ------------------------------------ */

typedef struct count_map {
    char **keys;
    long *counts;
    size_t cap; /* a power of two, or 0 */
    size_t len;
} count_map_t;

/* FNV-1a, 64 bits. */
static uint64_t hash_key(const char *key)
{
    uint64_t h = 1469598103934665603ULL;
    for (const unsigned char *p = (const unsigned char *)key; *p != '\0'; p++) {
        h ^= *p;
        h *= 1099511628211ULL;
    }
    return h;
}

static size_t map_slot(const count_map_t *m, const char *key)
{
    size_t i = (size_t)hash_key(key) & (m->cap - 1);
    while (m->keys[i] != NULL && strcmp(m->keys[i], key) != 0)
        i = (i + 1) & (m->cap - 1);
    return i;
}

/* Doubles the table (from 64 slots); returns 0 or -1 when out of memory. */
static int map_grow(count_map_t *m)
{
    size_t cap = m->cap == 0 ? 64 : m->cap * 2;
    count_map_t bigger = {calloc(cap, sizeof(char *)), calloc(cap, sizeof(long)), cap, m->len};

    if (bigger.keys == NULL || bigger.counts == NULL) {
        free(bigger.keys);
        free(bigger.counts);
        return -1;
    }
    for (size_t i = 0; i < m->cap; i++) {
        if (m->keys[i] != NULL) {
            size_t j = map_slot(&bigger, m->keys[i]);
            bigger.keys[j] = m->keys[i];
            bigger.counts[j] = m->counts[i];
        }
    }
    free(m->keys);
    free(m->counts);
    *m = bigger;
    return 0;
}

/* Adds n to the count of key (copied). Returns 0 or -1 when out of memory. */
static int map_add(count_map_t *m, const char *key, long n)
{
    size_t i;

    if ((m->len + 1) * 10 > m->cap * 7 && map_grow(m) != 0)
        return -1;
    i = map_slot(m, key);
    if (m->keys[i] == NULL) {
        m->keys[i] = strdup(key);
        if (m->keys[i] == NULL)
            return -1;
        m->len++;
    }
    m->counts[i] += n;
    return 0;
}

static long map_get(const count_map_t *m, const char *key)
{
    size_t i;

    if (m->cap == 0)
        return 0;
    i = map_slot(m, key);
    return m->keys[i] != NULL ? m->counts[i] : 0;
}

static void map_free(count_map_t *m)
{
    for (size_t i = 0; i < m->cap; i++)
        free(m->keys[i]);
    free(m->keys);
    free(m->counts);
    memset(m, 0, sizeof *m);
}


/* ---- the context --------------------------------------------------------------------- */

struct mlbatch_context {
    long total;
    long hours[24];
    long rt_n;
    double rt_sum, rt_sumsq;
    long min_id, max_id;      /* ids of the window's rows; 0 when it is empty */
    char to_text[64];         /* the window's end as the session printed it */
    int64_t from_ms, to_ms;
    count_map_t sources;      /* source_type "\x1f" host */
    count_map_t source_types; /* source_type */
    count_map_t messages;
    count_map_t ips;          /* canonical text */
};

/* GROUPING(hour, host, source_type, message, ip_address) of each grouping set: a set bit is a
 * column the row is not grouped by. Hours, sources, source types and the totals are all sums
 * over the first set (a few hundred rows). */
enum grouping {
    SET_HOUR_SOURCE = 3, /* (hour, host, source_type) */
    SET_MESSAGE = 29,    /* (message) */
    SET_IP = 30,         /* (ip_address) */
};

#define HOUR_OF_DAY "date_part('hour', e.\"timestamp\" AT TIME ZONE 'UTC')::int"
#define WINDOW_END "coalesce($1::timestamptz, now())"

/* The window's bounds on a first row (grouping NULL, so an empty window still has them), then
 * one scan of the window into three hash tables. The grouping columns are plain columns and
 * the hour expression is the one of the extended statistics log_entries_ml_context_stats
 * (db/auth.sql), so the planner knows the groups are few and hashes them in one pass instead
 * of sorting a million rows. Sums are float8: numeric ones cost several times more at a
 * million rows. Messages and addresses outside the callers' lists are dropped by HAVING. */
static const char *const CONTEXT_SQL =
    "SELECT NULL::int, NULL::int, NULL::text, NULL::text, NULL::text, NULL::text, 0::bigint,"
    "  0::bigint, 0::float8, 0::float8, 0, 0, " WINDOW_END "::text,"
    "  floor(extract(epoch FROM " WINDOW_END " - make_interval(hours => $4::int)) * 1000)::bigint,"
    "  floor(extract(epoch FROM " WINDOW_END ") * 1000)::bigint"
    " UNION ALL"
    " SELECT GROUPING(" HOUR_OF_DAY ", e.host, e.source_type, e.message, e.ip_address)::int,"
    "  " HOUR_OF_DAY ", e.host, e.source_type::text, e.message, host(e.ip_address), count(*),"
    "  count(e.response_time_ms), coalesce(sum(e.response_time_ms::float8), 0),"
    "  coalesce(sum(e.response_time_ms::float8 * e.response_time_ms::float8), 0),"
    "  coalesce(min(e.id), 0), coalesce(max(e.id), 0), NULL, NULL, NULL"
    " FROM log_entries e"
    " WHERE e.\"timestamp\" > " WINDOW_END " - make_interval(hours => $4::int)"
    "  AND e.\"timestamp\" <= " WINDOW_END
    " GROUP BY GROUPING SETS ((" HOUR_OF_DAY ", e.host, e.source_type), (e.message), (e.ip_address))"
    " HAVING ($2::jsonb IS NULL OR GROUPING(e.message) = 1"
    "   OR e.message IN (SELECT jsonb_array_elements_text($2::jsonb)))"
    "  AND ($3::jsonb IS NULL OR GROUPING(e.ip_address) = 1"
    "   OR e.ip_address IN (SELECT jsonb_array_elements_text($3::jsonb)::inet))";

enum context_col {
    CTX_GROUPING,
    CTX_HOUR,
    CTX_HOST,
    CTX_SOURCE_TYPE,
    CTX_MESSAGE,
    CTX_IP,
    CTX_COUNT,
    CTX_RT_N,
    CTX_RT_SUM,
    CTX_RT_SUMSQ,
    CTX_MIN_ID,
    CTX_MAX_ID,
    CTX_TO_TEXT,
    CTX_FROM_MS,
    CTX_TO_MS,
};

/* Writes the key of a (source_type, host) pair; a NULL host has a key of its own, apart from
 * any host's name (entries without a host are compared on source_type alone anyway). */
static void source_key(char *out, size_t len, const char *source_type, const char *host)
{
    snprintf(out, len, "%s\x1f%s%s", source_type != NULL ? source_type : "",
             host != NULL ? "H" : "N", host != NULL ? host : "");
}

int mlbatch_canonical_ip(const char *text, char out[INET6_ADDRSTRLEN])
{
    unsigned char addr[sizeof(struct in6_addr)];

    if (inet_pton(AF_INET, text, addr) == 1)
        return inet_ntop(AF_INET, addr, out, INET6_ADDRSTRLEN) != NULL ? 0 : -1;
    if (inet_pton(AF_INET6, text, addr) == 1)
        return inet_ntop(AF_INET6, addr, out, INET6_ADDRSTRLEN) != NULL ? 0 : -1;
    return -1;
}

/* Adds a row of the (hour, host, source_type) set to the hours, sources, source types and
 * totals. Returns 0 or -1 when out of memory. */
static int context_add_hour_source(mlbatch_context_t *ctx, const PGresult *r, int row, long n)
{
    const char *host = PQgetisnull(r, row, CTX_HOST) ? NULL : PQgetvalue(r, row, CTX_HOST);
    const char *source_type = PQgetvalue(r, row, CTX_SOURCE_TYPE);
    int hour = atoi(PQgetvalue(r, row, CTX_HOUR));
    long min_id = atol(PQgetvalue(r, row, CTX_MIN_ID)), max_id = atol(PQgetvalue(r, row, CTX_MAX_ID));
    char key[1024];

    if (hour >= 0 && hour < 24)
        ctx->hours[hour] += n;
    ctx->total += n;
    ctx->rt_n += atol(PQgetvalue(r, row, CTX_RT_N));
    ctx->rt_sum += strtod(PQgetvalue(r, row, CTX_RT_SUM), NULL);
    ctx->rt_sumsq += strtod(PQgetvalue(r, row, CTX_RT_SUMSQ), NULL);
    ctx->min_id = ctx->min_id == 0 || min_id < ctx->min_id ? min_id : ctx->min_id;
    ctx->max_id = max_id > ctx->max_id ? max_id : ctx->max_id;
    /* Keys longer than the buffer are truncated alike on both sides. */
    source_key(key, sizeof key, source_type, host);
    return map_add(&ctx->sources, key, n) == 0 && map_add(&ctx->source_types, source_type, n) == 0
               ? 0
               : -1;
}

/* Adds one row of CONTEXT_SQL; returns 0 or -1 when out of memory. */
static int context_add_row(mlbatch_context_t *ctx, const PGresult *r, int row)
{
    long n = atol(PQgetvalue(r, row, CTX_COUNT));
    char ip[INET6_ADDRSTRLEN];

    if (PQgetisnull(r, row, CTX_GROUPING)) {
        snprintf(ctx->to_text, sizeof ctx->to_text, "%s", PQgetvalue(r, row, CTX_TO_TEXT));
        ctx->from_ms = strtoll(PQgetvalue(r, row, CTX_FROM_MS), NULL, 10);
        ctx->to_ms = strtoll(PQgetvalue(r, row, CTX_TO_MS), NULL, 10);
        return 0;
    }
    switch (atoi(PQgetvalue(r, row, CTX_GROUPING))) {
    case SET_HOUR_SOURCE:
        return context_add_hour_source(ctx, r, row, n);
    case SET_MESSAGE:
        return PQgetisnull(r, row, CTX_MESSAGE)
                   ? 0
                   : map_add(&ctx->messages, PQgetvalue(r, row, CTX_MESSAGE), n);
    case SET_IP:
        if (PQgetisnull(r, row, CTX_IP) || mlbatch_canonical_ip(PQgetvalue(r, row, CTX_IP), ip) != 0)
            return 0;
        return map_add(&ctx->ips, ip, n);
    default:
        return 0;
    }
}

mlbatch_context_t *mlbatch_context_load(const mlbatch_db_t *db, const char *to,
                                        const char *messages_json, const char *ips_json)
{
    char hours[8];
    const char *values[] = {to, messages_json, ips_json, hours};
    mlbatch_context_t *ctx = calloc(1, sizeof *ctx);
    PGresult *r;

    if (ctx == NULL) {
        fprintf(stderr, "mlbatch: out of memory\n");
        return NULL;
    }
    snprintf(hours, sizeof hours, "%d", MLBATCH_WINDOW_HOURS);
    r = db->exec(db->arg, CONTEXT_SQL, 4, values);
    if (r == NULL) {
        free(ctx);
        return NULL;
    }
    for (int row = 0; row < PQntuples(r); row++) {
        if (context_add_row(ctx, r, row) != 0) {
            fprintf(stderr, "mlbatch: out of memory\n");
            PQclear(r);
            mlbatch_context_free(ctx);
            return NULL;
        }
    }
    PQclear(r);
    return ctx;
}

void mlbatch_context_free(mlbatch_context_t *ctx)
{
    if (ctx == NULL)
        return;
    map_free(&ctx->sources);
    map_free(&ctx->source_types);
    map_free(&ctx->messages);
    map_free(&ctx->ips);
    free(ctx);
}

int64_t mlbatch_context_from_ms(const mlbatch_context_t *ctx)
{
    return ctx->from_ms;
}

int64_t mlbatch_context_to_ms(const mlbatch_context_t *ctx)
{
    return ctx->to_ms;
}


/* ---- scoring ------------------------------------------------------------------------- */

/* count less the entry's own contribution, never below zero (a row that entered the window
 * after it was measured is not in the counts). */
static long others(long count, long self)
{
    return count > self ? count - self : 0;
}

void mlbatch_score(const mlbatch_context_t *ctx, const mlbatch_entry_t *entry,
                   mlbatch_prediction_t *out)
{
    long self = entry->in_window ? 1 : 0;
    double x = entry->response_time_ms, n, sum, sumsq;
    char key[1024];
    anomaly_context_t ac = {0};
    anomaly_entry_t ae = {entry->message, entry->ip, x};
    scoring_input_t si = {entry->service,   entry->source_type, entry->level,
                          entry->message,   entry->endpoint,    entry->http_status,
                          x,                entry->labelled_anomaly};

    ac.total = others(ctx->total, self);
    ac.hour_count = entry->hour >= 0 && entry->hour < 24 ? others(ctx->hours[entry->hour], self)
                                                         : 0;
    if (entry->host != NULL) {
        source_key(key, sizeof key, entry->source_type, entry->host);
        ac.source_count = others(map_get(&ctx->sources, key), self);
    } else {
        ac.source_count = entry->source_type != NULL
                              ? others(map_get(&ctx->source_types, entry->source_type), self)
                              : ac.total;
    }
    ac.message_count = others(map_get(&ctx->messages, entry->message != NULL ? entry->message : ""),
                              self);
    ac.ip_seen = entry->ip != NULL && others(map_get(&ctx->ips, entry->ip), self) > 0;

    n = (double)ctx->rt_n;
    sum = ctx->rt_sum;
    sumsq = ctx->rt_sumsq;
    if (entry->in_window && x >= 0 && n >= 1) {
        n -= 1;
        sum -= x;
        sumsq -= x * x;
    }
    ac.rt_mean = n > 0 ? sum / n : 0.0;
    /* Sample standard deviation; fewer than two values give 0, which skips the aspect. */
    ac.rt_stddev = n > 1 ? sqrt(fmax((sumsq - sum * sum / n) / (n - 1), 0.0)) : 0.0;

    out->anomaly = anomaly_score(&ae, &ac);
    out->anomaly_confidence = anomaly_confidence(out->anomaly.score);
    out->severity_points = severity_points(&si);
    out->severity = severity_label(out->severity_points);
    out->level_confidence = severity_confidence(out->severity_points);
}


/* ---- the batch ----------------------------------------------------------------------- */

/* Window rows without a prediction among ids (after, upto]: a range of ids, not a LIMIT, so
 * that both sides of the anti-join are short index range scans whatever the planner
 * estimates. Ids only up to the largest the context counted: rows that enter the window
 * while the batch runs are left to the next one. */
static const char *const CANDIDATES_SQL =
    "SELECT e.id, date_part('hour', e.\"timestamp\" AT TIME ZONE 'UTC')::int, e.host,"
    " e.source_type::text, e.service, e.level::text, e.message, e.endpoint, host(e.ip_address),"
    " e.http_status, e.response_time_ms, e.is_anomaly"
    " FROM log_entries e"
    " WHERE e.id > $1::int AND e.id <= $2::int"
    "   AND e.\"timestamp\" > $3::timestamptz - make_interval(hours => $4::int)"
    "   AND e.\"timestamp\" <= $3::timestamptz"
    "   AND NOT EXISTS (SELECT 1 FROM ml_predictions p WHERE p.log_entry_id = e.id"
    "     AND p.log_entry_id > $1::int AND p.log_entry_id <= $2::int)"
    " ORDER BY e.id";

enum candidate_col {
    CAND_ID,
    CAND_HOUR,
    CAND_HOST,
    CAND_SOURCE_TYPE,
    CAND_SERVICE,
    CAND_LEVEL,
    CAND_MESSAGE,
    CAND_ENDPOINT,
    CAND_IP,
    CAND_HTTP_STATUS,
    CAND_RT,
    CAND_LABEL,
};

/* One statement per chunk; xmax = 0 tells a fresh row from one a concurrent batch wrote. */
static const char *const UPSERT_SQL =
    "WITH up AS ("
    " INSERT INTO ml_predictions AS p (log_entry_id, predicted_level, level_confidence,"
    "  is_anomaly, anomaly_score, anomaly_confidence, severity, model_version)"
    " SELECT u.id, u.label, u.level_confidence, u.is_anomaly, u.score, u.anomaly_confidence,"
    "  u.label, $7"
    " FROM unnest($1::int[], $2::text[], $3::real[], $4::bool[], $5::real[], $6::real[])"
    "  AS u(id, label, level_confidence, is_anomaly, score, anomaly_confidence)"
    " ON CONFLICT (log_entry_id) DO UPDATE SET predicted_level = EXCLUDED.predicted_level,"
    "  level_confidence = EXCLUDED.level_confidence, is_anomaly = EXCLUDED.is_anomaly,"
    "  anomaly_score = EXCLUDED.anomaly_score,"
    "  anomaly_confidence = EXCLUDED.anomaly_confidence, severity = EXCLUDED.severity,"
    "  model_version = EXCLUDED.model_version, predicted_at = now()"
    " RETURNING (p.xmax = 0) AS fresh)"
    " SELECT count(*) FILTER (WHERE fresh), count(*) FILTER (WHERE NOT fresh) FROM up";

static const char *const RECORD_SQL =
    "INSERT INTO ml_batch_runs (started_at, finished_at, window_from, window_to, scored,"
    " inserted, updated, model_version, trigger)"
    " VALUES ($1::timestamptz, clock_timestamp(), $1::timestamptz - make_interval(hours => $7::int),"
    "  $1::timestamptz, $2, $3, $4, $5, $6)"
    " RETURNING floor(extract(epoch FROM finished_at - started_at) * 1000)::bigint";

static const char *value_or_null(const PGresult *r, int row, int col)
{
    return PQgetisnull(r, row, col) ? NULL : PQgetvalue(r, row, col);
}

mlbatch_entry_t mlbatch_entry_from_row(const PGresult *r, int row, int first_col, char *ip_buf)
{
    const char *ip = value_or_null(r, row, first_col + 7);
    mlbatch_entry_t e = {
        .hour = atoi(PQgetvalue(r, row, first_col)),
        .host = value_or_null(r, row, first_col + 1),
        .source_type = value_or_null(r, row, first_col + 2),
        .service = value_or_null(r, row, first_col + 3),
        .level = value_or_null(r, row, first_col + 4),
        .message = value_or_null(r, row, first_col + 5),
        .endpoint = value_or_null(r, row, first_col + 6),
        .ip = ip != NULL && mlbatch_canonical_ip(ip, ip_buf) == 0 ? ip_buf : NULL,
        .http_status = PQgetisnull(r, row, first_col + 8)
                           ? 0
                           : atoi(PQgetvalue(r, row, first_col + 8)),
        .response_time_ms = PQgetisnull(r, row, first_col + 9)
                                ? -1.0
                                : strtod(PQgetvalue(r, row, first_col + 9), NULL),
        .labelled_anomaly = strcmp(PQgetvalue(r, row, first_col + 10), "t") == 0,
        .in_window = true,
    };
    return e;
}

/* The arrays of one chunk's upsert, as array literals. */
typedef struct chunk_arrays {
    text_buf_t ids, labels, level_confidences, flags, scores, anomaly_confidences;
} chunk_arrays_t;

static void arrays_free(chunk_arrays_t *a)
{
    text_buf_free(&a->ids);
    text_buf_free(&a->labels);
    text_buf_free(&a->level_confidences);
    text_buf_free(&a->flags);
    text_buf_free(&a->scores);
    text_buf_free(&a->anomaly_confidences);
}

/* Scores the rows of one candidates result into array literals. */
static void score_chunk(const mlbatch_context_t *ctx, const PGresult *r, chunk_arrays_t *a)
{
    int rows = PQntuples(r);

    for (int row = 0; row < rows; row++) {
        char ip[INET6_ADDRSTRLEN];
        const char *sep = row == 0 ? "{" : ",";
        mlbatch_entry_t e = mlbatch_entry_from_row(r, row, CAND_HOUR, ip);
        mlbatch_prediction_t p;

        mlbatch_score(ctx, &e, &p);
        text_buf_printf(&a->ids, "%s%s", sep, PQgetvalue(r, row, CAND_ID));
        text_buf_printf(&a->labels, "%s%s", sep, p.severity);
        text_buf_printf(&a->level_confidences, "%s%.6g", sep, p.level_confidence);
        text_buf_printf(&a->flags, "%s%s", sep, p.anomaly.is_anomaly ? "t" : "f");
        text_buf_printf(&a->scores, "%s%.6g", sep, p.anomaly.score);
        text_buf_printf(&a->anomaly_confidences, "%s%.6g", sep, p.anomaly_confidence);
    }
    text_buf_printf(&a->ids, "}");
    text_buf_printf(&a->labels, "}");
    text_buf_printf(&a->level_confidences, "}");
    text_buf_printf(&a->flags, "}");
    text_buf_printf(&a->scores, "}");
    text_buf_printf(&a->anomaly_confidences, "}");
}

/* Upserts one scored chunk and adds its counts. Returns 0 or -1. */
static int write_chunk(const mlbatch_db_t *db, chunk_arrays_t *a, mlbatch_counts_t *counts)
{
    const char *values[] = {a->ids.data,    a->labels.data,
                            a->level_confidences.data, a->flags.data,
                            a->scores.data, a->anomaly_confidences.data,
                            MLBATCH_MODEL_VERSION};
    PGresult *r;

    if (a->ids.failed || a->labels.failed || a->level_confidences.failed || a->flags.failed ||
        a->scores.failed || a->anomaly_confidences.failed) {
        fprintf(stderr, "mlbatch: out of memory\n");
        return -1;
    }
    r = db->exec(db->arg, UPSERT_SQL, 7, values);
    if (r == NULL)
        return -1;
    counts->inserted += atol(PQgetvalue(r, 0, 0));
    counts->updated += atol(PQgetvalue(r, 0, 1));
    PQclear(r);
    return 0;
}

/* Reads, scores and writes the candidates, MLBATCH_CHUNK_ROWS ids at a time. Returns 0 or -1. */
static int score_window(const mlbatch_db_t *db, const mlbatch_context_t *ctx,
                        mlbatch_counts_t *counts)
{
    char after[24], upto[24], hours[8];
    const char *values[] = {after, upto, ctx->to_text, hours};

    snprintf(hours, sizeof hours, "%d", MLBATCH_WINDOW_HOURS);
    for (long lo = ctx->min_id - 1; lo < ctx->max_id; lo += MLBATCH_CHUNK_ROWS) {
        long hi = ctx->max_id - lo > MLBATCH_CHUNK_ROWS ? lo + MLBATCH_CHUNK_ROWS : ctx->max_id;
        chunk_arrays_t arrays = {0};
        PGresult *r;
        int rows, rc;

        snprintf(after, sizeof after, "%ld", lo);
        snprintf(upto, sizeof upto, "%ld", hi);
        r = db->exec(db->arg, CANDIDATES_SQL, 4, values);
        if (r == NULL)
            return -1;
        rows = PQntuples(r);
        if (rows > 0)
            score_chunk(ctx, r, &arrays);
        PQclear(r);
        rc = rows > 0 ? write_chunk(db, &arrays, counts) : 0;
        arrays_free(&arrays);
        if (rc != 0)
            return -1;
        counts->scored += rows;
    }
    return 0;
}

int mlbatch_run(const mlbatch_db_t *db, const char *trigger, mlbatch_counts_t *counts)
{
    char scored[24], inserted[24], updated[24], hours[8];
    const char *values[7];
    mlbatch_context_t *ctx;
    PGresult *r;
    int rc = 0;

    memset(counts, 0, sizeof *counts);
    ctx = mlbatch_context_load(db, NULL, NULL, NULL);
    if (ctx == NULL)
        return -1;
    counts->window_from_ms = ctx->from_ms;
    counts->window_to_ms = ctx->to_ms;
    if (ctx->total > 0)
        rc = score_window(db, ctx, counts);
    if (rc == 0) {
        snprintf(scored, sizeof scored, "%ld", counts->scored);
        snprintf(inserted, sizeof inserted, "%ld", counts->inserted);
        snprintf(updated, sizeof updated, "%ld", counts->updated);
        snprintf(hours, sizeof hours, "%d", MLBATCH_WINDOW_HOURS);
        values[0] = ctx->to_text;
        values[1] = scored;
        values[2] = inserted;
        values[3] = updated;
        values[4] = MLBATCH_MODEL_VERSION;
        values[5] = trigger;
        values[6] = hours;
        r = db->exec(db->arg, RECORD_SQL, 7, values);
        if (r == NULL) {
            rc = -1;
        } else {
            counts->duration_ms = strtoll(PQgetvalue(r, 0, 0), NULL, 10);
            PQclear(r);
        }
    }
    mlbatch_context_free(ctx);
    return rc;
}

PGresult *mlbatch_exec_pg(void *arg, const char *sql, int nparams, const char *const *values)
{
    PGconn *pg = arg;
    PGresult *r = PQexecParams(pg, sql, nparams, NULL, values, NULL, NULL, 0);

    if (PQresultStatus(r) == PGRES_TUPLES_OK || PQresultStatus(r) == PGRES_COMMAND_OK)
        return r;
    fprintf(stderr, "mlbatch: query failed: %s",
            r != NULL ? PQresultErrorMessage(r) : PQerrorMessage(pg));
    PQclear(r);
    return NULL;
}


/* ---- POST /api/ml body ---------------------------------------------------------------- */

#define ITEM_MESSAGE_MAX 65536
#define ITEM_NAME_MAX 255     /* host, service, log_id: the columns' lengths */
#define ITEM_ENDPOINT_MAX 500

typedef struct parse_state {
    mlbatch_request_t *out;
    const char **why;
} parse_state_t;

static enum mlbatch_parse_status parse_fail(parse_state_t *st, enum mlbatch_parse_status status,
                                            int index, const char *member, const char *why)
{
    if (index < 0)
        snprintf(st->out->field, sizeof st->out->field, "%s", member != NULL ? member : "");
    else
        snprintf(st->out->field, sizeof st->out->field, "log_data[%d]%s%s", index,
                 member != NULL ? "." : "", member != NULL ? member : "");
    *st->why = why;
    return status;
}

/* The member under either name (NULL and JSON null mean absent); *name_out gets the name
 * used. Returns MLBATCH_PARSE_OK, or the shape error when both names are given. */
static enum mlbatch_parse_status get_member(parse_state_t *st, int index, const cJSON *item,
                                            const char *name, const char *alias,
                                            const cJSON **value, const char **name_out)
{
    const cJSON *a = cJSON_GetObjectItemCaseSensitive(item, name);
    const cJSON *b = alias != NULL ? cJSON_GetObjectItemCaseSensitive(item, alias) : NULL;

    a = cJSON_IsNull(a) ? NULL : a;
    b = cJSON_IsNull(b) ? NULL : b;
    *name_out = b != NULL ? alias : name;
    *value = a != NULL ? a : b;
    if (a != NULL && b != NULL)
        return parse_fail(st, MLBATCH_PARSE_SHAPE, index, name,
                          "The member is given under two names.");
    return MLBATCH_PARSE_OK;
}

/* A string member of 1..max bytes of UTF-8 (optional unless required). */
static enum mlbatch_parse_status get_string(parse_state_t *st, int index, const cJSON *item,
                                            const char *name, const char *alias, size_t max,
                                            bool required, const char **out)
{
    const cJSON *v;
    const char *used;
    enum mlbatch_parse_status s = get_member(st, index, item, name, alias, &v, &used);
    size_t len;

    *out = NULL;
    if (s != MLBATCH_PARSE_OK)
        return s;
    if (v == NULL)
        return required ? parse_fail(st, MLBATCH_PARSE_SHAPE, index, name, "The member is required.")
                        : MLBATCH_PARSE_OK;
    if (!cJSON_IsString(v) || v->valuestring == NULL)
        return parse_fail(st, MLBATCH_PARSE_SHAPE, index, used, "The member must be a string.");
    len = strlen(v->valuestring);
    if (len == 0 || len > max)
        return parse_fail(st, MLBATCH_PARSE_VALUE, index, used,
                          "The member is empty or longer than its column allows.");
    if (!http_utf8_valid(v->valuestring, len))
        return parse_fail(st, MLBATCH_PARSE_VALUE, index, used, "The member is not valid UTF-8.");
    *out = v->valuestring;
    return MLBATCH_PARSE_OK;
}

/* The static spelling of value in choices (any case), or NULL. */
static const char *choose(const char *value, const char *const *choices, const char *const *as)
{
    for (size_t i = 0; choices[i] != NULL; i++) {
        if (strcasecmp(value, choices[i]) == 0)
            return as[i];
    }
    return NULL;
}

static enum mlbatch_parse_status parse_id(parse_state_t *st, int index, const cJSON *item,
                                          mlbatch_item_t *it)
{
    const cJSON *id = cJSON_GetObjectItemCaseSensitive(item, "id");
    const char *s;
    size_t len;

    if (id == NULL || cJSON_IsNull(id))
        return MLBATCH_PARSE_OK;
    it->id = id;
    if (cJSON_IsNumber(id)) {
        if (!(id->valuedouble >= 1 && id->valuedouble <= 2147483647.0) ||
            id->valuedouble != floor(id->valuedouble))
            return parse_fail(st, MLBATCH_PARSE_VALUE, index, "id",
                              "A numeric id must be a whole number from 1 to 2147483647.");
        it->log_entry_id = (long)id->valuedouble;
        return MLBATCH_PARSE_OK;
    }
    if (!cJSON_IsString(id) || id->valuestring == NULL)
        return parse_fail(st, MLBATCH_PARSE_SHAPE, index, "id",
                          "The id must be a number or a string.");
    s = id->valuestring;
    len = strlen(s);
    if (len == 0 || len > ITEM_NAME_MAX || !http_utf8_valid(s, len))
        return parse_fail(st, MLBATCH_PARSE_VALUE, index, "id",
                          "The id must be 1 to 255 bytes of UTF-8.");
    /* Digits without a leading zero, in range: the id of /api/logs (a string there). */
    if (s[0] >= '1' && s[0] <= '9' && strspn(s, "0123456789") == len && len <= 10 &&
        strtol(s, NULL, 10) <= 2147483647L)
        it->log_entry_id = strtol(s, NULL, 10);
    else
        it->log_id = s;
    return MLBATCH_PARSE_OK;
}

static enum mlbatch_parse_status parse_numbers(parse_state_t *st, int index, const cJSON *item,
                                               mlbatch_item_t *it)
{
    const cJSON *v;
    const char *used;
    enum mlbatch_parse_status s;

    s = get_member(st, index, item, "http_status", "httpStatus", &v, &used);
    if (s != MLBATCH_PARSE_OK)
        return s;
    if (v != NULL) {
        if (!cJSON_IsNumber(v))
            return parse_fail(st, MLBATCH_PARSE_SHAPE, index, used, "The member must be a number.");
        if (!(v->valuedouble >= 100 && v->valuedouble <= 599) ||
            v->valuedouble != floor(v->valuedouble))
            return parse_fail(st, MLBATCH_PARSE_VALUE, index, used,
                              "An HTTP status must be a whole number from 100 to 599.");
        it->entry.http_status = (int)v->valuedouble;
    }
    s = get_member(st, index, item, "response_time_ms", "responseTime", &v, &used);
    if (s != MLBATCH_PARSE_OK)
        return s;
    if (v != NULL) {
        if (!cJSON_IsNumber(v))
            return parse_fail(st, MLBATCH_PARSE_SHAPE, index, used, "The member must be a number.");
        if (!(v->valuedouble >= 0 && v->valuedouble <= 1e12))
            return parse_fail(st, MLBATCH_PARSE_VALUE, index, used,
                              "A response time must be a number of milliseconds from 0.");
        it->entry.response_time_ms = v->valuedouble;
    }
    s = get_member(st, index, item, "is_anomaly", "isAnomaly", &v, &used);
    if (s != MLBATCH_PARSE_OK)
        return s;
    if (v != NULL) {
        if (!cJSON_IsBool(v))
            return parse_fail(st, MLBATCH_PARSE_SHAPE, index, used, "The member must be true or false.");
        it->entry.labelled_anomaly = cJSON_IsTrue(v);
    }
    return MLBATCH_PARSE_OK;
}

/* UTC hour of day of an instant; floored, so that the hour before 1970-01-01 (reachable as
 * 1970-01-01T00:30:00+01:00) is 23. */
static int utc_hour(int64_t epoch_ms)
{
    int64_t hours = epoch_ms / 3600000 - (epoch_ms % 3600000 < 0 ? 1 : 0);
    return (int)(((hours % 24) + 24) % 24);
}

static enum mlbatch_parse_status parse_item(parse_state_t *st, int index, const cJSON *item,
                                            mlbatch_item_t *it)
{
    static const char *const levels[] = {"DEBUG", "INFO", "WARN", "WARNING", "ERROR", "FATAL", NULL};
    static const char *const level_as[] = {"DEBUG", "INFO", "WARN", "WARN", "ERROR", "FATAL"};
    static const char *const sources[] = {"splunk", "sap", "application", NULL};
    const char *level, *source, *timestamp, *ip;
    enum mlbatch_parse_status s;

    memset(it, 0, sizeof *it);
    it->entry.response_time_ms = -1.0;
    if (!cJSON_IsObject(item))
        return parse_fail(st, MLBATCH_PARSE_SHAPE, index, NULL, "Each log_data item must be an object.");
    if ((s = parse_id(st, index, item, it)) != MLBATCH_PARSE_OK ||
        (s = get_string(st, index, item, "message", NULL, ITEM_MESSAGE_MAX, true,
                        &it->entry.message)) != MLBATCH_PARSE_OK ||
        (s = get_string(st, index, item, "level", NULL, 16, true, &level)) != MLBATCH_PARSE_OK ||
        (s = get_string(st, index, item, "source", "source_type", 16, true, &source)) !=
            MLBATCH_PARSE_OK ||
        (s = get_string(st, index, item, "timestamp", NULL, 64, true, &timestamp)) !=
            MLBATCH_PARSE_OK ||
        (s = get_string(st, index, item, "host", NULL, ITEM_NAME_MAX, false, &it->entry.host)) !=
            MLBATCH_PARSE_OK ||
        (s = get_string(st, index, item, "service", NULL, ITEM_NAME_MAX, false,
                        &it->entry.service)) != MLBATCH_PARSE_OK ||
        (s = get_string(st, index, item, "endpoint", NULL, ITEM_ENDPOINT_MAX, false,
                        &it->entry.endpoint)) != MLBATCH_PARSE_OK ||
        (s = get_string(st, index, item, "ip_address", "ipAddress", 64, false, &ip)) !=
            MLBATCH_PARSE_OK ||
        (s = parse_numbers(st, index, item, it)) != MLBATCH_PARSE_OK)
        return s;
    it->entry.level = choose(level, levels, level_as);
    if (it->entry.level == NULL)
        return parse_fail(st, MLBATCH_PARSE_VALUE, index, "level",
                          "The level must be one of DEBUG, INFO, WARN, ERROR, FATAL.");
    it->entry.source_type = choose(source, sources, sources);
    if (it->entry.source_type == NULL)
        return parse_fail(st, MLBATCH_PARSE_VALUE, index, "source",
                          "The source must be one of splunk, sap, application.");
    if (time_parse_rfc3339(timestamp, &it->timestamp_ms) != 0)
        return parse_fail(st, MLBATCH_PARSE_VALUE, index, "timestamp",
                          "The timestamp must be RFC 3339, e.g. 2025-10-18T15:04:05Z.");
    it->entry.hour = utc_hour(it->timestamp_ms);
    if (ip != NULL) {
        if (mlbatch_canonical_ip(ip, it->ip) != 0)
            return parse_fail(st, MLBATCH_PARSE_VALUE, index, "ip_address",
                              "The IP address must be an IPv4 or IPv6 address.");
        it->entry.ip = it->ip;
    }
    return MLBATCH_PARSE_OK;
}

enum mlbatch_parse_status mlbatch_parse_request(const char *body, size_t len,
                                                mlbatch_request_t *out, const char **why)
{
    static const char *const actions[] = {"analyze", "batch", NULL};
    parse_state_t st = {out, why};
    const cJSON *action, *data, *item;
    enum mlbatch_parse_status s;
    int index = 0;

    memset(out, 0, sizeof *out);
    if (body == NULL || len == 0 || memchr(body, '\0', len) != NULL || !http_utf8_valid(body, len))
        return parse_fail(&st, MLBATCH_PARSE_SHAPE, -1, NULL,
                          "The body must be a JSON object in UTF-8 text.");
    out->root = cJSON_ParseWithOpts(body, NULL, 1);
    if (!cJSON_IsObject(out->root)) {
        s = parse_fail(&st, MLBATCH_PARSE_SHAPE, -1, NULL, "The body must be a JSON object.");
        goto fail;
    }
    action = cJSON_GetObjectItemCaseSensitive(out->root, "action");
    if (action != NULL && !cJSON_IsString(action)) {
        s = parse_fail(&st, MLBATCH_PARSE_SHAPE, -1, "action", "The action must be a string.");
        goto fail;
    }
    out->action = MLBATCH_ACTION_UNKNOWN;
    for (int i = 0; actions[i] != NULL; i++) {
        if (action == NULL || strcasecmp(action->valuestring, actions[i]) == 0) {
            out->action = (enum mlbatch_action)i;
            break;
        }
    }
    if (out->action != MLBATCH_ACTION_ANALYZE)
        return MLBATCH_PARSE_OK;
    data = cJSON_GetObjectItemCaseSensitive(out->root, "log_data");
    if (!cJSON_IsArray(data)) {
        s = parse_fail(&st, MLBATCH_PARSE_SHAPE, -1, "log_data",
                       "log_data must be an array of log objects.");
        goto fail;
    }
    if (cJSON_GetArraySize(data) > MLBATCH_MAX_ITEMS) {
        s = parse_fail(&st, MLBATCH_PARSE_VALUE, -1, "log_data",
                       "log_data holds more than 100 items.");
        goto fail;
    }
    cJSON_ArrayForEach(item, data)
    {
        s = parse_item(&st, index, item, &out->items[index]);
        if (s != MLBATCH_PARSE_OK)
            goto fail;
        index++;
    }
    out->nitems = index;
    return MLBATCH_PARSE_OK;

fail:
    cJSON_Delete(out->root);
    out->root = NULL;
    return s;
}

void mlbatch_request_free(mlbatch_request_t *request)
{
    cJSON_Delete(request->root);
    request->root = NULL;
}
