#!/usr/bin/env bash
# A nested guest on the guest's own KVM (issue 28): trapeze runs Debian's kernel with the
# hypervisor extension (--hypervisor); inside, Debian's kvm module and Debian's
# qemu-system-riscv64 -accel kvm (tools/fetch-nested, on vda) boot Debian's kernel again, in
# VS-mode under two-stage translation, to the test initrd's marker, and the nested guest's
# poweroff ends QEMU, then the outer guest. The nested kernel must find KVM's SBI (implementation
# ID 3) and as many harts as it was given.
#
# usage: nested_kvm_test.sh TRAPEZE ENGINE [CPUS]   (CPUS: the outer harts, and the nested ones)
set -uo pipefail
. "$(dirname "$0")/guest_env.sh"
. "$(dirname "$0")/nested_kvm_media.sh"
cpus=${3:-1}
repo=$(cd "$(dirname "$0")/../.." && pwd)

nested_kvm_media "$work" "$dir" "$repo" || fail "cannot prepare the nested guest's disk and initrd"
cmd=("$trapeze" run --hypervisor --engine "$engine" --cpus "$cpus" --memory 1024 --kernel "$dir/Image"
     --bios "$dir/fw_jump.bin" --initrd "$work/nested-initrd.img" --disk "$work/nested-disk.img,ro"
     --append "console=ttyS0 panic=-1 rdinit=/nested_kvm_init trapeze.nested-smp=$cpus"
     --on-reboot exit --no-stats)
echo "running: ${cmd[*]}"
timeout --kill-after=10 "$timeout_s" "${cmd[@]}" </dev/null >"$work/console.raw" 2>"$work/stderr"
status=$?
clean_console
((status == 0)) || { show; fail "trapeze exited with status $status"; }
grep -q '^NESTED-KVM: starting' "$work/console" || { show; fail "the outer guest did not start QEMU"; }
# What the nested guest printed: everything after QEMU started.
sed -n '/^NESTED-KVM: starting/,$p' "$work/console" >"$work/nested"
grep -qE '^NESTED-KVM: qemu-system-riscv64 exited 0 ' "$work/nested" || { show; fail "QEMU did not exit 0"; }
grep -qE 'SBI implementation ID=0x3 ' "$work/nested" ||
  { show; fail "the nested kernel did not run on KVM's SBI (implementation ID 3)"; }
grep -q '^TRAPEZE-TEST-OK' "$work/nested" || { show; fail "the nested guest did not reach its marker"; }
grep -qx "TRAPEZE-TEST: harts=$cpus" "$work/nested" || { show; fail "the nested guest does not have $cpus hart(s)"; }
grep -qx 'TRAPEZE-TEST: sum=500500' "$work/nested" || { show; fail "the nested guest computed something else"; }
if grep -qE 'Oops|BUG:|self-detected stall|soft lockup|kvm.*(error|failed)' "$work/console"; then
  grep -E 'Oops|BUG:|stall|lockup|kvm' "$work/console" | head; fail "a kernel reported a problem"
fi
start=$(sed -n 's/^NESTED-KVM: starting //p' "$work/console")
end=$(sed -n 's/^NESTED-KVM: qemu-system-riscv64 exited 0 //p' "$work/console")
echo "PASS: a nested guest on KVM inside trapeze ($engine, $cpus hart(s)): QEMU started at $start s of" \
  "the outer guest's uptime, the nested guest powered off at $end s"
