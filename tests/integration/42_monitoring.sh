#!/usr/bin/env bash
# 42_monitoring.sh -- /api/monitoring: incidents, percentiles, resources, throughput, level
# distribution and ML alerts against SQL over the reported window; connections against
# pg_stat_activity, the server setting and the running workers; DB_MAX_SIZE_MB from config.
. "$(dirname "$0")/../lib.sh"

# Two high-severity anomalies (the latest predictions), a medium one and an old one, on logs
# without a prediction.
sql "INSERT INTO ml_predictions (log_entry_id, predicted_level, level_confidence, is_anomaly,
       anomaly_score, anomaly_confidence, severity, model_version, predicted_at)
     SELECT e.id, e.level::text, 0.9, true, 0.9, 0.8, v.severity, 'test-42', now() - v.age
       FROM (SELECT id, level, row_number() OVER (ORDER BY id DESC) AS k FROM log_entries
              WHERE NOT EXISTS (SELECT 1 FROM ml_predictions p WHERE p.log_entry_id = log_entries.id) ORDER BY id DESC LIMIT 4) e
       JOIN (VALUES (1, 'critical', interval '1 second'), (2, 'high', interval '2 seconds'),
                    (3, 'medium', interval '3 seconds'), (4, 'critical', interval '25 hours'))
            AS v(k, severity, age) ON v.k = e.k" >/dev/null
trap 'sql "DELETE FROM ml_predictions WHERE model_version = '"'test-42'"'" >/dev/null; rm -rf "$RESP_DIR"' EXIT

get /api/monitoring
check "monitoring answers 200" [ "$STATUS" = 200 ]
check "monitoring has the API.md shape" jq -e '.success == true and (.data | has("incidents") and has("percentiles")
  and has("resources") and has("ml_alerts") and has("connections"))
  and (.data.resources | keys == ["database","level_distribution","ml_predictions","throughput"])
  and (.data.percentiles | keys == ["avg","max","min","p50","p95","p99","total_requests"])' "$BODY"
from=$(jbody .window.from)
to=$(jbody .window.to)
check "window is the 24 h ending at the response" [ "$(sql "SELECT '$to'::timestamptz - '$from'::timestamptz = interval '24 hours'
  AND abs(extract(epoch FROM '$(jbody .timestamp)'::timestamptz - '$to'::timestamptz)) < 5")" = t ]
W="timestamp >= '$from' AND timestamp < '$to'"

incidents=$(sql "SELECT coalesce(json_agg(log_id ORDER BY timestamp DESC, id DESC), '[]') FROM (SELECT * FROM log_entries
  WHERE level IN ('ERROR', 'FATAL') AND $W ORDER BY timestamp DESC, id DESC LIMIT 50) x")
LAST_DETAIL="route $(jq -c '[.data.incidents[].log_id]' "$BODY") sql $incidents"
check "incidents are the latest 50 ERROR/FATAL logs" jq -e --argjson i "$incidents" '[.data.incidents[].log_id] == $i and ($i | length) > 0' "$BODY"
first=$(sql "SELECT json_build_object('log_id', log_id, 'level', level, 'message', message, 'source_type', source_type,
  'host', host, 'service', service, 'response_time_ms', response_time_ms, 'http_status', http_status)
  FROM log_entries WHERE log_id = '$(jbody '.data.incidents[0].log_id')'")
check "an incident carries its log's fields" jq -e --argjson f "$first" '.data.incidents[0] | del(.timestamp) == $f' "$BODY"

pct=$(sql "SELECT json_build_object('p50', round(p[1]::numeric, 2), 'p95', round(p[2]::numeric, 2), 'p99', round(p[3]::numeric, 2),
  'min', mn, 'max', mx, 'avg', round(a, 2), 'total_requests', n)
  FROM (SELECT percentile_cont(ARRAY[0.5, 0.95, 0.99]) WITHIN GROUP (ORDER BY response_time_ms) AS p,
               min(response_time_ms) AS mn, max(response_time_ms) AS mx, avg(response_time_ms) AS a,
               count(response_time_ms) AS n FROM log_entries WHERE $W) x")
