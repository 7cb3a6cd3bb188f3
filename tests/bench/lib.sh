# lib.sh -- what the bench scripts share: their private folder and cluster, and reading wrk's
# output. Sourced with ROOT and BENCH_DIR set (and any settings scripts/lib.sh reads exported):
# makes BENCH_DIR absolute, sources scripts/lib.sh for that folder on free loopback ports, and
# sets OUT, the results folder.

case "$BENCH_DIR" in /*) ;; *) BENCH_DIR="$ROOT/$BENCH_DIR" ;; esac
# A bench always uses its own cluster: it truncates and seeds, so never a DATABASE_URL given.
unset DATABASE_URL
export VAR_DIR="$BENCH_DIR" LC_NUMERIC=C
# shellcheck source=scripts/lib.sh
. "$ROOT/scripts/lib.sh"
HTTP_PORT=$(free_port)
PG_PORT=$(free_port)
export HTTP_PORT PG_PORT
set_paths
OUT=$BENCH_DIR/results

# Refuses a folder whose PostgreSQL is running (another bench in progress, or one that was
# killed). Call before installing the cleanup trap, so that it never stops another's cluster.
bench_claim_folder() {
  own_dir "$BENCH_DIR"
  if pg_running; then
    die "PostgreSQL of another bench is running from $BENCH_DIR (a bench in progress, or one" \
        "that was killed); stop it first: $PG_BIN/pg_ctl -D $PG_DIR/data stop (as $APP_USER)"
  fi
}

# Empty results and logs, then the folder's cluster started (on a free port) and bootstrapped;
# exports DATABASE_URL.
bench_start_cluster() {
  local f
  rm -rf "$OUT"
  own_dir "$RUN_DIR" "$LOG_DIR" "$OUT"
  for f in "$LOG_DIR"/*.log; do [ -f "$f" ] && : > "$f"; done
  pg_init
  # free_port only probes: another process may take the port first, so one retry on a new one.
  ( pg_start ) 2>/dev/null || { PG_PORT=$(free_port); pg_start; }
  pg_bootstrap
  DATABASE_URL=$(pg_dsn)
  export DATABASE_URL
}

# file -> "rps p50_ms p99_ms requests non2xx socket_errors" (latencies -1 when absent)
parse_wrk() {
  awk 'function ms(v) { if (v ~ /us$/) return v / 1000; if (v ~ /ms$/) return v + 0;
                        if (v ~ /m$/) return v * 60000; if (v ~ /s$/) return v * 1000; return -1 }
    /Requests\/sec/ {rps = $2}
    $1 == "50%" {p50 = ms($2)} $1 == "99%" {p99 = ms($2)}
    / requests in / {n = $1}
    /Non-2xx or 3xx responses/ {bad = $NF}
    /Socket errors/ {gsub(/,/, ""); se = $4 + $6 + $8 + $10}
    END {printf "%s %s %s %s %d %d\n", rps + 0, (p50 == "" ? -1 : p50), (p99 == "" ? -1 : p99),
         n + 0, bad, se}' "$1"
}
