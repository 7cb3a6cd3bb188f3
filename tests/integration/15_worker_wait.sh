#!/usr/bin/env bash
# 15_worker_wait.sh -- how workers wait between requests:
#  - a new connection on a route's socket wakes one of its waiting workers, not all of them
#    (the listen socket is registered EPOLLEXCLUSIVE; with poll() every idle worker woke for
#    every connection and all but one found nothing to accept);
#  - a worker that never waits, because requests keep coming, still does its pool upkeep: it
#    gives its connection back, between two requests, to a worker of another route waiting
#    for the budget.
. "$(dirname "$0")/../lib.sh"

switches() { # pids...: total voluntary context switches
  local p t=0
  for p in "$@"; do t=$((t + $(awk '/^voluntary_ctxt_switches/ {print $2}' "/proc/$p/status"))); done
  echo "$t"
}

# Four workers on one route; 300 requests one after another over one connection to nginx.
# /api/auth without a token answers 401 without the database, so each request costs its
# worker about one wake-up. With every idle worker woken per connection it would be four.
restack WORKERS_AUTH=4
pids=$(worker_pids auth)
N=300
urls=()
for _ in $(seq $N); do urls+=(-o /dev/null "http://127.0.0.1:$HTTP_PORT/api/auth"); done
before=$(switches $pids)
curl -s -w '%{http_code}\n' "${urls[@]}" > "$RESP_DIR/wake.codes"
after=$(switches $pids)
eq "the $N requests were answered 401" "$(grep -c '^401$' "$RESP_DIR/wake.codes")" $N
woken=$((after - before))
LAST_DETAIL="$woken wake-ups of 4 workers for $N requests"
echo "  $LAST_DETAIL"
check "4 workers woke fewer than 2 times a request" [ "$woken" -lt $((2 * N)) ]

# Budget 1, one worker a route, no connection kept warm. Eight clients keep /api/logs busy:
# its worker always finds the next request waiting, so it never sleeps in epoll_wait, and it
# holds the one connection between its requests. /api/health needs that connection.
restack DB_CONNECTION_BUDGET=1 POOL_MIN=0 WORKERS=1
wrk -t1 -c8 -d4s -H "Authorization: Bearer $(token admin)" \
  "http://127.0.0.1:$HTTP_PORT/api/logs?pageSize=1" > "$RESP_DIR/wrk.out" 2>&1 &
loader=$!
sleep 1
t0=$(date +%s%N)
http GET /api/health
took_ms=$((($(date +%s%N) - t0) / 1000000))
LAST_DETAIL="status $STATUS after $took_ms ms, waits $(jbody .checks.pool.waits)"
echo "  /api/health during the load: $LAST_DETAIL"
# Upkeep runs every 100 ms; then a connect. Without upkeep under load, the wait ran into the
# 2 s acquire timeout (503) or lasted until the loaded worker happened to find no request.
check "a route waiting for the budget is served within 600 ms while another's worker is under load" \
  [ "$STATUS" = 200 -a "$took_ms" -lt 600 ]
check "it did wait for the budget" [ "$(jbody .checks.pool.waits)" -ge 1 ]
wait "$loader"
logs_rps=$(awk '/Requests\/sec/ {printf "%d", $2}' "$RESP_DIR/wrk.out")
LAST_DETAIL="$(grep -E 'requests in|Non-2xx' "$RESP_DIR/wrk.out" | tr -s ' ' | tr '\n' ' ')"
check "the logs load really ran ($logs_rps requests/s)" [ "${logs_rps:-0}" -gt 100 ]
restack_default
