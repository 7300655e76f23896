#!/bin/sh
# The Windows sources built a second time, as the rockspec's win32 block
# lists them (sources, defines, incdirs, libraries), with mingw-w64 in
# strict ISO C99 (-std=c99 -pedantic-errors) plus the project's warning
# set: a stand-in for MSVC's C, which has no C11 extras in its default
# mode.  Linking the DLL proves the source list is complete; every Lua
# module must be listed too.
# Usage: check-win32-strict.sh BUILD_DIR LUA_INCDIR "WARN FLAGS"
set -eu
W=$1
B=$W/strict
INC=$2
WARNFLAGS=$3
CC=${MINGW_CC:-x86_64-w64-mingw32-gcc}
LUA=${LUA:-lua5.4}
mkdir -p "$B"
set -- hcsshim-*.rockspec
spec=$1
# the win32 block of the rockspec, read by Lua itself: the compiler and
# linker flags on one line each, then one line per source and Lua module
# our libarchive build is static: its users say so, and zlib comes along
LIBARCHIVE_INCDIR=$W/libarchive/include LIBARCHIVE_LIBDIR=$W/libarchive/lib \
"$LUA" - "$spec" > "$B/block.txt" <<'LUA'
  local env = {}
  assert(loadfile(arg[1], "t", env))()
  local block = env.build.platforms.win32.modules
  local m = block["hcsshim.core"]
  local flags, libs = {}, {}
  for _, d in ipairs(m.defines or {}) do flags[#flags + 1] = "-D" .. d end
  -- LuaRocks' $(VAR) of an external dependency, from the environment
  local function var(s) return (s:gsub("%$%(([%w_]+)%)", function(v) return os.getenv(v) or "" end)) end
  for _, i in ipairs(m.incdirs or {}) do flags[#flags + 1] = "-I" .. var(i) end
  for _, d in ipairs(m.libdirs or {}) do libs[#libs + 1] = "-L" .. var(d) end
  for _, l in ipairs(m.libraries or {}) do libs[#libs + 1] = "-l" .. l end
  print("flags " .. table.concat(flags, " "))
  print("libs " .. table.concat(libs, " "))
  for _, s in ipairs(m.sources) do print("src " .. s) end
  for _, f in pairs(block) do
    if type(f) == "string" then print("lua " .. f) end
  end
LUA
flags="-std=c99 -pedantic-errors -O2 $WARNFLAGS -I$INC -DLIBARCHIVE_STATIC $(sed -n 's/^flags //p' "$B/block.txt")"
libs="$(sed -n 's/^libs //p' "$B/block.txt") -l:libz.a"
sed -n 's/^src //p' "$B/block.txt" > "$B/sources.txt"
objs=""
n=0
while read -r s; do
  o="$B/$(echo "$s" | tr / _ | sed 's/\.c$/.o/')"
  # shellcheck disable=SC2086
  $CC $flags -c "$s" -o "$o"
  objs="$objs $o"
  n=$((n + 1))
done < "$B/sources.txt"
# every Windows source and Lua module is in the rockspec (a file missing
# there would be missing from a LuaRocks build)
for s in src/*.c src/win32/*.c; do
  grep -qx "src $s" "$B/block.txt" || { echo "check-win32-strict: $s is not in the rockspec's win32 sources" >&2; exit 1; }
done
for f in lua/hcsshim/*.lua; do
  grep -qx "lua $f" "$B/block.txt" || { echo "check-win32-strict: $f is not in the rockspec's win32 modules" >&2; exit 1; }
done
# shellcheck disable=SC2086
$CC -shared -static-libgcc -o "$B/core.dll" $objs -L"$W" -llua54 $libs
echo "check-win32-strict: $n sources, C99 -pedantic-errors, linked"
