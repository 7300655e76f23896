#!/bin/sh
# Idempotent set-up for the Windows cross-build and the Wine suite
# (shared/reference/linux-host.md section 6 and its recipe):
#   - apt packages gcc-mingw-w64-x86-64 and wine64 (about 2 minutes once);
#   - an import library for lua54.dll made from Debian's liblua5.4 exports
#     (lua_ident, a data symbol, left out);
#   - libarchive as a static mingw-w64 library from Debian's source package
#     (scripts/build-libarchive-win32.sh; about 2 minutes once);
#   - with "--wine": a Windows lua.exe + lua54.dll built from Debian's lua5.4
#     source package and a Windows cjson.dll from Debian's lua-cjson source
#     package, both fetched with `apt-get source --download-only` against a
#     private sources list (the system's apt sources are not touched), and a
#     Wine prefix under build/ (WINEDEBUG=-all, winedbg disabled so that a
#     crash fails the run).
# Everything is cached under build/win32/, so reruns take well under a second.
set -eu
here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=scripts/debian-source.sh
. "$here/debian-source.sh"
B=${BUILD:-build}/win32
mkdir -p "$B"
B=$(cd "$B" && pwd)
S="$B/aptsrc"
want_wine=0
[ "${1:-}" = "--wine" ] && want_wine=1

PKGS="gcc-mingw-w64-x86-64 liblua5.4-dev binutils"
[ $want_wine = 1 ] && PKGS="$PKGS wine64 dpkg-dev"
# shellcheck disable=SC2086 # a list of package names
sh "$here/apt-install.sh" setup-win32 $PKGS

# import library for lua54.dll
if [ ! -f "$B/liblua54.dll.a" ]; then
  so=$(first /usr/lib/x86_64-linux-gnu/liblua5.4.so.0*)
  { echo "LIBRARY lua54.dll"; echo "EXPORTS"
    nm -D --defined-only "$so" | awk '$2=="T"{sub(/@.*/,"",$3); print "  "$3}' | sort -u; } > "$B/lua54.def"
  x86_64-w64-mingw32-dlltool -d "$B/lua54.def" -D lua54.dll -l "$B/liblua54.dll.a"
fi
BUILD=$(dirname "$B") sh "$here/build-libarchive-win32.sh"
[ $want_wine = 1 ] || exit 0

MINGW_CC=x86_64-w64-mingw32-gcc
if [ ! -f "$B/lua/lua.exe" ] || [ ! -f "$B/lua/lua54.dll" ]; then
  fetch lua5.4
  rm -rf "$B/lua-src" && mkdir -p "$B/lua-src" "$B/lua"
  tar xzf "$(first "$S"/lua5.4_*.orig.tar.gz)" -C "$B/lua-src" --strip-components=1
  make -s -C "$B/lua-src/src" mingw CC="$MINGW_CC -std=gnu99" AR="x86_64-w64-mingw32-ar rcu" \
    RANLIB=x86_64-w64-mingw32-ranlib STRIP=x86_64-w64-mingw32-strip >/dev/null 2>&1
  cp "$B/lua-src/src/lua.exe" "$B/lua-src/src/lua54.dll" "$B/lua/"
fi
if [ ! -f "$B/lua/cjson.dll" ]; then
  fetch lua-cjson
  c="$B/cjson-src"
  # Debian's source patches (Lua 5.2+ function names, unpack) as Debian builds it
  unpack lua-cjson "$c"
  $MINGW_CC -O2 -shared -I"$B/lua-src/src" -o "$B/lua/cjson.dll" "$c/lua_cjson.c" "$c/strbuf.c" "$c/fpconv.c" \
    "$B/lua/lua54.dll" 2>/dev/null
fi

# the Wine prefix
export WINEPREFIX="$B/wineprefix" WINEDEBUG=-all WINEDLLOVERRIDES="winedbg.exe=d;mscoree,mshtml="
WINE=$(command -v wine64 || echo /usr/lib/wine/wine64)
if [ ! -f "$WINEPREFIX/system.reg" ]; then
  "$WINE" wineboot -i >/dev/null 2>&1 || true
  "${WINESERVER:-$(command -v wineserver || echo /usr/lib/wine/wineserver64)}" -w || true
fi
exit 0
