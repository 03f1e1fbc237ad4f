#!/usr/bin/env bash
# Runs smp_stress.c (AMO and LR/SC counters, message passing, store buffering, code published by
# one thread and run by the others: see the file) inside Debian's kernel on several harts. The
# program is built static with riscv64-linux-gnu-gcc and appended to test-initrd.img as a second
# cpio archive (as bench/cpu.sh does); the kernel runs it as /init (rdinit=/smp_stress), it
# prints its results on the console and powers the machine off. Passes when it printed
# SMP-STRESS-OK for the expected number of harts and the kernel reported no stall, lockup, oops
# or BUG.
#
# usage: smp_stress_test.sh TRAPEZE ENGINE CPUS [parallel|deterministic]
#   parallel (default): each hart on a host thread of its own; deterministic: in turn on one
#   TRAPEZE_GUEST_DIR, TRAPEZE_GUEST_TIMEOUT as in boot_test.sh (default 600 s: a hang fails)
# Exits 77 (skipped) when riscv64-linux-gnu-gcc is missing (tools/install-deps installs it).
set -uo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
(($# >= 3)) || { echo "usage: smp_stress_test.sh TRAPEZE ENGINE CPUS [parallel|deterministic]" >&2; exit 2; }
if ! command -v riscv64-linux-gnu-gcc >/dev/null; then
  echo "SKIP: riscv64-linux-gnu-gcc is missing (tools/install-deps installs gcc-riscv64-linux-gnu)"
  exit 77
fi
cpus=$3 mode=${4:-parallel}
source "$here/guest_env.sh"
[[ $mode == parallel || $mode == deterministic ]] || fail "mode must be parallel or deterministic, not '$mode'"
[[ -x $trapeze ]] || fail "$trapeze is not an executable"

mkdir -p "$work/root"
riscv64-linux-gnu-gcc -O2 -Wall -static -pthread -o "$work/root/smp_stress" "$here/smp_stress.c" ||
  fail "building smp_stress.c for riscv64 failed"
(cd "$work/root" && echo smp_stress | cpio -o -H newc -R 0:0 --quiet | gzip -9) >"$work/extra.cpio.gz" ||
  fail "packing the cpio archive failed"
cat "$dir/test-initrd.img" "$work/extra.cpio.gz" >"$work/initrd.img"

cmd=("$trapeze" run --engine "$engine" --kernel "$dir/Image" --bios "$dir/fw_jump.bin"
     --initrd "$work/initrd.img" --append "console=ttyS0 panic=-1 rdinit=/smp_stress"
     --memory 512 --cpus "$cpus" --on-reboot exit)
[[ $mode == deterministic ]] && cmd+=(--deterministic)
echo "running: ${cmd[*]}"

# Runs the guest; stops it early when its watchdog reports a hard lockup (status 75).
run_guest() {
  # stdin is not a terminal here on purpose: the console must work without one.
  timeout --kill-after=10 "$timeout_s" "${cmd[@]}" </dev/null >"$work/console.raw" 2>"$work/stderr" &
  local vm=$!
  while kill -0 "$vm" 2>/dev/null; do
    if grep -q 'hard LOCKUP' "$work/console.raw" 2>/dev/null; then
      kill "$vm" 2>/dev/null; wait "$vm" 2>/dev/null
      return 75
    fi
    sleep 1
  done
  wait "$vm"
}

start=$(date +%s.%N)
run_guest
status=$?
end=$(date +%s.%N)
clean_console

errors=()
((status == 75)) && errors+=("the guest reported a hard lockup (a hart stopped taking interrupts)")
((status == 124 || status == 137)) && errors+=("no power-off within ${timeout_s} s (hung or too slow)")
((status == 0 || status == 75 || status == 124 || status == 137)) || errors+=("trapeze exited with status $status")
grep -q '^SMP-STRESS-OK' "$work/console" || errors+=("the guest never printed SMP-STRESS-OK")
grep -q "^SMP-STRESS: cpus=$cpus " "$work/console" || errors+=("the program did not find $cpus online cpus")
if bad=$(grep -E -m 3 'rcu: INFO|rcu_sched self-detected stall|detected stall|soft lockup|hard LOCKUP|Oops|BUG:|Kernel panic' "$work/console"); then
  errors+=("the kernel reported: $bad")
fi

grep -E '^SMP-STRESS' "$work/console"
grep -E '^trapeze: retired' "$work/stderr" || true
awk -v s="$start" -v e="$end" -v engine="$engine" -v cpus="$cpus" -v mode="$mode" \
  'BEGIN { printf "run took %.1f s (engine %s, %s hart(s), %s)\n", e - s, engine, cpus, mode }'

if ((${#errors[@]})); then
  echo "---- guest console ----"; cat "$work/console"
  echo "---- trapeze stderr ----"; cat "$work/stderr"
  echo "-----------------------"
  printf 'FAIL: %s\n' "${errors[@]}" >&2
  exit 1
fi
echo "PASS"
