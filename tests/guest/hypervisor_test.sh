#!/usr/bin/env bash
# The hypervisor extension seen from Debian (issue 28): by default (as on QEMU's virt machine) and
# with `trapeze run --hypervisor` OpenSBI reports "h" in the boot hart's ISA, the kernel lists it
# among its ISA extensions, and Debian's kvm module loads (the test initrd's trapeze.kvm hook) and
# makes /dev/kvm. With --no-hypervisor none of this holds: the module refuses to load and the ISA
# has no "h".
#
# usage: hypervisor_test.sh TRAPEZE ENGINE
#   TRAPEZE_GUEST_DIR      guest cache (default ${XDG_CACHE_HOME:-$HOME/.cache}/trapeze/debian-riscv64)
#   TRAPEZE_GUEST_TIMEOUT  seconds before a boot counts as hung (default 600)
set -uo pipefail
. "$(dirname "$0")/guest_env.sh"

# boot NAME [trapeze options...]: the console of one boot in $work/NAME.
boot() {
  local name=$1
  shift
  local cmd=("$trapeze" run --engine "$engine" --kernel "$dir/Image" --bios "$dir/fw_jump.bin"
             --initrd "$dir/test-initrd.img" --append "console=ttyS0 panic=-1 trapeze.kvm" --memory 512
             --cpus 2 --on-reboot exit --no-stats "$@")
  echo "running: ${cmd[*]}"
  timeout --kill-after=10 "$timeout_s" "${cmd[@]}" </dev/null >"$work/$name" 2>&1
  local status=$?
  ((status == 0)) || { tail -n 40 "$work/$name"; fail "$name: trapeze exited with status $status"; }
  grep -q '^TRAPEZE-TEST-OK' "$work/$name" || { tail -n 40 "$work/$name"; fail "$name: no test marker"; }
  if grep -qE 'Oops|BUG:|rcu_sched self-detected stall|soft lockup' "$work/$name"; then
    grep -E 'Oops|BUG:|stall|lockup' "$work/$name" | head; fail "$name: the kernel reported a problem"
  fi
}
# expect NAME REGEX WHAT: the console of NAME has a line matching REGEX.
expect() {
  grep -qE "$2" "$work/$1" || { grep -E 'kvm|ISA|isa' "$work/$1"; fail "$1: $3"; }
}
refute() {
  ! grep -qE "$2" "$work/$1" || { grep -E "$2" "$work/$1"; fail "$1: $3"; }
}

boot with-h  # the default (nested_kvm_test.sh passes --hypervisor itself)
expect with-h 'Boot HART Base ISA +: rv64imafdch[[:space:]]*$' "OpenSBI does not report the H extension"
expect with-h 'riscv: base ISA extensions acdfhim[[:space:]]*$' "the kernel does not report the H extension"
expect with-h '^TRAPEZE-TEST: isa=rv64imafdch_' "/proc/cpuinfo's isa has no h"
expect with-h '^TRAPEZE-TEST: dmesg: kvm \[[0-9]+\]: hypervisor extension available' "kvm found no hypervisor extension"
expect with-h '^TRAPEZE-TEST: kvm=yes' "no /dev/kvm after loading kvm"

boot without-h --no-hypervisor
refute without-h 'Boot HART Base ISA +: rv64imafdch' "OpenSBI reports H with --no-hypervisor"
expect without-h '^TRAPEZE-TEST: isa=rv64imafdc_' "the ISA has h with --no-hypervisor"
expect without-h '^TRAPEZE-TEST: kvm=no' "/dev/kvm exists with --no-hypervisor"

grep -h '^TRAPEZE-TEST: dmesg' "$work/with-h"
echo "PASS: hypervisor extension under $engine"
