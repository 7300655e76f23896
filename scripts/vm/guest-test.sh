#!/bin/sh
# Runs as root inside the test VM (run.sh shares it as job.sh): unpacks the
# project tree from the host's share and runs, each as a part that passes or
# fails, the suite (Linux part: the Wine part needs mingw-w64, Wine and
# Debian source packages from the network, which the VM has not), the
# crash harness, the demo and the README's LuaRocks commands
# (luarocks-check.sh).  The systemd stop scenario is a spec of the suite,
# active where systemd is PID 1.  Ends with one "N passed, N failed" line.
set -u
share=/mnt/host
src=/root/hcsshim
passed=0
failed=0
count() { passed=$((passed + $1)); failed=$((failed + $2)); }
part() { echo; echo "=== $* ($(date +%T))"; }

part "guest: up $(cut -d" " -f1 /proc/uptime) s, kernel $(uname -r), $(systemctl --version | head -n 1), /sys/fs/cgroup is $(stat -fc %T /sys/fs/cgroup)"
echo "job unit's cgroup: $(cat /proc/self/cgroup)"
if ! { rm -rf "$src" && mkdir -p "$src" && tar -C "$src" -xf "$share/src.tar"; }; then
  echo "0 passed, 1 failed"; exit 1
fi
cd "$src" || exit 1

part "make test WIN32_TESTS=0 (the Wine suite is left out in the VM)"
make --no-print-directory test WIN32_TESTS=0 2>&1 | tee /tmp/test.log
line=$(grep -E '^[0-9]+ passed, [0-9]+ failed$' /tmp/test.log | tail -n 1)
if [ -n "$line" ]; then count "${line%% *}" "$(echo "$line" | awk '{print $3}')"; else count 0 1; fi

part "make crash (the crash harness; on systemd and cgroup v2 the monitors run in scopes of their own)"
if make --no-print-directory crash >/tmp/crash.log 2>&1; then
  sed -n '/^| step/,$p' /tmp/crash.log; echo "crash: passed"; count 1 0
else
  tail -n 60 /tmp/crash.log; echo "crash: FAILED"; count 0 1
fi

part "make demo"
# The image demo imports an image archive.  Building its default one (the
# Debian root filesystem, with podman) takes about 12 minutes under
# emulation, so here it imports the busybox archive the suite's image specs
# built with the same clients (scripts/make-test-images.sh), when there.
demo_image=""
for f in /var/cache/hcsshim/images-*/base.docker.tar; do [ -f "$f" ] && demo_image=$f; done
if make --no-print-directory demo DEMO_IMAGE="$demo_image" >/tmp/demo.log 2>&1; then
  tail -n 5 /tmp/demo.log; echo "demo: passed"; count 1 0
else
  tail -n 40 /tmp/demo.log; echo "demo: FAILED"; count 0 1
fi

part "LuaRocks: the README's commands in a fresh copy of the tree"
sh scripts/vm/luarocks-check.sh "$share/src.tar" 2>&1 | tee /tmp/rock.log
line=$(grep -E '^[0-9]+ passed, [0-9]+ failed$' /tmp/rock.log | tail -n 1)
if [ -n "$line" ]; then count "${line%% *}" "$(echo "$line" | awk '{print $3}')"; else count 0 1; fi

echo
echo "$passed passed, $failed failed"
[ "$failed" = 0 ]
