# lib.sh -- test helpers: results, HTTP through nginx, SQL, tokens, and stack control.
# Sourced by every tests/integration/*.sh, which tests/run.sh runs against a stack it started.
# shellcheck shell=bash
# shellcheck source=scripts/lib.sh
. "$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)/scripts/lib.sh"

TEST_NAME=$(basename "${0%.sh}")
RESP_DIR=$(mktemp -d)
trap 'rm -rf "$RESP_DIR"' EXIT

pass() { echo "PASS $TEST_NAME: $1" | tee -a "$TEST_RESULTS"; [ -z "${TEST_TIMING:-}" ] || echo "  at ${SECONDS}s"; }
fail() { echo "FAIL $TEST_NAME: $1${2:+ -- $2}" | tee -a "$TEST_RESULTS"; }

# check NAME COMMAND...: passes when the command succeeds.
check() {
  local name=$1
  shift
  if "$@" >/dev/null 2>&1; then pass "$name"; else fail "$name" "${LAST_DETAIL:-}"; fi
}

eq() { # name got want: passes when the two texts are equal
  if [ "$2" = "$3" ]; then pass "$1"; else fail "$1" "got '$2' want '$3'"; fi
}

# http METHOD PATH [curl args...]: sets STATUS; BODY and HEADERS are files.
BODY=$RESP_DIR/body
HEADERS=$RESP_DIR/headers
http() {
  local method=$1 path=$2
  shift 2
  STATUS=$(curl -s -o "$BODY" -D "$HEADERS" -w '%{http_code}' -X "$method" --max-time 30 \
    "$@" "http://127.0.0.1:$HTTP_PORT$path")
  LAST_DETAIL="status $STATUS body $(head -c 300 "$BODY")"
}

# GET with a token holding every permission.
get() { http GET "$1" -H "Authorization: Bearer $(token admin)" "${@:2}"; }

header() { grep -i "^$1:" "$HEADERS" | head -1 | cut -d: -f2- | tr -d ' \r'; }
jbody() { jq -r "$1" "$BODY"; }
sql() { psql_app -tAc "$1"; }

# token ROLE: a signed access token for a user of that role (see elogctl token).
token() {
  case $1 in
  admin) "$BUILD/tools/elogctl" token 1 admin admin read_logs,view_dashboard,analyze_logs,ingest_logs,manage_system ;;
  viewer) "$BUILD/tools/elogctl" token 4 viewer viewer view_dashboard ;;
  *) "$BUILD/tools/elogctl" token 9 "$1" user "${2:-read_logs}" ;;
  esac
}

# Restarts the stack with extra environment, e.g. restack DB_CONNECTION_BUDGET=6 POOL_MAX=2.
restack() {
  local t0=$SECONDS
  stack_stop
  [ -z "${TEST_TIMING:-}" ] || echo "  stack_stop took $((SECONDS - t0)) s"
  env "$@" bash -c ". '$ROOT/scripts/lib.sh'; stack_start >/dev/null" || die "restack failed"
  [ -z "${TEST_TIMING:-}" ] || echo "  restack took $((SECONDS - t0)) s"
}

# The stack as tests/run.sh started it.
restack_default() { restack; }

# Application connections the server sees, from pg_stat_activity.
server_connections() {
  psql_admin -tAc "SELECT count(*) FROM pg_stat_activity WHERE application_name LIKE 'elog:%' AND backend_type = 'client backend'"
}

export -f proc_alive

wait_until() { # seconds command...: polls until the command succeeds
  local deadline=$((SECONDS + $1))
  shift
  while [ $SECONDS -lt $deadline ]; do "$@" >/dev/null 2>&1 && return 0; sleep 0.1; done
  return 1
}
