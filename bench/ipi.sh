#!/usr/bin/env bash
# Cross-hart interrupts (issue 21): how long a guest waits for another hart that is busy
# running code. bench/cpu/ipibench.c runs as the first process of the test initramfs on 2 harts
# of Debian's kernel: a thread on CPU 1 spins in user space while CPU 0 calls mprotect() back
# and forth on memory both share, each call a remote TLB fence (an IPI through OpenSBI that
# the caller waits for). Prints the medians of microseconds per mprotect() pair under trapeze
# (--cpus 2, parallel harts) and qemu-system-riscv64 -smp 2 with multi-threaded TCG, in the
# same run, alternating, and their ratio. --baseline PATH runs a second trapeze build instead
# of QEMU (each first in every other round) and ends with `speed: trapeze/baseline`.
#
# usage: bench/ipi.sh [--runs N] [--engine jit|interp] [--trapeze PATH] [--dir DIR]
#                     [--timeout SECONDS] [--baseline PATH]
set -uo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
engine=jit runs=5 cpus=2 timeout_s=300 baseline=
trapeze=$root/build/trapeze
dir=${TRAPEZE_GUEST_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/trapeze/debian-riscv64}
die() { echo "ipi.sh: $*" >&2; exit 1; }
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

guest_bench_options "$@"
((cpus == 2)) || die "--cpus: the benchmark uses 2 harts"
require_comparison

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
initrd_with_program "$root/bench/cpu/ipibench.c" ipibench "$work" -pthread
readonly kAppend="console=ttyS0 panic=-1 rdinit=/ipibench"

run_trapeze() {  # BINARY LOG
  timeout --kill-after=10 "$timeout_s" "$1" run --engine "$engine" --no-stats --kernel "$dir/Image" \
    --bios "$dir/fw_jump.bin" --initrd "$work/initrd.img" --memory 512 --cpus 2 --append "$kAppend" \
    </dev/null >"$2" 2>&1
}
run_qemu() {  # LOG
  timeout --kill-after=10 "$timeout_s" qemu-system-riscv64 -M virt -accel tcg,thread=multi -smp 2 -m 512M \
    -nographic -no-reboot -bios "$dir/fw_jump.bin" -kernel "$dir/Image" -initrd "$work/initrd.img" \
    -append "$kAppend" </dev/null >"$1" 2>&1
}
# per_pair LOG WHO: the microseconds per pair the guest printed, or dies.
per_pair() {
  local v
  v=$(tr -d '\r' <"$1" | awk '/^IPIBENCH: [0-9]+ mprotect pairs/ && $8 ~ /^[0-9.]+$/ { print $8 }' | tail -n 1)
  [[ -n $v ]] || { tail -n 20 "$1" >&2; die "$2 printed no IPIBENCH result"; }
  echo "$v"
}

other=qemu
[[ -n $baseline ]] && other=baseline
echo "ipi.sh: $runs run(s), trapeze --engine $engine against $other; host: $(nproc) cores," \
  "load average $(cut -d ' ' -f 1-3 /proc/loadavg)"
declare -a t o
for ((i = 1; i <= runs; i++)); do
  for who in trapeze other; do
    # With a baseline, each build goes first in every other round.
    [[ -n $baseline && $((i % 2)) == 0 ]] && who=$([[ $who == trapeze ]] && echo other || echo trapeze)
    if [[ $who == trapeze ]]; then
      run_trapeze "$trapeze" "$work/t.log"; t+=("$(per_pair "$work/t.log" "trapeze run $i")") || exit 1
    elif [[ -n $baseline ]]; then
      run_trapeze "$baseline" "$work/o.log"; o+=("$(per_pair "$work/o.log" "baseline run $i")") || exit 1
    else
      run_qemu "$work/o.log"; o+=("$(per_pair "$work/o.log" "qemu run $i")") || exit 1
    fi
  done
  echo "run $i: trapeze ${t[-1]} us per pair, $other ${o[-1]} us"
done
med() { printf '%s\n' "$@" | median; }
mt=$(med "${t[@]}") mo=$(med "${o[@]}")
echo "median over $runs run(s): trapeze $mt us per mprotect() pair, $other $mo us"
if [[ -n $baseline ]]; then
  echo "speed: trapeze/baseline $(ratio "$mo" "$mt")"
else
  echo "time per pair: trapeze/qemu $(ratio "$mt" "$mo")"
fi
