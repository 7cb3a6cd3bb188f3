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

# The histograms at this size: response_time_summary() over the whole window against the plain
# percentile_cont / min / max / count of the same rows, each timed (one snapshot for both).
psql_app -c 'SET client_min_messages = error' -c 'VACUUM (ANALYZE) log_entries' >/dev/null
read -r same fast_ms plain_ms <<< "$(psql_app -tA -F ' ' -c "
  SET work_mem = '512MB';
  SELECT r IS NOT DISTINCT FROM p, round(extract(epoch FROM t1 - t0) * 1000, 1),
         round(extract(epoch FROM t2 - t1) * 1000, 1)
    FROM (SELECT clock_timestamp() AS t0) a,
         LATERAL (SELECT ROW(s.p50, s.p95, s.p99, s.min, s.max, s.n) AS r
                    FROM response_time_summary('-infinity', 'infinity') s) b,
         LATERAL (SELECT clock_timestamp() AS t1 WHERE b.r IS NOT NULL) c,
         LATERAL (SELECT ROW(x.p[1], x.p[2], x.p[3], x.mn, x.mx, x.n) AS p
                    FROM (SELECT percentile_cont(ARRAY[0.5, 0.95, 0.99])
                                   WITHIN GROUP (ORDER BY response_time_ms::float8) AS p,
                                 min(response_time_ms) AS mn, max(response_time_ms) AS mx,
                                 count(response_time_ms) AS n
                            FROM log_entries WHERE c.t1 IS NOT NULL) x) d,
         LATERAL (SELECT clock_timestamp() AS t2 WHERE d.p IS NOT NULL) e")"
echo "percentiles of all $ROWS rows: response_time_summary ${fast_ms} ms, percentile_cont ${plain_ms} ms, equal: $same"
[ "$same" = t ] || die "response_time_summary differs from percentile_cont at $ROWS rows"
echo "PASS"
