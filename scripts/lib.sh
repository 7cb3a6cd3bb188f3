# lib.sh -- shared shell functions: paths, the private PostgreSQL cluster, and the stack
# (spawn-fcgi + multiwatch per route, nginx in front). Sourced by run.sh, stack.sh and tests.
# shellcheck shell=bash

ROOT=${ROOT:-$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)}
if [ "${SANITIZE:-0}" = 1 ]; then BUILD=${BUILD:-build-san}; else BUILD=${BUILD:-build}; fi
case "$BUILD" in /*) ;; *) BUILD="$ROOT/$BUILD" ;; esac
VAR_DIR=${VAR_DIR:-$ROOT/var}
case "$VAR_DIR" in /*) ;; *) VAR_DIR="$ROOT/$VAR_DIR" ;; esac
HTTP_PORT=${HTTP_PORT:-8080}
PG_PORT=${PG_PORT:-54320}
WORKERS=${WORKERS:-2}
# Health runs one worker unless told otherwise: one worker sees every waiting check and answers
# them with one database round trip (two split the checks, and each sends its own round trips).
WORKERS_HEALTH=${WORKERS_HEALTH:-1}
set_paths() {
  RUN_DIR=$VAR_DIR/run
  LOG_DIR=$VAR_DIR/log
  PG_DIR=$VAR_DIR/pg
}
set_paths
PG_BIN=/usr/lib/postgresql/15/bin
APP_USER=elog
ROUTES=${ROUTES:-$(cd "$ROOT/endpoints" && ls ./*.c | sed 's|^\./||; s|\.c$||' | tr '\n' ' ')}

die() { echo "error: $*" >&2; exit 1; }

# Runs a command as the unprivileged user when we are root (PostgreSQL refuses root, and
# one user for everything keeps sockets and files private). Background jobs use the array
# form "${AS_APP[@]}" cmd &, so that $! is the process itself (setpriv and env exec).
if [ "$(id -u)" -eq 0 ]; then
  AS_APP=(setpriv --reuid="$APP_USER" --regid="$APP_USER" --init-groups --)
else
  AS_APP=(env)
fi
as_app() { "${AS_APP[@]}" "$@"; }

# Makes dir owned by the app user (when root) and checks that user can reach the build.
own_dir() {
  mkdir -p "$@"
  if [ "$(id -u)" -eq 0 ]; then chown "$APP_USER:$APP_USER" "$@"; fi
}

check_reachable() {
  as_app test -x "$BUILD/endpoints/health" ||
    die "user $APP_USER cannot reach $BUILD (a parent folder is not searchable by others);" \
        "clone the project where others may traverse, or chmod o+x the parent folders"
}

# ---- PostgreSQL ---------------------------------------------------------------------

pg_dsn() { echo "postgresql://elog_app@/elog?host=$PG_DIR&port=$PG_PORT"; }
pg_admin_dsn() { echo "postgresql://$APP_USER@/postgres?host=$PG_DIR&port=$PG_PORT"; }

# Creates the cluster once: local socket in a 0700 folder (trust), loopback TCP with scram.
pg_init() {
  [ -f "$PG_DIR/data/PG_VERSION" ] && return 0
  own_dir "$VAR_DIR" "$PG_DIR" "$LOG_DIR" "$RUN_DIR"
  chmod 700 "$PG_DIR"
  head -c 24 /dev/urandom | base64 | tr -d '/+=' > "$PG_DIR/superuser-password"
  chmod 600 "$PG_DIR/superuser-password"
  [ "$(id -u)" -eq 0 ] && chown "$APP_USER:$APP_USER" "$PG_DIR/superuser-password"
  as_app "$PG_BIN/initdb" -D "$PG_DIR/data" -U "$APP_USER" --auth-local=trust \
    --auth-host=scram-sha-256 --pwfile="$PG_DIR/superuser-password" -E UTF8 \
    --locale=C.UTF-8 >"$LOG_DIR/initdb.log" 2>&1 || die "initdb failed; see $LOG_DIR/initdb.log"
}

pg_running() { as_app "$PG_BIN/pg_ctl" -D "$PG_DIR/data" status >/dev/null 2>&1; }

# max_connections 25 with 3 reserved mirrors the 22-connection plan this service exists for.
pg_start() {
  pg_running && return 0
  as_app "$PG_BIN/pg_ctl" -D "$PG_DIR/data" -l "$LOG_DIR/postgres.log" -w -t 60 \
    -o "-k $PG_DIR -p $PG_PORT -c listen_addresses=127.0.0.1 -c max_connections=${PG_MAX_CONNECTIONS:-25} -c superuser_reserved_connections=3 -c unix_socket_permissions=0700 ${PG_EXTRA_OPTS:-}" \
    start >/dev/null || die "PostgreSQL did not start; see $LOG_DIR/postgres.log"
}

pg_stop() {
  pg_running || return 0
  as_app "$PG_BIN/pg_ctl" -D "$PG_DIR/data" -m fast -w stop >/dev/null
}

psql_admin() { as_app psql "$(pg_admin_dsn)" -X -q -v ON_ERROR_STOP=1 "$@"; }
psql_app() { as_app psql "${DATABASE_URL:-$(pg_dsn)}" -X -q -v ON_ERROR_STOP=1 "$@"; }

# The application's own role and database (not a superuser: it may not use reserved slots).
pg_bootstrap() {
  psql_admin -tAc "SELECT 1 FROM pg_roles WHERE rolname='elog_app'" | grep -q 1 ||
    psql_admin -c "CREATE ROLE elog_app LOGIN"
  psql_admin -tAc "SELECT 1 FROM pg_database WHERE datname='elog'" | grep -q 1 ||
    psql_admin -c "CREATE DATABASE elog OWNER elog_app"
}

db_apply_schema() { psql_app -f "$ROOT/db/schema.sql" >/dev/null; }

# ---- the stack ----------------------------------------------------------------------

stack_state() { echo "$RUN_DIR/stack.env"; }

# Keeps a JWT secret across runs when none is configured.
ensure_jwt_secret() {
  if [ -z "${JWT_SECRET_KEY:-}" ] && [ "${AUTH_REQUIRED:-1}" != 0 ]; then
    if [ ! -s "$VAR_DIR/jwt-secret" ]; then
      (umask 077; head -c 48 /dev/urandom | base64 | tr -d '\n/+=' > "$VAR_DIR/jwt-secret")
    fi
    JWT_SECRET_KEY=$(cat "$VAR_DIR/jwt-secret")
    export JWT_SECRET_KEY
  fi
}

render_nginx_conf() {
  local upstreams="" locations="" r
  for r in $ROUTES; do
    upstreams+=$(sed "s|@ROUTE@|$r|g; s|@RUN_DIR@|$RUN_DIR|g" "$ROOT/nginx/upstream.conf.in")$'\n'
    locations+=$(sed "s|@ROUTE@|$r|g" "$ROOT/nginx/route.conf.in")$'\n'
  done
  own_dir "$VAR_DIR/nginx" "$VAR_DIR/nginx/tmp"
  awk -v up="$upstreams" -v loc="$locations" '
    /@UPSTREAMS@/ { print up; next }
    /@ROUTES@/ { print loc; next }
    { print }' "$ROOT/nginx/nginx.conf.in" |
    sed "s|@RUN_DIR@|$RUN_DIR|g; s|@LOG_DIR@|$LOG_DIR|g; s|@NGINX_DIR@|$VAR_DIR/nginx|g; s|@HTTP_PORT@|$HTTP_PORT|g" \
      > "$VAR_DIR/nginx/nginx.conf"
}

# Workers of a route: WORKERS_<ROUTE>, else WORKERS.
route_workers() {
  local var="WORKERS_$(echo "$1" | tr '[:lower:]' '[:upper:]')"
  echo "${!var:-$WORKERS}"
}

wait_for_file() { # path seconds
  local i
  for ((i = 0; i < $2 * 20; i++)); do [ -e "$1" ] && return 0; sleep 0.05; done
  return 1
}

# Starts workers for every route and nginx; the database must be reachable by DATABASE_URL.
stack_start() {
  local r n total=0
  [ -n "${DATABASE_URL:-}" ] || die "DATABASE_URL is not set"
  export DATABASE_URL ELOG_RUN_DIR="$RUN_DIR"
  ensure_jwt_secret
  own_dir "$RUN_DIR" "$LOG_DIR"
  check_reachable
  as_app "$BUILD/tools/elogctl" check-config || die "fix the configuration above"
  for r in $ROUTES; do total=$((total + $(route_workers "$r"))); done
  as_app "$BUILD/tools/elogctl" budget-init "$(echo $ROUTES | wc -w)" "$total" || die "cannot create the budget"
  for r in $ROUTES; do
    n=$(route_workers "$r")
    rm -f "$RUN_DIR/$r.sock"
    # Retries: a slot keeps respawning however often its worker is restarted or killed.
    "${AS_APP[@]}" spawn-fcgi -n -s "$RUN_DIR/$r.sock" -M 0660 -- \
      /usr/bin/multiwatch -f "$n" -r 1000000 -t 1000 -s TERM -- "$BUILD/endpoints/$r" \
      >>"$LOG_DIR/$r.log" 2>&1 &
    echo $! > "$RUN_DIR/$r.pid"
  done
  for r in $ROUTES; do
    wait_for_file "$RUN_DIR/$r.sock" 10 || die "route $r did not start; see $LOG_DIR/$r.log"
    wait_workers_ready "$r" " "
  done
  render_nginx_conf
  touch "$LOG_DIR/nginx-error.log" "$LOG_DIR/nginx-access.log"
  [ "$(id -u)" -eq 0 ] && chown "$APP_USER:$APP_USER" "$LOG_DIR"/nginx-*.log
  "${AS_APP[@]}" nginx -p "$VAR_DIR/nginx" -c "$VAR_DIR/nginx/nginx.conf" -e "$LOG_DIR/nginx-error.log" \
    >>"$LOG_DIR/nginx-error.log" 2>&1 &
  echo $! > "$RUN_DIR/nginx.sup.pid"
  for _ in $(seq 100); do
    curl -s -o /dev/null "http://127.0.0.1:$HTTP_PORT/" && break
    sleep 0.05
  done
  curl -s -o /dev/null "http://127.0.0.1:$HTTP_PORT/" || die "nginx did not start; see $LOG_DIR/nginx-error.log"
  {
    echo "HTTP_PORT=$HTTP_PORT"
    echo "ROUTES='$ROUTES'"
    echo "DATABASE_URL='$DATABASE_URL'"
    echo "EMBEDDED_PG=${EMBEDDED_PG:-0}"
    echo "PG_PORT=$PG_PORT"
  } > "$(stack_state)"
  chmod 600 "$(stack_state)"
}

stack_load_state() {
  [ -f "$(stack_state)" ] || die "no stack is running from $VAR_DIR (start one with make run)"
  # shellcheck disable=SC1090
  . "$(stack_state)"
}

# True while pid runs. An exited process whose parent has not reaped it yet (a zombie: stack
# processes are orphans, and init may reap them late) counts as gone.
proc_alive() {
  local state
  state=$(ps -o stat= -p "$1" 2>/dev/null) || return 1
  [[ $state != Z* ]]
}

kill_and_wait() { # pidfile signal
  local pid
  [ -f "$1" ] || return 0
  pid=$(cat "$1")
  if proc_alive "$pid"; then
    kill -"$2" "$pid" 2>/dev/null || true
    for _ in $(seq 200); do proc_alive "$pid" || break; sleep 0.05; done
    if proc_alive "$pid"; then
      echo "warning: $1 ($pid) ignored SIG$2 for 10 s; killing it" >&2
      ps -o pid,ppid,stat,cmd --ppid "$pid" >&2
      kill -KILL "$pid" 2>/dev/null || true
    fi
  fi
  rm -f "$1"
}

stack_stop() {
  local r
  kill_and_wait "$RUN_DIR/nginx.sup.pid" QUIT
  for r in $ROUTES; do
    kill_and_wait "$RUN_DIR/$r.pid" TERM
    rm -f "$RUN_DIR/$r.sock"
  done
  ELOG_RUN_DIR="$RUN_DIR" as_app "$BUILD/tools/elogctl" budget-remove 2>/dev/null || true
  rm -f "$(stack_state)"
}

worker_pids() { # route
  [ -f "$RUN_DIR/$1.pid" ] && pgrep -P "$(cat "$RUN_DIR/$1.pid")" | tr '\n' ' '
}

# Every worker finishes its request and exits; multiwatch starts a fresh one (a cold start),
# which connects and answers one GET internally before it accepts. Returns once each route has
# its full count of new workers, all ready (wait_workers_ready).
stack_restart() { # [route]
  local r pid
  declare -A old=()
  for r in ${1:-$ROUTES}; do
    [ -f "$RUN_DIR/$r.pid" ] || die "unknown route $r"
    old[$r]=" $(worker_pids "$r") "
    for pid in ${old[$r]}; do kill -USR2 "$pid" 2>/dev/null || true; done
  done
  for r in "${!old[@]}"; do wait_workers_ready "$r" "${old[$r]}"; done
}

# Waits until workers_ready; dies after RESTART_WAIT_S (default 30) seconds.
wait_workers_ready() { # route old-pids
  local i
  for ((i = 0; i < ${RESTART_WAIT_S:-30} * 100; i++)); do
    workers_ready "$1" "$2" && return 0
    sleep 0.01
  done
  die "the workers of $1 were not ready after ${RESTART_WAIT_S:-30} s; see $LOG_DIR/$1.log"
}

# True when route has its full count of workers, none of them in old-pids, each warmed up
# (the ready flag of its slot in the shared segment).
workers_ready() { # route old-pids
  local pids pid ready
  pids=$(worker_pids "$1")
  [ "$(echo "$pids" | wc -w)" -ge "$(route_workers "$1")" ] || return 1
  ready=" $(ELOG_RUN_DIR="$RUN_DIR" as_app "$BUILD/tools/elogctl" budget-status |
            awk '$1 == "worker" && $5 == "ready" && $6 == 1 {printf "%s ", $4}') "
  for pid in $pids; do
    case "$2" in *" $pid "*) return 1 ;; esac
    case "$ready" in *" $pid "*) ;; *) return 1 ;; esac
  done
}

stack_status() {
  local r masked
  for r in $ROUTES; do
    printf '%-22s supervisor %-7s workers %s\n' "$r" "$(cat "$RUN_DIR/$r.pid" 2>/dev/null)" "$(worker_pids "$r")"
  done
  echo "url: http://127.0.0.1:$HTTP_PORT/api/health"
  masked=$("$BUILD/tools/elogctl" mask-dsn "$DATABASE_URL")
  echo "database: $masked"
  ELOG_RUN_DIR="$RUN_DIR" as_app "$BUILD/tools/elogctl" budget-status | head -1
}

# ---- demo data and logins (users and ML predictions) --------------------------------

# Demo users with passwords generated at the first run (kept in VAR_DIR, mode 0600), then one
# ML batch so that predictions exist.
db_demo_data() {
  as_app "$BUILD/tools/demo_users" "$VAR_DIR/demo-credentials"
  as_app "$BUILD/tools/ml_batch"
}

print_login_help() {
  if [ "${AUTH_REQUIRED:-1}" = 0 ]; then
    echo "  auth:     off (AUTH_REQUIRED=0): no token needed"
    return
  fi
  [ -f "$VAR_DIR/demo-credentials" ] || return 0
  echo "  logins ($VAR_DIR/demo-credentials):"
  sed 's/^/    /' "$VAR_DIR/demo-credentials"
  local user pass
  IFS=: read -r user pass < "$VAR_DIR/demo-credentials"
  cat <<MSG
  log in:   TOKEN=\$(curl -s -X POST -H 'Content-Type: application/json' \\
              -d '{"username":"$user","password":"$pass"}' http://127.0.0.1:$HTTP_PORT/api/auth | jq -r .data.access_token)
            curl -s -H "Authorization: Bearer \$TOKEN" 'http://127.0.0.1:$HTTP_PORT/api/logs?pageSize=5'
MSG
}

# ---- a private stack for tests and benchmarks ----------------------------------------

# The port is below the kernel's range of ephemeral ports: a port from that range may be taken
# as the source port of any outgoing connection (wrk's, psql's) between this probe and the bind.
free_port() {
  local p low
  low=$(cut -f1 /proc/sys/net/ipv4/ip_local_port_range 2>/dev/null || echo 32768)
  [ "${low:-0}" -gt 12000 ] 2>/dev/null || low=32768
  while :; do
    p=$((10000 + RANDOM % (low - 10000)))
    (echo >/dev/tcp/127.0.0.1/$p) 2>/dev/null || { echo $p; return; }
  done
}

# Starts PostgreSQL with the schema and SEED_ROWS rows over SEED_HOURS in a new temporary
# VAR_DIR on free ports (no workers yet: start them with stack_start).
private_db_up() {
  VAR_DIR=$(mktemp -d /tmp/elog-private.XXXXXX)
  chmod 755 "$VAR_DIR"
  HTTP_PORT=$(free_port)
  PG_PORT=$(free_port)
  export VAR_DIR HTTP_PORT PG_PORT
  set_paths
  own_dir "$VAR_DIR"
  pg_init && pg_start && pg_bootstrap || return 1
  DATABASE_URL=$(pg_dsn)
  export DATABASE_URL
  db_apply_schema || return 1
  as_app "$BUILD/tools/seed" --rows "${SEED_ROWS:-20000}" --hours "${SEED_HOURS:-48}" >/dev/null
  [ "${DEMO_DATA:-1}" = 0 ] || db_demo_data >/dev/null
  ensure_jwt_secret
}

private_stack_down() {
  stack_stop >/dev/null 2>&1
  pg_stop >/dev/null 2>&1
  rm -rf "$VAR_DIR"
}
