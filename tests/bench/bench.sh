#!/usr/bin/env bash
# bench.sh -- `make bench`: wrk through nginx on every GET route at 1M rows over the last 24 h,
# against a bare libfcgi "hello" on the same nginx (the ceiling); with the server-side
# connections, worker RSS and cold-start latency, all measured in this one run.
#
# The bench database lives in BENCH_DIR (default var/bench) and is seeded once, then reused
# while it is younger than BENCH_MAX_AGE_S (default 3600: past that the 1-hour window is empty).
# Exits 1 when any target is missed.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
BENCH_DIR=${BENCH_DIR:-$ROOT/var/bench}
BENCH_ROWS=${BENCH_ROWS:-1000000}
BENCH_HOURS=24
BENCH_MAX_AGE_S=${BENCH_MAX_AGE_S:-3600}
BENCH_SECONDS=${BENCH_SECONDS:-10}
COLD_REPEATS=${COLD_REPEATS:-5}
CONNECTIONS=16
export AUTH_REQUIRED=1 WORKERS=2
# shellcheck source=tests/bench/lib.sh
. "$ROOT/tests/bench/lib.sh"
HELLO=bench_hello
SAMPLER_APP=elog-bench-sampler

# Issue targets: share of the ceiling's requests/s; routes not named get the dashboard share.
target_ratio() {
  case $1 in
  /api/health) echo 0.9 ;;
  /api/logs | /api/metrics) echo 0.05 ;;
  "/api/logs?level=ERROR&timeRange=1h") echo 0.1 ;;
  "/api/logs?search=timeout&page=3") echo 0.005 ;;
  *) echo 0.02 ;;
  esac
}
TAIL_MAX=5        # p99 <= 5 x p50
RSS_MAX_KB=4096   # worker RSS <= 4 MiB
COLD_MAX_MS=10    # cold-start first request p50 < 10 ms

now_s() { date +%s.%N; }
elapsed() { awk -v a="$1" -v b="$(now_s)" 'BEGIN {printf "%.1f s", b - a}'; }

sampler_stop() {
  [ -n "${SAMPLER_PID:-}" ] || return 0
  psql_admin -tAc "SELECT pg_terminate_backend(pid) FROM pg_stat_activity
                   WHERE application_name = '$SAMPLER_APP'" >/dev/null 2>&1 || true
  wait "$SAMPLER_PID" 2>/dev/null || true
  SAMPLER_PID=
}

cleanup() {
  trap - EXIT INT TERM
  sampler_stop
  kill_and_wait "$RUN_DIR/$HELLO.pid" TERM
  rm -f "$RUN_DIR/$HELLO.sock"
  stack_stop >/dev/null 2>&1 || true
  pg_stop >/dev/null 2>&1 || true
}

# ---- the database: seeded once, reused while fresh ---------------------------------------

bench_claim_folder
trap cleanup EXIT
trap 'exit 130' INT TERM
bench_start_cluster
LOAD_AT_START=$(cut -d' ' -f1-3 /proc/loadavg)
t0=$(now_s)
db_apply_schema
echo "bench folder $BENCH_DIR: schema applied in $(elapsed "$t0")"

marker=$BENCH_DIR/seeded-at
seeded_at=0 seeded_rows=0
[ -s "$marker" ] && read -r seeded_at seeded_rows _ < "$marker"
have=$(psql_app -tAc 'SELECT count(*) FROM log_entries')
age=$(($(date +%s) - seeded_at))
reseed=""
if [ "$seeded_at" = 0 ]; then
  reseed="no bench data yet"
elif [ "$seeded_rows" != "$BENCH_ROWS" ] || [ "$have" != "$BENCH_ROWS" ]; then
  reseed="log_entries holds $have rows, the bench wants $BENCH_ROWS"
elif [ "$age" -gt "$BENCH_MAX_AGE_S" ]; then
  reseed="the data was seeded $((age / 60)) min ago, so the last hour holds none of it and the 24-hour window only part"
