#!/usr/bin/env bash
# run.sh -- `make run`: the database (a private cluster under VAR_DIR unless DATABASE_URL is
# set), its schema and demo data, then every route's workers and nginx. Ctrl-C stops it all.
set -euo pipefail
# shellcheck source=scripts/lib.sh
. "$(dirname "$0")/lib.sh"

if [ -f "$(stack_state)" ] && [ -f "$RUN_DIR/nginx.sup.pid" ] &&
   proc_alive "$(cat "$RUN_DIR/nginx.sup.pid")"; then
  die "a stack is already running from $VAR_DIR (make stop, or another VAR_DIR and HTTP_PORT)"
fi
own_dir "$VAR_DIR" "$RUN_DIR" "$LOG_DIR"
EMBEDDED_PG=0

stop_all() {
  trap - INT TERM EXIT
  echo
  echo "stopping..."
  stack_stop
  [ "$EMBEDDED_PG" = 1 ] && pg_stop
  echo "stopped."
}

if [ -z "${DATABASE_URL:-}" ]; then
  EMBEDDED_PG=1
  pg_init
  pg_start
  pg_bootstrap
  DATABASE_URL=$(pg_dsn)
  export DATABASE_URL EMBEDDED_PG
  db_apply_schema
  if [ "$(psql_app -tAc 'SELECT count(*) FROM log_entries')" = 0 ]; then
    as_app "$BUILD/tools/seed" --rows "${SEED_ROWS:-50000}" --hours "${SEED_HOURS:-168}"
  fi
  db_demo_data
else
  export DATABASE_URL
  db_apply_schema
fi

trap stop_all INT TERM EXIT
stack_start
trap - EXIT

cat <<MSG

Engineering Log Intelligence is up at http://127.0.0.1:$HTTP_PORT/
  database: $("$BUILD/tools/elogctl" mask-dsn "$DATABASE_URL")
  logs:     $LOG_DIR/<route>.log (one access line per request)
  try:      curl -s http://127.0.0.1:$HTTP_PORT/api/health
MSG
print_login_help

if [ "${DETACH:-0}" = 1 ]; then
  echo "Running in the background: make status, make restart, make stop."
  exit 0
fi
echo "Press Ctrl-C to stop."
trap stop_all INT TERM
while proc_alive "$(cat "$RUN_DIR/nginx.sup.pid" 2>/dev/null)"; do sleep 1; done
stop_all
