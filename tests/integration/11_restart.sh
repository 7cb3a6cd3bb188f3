#!/usr/bin/env bash
# 11_restart.sh -- cold starts on demand: `make restart` under load loses no request, later
# requests come from new processes, repeated restarts keep respawning, MAX_REQUESTS retires
# workers, and SIGTERM makes an idle worker exit promptly.
. "$(dirname "$0")/../lib.sh"

url="http://127.0.0.1:$HTTP_PORT/api/health"
before=" $(worker_pids health) "

for i in 1 2 3 4; do
  curl -s -o /dev/null -w '%{http_code}\n' "$url?load=$i&n=[1-300]" > "$RESP_DIR/load.$i" &
done
sleep 0.3
make -s -C "$ROOT" restart ROUTE=health VAR_DIR="$VAR_DIR" >/dev/null
sleep 0.3
make -s -C "$ROOT" restart VAR_DIR="$VAR_DIR" >/dev/null
wait
codes=$(cat "$RESP_DIR"/load.* | sort | uniq -c | tr -s ' ' | tr '\n' ';')
total=$(cat "$RESP_DIR"/load.* | wc -l)
ok=$(cat "$RESP_DIR"/load.* | grep -c '^200$')
LAST_DETAIL="codes: $codes"
check "all 1200 requests during two restarts got 200" [ "$total" = 1200 -a "$ok" = 1200 ]

wait_until 5 test "$(worker_pids health | wc -w)" = "$(route_workers health)"
after=" $(worker_pids health) "
overlap=0
for p in $after; do [[ "$before" == *" $p "* ]] && overlap=1; done
LAST_DETAIL="before:$before after:$after"
check "every worker was replaced" [ "$overlap" = 0 ]
http GET /api/health
LAST_DETAIL="served by $(header X-Worker-Pid), before:$before"
check "the next request is served by a new process" bash -c "[[ '$after' == *' $(header X-Worker-Pid) '* && '$before' != *' $(header X-Worker-Pid) '* ]]"
check "a new worker reports a short uptime" [ "$(jbody .worker.uptime_ms)" -lt 60000 ]

# Warm start: `make restart` returns once the new workers have connected and answered one GET
# internally, so none of them is still connecting when the first client arrives.
old=" $(worker_pids logs) "
make -s -C "$ROOT" restart ROUTE=logs VAR_DIR="$VAR_DIR" > "$RESP_DIR/restart.out"
fresh=$(ELOG_RUN_DIR="$RUN_DIR" as_app "$BUILD/tools/elogctl" budget-status |
        awk '$1 == "worker" && $2 == "logs"')
LAST_DETAIL="old:$old now: $fresh"
check "after make restart every logs worker is new and ready, with a connection open and no request served yet" \
  bash -c "[ \"\$(echo '$fresh' | awk -v old='$old' 'index(old, \" \" \$4 \" \") == 0 && \$6 == 1 && \$8 == 0 && \$10 >= 1' | wc -l)\" = 2 ]"
warm_ok=0
for pid in $(echo "$fresh" | awk '{print $4}'); do
  grep -q "logs\[$pid\] warm-up GET answered 200 (3 runs: [0-9.]*, [0-9.]*, [0-9.]* ms)" "$LOG_DIR/logs.log" && warm_ok=$((warm_ok + 1))
done
LAST_DETAIL="$warm_ok of 2; $(grep 'warm-up' "$LOG_DIR/logs.log" | tail -2)"
check "each new logs worker logged its 3 warm-up GETs answered 200 before accepting" [ "$warm_ok" = 2 ]
LAST_DETAIL=$(cat "$RESP_DIR/restart.out")
check "make restart reports when the new workers were ready" grep -q "new workers ready after [0-9]* ms" "$RESP_DIR/restart.out"
get "/api/logs?page=1"
check "the first request after the restart answers 200" [ "$STATUS" = 200 ]
connects=$(ELOG_RUN_DIR="$RUN_DIR" as_app "$BUILD/tools/elogctl" budget-status |
           awk '$1 == "worker" && $2 == "logs" {r += $8; c += $14} END {print r + 0, c + 0}')
eq "it opened no connection: the new logs workers served 1 request with the 2 connections of their warm-ups" "$connects" "1 2"

# Health runs one worker (the default): killed outright while checks keep coming, its checks
# are still answered. nginx retries the one in flight on the same socket, where the checks wait
# until multiwatch has respawned the worker.
eq "health runs one worker" "$(worker_pids health | wc -w)" 1
victim=$(worker_pids health)
for i in 1 2; do
  curl -s -o /dev/null -w '%{http_code}\n' "$url?kill=$i&n=[1-300]" > "$RESP_DIR/kill.$i" &
done
sleep 0.3
kill -9 "$victim"
wait
codes=$(cat "$RESP_DIR"/kill.* | sort | uniq -c | tr -s ' ' | tr '\n' ';')
LAST_DETAIL="codes: $codes"
check "600 checks across a kill -9 of the only health worker: at most one is not 200" \
  [ "$(cat "$RESP_DIR"/kill.* | grep -c '^200$')" -ge 599 ]
check "a new health worker took over" wait_until 3 test -n "$(worker_pids health | grep -vw "$victim")"

# Repeated restarts faster than multiwatch's default retry window keep respawning.
ok=0
for i in $(seq 8); do
  prev=" $(worker_pids health) "
  stack_restart health
  sleep 0.25
  http GET /api/health
  pid=$(header X-Worker-Pid)
  [ "$STATUS" = 200 ] && [[ "$prev" != *" $pid "* ]] && ok=$((ok + 1))
done
LAST_DETAIL="$ok of 8"
check "eight quick restarts in a row each serve from a fresh worker" [ "$ok" = 8 ]
check "every worker slot is still populated" \
  wait_until 3 test "$(worker_pids health | wc -w)" = "$(route_workers health)"

# SIGTERM: an idle worker exits promptly (well within the 100 ms poll tick plus exit).
victim=$(worker_pids health | awk '{print $1}')
kill -TERM "$victim"
# (Sanitized builds run a leak check at exit, which takes longer.)
limit=1
[ "${SANITIZE:-0}" = 1 ] && limit=3
check "an idle worker exits within $limit s of SIGTERM" wait_until "$limit" bash -c "! proc_alive $victim"
check "its exit was logged as clean" wait_until 2 grep -q "health\[$victim\] worker exiting (signal)" "$LOG_DIR/health.log"

# MAX_REQUESTS: one worker retiring every 5 requests still answers every request.
restack WORKERS=1 MAX_REQUESTS=5
pids=""
codes=""
for i in $(seq 16); do
  http GET /api/health
  codes+="$STATUS "
  pids+="$(header X-Worker-Pid) "
done
distinct=$(echo "$pids" | tr ' ' '\n' | sed '/^$/d' | sort -u | wc -l)
LAST_DETAIL="codes $codes pids $pids"
check "MAX_REQUESTS=5: 16 requests all 200" [ "$(echo "$codes" | tr ' ' '\n' | grep -c '^200$')" = 16 ]
check "MAX_REQUESTS=5: 16 requests came from 4 workers" [ "$distinct" = 4 ]
check "retirement is logged" grep -q "worker exiting (max requests) after 5 requests" "$LOG_DIR/health.log"
restack_default
