#!/bin/sh
# Runs the whole suite as root on real containers: the C drivers of the
# Linux host compute service, then the busted specs.  The specs run in a
# runtime root, data root and cgroup parent of their own, so that the final
# leak spec (and the sweep after it) covers exactly what this run could
# have made.  Ends with one "N passed, N failed" line.
set -u
# C_TESTS, TEST_WRAPPER and BUSTED_ARGS are lists of words: they are split
# on purpose, and never globbed (BUSTED_ARGS may hold a `?` of a cpath).
set -f
LUA=${1:-lua5.4}
BUILD=${BUILD:-build}
run="t$$"
export HCSSHIM_RUNTIME_ROOT="/run/hcsshim-test/$run"
export HCSSHIM_DATA_ROOT="/var/tmp/hcsshim-test/$run"
export HCSSHIM_CGROUP_PARENT="/hcsshim-test-$run"
export HCSSHIM_TEST_LUA="$LUA"
mkdir -p "$HCSSHIM_DATA_ROOT"
log=$(mktemp)
passed=0
failed=0
status=0

# C drivers print "... N checks, M failures"
for t in ${C_TESTS-"$BUILD/spec/layer_test" "$BUILD/hcs_linux_test"}; do
  [ -x "$t" ] || continue
  echo "== $t"
  HCSSHIM_MONITOR="$BUILD/hcsshim/monitor" HCSSHIM_HELPER="$BUILD/hcsshim/helper" \
    HCSSHIM_EXTRACT="$BUILD/hcsshim/extract" "$t" >"$log" 2>&1 || status=1
  tail -n 1 "$log"
  grep -E '^FAIL ' "$log" || true   # the failed checks by name
  line=$(grep -oE '[0-9]+ checks, [0-9]+ failures' "$log" | tail -n 1)
  n=$(echo "$line" | awk '{print $1}')
  f=$(echo "$line" | awk '{print $3}')
  if [ -z "$n" ]; then status=1; failed=$((failed + 1)); cat "$log"; continue; fi
  passed=$((passed + n - f))
  failed=$((failed + f))
done

echo "== busted"
# shellcheck disable=SC2086
${TEST_WRAPPER:-} "$LUA" /usr/bin/busted --sort-files ${BUSTED_ARGS:-} >"$log" 2>&1 || status=1
cat "$log"
p=$(sed -n 's/^\[  PASSED  \] \([0-9][0-9]*\) tests\?\..*/\1/p' "$log" | tail -n 1)
f=$(sed -n 's/^\[  FAILED  \] \([0-9][0-9]*\) tests\?, listed below.*/\1/p' "$log" | tail -n 1)
e=$(sed -n 's/^\[  ERROR   \] \([0-9][0-9]*\) errors\?, listed below.*/\1/p' "$log" | tail -n 1)
f=$(( ${f:-0} + ${e:-0} ))
if [ -z "$p" ] && [ -z "$f" ]; then status=1; failed=$((failed + 1)); fi
passed=$((passed + ${p:-0}))
failed=$((failed + ${f:-0}))
rm -f "$log"

# belt and braces after the leak spec: nothing of this run may survive
for m in $(findmnt -rn -o TARGET | grep -F "$HCSSHIM_DATA_ROOT" | sort -r); do umount -l "$m" || true; done
rm -rf --one-file-system "$HCSSHIM_DATA_ROOT" "$HCSSHIM_RUNTIME_ROOT"
# the Windows backend under Wine (make test sets HCSSHIM_WIN32_TESTS=1):
# set-up, cross-build and the suite against the vmcompute.dll double
if [ "${HCSSHIM_WIN32_TESTS:-0}" = 1 ]; then
  echo "== wine (spec/win32)"
  wlog=$(mktemp)
  make --no-print-directory BUILD="$BUILD" test-win32 >"$wlog" 2>&1 || status=1
  tr -d '\r' <"$wlog" | grep -vE '^(x86_64-w64-mingw32-gcc|make\[[0-9]+\]: )'
  line=$(tr -d '\r' <"$wlog" | grep -E '^[0-9]+ passed, [0-9]+ failed$' | tail -n 1)
  if [ -z "$line" ]; then status=1; failed=$((failed + 1)); else
    passed=$((passed + $(echo "$line" | awk '{print $1}')))
    failed=$((failed + $(echo "$line" | awk '{print $3}')))
  fi
  rm -f "$wlog"
fi

[ "$failed" -gt 0 ] && status=1
echo "$passed passed, $failed failed"
exit $status
