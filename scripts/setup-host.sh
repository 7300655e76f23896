#!/bin/sh
# Idempotent host set-up for hcsshim for Lua on Debian 12 (run as root).
# Installs what is missing and applies the runtime-only host fixes from
# shared/reference/linux-host.md (hybrid cgroups, ip_forward). Cheap when
# nothing is missing, so every make target that needs the host may call it.
set -eu

PKGS="build-essential pkg-config lua5.4 liblua5.4-dev lua-cjson lua-busted
crun catatonit busybox-static libarchive-dev libarchive-tools debootstrap
iproute2 iptables containernetworking-plugins jq curl util-linux valgrind
luarocks libjansson-dev libssl-dev attr libsqlite3-dev sqlite3 procps
lua-filesystem lua-argparse lua-cqueues lua-luv lua-ldoc"

missing=""
for p in $PKGS; do
  dpkg-query -W -f='${Status}\n' "$p" 2>/dev/null | grep -q '^install ok installed$' \
    || missing="$missing $p"
done
if [ -n "$missing" ]; then
  if [ "$(id -u)" != 0 ]; then
    echo "setup-host: missing packages:$missing (run as root)" >&2; exit 1
  fi
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  # shellcheck disable=SC2086
  apt-get install -y -qq --no-install-recommends $missing >/dev/null
fi

[ "$(id -u)" = 0 ] || exit 0

# crun 1.8.1 refuses hybrid cgroups while a controller sits on the cgroup2
# mount: bind every such controller to its own v1 hierarchy (lost at reboot).
if [ -r /sys/fs/cgroup/unified/cgroup.controllers ]; then
  for c in $(cat /sys/fs/cgroup/unified/cgroup.controllers); do
    mkdir -p "/sys/fs/cgroup/$c"
    mountpoint -q "/sys/fs/cgroup/$c" || mount -t cgroup -o "$c" cgroup "/sys/fs/cgroup/$c"
  done
fi
if [ -d /sys/fs/cgroup/unified ] && ! mountpoint -q /sys/fs/cgroup/hugetlb; then
  mkdir -p /sys/fs/cgroup/hugetlb
  mount -t cgroup -o hugetlb cgroup /sys/fs/cgroup/hugetlb || true
fi
sysctl -qw net.ipv4.ip_forward=1 >/dev/null 2>&1 || true
exit 0
