#!/bin/sh
# Idempotent set-up for the Windows cross-build and the Wine suite
# (shared/reference/linux-host.md section 6 and its recipe):
#   - apt packages gcc-mingw-w64-x86-64 and wine64 (about 2 minutes once);
#   - an import library for lua54.dll made from Debian's liblua5.4 exports
#     (lua_ident, a data symbol, left out);
#   - with "--wine": a Windows lua.exe + lua54.dll built from Debian's lua5.4
#     source package and a Windows cjson.dll from Debian's lua-cjson source
#     package, both fetched with `apt-get source --download-only` against a
#     private sources list (the system's apt sources are not touched), and a
#     Wine prefix under build/ (WINEDEBUG=-all, winedbg disabled so that a
#     crash fails the run).
# Everything is cached under build/win32/, so reruns take well under a second.
set -eu
B=${BUILD:-build}/win32
mkdir -p "$B"
B=$(cd "$B" && pwd)
want_wine=0
[ "${1:-}" = "--wine" ] && want_wine=1

PKGS="gcc-mingw-w64-x86-64 liblua5.4-dev binutils"
[ $want_wine = 1 ] && PKGS="$PKGS wine64 dpkg-dev"
first() { # the first path a glob matched, or a clear failure
  [ -e "$1" ] || { echo "setup-win32: nothing matches $1" >&2; return 1; }
  echo "$1"
}
# shellcheck disable=SC2086 # a list of package names
sh "$(dirname "$0")/apt-install.sh" setup-win32 $PKGS

# import library for lua54.dll
if [ ! -f "$B/liblua54.dll.a" ]; then
  so=$(first /usr/lib/x86_64-linux-gnu/liblua5.4.so.0*)
  { echo "LIBRARY lua54.dll"; echo "EXPORTS"
    nm -D --defined-only "$so" | awk '$2=="T"{sub(/@.*/,"",$3); print "  "$3}' | sort -u; } > "$B/lua54.def"
  x86_64-w64-mingw32-dlltool -d "$B/lua54.def" -D lua54.dll -l "$B/liblua54.dll.a"
fi
[ $want_wine = 1 ] || exit 0

# Debian source packages through a private sources list
S="$B/aptsrc"
apt_src() { # apt-get on the private sources list only
  apt-get -o Dir::Etc::SourceList="$S/src.list" -o Dir::Etc::SourceParts=/nonexistent \
    -o Dir::State::Lists="$S/lists" -o APT::Sandbox::User=root "$@"
}
fetch() { # package
  first "$S/$1"_*.orig.tar.* >/dev/null 2>&1 && return 0
  mkdir -p "$S/lists/partial"
  echo 'deb-src [signed-by=/usr/share/keyrings/debian-archive-keyring.gpg] http://deb.debian.org/debian bookworm main' > "$S/src.list"
  find "$S/lists" -mindepth 1 -maxdepth 1 ! -name partial | grep -q . || apt_src -qq update
  (cd "$S" && apt_src -qq source --download-only "$1" >/dev/null)
}

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
  rm -rf "$B/cjson-src" && mkdir -p "$B/cjson-src"
  tar xf "$(first "$S"/lua-cjson_*.orig.tar.*)" -C "$B/cjson-src" --strip-components=1
  c="$B/cjson-src"
  # Debian's source patches (Lua 5.2+ function names, unpack) as Debian builds it
  tar xf "$(first "$S"/lua-cjson_*.debian.tar.*)" -C "$c"
  if [ -f "$c/debian/patches/series" ]; then
    grep -v '^#' "$c/debian/patches/series" | while read -r p; do
      [ -z "$p" ] || patch -s -d "$c" -p1 < "$c/debian/patches/$p" || exit 1
    done
  fi
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
