#!/usr/bin/env bash
# 51_ml.sh -- /api/ml: every GET action and POST analyze cross-checked with SQL, the batch
# (route and tool) scoring exactly the unscored rows once, permissions, bad input, and an
# empty ml_predictions table.
. "$(dirname "$0")/../lib.sh"

TS_FORMAT="'YYYY-MM-DD\"T\"HH24:MI:SS.MS\"Z\"'"

post() { # BODY [token]
  http POST /api/ml -H "Authorization: Bearer ${2:-$(token admin)}" -H 'Content-Type: application/json' \
    --data-binary "$1"
}

near() { # A B TOLERANCE: |A - B| <= TOLERANCE (null equals null)
  if [ "$1" = null ] || [ "$2" = null ]; then [ "$1" = "$2" ]; return; fi
  awk -v a="$1" -v b="$2" -v t="$3" 'BEGIN { d = a - b; if (d < 0) d = -d; exit !(d <= t) }'
}

cleanup() {
  sql "DELETE FROM log_entries WHERE log_id LIKE 't51-%'" >/dev/null 2>&1
  rm -rf "$RESP_DIR"
}
trap cleanup EXIT

# Fresh rows for the realtime window and the batch: copies of the newest logs, spread over the
# last four minutes, under the test's own log_ids.
sql "INSERT INTO log_entries (log_id, \"timestamp\", level, message, source_type, host, service,
       category, ip_address, http_method, http_status, endpoint, response_time_ms, is_anomaly)
     SELECT 't51-' || row_number() OVER (ORDER BY id), now() - (row_number() OVER (ORDER BY id)) * interval '20 seconds',
            level, message, source_type, host, service, category, ip_address, http_method,
            http_status, endpoint, response_time_ms, is_anomaly
       FROM (SELECT * FROM log_entries ORDER BY id DESC LIMIT 9) l" >/dev/null

# ---- batch --------------------------------------------------------------------------------

unscored="SELECT count(*) FROM log_entries e WHERE e.\"timestamp\" > now() - interval '24 hours'
  AND e.\"timestamp\" <= now() AND NOT EXISTS (SELECT 1 FROM ml_predictions p WHERE p.log_entry_id = e.id)"
runs_before=$(sql "SELECT count(*) FROM ml_batch_runs")
post '{"action":"batch"}' "$(token analyst analyze_logs,read_logs)"
check "batch without manage_system gives 403" [ "$STATUS" = 403 ]
check "the 403 names manage_system" jq -e '.error == "FORBIDDEN" and (.message | test("manage_system"))' "$BODY"
check "a refused batch records no run" [ "$(sql "SELECT count(*) FROM ml_batch_runs")" = "$runs_before" ]

expected=$(sql "$unscored")
post '{"action":"batch"}'
check "batch answers 200" [ "$STATUS" = 200 ]
check "batch inserts exactly the unscored rows of the window" \
  [ "$(jbody .batch.inserted)" = "$expected" -a "$(jbody .batch.scored)" = "$expected" -a "$(jbody .batch.updated)" = 0 ]
check "the batch scored the test's rows" [ "$expected" -ge 9 ]
check "no unscored row is left in the window" [ "$(sql "$unscored")" = 0 ]
check "the run is recorded with its counts" \
  [ "$(sql "SELECT scored || ' ' || inserted || ' ' || updated || ' ' || trigger || ' ' || model_version FROM ml_batch_runs ORDER BY id DESC LIMIT 1")" = \
    "$expected $expected 0 api rules-v1+stats-v1" ]
check "batch window is the last 24 hours" jq -e '(.batch.window.to | sub("\\.[0-9]+Z$"; "Z") | fromdate) - (.batch.window.from | sub("\\.[0-9]+Z$"; "Z") | fromdate) == 86400' "$BODY"
check "stored predictions carry both models" \
  [ "$(sql "SELECT count(*) FROM ml_predictions p JOIN log_entries e ON e.id = p.log_entry_id WHERE e.log_id LIKE 't51-%'
       AND p.predicted_level = p.severity AND p.severity IN ('critical','high','medium','low') AND p.anomaly_score BETWEEN 0 AND 1
       AND p.level_confidence BETWEEN 0.55 AND 1 AND p.anomaly_confidence BETWEEN 0.5 AND 1
       AND p.is_anomaly = (p.anomaly_score >= 0.7) AND p.model_version = 'rules-v1+stats-v1'")" = 9 ]
