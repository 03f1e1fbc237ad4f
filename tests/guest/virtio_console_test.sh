#!/usr/bin/env bash
# Boots Debian's kernel with the guest console on virtio-console (hvc0) instead of the UART and
# checks that the test init's output, which goes to /dev/console, arrives on the terminal.
#
# usage: virtio_console_test.sh TRAPEZE ENGINE
set -uo pipefail

fail() { echo "FAIL: $*" >&2; exit 1; }

(($# >= 2)) || fail "usage: virtio_console_test.sh TRAPEZE ENGINE"
trapeze=$1 engine=$2
dir=${TRAPEZE_GUEST_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/trapeze/debian-riscv64}
timeout_s=${TRAPEZE_GUEST_TIMEOUT:-600}
for f in Image fw_jump.bin test-initrd.img; do
  [[ -s $dir/$f ]] || fail "guest image $dir/$f is missing: run tools/fetch-guest (make test does)"
done

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cmd=("$trapeze" run --engine "$engine" --kernel "$dir/Image" --bios "$dir/fw_jump.bin"
     --initrd "$dir/test-initrd.img" --memory 512 --on-reboot exit --no-rng --console virtio
     --append "console=hvc0 panic=-1")
echo "running: ${cmd[*]}"
timeout --kill-after=10 "$timeout_s" "${cmd[@]}" </dev/null >"$work/console.raw" 2>"$work/stderr"
status=$?
tr -d '\r' <"$work/console.raw" >"$work/console"
show() { echo "--- console (last 40 lines)"; tail -n 40 "$work/console"; echo "--- stderr"; cat "$work/stderr"; }

((status == 0)) || { show; fail "trapeze exited with status $status"; }
grep -q '^TRAPEZE-TEST-OK' "$work/console" || { show; fail "no TRAPEZE-TEST-OK marker on hvc0"; }
# The kernel's own messages reach hvc0 too once the device exists (Debian's virtio_mmio is a
# module, so the boot log before it is not replayed): its last words must be there.
grep -q 'reboot: Power down' "$work/console" || { show; fail "the kernel's messages did not reach hvc0"; }
echo "PASS: the guest console runs on virtio-console"
