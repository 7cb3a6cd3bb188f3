#!/usr/bin/env bash
# run.sh -- builds every tests/fuzz/fuzz_*.c as a libFuzzer target (clang, ASan + UBSan, all of
# common/) into build/fuzz/ and runs each for SECONDS on a copy of its seed corpus
# (tests/fuzz/corpus_<name>/; new inputs stay in the copy). Prints one line per target,
# "PASS fuzz_x: N runs" or "FAIL fuzz_x", and exits non-zero when a build fails or a target
# crashes (the crashing input and the log are kept in build/fuzz/).
# Usage: tests/fuzz/run.sh SECONDS
set -uo pipefail
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
SECONDS_EACH=${1:?usage: tests/fuzz/run.sh SECONDS}
case "$SECONDS_EACH" in '' | *[!0-9]*) echo "SECONDS must be a whole number" >&2; exit 2 ;; esac
OUT=$ROOT/build/fuzz
CC=${FUZZ_CC:-clang}
CFLAGS=(-g -O1 -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=undefined
        -std=c11 -D_GNU_SOURCE -Icommon -I/usr/include/postgresql -DAPP_VERSION='"fuzz"')
LDLIBS=(-lpq -lfcgi -lcjson -lcrypto -lm)

command -v "$CC" >/dev/null || { echo "FAIL fuzz: $CC is not installed"; exit 1; }
rm -rf "$OUT/common"
mkdir -p "$OUT/common"
failed=0
cd "$ROOT" || exit 1
# common/ once for all targets, in parallel. The targets link the shared libpq, so the
# stand-ins that the static link needs (common/pq_static.c) are left out.
export CC OUT
if ! printf '%s\n' common/*.c | grep -v '^common/pq_static\.c$' | xargs -P "$(nproc)" -I{} sh -c \
     '"$CC" "$@" -c {} -o "$OUT/common/$(basename {} .c).o"' sh "${CFLAGS[@]}" 2>"$OUT/common.build.log"; then
  echo "FAIL fuzz: common/ does not build (see $OUT/common.build.log)"
  exit 1
fi
for src in tests/fuzz/fuzz_*.c; do
  name=$(basename "$src" .c)
  corpus_src=tests/fuzz/corpus_${name#fuzz_}
  if ! "$CC" "${CFLAGS[@]}" "$src" "$OUT"/common/*.o "${LDLIBS[@]}" -o "$OUT/$name" 2>"$OUT/$name.build.log"; then
    echo "FAIL $name: build failed (see $OUT/$name.build.log)"
    failed=1
    continue
  fi
  work=$(mktemp -d)
  [ -d "$corpus_src" ] && cp -r "$corpus_src"/. "$work"/
  # -runs is unbounded; time alone ends the run. ASan's leak check stays on.
  if "$OUT/$name" -max_total_time="$SECONDS_EACH" -timeout=10 -rss_limit_mb=2048 \
       -artifact_prefix="$OUT/$name-" -print_final_stats=1 "$work" >"$OUT/$name.log" 2>&1; then
    runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$OUT/$name.log" | tail -1)
    echo "PASS $name: ${runs:-0} runs"
  else
    echo "FAIL $name (see $OUT/$name.log)"
    grep -m 3 -E 'ERROR|SUMMARY|runtime error' "$OUT/$name.log" | sed 's/^/  /'
    failed=1
  fi
  rm -rf "$work"
done
exit "$failed"
