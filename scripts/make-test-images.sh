#!/bin/sh
# Builds the test images of spec/image_spec.lua with real clients, offline,
# from a root filesystem tar, and prints the folder that holds them:
#   base.oci.tar     podman import + podman save --format oci-archive
#   base.docker.tar  the same image, podman save --format docker-archive
#   child.oci.tar    FROM base + COPY (podman build, no RUN: no runtime needed),
#   child.docker.tar   sharing base's layer
#   zstd/            skopeo copy of base into an OCI layout, zstd layers
#   gzip/            skopeo copy of child into an OCI layout, gzip layers
# Cached under ${HCSSHIM_CACHE:-/var/cache/hcsshim}/images-<sha256 of the
# rootfs tar and this script>.  Podman runs as root without systemd on a
# private storage root (vfs driver, cgroupfs, file events) in a temp folder
# that is removed afterwards, so concurrent runs never share state.
set -eu
rootfs=$1
cache=${HCSSHIM_CACHE:-/var/cache/hcsshim}
key=$(cat "$rootfs" "$0" | sha256sum | cut -c1-16)
out="$cache/images-$key"
if [ -d "$out" ]; then echo "$out"; exit 0; fi
for tool in podman skopeo; do
  command -v "$tool" >/dev/null || {
    echo "make-test-images: $tool is missing (run scripts/setup-host.sh)" >&2
    exit 1
  }
done
mkdir -p "$cache"
work=$(mktemp -d "$cache/images.XXXXXX")
trap 'rm -rf "$work"' EXIT
mkdir -p "$work/tmp" "$work/out" "$work/ctx"
podman() {
  command podman --root "$work/storage" --runroot "$work/run" --tmpdir "$work/tmp" \
    --storage-driver vfs --cgroup-manager cgroupfs --events-backend file "$@"
}
{
  podman import --change 'CMD ["cat", "/etc/os-release"]' --change 'ENV GREETING=hello' \
    --change 'WORKDIR /etc' "$rootfs" localhost/hcsshim-test/base:1
  echo "added by the child image" >"$work/ctx/child.txt"
  printf 'FROM localhost/hcsshim-test/base:1\nCOPY child.txt /child.txt\n' \
    >"$work/ctx/Containerfile"
  podman build --network none -t localhost/hcsshim-test/child:1 "$work/ctx"
  for img in base child; do
    podman save --format oci-archive -o "$work/out/$img.oci.tar" "localhost/hcsshim-test/$img:1"
    podman save --format docker-archive -o "$work/out/$img.docker.tar" \
      "localhost/hcsshim-test/$img:1"
  done
  skopeo --tmpdir "$work/tmp" copy --dest-compress-format zstd \
    "oci-archive:$work/out/base.oci.tar" "oci:$work/out/zstd:base"
  skopeo --tmpdir "$work/tmp" copy --dest-compress-format gzip \
    "docker-archive:$work/out/child.docker.tar" "oci:$work/out/gzip:child"
} >"$work/log" 2>&1 || { tail -n 20 "$work/log" >&2; exit 1; }
mv -T "$work/out" "$out" 2>/dev/null || [ -d "$out" ] # a concurrent run may have won
echo "$out"
