#!/bin/sh
# Runs the busted suite as root on real containers, in a runtime root, data
# root and cgroup parent of its own, so that the final leak check (and the
# cleanup after it) sweeps exactly what this run could have made.
set -eu
LUA=${1:-lua5.4}
run="t$$"
export HCSSHIM_RUNTIME_ROOT="/run/hcsshim-test/$run"
export HCSSHIM_DATA_ROOT="/var/tmp/hcsshim-test/$run"
export HCSSHIM_CGROUP_PARENT="/hcsshim-test-$run"
mkdir -p "$HCSSHIM_DATA_ROOT"
export HCSSHIM_TEST_LUA="$LUA"
status=0
${TEST_WRAPPER:-} "$LUA" /usr/bin/busted --sort-files ${BUSTED_ARGS:-} || status=$?
# belt and braces after the leak spec: nothing of this run may survive
for m in $(findmnt -rn -o TARGET | grep -F "$HCSSHIM_DATA_ROOT" | sort -r); do umount -l "$m" || true; done
rm -rf --one-file-system "$HCSSHIM_DATA_ROOT" "$HCSSHIM_RUNTIME_ROOT"
exit $status
