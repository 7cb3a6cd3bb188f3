#!/usr/bin/env bash
# 41_dashboard.sh -- /api/dashboard_analytics: the six UTC 4-hour buckets (labels, counts,
# averages), level distribution, error types by the documented keyword rules and the status
# cards, each against SQL or the host; then auth and parameter errors.
. "$(dirname "$0")/../lib.sh"

get /api/dashboard_analytics
check "dashboard answers 200" [ "$STATUS" = 200 ]
check "dashboard has the charts, cards and dataSource" jq -e '.success == true and .dataSource == "database"
  and ([.logVolume, .logDistribution, .responseTime, .errorTypes] | all(has("labels") and has("datasets")))
  and (.systemMetrics | keys == ["activeAlerts","cpuUsage","diskUsage","logsProcessed","memoryUsage","responseTime","systemHealth","uptime","uptimeSince"])' "$BODY"
from=$(jbody .window.from)
to=$(jbody .window.to)

# Buckets: UTC 4-hour boundaries, the last one holding the response time. The expected labels
# are worked out here from the hour of window.to, not by the route's formula.
hour=$(date -u -d "$to" +%-H)
last=$((hour - hour % 4))
labels=$(for k in 5 4 3 2 1 0; do printf '"%02d:00"\n' $(((last - 4 * k + 24) % 24)); done | jq -sc .)
LAST_DETAIL="labels $(jq -c .logVolume.labels "$BODY") expected $labels (to $to)"
check "logVolume labels are the six UTC 4-hour bucket starts" jq -e --argjson l "$labels" '.logVolume.labels == $l and .responseTime.labels == $l' "$BODY"
LAST_DETAIL="from $from to $to"
check "window starts 20 h before the current bucket and ends at the response" [ "$(sql "SELECT
  '$from'::timestamptz = date_trunc('hour', '$to'::timestamptz AT TIME ZONE 'UTC') AT TIME ZONE 'UTC'
                         - make_interval(hours => $hour % 4 + 20)
  AND abs(extract(epoch FROM '$(jbody .timestamp)'::timestamptz - '$to'::timestamptz)) < 5")" = t ]

