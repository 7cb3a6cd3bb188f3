#!/usr/bin/env bash
# run.sh -- `make test`: cmocka unit tests, then integration tests through a real stack
# (own PostgreSQL cluster, workers, nginx, on free loopback ports in a temporary folder).
# Prints "N passed, N failed" last and exits non-zero on any failure.
set -uo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
export TEST_RESULTS
TEST_RESULTS=$(mktemp)
unit_passed=0
unit_failed=0

run_unit() {
  local t out passed failed
  for t in "$BUILD_DIR"/tests/test_*; do
    [ -x "$t" ] || continue
    out=$("$t" 2>&1)
    echo "$out" | grep -E '^\[  (FAILED|PASSED|  OK) ' | grep -v '^\[       OK' || true
    passed=$(echo "$out" | sed -n 's/^\[  PASSED  \] \([0-9]*\) test.*/\1/p' | tail -1)
    failed=$(echo "$out" | sed -n 's/^\[  FAILED  \] \([0-9]*\) test.*/\1/p' | tail -1)
    if [ -z "$passed" ] && [ -z "$failed" ]; then
      echo "FAIL unit $(basename "$t"): crashed"; echo "$out" | tail -5
      failed=1
    fi
    unit_passed=$((unit_passed + ${passed:-0}))
    unit_failed=$((unit_failed + ${failed:-0}))
  done
  echo "unit: $unit_passed passed, $unit_failed failed"
}

if [ "${SANITIZE:-0}" = 1 ]; then BUILD_DIR=$ROOT/${BUILD:-build-san}; else BUILD_DIR=$ROOT/${BUILD:-build}; fi

export WORKERS=2 AUTH_REQUIRED=1 LOG_LEVEL=info SEED_ROWS=${TEST_SEED_ROWS:-20000} SEED_HOURS=48
# shellcheck source=scripts/lib.sh
. "$ROOT/scripts/lib.sh"
trap 'private_stack_down; rm -f "$TEST_RESULTS"' EXIT
private_db_up || { echo "FAIL: the test database did not come up"; echo "0 passed, 1 failed"; exit 1; }
# TLS on the cluster's loopback port (a self-signed certificate for localhost), so that
# test_pq_static can show the statically linked OpenSSL at work. Unix-socket clients are unaffected.
openssl req -new -x509 -days 2 -nodes -subj /CN=localhost -keyout "$PG_DIR/data/server.key" \
  -out "$PG_DIR/data/server.crt" >/dev/null 2>&1 &&
  chown "$(stat -c %U "$PG_DIR/data")" "$PG_DIR/data/server.key" "$PG_DIR/data/server.crt" &&
  chmod 600 "$PG_DIR/data/server.key" &&
  psql_admin -c 'ALTER SYSTEM SET ssl = on' -c 'SELECT pg_reload_conf()' >/dev/null ||
  echo "FAIL setup: TLS could not be turned on in the test cluster" | tee -a "$TEST_RESULTS"
echo "test stack in $VAR_DIR, http $HTTP_PORT, postgres $PG_PORT"
# Unit tests, some of which (the pool's) talk to this real server.
run_unit

# The same tree builds warning-free under clang too, and every parser survives a short fuzz.
if make -s -C "$ROOT" CC=clang BUILD="$VAR_DIR/build-clang" all >"$VAR_DIR/clang.log" 2>&1; then
  echo "PASS build: clang -Wall -Wextra -Werror" | tee -a "$TEST_RESULTS"
else
  echo "FAIL build: clang -Wall -Wextra -Werror -- $(grep -m1 error "$VAR_DIR/clang.log")" | tee -a "$TEST_RESULTS"
fi
"$ROOT/tests/fuzz/run.sh" "${FUZZ_SMOKE_SECONDS:-5}" | tee -a "$TEST_RESULTS"
stack_start >/dev/null

for t in "$ROOT"/tests/integration/*.sh; do
  [ -n "${TESTS:-}" ] && ! [[ "$(basename "$t")" == *${TESTS}* ]] && continue
  echo "--- $(basename "$t")"
  started=$SECONDS
  if ! timeout 300 bash "$t"; then
    echo "FAIL $(basename "$t" .sh): script exited non-zero" | tee -a "$TEST_RESULTS"
  fi
  echo "--- $(basename "$t") took $((SECONDS - started)) s"
  # A test that changed the stack's configuration must leave the default one behind.
  if ! curl -s -o /dev/null "http://127.0.0.1:$HTTP_PORT/"; then stack_stop; stack_start >/dev/null; fi
done

# A worker that crashed under a sanitizer may be hidden by nginx's retry on the other worker.
if grep -l -E 'runtime error|AddressSanitizer|LeakSanitizer' "$LOG_DIR"/*.log >/dev/null 2>&1; then
  echo "FAIL sanitizers: reports in $(grep -l -E 'runtime error|AddressSanitizer|LeakSanitizer' "$LOG_DIR"/*.log | xargs -n1 basename | tr '\n' ' ')" | tee -a "$TEST_RESULTS"
  grep -h -m 3 -E 'runtime error|ERROR: (Address|Leak)Sanitizer' "$LOG_DIR"/*.log
else
  echo "PASS sanitizers: no report in any worker log" | tee -a "$TEST_RESULTS"
fi

int_passed=$(grep -c '^PASS ' "$TEST_RESULTS")
int_failed=$(grep -c '^FAIL ' "$TEST_RESULTS")
echo "integration: $int_passed passed, $int_failed failed"
grep '^FAIL ' "$TEST_RESULTS"
total_passed=$((unit_passed + int_passed))
total_failed=$((unit_failed + int_failed))
echo "$total_passed passed, $total_failed failed"
[ "$total_failed" = 0 ]