LAST_DETAIL="route $(jq -c .data.percentiles "$BODY") sql $pct"
check "percentiles equal SQL" jq -e --argjson p "$pct" '.data.percentiles == $p' "$BODY"
check "percentiles are ordered" jq -e '.data.percentiles | .min <= .p50 and .p50 <= .p95 and .p95 <= .p99 and .p99 <= .max' "$BODY"

res=$(sql "WITH d AS (SELECT count(*) FILTER (WHERE $W) AS day,
                        count(*) FILTER (WHERE timestamp >= '$from'::timestamptz - interval '24 hours' AND timestamp < '$from') AS prev,
                        count(*) AS total FROM log_entries)
  SELECT json_build_object('total_logs', total, 'logs_per_day', day,
    'growth_rate', CASE WHEN prev > 0 THEN round((day - prev) * 100.0 / prev, 2) END,
    'per_hour', round(day / 24.0, 2), 'per_minute', round(day / 1440.0, 2), 'per_second', round(day / 86400.0, 4),
    'size_mb', pg_database_size(current_database()) / 1048576.0) FROM d")
LAST_DETAIL="route $(jq -c .data.resources "$BODY") sql $res"
check "total_logs, logs_per_day and growth_rate equal SQL" jq -e --argjson r "$res" '.data.resources.database
  | .total_logs == $r.total_logs and .logs_per_day == $r.logs_per_day and .growth_rate == $r.growth_rate' "$BODY"
check "throughput equals SQL" jq -e --argjson r "$res" '.data.resources.throughput == {"logs_per_day": $r.logs_per_day,
  "logs_per_hour": $r.per_hour, "logs_per_minute": $r.per_minute, "logs_per_second": $r.per_second}' "$BODY"
check "database size is the server's (within 1 MB) with usage against max_size_mb" jq -e --argjson r "$res" '.data.resources.database
  | ((.size_mb - $r.size_mb) | fabs) < 1 and (.size_formatted | length > 0) and (.max_size_formatted | length > 0)
  and ((.usage_percent - .size_mb * 100 / .max_size_mb) | fabs) < 0.01' "$BODY"
check "max_size_mb is the configured size" jq -e --argjson m "${DB_MAX_SIZE_MB:-1024}" '.data.resources.database.max_size_mb == $m' "$BODY"

