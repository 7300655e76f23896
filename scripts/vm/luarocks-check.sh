#!/bin/sh
# luarocks-check.sh TREE.TAR (root, in the test VM): unpacks the project
# into a fresh directory, runs the README's LuaRocks block (the fenced block
# after the "checked by scripts/vm/luarocks-check.sh" comment) there as
# written, then, from another directory, requires the installed hcsshim
# and runs a container with it.  Ends with "N passed, N failed".
set -u
tar=$1
fresh=/root/rock-clone
work=$(mktemp -d)
passed=0
failed=0
check() {  # check NAME COMMAND...: one check
  name=$1; shift
  if "$@"; then passed=$((passed + 1)); echo "ok: $name"
  else failed=$((failed + 1)); echo "FAILED: $name"; fi
}

rm -rf "$fresh" && mkdir -p "$fresh" && tar -C "$fresh" -xf "$tar"
awk '/checked by scripts\/vm\/luarocks-check.sh/ { on = 1; next }
     on && /^```/ { if (inside) exit; inside = 1; next }
     inside { print }' "$fresh/README.md" >"$work/readme.sh"
echo "the README's LuaRocks commands:"; sed 's/^/  /' "$work/readme.sh"
check "the README's LuaRocks block is there" test -s "$work/readme.sh"
check "the README's LuaRocks commands succeed in a fresh tree" \
  sh -c "cd '$fresh' && sh -ex '$work/readme.sh'"

# a busybox root filesystem for the container
mkdir -p "$work/root/bin" && cp /bin/busybox "$work/root/bin/" &&
  for d in etc tmp proc sys dev; do mkdir -p "$work/root/$d"; done &&
  echo 'root:x:0:0:root:/root:/bin/sh' >"$work/root/etc/passwd" &&
  (cd "$work/root/bin" && for a in $(./busybox --list); do [ "$a" = busybox ] || ln -s busybox "$a"; done) &&
  tar --numeric-owner -C "$work/root" -cf "$work/busybox.tar" .
cat >"$work/use.lua" <<'LUA'
local hcsshim = require "hcsshim"
local where = package.searchpath("hcsshim", package.path)
print("hcsshim from " .. tostring(where))
assert(where and not where:find("rock-clone", 1, true), "hcsshim was not loaded from an installed tree")
local r = assert(hcsshim.run{ rootfs = arg[1], command = "echo hello from a LuaRocks install", timeout = 60 })
io.write("container said: ", r.stdout)
assert(r.exit_code == 0 and r.stdout == "hello from a LuaRocks install\n")
LUA
check "require \"hcsshim\" from another directory runs a container" \
  sh -c "cd '$work' && env -u LUA_PATH -u LUA_CPATH lua5.4 use.lua busybox.tar"
rm -rf "$work"
echo "$passed passed, $failed failed"
[ "$failed" = 0 ]
