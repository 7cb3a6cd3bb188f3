#!/usr/bin/env bash
# 30_logs_get.sh -- GET /api/logs: body shape, every filter and count against SQL, literal
# search, order, pages, keyset cursor chains, the search count cap, parameter errors, auth.
. "$(dirname "$0")/../lib.sh"



# q NAME=VALUE...: GET /api/logs with each pair URL-encoded.
q() {
  local args=() a
  for a in "$@"; do args+=(--data-urlencode "$a"); done
  get /api/logs -G "${args[@]}"
}

iso() { sql "SELECT to_char(($1) AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.MS\"Z\"')"; }

# A fixed window with edges off minute and hour boundaries, so counts are exact and mix the
# rollups with the raw edges: [F, T).
F=$(iso "now() - interval '40 hours 13 minutes 7.123 seconds'")
T=$(iso "now() - interval '1 hour 2 minutes 3.456 seconds'")
W="\"timestamp\" >= '$F' AND \"timestamp\" < '$T'"
ANOMALY="(is_anomaly OR level IN ('ERROR', 'FATAL'))"

ids_sql() { # where [limit [offset]]: ids in API order as one comma list
  sql "SELECT coalesce(string_agg(id::text, ',' ORDER BY \"timestamp\" DESC, id DESC), '')
         FROM (SELECT id, \"timestamp\" FROM log_entries WHERE $1
                ORDER BY \"timestamp\" DESC, id DESC LIMIT ${2:-ALL} OFFSET ${3:-0}) s"
}
ids_api() { jq -r '[.data.logs[].id] | join(",")' "$BODY"; }

# ---- rows with LIKE metacharacters, for literal search (inside the window) -----------------
sql "DELETE FROM log_entries WHERE log_id LIKE 't30-%'" >/dev/null
sql "INSERT INTO log_entries (log_id, \"timestamp\", level, message, source_type)
     SELECT 't30-' || n, now() - interval '3 hours' - n * interval '1 second', 'INFO', m, 'sap'
       FROM (VALUES (1, 'Disk T30 100% full'), (2, 'Disk T30 100x full'),
                    (3, 'T30 bad user_name given'), (4, 'T30 bad userXname given'),
                    (5, 'T30 path C:\\temp\\x'), (6, 'T30 path C:tempx'),
                    (7, 'T30 percent %_\\ all three')) AS v(n, m)" >/dev/null

# ---- default request: shape and every field --------------------------------------------------
t0=$(sql "SELECT clock_timestamp()")
get /api/logs
t1=$(sql "SELECT clock_timestamp()")
eq "default: status 200" "$STATUS" 200
check "default: success, dataSource database, RFC 3339 timestamp" jq -e \
  '.success == true and .dataSource == "database" and
   (.timestamp | test("^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}\\.[0-9]{3}Z$"))' "$BODY"
check "default: top-level and data keys exactly" jq -e \
  '(keys == ["data", "dataSource", "success", "timestamp"]) and
   (.data | keys == ["logs", "pagination", "summary"])' "$BODY"
check "default: 50 logs, each with exactly the API.md fields and types" jq -e \
  '(.data.logs | length == 50) and all(.data.logs[];
     keys == ["category", "host", "id", "ipAddress", "isAnomaly", "level", "message",
              "responseTime", "service", "sessionId", "source", "tags", "timestamp"]
     and (.id | type == "string" and test("^[0-9]+$"))
     and (.timestamp | test("^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}\\.[0-9]{3}Z$"))
     and (.level | IN("DEBUG", "INFO", "WARN", "ERROR", "FATAL"))
     and (.source | IN("splunk", "sap", "application"))
     and (.responseTime | type == "number" or type == "null")
     and (.tags | type == "array") and (.isAnomaly | type == "boolean")
     and (.sessionId | type == "string" or type == "null")
     and (.ipAddress | type == "string" or type == "null"))' "$BODY"
