/* ml.c -- /api/ml: the models' state and figures (GET, read_logs), scoring posted entries now
 * and running the batch (POST, analyze_logs; the batch also needs manage_system).
 *
 * The models are severity rules-v1 (the "classification": its label is stored both as
 * predicted_level and severity, its confidence as level_confidence) and anomaly stats-v1,
 * scored by common/mlbatch.c against the last 24 hours. GET ?action=
 *   analyze (default)  stored predictions of the last 24 h (by predicted_at) and the 10 most
 *                      recent of the last hour;
 *   status             the models, their parameters, the predictions table and the last batch;
 *   realtime           the logs of the last 5 minutes, scored now (at most REALTIME_MAX_ROWS,
 *                      the newest; logs_in_window says how many there were);
 *   abtest             the two models' anomaly flags on the stored predictions of the logs of
 *                      the last 24 h (by log timestamp), against the stored label
 *                      log_entries.is_anomaly:
 *                        stats-v1 flags an entry when ml_predictions.is_anomaly (score >= 0.7);
 *                        rules-v1 flags it when ml_predictions.severity is critical or high.
 *                      For each model, with TP/FP/FN/TN counted against the label:
 *                        precision = TP / (TP + FP), recall = TP / (TP + FN),
 *                        F1 = 2 TP / (2 TP + FP + FN), accuracy = (TP + TN) / n
 *                      (null when the denominator is 0), and agreement = the share of entries
 *                      both models flag alike. Note that rules-v1 takes the label itself as
 *                      one of its inputs (10 points), so its figures are not independent of it.
 * Every figure comes from the database or the models; with no predictions the lists are
 * empty and the counts 0. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "config.h"
#include "db.h"
#include "mlbatch.h"
#include "timeutil.h"
#include "token.h"
#include "worker.h"

#define ML_BODY_LIMIT (1024 * 1024)
#define REALTIME_MINUTES 5
#define REALTIME_MAX_ROWS 10000
#define REALTIME_TOP 10
#define RECENT_LIMIT 10

static const char *const SEVERITIES[] = {"critical", "high", "medium", "low", NULL};

/* mlbatch statements run through the request's pooled connection, errors mapped to HTTP. */
typedef struct request_db {
    http_request_t *req;
    http_response_t *res;
} request_db_t;

static PGresult *request_exec(void *arg, const char *sql, int nparams, const char *const *values)
{
    request_db_t *d = arg;
    return db_query(d->req, d->res, sql, nparams, values);
}

static void add_number_or_null(cJSON *obj, const char *name, const cJSON *value, int decimals)
{
    if (cJSON_IsNumber(value))
        json_add_rounded(obj, name, value->valuedouble, decimals);
    else
        cJSON_AddNullToObject(obj, name);
}

static void add_time_or_null(cJSON *obj, const char *name, const cJSON *epoch_ms)
{
    if (cJSON_IsNumber(epoch_ms))
        json_add_time(obj, name, (int64_t)epoch_ms->valuedouble);
    else
        cJSON_AddNullToObject(obj, name);
}

/* part / whole as a percentage with 2 decimals, or null when whole is 0. */
static void add_percent(cJSON *obj, const char *name, double part, double whole)
{
    if (whole > 0)
        json_add_rounded(obj, name, 100.0 * part / whole, 2);
    else
        cJSON_AddNullToObject(obj, name);
}

static void add_ratio(cJSON *obj, const char *name, double part, double whole)
{
    if (whole > 0)
        json_add_rounded(obj, name, part / whole, 4);
    else
        cJSON_AddNullToObject(obj, name);
}

static double num(const cJSON *obj, const char *name)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(obj, name);
    return cJSON_IsNumber(v) ? v->valuedouble : 0.0;
}


/* ---- GET ?action=analyze ------------------------------------------------------------- */

/* The 24-hour figures come from ml_counts() (the prediction rollups, exact): predictions with
 * predicted_at in [now - 24 h, infinity), the same rows as the plain WHERE predicted_at >=
 * now() - interval '24 hours' over the table, without reading a million of them. */
static const char *const ANALYZE_SQL =
    "SELECT json_build_object("
    " 'total', p.n,"
    " 'anomalies', p.anomalies,"
    " 'high', p.critical + p.high,"
    " 'avg_confidence', p.conf_sum / nullif(p.conf_n, 0),"
    " 'last_ms', (SELECT floor(extract(epoch FROM max(predicted_at)) * 1000) FROM ml_predictions),"
    " 'recent', (SELECT coalesce(json_agg(r ORDER BY r.at_ms DESC, r.id DESC), '[]'::json) FROM ("
    "   SELECT q.id, e.log_id, q.predicted_level, q.level_confidence, q.anomaly_score,"
    "    q.is_anomaly, q.severity, floor(extract(epoch FROM q.predicted_at) * 1000) AS at_ms"
    "   FROM ml_predictions q JOIN log_entries e ON e.id = q.log_entry_id"
    "   WHERE q.predicted_at > now() - interval '1 hour'"
    "   ORDER BY q.predicted_at DESC, q.id DESC LIMIT $1::int) r))"
    " FROM ml_counts(now() - interval '24 hours', 'infinity') p";

