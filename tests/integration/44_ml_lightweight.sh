#!/usr/bin/env bash
# 44_ml_lightweight.sh -- /api/ml_lightweight: status, stats and analyze against SQL, with an
# empty ml_predictions table and with the test's own rows; unknown actions, parameters, auth.
. "$(dirname "$0")/../lib.sh"

# The stats body's "statistics" for a window, straight from ml_predictions.
stats_sql() { # from to
  sql "WITH p AS (SELECT * FROM ml_predictions WHERE predicted_at >= '$1' AND predicted_at < '$2')
  SELECT json_build_object(
    'severity_distribution', (SELECT json_agg(json_build_object('severity', severity, 'count', n) ORDER BY n DESC, severity)
                                FROM (SELECT severity, count(*) AS n FROM p GROUP BY severity) d),
    'total_predictions', (SELECT count(*) FROM p),
    'anomaly_count', (SELECT count(*) FROM p WHERE is_anomaly),
    'high_severity_count', (SELECT count(*) FROM p WHERE is_anomaly AND severity IN ('high', 'critical')),
    'anomaly_rate', (SELECT round(count(*) FILTER (WHERE is_anomaly)::numeric / greatest(count(*), 1), 4) FROM p))"
}

restore() {
  sql "BEGIN; DELETE FROM ml_predictions; INSERT INTO ml_predictions SELECT * FROM t44_ml; DROP TABLE t44_ml; COMMIT" >/dev/null 2>&1
}
trap 'restore; rm -rf "$RESP_DIR"' EXIT
before=$(sql "SELECT count(*) FROM ml_predictions")
sql "CREATE TABLE t44_ml AS SELECT * FROM ml_predictions; DELETE FROM ml_predictions" >/dev/null

# Empty table: empty results, not errors.
get /api/ml_lightweight
check "status answers 200 on an empty table" [ "$STATUS" = 200 ]
check "status on an empty table: not_initialized" jq -e --argjson logs "$(sql 'SELECT count(*) FROM log_entries')" '.success == true
  and .ml_system == "not_initialized" and .latest_prediction == null and .total_predictions == 0
  and .predictions_available == false and .logs_available == $logs' "$BODY"
get "/api/ml_lightweight?action=stats"
check "stats on an empty table: zeros" jq -e '.statistics == {"severity_distribution": [], "total_predictions": 0, "anomaly_count": 0,
  "high_severity_count": 0, "anomaly_rate": 0} and .period == "last_24_hours"' "$BODY"
get "/api/ml_lightweight?action=analyze"
check "analyze on an empty table: no results" jq -e '.results == [] and .total == 0 and .source == "database"' "$BODY"

# The test's predictions: seven in the last day (three severities, anomalies and not, one
# without a severity) and two older ones, on logs of its choice.
sql "INSERT INTO ml_predictions (log_entry_id, predicted_level, level_confidence, is_anomaly,
       anomaly_score, anomaly_confidence, severity, model_version, predicted_at)
     SELECT e.id, e.level::text, 0.5 + v.k / 20.0, v.anomaly, v.k / 10.0, 0.7, v.severity, 'test-44', now() - v.age
       FROM (SELECT id, level, row_number() OVER (ORDER BY id) AS k FROM log_entries ORDER BY id LIMIT 9) e
       JOIN (VALUES (1, true, 'critical', interval '1 minute'), (2, true, 'high', interval '2 minutes'),
                    (3, false, 'high', interval '3 minutes'), (4, true, 'medium', interval '4 minutes'),
                    (5, false, 'low', interval '5 minutes'), (6, false, 'low', interval '6 minutes'),
                    (7, false, NULL, interval '7 minutes'), (8, true, 'critical', interval '2 days'),
                    (9, false, 'low', interval '3 days'))
            AS v(k, anomaly, severity, age) ON v.k = e.k" >/dev/null

get "/api/ml_lightweight?action=status"
exp=$(sql "SELECT json_build_object('total', count(*), 'latest', to_char(max(predicted_at) AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.MS\"Z\"'),
  'logs', (SELECT count(*) FROM log_entries)) FROM ml_predictions")
LAST_DETAIL="route $(cat "$BODY") sql $exp"
check "status: active with the table's count and latest prediction" jq -e --argjson e "$exp" '.ml_system == "active"
  and .total_predictions == $e.total and .latest_prediction == $e.latest and .logs_available == $e.logs and .predictions_available == true' "$BODY"

get "/api/ml_lightweight?action=stats"
from=$(jbody .window.from)
to=$(jbody .window.to)
exp=$(stats_sql "$from" "$to")
LAST_DETAIL="route $(jq -c .statistics "$BODY") sql $exp"
check "stats equal SQL over the window" jq -e --argjson e "$exp" '.statistics == $e' "$BODY"
check "stats count the test's rows (7 in the window, 3 anomalies, 2 high-severity)" jq -e '.statistics
  | .total_predictions == 7 and .anomaly_count == 3 and .high_severity_count == 2 and .anomaly_rate == 0.4286
  and .severity_distribution[0:2] == [{"severity": "high", "count": 2}, {"severity": "low", "count": 2}]' "$BODY"

