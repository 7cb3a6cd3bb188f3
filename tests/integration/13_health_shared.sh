#!/usr/bin/env bash
# 13_health_shared.sh -- health checks that arrive together share one database round trip (a
# worker accepts every waiting request before answering the first); checks that arrive one
# after another never share one; the requests of a batch are all answered, also through a
# restart.
. "$(dirname "$0")/../lib.sh"

# One after another: each check sends its own round trip.
unshared=0
for _ in 1 2 3 4 5; do
  http GET /api/health
  [ "$STATUS" = 200 ] && [ "$(jbody .checks.database.shared)" = false ] && unshared=$((unshared + 1))
done
eq "checks one after another each send a round trip" "$unshared" 5

# Together: the health workers are paused while checks queue up on their socket.
queue_checks() { # count: starts that many checks in the background, into $RESP_DIR/batch.N
  local i
  rm -f "$RESP_DIR"/batch.*
  for i in $(seq "$1"); do
    curl -s --max-time 30 -o "$RESP_DIR/batch.$i" -H "X-Request-Id: queued-$1-$i" \
      "http://127.0.0.1:$HTTP_PORT/api/health" &
  done
  sleep 1 # nginx has connected every one of them to the workers' socket by now
}

pids=$(worker_pids health)
kill -STOP $pids
queue_checks 12
kill -CONT $pids
wait
answers=$(cat "$RESP_DIR"/batch.* | jq -s 'map(select(.status == "healthy" and .checks.database.status == "ok"))')
eq "all 12 queued checks are answered healthy" "$(jq length <<<"$answers")" 12
# A batch's access lines are written together, before its answers leave: every one is there.
eq "each of the 12 queued checks has its access line" \
  "$(grep -cE 'access route=health method=GET status=200 .*request_id=queued-12-[0-9]+ ' "$LOG_DIR/health.log")" 12
round_trips=$(jq 'map(select(.checks.database.shared == false)) | length' <<<"$answers")
check "12 queued checks took fewer than 12 round trips ($round_trips)" \
  [ "$round_trips" -ge 1 -a "$round_trips" -lt 12 ]
# A shared answer carries the latency of a round trip its own worker made.
check "each shared answer has the latency of its worker's round trip" jq -e '
  (map(select(.checks.database.shared == false) | [.worker.pid, .checks.database.latency_ms])) as $own
  | all(.[] | select(.checks.database.shared) | [.worker.pid, .checks.database.latency_ms];
        . as $s | any($own[]; . == $s))' <<<"$answers"

# A restart while checks wait: every one of them is answered, by the old or the new workers.
kill -STOP $pids
queue_checks 6
kill -USR2 $pids
kill -CONT $pids
wait
eq "6 checks queued across a restart are all answered" \
  "$(cat "$RESP_DIR"/batch.* | jq -s 'map(select(.status == "healthy")) | length')" 6
wait_workers_ready health " $(echo $pids) " >/dev/null
