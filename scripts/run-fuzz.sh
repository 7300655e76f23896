#!/bin/sh
# Runs each fuzz harness (built by `make fuzz`) for SECONDS under
# ASan+UBSan, one after the other (one core), and prints per harness the
# executions and crashes.  Corpora grow in $FUZZ/corpus/NAME; crash
# artifacts land in $FUZZ/crashes/NAME; spec/fuzz/regress/NAME (crashers
# found before, kept as regression seeds) and fresh seeds from
# spec/fixtures (scripts/fuzz-seeds.sh) are read first.  Exits 1 when any
# harness crashed or did not run.
# Usage: run-fuzz.sh SECONDS FUZZ_DIR HARNESS...
set -u
secs=$1
FUZZ=$(cd "$2" && pwd)
shift 2
export HCSSHIM_FUZZ_DIR="$FUZZ"
export LUA_PATH="$PWD/lua/?.lua;$PWD/lua/?/init.lua;;"
export ASAN_OPTIONS="${ASAN_OPTIONS:-abort_on_error=1:detect_leaks=1}"
export UBSAN_OPTIONS="${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}"
status=0
total=0
printf '%-18s %12s %8s %8s\n' harness executions crashes seconds
for bin in "$@"; do
  name=$(basename "$bin" | sed 's/^fuzz_//')
  corpus="$FUZZ/corpus/$name"
  crashes="$FUZZ/crashes/$name"
  log="$FUZZ/logs/$name.log"
  mkdir -p "$corpus" "$crashes" "$FUZZ/logs" "spec/fuzz/regress/$name"
  sh scripts/fuzz-seeds.sh "$name" "$FUZZ/seeds/$name" || status=1
  before=$(find "$crashes" -type f | wc -l)
  start=$(date +%s)
  "$bin" -max_total_time="$secs" -print_final_stats=1 -timeout=20 -rss_limit_mb=2048 \
    -max_len=65536 -artifact_prefix="$crashes/" \
    "$corpus" "spec/fuzz/regress/$name" "$FUZZ/seeds/$name" >"$log" 2>&1
  rc=$?
  took=$(($(date +%s) - start))
  execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -n 1)
  found=$(($(find "$crashes" -type f | wc -l) - before))
  if [ "$rc" != 0 ] && [ "$found" = 0 ]; then found=1; fi
  printf '%-18s %12s %8s %8s\n' "$name" "${execs:-?}" "$found" "$took"
  if [ "$rc" != 0 ] || [ -z "$execs" ]; then
    status=1
    grep -E '^(==[0-9]+==ERROR|SUMMARY|fuzz: |artifact_prefix|Test unit written)' "$log" | head -n 20
    echo "  (full log: $log)"
  fi
  total=$((total + ${execs:-0}))
done
echo "fuzz: $total executions in all; $([ $status = 0 ] && echo "no crash" || echo "FAILED")"
exit $status