fi
if [ -n "$reseed" ]; then
  echo "seeding $BENCH_ROWS rows over the last $BENCH_HOURS h ($reseed)..."
  t0=$(now_s)
  seed_start=$(date +%s)
  as_app "$BUILD/tools/seed" --rows "$BENCH_ROWS" --hours "$BENCH_HOURS" --truncate >/dev/null
  echo "  seeded in $(elapsed "$t0")"
  echo "$seed_start $BENCH_ROWS $BENCH_HOURS" > "$marker"
  age=$(($(date +%s) - seed_start))
else
  echo "reusing $have rows seeded $((age / 60)) min ago (re-seeded past $((BENCH_MAX_AGE_S / 60)) min)"
fi
if [ -x "$BUILD/tools/ml_batch" ]; then
  t0=$(now_s)
  if batch=$(as_app "$BUILD/tools/ml_batch" 2> "$OUT/ml_batch.err"); then
    echo "  $batch (took $(elapsed "$t0"))"
  else
    echo "  ML BATCH FAILED (the ML routes run on the predictions already stored):"
    head -3 "$OUT/ml_batch.err" | sed 's/^/    /'
  fi
fi
[ -x "$BUILD/tools/demo_users" ] && as_app "$BUILD/tools/demo_users" "$BENCH_DIR/demo-credentials" >/dev/null
# What autovacuum would have done on a live table (quick when nothing changed since).
t0=$(now_s)
psql_app -c 'SET client_min_messages = error' -c 'VACUUM (ANALYZE)' >/dev/null
echo "  vacuum analyze in $(elapsed "$t0")"
read -r have n1h e1h predictions size < <(psql_app -tA -F ' ' -c "
  SELECT count(*), count(*) FILTER (WHERE timestamp > now() - interval '1 hour'),
         count(*) FILTER (WHERE timestamp > now() - interval '1 hour' AND level = 'ERROR'),
         (SELECT count(*) FROM ml_predictions), pg_size_pretty(pg_database_size(current_database()))
    FROM log_entries")
echo "data: $have rows ($n1h in the last hour, $e1h of them ERROR), $predictions ML predictions, database $size"

# ---- the stack, and the hello ceiling on the same nginx ---------------------------------

ensure_jwt_secret
TOKEN=$("$BUILD/tools/elogctl" token 1 admin admin read_logs,view_dashboard,analyze_logs,ingest_logs,manage_system)
AUTH="Authorization: Bearer $TOKEN"
( stack_start ) > "$OUT/stack-start.txt" 2>&1 || { cat "$OUT/stack-start.txt"; die "the stack did not start"; }
grep -E '^(budget|server):' "$OUT/stack-start.txt" | sed 's/^/stack: /' || true

${CC:-cc} -std=c11 -O2 -Wall -Wextra -Werror -o "$BENCH_DIR/hello" "$ROOT/tests/bench/hello.c" -lfcgi
chmod 755 "$BENCH_DIR/hello"
rm -f "$RUN_DIR/$HELLO.sock"
"${AS_APP[@]}" spawn-fcgi -n -s "$RUN_DIR/$HELLO.sock" -M 0660 -- \
  /usr/bin/multiwatch -f "$WORKERS" -r 1000000 -t 1000 -s TERM -- "$BENCH_DIR/hello" \
  >>"$LOG_DIR/$HELLO.log" 2>&1 &
echo $! > "$RUN_DIR/$HELLO.pid"
wait_for_file "$RUN_DIR/$HELLO.sock" 10 || die "hello did not start; see $LOG_DIR/$HELLO.log"

# The same upstream and location templates as every route, at /bench/hello (outside /api/).
conf=$VAR_DIR/nginx/nginx.conf
awk -v up="$(sed "s|@ROUTE@|$HELLO|g; s|@RUN_DIR@|$RUN_DIR|g" "$ROOT/nginx/upstream.conf.in")" \
    -v loc="$(sed "s|/api/@ROUTE@|/bench/hello|g; s|@ROUTE@|$HELLO|g" "$ROOT/nginx/route.conf.in")" '
  /^[ \t]*server[ \t]*\{/ && !u { print up; u = 1 }
  /^[ \t]*location[ \t]+\/[ \t]*\{/ && !l { print loc; l = 1 }
  { print }' "$conf" > "$conf.bench"
mv "$conf.bench" "$conf"
# A reload: the load starts only once the old nginx workers (the old config) have exited.
master=$(cat "$RUN_DIR/nginx.pid")
old_nginx=$(pgrep -P "$master" | tr '\n' ' ')
as_app nginx -p "$VAR_DIR/nginx" -c "$conf" -e "$LOG_DIR/nginx-error.log" -s reload
nginx_reloaded() {
  local pids pid
  pids=$(pgrep -P "$master") || return 1
  for pid in $pids; do case " $old_nginx " in *" $pid "*) return 1 ;; esac; done
}
for _ in $(seq 200); do nginx_reloaded && break; sleep 0.05; done
BASE=http://127.0.0.1:$HTTP_PORT
if ! nginx_reloaded || [ "$(curl -s -o /dev/null -w '%{http_code}' "$BASE/bench/hello")" != 200 ]; then
  die "nginx does not serve /bench/hello; see $LOG_DIR/nginx-error.log"
fi

# ---- load: wrk on each target, server connections sampled all along ---------------------

TARGETS=(/bench/hello)
for r in $ROUTES; do
  route_targets=("/api/$r")
  if [ "$r" = logs ]; then
    route_targets+=("/api/logs?level=ERROR&timeRange=1h" "/api/logs?search=timeout&page=3")
  fi
  # BENCH_ONLY=<text> keeps the targets containing it (a partial run while tuning one route).
  for t in "${route_targets[@]}"; do
    case $t in *"${BENCH_ONLY:-}"*) TARGETS+=("$t") ;; esac
  done
done
# The ceiling again at the end: the ratios use the mean of both, and their gap shows the noise.
TARGETS+=(/bench/hello)

# One session samples pg_stat_activity every 50 ms and streams each sample as a notice.
psql_admin -tA > /dev/null 2> "$OUT/samples" <<SQL &
SET application_name = '$SAMPLER_APP';
DO \$\$
BEGIN
  FOR i IN 1..100000 LOOP
    PERFORM pg_stat_clear_snapshot();
    RAISE NOTICE 'sample % %', extract(epoch FROM clock_timestamp()),
      (SELECT count(*) FROM pg_stat_activity WHERE application_name LIKE 'elog:%' AND backend_type = 'client backend');
    PERFORM pg_sleep(0.05);
  END LOOP;
END \$\$;
SQL
SAMPLER_PID=$!

echo "wrk -t2 -c$CONNECTIONS -d${BENCH_SECONDS}s on ${#TARGETS[@]} targets (about $(( ${#TARGETS[@]} * (BENCH_SECONDS + 1) )) s)..."
i=0
for t in "${TARGETS[@]}"; do
  i=$((i + 1))
  # One request first: its status and body explain a failing target.
  code=$(curl -s -o "$OUT/first.$i" -w '%{http_code}' --max-time 60 -H "$AUTH" "$BASE$t")
  start=$(now_s)
  wrk -t2 -c"$CONNECTIONS" -d"${BENCH_SECONDS}s" --timeout 60s --latency -H "$AUTH" "$BASE$t" > "$OUT/wrk.$i"
  printf '%s\t%s\t%s\t%s\n' "$t" "$code" "$start" "$(now_s)" >> "$OUT/targets"
done
sampler_stop

# ---- worker RSS after the load -----------------------------------------------------------

rss_of() { # route -> "workers rss_kb hwm_kb anon_kb pss_kb", each the max over its workers
  local pid
  for pid in $(worker_pids "$1"); do
    cat "/proc/$pid/status" "/proc/$pid/smaps_rollup" 2>/dev/null || true
    echo "end-of-worker"
  done | awk '/^VmRSS:/ {r = $2} /^VmHWM:/ {h = $2} /^RssAnon:/ {a = $2} /^Pss:/ {p = $2}
    /^end-of-worker/ {n++; if (r > mr) mr = r; if (h > mh) mh = h; if (a > ma) ma = a; if (p > mp) mp = p}
    END {print n + 0, mr + 0, mh + 0, ma + 0, mp + 0}'
}
for r in $ROUTES "$HELLO"; do echo "$r $(rss_of "$r")"; done > "$OUT/rss"

# ---- cold start: restart a route's workers, time the first request ----------------------

# stack_restart (as `make restart`) returns once the new workers have warmed up: connected and
# answered one GET internally. Its duration is printed next to the first request's latency.
echo "cold start: $COLD_REPEATS restarts per route..."
for r in $ROUTES; do
  for _ in $(seq "$COLD_REPEATS"); do
    t0=$(now_s)
    stack_restart "$r"
    ready=$(awk -v a="$t0" -v b="$(now_s)" 'BEGIN {printf "%.4f", b - a}')
    first=$(curl -s -o /dev/null -w '%{http_code} %{time_total}' --max-time 60 -H "$AUTH" "$BASE/api/$r")
    # The 4th request: the steady state, for comparison.
    for _ in 1 2 3 4; do
      warm=$(curl -s -o /dev/null -w '%{http_code} %{time_total}' --max-time 60 -H "$AUTH" "$BASE/api/$r")
    done
    echo "$r $first $warm $ready"
  done
done > "$OUT/cold"

# ---- the report ---------------------------------------------------------------------------

median() { # numbers on stdin -> "median min max"
  sort -n | awk '{v[NR] = $1} END {printf "%.2f %.2f %.2f\n", v[int((NR + 1) / 2)], v[1], v[NR]}'
}
max_conns_between() { # start end
  awk -v a="$1" -v b="$2" '$1 == "sample" && $2 >= a && $2 <= b && $3 > m {m = $3}
    END {print m + 0}' < <(sed 's/^NOTICE: *//' "$OUT/samples")
}

ceiling=$(awk -v a="$(parse_wrk "$OUT/wrk.1" | cut -d' ' -f1)" \
  -v b="$(parse_wrk "$OUT/wrk.${#TARGETS[@]}" | cut -d' ' -f1)" 'BEGIN {print (a + b) / 2}')
missed=0 met=0
{
echo
echo "== make bench: $(date -u +%Y-%m-%dT%H:%M:%SZ), $(nproc) CPUs, $have rows over $BENCH_HOURS h" \
     "(seeded $((age / 60)) min ago), $predictions ML predictions; load average at start $LOAD_AT_START"
echo "   wrk -t2 -c$CONNECTIONS -d${BENCH_SECONDS}s through nginx, $WORKERS workers per route (health $(route_workers health), hello $WORKERS), auth on (bearer token);"
echo "   ceiling = mean rps of /bench/hello (bare libfcgi) measured first and last"
printf '%-36s %9s %9s %9s %7s %6s %7s %7s %7s  %s\n' target rps p50_ms p99_ms p99/p50 conns non2xx ratio target verdict
i=0
while IFS=$'\t' read -r t code start end; do
  i=$((i + 1))
  read -r rps p50 p99 n bad se < <(parse_wrk "$OUT/wrk.$i")
  conns=$(max_conns_between "$start" "$end")
  tail=$(awk -v a="$p50" -v b="$p99" 'BEGIN {if (a > 0) printf "%.1f", b / a; else print "-"}')
  ratio=$(awk -v a="$rps" -v c="$ceiling" 'BEGIN {if (c > 0) printf "%.4f", a / c; else print "-"}')
  if [ "$t" = /bench/hello ]; then
    want=- verdict=ceiling
  else
    want=$(target_ratio "$t")
    why=""
    [ "$n" -gt 0 ] || why+=" no-responses"
    # The verdict uses the unrounded ratio: 0.0046 is printed 0.005 but misses 0.005.
    awk -v a="$rps" -v c="$ceiling" -v w="$want" 'BEGIN {exit !(c > 0 && a / c >= w + 0)}' ||
      why+=" ratio"
    awk -v x="$tail" -v m="$TAIL_MAX" 'BEGIN {exit !(x != "-" && x + 0 <= m)}' || why+=" tail"
    [ "$bad" = 0 ] || why+=" non-2xx"
    [ "$se" = 0 ] || why+=" socket-errors:$se"
    if [ -z "$why" ]; then verdict=PASS; met=$((met + 1)); else verdict="MISS:$why"; missed=$((missed + 1)); fi
  fi
  printf '%-36s %9.0f %9.2f %9.2f %7s %6s %7s %7s %7s  %s\n' "$t" "$rps" "$p50" "$p99" "$tail" \
    "$conns" "$bad" "$ratio" "$want" "$verdict"
  if [ "$code" != 200 ]; then
    echo "    first request: HTTP $code $(head -c 240 "$OUT/first.$i" | tr -d '\n')"
  fi
done < "$OUT/targets"

samples=$(grep -c 'sample' "$OUT/samples" || true)
maxall=$(max_conns_between 0 9999999999)
echo
echo "max server-side connections (pg_stat_activity, client backends of application_name 'elog:%'; parallel workers excluded): $maxall" \
     "($samples samples, one per 50 ms over the whole load phase)"
echo "   $(ELOG_RUN_DIR="$RUN_DIR" as_app "$BUILD/tools/elogctl" budget-status | head -1);" \
     "server max_connections $(psql_admin -tAc 'SHOW max_connections')"

echo
echo "worker memory after the load (max over each route's workers; target RSS <= $RSS_MAX_KB kB)"
printf '%-22s %7s %10s %10s %10s %8s  %s\n' route workers VmRSS_kB VmHWM_kB RssAnon_kB Pss_kB verdict
while read -r r n rss hwm anon pss; do
  if [ "$r" = "$HELLO" ]; then
    verdict="reference: bare libfcgi"
  elif [ "$n" = 0 ]; then
    verdict="MISS: no workers"; missed=$((missed + 1))
  elif [ "$hwm" -le "$RSS_MAX_KB" ]; then
    verdict=PASS; met=$((met + 1))
  else
    verdict="MISS: peak RSS over $RSS_MAX_KB kB"; missed=$((missed + 1))
  fi
  printf '%-22s %7s %10s %10s %10s %8s  %s\n' "$r" "$n" "$rss" "$hwm" "$anon" "$pss" "$verdict"
done < "$OUT/rss"
echo
echo "cold start: first request after \`make restart\` of the route's workers ($COLD_REPEATS restarts each;" \
     "target p50 < $COLD_MAX_MS ms); ready_ms: how long the restart took until the new workers had warmed up"
printf '%-22s %9s %9s %9s %13s %9s %8s  %s\n' route p50_ms min_ms max_ms 4th_req_p50 ready_ms statuses verdict
for r in $ROUTES; do
  read -r p50 lo hi < <(awk -v r="$r" '$1 == r {print $3 * 1000}' "$OUT/cold" | median)
  read -r warm _ < <(awk -v r="$r" '$1 == r {print $5 * 1000}' "$OUT/cold" | median)
  read -r ready _ < <(awk -v r="$r" '$1 == r {print $6 * 1000}' "$OUT/cold" | median)
  codes=$(awk -v r="$r" '$1 == r {print $2; print $4}' "$OUT/cold" | sort -u | paste -sd, -)
  if [ "$codes" != 200 ]; then
    verdict="MISS: status $codes"; missed=$((missed + 1))
  elif awk -v a="$p50" -v m="$COLD_MAX_MS" 'BEGIN {exit !(a < m)}'; then
    verdict=PASS; met=$((met + 1))
  else
    verdict="MISS: p50 not under $COLD_MAX_MS ms"; missed=$((missed + 1))
  fi
  printf '%-22s %9s %9s %9s %13s %9s %8s  %s\n' "$r" "$p50" "$lo" "$hi" "$warm" "$ready" "$codes" "$verdict"
done

echo
echo "targets: $met met, $missed missed (raw wrk output and samples in $OUT)"
} | tee "$OUT/report.txt"
missed=$(grep -c 'MISS' "$OUT/report.txt" || true)
[ "$missed" = 0 ]