# The charts against SQL over the response's window, straight from log_entries.
chart_checks() { # label
  local from to buckets levels types
  from=$(jbody .window.from)
  to=$(jbody .window.to)
  buckets=$(sql "SELECT json_build_object('counts', json_agg(n ORDER BY k), 'avg', json_agg(a ORDER BY k))
    FROM (SELECT k, count(e.id) AS n, round(avg(e.response_time_ms), 2) AS a
            FROM generate_series(0, 5) k
            LEFT JOIN log_entries e ON e.timestamp >= '$from'::timestamptz + k * interval '4 hours'
                                   AND e.timestamp < least('$from'::timestamptz + (k + 1) * interval '4 hours', '$to'::timestamptz)
           GROUP BY k) b")
  LAST_DETAIL="route $(jq -c '[.logVolume.datasets[0].data, .responseTime.datasets[0].data]' "$BODY") sql $buckets"
  check "$1: logVolume counts equal SQL per bucket" jq -e --argjson b "$buckets" '.logVolume.datasets[0].data == $b.counts' "$BODY"
  check "$1: responseTime averages equal SQL per bucket (null where empty)" jq -e --argjson b "$buckets" '.responseTime.datasets[0].data == $b.avg' "$BODY"
  check "$1: the buckets hold the test data" jq -e '(.logVolume.datasets[0].data | add) > 0' "$BODY"

  levels=$(sql "SELECT json_agg(coalesce(n, 0) ORDER BY o) FROM unnest(ARRAY['INFO','WARN','ERROR','DEBUG','FATAL']) WITH ORDINALITY l(level, o)
    LEFT JOIN (SELECT level::text AS level, count(*) AS n FROM log_entries
                WHERE timestamp >= '$from' AND timestamp < '$to' GROUP BY 1) c USING (level)")
  LAST_DETAIL="route $(jq -c .logDistribution "$BODY") sql $levels"
  check "$1: logDistribution labels in order INFO WARN ERROR DEBUG FATAL" jq -e '.logDistribution.labels == ["INFO","WARN","ERROR","DEBUG","FATAL"]' "$BODY"
  check "$1: logDistribution counts equal SQL" jq -e --argjson l "$levels" '.logDistribution.datasets[0].data == $l' "$BODY"
  check "$1: logDistribution adds up to logVolume" jq -e '(.logDistribution.datasets[0].data | add) == (.logVolume.datasets[0].data | add)' "$BODY"
  check "$1: charts carry the original colours" jq -e '.logVolume.datasets[0].borderColor == "rgb(59, 130, 246)"
    and .logDistribution.datasets[0].backgroundColor[0] == "rgb(34, 197, 94)" and (.errorTypes.datasets[0].backgroundColor | length == 5)' "$BODY"

  # The keyword rules of dashboard_analytics.c, restated: first matching category wins.
  types=$(sql "SELECT json_object_agg(c, n) FROM (SELECT c, count(*) AS n FROM (
    SELECT CASE
      WHEN m ~ '(database|sql|query|deadlock|postgres)' THEN 'Database'
      WHEN m ~ '(timeout|timed out|connection refused|connection lost|connection reset|unreachable|network|gateway|socket|dns)' THEN 'Network'
      WHEN m ~ '(unauthorized|unauthenticated|authentication|login|token|permission|forbidden|credential|breach)' THEN 'Authentication'
      WHEN m ~ '(validation|invalid|malformed|bad request|missing required|constraint)' THEN 'Validation'
      ELSE 'System' END AS c
    FROM (SELECT lower(message) AS m FROM log_entries WHERE level IN ('ERROR', 'FATAL')
             AND timestamp >= '$from' AND timestamp < '$to') x) y GROUP BY c) z")
  LAST_DETAIL="route $(jq -c '[.errorTypes.labels, .errorTypes.datasets[0].data]' "$BODY") sql $types"
  check "$1: errorTypes has the five categories" jq -e '.errorTypes.labels | sort == ["Authentication","Database","Network","System","Validation"]' "$BODY"
  check "$1: errorTypes counts equal the keyword rules in SQL" jq -e --argjson t "$types" '
    [.errorTypes.labels, .errorTypes.datasets[0].data] | transpose | map({(.[0]): .[1]}) | add
    | to_entries | all(.value == ($t[.key] // 0))' "$BODY"
  check "$1: errorTypes sorted by count" jq -e '.errorTypes.datasets[0].data | . == (sort | reverse)' "$BODY"
  check "$1: errorTypes add up to the ERROR and FATAL buckets" jq -e '(.errorTypes.datasets[0].data | add) == (.logDistribution.datasets[0].data[2] + .logDistribution.datasets[0].data[4])' "$BODY"
}

chart_checks "seeded data"

# Writes after the rollups were built: ERROR rows in a past full hour and in the current hour
# (the rollup and the raw edge), a Validation message, a row turned from INFO into FATAL, one
# deleted; the charts must still equal the table.
trap 'sql "DELETE FROM log_entries WHERE log_id LIKE '"'test-41-%'"'" >/dev/null; rm -rf "$RESP_DIR"' EXIT
sql "INSERT INTO log_entries (log_id, timestamp, level, message, source_type, response_time_ms)
     SELECT 'test-41-' || k, CASE WHEN k <= 3 THEN '$from'::timestamptz + interval '90 minutes' ELSE now() - interval '1 second' END,
            CASE WHEN k = 6 THEN 'INFO' ELSE 'ERROR' END::log_level,
            CASE WHEN k % 2 = 0 THEN 'Invalid payload: validation failed for field ' || k ELSE 'Deadlock detected on table orders' END,
            'application', 100 + k
       FROM generate_series(1, 6) k;
     UPDATE log_entries SET level = 'FATAL', message = 'Login token forgery' WHERE log_id = 'test-41-6';
     DELETE FROM log_entries WHERE log_id = 'test-41-5'" >/dev/null
get /api/dashboard_analytics
chart_checks "after writes"
check "the test's Validation errors are counted" jq -e '[.errorTypes.labels, .errorTypes.datasets[0].data] | transpose | map(select(.[0] == "Validation")) | .[0][1] >= 2' "$BODY"

# error_message_counts() against a GROUP BY of the table, over windows that mix the hour
# rollup, the minute rollup and raw edges; then the rollups corrupted and rebuilt by the schema.
messages_exact() { # name from to
  eq "$1" "$(sql "WITH a AS (SELECT * FROM error_message_counts($2, $3)),
                       b AS (SELECT message, count(*) AS n FROM log_entries
                              WHERE level IN ('ERROR', 'FATAL') AND timestamp >= $2 AND timestamp < $3
                              GROUP BY message)
                  SELECT count(*) FROM ((TABLE a EXCEPT ALL TABLE b) UNION ALL (TABLE b EXCEPT ALL TABLE a)) d")" 0
}
all_messages_exact() { # label
  messages_exact "$1: error_message_counts exact, ragged 30 h window" \
    "now() - interval '30 hours 7 minutes 1.5 seconds'" "now() - interval '0.25 seconds'"
  messages_exact "$1: error_message_counts exact, inside one minute" \
    "date_trunc('minute', now()) - interval '57 seconds'" "date_trunc('minute', now()) - interval '2 seconds'"
  messages_exact "$1: error_message_counts exact, whole hours" \
    "date_trunc('hour', now() - interval '20 hours')" "date_trunc('hour', now())"
  eq "$1: minute and hour message rollups add up to the table" \
    "$(sql "SELECT (SELECT coalesce(sum(n), 0) FROM log_error_rollup_minute) || ' ' || (SELECT coalesce(sum(n), 0) FROM log_error_rollup_hour)")" \
    "$(sql "SELECT count(*) || ' ' || count(*) FROM log_entries WHERE level IN ('ERROR', 'FATAL')")"
}
all_messages_exact "after writes"
sql "UPDATE log_error_rollup_minute SET n = n + 3 WHERE bucket = (SELECT max(bucket) FROM log_error_rollup_minute)" >/dev/null
sql "DELETE FROM log_error_rollup_hour WHERE bucket = (SELECT min(bucket) FROM log_error_rollup_hour)" >/dev/null
psql_app -1 -f "$ROOT/db/dashboard.sql" >/dev/null
all_messages_exact "after a rebuild of corrupted rollups"

# Status cards, of the last response.
to=$(jbody .window.to)
cards=$(sql "SELECT json_build_object('logs', (SELECT count(*) FROM log_entries),
  'alerts', count(*) FILTER (WHERE level IN ('ERROR', 'FATAL')), 'hour', count(*),
  'avg', round(avg(response_time_ms), 2))
  FROM log_entries WHERE timestamp >= '$to'::timestamptz - interval '1 hour' AND timestamp < '$to'")
LAST_DETAIL="route $(jq -c .systemMetrics "$BODY") sql $cards"
check "logsProcessed is every stored log" jq -e --argjson c "$cards" '.systemMetrics.logsProcessed == $c.logs' "$BODY"
check "activeAlerts and responseTime are the last hour's" jq -e --argjson c "$cards" '.systemMetrics.activeAlerts == $c.alerts and .systemMetrics.responseTime == $c.avg' "$BODY"
check "systemHealth follows the documented thresholds" jq -e --argjson c "$cards" '.systemMetrics as $m
  | (if $c.hour > 0 then 100 * $c.alerts / $c.hour else 0 end) as $share
  | [ (if $share >= 15 then 2 elif $share >= 5 then 1 else 0 end),
      (if $m.diskUsage == null then 0 elif $m.diskUsage >= 95 then 2 elif $m.diskUsage >= 85 then 1 else 0 end),
      (if $m.memoryUsage == null then 0 elif $m.memoryUsage >= 95 then 2 elif $m.memoryUsage >= 90 then 1 else 0 end) ]
  | max as $w | $m.systemHealth == (["Healthy","Warning","Critical"][$w])' "$BODY"
check "uptime is the seconds since the deployment started" jq -e '.systemMetrics as $m
  | ($m.uptime | type == "number") and $m.uptime >= 0
  and ((.timestamp | sub("\\.[0-9]+Z$"; "Z") | fromdate) - ($m.uptimeSince | sub("\\.[0-9]+Z$"; "Z") | fromdate) - $m.uptime | fabs) <= 2' "$BODY"
check "host figures are percentages" jq -e '.systemMetrics | [.cpuUsage, .memoryUsage, .diskUsage] | all(type == "number" and . >= 0 and . <= 100)' "$BODY"
mem=$(awk '/^MemTotal:/ {t = $2} /^MemAvailable:/ {a = $2} END {printf "%.2f", (t - a) * 100 / t}' /proc/meminfo)
LAST_DETAIL="route $(jbody .systemMetrics.memoryUsage) /proc $mem"
check "memoryUsage agrees with /proc/meminfo" jq -e --argjson p "$mem" '(.systemMetrics.memoryUsage - $p | fabs) < 3' "$BODY"
disk=$(stat -f -c '%b %f %a' "$RUN_DIR" | awk '{printf "%.2f", ($1 - $2) * 100 / ($1 - $2 + $3)}')
LAST_DETAIL="route $(jbody .systemMetrics.diskUsage) statvfs $disk"
check "diskUsage agrees with statvfs of the run folder" jq -e --argjson d "$disk" '(.systemMetrics.diskUsage - $d | fabs) < 1' "$BODY"

# Permissions: view_dashboard is needed.
http GET /api/dashboard_analytics -H "Authorization: Bearer $(token viewer)"
check "viewer (view_dashboard) gives 200" [ "$STATUS" = 200 ]
http GET /api/dashboard_analytics -H "Authorization: Bearer $(token reader read_logs)"
check "a read_logs-only token gives 403" [ "$STATUS" = 403 ]
http GET /api/dashboard_analytics
check "no token gives 401" [ "$STATUS" = 401 ]
get "/api/dashboard_analytics?range=7d"
check "unknown parameter gives 400 naming it" jq -e '.error == "INVALID_PARAMETER" and .parameter == "range"' "$BODY"

# The rollup readers declare how many rows they return: with PostgreSQL's default guess of 1,000
# a statement joining several of them was estimated at millions of rows, crossed
# jit_above_cost and spent ~30 ms JIT-compiling on every request (metrics fell to 72 rps).
eq "rollup readers declare their row counts (none left at the default 1,000)" \
  "$(sql "SELECT coalesce(string_agg(proname, ','), '') FROM pg_proc
           WHERE proname IN ('log_window', 'log_tally', 'log_rt', 'log_levels', 'log_hours', 'ml_counts',
                             'error_message_counts', 'response_time_summary')
             AND prorows >= 1000")" ""
plan=$(sql "SET jit = on; EXPLAIN (FORMAT JSON)
  SELECT * FROM log_tally(now() - interval '24 hours', now()) t, log_rt(now() - interval '1 hour', now()) r,
                ml_counts(now() - interval '24 hours', now()) m, error_message_counts(now() - interval '24 hours', now()) e,
                response_time_summary(now() - interval '1 hour', now()) s")
LAST_DETAIL="plan: $(echo "$plan" | jq -c '.[0].Plan | {"Total Cost", "Plan Rows"}')"
check "a statement joining the readers is estimated under jit_above_cost" \
  jq -e --argjson j "$(sql "SHOW jit_above_cost")" '.[0].Plan["Total Cost"] < $j' <<< "$plan"