check "default: summary keys, warning_count = warn_count, levels add up to total" jq -e \
  '.data.summary | (keys == ["debug_count", "error_count", "fatal_count", "info_count",
     "total_logs", "warn_count", "warning_count"]) and .warning_count == .warn_count and
   .total_logs == .debug_count + .info_count + .warn_count + .error_count + .fatal_count' "$BODY"
check "default: pagination fields" jq -e \
  '.data.pagination | keys == ["next_cursor", "page", "page_size", "total_count", "total_is_estimate",
     "total_pages"] and .page == 1 and .page_size == 50 and .total_is_estimate == false
   and .total_count == $root.data.summary.total_logs
   and .total_pages == ((.total_count + 49) / 50 | floor) and (.next_cursor | type == "string")' \
  --argjson root "$(cat "$BODY")" "$BODY"
got=$(jbody .data.pagination.total_count)
lo=$(sql "SELECT count(*) FROM log_entries WHERE \"timestamp\" >= '$t1'::timestamptz - interval '24 hours' AND \"timestamp\" < '$t0'")
hi=$(sql "SELECT count(*) FROM log_entries WHERE \"timestamp\" >= '$t0'::timestamptz - interval '24 hours' AND \"timestamp\" < '$t1'")
LAST_DETAIL="api $got, sql between $lo and $hi"
check "default: total_count is the SQL count of the last 24 h" test "$lo" -le "$got" -a "$got" -le "$hi"
first=$(jbody '.data.logs[0].id')
LAST_DETAIL="first $first"
check "default: first log is the newest row, fields equal to SQL" test "$(sql "
  SELECT json_build_object('id', id::text, 'level', level, 'message', message, 'source', source_type,
         'responseTime', response_time_ms, 'host', host, 'service', service, 'category', category,
         'tags', tags, 'isAnomaly', is_anomaly, 'sessionId', session_id, 'ipAddress', host(ip_address),
         'timestamp', to_char(\"timestamp\" AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.MS\"Z\"'))
    FROM log_entries WHERE \"timestamp\" < '$t0' ORDER BY \"timestamp\" DESC, id DESC LIMIT 1" |
  jq -S -c .)" = "$(jq -S -c '.data.logs[0]' "$BODY")"

# ---- exact counts over the fixed window, each filter -------------------------------------------
summary_sql() { # where: the summary object SQL computes
  sql "SELECT json_build_object('debug_count', count(*) FILTER (WHERE level = 'DEBUG'),
         'error_count', count(*) FILTER (WHERE level = 'ERROR'),
         'fatal_count', count(*) FILTER (WHERE level = 'FATAL'),
         'info_count', count(*) FILTER (WHERE level = 'INFO'), 'total_logs', count(*),
         'warn_count', count(*) FILTER (WHERE level = 'WARN'),
         'warning_count', count(*) FILTER (WHERE level = 'WARN')) FROM log_entries WHERE $1"
}
window_case() { # name where params...
  local name=$1 where=$2
  shift 2
  q timeRange=custom "from=$F" "to=$T" "$@"
  eq "$name: status 200" "$STATUS" 200
  eq "$name: summary equals SQL" "$(jq -S -c .data.summary "$BODY")" "$(summary_sql "$where" | jq -S -c .)"
  eq "$name: total_count equals SQL" "$(jbody .data.pagination.total_count)" \
    "$(sql "SELECT count(*) FROM log_entries WHERE $where")"
  eq "$name: first page ids equal SQL" "$(ids_api)" "$(ids_sql "$where" 50)"
}
window_case "custom window" "$W"
window_case "level=ERROR" "$W AND level = 'ERROR'" level=ERROR
window_case "level=warning (alias, lower case)" "$W AND level = 'WARN'" level=warning
window_case "level=FATAL" "$W AND level = 'FATAL'" level=FATAL
window_case "source=SPLUNK (upper case)" "$W AND source_type = 'splunk'" source=SPLUNK
window_case "source=application" "$W AND source_type = 'application'" source=application
window_case "filter=anomaly" "$W AND $ANOMALY" filter=anomaly
window_case "level=ERROR&source=sap&filter=anomaly" \
  "$W AND level = 'ERROR' AND source_type = 'sap' AND $ANOMALY" level=ERROR source=sap filter=anomaly
