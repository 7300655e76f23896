#!/bin/sh
# The Windows sources built a second time, as the rockspec's win32 block
# lists them (sources, defines, incdirs, libraries), with mingw-w64 in
# strict ISO C99 (-std=c99 -pedantic-errors) plus the project's warning
# set: a stand-in for MSVC's C, which has no C11 extras in its default
# mode.  Linking the DLL proves the source list is complete.
# Usage: check-win32-strict.sh BUILD_DIR LUA_INCDIR "WARN FLAGS"
set -eu
B=$1/strict
INC=$2
WARNFLAGS=$3
CC=${MINGW_CC:-x86_64-w64-mingw32-gcc}
LUA=${LUA:-lua5.4}
mkdir -p "$B"
# the win32 block of the rockspec, read by Lua itself
spec=$(ls hcsshim-*.rockspec | head -n 1)
"$LUA" - "$spec" > "$B/block.txt" <<'LUA'
  local env = {}
  assert(loadfile(arg[1], "t", env))()
  local m = env.build.platforms.win32.modules["hcsshim.core"]
  for _, s in ipairs(m.sources) do print("src " .. s) end
  for _, d in ipairs(m.defines or {}) do print("def " .. d) end
  for _, i in ipairs(m.incdirs or {}) do print("inc " .. i) end
  for _, l in ipairs(m.libraries or {}) do print("lib " .. l) end
LUA
flags="-std=c99 -pedantic-errors -O2 $WARNFLAGS -I$INC"
for d in $(sed -n 's/^def //p' "$B/block.txt"); do flags="$flags -D$d"; done
for i in $(sed -n 's/^inc //p' "$B/block.txt"); do flags="$flags -I$i"; done
libs=""
for l in $(sed -n 's/^lib //p' "$B/block.txt"); do libs="$libs -l$l"; done
objs=""
for s in $(sed -n 's/^src //p' "$B/block.txt"); do
  o="$B/$(echo "$s" | tr / _ | sed 's/\.c$/.o/')"
  # shellcheck disable=SC2086
  $CC $flags -c "$s" -o "$o"
  objs="$objs $o"
done
# every Windows source is in the rockspec (a file missing there would be
# missing from a LuaRocks build)
for s in src/*.c src/win32/*.c; do
  grep -qx "src $s" "$B/block.txt" || { echo "check-win32-strict: $s is not in the rockspec's win32 sources" >&2; exit 1; }
done
# shellcheck disable=SC2086
$CC -shared -static-libgcc -o "$B/core.dll" $objs -L"$1" -llua54 $libs
echo "check-win32-strict: $(echo $objs | wc -w) sources, C99 -pedantic-errors, linked"