post '{"action":"batch"}'
check "a second batch inserts nothing" [ "$(jbody .batch.inserted)" = 0 -a "$(jbody .batch.scored)" = 0 ]

sql "DELETE FROM ml_predictions WHERE log_entry_id IN (SELECT id FROM log_entries WHERE log_id IN ('t51-1', 't51-2', 't51-3'))" >/dev/null
out=$(as_app "$BUILD/tools/ml_batch")
check "the ml_batch tool scores the three rows left" grep -q 'scored 3, inserted 3, updated 0' <<<"$out"
out=$(as_app "$BUILD/tools/ml_batch")
check "a second ml_batch run inserts nothing" grep -q 'scored 0, inserted 0, updated 0' <<<"$out"
check "tool runs are recorded as cli" [ "$(sql "SELECT trigger FROM ml_batch_runs ORDER BY id DESC LIMIT 1")" = cli ]

# ---- GET analyze ----------------------------------------------------------------------------

get /api/ml
exp=$(sql "SELECT json_build_object('total', count(*), 'anomalies', count(*) FILTER (WHERE is_anomaly),
  'avg', round(avg(level_confidence)::numeric, 4),
  'last', (SELECT to_char(max(predicted_at) AT TIME ZONE 'UTC', $TS_FORMAT) FROM ml_predictions))
  FROM ml_predictions WHERE predicted_at >= now() - interval '24 hours'")
LAST_DETAIL="route $(head -c 400 "$BODY") sql $exp"
check "analyze is the default action" [ "$STATUS" = 200 ]
check "model_status counts match ml_predictions" jq -e --argjson e "$exp" '.data.model_status |
  .total_predictions_24h == $e.total and .anomalies_detected_24h == $e.anomalies and .last_prediction == $e.last
  and .source == "ml_predictions_table" and .classification_model == "rules-v1" and .anomaly_detection_model == "stats-v1"' "$BODY"
check "avg_confidence matches" near "$(jbody .data.model_status.avg_confidence)" "$(jq -r .avg <<<"$exp")" 0.0001
recent=$(sql "SELECT coalesce(json_agg(json_build_object('id', 'analysis_' || p.id, 'log_id', e.log_id, 'classification', p.predicted_level,
  'is_anomaly', p.is_anomaly, 'severity', p.severity, 'timestamp', to_char(p.predicted_at AT TIME ZONE 'UTC', $TS_FORMAT)) ORDER BY p.predicted_at DESC, p.id DESC), '[]')
  FROM (SELECT * FROM ml_predictions WHERE predicted_at > now() - interval '1 hour' ORDER BY predicted_at DESC, id DESC LIMIT 10) p
  JOIN log_entries e ON e.id = p.log_entry_id")
check "recent_analysis is the newest 10 predictions of the last hour" \
  [ "$(jq -c '[.data.recent_analysis[] | {id, log_id, classification, is_anomaly, severity, timestamp}]' "$BODY")" = "$(jq -c . <<<"$recent")" ]
scores=$(sql "SELECT coalesce(json_agg(anomaly_score ORDER BY predicted_at DESC, id DESC), '[]') FROM (SELECT * FROM ml_predictions
  WHERE predicted_at > now() - interval '1 hour' ORDER BY predicted_at DESC, id DESC LIMIT 10) p")
check "recent_analysis scores match the table" jq -e --argjson s "$scores" '[.data.recent_analysis[] | .anomaly_score] as $r
  | ($r | length) == ($s | length) and ([range($r | length) | ($r[.] - $s[.] | fabs) <= 0.00006] | all)' "$BODY"
check "insights are derived from the figures" jq -e --argjson e "$exp" '(.data.insights | length) == 3
  and (.data.insights[0] | startswith("\($e.anomalies) of \($e.total) predictions"))' "$BODY"

# ---- GET status -----------------------------------------------------------------------------

get '/api/ml?action=status'
run=$(sql "SELECT json_build_object('id', id, 'scored', scored, 'inserted', inserted, 'updated', updated, 'trigger', trigger,
  'started_at', to_char(started_at AT TIME ZONE 'UTC', $TS_FORMAT), 'finished_at', to_char(finished_at AT TIME ZONE 'UTC', $TS_FORMAT))
  FROM ml_batch_runs ORDER BY id DESC LIMIT 1")
