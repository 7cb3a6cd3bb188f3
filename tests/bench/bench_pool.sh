#!/usr/bin/env bash
# bench_pool.sh -- `make bench-pool`: (1) the cost of one acquire+release of a warm
# connection, and proof that it makes no system call (strace counts do not grow with the
# iterations); (2) pooled versus connect-per-request latency of SELECT 1 through the real
# stack (nginx -> /api/health -> pool), measured in the same run.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
export AUTH_REQUIRED=0 WORKERS=1 SEED_ROWS=1000 SEED_HOURS=1 DEMO_DATA=0
# shellcheck source=scripts/lib.sh
. "$ROOT/scripts/lib.sh"
trap private_stack_down EXIT
private_db_up >/dev/null

echo "== acquire + release of a warm connection"
as_app "$BUILD/tools/bench_pool" 2000000
for n in 1000 1000000; do
  as_app strace -f -c -o "$VAR_DIR/strace.$n" "$BUILD/tools/bench_pool" "$n" >/dev/null
  echo "  $n iterations: $(awk '$NF == "total" {print $4}' "$VAR_DIR/strace.$n") system calls in the whole run"
done

wrk_run() { # label
  wrk -t2 -c4 -d8s --latency "http://127.0.0.1:$HTTP_PORT/api/health" > "$VAR_DIR/wrk.$1"
  awk -v l="$1" '/Requests\/sec/ {rps=$2} $1 == "50%" {p50=$2} $1 == "99%" {p99=$2}
    END {printf "  %-22s %9s rps  p50 %-9s p99 %s\n", l, rps, p50, p99}' "$VAR_DIR/wrk.$1"
}
to_us() { awk '{v=$1; if (v ~ /us$/) {sub(/us/,"",v); print v} else if (v ~ /ms$/) {sub(/ms/,"",v); print v*1000} else {sub(/s/,"",v); print v*1000000}}'; }

echo "== SELECT 1 through nginx -> /api/health (1 worker, 4 connections, 8 s each)"
stack_start >/dev/null
curl -s -o /dev/null "http://127.0.0.1:$HTTP_PORT/api/health"
wrk_run pooled
stack_stop
POOL_REUSE=0 stack_start >/dev/null
wrk_run connect-per-request
p_pooled=$(awk '$1 == "50%" {print $2}' "$VAR_DIR/wrk.pooled" | to_us)
p_cpr=$(awk '$1 == "50%" {print $2}' "$VAR_DIR/wrk.connect-per-request" | to_us)
r_pooled=$(awk '/Requests\/sec/ {print $2}' "$VAR_DIR/wrk.pooled")
r_cpr=$(awk '/Requests\/sec/ {print $2}' "$VAR_DIR/wrk.connect-per-request")
awk -v a="$p_cpr" -v b="$p_pooled" -v c="$r_pooled" -v d="$r_cpr" 'BEGIN {
  printf "  ratio: connect-per-request p50 is %.1fx the pooled p50; pooled serves %.1fx the requests/s\n", a / b, c / d }'
