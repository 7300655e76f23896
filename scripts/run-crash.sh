#!/bin/sh
# The crash harness (spec/crash/harness.lua) as root, in a runtime root,
# data root and cgroup parent of its own, like the suite
# (scripts/run-tests.sh); a few minutes.  Prints the step x outcome table.
set -u
LUA=${1:-lua5.4}
run="c$$"
export HCSSHIM_RUNTIME_ROOT="/run/hcsshim-test/$run"
export HCSSHIM_DATA_ROOT="/var/tmp/hcsshim-test/$run"
export HCSSHIM_CGROUP_PARENT="/hcsshim-test-$run"
export HCSSHIM_TEST_LUA="$LUA"
mkdir -p "$HCSSHIM_DATA_ROOT"
status=0
"$LUA" spec/crash/harness.lua || status=1
# belt and braces: nothing of this run may survive
for m in $(findmnt -rn -o TARGET | grep -F "$HCSSHIM_DATA_ROOT" | sort -r); do umount -l "$m" || true; done
rm -rf --one-file-system "$HCSSHIM_DATA_ROOT" "$HCSSHIM_RUNTIME_ROOT"
exit $status
