#!/usr/bin/env bash
# Boots Debian's kernel with the guest console on virtio-console (hvc0) instead of the UART and
# checks that the test init's output, which goes to /dev/console, arrives on the terminal.
#
# usage: virtio_console_test.sh TRAPEZE ENGINE
set -uo pipefail

source "$(dirname "${BASH_SOURCE[0]}")/guest_env.sh"
# A small blank disk: its driver (a module, loaded after the virtio transport that brings hvc0)
# prints the disk's size once hvc0 is the kernel's console.
truncate -s 1M "$work/blank.img"
cmd=("$trapeze" run --engine "$engine" --kernel "$dir/Image" --bios "$dir/fw_jump.bin"
     --initrd "$dir/test-initrd.img" --memory 512 --on-reboot exit --no-rng --console virtio
     --disk "$work/blank.img,ro" --append "console=hvc0 panic=-1")
echo "running: ${cmd[*]}"
timeout --kill-after=10 "$timeout_s" "${cmd[@]}" </dev/null >"$work/console.raw" 2>"$work/stderr"
status=$?
clean_console

((status == 0)) || { show; fail "trapeze exited with status $status"; }
grep -q '^TRAPEZE-TEST-OK' "$work/console" || { show; fail "no TRAPEZE-TEST-OK marker on hvc0"; }
# The kernel's own messages reach hvc0 too once the device exists (Debian's virtio_mmio is a
# module, so the boot log before it is not replayed): virtio_blk's, printed after. Not the
# kernel's last words ("reboot: Power down"): with Debian's 6.12.117 kernel they reach the UART
# but no virtio console, under QEMU's virtconsole as here (they come during shutdown, after the
# devices are shut down, presumably).
grep -Eq 'virtio_blk virtio[0-9]+: \[vda\] 2048 512-byte logical blocks' "$work/console" ||
  { show; fail "the kernel's messages did not reach hvc0"; }
echo "PASS: the guest console runs on virtio-console"
