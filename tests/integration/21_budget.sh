#!/usr/bin/env bash
# 21_budget.sh -- the host-wide budget holds: budget 6 for 2 workers a route (health 1) x POOL_MAX 2,
# concurrent load on every route for 20 s while a random worker is kill -9ed every second;
# the server never sees more than 6 application connections (sampled every 50 ms inside
# PostgreSQL), responses are only 200, 503 with Retry-After, or at most one 502 per kill,
# and afterwards no budget is leaked.
. "$(dirname "$0")/../lib.sh"

BUDGET=6
restack DB_CONNECTION_BUDGET=$BUDGET POOL_MAX=2 POOL_MIN=1 WORKERS=2
nroutes=$(echo $ROUTES | wc -w)
tok=$(token admin)
budget_line() { ELOG_RUN_DIR="$RUN_DIR" as_app "$BUILD/tools/elogctl" budget-status | head -1; }

# Samples inside the server: 420 x 50 ms, fresh snapshot each time.
psql_admin -tA > "$RESP_DIR/max" 2>&1 <<'SQL' &
DO $$
DECLARE m int := 0; c int;
BEGIN
  FOR i IN 1..420 LOOP
    PERFORM pg_stat_clear_snapshot();
    SELECT count(*) INTO c FROM pg_stat_activity
     WHERE application_name LIKE 'elog:%' AND backend_type = 'client backend';
    m := greatest(m, c);
    PERFORM pg_sleep(0.05);
  END LOOP;
  RAISE NOTICE 'max=%', m;
END $$;
SQL
sampler=$!

load() { # route index
  local end=$((SECONDS + 20)) code ra
  while [ $SECONDS -lt $end ]; do
    code=$(curl -s -o /dev/null -D "$RESP_DIR/h.$1.$2" -w '%{http_code}' --max-time 10 \
      -H "Authorization: Bearer $tok" "http://127.0.0.1:$HTTP_PORT/api/$1")
    ra=$(grep -ci '^Retry-After:' "$RESP_DIR/h.$1.$2")
    echo "$code $ra $1"
  done > "$RESP_DIR/codes.$1.$2"
}
for r in $ROUTES; do load "$r" 1 & load "$r" 2 & done

kills=0
for i in $(seq 20); do
  sleep 1
  [ "${BUDGET_TEST_KILLS:-1}" = 1 ] || continue
  victims=()
  for r in $ROUTES; do victims+=($(worker_pids "$r")); done
  [ ${#victims[@]} -gt 0 ] || continue
  kill -9 "${victims[$((RANDOM % ${#victims[@]}))]}" 2>/dev/null && kills=$((kills + 1))
done
wait $(jobs -p | grep -v "^$sampler$") 2>/dev/null
wait "$sampler"
max=$(sed -n 's/.*max=\([0-9]*\).*/\1/p' "$RESP_DIR/max")

cat "$RESP_DIR"/codes.* > "$RESP_DIR/all"
total=$(wc -l < "$RESP_DIR/all")
n200=$(grep -c '^200 ' "$RESP_DIR/all")
echo "  by route: $(awk '{print $3, $1}' "$RESP_DIR/all" | sort | uniq -c | tr -s ' ' | tr '\n' ';')"
n503=$(grep -c '^503 1' "$RESP_DIR/all")
n502=$(grep -c '^502 ' "$RESP_DIR/all")
other=$((total - n200 - n503 - n502))
nworkers=0
for r in $ROUTES; do nworkers=$((nworkers + $(route_workers "$r"))); done
echo "  $nroutes routes, $nworkers workers x POOL_MAX 2 = $((nworkers * 2)) possible; budget $BUDGET"
echo "  $total requests: $n200 x 200, $n503 x 503, $n502 x 502, $other other; $kills kills; max server-side $max"
LAST_DETAIL="max $max"
check "the server never saw more than $BUDGET application connections" [ "${max:-99}" -le $BUDGET ]
check "the load really ran on every route ($total requests)" [ "$total" -gt $((nroutes * 20)) ]
LAST_DETAIL="$(sort "$RESP_DIR/all" | uniq -c | tr '\n' ' ')"
check "every response was 200, 503 with Retry-After, or 502" [ "$other" = 0 ]
check "most requests succeeded" [ "$n200" -gt $((total / 2)) ]
LAST_DETAIL="$n502 502s for $kills kills"
check "at most one 502 per kill" [ "$n502" -le "$kills" ]

# No leak: what the budget counts is what the server has, and it all comes back.
sleep 0.5
read -r _ limit _ in_use _ waiting < <(budget_line)
server=$(server_connections)
LAST_DETAIL="budget in_use $in_use, server $server"
check "budget in use equals the server-side connections" [ "$in_use" = "$server" ]
restack DB_CONNECTION_BUDGET=$BUDGET POOL_MAX=2 POOL_MIN=0 WORKERS=2
curl -s -o /dev/null "http://127.0.0.1:$HTTP_PORT/api/health"
for r in $ROUTES; do for p in $(worker_pids "$r"); do kill -9 "$p"; done; done
sleep 0.3
read -r _ limit _ in_use _ waiting < <(budget_line)
LAST_DETAIL="in_use $in_use waiting $waiting after killing every worker"
check "after kill -9 of every worker (POOL_MIN=0) the whole budget is free" [ "$in_use" = 0 -a "$waiting" = 0 ]
restack_default
