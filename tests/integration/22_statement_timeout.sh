#!/usr/bin/env bash
# 22_statement_timeout.sh -- a statement past DB_STATEMENT_TIMEOUT_MS gives 504 QUERY_TIMEOUT,
# quickly, and the same workers keep serving afterwards.
. "$(dirname "$0")/../lib.sh"

restack DB_STATEMENT_TIMEOUT_MS=500 WORKERS=1
pids_before="$(worker_pids logs) $(worker_pids health)"
get "/api/logs?pageSize=1"
check "logs answers 200 before the lock" [ "$STATUS" = 200 ]

# Another session holds an exclusive lock: every read of log_entries waits past the timeout.
psql_app -c "BEGIN; LOCK TABLE log_entries IN ACCESS EXCLUSIVE MODE; SELECT pg_sleep(4); COMMIT;" >/dev/null 2>&1 &
locker=$!
sleep 0.5
t0=$(date +%s%N)
get "/api/logs?pageSize=1"
took_ms=$((($(date +%s%N) - t0) / 1000000))
LAST_DETAIL="$STATUS after $took_ms ms: $(head -c 200 "$BODY")"
check "a statement past the timeout gives 504" [ "$STATUS" = 504 ]
check "the 504 body says QUERY_TIMEOUT" jq -e '.success == false and .error == "QUERY_TIMEOUT"' "$BODY"
check "the 504 came at the timeout, not later" [ "$took_ms" -lt 2000 ]
http GET /api/health
check "other routes keep serving during the lock" [ "$STATUS" = 200 ]
wait "$locker"
get "/api/logs?pageSize=1"
check "the same route serves again once the lock is gone" [ "$STATUS" = 200 ]
LAST_DETAIL="$pids_before / $(worker_pids logs) $(worker_pids health)"
check "no worker restarted" [ "$pids_before" = "$(worker_pids logs) $(worker_pids health)" ]
restack_default
