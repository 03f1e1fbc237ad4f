#!/usr/bin/env bash
# Boots Debian's kernel with two virtio-blk disks and the entropy device, then checks from the
# host what the guest did: test-initrd.img's /init mounts vda (an ext4 image made here with
# mkfs.ext4), writes a file, syncs and unmounts it; tries to write vdb (attached read-only);
# reads /dev/hwrng. The host then reads the file back with debugfs and checks that the
# read-only image is byte-for-byte unchanged.
#
# usage: virtio_blk_test.sh TRAPEZE ENGINE
set -uo pipefail

source "$(dirname "${BASH_SOURCE[0]}")/guest_env.sh"
truncate -s 64M "$work/rw.ext4" && mkfs.ext4 -q -F "$work/rw.ext4" || fail "mkfs.ext4 failed"
head -c 1M /dev/urandom >"$work/ro.img"
ro_sum=$(sha256sum <"$work/ro.img")

cmd=("$trapeze" run --engine "$engine" --kernel "$dir/Image" --bios "$dir/fw_jump.bin"
     --initrd "$dir/test-initrd.img" --append "console=ttyS0 panic=-1" --memory 512
     --disk "$work/rw.ext4,id=trapeze-rw" --disk "$work/ro.img,ro" --on-reboot exit)
echo "running: ${cmd[*]}"
timeout --kill-after=10 "$timeout_s" "${cmd[@]}" </dev/null >"$work/console.raw" 2>"$work/stderr"
status=$?
clean_console

((status == 0)) || { show; fail "trapeze exited with status $status"; }
grep -q '^TRAPEZE-TEST-OK' "$work/console" || { show; fail "no TRAPEZE-TEST-OK marker"; }
grep -q '^TRAPEZE-TEST: disk=written' "$work/console" || { show; fail "the guest could not write the ext4 disk"; }
grep -q '^TRAPEZE-TEST: rodisk=refused' "$work/console" || { show; fail "the read-only disk accepted a write"; }
grep -q '^TRAPEZE-TEST: hwrng=64' "$work/console" || { show; fail "/dev/hwrng did not yield 64 bytes"; }
content=$(debugfs -R "cat /guest.txt" "$work/rw.ext4" 2>/dev/null)
[[ $content == "written-by-trapeze-guest" ]] || fail "host read '$content' from the guest's file"
[[ $(sha256sum <"$work/ro.img") == "$ro_sum" ]] || fail "the read-only image was modified"
echo "PASS: ext4 write read back on the host, read-only disk untouched, hwrng works"