static void add_insights(cJSON *data, const cJSON *f)
{
    cJSON *insights = cJSON_AddArrayToObject(data, "insights");
    double total = num(f, "total"), anomalies = num(f, "anomalies"), high = num(f, "high");
    char line[256];

    if (total <= 0)
        return;
    snprintf(line, sizeof line,
             "%.0f of %.0f predictions of the last 24 hours flag an anomaly (%.2f%%).", anomalies,
             total, 100.0 * anomalies / total);
    cJSON_AddItemToArray(insights, cJSON_CreateString(line));
    snprintf(line, sizeof line,
             "%.0f predictions of the last 24 hours are of high or critical severity (%.2f%%).",
             high, 100.0 * high / total);
    cJSON_AddItemToArray(insights, cJSON_CreateString(line));
    snprintf(line, sizeof line, "The average classification confidence is %.4f.",
             num(f, "avg_confidence"));
    cJSON_AddItemToArray(insights, cJSON_CreateString(line));
}

static int get_analyze(http_request_t *req, http_response_t *res)
{
    char limit[8];
    const char *values[] = {limit};
    cJSON *f, *body, *data, *status, *recent;
    const cJSON *r;

    snprintf(limit, sizeof limit, "%d", RECENT_LIMIT);
    f = db_query_json(req, res, ANALYZE_SQL, 1, values);
    if (f == NULL)
        return -1;
    body = http_ok(res);
    data = cJSON_AddObjectToObject(body, "data");
    status = cJSON_AddObjectToObject(data, "model_status");
    cJSON_AddStringToObject(status, "classification_model", SEVERITY_MODEL_VERSION);
    cJSON_AddStringToObject(status, "anomaly_detection_model", ANOMALY_MODEL_VERSION);
    cJSON_AddNumberToObject(status, "total_predictions_24h", num(f, "total"));
    cJSON_AddNumberToObject(status, "anomalies_detected_24h", num(f, "anomalies"));
    add_number_or_null(status, "avg_confidence", cJSON_GetObjectItem(f, "avg_confidence"), 4);
    add_time_or_null(status, "last_prediction", cJSON_GetObjectItem(f, "last_ms"));
    cJSON_AddStringToObject(status, "source", "ml_predictions_table");
    recent = cJSON_AddArrayToObject(data, "recent_analysis");
    cJSON_ArrayForEach(r, cJSON_GetObjectItem(f, "recent"))
    {
        cJSON *a = cJSON_CreateObject();
        char id[40];
        const cJSON *flag = cJSON_GetObjectItem(r, "is_anomaly");
        snprintf(id, sizeof id, "analysis_%.0f", num(r, "id"));
        cJSON_AddStringToObject(a, "id", id);
        cJSON_AddItemToObject(a, "log_id", cJSON_Duplicate(cJSON_GetObjectItem(r, "log_id"), 1));
        cJSON_AddItemToObject(a, "classification",
                              cJSON_Duplicate(cJSON_GetObjectItem(r, "predicted_level"), 1));
        add_number_or_null(a, "confidence", cJSON_GetObjectItem(r, "level_confidence"), 4);
        add_number_or_null(a, "anomaly_score", cJSON_GetObjectItem(r, "anomaly_score"), 4);
        cJSON_AddItemToObject(a, "is_anomaly",
                              cJSON_IsBool(flag) ? cJSON_CreateBool(cJSON_IsTrue(flag))
                                                 : cJSON_CreateNull());
        cJSON_AddItemToObject(a, "severity", cJSON_Duplicate(cJSON_GetObjectItem(r, "severity"), 1));
        add_time_or_null(a, "timestamp", cJSON_GetObjectItem(r, "at_ms"));
        cJSON_AddItemToArray(recent, a);
    }
    add_insights(data, f);
    cJSON_Delete(f);
    return 0;
}


/* ---- GET ?action=status -------------------------------------------------------------- */

static const char *const STATUS_SQL =
    "SELECT json_build_object("
    " 'predictions', (SELECT count(*) FROM ml_predictions),"
    " 'last_ms', (SELECT floor(extract(epoch FROM max(predicted_at)) * 1000) FROM ml_predictions),"
    " 'run', (SELECT row_to_json(x) FROM ("
    "   SELECT id, floor(extract(epoch FROM started_at) * 1000) AS started_ms,"
    "    floor(extract(epoch FROM finished_at) * 1000) AS finished_ms,"
    "    floor(extract(epoch FROM window_from) * 1000) AS from_ms,"
    "    floor(extract(epoch FROM window_to) * 1000) AS to_ms,"
    "    scored, inserted, updated, model_version, trigger"
    "   FROM ml_batch_runs ORDER BY id DESC LIMIT 1) x))";

