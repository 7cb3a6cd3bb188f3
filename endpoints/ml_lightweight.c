/* ml_lightweight.c -- GET /api/ml_lightweight: read-only views of the stored ml_predictions. */
#include <strings.h>

#include "db.h"
#include "worker.h"

/* action=status: "active" once any prediction is stored, else "not_initialized".
 * Counts are exact and all-time (log_tally, ml_counts); logs_available is the number of
 * stored logs; predictions_available says whether any prediction is stored. */
static const char status_sql[] =
    "WITH p AS (SELECT c.n AS total, (SELECT max(predicted_at) FROM ml_predictions) AS latest"
    "             FROM ml_counts('-infinity', 'infinity') c),"
    " l AS (SELECT coalesce(sum(c.n), 0) AS logs"
    "         FROM log_tally('-infinity', 'infinity') c)"
    " SELECT json_build_object("
    "   'success', true,"
    "   'ml_system', CASE WHEN p.total > 0 THEN 'active' ELSE 'not_initialized' END,"
    "   'latest_prediction', utc_rfc3339(p.latest),"
    "   'total_predictions', p.total,"
    "   'logs_available', l.logs,"
    "   'predictions_available', p.total > 0)"
    " FROM p, l";

/* action=stats, over predictions made in [now - 24 h, now), from ml_counts (exact,
 * rollup-backed; a prediction without a severity is listed as null). high_severity_count is
 * is_anomaly AND severity IN ('high', 'critical') (as /api/metrics counts high-severity
 * anomalies); anomaly_rate is anomaly_count / total_predictions as a fraction (0 when none),
 * 4 dp. The distribution lists every severity present, the most frequent first. */
static const char stats_sql[] =
    "WITH w AS (SELECT now() - interval '24 hours' AS t0, now() AS t1),"
    " c AS (SELECT c.* FROM w, ml_counts(w.t0, w.t1) c),"
    " d AS (SELECT s.severity, s.n FROM c,"
    "         LATERAL (VALUES ('critical', c.critical), ('high', c.high), ('medium', c.medium),"
    "                         ('low', c.low), (NULL, c.unrated)) s(severity, n)"
    "        WHERE s.n > 0),"
    " t AS (SELECT c.n AS total, c.anomalies, c.high_anomalies AS high FROM c)"
    " SELECT json_build_object("
    "   'success', true,"
    "   'statistics', json_build_object("
    "     'severity_distribution', coalesce((SELECT json_agg(json_build_object("
    "         'severity', d.severity, 'count', d.n) ORDER BY d.n DESC, d.severity) FROM d),"
    "       '[]'::json),"
    "     'total_predictions', t.total,"
    "     'anomaly_count', t.anomalies,"
    "     'high_severity_count', t.high,"
    "     'anomaly_rate', round(t.anomalies::numeric / greatest(t.total, 1), 4)),"
    "   'period', 'last_24_hours',"
    "   'window', json_build_object('from', utc_rfc3339_us(w.t0), 'to', utc_rfc3339_us(w.t1)))"
    " FROM t, w";

/* action=analyze: the latest 100 predictions of [now - 24 h, now) with their log; "total" is
 * how many were returned (as the original reported it). */
static const char analyze_sql[] =
    "WITH w AS (SELECT now() - interval '24 hours' AS t0, now() AS t1),"
    " r AS (SELECT p.id, p.log_entry_id, p.predicted_level, p.level_confidence, p.is_anomaly,"
    "              p.anomaly_score, p.severity, p.predicted_at, e.log_id, e.message"
    "         FROM w, ml_predictions p JOIN log_entries e ON e.id = p.log_entry_id"
    "        WHERE p.predicted_at >= w.t0 AND p.predicted_at < w.t1"
    "        ORDER BY p.predicted_at DESC, p.id DESC"
    "        LIMIT 100)"
    " SELECT json_build_object("
    "   'success', true,"
    "   'results', coalesce((SELECT json_agg(json_build_object("
    "       'id', r.id, 'log_entry_id', r.log_entry_id, 'predicted_level', r.predicted_level,"
    "       'level_confidence', r.level_confidence, 'is_anomaly', r.is_anomaly,"
    "       'anomaly_score', r.anomaly_score, 'severity', r.severity,"
    "       'predicted_at', utc_rfc3339(r.predicted_at), 'log_id', r.log_id,"
    "       'message', r.message) ORDER BY r.predicted_at DESC, r.id DESC) FROM r), '[]'::json),"
    "   'total', (SELECT count(*) FROM r),"
    "   'source', 'database',"
    "   'window', json_build_object('from', utc_rfc3339_us(w.t0), 'to', utc_rfc3339_us(w.t1)))"
    " FROM w";

static const struct action {
    const char *name;
    const char *sql;
} actions[] = {
    {"status", status_sql},
    {"stats", stats_sql},
    {"analyze", analyze_sql},
};

static int get_ml_lightweight(http_request_t *req, http_response_t *res)
{
    static const char *const allowed[] = {"action", NULL};
    const char *name;
    const struct action *action = &actions[0];
    cJSON *body;

    if (http_allow_params(req, res, allowed) != 0)
        return -1;
    name = http_param(req, "action");
    if (name != NULL) {
        action = NULL;
        for (size_t i = 0; i < sizeof actions / sizeof actions[0]; i++) {
            if (strcasecmp(name, actions[i].name) == 0)
                action = &actions[i];
        }
        if (action == NULL)
            return http_error(res, 404, "UNKNOWN_ACTION",
                              "action must be one of: status, stats, analyze.", "action");
    }
    body = db_query_json(req, res, action->sql, 0, NULL);
    if (body == NULL)
        return -1;
    /* The statement built the whole body, "success" included. */
    return http_respond(res, 200, body);
}

static const route_t route = {
    .name = "ml_lightweight",
    .get = get_ml_lightweight,
    .get_permission = "read_logs",
};

ROUTE_MAIN(route)