get "/api/ml_lightweight?action=analyze"
exp=$(sql "SELECT json_agg(json_build_object('id', p.id, 'log_entry_id', p.log_entry_id, 'predicted_level', p.predicted_level,
    'level_confidence', p.level_confidence, 'is_anomaly', p.is_anomaly, 'anomaly_score', p.anomaly_score,
    'severity', p.severity, 'log_id', e.log_id, 'message', e.message) ORDER BY p.predicted_at DESC, p.id DESC)
  FROM (SELECT * FROM ml_predictions WHERE predicted_at >= '$(jbody .window.from)' AND predicted_at < '$(jbody .window.to)'
         ORDER BY predicted_at DESC, id DESC LIMIT 100) p JOIN log_entries e ON e.id = p.log_entry_id")
LAST_DETAIL="route $(jq -c '.results | map(del(.predicted_at))' "$BODY") sql $exp"
check "analyze returns the window's predictions with their logs" jq -e --argjson e "$exp" '(.results | map(del(.predicted_at))) == $e and .total == ($e | length)' "$BODY"
check "analyze timestamps are RFC 3339 UTC" jq -e '.results | all(.predicted_at | test("^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}\\.[0-9]{3}Z$"))' "$BODY"

# The counts are kept by rollups: updates (also moving rows between minutes and in or out of
# the window), an upsert and deletes must leave stats equal to the table.
sql "UPDATE ml_predictions SET severity = 'critical', is_anomaly = true, predicted_at = predicted_at - interval '5 minutes'
      WHERE model_version = 'test-44' AND severity = 'low' AND predicted_at > now() - interval '1 day';
     UPDATE ml_predictions SET predicted_at = now() - interval '30 minutes' WHERE model_version = 'test-44' AND predicted_at < now() - interval '2 days';
     DELETE FROM ml_predictions WHERE model_version = 'test-44' AND severity IS NULL;
     INSERT INTO ml_predictions (log_entry_id, is_anomaly, severity, model_version, predicted_at)
     SELECT log_entry_id, false, 'medium', 'test-44', now() - interval '90 seconds' FROM ml_predictions
      WHERE model_version = 'test-44' AND severity = 'high' AND NOT is_anomaly
     ON CONFLICT (log_entry_id) DO UPDATE SET severity = EXCLUDED.severity, is_anomaly = EXCLUDED.is_anomaly,
       predicted_at = EXCLUDED.predicted_at" >/dev/null
get "/api/ml_lightweight?action=stats"
from=$(jbody .window.from)
to=$(jbody .window.to)
exp=$(stats_sql "$from" "$to")
LAST_DETAIL="route $(jq -c .statistics "$BODY") sql $exp"
check "after updates, an upsert and deletes, stats still equal SQL" jq -e --argjson e "$exp" '.statistics == $e and .statistics.total_predictions == 8' "$BODY"
get /api/ml_lightweight
check "after updates, an upsert and deletes, total_predictions equals the table" [ "$(jbody .total_predictions)" = "$(sql 'SELECT count(*) FROM ml_predictions')" ]

# 150 predictions in the window: analyze stops at 100.
sql "INSERT INTO ml_predictions (log_entry_id, is_anomaly, severity, model_version, predicted_at)
     SELECT id, false, 'low', 'test-44', now() - interval '1 hour' FROM log_entries
      WHERE NOT EXISTS (SELECT 1 FROM ml_predictions p WHERE p.log_entry_id = log_entries.id) ORDER BY id LIMIT 150" >/dev/null
get "/api/ml_lightweight?action=ANALYZE"
check "action is case-insensitive; analyze returns at most 100" jq -e '(.results | length) == 100 and .total == 100' "$BODY"

restore
trap 'rm -rf "$RESP_DIR"' EXIT
check "predictions restored" [ "$(sql "SELECT count(*) FROM ml_predictions")" = "$before" ]

get "/api/ml_lightweight?action=predict"
check "unknown action gives 404 UNKNOWN_ACTION" jq -e '.success == false and .error == "UNKNOWN_ACTION" and .parameter == "action"' "$BODY"
check "unknown action status 404" [ "$STATUS" = 404 ]
get "/api/ml_lightweight?action=stats&limit=5"
check "unknown parameter gives 400 naming it" jq -e '.error == "INVALID_PARAMETER" and .parameter == "limit"' "$BODY"
http GET /api/ml_lightweight -H "Authorization: Bearer $(token reader read_logs)"
check "a read_logs token gives 200" [ "$STATUS" = 200 ]
http GET /api/ml_lightweight -H "Authorization: Bearer $(token viewer)"
check "viewer without read_logs gives 403" [ "$STATUS" = 403 ]
http GET /api/ml_lightweight
check "no token gives 401" [ "$STATUS" = 401 ]
