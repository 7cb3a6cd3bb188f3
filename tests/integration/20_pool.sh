#!/usr/bin/env bash
# 20_pool.sh -- the pool as users see it through nginx: reuse, server hang-up between
# requests, database restart under load, database down at start, max_connections exhausted.
. "$(dirname "$0")/../lib.sh"

health_url="http://127.0.0.1:$HTTP_PORT/api/health"
app_conns() { psql_admin -tAc "SELECT count(*) FROM pg_stat_activity WHERE application_name LIKE 'elog:$1/%'"; }
# Sum of a pool figure over every live worker of the host (the shared segment).
fleet_figure() {
  ELOG_RUN_DIR="$RUN_DIR" as_app "$BUILD/tools/elogctl" budget-status |
    awk -v f="$1" '$1 == "worker" { for (i = 2; i < NF; i++) if ($i == f) s += $(i + 1) } END { print s + 0 }'
}

# 1. Reuse: 1000 sequential requests, one worker, exactly one server connection.
restack WORKERS_HEALTH=1
curl -s -o /dev/null -w '%{http_code}\n' "$health_url?n=[1-1000]" > "$RESP_DIR/reuse"
check "1000 sequential requests all 200" [ "$(grep -c '^200$' "$RESP_DIR/reuse")" = 1000 ]
http GET /api/health
LAST_DETAIL="connects $(jbody .checks.pool.connects), server side $(app_conns health)"
check "the worker opened exactly one connection for 1001 requests" [ "$(jbody .checks.pool.connects)" = 1 ]
check "the worker acquired it 1004 times (1001 requests and its 3 warm-up runs)" [ "$(jbody .checks.pool.acquires)" = 1004 ]
check "pg_stat_activity shows exactly one health connection" [ "$(app_conns health)" = 1 ]

# 2. Server hang-up while idle: terminate every pooled backend between requests.
before=$(fleet_figure reconnects)
codes=""
for i in $(seq 10); do
  psql_admin -tAc "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity WHERE application_name LIKE 'elog:%'" >/dev/null
  [ $((i % 2)) = 0 ] && sleep 1.2   # half the time past the trust window, half within it
  http GET /api/health
  codes+="$STATUS "
done
LAST_DETAIL="codes: $codes"
check "every request after a backend was terminated got 200" [ "$(echo "$codes" | tr ' ' '\n' | grep -c '^200$')" = 10 ]
after=$(fleet_figure reconnects)
LAST_DETAIL="reconnects $before -> $after"
check "the reconnects were counted" [ "$after" -ge $((before + 10)) ]
restack_default

# 3. Database restart under steady load: 503s only while it is down, then all 200.
pids_before=$(for r in $ROUTES; do worker_pids "$r"; done | tr ' ' '\n' | sort | tr '\n' ' ')
load() { # records "start_ns end_ns code retry_after" per request
  local end=$((SECONDS + 9)) t0 code
  while [ $SECONDS -lt $end ]; do
    t0=$(date +%s%N)
    code=$(curl -s -o /dev/null -D "$RESP_DIR/h.$1" -w '%{http_code}' --max-time 10 "$health_url")
    echo "$t0 $(date +%s%N) $code $(grep -ci '^Retry-After:' "$RESP_DIR/h.$1")"
  done > "$RESP_DIR/restart.$1"
}
load 1 & load 2 &
sleep 2
as_app "$PG_BIN/pg_ctl" -D "$PG_DIR/data" -m fast -w restart >/dev/null
up_ns=$(date +%s%N)
wait
cat "$RESP_DIR"/restart.[12] > "$RESP_DIR/restart.all"
bad=$(awk '$3 != 200 && !($3 == 503 && $4 == 1)' "$RESP_DIR/restart.all" | wc -l)
n503=$(awk '$3 == 503' "$RESP_DIR/restart.all" | wc -l)
slow503=$(awk '$3 == 503 && ($2 - $1) > 1000000000' "$RESP_DIR/restart.all" | wc -l)
late_fail=$(awk -v up="$up_ns" '$1 > up + 2000000000 && $3 != 200' "$RESP_DIR/restart.all" | wc -l)
late_total=$(awk -v up="$up_ns" '$1 > up + 2000000000' "$RESP_DIR/restart.all" | wc -l)
LAST_DETAIL="$(awk '{print $3}' "$RESP_DIR/restart.all" | sort | uniq -c | tr '\n' ' ')"
check "during the restart every answer was 200 or 503 with Retry-After" [ "$bad" = 0 ]
check "the down window produced 503s (the restart was seen)" [ "$n503" -ge 1 ]
check "every 503 came within 1 s" [ "$slow503" = 0 ]
LAST_DETAIL="$late_fail of $late_total failed"
check "from 2 s after the database is back every request succeeds" [ "$late_fail" = 0 -a "$late_total" -gt 20 ]
pids_after=$(for r in $ROUTES; do worker_pids "$r"; done | tr ' ' '\n' | sort | tr '\n' ' ')
LAST_DETAIL="$pids_before / $pids_after"
check "no worker restarted across the database restart" [ "$pids_before" = "$pids_after" ]

# 4. Database down at start: workers start, health says 503, then recovers by itself.
stack_stop
pg_stop
stack_start >/dev/null 2>&1
http GET /api/health
check "with the database down health answers 503" [ "$STATUS" = 503 ]
check "the 503 says unhealthy with the database error" jq -e '.status == "unhealthy" and .checks.database.status == "error"' "$BODY"
check "the 503 carries Retry-After" [ -n "$(header Retry-After)" ]
pg_start
check "health recovers by itself within 3 s of the database starting" \
  wait_until 3 bash -c "[ \"\$(curl -s -o /dev/null -w '%{http_code}' $health_url)\" = 200 ]"

# 5. Other clients take every slot of max_connections: 503 without hang or crash; recovery.
# POOL_MIN=0, so that no worker tops its pool up again before the other clients arrive.
restack POOL_MIN=0
curl -s -o /dev/null "$health_url"
psql_admin -tAc "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity WHERE application_name LIKE 'elog:%'" >/dev/null
pids_before=$(worker_pids health)
for i in $(seq 30); do
  PGAPPNAME=hog as_app psql "$DATABASE_URL" -X -q -c 'SELECT pg_sleep(30)' >/dev/null 2>&1 &
done
hogs() { psql_admin -tAc "SELECT count(*) FROM pg_stat_activity WHERE application_name = 'hog'"; }
for _ in $(seq 100); do [ "$(hogs)" -ge 22 ] && break; sleep 0.1; done
sleep 0.5
t0=$(date +%s%N)
http GET /api/health
took_ms=$((($(date +%s%N) - t0) / 1000000))
LAST_DETAIL="$STATUS in ${took_ms} ms: $(head -c 200 "$BODY")"
check "with max_connections taken, health answers 503 quickly" [ "$STATUS" = 503 -a "$took_ms" -lt 3000 ]
check "the message says the database is at max_connections" grep -q 'max_connections' "$BODY"
psql_admin -tAc "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity WHERE application_name = 'hog'" >/dev/null
check "service recovers when the other clients leave" \
  wait_until 3 bash -c "[ \"\$(curl -s -o /dev/null -w '%{http_code}' $health_url)\" = 200 ]"
LAST_DETAIL="$pids_before / $(worker_pids health)"
check "no worker crashed" [ "$pids_before" = "$(worker_pids health)" ]
restack_default