static void add_models(cJSON *data)
{
    cJSON *models = cJSON_AddObjectToObject(data, "models");
    cJSON *c = cJSON_AddObjectToObject(models, "classification");
    cJSON *a = cJSON_AddObjectToObject(models, "anomaly_detection");
    cJSON *params, *labels;

    cJSON_AddStringToObject(c, "name", "severity");
    cJSON_AddStringToObject(c, "version", SEVERITY_MODEL_VERSION);
    cJSON_AddStringToObject(c, "kind", "rules");
    params = cJSON_AddObjectToObject(c, "parameters");
    cJSON_AddNumberToObject(params, "critical_min_points", SEVERITY_CRITICAL_MIN);
    cJSON_AddNumberToObject(params, "high_min_points", SEVERITY_HIGH_MIN);
    cJSON_AddNumberToObject(params, "medium_min_points", SEVERITY_MEDIUM_MIN);
    labels = cJSON_AddArrayToObject(c, "labels");
    for (int i = 0; SEVERITIES[i] != NULL; i++)
        cJSON_AddItemToArray(labels, cJSON_CreateString(SEVERITIES[i]));

    cJSON_AddStringToObject(a, "name", "anomaly");
    cJSON_AddStringToObject(a, "version", ANOMALY_MODEL_VERSION);
    cJSON_AddStringToObject(a, "kind", "statistics");
    params = cJSON_AddObjectToObject(a, "parameters");
    cJSON_AddNumberToObject(params, "threshold", ANOMALY_THRESHOLD);
    cJSON_AddNumberToObject(params, "window_hours", MLBATCH_WINDOW_HOURS);
    labels = cJSON_AddArrayToObject(a, "aspects");
    cJSON_AddItemToArray(labels, cJSON_CreateString("timing"));
    cJSON_AddItemToArray(labels, cJSON_CreateString("source"));
    cJSON_AddItemToArray(labels, cJSON_CreateString("content"));
    cJSON_AddItemToArray(labels, cJSON_CreateString("performance"));
    cJSON_AddItemToArray(labels, cJSON_CreateString("security"));
    cJSON_AddStringToObject(data, "model_version", MLBATCH_MODEL_VERSION);
}

static int get_status(http_request_t *req, http_response_t *res)
{
    cJSON *f = db_query_json(req, res, STATUS_SQL, 0, NULL), *body, *data, *preds, *run;
    const cJSON *stored;

    if (f == NULL)
        return -1;
    body = http_ok(res);
    data = cJSON_AddObjectToObject(body, "data");
    add_models(data);
    preds = cJSON_AddObjectToObject(data, "predictions");
    cJSON_AddNumberToObject(preds, "total", num(f, "predictions"));
    add_time_or_null(preds, "last_prediction", cJSON_GetObjectItem(f, "last_ms"));
    stored = cJSON_GetObjectItem(f, "run");
    if (!cJSON_IsObject(stored)) {
        cJSON_AddNullToObject(data, "last_batch_run");
    } else {
        run = cJSON_AddObjectToObject(data, "last_batch_run");
        cJSON_AddNumberToObject(run, "id", num(stored, "id"));
        add_time_or_null(run, "started_at", cJSON_GetObjectItem(stored, "started_ms"));
        add_time_or_null(run, "finished_at", cJSON_GetObjectItem(stored, "finished_ms"));
        cJSON_AddNumberToObject(run, "duration_ms",
                                num(stored, "finished_ms") - num(stored, "started_ms"));
        add_time_or_null(run, "window_from", cJSON_GetObjectItem(stored, "from_ms"));
        add_time_or_null(run, "window_to", cJSON_GetObjectItem(stored, "to_ms"));
        cJSON_AddNumberToObject(run, "scored", num(stored, "scored"));
        cJSON_AddNumberToObject(run, "inserted", num(stored, "inserted"));
        cJSON_AddNumberToObject(run, "updated", num(stored, "updated"));
        cJSON_AddItemToObject(run, "model_version",
                              cJSON_Duplicate(cJSON_GetObjectItem(stored, "model_version"), 1));
        cJSON_AddItemToObject(run, "trigger",
                              cJSON_Duplicate(cJSON_GetObjectItem(stored, "trigger"), 1));
    }
    cJSON_Delete(f);
    return 0;
}


/* ---- GET ?action=realtime ------------------------------------------------------------ */

