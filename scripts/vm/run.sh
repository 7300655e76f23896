#!/bin/sh
# `make test-vm`: boots the cached Debian 12 image (build-image.sh) under
# QEMU with a throw-away overlay disk, shares the project tree with it over
# 9p, and lets the image's job unit run guest-test.sh as root: the suite, the
# crash harness, the demo, the systemd stop scenario and the README's
# LuaRocks commands.  The guest's output appears as it comes (serial
# console); the last line is the guest's "N passed, N failed".  Exits
# nonzero on any failure, or when the VM has not powered off after
# VM_TIMEOUT seconds (default 3600), when QEMU is killed.  KVM is used where
# the CPU has VMX/SVM, TCG otherwise.  The guest's logs are kept in
# build/test-vm/.
set -eu
here=$(cd "$(dirname "$0")" && pwd)
top=$(cd "$here/../.." && pwd)
limit=${VM_TIMEOUT:-3600}
mem=${VM_MEMORY:-3072}

sh "$top/scripts/apt-install.sh" test-vm qemu-system-x86 qemu-utils
image=$(sh "$here/build-image.sh")
run=$(mktemp -d "${TMPDIR:-/var/tmp}/hcsshim-vm.XXXXXX")
follow=""
cleanup() {
  [ -z "$follow" ] || kill "$follow" 2>/dev/null || true
  rm -rf "$run"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# the tree as a fresh clone plus local changes would have it (no build/)
mkdir "$run/share"
(cd "$top" && git ls-files -z --cached --others --exclude-standard |
  tar --null -T - --ignore-failed-read -cf "$run/share/src.tar" 2>/dev/null) ||
  { echo "test-vm: cannot pack the project tree" >&2; exit 1; }
cp "$here/guest-test.sh" "$run/share/job.sh"
qemu-img create -q -f qcow2 -F raw -b "$image/disk.img" "$run/disk.qcow2"

accel="-accel tcg,thread=multi"
if [ -w /dev/kvm ] && grep -qE '^flags.* (vmx|svm)( |$)' /proc/cpuinfo; then accel="-accel kvm"; fi
echo "test-vm: booting $image ($accel, 2 CPUs, $mem MiB, limit $limit s)"
t0=$(date +%s)
: >"$run/console.log"
tail -n +1 -f "$run/console.log" &
follow=$!
rc=0
# shellcheck disable=SC2086
timeout -k 10 "$limit" qemu-system-x86_64 $accel -cpu max -smp 2 -m "$mem" \
  -display none -monitor none -no-reboot -nic none \
  -serial "file:$run/console.log" \
  -kernel "$image/vmlinuz" -initrd "$image/initrd.img" \
  -append "root=/dev/vda rw console=ttyS0 quiet loglevel=3 systemd.show_status=0" \
  -drive "file=$run/disk.qcow2,format=qcow2,if=virtio,cache=unsafe" \
  -virtfs "local,path=$run/share,mount_tag=hcsshim,security_model=none,id=hcsshim" || rc=$?
sleep 1
kill "$follow" 2>/dev/null || true
follow=""
# the guest's logs stay in build/test-vm/ for a look afterwards
mkdir -p "$top/build/test-vm"
cp "$run/console.log" "$top/build/test-vm/console.log"
cp "$run/share/job.log" "$top/build/test-vm/job.log" 2>/dev/null || true
echo "test-vm: QEMU ran $(( $(date +%s) - t0 )) s"
[ "$rc" = 124 ] || [ "$rc" = 137 ] && echo "test-vm: killed after $limit s (VM_TIMEOUT)"
[ "$rc" = 0 ] || echo "test-vm: qemu exit status $rc"
job_rc=$(cat "$run/share/job.rc" 2>/dev/null || echo missing)
[ "$job_rc" = 0 ] || echo "test-vm: guest job status $job_rc"
line=$(grep -E '^[0-9]+ passed, [0-9]+ failed$' "$run/share/job.log" 2>/dev/null | tail -n 1)
if [ -z "$line" ]; then echo "0 passed, 1 failed"; exit 1; fi
echo "$line"
[ "$rc" = 0 ] && [ "$job_rc" = 0 ] && [ "${line#* passed, }" = "0 failed" ]