window_case "level=INFO&source=Sap (search-free combination)" \
  "$W AND level = 'INFO' AND source_type = 'sap'" level=INFO source=Sap

# A window inside one minute (raw rows only) and one spanning exactly whole hours.
F1=$(iso "date_trunc('minute', now() - interval '5 hours') + interval '10.5 seconds'")
T1=$(iso "date_trunc('minute', now() - interval '5 hours') + interval '50.25 seconds'")
q timeRange=custom "from=$F1" "to=$T1"
eq "window inside one minute: total equals SQL" "$(jbody .data.pagination.total_count)" \
  "$(sql "SELECT count(*) FROM log_entries WHERE \"timestamp\" >= '$F1' AND \"timestamp\" < '$T1'")"
F2=$(iso "date_trunc('hour', now() - interval '30 hours')")
T2=$(iso "date_trunc('hour', now() - interval '2 hours')")
q timeRange=custom "from=$F2" "to=$T2" level=debug
eq "whole-hour window: total equals SQL" "$(jbody .data.pagination.total_count)" \
  "$(sql "SELECT count(*) FROM log_entries WHERE \"timestamp\" >= '$F2' AND \"timestamp\" < '$T2' AND level = 'DEBUG'")"
q timeRange=custom "from=2025-01-01T00:00:00+02:00" "to=2025-01-01T00:00:00.001+02:00"
eq "offset from/to accepted, empty window: total 0, no cursor" \
  "$(jq -c '[.data.pagination.total_count, .data.pagination.total_pages, .data.pagination.next_cursor, (.data.logs | length)]' "$BODY")" \
  '[0,0,null,0]'