/* The window's end and row count, and its newest rows (none: one row of NULLs). */
static const char *const REALTIME_SQL =
    "WITH b AS (SELECT now() AS t_to)"
    " SELECT b.t_to::text, floor(extract(epoch FROM b.t_to) * 1000)::bigint,"
    "  (SELECT count(*) FROM log_entries c WHERE c.\"timestamp\" > b.t_to"
    "   - make_interval(mins => $1::int) AND c.\"timestamp\" <= b.t_to),"
    "  e.id, e.log_id, floor(extract(epoch FROM e.\"timestamp\") * 1000)::bigint, e.hr, e.host,"
    "  e.source_type, e.service, e.level, e.message, e.endpoint, e.ip, e.http_status,"
    "  e.response_time_ms, e.is_anomaly"
    " FROM b LEFT JOIN LATERAL ("
    "  SELECT l.id, l.log_id, l.\"timestamp\","
    "   date_part('hour', l.\"timestamp\" AT TIME ZONE 'UTC')::int AS hr, l.host,"
    "   l.source_type::text AS source_type, l.service, l.level::text AS level, l.message,"
    "   l.endpoint, host(l.ip_address) AS ip, l.http_status, l.response_time_ms, l.is_anomaly"
    "  FROM log_entries l"
    "  WHERE l.\"timestamp\" > b.t_to - make_interval(mins => $1::int) AND l.\"timestamp\" <= b.t_to"
    "  ORDER BY l.\"timestamp\" DESC, l.id DESC LIMIT $2::int) e ON true";

enum realtime_col {
    RT_TO_TEXT,
    RT_TO_MS,
    RT_IN_WINDOW,
    RT_ID,
    RT_LOG_ID,
    RT_TS_MS,
    RT_HOUR,
    RT_HOST,
    RT_SOURCE_TYPE,
    RT_SERVICE,
    RT_LEVEL,
    RT_MESSAGE,
    RT_ENDPOINT,
    RT_IP,
    RT_HTTP_STATUS,
    RT_RESPONSE_TIME,
    RT_LABEL,
};


/* JSON arrays of the rows' messages and canonical addresses, for a narrow context. */
static void realtime_filters(const PGresult *r, int rows, char **messages, char **ips)
{
    cJSON *m = cJSON_CreateArray(), *i = cJSON_CreateArray();

    for (int row = 0; row < rows; row++) {
        char ip[INET6_ADDRSTRLEN];
        mlbatch_entry_t e = mlbatch_entry_from_row(r, row, RT_HOUR, ip);
        if (e.message != NULL)
            cJSON_AddItemToArray(m, cJSON_CreateString(e.message));
        if (e.ip != NULL)
            cJSON_AddItemToArray(i, cJSON_CreateString(e.ip));
    }
    *messages = cJSON_PrintUnformatted(m);
    *ips = cJSON_PrintUnformatted(i);
    cJSON_Delete(m);
    cJSON_Delete(i);
}

typedef struct scored_row {
    int row;
    mlbatch_prediction_t p;
} scored_row_t;

static int by_score_desc(const void *a, const void *b)
{
    const scored_row_t *x = a, *y = b;
    if (x->p.anomaly.score != y->p.anomaly.score)
        return x->p.anomaly.score < y->p.anomaly.score ? 1 : -1;
    return x->row - y->row;
}

static void add_realtime_figures(cJSON *data, const PGresult *r, scored_row_t *scored, int rows)
{
    cJSON *dist = cJSON_AddObjectToObject(data, "severity_distribution");
    cJSON *types = cJSON_AddObjectToObject(data, "anomaly_types");
    cJSON *top = cJSON_AddArrayToObject(data, "top_anomalies");
    long anomalies = 0, per_severity[4] = {0};
    double sum = 0.0, max = 0.0;

    for (int i = 0; i < rows; i++) {
        const mlbatch_prediction_t *p = &scored[i].p;
        for (int s = 0; SEVERITIES[s] != NULL; s++)
            per_severity[s] += strcmp(p->severity, SEVERITIES[s]) == 0;
        if (p->anomaly.is_anomaly) {
            cJSON *n = cJSON_GetObjectItemCaseSensitive(types, p->anomaly.type);
            anomalies++;
            if (n == NULL)
                cJSON_AddNumberToObject(types, p->anomaly.type, 1);
            else
                cJSON_SetNumberValue(n, n->valuedouble + 1);
        }
        sum += p->anomaly.score;
        max = p->anomaly.score > max ? p->anomaly.score : max;
    }
    cJSON_AddNumberToObject(data, "anomalies", (double)anomalies);
    add_percent(data, "anomaly_rate", (double)anomalies, rows);
    if (rows > 0) {
        json_add_rounded(data, "avg_anomaly_score", sum / rows, 4);
        json_add_rounded(data, "max_anomaly_score", max, 4);
    } else {
        cJSON_AddNullToObject(data, "avg_anomaly_score");
        cJSON_AddNullToObject(data, "max_anomaly_score");
    }
    for (int s = 0; SEVERITIES[s] != NULL; s++)
        cJSON_AddNumberToObject(dist, SEVERITIES[s], (double)per_severity[s]);

    if (rows > 0)
        qsort(scored, (size_t)rows, sizeof *scored, by_score_desc);
    for (int i = 0; i < rows && i < REALTIME_TOP && scored[i].p.anomaly.is_anomaly; i++) {
        int row = scored[i].row;
        cJSON *a = cJSON_CreateObject();
        cJSON_AddStringToObject(a, "id", PQgetvalue(r, row, RT_ID));
        cJSON_AddStringToObject(a, "log_id", PQgetvalue(r, row, RT_LOG_ID));
        json_add_time(a, "timestamp", strtoll(PQgetvalue(r, row, RT_TS_MS), NULL, 10));
        cJSON_AddStringToObject(a, "level", PQgetvalue(r, row, RT_LEVEL));
        cJSON_AddStringToObject(a, "message", PQgetvalue(r, row, RT_MESSAGE));
        json_add_rounded(a, "anomaly_score", scored[i].p.anomaly.score, 4);
        cJSON_AddStringToObject(a, "anomaly_type", scored[i].p.anomaly.type);
        cJSON_AddStringToObject(a, "severity", scored[i].p.severity);
        cJSON_AddItemToArray(top, a);
    }
}