check "status answers 200" [ "$STATUS" = 200 ]
check "status: last batch run is the latest ml_batch_runs row" \
  [ "$(jq -c '.data.last_batch_run | {id, scored, inserted, updated, trigger, started_at, finished_at}' "$BODY")" = "$(jq -c . <<<"$run")" ]
check "status: prediction count" [ "$(jbody .data.predictions.total)" = "$(sql 'SELECT count(*) FROM ml_predictions')" ]
check "status: both models with versions and parameters" jq -e '.data.models.classification.version == "rules-v1"
  and .data.models.anomaly_detection.version == "stats-v1" and .data.models.anomaly_detection.parameters.threshold == 0.7
  and .data.models.classification.parameters.critical_min_points == 90 and .data.model_version == "rules-v1+stats-v1"' "$BODY"

# ---- GET realtime ---------------------------------------------------------------------------

get '/api/ml?action=realtime'
from=$(jbody .data.window.from)
to=$(jbody .data.window.to)
window="e.\"timestamp\" > '$to'::timestamptz - interval '5 minutes' AND e.\"timestamp\" <= '$to'::timestamptz"
n=$(sql "SELECT count(*) FROM log_entries e WHERE $window")
LAST_DETAIL="route $(head -c 600 "$BODY") sql n=$n"
check "realtime answers 200" [ "$STATUS" = 200 ]
check "realtime window is 5 minutes" jq -e '(.data.window.to | sub("\\.[0-9]+Z$"; "Z") | fromdate) - (.data.window.from | sub("\\.[0-9]+Z$"; "Z") | fromdate) == 300' "$BODY"
check "realtime counts the window's logs" [ "$(jbody .data.logs_in_window)" = "$n" -a "$(jbody .data.logs_scored)" = "$n" ]
check "realtime has the test's rows" [ "$n" -ge 9 ]
check "realtime severities are the models' (as stored for the same rows)" \
  [ "$(jq -c '.data.severity_distribution' "$BODY")" = \
    "$(sql "SELECT json_build_object('critical', count(*) FILTER (WHERE p.severity = 'critical'), 'high', count(*) FILTER (WHERE p.severity = 'high'),
       'medium', count(*) FILTER (WHERE p.severity = 'medium'), 'low', count(*) FILTER (WHERE p.severity = 'low'))
       FROM log_entries e JOIN ml_predictions p ON p.log_entry_id = e.id WHERE $window" | jq -c .)" ]