# ---- relative time ranges: the route's "now" lies between two SQL clocks ------------------------
for r in 1h:1 6h:6 24h:24 7d:168 30d:720; do
  name=${r%%:*} hours=${r##*:}
  t0=$(sql "SELECT clock_timestamp()")
  q "timeRange=$name" source=splunk
  t1=$(sql "SELECT clock_timestamp()")
  got=$(jbody .data.pagination.total_count)
  lo=$(sql "SELECT count(*) FROM log_entries WHERE source_type = 'splunk' AND \"timestamp\" >= '$t1'::timestamptz - interval '$hours hours' AND \"timestamp\" < '$t0'")
  hi=$(sql "SELECT count(*) FROM log_entries WHERE source_type = 'splunk' AND \"timestamp\" >= '$t0'::timestamptz - interval '$hours hours' AND \"timestamp\" < '$t1'")
  LAST_DETAIL="status $STATUS api $got, sql between $lo and $hi"
  check "timeRange=$name: total_count equals SQL" test "$STATUS" = 200 -a "$lo" -le "$got" -a "$got" -le "$hi"
done

# ---- search: case-insensitive substring, %, _ and \ literal --------------------------------------
search_case() { # name term
  local lit
  lit=$(printf '%s' "$2" | sed "s/'/''/g")
  q timeRange=custom "from=$F" "to=$T" "search=$2"
  eq "search $1: status 200" "$STATUS" 200
  eq "search $1: ids equal SQL literal substring match" "$(ids_api)" \
    "$(ids_sql "$W AND strpos(lower(message), lower('$lit')) > 0" 50)"
  eq "search $1: total exact" "$(jq -c '[.data.pagination.total_count, .data.pagination.total_is_estimate]' "$BODY")" \
    "[$(sql "SELECT count(*) FROM log_entries WHERE $W AND strpos(lower(message), lower('$lit')) > 0"),false]"
}
search_case "100% (percent literal)" "100%"
search_case "user_name (underscore literal)" "user_name"
search_case "C:\\temp (backslash literal)" 'C:\temp'
search_case "%_\\ together" '%_\'
search_case "case-insensitive disk t30" "disk t30"
eq "search 100%: exactly the one row" "$(q timeRange=custom "from=$F" "to=$T" "search=100%"; jq -c '[.data.logs[].message]' "$BODY")" \
  '["Disk T30 100% full"]'
search_case "a phrase of the demo data" "connection failed"
q "search=" level=FATAL timeRange=custom "from=$F" "to=$T"
eq "empty search is no filter" "$(jbody .data.pagination.total_count)" \
  "$(sql "SELECT count(*) FROM log_entries WHERE $W AND level = 'FATAL'")"

# The count cap: a term matching more than 1,000 rows in the window counts the newest 1,000 and
# says so; one matching exactly as many as the cap is still exact.
many=$(sql "SELECT count(*) FROM log_entries WHERE strpos(lower(message), 'e') > 0
              AND \"timestamp\" >= now() - interval '30 days'")
if [ "$many" -gt 1000 ]; then
  q timeRange=30d search=E
  eq "search past the cap: total 1000, flagged estimate" \
    "$(jq -c '[.data.pagination.total_count, .data.pagination.total_is_estimate, .data.pagination.total_pages]' "$BODY")" \
    '[1000,true,20]'
  eq "search past the cap: summary counts the newest 1,000 matches" \
    "$(jq -S -c .data.summary "$BODY")" \
    "$(summary_sql "id IN (SELECT id FROM log_entries WHERE strpos(lower(message), 'e') > 0
         AND \"timestamp\" >= now() - interval '30 days' AND \"timestamp\" < now()
         ORDER BY \"timestamp\" DESC, id DESC LIMIT 1000)" | jq -S -c .)"
  # A window holding exactly 1,000 matches: the newest 1,000 matches' time span.
  read -r cf ct < <(sql "SELECT to_char(date_trunc('milliseconds', min(t)) AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.MS\"Z\"'),
                                to_char(date_trunc('milliseconds', max(t)) AT TIME ZONE 'UTC' + interval '1 millisecond', 'YYYY-MM-DD\"T\"HH24:MI:SS.MS\"Z\"')
                           FROM (SELECT \"timestamp\" AS t FROM log_entries
                                  WHERE strpos(lower(message), 'e') > 0 AND \"timestamp\" < now()
                                  ORDER BY \"timestamp\" DESC, id DESC LIMIT 1000) x" | tr '|' ' ')
  exact=$(sql "SELECT count(*) FROM log_entries WHERE strpos(lower(message), 'e') > 0
                 AND \"timestamp\" >= '$cf' AND \"timestamp\" < '$ct'")
  q timeRange=custom "from=$cf" "to=$ct" search=E
  eq "search at the cap: $exact matches counted exactly when not over 1,000" \
    "$(jq -c '[.data.pagination.total_count, .data.pagination.total_is_estimate]' "$BODY")" \
    "$([ "$exact" -gt 1000 ] && echo '[1000,true]' || echo "[$exact,false]")"
  check "search at the cap: the window holds at least 1,000 matches" test "$exact" -ge 1000
else
  fail "search past the cap" "only $many rows contain 'e' in 30 days; the seed should give more than 1000"
fi

# Search pages: inside the counted matches (cut from them), at their end, past them (a walk of
# their own), and after a cursor; each equals SQL's page of the same literal match.
SF=$(iso "now() - interval '30 days'") ST=$(iso "now()")
SW="\"timestamp\" >= '$SF' AND \"timestamp\" < '$ST' AND strpos(lower(message), 'e') > 0"
for pg in 3:80 25:960 26:1000 40:1560; do
  q timeRange=custom "from=$SF" "to=$ST" search=E pageSize=40 "page=${pg%%:*}"
  eq "search page ${pg%%:*} (rows ${pg##*:}+): ids equal SQL" "$(ids_api)" "$(ids_sql "$SW" 40 "${pg##*:}")"
  eq "search page ${pg%%:*}: a next_cursor, the cap flagged" \
    "$(jq -c '[(.data.pagination.next_cursor | type), .data.pagination.total_is_estimate]' "$BODY")" '["string",true]'
done
q timeRange=custom "from=$SF" "to=$ST" search=E pageSize=40 page=25
c25=$(jbody .data.pagination.next_cursor)
q timeRange=custom "from=$SF" "to=$ST" search=E pageSize=40 "cursor=$c25"
eq "search after a cursor at the cap's end: ids equal SQL rows 1000+" "$(ids_api)" "$(ids_sql "$SW" 40 1000)"

# ---- order, offset pages ----------------------------------------------------------------------
q timeRange=custom "from=$F" "to=$T" pageSize=500
eq "pageSize=500: ids in timestamp DESC, id DESC order equal SQL" "$(ids_api)" "$(ids_sql "$W" 500)"
check "pageSize=500: timestamps never increase" jq -e \
  '[.data.logs[].timestamp] as $t | all(range(1; $t | length); $t[. - 1] >= $t[.])' "$BODY"
q timeRange=custom "from=$F" "to=$T" pageSize=7 page=3 level=WARN
eq "page=3&pageSize=7: ids equal SQL OFFSET 14" "$(ids_api)" "$(ids_sql "$W AND level = 'WARN'" 7 14)"
tc=$(sql "SELECT count(*) FROM log_entries WHERE $W AND level = 'WARN'")
eq "page=3&pageSize=7: totals" "$(jq -c '[.data.pagination.page, .data.pagination.page_size, .data.pagination.total_count, .data.pagination.total_pages]' "$BODY")" \
  "[3,7,$tc,$(((tc + 6) / 7))]"
last=$(((tc + 6) / 7))
q timeRange=custom "from=$F" "to=$T" pageSize=7 "page=$last" level=WARN
eq "last page: rest of the rows, no next_cursor" "$(jq -c '[(.data.logs | length), .data.pagination.next_cursor]' "$BODY")" \
  "[$((tc - (last - 1) * 7)),null]"

# ---- keyset cursor chain through a filtered set ------------------------------------------------
where="$W AND source_type = 'sap' AND $ANOMALY"
want=$(ids_sql "$where")
all="" pages=0 cursor=""
while :; do
  if [ -z "$cursor" ]; then
    q timeRange=custom "from=$F" "to=$T" source=sap filter=anomaly pageSize=40
  else
    q timeRange=custom "from=$F" "to=$T" source=sap filter=anomaly pageSize=40 "cursor=$cursor"
  fi
  [ "$STATUS" = 200 ] || break
  pages=$((pages + 1))
  all="$all${all:+,}$(ids_api)"
  cursor=$(jbody '.data.pagination.next_cursor // empty')
  [ -n "$cursor" ] && [ $pages -lt 1000 ] || break
done
LAST_DETAIL="pages $pages"
check "cursor chain: several pages" test "$pages" -ge 3
eq "cursor chain: every id once, in order, as SQL has them" "$all" "$want"
eq "cursor chain: no repeats" "$(echo "$all" | tr ',' '\n' | sort | uniq -d | wc -l)" 0
q timeRange=custom "from=$F" "to=$T" source=sap filter=anomaly pageSize=40
c1=$(jbody .data.pagination.next_cursor)
q timeRange=custom "from=$F" "to=$T" source=sap filter=anomaly pageSize=40 page=2
eq "cursor page equals offset page 2" "$(q timeRange=custom "from=$F" "to=$T" source=sap filter=anomaly pageSize=40 "cursor=$c1"; ids_api)" \
  "$(q timeRange=custom "from=$F" "to=$T" source=sap filter=anomaly pageSize=40 page=2; ids_api)"

# ---- bad values: 400 naming the parameter, nothing else --------------------------------------
bad() { # name parameter params...
  local name=$1 param=$2
  shift 2
  q "$@"
  LAST_DETAIL="status $STATUS body $(head -c 300 "$BODY")"
  check "400 $name" jq -e --arg p "$param" \
    '.success == false and .error == "INVALID_PARAMETER" and .parameter == $p and (.message | length > 0)' "$BODY"
  [ "$STATUS" = 400 ] || fail "400 $name: status" "$STATUS"
}
bad "bad level" level level=TRACE
bad "bad source" source source=syslog
bad "bad timeRange" timeRange timeRange=2h
bad "page=0" page page=0
bad "page past the cap" page page=10001
bad "pageSize=501" pageSize pageSize=501
bad "pageSize=0" pageSize pageSize=0
bad "pageSize=abc" pageSize pageSize=abc
bad "search of 201 bytes" search "search=$(printf 'x%.0s' $(seq 201))"
bad "custom without from" from timeRange=custom "to=$T"
bad "custom without to" to timeRange=custom "from=$F"
bad "from after to" from timeRange=custom "from=$T" "to=$F"
bad "from equal to" from timeRange=custom "from=$F" "to=$F"
bad "from not RFC 3339" from timeRange=custom from=yesterday "to=$T"
bad "from without custom" from "from=$F"
bad "to with timeRange=24h" to timeRange=24h "to=$T"
bad "bad filter" filter filter=errors
bad "cursor not base64url" cursor 'cursor=!!!'
bad "cursor of wrong content" cursor "cursor=$(printf 'abc' | base64 | tr -d '=')"
bad "cursor with a sign" cursor "cursor=$(printf '+1:2' | base64 | tr -d '=' | tr '+/' '-_')"
bad "cursor with id 0" cursor "cursor=$(printf '1:0' | base64 | tr -d '=' | tr '+/' '-_')"
bad "cursor with page=2" cursor "cursor=$c1" page=2
bad "unknown parameter" foo foo=1
bad "parameter given twice" level level=INFO level=WARN

# ---- auth ---------------------------------------------------------------------------------------
http GET /api/logs
eq "no token: 401" "$STATUS" 401
check "no token: UNAUTHORIZED body and WWW-Authenticate" test "$(jbody .error)" = UNAUTHORIZED -a -n "$(header WWW-Authenticate)"
http GET /api/logs -H "Authorization: Bearer $(token viewer)"
eq "viewer token (view_dashboard only): 403 FORBIDDEN" "$STATUS $(jbody .error)" "403 FORBIDDEN"
http GET /api/logs -H "Authorization: Bearer $(token reader read_logs)"
eq "read_logs token: 200" "$STATUS" 200

# A search runs in its own transaction (BEGIN; SET LOCAL plan_cache_mode = force_custom_plan;
# the statement; COMMIT): successful searches commit it, so the pool never has to roll one back
# (a missing COMMIT shows as rollbacks in pg_stat_database, flushed within a second or so).
rollbacks() { sleep 2; sql "SELECT xact_rollback FROM pg_stat_database WHERE datname = current_database()"; }
before=$(rollbacks)
ok=0
for p in 1 2 3 4 5; do get "/api/logs?search=timeout&page=$p"; [ "$STATUS" = 200 ] && ok=$((ok + 1)); done
after=$(rollbacks)
eq "five searches answer 200 and leave no transaction to roll back" "$ok $after" "5 $before"

LAST_DETAIL=$(sql "DELETE FROM log_entries WHERE log_id LIKE 't30-%'" 2>&1)
check "cleanup: test rows deleted" test "$(sql "SELECT count(*) FROM log_entries WHERE log_id LIKE 't30-%'")" = 0