static int get_realtime(http_request_t *req, http_response_t *res)
{
    char minutes[8], limit[16], *messages = NULL, *ips = NULL;
    const char *values[] = {minutes, limit};
    request_db_t rdb = {req, res};
    mlbatch_db_t db = {request_exec, &rdb};
    mlbatch_context_t *ctx = NULL;
    scored_row_t *scored = NULL;
    cJSON *body, *data, *window;
    PGresult *r;
    int rows;

    snprintf(minutes, sizeof minutes, "%d", REALTIME_MINUTES);
    snprintf(limit, sizeof limit, "%d", REALTIME_MAX_ROWS);
    r = db_query(req, res, REALTIME_SQL, 2, values);
    if (r == NULL)
        return -1;
    rows = PQgetisnull(r, 0, RT_ID) ? 0 : PQntuples(r);
    if (rows > 0) {
        realtime_filters(r, rows, &messages, &ips);
        ctx = messages != NULL && ips != NULL
                  ? mlbatch_context_load(&db, PQgetvalue(r, 0, RT_TO_TEXT), messages, ips)
                  : NULL;
        scored = calloc((size_t)rows, sizeof *scored);
        cJSON_free(messages);
        cJSON_free(ips);
        if (ctx == NULL || scored == NULL) {
            free(scored);
            mlbatch_context_free(ctx);
            PQclear(r);
            return res->body != NULL
                       ? -1
                       : http_error(res, 500, "INTERNAL_ERROR", "Out of memory.", NULL);
        }
        for (int row = 0; row < rows; row++) {
            char ip[INET6_ADDRSTRLEN];
            mlbatch_entry_t e = mlbatch_entry_from_row(r, row, RT_HOUR, ip);
            scored[row].row = row;
            mlbatch_score(ctx, &e, &scored[row].p);
        }
    }
    body = http_ok(res);
    data = cJSON_AddObjectToObject(body, "data");
    window = cJSON_AddObjectToObject(data, "window");
    json_add_time(window, "from",
                  strtoll(PQgetvalue(r, 0, RT_TO_MS), NULL, 10) - REALTIME_MINUTES * 60000LL);
    json_add_time(window, "to", strtoll(PQgetvalue(r, 0, RT_TO_MS), NULL, 10));
    cJSON_AddNumberToObject(window, "minutes", REALTIME_MINUTES);
    cJSON_AddNumberToObject(data, "logs_in_window", atof(PQgetvalue(r, 0, RT_IN_WINDOW)));
    cJSON_AddNumberToObject(data, "logs_scored", rows);
    add_realtime_figures(data, r, scored, rows);
    cJSON_AddStringToObject(data, "model_version", MLBATCH_MODEL_VERSION);
    free(scored);
    mlbatch_context_free(ctx);
    PQclear(r);
    return 0;
}


/* ---- GET ?action=abtest -------------------------------------------------------------- */

static const char *const ABTEST_SQL =
    "WITH b AS (SELECT now() AS t_to),"
    " j AS (SELECT e.is_anomaly AS label, p.is_anomaly IS TRUE AS a,"
    "   coalesce(p.severity IN ('critical', 'high'), false) AS s"
    "  FROM log_entries e JOIN ml_predictions p ON p.log_entry_id = e.id, b"
    "  WHERE e.\"timestamp\" > b.t_to - interval '24 hours' AND e.\"timestamp\" <= b.t_to)"
    " SELECT json_build_object("
    "  'n', count(*), 'labelled', count(*) FILTER (WHERE label),"
    "  'agree', count(*) FILTER (WHERE a = s),"
    "  'a_tp', count(*) FILTER (WHERE a AND label), 'a_fp', count(*) FILTER (WHERE a AND NOT label),"
    "  'a_fn', count(*) FILTER (WHERE NOT a AND label),"
    "  'a_tn', count(*) FILTER (WHERE NOT a AND NOT label),"
    "  's_tp', count(*) FILTER (WHERE s AND label), 's_fp', count(*) FILTER (WHERE s AND NOT label),"
    "  's_fn', count(*) FILTER (WHERE NOT s AND label),"
    "  's_tn', count(*) FILTER (WHERE NOT s AND NOT label),"
    "  'to_ms', (SELECT floor(extract(epoch FROM t_to) * 1000) FROM b)) FROM j";

