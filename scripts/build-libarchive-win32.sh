#!/bin/sh
# libarchive for the Windows core: a static mingw-w64 build of Debian's
# libarchive source package (its security patches applied), reading and
# writing tar with zlib (Debian's libz-mingw-w64-dev) and nothing else
# optional.  One patch of ours on top (libarchive-mswindows.patch): the
# PAX records of Windows layer tars (MSWINDOWS.fileattr, .rawsd, ...),
# which libarchive would drop, are read into and written from xattrs of
# the same name.  Installs into $BUILD/win32/libarchive/{include,lib}; cached:
# a rerun with the library in place costs nothing.  Takes about 2 minutes
# once (configure, then the library only).
# Usage: build-libarchive-win32.sh   (BUILD defaults to build)
set -eu
here=$(cd "$(dirname "$0")" && pwd)
B=${BUILD:-build}/win32
mkdir -p "$B"
B=$(cd "$B" && pwd)
P="$B/libarchive"
# rebuilt when this script or the patch changes
stamp=$(cat "$0" "$here/libarchive-mswindows.patch" | sha256sum | cut -c1-64)
[ -f "$P/lib/libarchive.a" ] && [ "$(cat "$P/stamp.sha256" 2>/dev/null)" = "$stamp" ] && exit 0
rm -rf "$P"
sh "$here/apt-install.sh" build-libarchive-win32 gcc-mingw-w64-x86-64 libz-mingw-w64-dev dpkg-dev patch
S="$B/aptsrc"
# shellcheck source=scripts/debian-source.sh
. "$here/debian-source.sh"
fetch libarchive
src="$B/libarchive-src"
unpack libarchive "$src"
patch -s -d "$src" -p1 < "$here/libarchive-mswindows.patch"
# Debian's patches touch configure.ac and Makefile.am (tests, an iconv
# check we do not use): keep the shipped configure rather than regenerate
# it (no autotools needed), by making the generated files newer again.
touch "$src/aclocal.m4"
touch "$src/configure" "$src/Makefile.in" "$src/build/autoconf/config.h.in"
obj="$B/libarchive-obj"
rm -rf "$obj" && mkdir -p "$obj"
log="$B/libarchive-build.log"
echo "build-libarchive-win32: configuring and building (log: $log)"
# LIBARCHIVE_STATIC: no dllexport on its functions, which would make the
# DLL linking them export those alone (and not luaopen_hcsshim_core)
(cd "$obj" && "$src/configure" --host=x86_64-w64-mingw32 --prefix="$P" CPPFLAGS=-DLIBARCHIVE_STATIC \
  --enable-static --disable-shared --disable-bsdtar --disable-bsdcpio --disable-bsdcat \
  --disable-acl --disable-xattr --without-bz2lib --without-libb2 --without-iconv --without-lz4 \
  --without-zstd --without-lzma --without-lzo2 --without-cng --without-mbedtls --without-nettle \
  --without-openssl --without-xml2 --without-expat --with-zlib) >"$log" 2>&1 \
  || { tail -n 20 "$log" >&2; exit 1; }
make -C "$obj" -j"$(nproc)" install-libLTLIBRARIES install-includeHEADERS >>"$log" 2>&1 \
  || { tail -n 20 "$log" >&2; exit 1; }
rm -rf "$obj" "$src"
echo "$stamp" > "$P/stamp.sha256"
echo "build-libarchive-win32: $P/lib/libarchive.a"
