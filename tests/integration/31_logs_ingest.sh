#!/usr/bin/env bash
# 31_logs_ingest.sh -- POST /api/logs: JSON array and NDJSON batches land as sent, the tallies
# stay exact (inserts, updates, deletes, truncate, backfill), bad batches change nothing,
# duplicates are counted, size/count/media-type/JSON errors, auth.
. "$(dirname "$0")/../lib.sh"


post() { # content-type file [curl args]
  http POST /api/logs -H "Authorization: Bearer $(token admin)" -H "Content-Type: $1" \
    --data-binary "@$2" "${@:3}"
}
total() { sql "SELECT count(*) FROM log_entries"; }
F=$RESP_DIR/batch

sql "DELETE FROM log_entries WHERE log_id LIKE 't31-%' OR message LIKE 'T31 %'" >/dev/null

# The tallies read through log_window() equal a plain GROUP BY over log_entries for [from, to):
# no key differs either way (log_tally), nor the response-time totals (log_rt).
rollup_exact() { # name from to
  local diff
  # The counts of log_window's array, by key, against the GROUP BY (log_tally is that view).
  diff=$(sql "WITH a AS (SELECT key.level, key.source_type, key.is_anomaly, w.n[key.i + 1] AS n
                           FROM log_window($2, $3) w, log_tally_key key),
                   b AS (SELECT key.level, key.source_type, key.is_anomaly, count(e.id) AS n
                           FROM log_tally_key key
                           LEFT JOIN log_entries e ON e.level = key.level
                                AND e.source_type = key.source_type
                                AND e.is_anomaly = key.is_anomaly
                                AND e.\"timestamp\" >= $2 AND e.\"timestamp\" < $3
                          GROUP BY 1, 2, 3)
              SELECT count(*) FROM ((TABLE a EXCEPT ALL TABLE b) UNION ALL (TABLE b EXCEPT ALL TABLE a)) d")
  eq "$1" "$diff" 0
  # The tallies (counts only, one row per bucket) against the same GROUP BY.
  diff=$(sql "WITH a AS (SELECT * FROM log_tally($2, $3)),
                   b AS (SELECT level, source_type, is_anomaly, count(*) AS n
                           FROM log_entries WHERE \"timestamp\" >= $2 AND \"timestamp\" < $3
                          GROUP BY 1, 2, 3)
              SELECT count(*) FROM ((TABLE a EXCEPT ALL TABLE b) UNION ALL (TABLE b EXCEPT ALL TABLE a)) d")
  eq "${1/log_window/log_tally}" "$diff" 0
  # Response-time totals against the same rows.
  diff=$(sql "SELECT count(*) FROM log_rt($2, $3) a,
                (SELECT count(response_time_ms) AS n, coalesce(sum(response_time_ms), 0) AS s,
                        coalesce(sum(response_time_ms * response_time_ms), 0) AS q
                   FROM log_entries WHERE \"timestamp\" >= $2 AND \"timestamp\" < $3) b
               WHERE (a.rt_n, a.rt_sum, a.rt_sumsq) IS DISTINCT FROM (b.n, b.s, b.q)")
  eq "${1/log_window/log_rt}" "$diff" 0
}
# Sum of every tally column of a table.
tally_sum() { # table
  sql "SELECT coalesce(sum($(sql "SELECT string_agg('t.n' || i, ' + ') FROM log_tally_key")), 0) FROM $1 t"
}
rollups_all_exact() { # label
  rollup_exact "$1: log_window exact, all time" "'-infinity'" "'infinity'"
  rollup_exact "$1: log_window exact, ragged 30 h window" \
    "now() - interval '30 hours 7 minutes 1.5 seconds'" "now() - interval '17.25 seconds'"
  rollup_exact "$1: log_window exact, inside one minute" \
    "date_trunc('minute', now() - interval '2 hours') + interval '3 seconds'" \
    "date_trunc('minute', now() - interval '2 hours') + interval '40 seconds'"
  rollup_exact "$1: log_window exact, whole hours" \
    "date_trunc('hour', now() - interval '20 hours')" "date_trunc('hour', now())"
  eq "$1: log_hours gives every hour's key counts and response-time totals" \
    "$(sql "WITH a AS (SELECT h.bucket, key.i, h.n[key.i + 1] AS n, h.rt_n, h.rt_sum
                         FROM log_hours('-infinity', 'infinity') h, log_tally_key key),
                 b AS (SELECT hr.bucket, key.i, count(e.id) AS n,
                              max(t.rt_n) AS rt_n, max(t.rt_sum) AS rt_sum
                         FROM (SELECT DISTINCT date_trunc('hour', timestamp, 'UTC') AS bucket
                                 FROM log_entries) hr
                        CROSS JOIN log_tally_key key
                         LEFT JOIN log_entries e
                                ON date_trunc('hour', e.timestamp, 'UTC') = hr.bucket
                               AND (e.level, e.source_type, e.is_anomaly)
                                   = (key.level, key.source_type, key.is_anomaly)
                         JOIN (SELECT date_trunc('hour', timestamp, 'UTC') AS bucket,
                                      count(response_time_ms) AS rt_n,
                                      coalesce(sum(response_time_ms), 0) AS rt_sum
                                 FROM log_entries GROUP BY 1) t ON t.bucket = hr.bucket
                        GROUP BY hr.bucket, key.i)
            SELECT count(*) FROM ((TABLE a EXCEPT ALL TABLE b) UNION ALL (TABLE b EXCEPT ALL TABLE a)) d")" 0
  eq "$1: minute and hour tallies add up to the table" \
    "$(tally_sum log_tally_minute) $(tally_sum log_tally_hour)" "$(total) $(total)"
}
rollups_all_exact "after seed"

# ---- JSON array: every column, normalisation, generated log_id ---------------------------------
cat > "$F" <<EOF
[{"log_id": "t31-full", "timestamp": "2025-03-04T05:06:07.891+02:00", "level": "warning",
  "message": "T31 full entry", "source_type": "SAP", "host": "web-server-01", "service": "api",
  "category": "performance", "tags": ["a", "b"], "raw_log": "raw line",
  "structured_data": {"k": 12345678901234567890, "nested": {"x": [1, 2.50]}},
  "request_id": "0F8FAD5B-D9CB-469F-A165-70867728950E", "session_id": "sess-1",
  "correlation_id": "corr-1", "ip_address": "2001:db8::1", "application_type": "web",
  "framework": "django", "http_method": "GET", "http_status": 503, "endpoint": "/api/x",
  "response_time_ms": 1234.5, "transaction_code": "VA01", "sap_system": "PRD",
  "department": "sales", "amount": -99.99, "currency": "eur", "document_number": "DOC-1",
  "splunk_source": "/var/log/x", "splunk_host": "sh1", "is_anomaly": true,
  "anomaly_type": "latency", "error_details": {"code": "E1"},
  "performance_metrics": {"cpu": 0.5}, "business_context": {"region": "eu"}},
 {"timestamp": "2025-03-04T03:06:08Z", "level": "Info", "message": "T31 generated id",
  "source_type": "splunk", "tags": null, "is_anomaly": null, "host": null},
 {"log_id": "t31-ü-ünïcode", "timestamp": "2025-03-04T03:06:09Z", "level": "ERROR",
  "message": "T31 ünïcode ✓", "source_type": "application", "ip_address": "10.1.2.3",
  "http_status": 2e2, "host": "$(printf 'é%.0s' $(seq 255))"}]
EOF
before=$(total)
post application/json "$F"
eq "JSON array: 200 inserted 3 duplicates 0" "$(jq -c '[.success, .inserted, .duplicates]' "$BODY")" '[true,3,0]'
check "JSON array: response has a timestamp" jq -e '.timestamp | test("Z$")' "$BODY"
eq "JSON array: 3 more rows" "$(total)" "$((before + 3))"
eq "JSON array: full entry stored column by column" "$(sql "
  SELECT json_build_object('ts', to_char(\"timestamp\" AT TIME ZONE 'UTC', 'YYYY-MM-DD HH24:MI:SS.MS'),
    'level', level, 'source', source_type, 'host', host, 'service', service, 'category', category,
    'tags', tags, 'raw', raw_log, 'sd', structured_data::text, 'rid', request_id, 'sess', session_id,
    'corr', correlation_id, 'ip', host(ip_address), 'app', application_type, 'fw', framework,
    'method', http_method, 'status', http_status, 'endpoint', endpoint, 'rt', response_time_ms::text,
    'tc', transaction_code, 'sap', sap_system, 'dept', department, 'amount', amount::text,
    'cur', currency, 'doc', document_number, 'ss', splunk_source, 'sh', splunk_host,
    'anomaly', is_anomaly, 'atype', anomaly_type, 'err', error_details, 'perf', performance_metrics,
    'biz', business_context)::text FROM log_entries WHERE log_id = 't31-full'")" \
  '{"ts" : "2025-03-04 03:06:07.891", "level" : "WARN", "source" : "sap", "host" : "web-server-01", "service" : "api", "category" : "performance", "tags" : ["a", "b"], "raw" : "raw line", "sd" : "{\"k\": 12345678901234567890, \"nested\": {\"x\": [1, 2.50]}}", "rid" : "0f8fad5b-d9cb-469f-a165-70867728950e", "sess" : "sess-1", "corr" : "corr-1", "ip" : "2001:db8::1", "app" : "web", "fw" : "django", "method" : "GET", "status" : 503, "endpoint" : "/api/x", "rt" : "1234.50", "tc" : "VA01", "sap" : "PRD", "dept" : "sales", "amount" : "-99.99", "cur" : "EUR", "doc" : "DOC-1", "ss" : "/var/log/x", "sh" : "sh1", "anomaly" : true, "atype" : "latency", "err" : {"code": "E1"}, "perf" : {"cpu": 0.5}, "biz" : {"region": "eu"}}'
eq "JSON array: generated log_id is log-<12 hex>, defaults applied" "$(sql "
  SELECT log_id ~ '^log-[0-9a-f]{12}$', level, source_type, tags, is_anomaly, host IS NULL
    FROM log_entries WHERE message = 'T31 generated id'")" "t|INFO|splunk|[]|f|t"
eq "JSON array: unicode and 255-character host kept, 2e2 is status 200" "$(sql "
  SELECT message || ' ' || char_length(host) || ' ' || http_status FROM log_entries WHERE log_id = 't31-ü-ünïcode'")" \
  "T31 ünïcode ✓ 255 200"

# Visible through GET.
get "/api/logs?timeRange=custom&from=2025-03-04T00:00:00Z&to=2025-03-05T00:00:00Z&search=T31"
eq "GET finds the ingested rows, newest first" "$(jq -c '[.data.logs[].message]' "$BODY")" \
  '["T31 ünïcode ✓","T31 generated id","T31 full entry"]'
eq "GET shows the full entry's fields" "$(jq -c '.data.logs[2] | [.level, .source, .responseTime, .ipAddress, .isAnomaly, .sessionId, .tags]' "$BODY")" \
  '["WARN","sap",1234.5,"2001:db8::1",true,"sess-1",["a","b"]]'

# ---- NDJSON --------------------------------------------------------------------------------------
now_iso=$(sql "SELECT to_char(now() AT TIME ZONE 'UTC' - interval '90 minutes', 'YYYY-MM-DD\"T\"HH24:MI:SS.US\"Z\"')")
{
  printf '{"log_id": "t31-nd-1", "timestamp": "%s", "level": "DEBUG", "message": "T31 nd one", "source_type": "sap", "response_time_ms": 10.25}\r\n' "$now_iso"
  printf '\n   \n'
  printf '{"log_id": "t31-nd-2", "timestamp": "%s", "level": "FATAL", "message": "T31 nd two", "source_type": "splunk", "response_time_ms": 4999.99, "is_anomaly": true}\n' "$now_iso"
  printf '{"timestamp": "%s", "level": "warn", "message": "T31 nd three", "source_type": "application"}' "$now_iso"
} > "$F"
before=$(total)
post application/x-ndjson "$F"
eq "NDJSON: 200 inserted 3 duplicates 0" "$(jq -c '[.success, .inserted, .duplicates]' "$BODY")" '[true,3,0]'
eq "NDJSON: rows in the table" "$(sql "SELECT string_agg(level || ':' || coalesce(response_time_ms::text, '-'), ',' ORDER BY message) FROM log_entries WHERE message LIKE 'T31 nd %'")" \
  "DEBUG:10.25,WARN:-,FATAL:4999.99"
eq "NDJSON: count" "$(total)" "$((before + 3))"
post 'application/x-ndjson; charset=utf-8' "$F"
eq "NDJSON retry (with charset): all duplicates except the generated-id line" \
  "$(jq -c '[.inserted, .duplicates]' "$BODY")" '[1,2]'

# ---- duplicates ----------------------------------------------------------------------------------
cat > "$F" <<EOF
[{"log_id": "t31-full", "timestamp": "$now_iso", "level": "INFO", "message": "T31 dup", "source_type": "sap"},
 {"log_id": "t31-twice", "timestamp": "$now_iso", "level": "INFO", "message": "T31 twice a", "source_type": "sap"},
 {"log_id": "t31-twice", "timestamp": "$now_iso", "level": "INFO", "message": "T31 twice b", "source_type": "sap"}]
EOF
before=$(total)
post application/json "$F"
eq "duplicates: existing and in-batch repeats counted" "$(jq -c '[.inserted, .duplicates]' "$BODY")" '[1,2]'
eq "duplicates: the first of a repeated log_id wins, existing row untouched" \
  "$(sql "SELECT (SELECT message FROM log_entries WHERE log_id = 't31-twice') || '|' || (SELECT message FROM log_entries WHERE log_id = 't31-full')")" \
  "T31 twice a|T31 full entry"
eq "duplicates: one row more" "$(total)" "$((before + 1))"

rollups_all_exact "after inserts"
sql "UPDATE log_entries SET level = 'ERROR', is_anomaly = true, response_time_ms = 777
      WHERE log_id IN ('t31-nd-1', 't31-twice')" >/dev/null
sql "UPDATE log_entries SET \"timestamp\" = \"timestamp\" - interval '3 hours 1 minute' WHERE log_id = 't31-nd-2'" >/dev/null
sql "UPDATE log_entries SET service = service WHERE id IN (SELECT id FROM log_entries ORDER BY id LIMIT 100)" >/dev/null
rollups_all_exact "after updates"
LAST_DETAIL=$(sql "DELETE FROM log_entries WHERE log_id = 't31-nd-1'" 2>&1)
check "delete of a row" test "$(sql "SELECT count(*) FROM log_entries WHERE log_id = 't31-nd-1'")" = 0
rollups_all_exact "after a delete"
zero_tally="$(sql "SELECT string_agg('t.n' || i || ' = 0', ' AND ') FROM log_tally_key")"
eq "tallies keep no all-zero rows" "$(sql "SELECT (SELECT count(*) FROM log_tally_minute t WHERE $zero_tally) + (SELECT count(*) FROM log_tally_hour t WHERE $zero_tally)")" 0
eq "TRUNCATE empties the tallies (rolled back)" \
  "$(sql "SET client_min_messages = warning; BEGIN; TRUNCATE log_entries CASCADE; SELECT (SELECT count(*) FROM log_tally_minute) + (SELECT count(*) FROM log_tally_hour); ROLLBACK;")" 0
# Values, not their text: 0 and 0.00 are the same sum.
sig() {
  sql "SELECT md5(string_agg(t::text, ',' ORDER BY t::text)) FROM log_tally_minute t"
  sql "SELECT md5(string_agg(t::text, ',' ORDER BY t::text)) FROM log_tally_hour t"
}
s1=$(sig)
psql_app -1 -f "$ROOT/db/logs.sql" >/dev/null
eq "logs.sql applied again changes no tally row" "$(sig)" "$s1"
sql "UPDATE log_tally_hour SET n3 = n3 + 2 WHERE bucket = (SELECT max(bucket) FROM log_tally_hour)" >/dev/null
sql "UPDATE log_tally_minute SET rt_sum = rt_sum + 1 WHERE bucket = (SELECT min(bucket) FROM log_tally_minute)" >/dev/null
sql "DELETE FROM log_tally_minute WHERE bucket = (SELECT max(bucket) FROM log_tally_minute)" >/dev/null
psql_app -1 -f "$ROOT/db/logs.sql" >/dev/null
eq "logs.sql rebuilds tallies that do not add up to log_entries" "$(sig)" "$s1"
rollups_all_exact "after the rebuild"

# ---- a bad entry rejects the whole batch ----------------------------------------------------------
cat > "$F" <<EOF
[{"timestamp": "$now_iso", "level": "INFO", "message": "T31 good", "source_type": "sap"},
 {"timestamp": "$now_iso", "level": "TRACE", "message": "T31 bad", "source_type": "sap"},
 {"timestamp": "$now_iso", "level": "INFO", "message": "T31 bad", "source_type": "sap", "bogus": 1, "ip_address": "999.1.1.1"},
 {"timestamp": "yesterday", "level": "INFO", "message": "", "source_type": "syslog", "log_id": ""},
 {"level": "INFO", "message": "T31 bad"},
 {"timestamp": "$now_iso", "level": "INFO", "message": "T31 bad", "source_type": "sap",
  "http_status": 99, "response_time_ms": -1, "tags": [1], "structured_data": [], "request_id": "nope",
  "currency": "EU", "amount": "12", "is_anomaly": "yes", "host": "$(printf 'h%.0s' $(seq 256))",
  "error_details": "x", "http_method": "GETTTTTTTTT"},
 {"timestamp": "$now_iso", "level": "INFO", "message": "T31 bad", "source_type": "sap", "level": "INFO"},
 "not an object",
 {"timestamp": "$now_iso", "level": "INFO", "message": "T31 bad", "source_type": "sap", "http_status": 200.5, "response_time_ms": 100000000, "id": 5},
 {"timestamp": "2025-01-01T00:00:00+16:00", "level": "INFO", "message": "T31 bad", "source_type": "sap"}]
EOF
before=$(total)
post application/json "$F"
eq "bad batch: 400 INVALID_PARAMETER" "$STATUS $(jbody .error)" "400 INVALID_PARAMETER"
eq "bad batch: nothing written" "$(total)" "$before"
eq "bad batch: every bad index and field listed" \
  "$(jq -c '[.errors[] | "\(.index):\(.field)"] | sort' "$BODY")" \
  "$(printf '%s\n' 1:level 2:bogus 2:ip_address 3:timestamp 3:message 3:source_type 3:log_id 4:timestamp \
      4:source_type 5:http_status 5:response_time_ms 5:tags 5:structured_data 5:request_id 5:currency \
      5:amount 5:is_anomaly 5:host 5:error_details 5:http_method 6:level 7:null 8:http_status \
      8:response_time_ms 8:id 9:timestamp | jq -R . | jq -s -c 'sort')"
eq "bad batch: error_count and messages" "$(jq -c '[.error_count, all(.errors[]; .message | length > 5)]' "$BODY")" '[26,true]'

# ---- limits ------------------------------------------------------------------------------------
before=$(total)
python3 - "$F" "$now_iso" <<'EOF'
import json, sys
path, ts = sys.argv[1], sys.argv[2]
entry = {"timestamp": ts, "level": "INFO", "message": "T31 limit", "source_type": "sap"}
json.dump([entry] * 10001, open(path, "w"))
with open(path + ".nd", "w") as f:
    f.write((json.dumps(entry) + "\n") * 10001)
with open(path + ".max", "w") as f:
    json.dump([dict(entry, log_id="t31-max-%d" % i, message="T31 max %d" % i,
                    response_time_ms=i % 5000) for i in range(10000)], f)
# 15 MiB + 1 byte: one long message
big = 15 * 1024 * 1024 + 1
head = '[{"timestamp": "%s", "level": "INFO", "source_type": "sap", "message": "' % ts
tail = '"}]'
with open(path + ".big", "w") as f:
    f.write(head + "x" * (big - len(head) - len(tail)) + tail)
EOF
post application/json "$F"
eq "10,001 entries (JSON): 413 PAYLOAD_TOO_LARGE" "$STATUS $(jbody .error)" "413 PAYLOAD_TOO_LARGE"
post application/x-ndjson "$F.nd"
eq "10,001 lines (NDJSON): 413 PAYLOAD_TOO_LARGE" "$STATUS $(jbody .error)" "413 PAYLOAD_TOO_LARGE"
post application/json "$F.big"
eq "15 MiB + 1 byte: 413 PAYLOAD_TOO_LARGE from the route" "$STATUS $(jbody .error)" "413 PAYLOAD_TOO_LARGE"
eq "limits: nothing written" "$(total)" "$before"
t0=$(date +%s%N)
post application/json "$F.max"
ms=$((($(date +%s%N) - t0) / 1000000))
eq "10,000 entries: 200 inserted 10000 (${ms} ms)" "$STATUS $(jq -c '[.inserted, .duplicates]' "$BODY")" "200 [10000,0]"
eq "10,000 entries: in the table" "$(sql "SELECT count(*) FROM log_entries WHERE log_id LIKE 't31-max-%'")" 10000
rollups_all_exact "after 10,000 entries"

# ---- media type, JSON shape, auth ---------------------------------------------------------------
printf '[{"timestamp": "%s", "level": "INFO", "message": "T31 x", "source_type": "sap"}]' "$now_iso" > "$F"
before=$(total)
post text/plain "$F"
eq "text/plain: 415 UNSUPPORTED_MEDIA_TYPE" "$STATUS $(jbody .error)" "415 UNSUPPORTED_MEDIA_TYPE"
json_error() { # name body
  printf '%s' "$2" > "$F"
  post application/json "$F"
  eq "$1: 400 INVALID_JSON" "$STATUS $(jbody .error)" "400 INVALID_JSON"
}
json_error "truncated JSON" '[{"timestamp": '
json_error "not an array" '{"timestamp": "2025-01-01T00:00:00Z"}'
json_error "empty array" '[]'
json_error "empty body" ''
json_error "trailing text" '[] []'
json_error "leading zero number" '[{"http_status": 0200}]'
json_error "raw control character in a string" "$(printf '[{"message": "a\tb"}]')"
json_error "\\u0000 in a string" '[{"timestamp": "2025-01-01T00:00:00Z", "level": "INFO", "message": "a\u0000b", "source_type": "sap"}]'
json_error "lone surrogate" '[{"message": "\ud800"}]'
printf '\xff\xfe[]' > "$F"
post application/json "$F"
eq "invalid UTF-8: 400 INVALID_JSON" "$STATUS $(jbody .error)" "400 INVALID_JSON"
printf '{"timestamp": "%s", "level": "INFO", "message": "T31 ok", "source_type": "sap"}\n{"broken": \n\n[1,]\n' "$now_iso" > "$F"
post application/x-ndjson "$F"
eq "NDJSON with bad lines: 400 INVALID_JSON listing index and line" \
  "$(jq -c '[.error, [.errors[] | [.index, .line]]]' "$BODY")" '["INVALID_JSON",[[1,2],[2,4]]]'
eq "JSON errors: nothing written" "$(total)" "$before"
printf '[{"timestamp": "%s", "level": "INFO", "message": "T31 x", "source_type": "sap"}]' "$now_iso" > "$F"
http POST '/api/logs?dryRun=1' -H "Authorization: Bearer $(token admin)" \
  -H 'Content-Type: application/json' --data-binary "@$F"
eq "POST with a query parameter: 400 naming it" "$STATUS $(jbody .parameter)" "400 dryRun"
http POST /api/logs -H "Authorization: Bearer $(token reader read_logs)" -H 'Content-Type: application/json' --data-binary "@$F"
eq "token without ingest_logs: 403 FORBIDDEN" "$STATUS $(jbody .error)" "403 FORBIDDEN"
http POST /api/logs -H 'Content-Type: application/json' --data-binary "@$F"
eq "no token: 401" "$STATUS" 401
http POST /api/logs -H "Authorization: Bearer $(token ingester ingest_logs)" -H 'Content-Type: application/json' --data-binary "@$F"
eq "ingest_logs token: 200" "$STATUS $(jbody .inserted)" "200 1"
eq "auth and media errors: only the last batch written" "$(total)" "$((before + 1))"

LAST_DETAIL=$(sql "DELETE FROM log_entries WHERE log_id LIKE 't31-%' OR message LIKE 'T31 %'" 2>&1)
check "cleanup: test rows deleted" \
  test "$(sql "SELECT count(*) FROM log_entries WHERE log_id LIKE 't31-%' OR message LIKE 'T31 %'")" = 0
rollups_all_exact "after cleanup"