static void add_model_metrics(cJSON *models, const cJSON *f, const char *prefix,
                              const char *version, const char *role, const char *flag)
{
    char name[8];
    double tp, fp, fn, tn;
    cJSON *m = cJSON_CreateObject(), *confusion;

    snprintf(name, sizeof name, "%s_tp", prefix);
    tp = num(f, name);
    snprintf(name, sizeof name, "%s_fp", prefix);
    fp = num(f, name);
    snprintf(name, sizeof name, "%s_fn", prefix);
    fn = num(f, name);
    snprintf(name, sizeof name, "%s_tn", prefix);
    tn = num(f, name);
    cJSON_AddStringToObject(m, "model", version);
    cJSON_AddStringToObject(m, "role", role);
    cJSON_AddStringToObject(m, "flag", flag);
    cJSON_AddNumberToObject(m, "flagged", tp + fp);
    confusion = cJSON_AddObjectToObject(m, "confusion");
    cJSON_AddNumberToObject(confusion, "true_positives", tp);
    cJSON_AddNumberToObject(confusion, "false_positives", fp);
    cJSON_AddNumberToObject(confusion, "false_negatives", fn);
    cJSON_AddNumberToObject(confusion, "true_negatives", tn);
    add_ratio(m, "precision", tp, tp + fp);
    add_ratio(m, "recall", tp, tp + fn);
    add_ratio(m, "f1", 2 * tp, 2 * tp + fp + fn);
    add_ratio(m, "accuracy", tp + tn, tp + fp + fn + tn);
    cJSON_AddItemToArray(models, m);
}

static int get_abtest(http_request_t *req, http_response_t *res)
{
    cJSON *f = db_query_json(req, res, ABTEST_SQL, 0, NULL), *body, *data, *window, *models;
    int64_t to_ms;

    if (f == NULL)
        return -1;
    to_ms = (int64_t)num(f, "to_ms");
    body = http_ok(res);
    data = cJSON_AddObjectToObject(body, "data");
    window = cJSON_AddObjectToObject(data, "window");
    json_add_time(window, "from", to_ms - MLBATCH_WINDOW_HOURS * 3600000LL);
    json_add_time(window, "to", to_ms);
    cJSON_AddStringToObject(data, "label", "log_entries.is_anomaly");
    cJSON_AddNumberToObject(data, "evaluated", num(f, "n"));
    cJSON_AddNumberToObject(data, "labelled_anomalies", num(f, "labelled"));
    add_ratio(data, "agreement", num(f, "agree"), num(f, "n"));
    models = cJSON_AddArrayToObject(data, "models");
    add_model_metrics(models, f, "a", ANOMALY_MODEL_VERSION, "anomaly_detection",
                      "is_anomaly (anomaly score >= 0.7)");
    add_model_metrics(models, f, "s", SEVERITY_MODEL_VERSION, "classification",
                      "severity critical or high");
    cJSON_Delete(f);
    return 0;
}


static int unknown_action(http_response_t *res, const char *choices)
{
    char message[160];
    snprintf(message, sizeof message, "This route has no such action; use one of: %s.", choices);
    return http_error(res, 404, "UNKNOWN_ACTION", message, "action");
}

static int get_ml(http_request_t *req, http_response_t *res)
{
    static const char *const allowed[] = {"action", NULL};
    static const char *const actions[] = {"analyze", "status", "realtime", "abtest", NULL};
    static const route_handler_fn handlers[] = {get_analyze, get_status, get_realtime,
                                                get_abtest};
    const char *action;

    if (http_allow_params(req, res, allowed) != 0)
        return -1;
    action = http_param(req, "action");
    for (int i = 0; actions[i] != NULL; i++) {
        if (action == NULL || strcasecmp(action, actions[i]) == 0)
            return handlers[i](req, res);
    }
    return unknown_action(res, "analyze, status, realtime, abtest");
}


/* ---- POST ---------------------------------------------------------------------------- */

static const char *const STORED_SQL =
    "SELECT e.id, e.log_id, p.predicted_level, p.level_confidence, p.anomaly_score,"
    " p.is_anomaly, p.severity, floor(extract(epoch FROM p.predicted_at) * 1000)::bigint"
    " FROM log_entries e JOIN ml_predictions p ON p.log_entry_id = e.id"
    " WHERE e.id IN (SELECT jsonb_array_elements_text($1::jsonb)::int)"
    "  OR e.log_id IN (SELECT jsonb_array_elements_text($2::jsonb))";

enum stored_col {
    ST_ID,
    ST_LOG_ID,
    ST_LEVEL,
    ST_LEVEL_CONFIDENCE,
    ST_SCORE,
    ST_FLAG,
    ST_SEVERITY,
    ST_AT_MS,
};

/* The row of stored predictions for the item, or -1. */
static int stored_row(const PGresult *r, const mlbatch_item_t *it)
{
    for (int row = 0; r != NULL && row < PQntuples(r); row++) {
        if ((it->log_entry_id > 0 && atol(PQgetvalue(r, row, ST_ID)) == it->log_entry_id) ||
            (it->log_id != NULL && strcmp(PQgetvalue(r, row, ST_LOG_ID), it->log_id) == 0))
            return row;
    }
    return -1;
}