check "realtime anomaly figures are consistent" jq -e '.data | .anomalies <= .logs_scored
  and ([.anomaly_types[]] | add // 0) == .anomalies and .max_anomaly_score >= .avg_anomaly_score
  and .max_anomaly_score <= 1 and (.top_anomalies | length) <= 10
  and ([.top_anomalies[].anomaly_score] == ([.top_anomalies[].anomaly_score] | sort | reverse))' "$BODY"
ids=$(jq -r '[.data.top_anomalies[].id] | join(",")' "$BODY")
if [ -n "$ids" ]; then
  check "top anomalies are logs of the window" [ "$(sql "SELECT count(*) FROM log_entries e WHERE e.id IN ($ids) AND $window")" = "$(jq '.data.top_anomalies | length' "$BODY")" ]
fi

# ---- GET abtest -----------------------------------------------------------------------------

get '/api/ml?action=abtest'
to=$(jbody .data.window.to)
exp=$(sql "WITH j AS (SELECT e.is_anomaly AS label, p.is_anomaly IS TRUE AS a, coalesce(p.severity IN ('critical','high'), false) AS s
    FROM log_entries e JOIN ml_predictions p ON p.log_entry_id = e.id
    WHERE e.\"timestamp\" > '$to'::timestamptz - interval '24 hours' AND e.\"timestamp\" <= '$to'::timestamptz)
  SELECT json_build_object('n', count(*), 'labelled', count(*) FILTER (WHERE label), 'agree', count(*) FILTER (WHERE a = s),
    'a', json_build_array(count(*) FILTER (WHERE a AND label), count(*) FILTER (WHERE a AND NOT label),
                          count(*) FILTER (WHERE NOT a AND label), count(*) FILTER (WHERE NOT a AND NOT label)),
    's', json_build_array(count(*) FILTER (WHERE s AND label), count(*) FILTER (WHERE s AND NOT label),
                          count(*) FILTER (WHERE NOT s AND label), count(*) FILTER (WHERE NOT s AND NOT label))) FROM j")
LAST_DETAIL="route $(head -c 900 "$BODY") sql $exp"
check "abtest answers 200" [ "$STATUS" = 200 ]
check "abtest counts the labelled window" jq -e --argjson e "$exp" '.data.evaluated == $e.n and .data.labelled_anomalies == $e.labelled
  and .data.label == "log_entries.is_anomaly"' "$BODY"
check "abtest confusion matrices match SQL" jq -e --argjson e "$exp" '.data.models[0].model == "stats-v1" and .data.models[1].model == "rules-v1"
  and ([.data.models[0].confusion[]] == $e.a) and ([.data.models[1].confusion[]] == $e.s)' "$BODY"
metrics() { # tp fp fn tn -> precision recall f1 accuracy (4 dp, or null)
  awk -v tp="$1" -v fp="$2" -v fn="$3" -v tn="$4" 'function r(a, b) { return b > 0 ? sprintf("%.4f", a / b) : "null" }
    BEGIN { print r(tp, tp + fp), r(tp, tp + fn), r(2 * tp, 2 * tp + fp + fn), r(tp + tn, tp + fp + fn + tn) }'
}
for m in 0 1; do
  key=$([ $m = 0 ] && echo a || echo s)
  read -r p r f acc <<<"$(metrics $(jq -r --arg k "$key" '.[$k] | map(tostring) | join(" ")' <<<"$exp"))"
  read -r gp gr gf gacc <<<"$(jq -r --argjson m $m '.data.models[$m] | [.precision, .recall, .f1, .accuracy] | map(tostring) | join(" ")' "$BODY")"
  check "abtest model $m precision" near "$gp" "$p" 0.00006
  check "abtest model $m recall" near "$gr" "$r" 0.00006
  check "abtest model $m F1" near "$gf" "$f" 0.00006
  check "abtest model $m accuracy" near "$gacc" "$acc" 0.00006
done
agree=$(jq -r 'if .n > 0 then .agree / .n else "null" end' <<<"$exp")
check "abtest agreement" near "$(jbody .data.agreement)" "$agree" 0.00006

# ---- POST analyze ---------------------------------------------------------------------------

stored=$(sql "SELECT json_build_object('id', e.id, 'log_id', e.log_id, 'severity', p.severity, 'level', p.predicted_level,
  'confidence', p.level_confidence, 'score', p.anomaly_score, 'flag', p.is_anomaly,
  'at', to_char(p.predicted_at AT TIME ZONE 'UTC', $TS_FORMAT))
  FROM log_entries e JOIN ml_predictions p ON p.log_entry_id = e.id WHERE e.log_id = 't51-4'")
sid=$(jq -r .id <<<"$stored")
slog=$(jq -r .log_id <<<"$stored")
# The most common message, host/source pair and address of the window, and an hour's share:
# an entry made of them is unusual only in its timing, so its score is 1 - 24 x share (if < 0.1).
common=$(sql "WITH w AS (SELECT * FROM log_entries WHERE \"timestamp\" > now() - interval '24 hours' AND \"timestamp\" <= now())
  SELECT json_build_object(
    'message', (SELECT message FROM w GROUP BY message ORDER BY count(*) DESC LIMIT 1),
    'host', (SELECT host FROM w WHERE host IS NOT NULL GROUP BY host, source_type ORDER BY count(*) DESC LIMIT 1),
    'source', (SELECT source_type FROM w WHERE host IS NOT NULL GROUP BY host, source_type ORDER BY count(*) DESC LIMIT 1),
    'ip', (SELECT host(ip_address) FROM w WHERE ip_address IS NOT NULL GROUP BY ip_address ORDER BY count(*) DESC LIMIT 1),
    'hour', (SELECT h FROM (SELECT date_part('hour', \"timestamp\" AT TIME ZONE 'UTC')::int AS h, count(*) AS n FROM w GROUP BY 1) x ORDER BY n, h LIMIT 1))")
hour=$(jq -r .hour <<<"$common")
ts=$(printf '2025-10-18T%02d:30:00Z' "$hour")
item() { # MESSAGE IP [extra jq object]
  local extra=${3:-}
  [ -n "$extra" ] || extra='{}'
  jq -nc --argjson c "$common" --arg m "$1" --arg ip "$2" --arg ts "$ts" --argjson x "$extra" \
    '{message: $m, level: "INFO", source: $c.source, host: $c.host, timestamp: $ts} + (if $ip == "" then {} else {ipAddress: $ip} end) + $x'
}
common_msg=$(jq -r .message <<<"$common")
common_ip=$(jq -r .ip <<<"$common")
fresh_ip=198.18.0.1
check "the fresh address does not occur in the window" \
  [ "$(sql "SELECT count(*) FROM log_entries WHERE ip_address = '$fresh_ip' AND \"timestamp\" > now() - interval '24 hours'")" = 0 ]
body=$(jq -nc --argjson a "$(item "$common_msg" "$common_ip" "{\"id\": $sid}")" \
  --argjson b "$(item "$common_msg" "$common_ip" "{\"id\": \"$slog\"}")" \
  --argjson c "$(item "$common_msg" "$common_ip")" \
  --argjson d "$(item "$common_msg" "$fresh_ip")" \
  --argjson e "$(item "security breach: attack by unauthorized hack, malware and virus" "$common_ip")" \
  --argjson f "$(item "Payment failed" "$common_ip" '{"service": "payment", "level": "FATAL", "endpoint": "/checkout", "httpStatus": 503, "responseTime": 5500.5, "isAnomaly": true}')" \
  '{action: "analyze", log_data: [$a, $b, $c, $d, $e, $f]}')
post "$body"
share=$(sql "SELECT count(*) FILTER (WHERE date_part('hour', \"timestamp\" AT TIME ZONE 'UTC') = $hour)::float8 / count(*)
  FROM log_entries WHERE \"timestamp\" > now() - interval '24 hours' AND \"timestamp\" <= now()")
# The hour's share is measured against an even spread over 24 hours (common/scoring.c).
timing=$(awk -v s="$share" 'BEGIN { r = s * 24; print (r < 0.1 ? 1 - r : 0) }')
LAST_DETAIL="route $(head -c 1500 "$BODY") stored $stored common $common timing $timing"
check "POST analyze answers 200" [ "$STATUS" = 200 ]
check "POST analyze counts and times its work" jq -e '.total_analyzed == 6 and (.results | length) == 6 and .processing_time_ms > 0' "$BODY"
for k in 0 1; do
  check "item $k with a stored prediction (by $([ $k = 0 ] && echo id || echo log_id)) comes from the table" \
    jq -e --argjson s "$stored" --argjson k $k '.results[$k] | .source == "ml_predictions_table" and .severity == $s.severity
      and .classification == $s.level and ((.confidence - $s.confidence) | fabs) <= 0.00006
      and ((.anomaly_score - $s.score) | fabs) <= 0.00006 and .is_anomaly == $s.flag and .timestamp == $s.at' "$BODY"
done
check "item 1 echoes its id" jq -e --arg l "$slog" --argjson i "$sid" '.results[0].log_id == $i and .results[1].log_id == $l' "$BODY"
check "an item without an id is computed" jq -e '.results[2].source == "computed" and .results[2].log_id == null' "$BODY"
check "a common entry scores only its hour's share (from SQL)" near "$(jbody '.results[2].anomaly_score')" "$timing" 0.001
check "a common entry is flagged by timing exactly when its hour is rare" \
  jq -e --argjson t "$timing" '.results[2] | .is_anomaly == ($t >= 0.7) and .anomaly_type == (if $t > 0 then "timing" else "none" end)' "$BODY"
check "a never-seen address scores at least 0.8" \
  near "$(jbody '.results[3].anomaly_score')" "$(awk -v t="$timing" 'BEGIN { print (t > 0.8 ? t : 0.8) }')" 0.001
check "six security words make a full score" jq -e '.results[4] | .anomaly_score == 1 and .is_anomaly == true' "$BODY"
check "rules-v1: payment, FATAL, payment failed, /checkout, 503, 5500 ms, flagged = 115 points, critical" \
  jq -e '.results[5] | .severity == "critical" and .classification == "critical" and .confidence == 1' "$BODY"

# the same row as stored, posted without its id: the severity model gives the stored label
row=$(sql "SELECT json_build_object('message', message, 'level', level, 'source', source_type, 'host', host, 'service', service,
  'endpoint', endpoint, 'httpStatus', http_status, 'responseTime', response_time_ms, 'isAnomaly', is_anomaly,
  'timestamp', to_char(\"timestamp\" AT TIME ZONE 'UTC', $TS_FORMAT)) FROM log_entries WHERE log_id = 't51-4'")
post "$(jq -nc --argjson r "$row" '{action: "analyze", log_data: [$r | with_entries(select(.value != null))]}')"
check "a row posted without its id gets its stored severity and confidence" \
  jq -e --argjson s "$stored" '.results[0] | .source == "computed" and .severity == $s.severity
    and ((.confidence - $s.confidence) | fabs) <= 0.00006' "$BODY"

# ---- refusals and bad input -----------------------------------------------------------------

get '/api/ml?action=train'
check "unknown GET action gives 404 UNKNOWN_ACTION" [ "$STATUS" = 404 -a "$(jbody .error)" = UNKNOWN_ACTION -a "$(jbody .parameter)" = action ]
post '{"action":"train"}'
check "unknown POST action gives 404 UNKNOWN_ACTION" [ "$STATUS" = 404 -a "$(jbody .error)" = UNKNOWN_ACTION ]
get '/api/ml?action=status&verbose=1'
check "an unknown parameter gives 400 naming it" [ "$STATUS" = 400 -a "$(jbody .parameter)" = verbose ]
many=$(jq -nc --argjson i "$(item "$common_msg" "")" '{action: "analyze", log_data: [range(101) | $i]}')
post "$many"
check "POST analyze of 101 items gives 400 naming log_data" [ "$STATUS" = 400 -a "$(jbody .error)" = INVALID_PARAMETER -a "$(jbody .parameter)" = log_data ]
post "$(jq -nc --argjson i "$(item "$common_msg" "")" '{action: "analyze", log_data: [range(100) | $i]}')"
check "POST analyze of 100 items is fine" [ "$STATUS" = 200 -a "$(jbody .total_analyzed)" = 100 ]
post '{"action":"analyze","log_data":[{"message":"m","level":"LOUD","source":"sap","timestamp":"2025-10-18T00:00:00Z"}]}'
check "a bad level gives 400 naming the item field" [ "$STATUS" = 400 -a "$(jbody .parameter)" = 'log_data[0].level' ]
post '{"action":"analyze","log_data":[{"level":"INFO","source":"sap","timestamp":"2025-10-18T00:00:00Z"}]}'
check "a missing message gives 400 INVALID_JSON" [ "$STATUS" = 400 -a "$(jbody .error)" = INVALID_JSON -a "$(jbody .parameter)" = 'log_data[0].message' ]
post 'not json'
check "a body that is not JSON gives 400" [ "$STATUS" = 400 -a "$(jbody .error)" = INVALID_JSON ]
post '{"action":"analyze","log_data":[]}' "$(token reader read_logs)"
check "POST without analyze_logs gives 403" [ "$STATUS" = 403 ]
http GET /api/ml -H "Authorization: Bearer $(token viewer)"
check "GET without read_logs gives 403" [ "$STATUS" = 403 ]
http GET /api/ml
check "GET without a token gives 401" [ "$STATUS" = 401 ]

# ---- an empty ml_predictions table and no batch runs ------------------------------------

restore() {
  sql "BEGIN; DELETE FROM ml_predictions; INSERT INTO ml_predictions SELECT * FROM t51_ml; DROP TABLE t51_ml;
       DELETE FROM ml_batch_runs; INSERT INTO ml_batch_runs SELECT * FROM t51_runs; DROP TABLE t51_runs; COMMIT" >/dev/null 2>&1
  sql "BEGIN; UPDATE log_entries SET \"timestamp\" = \"timestamp\" - interval '1 day' WHERE id IN (SELECT id FROM t51_moved);
       DROP TABLE t51_moved; COMMIT" >/dev/null 2>&1
}
trap 'restore; cleanup' EXIT
sql "CREATE TABLE t51_ml AS SELECT * FROM ml_predictions; CREATE TABLE t51_runs AS SELECT * FROM ml_batch_runs;
     DELETE FROM ml_predictions; DELETE FROM ml_batch_runs" >/dev/null
get /api/ml
check "analyze on an empty table: zeros and empty lists" jq -e '.success == true and .data.model_status.total_predictions_24h == 0
  and .data.model_status.anomalies_detected_24h == 0 and .data.model_status.avg_confidence == null
  and .data.model_status.last_prediction == null and .data.recent_analysis == [] and .data.insights == []' "$BODY"
get '/api/ml?action=status'
check "status on an empty table: no predictions, no run" jq -e '.data.predictions.total == 0 and .data.predictions.last_prediction == null
  and .data.last_batch_run == null' "$BODY"
get '/api/ml?action=abtest'
check "abtest on an empty table: nothing evaluated, no ratios" jq -e '.data.evaluated == 0 and .data.agreement == null
  and (.data.models | all(.precision == null and .recall == null and .f1 == null and .flagged == 0))' "$BODY"
get '/api/ml?action=realtime'
check "realtime scores without stored predictions" [ "$STATUS" = 200 -a "$(jbody .data.logs_scored)" -ge 9 ]
post "$(jq -nc --argjson i "$(item "$common_msg" "" "{\"id\": $sid}")" '{action: "analyze", log_data: [$i]}')"
check "POST analyze computes when nothing is stored" jq -e '.results[0].source == "computed"' "$BODY"
# An empty realtime window: the rows of the last minutes moved a day ahead for the moment.
sql "CREATE TABLE t51_moved AS SELECT id FROM log_entries WHERE \"timestamp\" > now() - interval '6 minutes' AND \"timestamp\" <= now();
     UPDATE log_entries SET \"timestamp\" = \"timestamp\" + interval '1 day' WHERE id IN (SELECT id FROM t51_moved)" >/dev/null
get '/api/ml?action=realtime'
check "realtime over an empty window: zeros, nulls, empty lists" jq -e '.data | .logs_in_window == 0 and .logs_scored == 0
  and .anomalies == 0 and .anomaly_rate == null and .avg_anomaly_score == null and .top_anomalies == []
  and .severity_distribution == {"critical": 0, "high": 0, "medium": 0, "low": 0}' "$BODY"
restore
trap cleanup EXIT
check "the saved predictions are back" [ "$(sql "$unscored")" = 0 ]
check "the moved rows are back" [ "$(sql "SELECT count(*) FROM log_entries WHERE log_id LIKE 't51-%' AND \"timestamp\" <= now()")" = 9 ]

# ---- the prediction rollups behind ml_counts, against ml_predictions itself ------------------
# Every column, over windows with whole hours, whole minutes and partial minutes, before and
# after an update that moves predictions between buckets and changes confidences (rolled back).
ml_counts_diff() { # from to [sql to run first, same transaction]
  sql "BEGIN; ${3:-} SELECT count(*) FROM ml_counts($1, $2) a, (
         SELECT count(*) AS n, count(*) FILTER (WHERE is_anomaly) AS anomalies,
                count(*) FILTER (WHERE is_anomaly AND severity IN ('high', 'critical')) AS high_anomalies,
                count(*) FILTER (WHERE severity = 'critical') AS critical,
                count(*) FILTER (WHERE severity = 'high') AS high,
                count(*) FILTER (WHERE severity = 'medium') AS medium,
                count(*) FILTER (WHERE severity = 'low') AS low,
                count(*) FILTER (WHERE severity IS NULL) AS unrated,
                count(level_confidence) AS conf_n,
                coalesce(sum(level_confidence::double precision), 0) AS conf_sum
           FROM ml_predictions WHERE predicted_at >= $1 AND predicted_at < $2) b
        WHERE (a.n, a.anomalies, a.high_anomalies, a.critical, a.high, a.medium, a.low, a.unrated,
               a.conf_n) IS DISTINCT FROM (b.n, b.anomalies, b.high_anomalies, b.critical, b.high,
               b.medium, b.low, b.unrated, b.conf_n)
           OR abs(a.conf_sum - b.conf_sum) > 1e-9 * greatest(1, abs(b.conf_sum)); ROLLBACK;" | grep -v '^$' | tail -1
}
check "there are predictions to count" test "$(sql "SELECT count(*) FROM ml_predictions")" -gt 0
for w in "'-infinity'|'infinity'" "now() - interval '30 hours 7 minutes 3.5 seconds'|now() - interval '11.25 seconds'" \
         "date_trunc('hour', now() - interval '20 hours')|date_trunc('hour', now())"; do
  eq "ml_counts equals ml_predictions over [${w%%|*}, ${w##*|})" "$(ml_counts_diff "${w%%|*}" "${w##*|}")" 0
done
eq "ml_counts still equal after predictions move and change (rolled back)" \
  "$(ml_counts_diff "'-infinity'" "'infinity'" "UPDATE ml_predictions SET predicted_at = predicted_at - interval '90 minutes',
       level_confidence = CASE WHEN id % 3 = 0 THEN NULL ELSE level_confidence / 2 END,
       severity = CASE WHEN id % 2 = 0 THEN 'low' ELSE severity END WHERE id % 5 = 0;")" 0
