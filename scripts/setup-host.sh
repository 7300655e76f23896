#!/bin/sh
# Idempotent host set-up for hcsshim for Lua on Debian 12 (run as root).
# Installs what is missing and applies the runtime-only host fixes from
# shared/reference/linux-host.md (hybrid cgroups, ip_forward). Cheap when
# nothing is missing, so every make target that needs the host may call it.
set -eu

# shellcheck disable=SC2046 # a list of package names
sh "$(dirname "$0")/apt-install.sh" setup-host $(sed 's/#.*//' "$(dirname "$0")/host-packages")

[ "$(id -u)" = 0 ] || exit 0

# crun 1.8.1 refuses hybrid cgroups while a controller sits on the cgroup2
# mount: bind every such controller to its own v1 hierarchy (lost at reboot).
if [ -r /sys/fs/cgroup/unified/cgroup.controllers ]; then
  read -r controllers </sys/fs/cgroup/unified/cgroup.controllers || true
  for c in ${controllers:-}; do
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