static cJSON *stored_result(const PGresult *r, int row, const mlbatch_item_t *it)
{
    cJSON *o = cJSON_CreateObject();

    cJSON_AddItemToObject(o, "log_id", cJSON_Duplicate(it->id, 1));
    cJSON_AddItemToObject(o, "classification", PQgetisnull(r, row, ST_LEVEL)
                                                   ? cJSON_CreateNull()
                                                   : cJSON_CreateString(PQgetvalue(r, row, ST_LEVEL)));
    json_add_rounded(o, "confidence", strtod(PQgetvalue(r, row, ST_LEVEL_CONFIDENCE), NULL), 4);
    json_add_rounded(o, "anomaly_score", strtod(PQgetvalue(r, row, ST_SCORE), NULL), 4);
    cJSON_AddBoolToObject(o, "is_anomaly", strcmp(PQgetvalue(r, row, ST_FLAG), "t") == 0);
    cJSON_AddNullToObject(o, "anomaly_type");
    cJSON_AddItemToObject(o, "severity", PQgetisnull(r, row, ST_SEVERITY)
                                             ? cJSON_CreateNull()
                                             : cJSON_CreateString(PQgetvalue(r, row, ST_SEVERITY)));
    json_add_time(o, "timestamp", strtoll(PQgetvalue(r, row, ST_AT_MS), NULL, 10));
    cJSON_AddStringToObject(o, "source", "ml_predictions_table");
    return o;
}

static cJSON *computed_result(const mlbatch_context_t *ctx, const mlbatch_item_t *it,
                              int64_t now_ms)
{
    cJSON *o = cJSON_CreateObject();
    mlbatch_prediction_t p;

    mlbatch_score(ctx, &it->entry, &p);
    cJSON_AddItemToObject(o, "log_id", it->id != NULL ? cJSON_Duplicate(it->id, 1) : cJSON_CreateNull());
    cJSON_AddStringToObject(o, "classification", p.severity);
    json_add_rounded(o, "confidence", p.level_confidence, 4);
    json_add_rounded(o, "anomaly_score", p.anomaly.score, 4);
    cJSON_AddBoolToObject(o, "is_anomaly", p.anomaly.is_anomaly);
    cJSON_AddStringToObject(o, "anomaly_type", p.anomaly.type);
    cJSON_AddStringToObject(o, "severity", p.severity);
    json_add_time(o, "timestamp", now_ms);
    cJSON_AddStringToObject(o, "source", "computed");
    return o;
}

/* Reads the stored predictions of the items that name a log. Returns 0 (*out NULL when no
 * item names one) or -1 with the error set. */
static int read_stored(http_request_t *req, http_response_t *res, const mlbatch_request_t *rq,
                       PGresult **out)
{
    cJSON *ids = cJSON_CreateArray(), *log_ids = cJSON_CreateArray();
    char *ids_text, *log_ids_text;
    const char *values[2];
    int named = 0;

    for (int i = 0; i < rq->nitems; i++) {
        char id[24];
        if (rq->items[i].log_entry_id > 0) {
            snprintf(id, sizeof id, "%ld", rq->items[i].log_entry_id);
            cJSON_AddItemToArray(ids, cJSON_CreateString(id));
            named++;
        } else if (rq->items[i].log_id != NULL) {
            cJSON_AddItemToArray(log_ids, cJSON_CreateString(rq->items[i].log_id));
            named++;
        }
    }
    ids_text = cJSON_PrintUnformatted(ids);
    log_ids_text = cJSON_PrintUnformatted(log_ids);
    cJSON_Delete(ids);
    cJSON_Delete(log_ids);
    values[0] = ids_text;
    values[1] = log_ids_text;
    *out = NULL;
    if (named > 0 && ids_text != NULL && log_ids_text != NULL)
        *out = db_query(req, res, STORED_SQL, 2, values);
    cJSON_free(ids_text);
    cJSON_free(log_ids_text);
    return named == 0 || *out != NULL ? 0 : -1;
}

/* The context for the items without a stored prediction, narrowed to their messages and
 * addresses. */
static mlbatch_context_t *items_context(http_request_t *req, http_response_t *res,
                                        const mlbatch_request_t *rq, const PGresult *stored)
{
    request_db_t rdb = {req, res};
    mlbatch_db_t db = {request_exec, &rdb};
    cJSON *messages = cJSON_CreateArray(), *ips = cJSON_CreateArray();
    char *m, *i;
    mlbatch_context_t *ctx = NULL;

    for (int k = 0; k < rq->nitems; k++) {
        const mlbatch_item_t *it = &rq->items[k];
        if (stored_row(stored, it) >= 0)
            continue;
        cJSON_AddItemToArray(messages, cJSON_CreateString(it->entry.message));
        if (it->entry.ip != NULL)
            cJSON_AddItemToArray(ips, cJSON_CreateString(it->entry.ip));
    }
    m = cJSON_PrintUnformatted(messages);
    i = cJSON_PrintUnformatted(ips);
    if (m != NULL && i != NULL)
        ctx = mlbatch_context_load(&db, NULL, m, i);
    cJSON_free(m);
    cJSON_free(i);
    cJSON_Delete(messages);
    cJSON_Delete(ips);
    return ctx;
}

