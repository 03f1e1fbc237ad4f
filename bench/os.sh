#!/usr/bin/env bash
# The guest operating system's own paths, trapeze against QEMU: bench/cpu/osbench.c runs as the
# first process of the test initramfs on Debian's kernel and times, inside the guest, what a
# kernel does for programs: reading the time CSR and clock_gettime through the vDSO, a system
# call, sched_yield, a pipe round trip between two processes, a signal, a page fault, an
# mprotect pair (TLB flushes), fork and wait. Prints each operation's median nanoseconds under
# trapeze and under qemu-system-riscv64 (same kernel, initramfs, memory and harts; runs
# alternate), the speed ratio (QEMU's time over trapeze's), and one line
#     geomean: trapeze/qemu X.XX
# --baseline PATH runs a second trapeze build instead of QEMU (each first in every other round)
# and ends with `geomean: trapeze/baseline X.XX`.
#
# usage: bench/os.sh [--runs N] [--engine jit|interp] [--cpus N] [--trapeze PATH] [--dir DIR]
#                    [--timeout SECONDS] [--baseline PATH]
set -uo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
engine=jit runs=3 cpus=1 timeout_s=600 baseline=
trapeze=$root/build/trapeze
dir=${TRAPEZE_GUEST_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/trapeze/debian-riscv64}
die() { echo "os.sh: $*" >&2; exit 1; }
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

guest_bench_options "$@"
require_comparison

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
initrd_with_program "$root/bench/cpu/osbench.c" osbench "$work"
readonly kAppend="console=ttyS0 panic=-1 rdinit=/osbench"

run_trapeze() {  # BINARY LOG
  timeout --kill-after=10 "$timeout_s" "$1" run --engine "$engine" --no-stats --kernel "$dir/Image" \
    --bios "$dir/fw_jump.bin" --initrd "$work/initrd.img" --memory 512 --cpus "$cpus" --append "$kAppend" \
    </dev/null >"$2" 2>&1
}
run_qemu() {  # LOG
  timeout --kill-after=10 "$timeout_s" qemu-system-riscv64 -M virt -accel tcg,thread=multi -smp "$cpus" -m 512M \
    -nographic -no-reboot -bios "$dir/fw_jump.bin" -kernel "$dir/Image" -initrd "$work/initrd.img" \
    -append "$kAppend" </dev/null >"$1" 2>&1
}
# results LOG WHO: "NAME NS" lines from a run that finished, or dies naming the run.
results() {
  local lines
  lines=$(tr -d '\r' <"$1" | awk '/^OSBENCH: [a-z_]+ [0-9.]+$/ { print $2, $3 }')
  if [[ -z $lines ]] || ! tr -d '\r' <"$1" | grep -q '^OSBENCH-DONE$'; then
    tail -n 20 "$1" >&2
    die "$2 did not finish (no OSBENCH-DONE)"
  fi
  echo "$lines"
}

other=qemu
[[ -n $baseline ]] && other=baseline
echo "os.sh: $runs run(s), trapeze --engine $engine against $other, $cpus hart(s); host: $(nproc) cores," \
  "load average $(cut -d ' ' -f 1-3 /proc/loadavg)"
: >"$work/trapeze.txt"
: >"$work/other.txt"
for ((i = 1; i <= runs; i++)); do
  for who in trapeze other; do
    # With a baseline, each build goes first in every other round.
    [[ -n $baseline && $((i % 2)) == 0 ]] && who=$([[ $who == trapeze ]] && echo other || echo trapeze)
    if [[ $who == trapeze ]]; then
      run_trapeze "$trapeze" "$work/run.log"
    elif [[ -n $baseline ]]; then
      run_trapeze "$baseline" "$work/run.log"
    else
      run_qemu "$work/run.log"
    fi
    r=$(results "$work/run.log" "$([[ $who == trapeze ]] && echo trapeze || echo "$other") run $i") || exit 1
    echo "$r" >>"$work/$who.txt"
  done
  echo "run $i done"
done

# The medians, one line per operation in the guest's order, and the geometric mean of the ratios.
med() { awk -v k="$1" '$1 == k { print $2 }' "$2" | median; }
printf '%-14s %14s %14s %10s\n' operation "trapeze ns" "$other ns" "speed"
geo=0 n=0
for op in $(awk '!seen[$1]++ { print $1 }' "$work/trapeze.txt"); do
  t=$(med "$op" "$work/trapeze.txt") o=$(med "$op" "$work/other.txt")
  [[ -n $o ]] || die "$other printed no $op result"
  s=$(ratio "$o" "$t")
  printf '%-14s %14s %14s %9sx\n' "$op" "$t" "$o" "$s"
  geo=$(awk -v g="$geo" -v o="$o" -v t="$t" 'BEGIN { print g + log(o / t) }')
  n=$((n + 1))
done
echo "geomean: trapeze/$other $(awk -v g="$geo" -v n="$n" 'BEGIN { printf "%.2f", exp(g / n) }')"
