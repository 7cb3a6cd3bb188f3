#!/usr/bin/env bash
# stack.sh -- operate a running stack: stop, status, restart [ROUTE=name], psql.
set -euo pipefail
# shellcheck source=scripts/lib.sh
. "$(dirname "$0")/lib.sh"

case "${1:-}" in
stop)
  stack_load_state
  stack_stop
  [ "$EMBEDDED_PG" = 1 ] && pg_stop
  echo "stopped."
  ;;
status)
  stack_load_state
  stack_status
  ;;
restart)
  stack_load_state
  t0=$(date +%s%N)
  stack_restart "${ROUTE:-}"
  echo "restarted: ${ROUTE:-all routes}; new workers ready after $((($(date +%s%N) - t0) / 1000000)) ms"
  ;;
psql)
  if [ -f "$(stack_state)" ]; then stack_load_state; fi
  [ -n "${DATABASE_URL:-}" ] || DATABASE_URL=$(pg_dsn)
  as_app psql "$DATABASE_URL"
  ;;
*)
  echo "usage: stack.sh stop|status|restart|psql" >&2
  exit 2
  ;;
esac
