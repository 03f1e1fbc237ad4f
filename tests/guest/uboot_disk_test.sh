#!/usr/bin/env bash
# `trapeze run --boot disk`: OpenSBI, then Debian's U-Boot (u-boot-qemu), which finds a
# partitioned virtio disk, reads /boot/extlinux/extlinux.conf from its ext4 partition (the file
# Debian's u-boot-menu writes) and boots the kernel, initramfs and command line it names. The
# disk is made here from the cached guest's Image and test-initrd.img; the command line carries
# a marker that only extlinux.conf has.
#
# usage: uboot_disk_test.sh TRAPEZE ENGINE
set -uo pipefail

source "$(dirname "${BASH_SOURCE[0]}")/guest_env.sh"
command -v sfdisk >/dev/null || fail "sfdisk is missing (tools/install-deps installs fdisk)"
root=$work/root
mkdir -p "$root/boot/extlinux"
cp "$dir/Image" "$dir/test-initrd.img" "$root/boot/"
cat >"$root/boot/extlinux/extlinux.conf" <<'CONF'
default l0
menu title U-Boot menu
prompt 0
timeout 1

label l0
	menu label trapeze test kernel
	linux /boot/Image
	initrd /boot/test-initrd.img
	append console=ttyS0 panic=-1 trapeze.booted-by=extlinux
CONF
# One MBR partition from 1 MiB, ext4 written straight into it (no loop device, no root).
truncate -s 160M "$work/disk.img"
echo 'start=2048, type=83, bootable' | sfdisk -q "$work/disk.img" || fail "sfdisk failed"
mkfs.ext4 -q -E offset=$((2048 * 512)) -d "$root" "$work/disk.img" 158M || fail "mkfs.ext4 failed"

cmd=("$trapeze" run --engine "$engine" --boot disk --disk "$work/disk.img" --memory 512 --on-reboot exit)
echo "running: ${cmd[*]}"
timeout --kill-after=10 "$timeout_s" "${cmd[@]}" </dev/null >"$work/console.raw" 2>"$work/stderr"
status=$?
clean_console

((status == 0)) || { show; fail "trapeze exited with status $status"; }
grep -q '^U-Boot 20' "$work/console" || { show; fail "U-Boot did not start"; }
grep -q 'Retrieving file: /boot/extlinux/extlinux.conf\|extlinux/extlinux.conf' "$work/console" ||
  { show; fail "U-Boot did not read extlinux.conf"; }
grep -q 'Kernel command line: .*trapeze.booted-by=extlinux' "$work/console" ||
  { show; fail "the kernel did not get extlinux.conf's command line"; }
grep -q '^TRAPEZE-TEST-OK' "$work/console" || { show; fail "no TRAPEZE-TEST-OK marker"; }
echo "PASS: OpenSBI -> U-Boot -> extlinux.conf -> Debian's kernel and initramfs"
