#!/bin/sh
# Prints the directory of the test VM's image (disk.img, vmlinuz,
# initrd.img), building it on first use: Debian 12 with systemd, the Debian
# kernel and every package of scripts/host-packages and scripts/vm/packages,
# installed with debootstrap and apt from the archive the host's apt uses.
# Cached under $HCSSHIM_CACHE/vm/<key> (default /var/cache/hcsshim); the key
# is a hash of the package lists and of this script, so changing either
# builds a new image.  Needs root, but neither KVM nor loop devices: the
# disk is made from the directory tree by `mke2fs -d`.
set -eu
here=$(cd "$(dirname "$0")" && pwd)
scripts=$(dirname "$here")
cache=${HCSSHIM_CACHE:-/var/cache/hcsshim}
pkgs=$(sed 's/#.*//' "$scripts/host-packages" "$here/packages" | tr -s '[:space:]' '\n' | grep -v '^$' | sort -u)
key=$( { echo "$pkgs"; cat "$0" "$here/guest-job"; } | sha256sum | cut -c1-16)
out="$cache/vm/bookworm-$key"
if [ -s "$out/disk.img" ]; then echo "$out"; exit 0; fi

sh "$scripts/apt-install.sh" test-vm debootstrap e2fsprogs >&2
rootfs_tar=$(sh "$scripts/make-rootfs.sh")  # the demo's root filesystem, baked in
mirror=$(sh "$scripts/debian-mirror.sh")
security=$(sh "$scripts/debian-mirror.sh" security)
mkdir -p "$cache/vm"
work=$(mktemp -d "$cache/vm/build.XXXXXX")
root="$work/root"
trap 'rm -rf --one-file-system "$work"' EXIT
log() { echo "build-image: $*" >&2; }
t0=$(date +%s)

log "debootstrap bookworm from $mirror into $work (first run only)"
debootstrap --variant=minbase --include=systemd-sysv,udev bookworm "$root" "$mirror" \
  >"$work/log" 2>&1 || { tail -n 30 "$work/log" >&2; exit 1; }
cat >"$root/etc/apt/sources.list" <<SRC
deb $mirror bookworm main
deb $mirror bookworm-updates main
deb $security bookworm-security main
SRC
# no daemon may start inside the chroot
printf '#!/bin/sh\nexit 101\n' >"$root/usr/sbin/policy-rc.d"
chmod 0755 "$root/usr/sbin/policy-rc.d"
log "apt-get install $(echo "$pkgs" | wc -l) packages"
# shellcheck disable=SC2086
chroot "$root" /usr/bin/env DEBIAN_FRONTEND=noninteractive LC_ALL=C sh -c \
  "apt-get update -qq && apt-get -y -qq dist-upgrade && apt-get install -y -qq --no-install-recommends $(printf '%s ' $pkgs)" \
  >>"$work/log" 2>&1 || { tail -n 30 "$work/log" >&2; exit 1; }
rm -f "$root/usr/sbin/policy-rc.d"
chroot "$root" apt-get clean  # the package lists stay: apt-get install works offline

log "configuring systemd, console and the job unit"
echo hcsshim-vm >"$root/etc/hostname"
printf '127.0.0.1 localhost\n127.0.1.1 hcsshim-vm\n' >"$root/etc/hosts"
printf '/dev/vda / ext4 defaults,errors=remount-ro 0 1\n' >"$root/etc/fstab"
chroot "$root" passwd -d root >/dev/null
install -m 0755 "$here/guest-job" "$root/usr/local/sbin/hcsshim-vm-job"
cat >"$root/etc/systemd/system/hcsshim-vm-job.service" <<'UNIT'
[Unit]
Description=Run the job the host shared over 9p, then power off
After=multi-user.target
[Service]
Type=oneshot
TimeoutStartSec=infinity
ExecStart=/usr/local/sbin/hcsshim-vm-job
StandardOutput=tty
StandardError=tty
TTYPath=/dev/ttyS0
[Install]
WantedBy=multi-user.target
UNIT
chroot "$root" systemctl enable hcsshim-vm-job.service >/dev/null 2>&1
chroot "$root" systemctl mask getty@tty1.service serial-getty@ttyS0.service \
  apt-daily.timer apt-daily-upgrade.timer e2scrub_all.timer fstrim.timer >/dev/null 2>&1
mkdir -p "$root/var/cache/hcsshim"
cp "$rootfs_tar" "$root/var/cache/hcsshim/"

log "making the disk from the tree (mke2fs -d)"
mkdir -p "$work/out"
cp "$root"/boot/vmlinuz-* "$work/out/vmlinuz"
cp "$root"/boot/initrd.img-* "$work/out/initrd.img"
truncate -s 16G "$work/out/disk.img"
mke2fs -q -F -t ext4 -L hcsshim-vm -d "$root" "$work/out/disk.img" 2>>"$work/log" ||
  { tail -n 30 "$work/log" >&2; exit 1; }
echo "$pkgs" >"$work/out/packages"
rm -rf "$out" && mv "$work/out" "$out"
# older images (other keys) are stale
for d in "$cache"/vm/bookworm-*; do [ "$d" = "$out" ] || rm -rf "$d"; done
log "built $out in $(( $(date +%s) - t0 )) s"
echo "$out"