levels=$(sql "SELECT json_object_agg(l, coalesce(n, 0)) FROM unnest(enum_range(NULL::log_level)) l
  LEFT JOIN (SELECT level, count(*) AS n FROM log_entries WHERE $W GROUP BY level) c ON c.level = l")
LAST_DETAIL="route $(jq -c .data.resources.level_distribution "$BODY") sql $levels"
check "level_distribution equals SQL for all five levels" jq -e --argjson l "$levels" '.data.resources.level_distribution == $l' "$BODY"

ml=$(sql "SELECT count(*) FROM ml_predictions WHERE predicted_at >= '$from' AND predicted_at < '$to'")
check "ml_predictions count_24h equals SQL and is active" jq -e --argjson n "$ml" '.data.resources.ml_predictions == {"count_24h": $n, "status": "active"}' "$BODY"
alerts=$(sql "SELECT json_agg(json_build_object('id', p.id, 'log_id', e.log_id, 'message', e.message, 'severity', p.severity)
  ORDER BY p.predicted_at DESC, p.id DESC) FROM (SELECT * FROM ml_predictions WHERE is_anomaly AND severity IN ('high', 'critical')
  AND predicted_at >= '$from' AND predicted_at < '$to' ORDER BY predicted_at DESC, id DESC LIMIT 25) p
  JOIN log_entries e ON e.id = p.log_entry_id")
LAST_DETAIL="route $(jq -c '[.data.ml_alerts[] | {id, log_id, message, severity}]' "$BODY") sql $alerts"
check "ml_alerts are the latest high-severity anomalies with their logs" jq -e --argjson a "$alerts" '[.data.ml_alerts[] | {id, log_id, message, severity}] == $a' "$BODY"
check "ml_alerts include the test's critical and high, not its medium or old ones" jq -e '[.data.ml_alerts[] | select(.model_version == "test-42") | .severity] == ["critical", "high"]' "$BODY"

# Connections: the server's count of this application's sessions (client backends: parallel
# workers carry their leader's application_name), taken just before and after the request;
# when those agree (nothing opened or closed meanwhile) the route must agree.
sessions() { sql "SELECT count(*) FROM pg_stat_activity WHERE application_name LIKE 'elog:%' AND backend_type = 'client backend'"; }
same=0
for _ in 1 2 3 4 5; do
  b=$(sessions)
  get /api/monitoring
  a=$(sessions)
  [ "$a" = "$b" ] && { same=1; break; }
done
LAST_DETAIL="route $(jq -c '.data.connections | del(.routes)' "$BODY") pg_stat_activity before $b after $a"
check "server_side equals pg_stat_activity" [ "$same" = 1 -a "$(jbody .data.connections.server_side)" = "$a" ]
check "max_connections is the server setting" [ "$(jbody .data.connections.max_connections)" = "$(sql 'SHOW max_connections')" ]
budget=$(ELOG_RUN_DIR="$RUN_DIR" as_app "$BUILD/tools/elogctl" budget-status | awk 'NR == 1 {print $2}')
check "budget is the host budget" [ "$(jbody .data.connections.budget)" = "$budget" ]
check "open connections stay within the budget" jq -e '.data.connections | .open_host_wide >= 1 and .open_host_wide <= .budget and .server_side <= .budget' "$BODY"
ok=1
for r in $ROUTES; do
  n=$(worker_pids "$r" | wc -w)
  jq -e --arg r "$r" --argjson n "$n" '.data.connections.routes[$r].workers == $n' "$BODY" >/dev/null || { ok=0; LAST_DETAIL="route $r: $n workers running, reported $(jq -c --arg r "$r" '.data.connections.routes[$r] | del(.pool)' "$BODY")"; }
done
check "every route is reported with its running workers" [ "$ok" = 1 ]
check "per-route figures count requests and pools" jq -e '.data.connections.routes.monitoring | .requests >= 1 and .pool.acquires >= 1 and has("error_rate_5xx") and has("mean_latency_ms")' "$BODY"
check "workers total the routes" jq -e '.data.connections | .workers == ([.routes[].workers] | add)' "$BODY"

# No predictions in the window: inactive and no alerts.
sql "UPDATE ml_predictions SET predicted_at = predicted_at - interval '10 days' WHERE model_version = 'test-42'" >/dev/null
sql "CREATE TABLE t42_ml AS SELECT * FROM ml_predictions WHERE predicted_at >= now() - interval '25 hours';
     DELETE FROM ml_predictions WHERE id IN (SELECT id FROM t42_ml)" >/dev/null
get /api/monitoring
check "without recent predictions ml status is inactive with no alerts" jq -e '.data.resources.ml_predictions == {"count_24h": 0, "status": "inactive"} and .data.ml_alerts == []' "$BODY"
sql "INSERT INTO ml_predictions SELECT * FROM t42_ml; DROP TABLE t42_ml" >/dev/null

# Permissions and parameters.
http GET /api/monitoring -H "Authorization: Bearer $(token viewer)"
check "viewer (view_dashboard) gives 200" [ "$STATUS" = 200 ]
http GET /api/monitoring -H "Authorization: Bearer $(token reader read_logs)"
check "a read_logs-only token gives 403" [ "$STATUS" = 403 ]
get "/api/monitoring?verbose=1"
check "unknown parameter gives 400 naming it" jq -e '.error == "INVALID_PARAMETER" and .parameter == "verbose"' "$BODY"

# max_size_mb follows DB_MAX_SIZE_MB.
restack DB_MAX_SIZE_MB=2048
get /api/monitoring
check "DB_MAX_SIZE_MB=2048 is reported" jq -e '.data.resources.database | .max_size_mb == 2048 and .max_size_formatted == "2048 MB"' "$BODY"
restack_default
