#!/usr/bin/env bash
# bench_logs.sh -- `make bench` (after bench.sh): the /api/logs route at two data sizes.
#
#   1. seeding speed: tools/seed --truncate of 50,000 and of 1,000,000 rows over the last 24 h
#      (1M must take under SEED_MAX_S, 60 s);
#   2. page 1 stays flat from 50k to 1M rows: GET /api/logs and /api/logs?level=ERROR&timeRange=1h
#      through nginx, sequential (wrk -t1 -c1, the latency of one request) and loaded
#      (wrk -t2 -c16); flat when the sequential p50 at 1M is at most FLAT_MAX (1.5) x the p50
#      at 50k;
#   3. ingest at 1M rows: POST /api/logs batches of 10,000 entries, JSON array and NDJSON, one
#      at a time and from 2 concurrent posters, a replayed batch (all duplicates), and the row
#      count checked in SQL against the "inserted" figures.
#
# Everything runs on a private cluster in BENCH_DIR (default var/bench-logs), re-seeded on every
# run, on free loopback ports. Raw output goes to BENCH_DIR/results. Exits 1 when a step fails
# to run or a target is missed.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
BENCH_DIR=${BENCH_DIR:-$ROOT/var/bench-logs}
SMALL_ROWS=50000
LARGE_ROWS=1000000
BENCH_HOURS=24
SEED_MAX_S=60          # seeding 1M rows must take less than this
FLAT_MAX=1.5           # sequential page-1 p50 at 1M rows <= FLAT_MAX x the p50 at 50k rows
WRK_SECONDS=${WRK_SECONDS:-5}
CONNECTIONS=16
BATCH_ENTRIES=10000    # entries per POST (the route's maximum)
SEQ_BATCHES=5          # sequential batches per format
POSTERS=2              # concurrent posters ...
POSTER_BATCHES=3       # ... each posting this many batches
export AUTH_REQUIRED=1 WORKERS=2
# shellcheck source=tests/bench/lib.sh
. "$ROOT/tests/bench/lib.sh"
BASE=http://127.0.0.1:$HTTP_PORT
TARGETS=(/api/logs "/api/logs?level=ERROR&timeRange=1h")
GEN_DIR=""
POSTER_PIDS=()
FAILURES=()   # steps that did not run as they should (exit 1)
MISSES=()     # targets missed (exit 1)

now_s() { date +%s.%N; }
since() { awk -v a="$1" -v b="$(now_s)" 'BEGIN {printf "%.2f", b - a}'; }
human() { awk -v n="$1" 'BEGIN {if (n >= 1000000 && n % 1000000 == 0) printf "%dM", n / 1000000;
                                 else if (n >= 1000 && n % 1000 == 0) printf "%dk", n / 1000; else print n}'; }
fail() { FAILURES+=("$*"); echo "  FAILED: $*"; }

cleanup() {
  trap - EXIT INT TERM
  local pid
  for pid in "${POSTER_PIDS[@]}"; do kill "$pid" 2>/dev/null || true; done
  stack_stop >/dev/null 2>&1 || true
  pg_stop >/dev/null 2>&1 || true
  [ -z "$GEN_DIR" ] || rm -rf "$GEN_DIR"
}

# ---- the cluster: private, on a free port, refused when one from this folder runs ----------

bench_claim_folder
trap cleanup EXIT
trap 'exit 130' INT TERM
LOAD_AT_START=$(cut -d' ' -f1-3 /proc/loadavg)
echo "bench_logs: folder $BENCH_DIR, $(nproc) CPUs, load average at start $LOAD_AT_START"
bench_start_cluster
db_apply_schema
ensure_jwt_secret
TOKEN=$("$BUILD/tools/elogctl" token 1 admin admin read_logs,view_dashboard,analyze_logs,ingest_logs,manage_system)
AUTH="Authorization: Bearer $TOKEN"

# ---- helpers: seeding, the stack, wrk ------------------------------------------------------

declare -A SEED_S=() WRK=() DATA=() LOAD=() INGEST_RATE=() INGEST_MED=()
FLAT_SUMMARY=""

