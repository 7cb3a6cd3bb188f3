#!/usr/bin/env bash
# 40_metrics.sh -- /api/metrics: every figure against SQL over the window the route reports,
# with and without ML predictions, on empty tables, and its auth and parameter errors.
. "$(dirname "$0")/../lib.sh"

# The expected body for a window, computed straight from log_entries and ml_predictions
# (not through the rollups the route reads), with API.md's formula and rounding.
expected() { # from to
  sql "WITH w AS (SELECT '$1'::timestamptz AS t0, '$2'::timestamptz AS t1),
        l AS (SELECT count(*) AS total, count(*) FILTER (WHERE level = 'FATAL') AS fatal,
                     count(*) FILTER (WHERE level = 'ERROR') AS error,
                     coalesce(avg(response_time_ms), 0) AS avg_rt
                FROM w, log_entries e WHERE e.timestamp >= w.t0 AND e.timestamp < w.t1),
        m AS (SELECT count(*) AS n,
                     count(*) FILTER (WHERE is_anomaly AND severity IN ('high', 'critical')) AS high
                FROM w, ml_predictions p WHERE p.predicted_at >= w.t0 AND p.predicted_at < w.t1),
        r AS (SELECT l.*, m.*, 100.0 * fatal / greatest(total, 1) AS fr,
                     100.0 * error / greatest(total, 1) AS er, 100.0 * high / greatest(n, 1) AS hr
                FROM l, m)
       SELECT json_build_object(
         'metrics', json_build_object('total_logs', total, 'avg_response_time_ms', round(avg_rt, 2),
           'fatal_rate', round(fr, 2), 'error_rate', round(er, 2), 'high_anomaly_rate', round(hr, 2),
           'high_anomaly_count', high,
           'system_health', round(least(99.9, greatest(85, 99 - 3 * fr - 0.5 * er - 0.3 * hr)), 1)),
         'calculation', json_build_object('base', 99, 'fatal_impact', round(3 * fr, 2),
           'error_impact', round(0.5 * er, 2), 'anomaly_impact', round(0.3 * hr, 2)))
       FROM r"
}

# Compares the last response with the SQL figures over its own window.
check_against_sql() { # label
  local from to exp
  from=$(jbody .window.from)
  to=$(jbody .window.to)
  exp=$(expected "$from" "$to")
  LAST_DETAIL="route $(jq -c '{metrics, calculation}' "$BODY") sql $exp"
  check "$1: metrics and calculation equal SQL over the window" \
    jq -e --argjson e "$exp" '.metrics == $e.metrics and .calculation == $e.calculation' "$BODY"
}

get /api/metrics
check "metrics answers 200" [ "$STATUS" = 200 ]
check "metrics has the API.md shape" jq -e '.success == true and .period == "last_24_hours"
  and (.metrics | keys == ["avg_response_time_ms","error_rate","fatal_rate","high_anomaly_count","high_anomaly_rate","system_health","total_logs"])
  and (.calculation | keys == ["anomaly_impact","base","error_impact","fatal_impact"])
  and (.timestamp | test("Z$"))' "$BODY"
LAST_DETAIL="window $(jq -c .window "$BODY")"
check "window is the 24 h ending at the response" [ "$(sql "SELECT '$(jbody .window.to)'::timestamptz - '$(jbody .window.from)'::timestamptz = interval '24 hours'
  AND abs(extract(epoch FROM '$(jbody .timestamp)'::timestamptz - '$(jbody .window.to)'::timestamptz)) < 5")" = t ]
check "window holds logs (the test data is not empty)" jq -e '.metrics.total_logs > 0 and .metrics.system_health >= 85 and .metrics.system_health <= 99.9' "$BODY"
check_against_sql "seeded data"

# Predictions of the test's own, inside and outside the window: high, critical and medium
# anomalies, a high non-anomaly, and a critical anomaly 30 h old.
sql "INSERT INTO ml_predictions (log_entry_id, predicted_level, level_confidence, is_anomaly,
       anomaly_score, anomaly_confidence, severity, model_version, predicted_at)
     SELECT e.id, e.level::text, 0.9, v.anomaly, 0.9, 0.8, v.severity, 'test-40', now() - v.age
       FROM (SELECT id, level, row_number() OVER (ORDER BY id) AS k FROM log_entries
              WHERE NOT EXISTS (SELECT 1 FROM ml_predictions p WHERE p.log_entry_id = log_entries.id) ORDER BY id LIMIT 6) e
       JOIN (VALUES (1, true, 'high', interval '1 hour'), (2, true, 'critical', interval '2 hours'),
                    (3, true, 'critical', interval '3 hours'), (4, true, 'medium', interval '1 hour'),
                    (5, false, 'high', interval '1 hour'), (6, true, 'critical', interval '30 hours'))
            AS v(k, anomaly, severity, age) ON v.k = e.k" >/dev/null
get /api/metrics
check "predictions in the window are counted" jq -e '.metrics.high_anomaly_count >= 3 and .metrics.high_anomaly_rate > 0 and .calculation.anomaly_impact > 0' "$BODY"
check_against_sql "with predictions"
sql "DELETE FROM ml_predictions WHERE model_version = 'test-40'" >/dev/null

# Empty tables: zeros and the formula's value, not an error. The tables are put back on exit.
restore() {
  sql "BEGIN; INSERT INTO log_entries SELECT * FROM t40_logs; INSERT INTO ml_predictions SELECT * FROM t40_ml;
       DROP TABLE t40_logs, t40_ml; COMMIT" >/dev/null 2>&1
}
trap 'restore; rm -rf "$RESP_DIR"' EXIT
before=$(sql "SELECT count(*) FROM log_entries")
sql "BEGIN; CREATE TABLE t40_logs AS SELECT * FROM log_entries; CREATE TABLE t40_ml AS SELECT * FROM ml_predictions;
     SET LOCAL client_min_messages = warning; TRUNCATE log_entries CASCADE; COMMIT" >/dev/null
get /api/metrics
check "empty tables answer 200" [ "$STATUS" = 200 ]
check "empty tables give zeros and health 99" jq -e '.metrics == {"total_logs":0,"avg_response_time_ms":0,"fatal_rate":0,"error_rate":0,"high_anomaly_rate":0,"high_anomaly_count":0,"system_health":99}' "$BODY"
check_against_sql "empty tables"
restore
trap 'rm -rf "$RESP_DIR"' EXIT
LAST_DETAIL="before $before"
check "tables restored" [ "$(sql "SELECT count(*) FROM log_entries")" = "$before" ]

# Permissions: read_logs is needed; the viewer (view_dashboard only) is refused.
http GET /api/metrics
check "no token gives 401 with WWW-Authenticate" [ "$STATUS" = 401 -a -n "$(header WWW-Authenticate)" ]
http GET /api/metrics -H "Authorization: Bearer $(token viewer)"
check "viewer without read_logs gives 403" [ "$STATUS" = 403 ]
check "403 body names FORBIDDEN" jq -e '.success == false and .error == "FORBIDDEN"' "$BODY"
http GET /api/metrics -H "Authorization: Bearer $(token reader read_logs)"
check "a read_logs token gives 200" [ "$STATUS" = 200 ]

get "/api/metrics?hours=48"
check "unknown parameter gives 400 naming it" jq -e '.error == "INVALID_PARAMETER" and .parameter == "hours"' "$BODY"
check "unknown parameter status 400" [ "$STATUS" = 400 ]
http POST /api/metrics -H "Authorization: Bearer $(token admin)" -H 'Content-Type: application/json' -d '{}'
check "POST gives 405" [ "$STATUS" = 405 ]
