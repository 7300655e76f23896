#!/bin/sh
# Judges the logs of `make valgrind` (one per process, valgrind's %p).
# Memory errors (invalid reads/writes, uninitialised values, bad frees)
# fail in every process.  Leaks count only in the main process: a forked
# child (namespace set-up, tar extraction) exits holding its parent's heap,
# whose pointers lived on threads the child does not have.
set -u
dir=$1
main=""
pids=$(for f in "$dir"/vg.*.log; do basename "$f" .log | sed 's/^vg\.//'; done)
for f in "$dir"/vg.*.log; do
  parent=$(sed -n 's/^==[0-9]*== Parent PID: \([0-9]*\).*/\1/p' "$f" | head -n 1)
  echo "$pids" | grep -qx "$parent" || main=$f
done
status=0
for f in "$dir"/vg.*.log; do
  if grep -Eq '== (Invalid (read|write|free)|Conditional jump|Use of uninitialised|Mismatched free|Syscall param)' "$f"; then
    echo "valgrind: memory errors in $f"; cat "$f"; status=1
  fi
done
if [ -n "$main" ] && ! grep -q 'definitely lost: 0 bytes' "$main" && grep -q 'definitely lost:' "$main"; then
  echo "valgrind: leaks in the main process ($main)"; cat "$main"; status=1
fi
n=$(echo "$pids" | grep -c .)
[ $status = 0 ] && echo "valgrind: $n processes checked, no memory errors, no leaks in the main process"
exit $status