static int post_analyze(http_request_t *req, http_response_t *res, const mlbatch_request_t *rq,
                        int64_t t0_us)
{
    PGresult *stored = NULL;
    mlbatch_context_t *ctx = NULL;
    cJSON *results, *body;
    bool need_context = false;
    int64_t now_ms = time_now_ms();

    if (read_stored(req, res, rq, &stored) != 0)
        return -1;
    for (int k = 0; k < rq->nitems; k++)
        need_context = need_context || stored_row(stored, &rq->items[k]) < 0;
    if (need_context) {
        ctx = items_context(req, res, rq, stored);
        if (ctx == NULL) {
            PQclear(stored);
            return res->body != NULL
                       ? -1
                       : http_error(res, 500, "INTERNAL_ERROR", "Out of memory.", NULL);
        }
    }
    results = cJSON_CreateArray();
    for (int k = 0; k < rq->nitems; k++) {
        int row = stored_row(stored, &rq->items[k]);
        cJSON_AddItemToArray(results, row >= 0 ? stored_result(stored, row, &rq->items[k])
                                               : computed_result(ctx, &rq->items[k], now_ms));
    }
    PQclear(stored);
    mlbatch_context_free(ctx);
    body = http_ok(res);
    cJSON_AddItemToObject(body, "results", results);
    cJSON_AddNumberToObject(body, "total_analyzed", rq->nitems);
    cJSON_AddStringToObject(body, "model_version", MLBATCH_MODEL_VERSION);
    json_add_rounded(body, "processing_time_ms", (double)(time_mono_us() - t0_us) / 1000.0, 3);
    return 0;
}

static int post_batch(http_request_t *req, http_response_t *res)
{
    request_db_t rdb = {req, res};
    mlbatch_db_t db = {request_exec, &rdb};
    mlbatch_counts_t counts;
    cJSON *body, *batch, *window;

    /* The runtime checked analyze_logs; the batch writes for everyone, so it also needs
     * manage_system (nothing to check with AUTH_REQUIRED=0). */
    if (cfg.auth_required && !token_has_permission(req->user.permissions, "manage_system"))
        return http_error(res, 403, "FORBIDDEN", "The batch action needs the manage_system permission.",
                          NULL);
    if (mlbatch_run(&db, "api", &counts) != 0)
        return res->body != NULL
                   ? -1
                   : http_error(res, 500, "INTERNAL_ERROR", "The batch could not run.", NULL);
    body = http_ok(res);
    batch = cJSON_AddObjectToObject(body, "batch");
    cJSON_AddNumberToObject(batch, "scored", (double)counts.scored);
    cJSON_AddNumberToObject(batch, "inserted", (double)counts.inserted);
    cJSON_AddNumberToObject(batch, "updated", (double)counts.updated);
    cJSON_AddNumberToObject(batch, "duration_ms", (double)counts.duration_ms);
    window = cJSON_AddObjectToObject(batch, "window");
    json_add_time(window, "from", counts.window_from_ms);
    json_add_time(window, "to", counts.window_to_ms);
    cJSON_AddStringToObject(batch, "model_version", MLBATCH_MODEL_VERSION);
    return 0;
}

static int post_ml(http_request_t *req, http_response_t *res)
{
    int64_t t0_us = time_mono_us();
    mlbatch_request_t *rq = malloc(sizeof *rq);
    const char *why;
    enum mlbatch_parse_status s;
    int rc;

    if (rq == NULL)
        return http_error(res, 500, "INTERNAL_ERROR", "Out of memory.", NULL);
    s = mlbatch_parse_request(req->body, req->body_len, rq, &why);
    if (s != MLBATCH_PARSE_OK) {
        rc = http_error(res, 400, s == MLBATCH_PARSE_SHAPE ? "INVALID_JSON" : "INVALID_PARAMETER",
                        why, rq->field[0] != '\0' ? rq->field : NULL);
        free(rq);
        return rc;
    }
    if (rq->action == MLBATCH_ACTION_ANALYZE)
        rc = post_analyze(req, res, rq, t0_us);
    else if (rq->action == MLBATCH_ACTION_BATCH)
        rc = post_batch(req, res);
    else
        rc = unknown_action(res, "analyze, batch");
    mlbatch_request_free(rq);
    free(rq);
    return rc;
}

static const route_t route = {
    .name = "ml",
    .get = get_ml,
    .post = post_ml,
    .get_permission = "read_logs",
    .post_permission = "analyze_logs",
    .body_limit = ML_BODY_LIMIT,
};

ROUTE_MAIN(route)
