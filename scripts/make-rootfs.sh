#!/bin/sh
# Prints the path of a Debian bookworm minbase root filesystem tarball,
# building it with debootstrap from Debian's archive on first use and
# caching it (HCSSHIM_CACHE, default /var/cache/hcsshim).
set -eu
cache=${HCSSHIM_CACHE:-/var/cache/hcsshim}
out="$cache/debian-bookworm-minbase.tar.gz"
if [ -s "$out" ]; then echo "$out"; exit 0; fi
mirror=$(sh "$(dirname "$0")/debian-mirror.sh")
mkdir -p "$cache"
work=$(mktemp -d "$cache/rootfs.XXXXXX")
trap 'rm -rf "$work"' EXIT
echo "make-rootfs: debootstrap --variant=minbase bookworm from $mirror (first run only)" >&2
debootstrap --variant=minbase bookworm "$work/root" "$mirror" >"$work/log" 2>&1 || {
  tail -n 20 "$work/log" >&2; exit 1; }
rm -rf "$work/root/var/cache/apt/archives/"*.deb "$work/root/var/lib/apt/lists/"* 2>/dev/null || true
tar --numeric-owner --xattrs -C "$work/root" -czf "$work/rootfs.tar.gz" .
mv "$work/rootfs.tar.gz" "$out"
echo "$out"