seed_rows() { # rows: truncate and seed, timed; then VACUUM ANALYZE as autovacuum would
  local rows=$1 t0 s
  echo "seeding $(human "$rows") rows over the last $BENCH_HOURS h..."
  t0=$(now_s)
  as_app "$BUILD/tools/seed" --rows "$rows" --hours "$BENCH_HOURS" --truncate > "$OUT/seed.$rows.txt" ||
    die "seed of $rows rows failed"
  s=$(since "$t0")
  SEED_S[$rows]=$s
  echo "  seeded $rows rows in $s s ($(awk -v n="$rows" -v s="$s" 'BEGIN {printf "%.0f", n / s}') rows/s)"
  t0=$(now_s)
  psql_app -c 'SET client_min_messages = error' -c 'VACUUM (ANALYZE)' >/dev/null
  echo "  vacuum analyze in $(since "$t0") s"
  DATA[$rows]=$(psql_app -tA -F ' ' -c "
    SELECT count(*), count(*) FILTER (WHERE timestamp > now() - interval '1 hour'),
           count(*) FILTER (WHERE timestamp > now() - interval '1 hour' AND level = 'ERROR')
      FROM log_entries")
  read -r have n1h e1h <<< "${DATA[$rows]}"
  echo "  data: $have rows, $n1h in the last hour ($e1h ERROR), database" \
       "$(psql_app -tAc 'SELECT pg_size_pretty(pg_database_size(current_database()))')"
}

start_stack() { # label
  ( stack_start ) > "$OUT/stack-start.$1.txt" 2>&1 ||
    { cat "$OUT/stack-start.$1.txt"; die "the stack did not start"; }
}


# Each target: one checked request, then sequential (1 connection) and loaded (16) wrk runs.
measure() { # rows
  local rows=$1 i=0 t code f
  echo "wrk on ${#TARGETS[@]} targets at $(human "$rows") rows: -t1 -c1 and -t2 -c$CONNECTIONS," \
       "${WRK_SECONDS} s each..."
  for t in "${TARGETS[@]}"; do
    i=$((i + 1))
    code=$(curl -s -o "$OUT/first.$rows.$i" -w '%{http_code}' --max-time 60 -H "$AUTH" "$BASE$t" || true)
    [ "$code" = 200 ] || fail "GET $t at $rows rows answered HTTP $code: $(head -c 200 "$OUT/first.$rows.$i")"
    f=$OUT/wrk.$rows.$i
    wrk -t1 -c1 -d"${WRK_SECONDS}s" --timeout 60s --latency -H "$AUTH" "$BASE$t" > "$f.seq"
    wrk -t2 -c"$CONNECTIONS" -d"${WRK_SECONDS}s" --timeout 60s --latency -H "$AUTH" "$BASE$t" > "$f.load"
    WRK[$rows.$i.seq]=$(parse_wrk "$f.seq")
    WRK[$rows.$i.load]=$(parse_wrk "$f.load")
  done
  LOAD[$rows]=$(cut -d' ' -f1 /proc/loadavg)   # other work on the host shows up here
}

# ---- phase 1+2: 50k rows, measure; 1M rows, measure ----------------------------------------

for rows in "$SMALL_ROWS" "$LARGE_ROWS"; do
  seed_rows "$rows"
  start_stack "$rows"
  measure "$rows"
  [ "$rows" = "$LARGE_ROWS" ] || stack_stop >/dev/null
done

# ---- phase 3: ingest at 1M rows (the stack still runs) -------------------------------------

# Batches are generated before any timing: distinct log_ids of this run (bench-<run>-<batch>-n),
# timestamps in the last hour, and the distributions API.md gives for realistic data.
GEN_DIR=$(mktemp -d /tmp/elog-bench-logs.XXXXXX)
RUN_ID=$(date +%s)-$$
gen_batch() { # name format(json|ndjson) seed
  awk -v n="$BATCH_ENTRIES" -v fmt="$2" -v seed="$3" -v now="$(date +%s)" \
      -v prefix="bench-$RUN_ID-$1" '
  function pick(list,   a) { split(list, a, " "); return a[int(rand() * length(a)) + 1] }
  function hex(d,   s) { s = ""; while (d-- > 0) s = s sprintf("%x", int(rand() * 16)); return s }
  BEGIN {
    srand(seed)
    MSG["DEBUG"] = "Cache lookup for key session:%d|Query plan chosen for report %d|Config value reloaded by worker %d"
    MSG["INFO"] = "Request completed for order %d|User login successful for account %d|Payment %d processed"
    MSG["WARN"] = "Slow query detected on shard %d|Retrying request %d after backoff|Connection pool at 85 percent on node %d"
    MSG["ERROR"] = "Database connection failed on attempt %d|API request timeout for call %d|Payment gateway rejected transaction %d"
    MSG["FATAL"] = "Out of memory error in worker %d|Disk full on volume %d|Unrecoverable state in queue consumer %d"
    if (fmt == "json") printf "["
    for (i = 1; i <= n; i++) {
      r = rand() * 1000   # levels: DEBUG 20 %, INFO 65 %, WARN 12 %, ERROR 2.5 %, FATAL 0.5 %
      lv = r < 200 ? "DEBUG" : r < 850 ? "INFO" : r < 970 ? "WARN" : r < 995 ? "ERROR" : "FATAL"
      bad = lv == "ERROR" || lv == "FATAL"
      r = rand()
      src = r < 0.4 ? "splunk" : r < 0.7 ? "sap" : "application"
      svc = pick("webapp api database cache queue auth payment")
      t = now - 3600 + rand() * 3590
      split(MSG[lv], m, "|")
      rt = bad ? 500 + rand() * 4500 : lv == "WARN" ? 200 + rand() * 800 : 20 + rand() * 180
      st = lv == "ERROR" ? pick("400 404 500 503") : lv == "FATAL" ? pick("500 503 504") : pick("200 200 200 201 204 301 302")
      e = sprintf("{\"log_id\":\"%s-%05d\",\"timestamp\":\"%s.%03dZ\",\"level\":\"%s\",\"message\":\"" m[int(rand() * 3) + 1] "\"",
        prefix, i, strftime("%Y-%m-%dT%H:%M:%S", int(t), 1), int((t - int(t)) * 1000), lv, int(rand() * 100000))
      e = e sprintf(",\"source_type\":\"%s\",\"host\":\"%s\",\"service\":\"%s\",\"category\":\"%s\",\"tags\":[\"%s\",\"%s\"]",
        src, pick("web-server-01 web-server-02 app-server-01 app-server-02 db-server-01"), svc,
        pick("application system security performance business"), svc, tolower(lv))
      e = e sprintf(",\"request_id\":\"%s-%s-4%s-a%s-%s\",\"session_id\":\"sess-%s\",\"ip_address\":\"10.%d.%d.%d\"",
        hex(8), hex(4), hex(3), hex(3), hex(12), hex(10), rand() * 256, rand() * 256, 1 + rand() * 254)
      e = e sprintf(",\"http_method\":\"%s\",\"http_status\":%d,\"endpoint\":\"%s\",\"response_time_ms\":%.2f,\"is_anomaly\":%s",
        pick("GET GET GET GET GET GET GET POST POST PUT DELETE PATCH"), st,
        pick("/ /checkout /cart /search /api/v1/users /api/v1/orders /api/v1/payments /login"), rt,
        bad && rand() < 0.3 ? "true" : "false")
      if (src == "sap")
        e = e sprintf(",\"transaction_code\":\"%s\",\"sap_system\":\"PRD\",\"department\":\"%s\",\"amount\":%.2f,\"currency\":\"%s\",\"document_number\":\"%010d\"",
          pick("VA01 VA02 ME21N FB01 MIGO"), pick("Sales Finance Procurement Logistics"), rand() * 25000,
          pick("EUR USD GBP"), rand() * 1000000000)
      if (src == "splunk")
        e = e sprintf(",\"splunk_source\":\"/var/log/%s/app.log\",\"splunk_host\":\"splunk-idx-0%d\"", svc, 1 + rand() * 3)
      if (bad)
        e = e sprintf(",\"error_details\":{\"exception\":\"%s\",\"retryable\":%s}",
          pick("TimeoutError ConnectionError MemoryError"), rand() < 0.5 ? "true" : "false")
      e = e "}"
      if (fmt == "json") printf "%s%s", (i > 1 ? ",\n" : "\n"), e
      else print e
    }
    if (fmt == "json") print "\n]"
  }' > "$GEN_DIR/$1.$2"
}
s=0
for b in $(seq "$SEQ_BATCHES"); do
  gen_batch "j$b" json $((s += 1))
  gen_batch "n$b" ndjson $((s += 1))
done
for p in $(seq "$POSTERS"); do
  for b in $(seq "$POSTER_BATCHES"); do gen_batch "p$p-$b" json $((s += 1)); done
done
echo "ingest at $(human "$LARGE_ROWS") rows: $((2 * SEQ_BATCHES + POSTERS * POSTER_BATCHES)) batches of" \
     "$BATCH_ENTRIES entries generated ($(du -sh "$GEN_DIR" | cut -f1) in $GEN_DIR)"

# One POST, timed by curl -> "http_code seconds inserted duplicates" (- when absent).
post_batch() { # file content-type response-file
  local res
  res=$(curl -s -o "$3" -w '%{http_code} %{time_total}' --max-time 120 -H "$AUTH" \
        -H "Content-Type: $2" -H 'Expect:' --data-binary @"$1" "$BASE/api/logs" || true)
  echo "${res:-000 0} $(jq -r '"\(.inserted // "-") \(.duplicates // "-")"' "$3" 2>/dev/null || echo '- -')"
}
# Checks one answer; on a mismatch records the failure with the start of the body.
check_post() { # what want-inserted want-duplicates http-code inserted duplicates response-file
  if [[ $4 != 2?? ]] || [ "$5" != "$2" ] || [ "$6" != "$3" ]; then
    fail "$1: HTTP $4, inserted $5 (want $2), duplicates $6 (want $3): $(head -c 200 "$7" 2>/dev/null)"
  fi
}

before=$(psql_app -tAc 'SELECT count(*) FROM log_entries')
: > "$OUT/ingest.seq"
for fmt in json ndjson; do
  ctype=application/json
  [ "$fmt" = ndjson ] && ctype=application/x-ndjson
  for b in $(seq "$SEQ_BATCHES"); do
    name=${fmt:0:1}$b
    read -r code secs ins dup < <(post_batch "$GEN_DIR/$name.$fmt" "$ctype" "$OUT/resp.$name")
    check_post "POST $name ($fmt)" "$BATCH_ENTRIES" 0 "$code" "$ins" "$dup" "$OUT/resp.$name"
    echo "$fmt $b $code $secs $ins $dup" >> "$OUT/ingest.seq"
  done
done

# The first JSON batch again: every entry is a duplicate, nothing is written.
read -r code secs ins dup < <(post_batch "$GEN_DIR/j1.json" application/json "$OUT/resp.replay")
check_post "replay of j1" 0 "$BATCH_ENTRIES" "$code" "$ins" "$dup" "$OUT/resp.replay"
replay_dups=$dup
echo "replay 1 $code $secs $ins $dup" >> "$OUT/ingest.seq"

# Concurrent posters, each posting its batches one after the other; wall time of the whole.
t0=$(now_s)
for p in $(seq "$POSTERS"); do
  (
    for b in $(seq "$POSTER_BATCHES"); do
      echo "$p $b $(post_batch "$GEN_DIR/p$p-$b.json" application/json "$OUT/resp.p$p-$b")"
    done > "$OUT/ingest.poster$p"
  ) &
  POSTER_PIDS+=($!)
done
for pid in "${POSTER_PIDS[@]}"; do wait "$pid" || fail "poster $pid exited with status $?"; done
POSTER_PIDS=()
conc_wall=$(since "$t0")
cat "$OUT"/ingest.poster* > "$OUT/ingest.conc"
while read -r p b code secs ins dup; do
  check_post "poster $p batch $b" "$BATCH_ENTRIES" 0 "$code" "$ins" "$dup" "$OUT/resp.p$p-$b"
done < "$OUT/ingest.conc"

# The table grew by exactly what the answers said went in; the log_ids are this run's.
after=$(psql_app -tAc 'SELECT count(*) FROM log_entries')
ours=$(psql_app -tAc "SELECT count(*) FROM log_entries WHERE log_id LIKE 'bench-$RUN_ID-%'")
claimed=$(awk '{s += $5} END {print s + 0}' "$OUT/ingest.seq" "$OUT/ingest.conc")
if [ $((after - before)) != "$claimed" ] || [ "$ours" != "$claimed" ]; then
  fail "row count: grew by $((after - before)), $ours rows carry this run's log_ids, responses said $claimed inserted"
fi

# ---- the report ------------------------------------------------------------------------------

stats() { # seconds on stdin -> "count sum median min max"
  sort -g | awk '{v[NR] = $1; s += $1}
    END {if (NR == 0) {print "0 0 0 0 0"; exit}
         printf "%d %.3f %.3f %.3f %.3f\n", NR, s, (NR % 2 ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2), v[1], v[NR]}'
}
rate() { awk -v n="$1" -v s="$2" 'BEGIN {if (s > 0) printf "%.0f", n / s; else print "-"}'; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN {if (a > 0 && b > 0) printf "%.2f", b / a; else print "-"}'; }

{
echo
echo "== bench_logs: $(date -u +%Y-%m-%dT%H:%M:%SZ), $(nproc) CPUs, $WORKERS workers per route, auth on;" \
     "load average at start $LOAD_AT_START, at the end $(cut -d' ' -f1-3 /proc/loadavg)"
echo
echo "seeding (tools/seed --truncate, $BENCH_HOURS h window; target: $(human "$LARGE_ROWS") rows in under $SEED_MAX_S s)"
for rows in "$SMALL_ROWS" "$LARGE_ROWS"; do
  line="seeded $rows rows in ${SEED_S[$rows]} s ($(rate "$rows" "${SEED_S[$rows]}") rows/s)"
  if [ "$rows" = "$LARGE_ROWS" ]; then
    if awk -v s="${SEED_S[$rows]}" -v m="$SEED_MAX_S" 'BEGIN {exit !(s < m)}'; then
      line+="  PASS"
    else
      line+="  MISS: not under $SEED_MAX_S s"; MISSES+=("seeding $rows rows took ${SEED_S[$rows]} s")
    fi
  fi
  echo "  $line"
done

echo
echo "page 1 through nginx (wrk ${WRK_SECONDS} s each; seq = -t1 -c1, load = -t2 -c$CONNECTIONS)"
for rows in "$SMALL_ROWS" "$LARGE_ROWS"; do
  read -r have n1h e1h <<< "${DATA[$rows]}"
  echo "  data at $(human "$rows"): $have rows, $n1h in the last hour ($e1h of them ERROR);" \
       "1-min load average after its wrk runs: ${LOAD[$rows]}"
done
printf '  %-36s %8s %5s %9s %9s %9s %7s\n' target rows mode rps p50_ms p99_ms non2xx
i=0
for t in "${TARGETS[@]}"; do
  i=$((i + 1))
  for rows in "$SMALL_ROWS" "$LARGE_ROWS"; do
    for mode in seq load; do
      read -r rps p50 p99 n bad se <<< "${WRK[$rows.$i.$mode]}"
      printf '  %-36s %8s %5s %9.0f %9.2f %9.2f %7s\n' "$t" "$(human "$rows")" "$mode" "$rps" "$p50" "$p99" "$bad"
      if [ "$n" = 0 ] || [ "$bad" != 0 ] || [ "$se" != 0 ]; then
        fail "wrk $mode on $t at $rows rows: $n responses, $bad non-2xx, $se socket errors"
      fi
    done
  done
done
echo
echo "flatness: p50 at $(human "$LARGE_ROWS") / p50 at $(human "$SMALL_ROWS") (flat when the seq ratio <= $FLAT_MAX; load ratio for information)"
printf '  %-36s %9s %9s  %s\n' target seq load verdict
i=0
for t in "${TARGETS[@]}"; do
  i=$((i + 1))
  rs=$(ratio "$(cut -d' ' -f2 <<< "${WRK[$SMALL_ROWS.$i.seq]}")" "$(cut -d' ' -f2 <<< "${WRK[$LARGE_ROWS.$i.seq]}")")
  rl=$(ratio "$(cut -d' ' -f2 <<< "${WRK[$SMALL_ROWS.$i.load]}")" "$(cut -d' ' -f2 <<< "${WRK[$LARGE_ROWS.$i.load]}")")
  if awk -v r="$rs" -v m="$FLAT_MAX" 'BEGIN {exit !(r != "-" && r + 0 <= m + 0)}'; then
    verdict=flat
  else
    verdict="MISS: not flat (seq ratio $rs > $FLAT_MAX)"; MISSES+=("page 1 of $t: seq p50 ratio $rs > $FLAT_MAX")
  fi
  printf '  %-36s %9s %9s  %s\n' "$t" "$rs" "$rl" "$verdict"
  # Flat by the rule, but a page much slower on the small table is a finding of its own.
  if awk -v r="$rs" -v m="$FLAT_MAX" 'BEGIN {exit !(r != "-" && r * m < 1)}'; then
    echo "    note: faster at $(human "$LARGE_ROWS") than at $(human "$SMALL_ROWS") rows: the $(human "$SMALL_ROWS") latency is the anomaly"
  fi
  FLAT_SUMMARY+="$t $rs $verdict"$'\n'
done

echo
echo "ingest at $(human "$LARGE_ROWS") rows: POST /api/logs, batches of $BATCH_ENTRIES entries (curl time_total per batch)"
printf '  %-22s %7s %8s %8s %8s %8s %9s %8s %8s %10s\n' batches n entries inserted dups total_s median_s min_s max_s entries/s
for fmt in json ndjson replay; do
  read -r n sum med lo hi < <(awk -v f="$fmt" '$1 == f {print $4}' "$OUT/ingest.seq" | stats)
  ins=$(awk -v f="$fmt" '$1 == f {s += $5} END {print s + 0}' "$OUT/ingest.seq")
  dup=$(awk -v f="$fmt" '$1 == f {s += $6} END {print s + 0}' "$OUT/ingest.seq")
  case $fmt in
    json) label="sequential JSON array" ;;
    ndjson) label="sequential NDJSON" ;;
    replay) label="replay (all dups)" ;;
  esac
  per=$ins
  [ "$fmt" = replay ] && per=$((n * BATCH_ENTRIES))   # entries checked per second
  printf '  %-22s %7s %8s %8s %8s %8.3f %9.3f %8.3f %8.3f %10s\n' "$label" "$n" "$((n * BATCH_ENTRIES))" \
    "$ins" "$dup" "$sum" "$med" "$lo" "$hi" "$(rate "$per" "$sum")"
  INGEST_RATE[$fmt]=$(rate "$per" "$sum")
  INGEST_MED[$fmt]=$med
done
read -r n sum med lo hi < <(awk '{print $4}' "$OUT/ingest.conc" | stats)
cins=$(awk '{s += $5} END {print s + 0}' "$OUT/ingest.conc")
cdup=$(awk '{s += $6} END {print s + 0}' "$OUT/ingest.conc")
printf '  %-22s %7s %8s %8s %8s %8.3f %9.3f %8.3f %8.3f %10s\n' "$POSTERS posters, JSON" "$n" \
  "$((n * BATCH_ENTRIES))" "$cins" "$cdup" "$conc_wall" "$med" "$lo" "$hi" "$(rate "$cins" "$conc_wall")"
echo "  ($POSTERS posters x $POSTER_BATCHES batches at once: total_s is the wall time, entries/s the combined rate)"
echo "  row count: $before before, $after after: +$((after - before)); inserted per the responses: $claimed;" \
     "rows with this run's log_ids: $ours"

echo
echo "== summary"
echo "  seeding:  $(human "$SMALL_ROWS") in ${SEED_S[$SMALL_ROWS]} s ($(rate "$SMALL_ROWS" "${SEED_S[$SMALL_ROWS]}") rows/s)," \
     "$(human "$LARGE_ROWS") in ${SEED_S[$LARGE_ROWS]} s ($(rate "$LARGE_ROWS" "${SEED_S[$LARGE_ROWS]}") rows/s; target < $SEED_MAX_S s)"
while read -r t r v; do
  [ -n "$t" ] && printf '  page 1:   %-36s seq p50 x%s from %s to %s rows: %s\n' "$t" "$r" \
    "$(human "$SMALL_ROWS")" "$(human "$LARGE_ROWS")" "$v"
done <<< "$FLAT_SUMMARY"
echo "  ingest:   JSON ${INGEST_RATE[json]} entries/s (median batch ${INGEST_MED[json]} s)," \
     "NDJSON ${INGEST_RATE[ndjson]} entries/s (median ${INGEST_MED[ndjson]} s)," \
     "$POSTERS posters $(rate "$cins" "$conc_wall") entries/s combined," \
     "replayed batch ${INGEST_MED[replay]} s ($replay_dups duplicates)"
echo "  rows:     +$((after - before)) = $claimed inserted: $([ $((after - before)) = "$claimed" ] && echo OK || echo MISMATCH)"
for m in "${MISSES[@]}"; do echo "  MISS: $m"; done
for f in "${FAILURES[@]}"; do echo "  FAILED: $f"; done
if [ ${#MISSES[@]} = 0 ] && [ ${#FAILURES[@]} = 0 ]; then
  echo "  result: everything ran, every target met (raw output in $OUT)"
else
  echo "  result: ${#MISSES[@]} missed, ${#FAILURES[@]} failed (raw output in $OUT)"
fi
} > "$OUT/report.txt"
cat "$OUT/report.txt"
[ ${#MISSES[@]} = 0 ] && [ ${#FAILURES[@]} = 0 ]
