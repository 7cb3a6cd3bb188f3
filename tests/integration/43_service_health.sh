#!/usr/bin/env bash
# 43_service_health.sh -- /api/service_health: a well-formed tree whose parents take the worst
# child, one API child per running route, figures against SQL and the workers, and an honest
# "critical" while the database is down.
. "$(dirname "$0")/../lib.sh"

# Status ranks as documented in service_health.c: healthy < unknown < warning < degraded < critical.
RANKS='{"healthy":0,"unknown":1,"warning":2,"degraded":3,"critical":4}'

get /api/service_health
check "service_health answers 200" [ "$STATUS" = 200 ]
check "every node is well-formed" jq -e '[.services[] | recurse(.children[]?)] | length > 0 and all(
  (.name | type == "string") and (.status | IN("healthy","warning","degraded","critical","unknown"))
  and (.importance | type == "number") and (.responseTime | type == "number" or . == null)
  and (.uptime | type == "number" or . == null) and (.description | type == "string")
  and ((has("children") | not) or (.children | type == "array")))' "$BODY"
check "parents take the worst child" jq -e --argjson r "$RANKS" '[.services[] | recurse(.children[]?) | select(.children)
  | ($r[.status]) >= ([.children[] | $r[.status]] | max // 0)] | all' "$BODY"
check "overall_status is the worst top-level status" jq -e --argjson r "$RANKS" '.overall_status == ([.services[].status] | max_by($r[.]))' "$BODY"
check "top level is Database Services, API Services, Log Ingestion" jq -e '[.services[].name] == ["Database Services","API Services","Log Ingestion"]' "$BODY"
check "Database Services holds PostgreSQL Primary with Connection Pool and Query Processor" jq -e '.services[0].children[0]
  | .name == "PostgreSQL Primary" and ([.children[].name] == ["Connection Pool","Query Processor"])' "$BODY"
check "the database is measured live" jq -e '.services[0].children[0] | .status != "critical" and .responseTime > 0
  and .uptime > 0 and (.children[1].responseTime | type == "number")' "$BODY"
check "PostgreSQL uptime is the server's" [ "$(sql "SELECT abs(extract(epoch FROM now() - pg_postmaster_start_time()) - $(jbody '.services[0].children[0].uptime')) < 5")" = t ]

# One API child per route that has running workers, with their count.
ok=1
for r in $ROUTES; do
  n=$(worker_pids "$r" | wc -w)
  [ "$n" -gt 0 ] || continue
  jq -e --arg name "/api/$r" --arg n "$n " '[.services[1].children[] | select(.name == $name) | .description | startswith($n)] == [true]' "$BODY" >/dev/null ||
    { ok=0; LAST_DETAIL="/api/$r with $n workers: $(jq -c --arg name "/api/$r" '.services[1].children[] | select(.name == $name)' "$BODY")"; }
done
check "one API child per running route, with its worker count" [ "$ok" = 1 ]
check "no API child for a route that does not run" jq -e --arg routes " $ROUTES " '[.services[1].children[].name | ltrimstr("/api/")] | all(. as $n | $routes | contains(" " + $n + " "))' "$BODY"

# Each API child's status follows the documented thresholds on its own figures.
check "API children follow the 5xx and latency thresholds" jq -e '[.services[1].children[]
  | (.description | capture("; (?<req>[0-9]+) requests, (?<err>[0-9]+) answered 5xx")) as $f
  | (if ($f.req | tonumber) > 0 then ($f.err | tonumber) * 100 / ($f.req | tonumber) else 0 end) as $share
  | ([(if $share >= 20 then 4 elif $share >= 5 then 3 elif $share >= 1 then 2 else 0 end),
      (if .responseTime == null then 0 elif .responseTime >= 5000 then 3 elif .responseTime >= 1000 then 2 else 0 end)] | max) as $w
  | .status == ["healthy", "unknown", "warning", "degraded", "critical"][$w]] | all' "$BODY"

# Log Ingestion: the last hour's logs, sampled before and after the request (the hour's lower
# edge moves; when the two samples agree, the route must agree with them).
same=0
for _ in 1 2 3 4 5; do
  b=$(sql "SELECT count(*) || ' logs in the last hour, ' || count(*) FILTER (WHERE level IN ('ERROR', 'FATAL')) || ' ERROR/FATAL'
             FROM log_entries WHERE timestamp >= now() - interval '1 hour' AND timestamp < now()")
  get /api/service_health
  a=$(sql "SELECT count(*) || ' logs in the last hour, ' || count(*) FILTER (WHERE level IN ('ERROR', 'FATAL')) || ' ERROR/FATAL'
             FROM log_entries WHERE timestamp >= now() - interval '1 hour' AND timestamp < now()")
  [ "$a" = "$b" ] && { same=1; break; }
done
LAST_DETAIL="route $(jq -c '.services[2]' "$BODY") sql $a"
check "Log Ingestion counts the last hour's logs" jq -e --arg a "$a" --argjson same "$same" '$same == 1 and (.services[2].description | startswith($a))' "$BODY"
check "Connection Pool reports the host budget" jq -e --arg b "of $(ELOG_RUN_DIR="$RUN_DIR" as_app "$BUILD/tools/elogctl" budget-status | awk 'NR == 1 {print $2}') budgeted" '.services[0].children[0].children[0] | .status != "unknown" and (.description | contains($b))' "$BODY"

# Permissions and parameters.
http GET /api/service_health -H "Authorization: Bearer $(token viewer)"
check "viewer (view_dashboard) gives 200" [ "$STATUS" = 200 ]
http GET /api/service_health -H "Authorization: Bearer $(token reader read_logs)"
check "a read_logs-only token gives 403" [ "$STATUS" = 403 ]
get "/api/service_health?deep=1"
check "unknown parameter gives 400 naming it" jq -e '.error == "INVALID_PARAMETER" and .parameter == "deep"' "$BODY"

# The database down: the tree says so (critical, not measured), the workers are still listed.
pg_stop
get /api/service_health
LAST_DETAIL="status $STATUS $(jq -c '{overall_status, db: .services[0].children[0] | del(.children), api: .services[1].status, ingest: .services[2].status}' "$BODY")"
check "database down: 200 with Database Services critical" jq -e '.overall_status == "critical" and .services[0].status == "critical"
  and .services[0].children[0].responseTime == null and (.services[0].children[0].description | startswith("Unreachable"))' "$BODY"
check "database down: Query Processor and Log Ingestion are unknown, API Services listed" jq -e '.services[0].children[0].children[1].status == "unknown"
  and .services[2].status == "unknown" and (.services[1].children | length) > 0' "$BODY"
check "database down: no Retry-After on the 200" [ -z "$(header Retry-After)" ]
pg_start
check "database back: healthy again" wait_until 15 bash -c "curl -s -H 'Authorization: Bearer $(token admin)' http://127.0.0.1:$HTTP_PORT/api/service_health | jq -e '.services[0].status != \"critical\"'"
