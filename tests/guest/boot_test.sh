#!/usr/bin/env bash
# Boots Debian's stock riscv64 kernel under trapeze with test-initrd.img (made by tools/fetch-guest)
# and checks what the guest's /init reports: the marker, the ISA string, the hart count, the
# results of integer, hashing and floating-point work, that every virtio module loaded, that the
# device tree's seed made the kernel's random numbers ready at once, and that the kernel
# reported no stall, lockup, oops or BUG on the way.
#
# usage: boot_test.sh TRAPEZE ENGINE [CPUS [parallel|deterministic]]
#   parallel (default): several harts each on a host thread of its own; deterministic: in turn
#   TRAPEZE_GUEST_DIR      guest cache (default ${XDG_CACHE_HOME:-$HOME/.cache}/trapeze/debian-riscv64)
#   TRAPEZE_GUEST_TIMEOUT  seconds before the boot counts as hung (default 600)
set -uo pipefail

# The ISA string must start with the single-letter extensions trapeze advertises and list these
# multi-letter ones (Linux derives zicsr/zifencei from "i" in riscv,isa; userspace needs both).
readonly kIsaPrefix=rv64imafdc
readonly kIsaExtensions=(zicsr zifencei)
readonly kAppend="console=ttyS0 panic=-1"

fail() { echo "FAIL: $*" >&2; exit 1; }

(($# >= 2)) || fail "usage: boot_test.sh TRAPEZE ENGINE [CPUS [parallel|deterministic]]"
trapeze=$1 engine=$2 cpus=${3:-1} mode=${4:-parallel}
[[ $mode == parallel || $mode == deterministic ]] || fail "mode must be parallel or deterministic, not '$mode'"
dir=${TRAPEZE_GUEST_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/trapeze/debian-riscv64}
timeout_s=${TRAPEZE_GUEST_TIMEOUT:-600}

[[ -x $trapeze ]] || fail "$trapeze is not an executable"
for f in Image fw_jump.bin test-initrd.img; do
  [[ -s $dir/$f ]] || fail "guest image $dir/$f is missing: run tools/fetch-guest (make test does)"
done

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cmd=("$trapeze" run --engine "$engine" --kernel "$dir/Image" --bios "$dir/fw_jump.bin"
     --initrd "$dir/test-initrd.img" --append "$kAppend" --memory 512 --cpus "$cpus"
     --on-reboot exit)
# The harts in turn, and guest RAM left as the guest touches it (nothing populated ahead).
[[ $mode == deterministic ]] && cmd+=(--deterministic --no-ram-prefault)
echo "running: ${cmd[*]}"

# Runs the guest; stops it early if the guest's watchdog reports a hard lockup (status 75).
boot_once() {
  # stdin is not a terminal here on purpose: the console must work without one.
  timeout --kill-after=10 "$timeout_s" "${cmd[@]}" </dev/null >"$work/console.raw" 2>"$work/stderr" &
  local vm=$!
  while kill -0 "$vm" 2>/dev/null; do
    if grep -q 'hard LOCKUP' "$work/console.raw" 2>/dev/null; then
      pkill -P "$vm" 2>/dev/null; kill "$vm" 2>/dev/null; wait "$vm" 2>/dev/null
      return 75
    fi
    sleep 1
  done
  wait "$vm"
}

start=$(date +%s.%N)
boot_once
status=$?
end=$(date +%s.%N)
((status == 75)) && echo "the guest reported a hard lockup (a hart stopped taking interrupts)"
((status == 75)) && status=124
tr -d '\r' <"$work/console.raw" >"$work/console"

show_logs() {
  echo "---- guest console ----"; cat "$work/console"
  echo "---- trapeze stderr ----"; cat "$work/stderr"
  echo "-----------------------"
}

# value KEY: the value of the guest's last "TRAPEZE-TEST: KEY=value" line.
value() { sed -n "s/.*TRAPEZE-TEST: $1=//p" "$work/console" | tail -n 1; }

errors=()
check() {  # what expected actual
  [[ $2 == "$3" ]] || errors+=("$1: expected '$2', got '$3'")
}

((status == 124 || status == 137)) && errors+=("no power-off within ${timeout_s} s (hung or too slow)")
((status == 124 || status == 137 || status == 0)) || errors+=("trapeze exited with status $status")
grep -q 'TRAPEZE-TEST-OK' "$work/console" || errors+=("the guest never printed TRAPEZE-TEST-OK")
# What a kernel prints when harts stop making progress or state is corrupted.
if bad=$(grep -E -m 3 'rcu: INFO|rcu_sched self-detected stall|detected stall|soft lockup|hard LOCKUP|Oops|BUG:|Kernel panic' "$work/console"); then
  errors+=("the kernel reported: $bad")
fi

isa=$(value isa)
[[ $isa == "$kIsaPrefix"* ]] || errors+=("isa: '$isa' does not start with $kIsaPrefix")
for ext in "${kIsaExtensions[@]}"; do
  [[ _${isa#*_}_ == *_${ext}_* ]] || errors+=("isa: '$isa' lacks $ext")
done
check harts "$cpus" "$(value harts)"
check sum 500500 "$(value sum)"
check sha256 "$(seq 1 1000 | sha256sum | cut -d ' ' -f 1)" "$(value sha256)"
check fp "$(awk 'BEGIN { for (i = 1; i <= 100; i++) x += 1 / (i * i); printf "%.9f", x }')" "$(value fp)"
# The device tree's /chosen/rng-seed seeds the kernel's random numbers before its clock starts
# (drivers/of/fdt.c credits it); without one they wait for interrupts' timing, well into /init.
grep -q '^\[ *0\.000000\] random: crng init done' "$work/console" ||
  errors+=("the kernel's random numbers were not seeded at boot (no 'crng init done' at 0.000000: /chosen/rng-seed)")
modules=$(value modules)
[[ $modules =~ ^([0-9]+)/([0-9]+)$ && ${BASH_REMATCH[1]} == "${BASH_REMATCH[2]}" && ${BASH_REMATCH[2]} -gt 0 ]] ||
  errors+=("modules: expected every virtio module to load, got '$modules'")

# RamPrefaulter (memory/): a boot uses fresh RAM mostly upward, so some of what the thread
# populated ahead is used. On one hart only: with more hart threads than cores its thread,
# below them, may get too little of a CPU to be ahead by much.
if ((cpus == 1)); then
  ram=$(grep -o 'RAM: [0-9]* MiB populated ahead of the guest, [0-9]* MiB of them used' "$work/stderr")
  [[ $ram =~ ([0-9]+)\ MiB\ of\ them\ used && ${BASH_REMATCH[1]} -gt 0 ]] ||
    errors+=("the stats line shows no RAM populated ahead of the guest and used by it: '$ram'")
fi
if [[ $mode == deterministic ]] && grep -q 'populated ahead of the guest' "$work/stderr"; then
  errors+=("--no-ram-prefault: RAM was populated ahead of the guest all the same")
fi

grep 'TRAPEZE-TEST' "$work/console"
grep -E '^trapeze: retired' "$work/stderr" || true
awk -v s="$start" -v e="$end" -v engine="$engine" -v cpus="$cpus" \
  -v mode="$mode" 'BEGIN { printf "boot took %.1f s (engine %s, %s hart(s), %s)\n", e - s, engine, cpus, mode }'

if ((${#errors[@]})); then
  show_logs
  printf 'FAIL: %s\n' "${errors[@]}" >&2
  exit 1
fi
echo "PASS"
