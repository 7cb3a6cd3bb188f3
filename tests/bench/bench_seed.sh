#!/usr/bin/env bash
# bench_seed.sh -- `make bench-seed [ROWS=N]`: tools/seed at a size the everyday bench does not
# reach (default 10,000,000 rows over the last 24 h). Seeds a private cluster in BENCH_DIR
# (default var/bench-seed), times the COPY, then checks in SQL that every row arrived and that
# the levels follow API.md's distribution. Exits 1 when the seeding or a check fails.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
BENCH_DIR=${BENCH_DIR:-$ROOT/var/bench-seed}
ROWS=${ROWS:-10000000}
HOURS=${HOURS:-24}
# shellcheck source=tests/bench/lib.sh
. "$ROOT/tests/bench/lib.sh"

bench_claim_folder
trap 'trap - EXIT INT TERM; pg_stop >/dev/null 2>&1 || true' EXIT
trap 'exit 130' INT TERM
bench_start_cluster
db_apply_schema

echo "bench_seed: $ROWS rows over the last $HOURS h, $(nproc) CPUs, load average $(cut -d' ' -f1-3 /proc/loadavg)"
start=$(psql_app -tAc 'SELECT now()')
t0=$(date +%s.%N)
as_app "$BUILD/tools/seed" --rows "$ROWS" --hours "$HOURS" --truncate | tee "$OUT/seed.txt"
s=$(awk -v a="$t0" -v b="$(date +%s.%N)" 'BEGIN {printf "%.1f", b - a}')
echo "seeded $ROWS rows in $s s ($(awk -v n="$ROWS" -v s="$s" 'BEGIN {printf "%.0f", n / s}') rows/s)"

# Every row arrived, inside the window, and the rollups agree with the base table.
read -r have inside rolled <<< "$(psql_app -tA -F ' ' -c "
  SELECT (SELECT count(*) FROM log_entries),
         (SELECT count(*) FROM log_entries
           WHERE timestamp >= '$start'::timestamptz - make_interval(hours => $HOURS)
             AND timestamp <= now()),
         (SELECT coalesce(sum(n), 0) FROM log_tally('-infinity', 'infinity'))")"
echo "rows: $have stored, $inside inside the window, $rolled counted by log_tally"
echo "level shares (percent):"
psql_app -tA -F ' ' -c "SELECT level, round(count(*) * 100.0 / sum(count(*)) OVER (), 2)
                          FROM log_entries GROUP BY level ORDER BY level" | sed 's/^/  /'
echo "database size: $(psql_app -tAc 'SELECT pg_size_pretty(pg_database_size(current_database()))')"
[ "$have" = "$ROWS" ] && [ "$inside" = "$ROWS" ] && [ "$rolled" = "$ROWS" ] ||
  die "expected $ROWS rows everywhere, found $have stored, $inside inside, $rolled rolled up"
echo "PASS"
