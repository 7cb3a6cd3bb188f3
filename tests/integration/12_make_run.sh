#!/usr/bin/env bash
# 12_make_run.sh -- the README's `make run` from the outside: a second stack side by side
# (own VAR_DIR and ports) with its own embedded cluster; Ctrl-C stops everything it started;
# DETACH=1 with make status / psql / stop; DATABASE_URL set: schema only, nothing seeded.
. "$(dirname "$0")/../lib.sh"

OTHER=$(mktemp -d /tmp/elog-run.XXXXXX)
chmod 755 "$OTHER"
PORT2=$(free_port)
PGPORT2=$(free_port)
# A free port is chosen below the ephemeral range, where no outgoing connection can take it
# between the probe and the bind (a bench once lost nginx's port to one).
low=$(cut -f1 /proc/sys/net/ipv4/ip_local_port_range)
ports=$(for _ in $(seq 200); do free_port; done | sort -n)
LAST_DETAIL="ephemeral from $low; chosen $(head -1 <<< "$ports")..$(tail -1 <<< "$ports")"
check "200 free ports chosen, all between 10000 and the ephemeral range" \
  [ "$(awk -v low="$low" '$1 >= 10000 && $1 < low' <<< "$ports" | wc -l)" = 200 ]
# The harness exports the test stack's DATABASE_URL; make run without one means the embedded
# cluster, so it is removed unless a call passes EXT_DATABASE_URL.
mk() { env -u DATABASE_URL ${EXT_DATABASE_URL:+DATABASE_URL=$EXT_DATABASE_URL} make -s -C "$ROOT" "$@" VAR_DIR="$OTHER" HTTP_PORT="$PORT2" PG_PORT="$PGPORT2" SEED_ROWS=3000; }
leftovers() { pgrep -f -- "$OTHER" | wc -l; }
up() { curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$PORT2/api/health"; }

scripts/deps.sh > "$RESP_DIR/deps" 2>&1
check "deps: nothing to install when everything is present" [ ! -s "$RESP_DIR/deps" ]

# Foreground run, stopped by Ctrl-C (SIGINT to its process group, as a terminal does).
setsid env -u DATABASE_URL bash -c "cd '$ROOT' && make -s run VAR_DIR='$OTHER' HTTP_PORT=$PORT2 PG_PORT=$PGPORT2 SEED_ROWS=3000" > "$RESP_DIR/run.out" 2>&1 &
runner=$!
wait_until 120 bash -c "[ \"\$(curl -s -o /dev/null -w '%{http_code}' http://127.0.0.1:$PORT2/api/health)\" = 200 ]"
check "make run serves health on its own port" [ "$(up)" = 200 ]
wait_until 10 grep -q "Press Ctrl-C" "$RESP_DIR/run.out"
LAST_DETAIL="$(tail -5 "$RESP_DIR/run.out")"
check "make run prints the URL" grep -q "http://127.0.0.1:$PORT2/" "$RESP_DIR/run.out"
check "make run prints a working curl line" grep -q "curl -s http://127.0.0.1:$PORT2/api/health" "$RESP_DIR/run.out"
check "make run prints the logins" grep -q "admin:" "$RESP_DIR/run.out"
check "the budget arithmetic is printed" grep -q "possible connections" "$RESP_DIR/run.out"
check "demo data was seeded" [ "$(as_app psql "postgresql://elog_app@/elog?host=$OTHER/pg&port=$PGPORT2" -tAc 'SELECT count(*) FROM log_entries')" = 3000 ]
check "demo credentials are private" [ "$(stat -c %a "$OTHER/demo-credentials")" = 600 ]
check "the first stack is untouched" [ "$(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$HTTP_PORT/api/health")" = 200 ]
kill -INT -- -"$runner"
wait_until 30 bash -c "! kill -0 $runner 2>/dev/null"
check "Ctrl-C ends make run" bash -c "! kill -0 $runner 2>/dev/null"
LAST_DETAIL="$(pgrep -af -- "$OTHER")"
check "Ctrl-C leaves no process behind" wait_until 10 test "$(leftovers)" = 0
LAST_DETAIL="$(ls "$OTHER/run" "$OTHER/pg" 2>/dev/null | grep -E 'sock|PGSQL')"
check "Ctrl-C leaves no socket behind" bash -c "! ls '$OTHER'/run/*.sock '$OTHER'/pg/.s.PGSQL.* 2>/dev/null | grep -q ."

# Detached: status, psql, restart, stop. The cluster and its data are reused, not re-seeded.
mk run DETACH=1 > "$RESP_DIR/detach.out" 2>&1
check "make run DETACH=1 returns with the stack up" [ "$(up)" = 200 ]
mk status > "$RESP_DIR/status" 2>&1
LAST_DETAIL="$(cat "$RESP_DIR/status")"
check "make status lists each route's worker pids" \
  grep -qE '^logs +supervisor [0-9]+ +workers [0-9]+ [0-9]+' "$RESP_DIR/status"
check "make status lists health's one worker" \
  grep -qE '^health +supervisor [0-9]+ +workers [0-9]+ *$' "$RESP_DIR/status"
check "make status prints the URL" grep -q "url: http://127.0.0.1:$PORT2/" "$RESP_DIR/status"
check "make status prints the database line" grep -q "^database: postgresql://elog_app@/elog" "$RESP_DIR/status"
echo 'SELECT count(*) FROM log_entries;' | mk psql > "$RESP_DIR/psql" 2>&1
LAST_DETAIL="$(cat "$RESP_DIR/psql")"
check "make psql opens the database in use (data reused, not re-seeded)" grep -qE '^ *3000$' "$RESP_DIR/psql"
mk stop > /dev/null 2>&1
check "make stop leaves no process behind" wait_until 10 test "$(leftovers)" = 0

# With DATABASE_URL: that database is used and only the schema is applied.
before=$(sql "SELECT count(*) FROM log_entries")
# One worker per route without a warm minimum: the test stack already holds its own share.
EXT_DATABASE_URL="$DATABASE_URL" WORKERS=1 POOL_MIN=0 mk run DETACH=1 > "$RESP_DIR/ext.out" 2>&1
check "with DATABASE_URL the stack serves" [ "$(up)" = 200 ]
check "with DATABASE_URL no private cluster is started" [ "$(pgrep -f -- "$OTHER/pg" | wc -l)" = 0 ]
check "with DATABASE_URL nothing is seeded" [ "$(sql "SELECT count(*) FROM log_entries")" = "$before" ]
EXT_DATABASE_URL="$DATABASE_URL" mk stop > /dev/null 2>&1
check "stopping it leaves the external database running" [ "$(sql 'SELECT 1')" = 1 ]
check "and no process of the second stack" wait_until 10 test "$(leftovers)" = 0
rm -rf "$OTHER"
