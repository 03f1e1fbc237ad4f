#!/usr/bin/env bash
# Whole-guest boot benchmark: Debian's stock riscv64 kernel + OpenSBI fw_jump + test-initrd.img
# (tools/fetch-guest), from power-on to TRAPEZE-TEST-OK and power-off, under trapeze and under
# qemu-system-riscv64 in the same run, alternating runs so both see the same host load.
# Prints each median, the ratio trapeze/QEMU, and trapeze's guest MIPS when it reports them
# ("trapeze: retired N instructions in S s (X MIPS)" on stderr).
#
# --baseline PATH compares two builds of trapeze instead (no QEMU): --trapeze's and PATH's boots
# alternate, each build going first in every other pair (on this project's hosts the first boot
# of a pair tends to be the slower one), and the report ends with one line
#     speed: trapeze/baseline Z.ZZZ (faster in K of N pairs)
# (the baseline's median time over --trapeze's: higher is faster). Runs of one build spread by
# 10-30% here, so use an even --runs of 12 or more and trust the pair count as much as the ratio.
# --baseline-cpus M runs the baseline (the --trapeze build itself unless --baseline names another)
# with --cpus M, so the pairs set N harts against M on one build (issue 21: a boot on 2 harts
# must not be slower than on 1): `bench/boot.sh --engine jit --cpus 2 --baseline-cpus 1 --runs 40`.
#
# usage: bench/boot.sh [--engine ENGINE] [--runs N] [--cpus N] [--trapeze PATH] [--dir DIR]
#                      [--timeout SECONDS] [--baseline PATH] [--baseline-cpus M]
set -uo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
engine=interp runs=3 cpus=1 timeout_s=600 baseline= baseline_cpus=
trapeze=$root/build/trapeze
dir=${TRAPEZE_GUEST_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/trapeze/debian-riscv64}
readonly kAppend="console=ttyS0 panic=-1"
readonly kMemory=512

die() { echo "boot.sh: $*" >&2; exit 1; }
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

guest_bench_options "$@"
if [[ -n $baseline_cpus && -z $baseline ]]; then baseline=$trapeze; fi

require_comparison

trapeze_cmd=("$trapeze" run --engine "$engine" --kernel "$dir/Image" --bios "$dir/fw_jump.bin"
             --initrd "$dir/test-initrd.img" --append "$kAppend" --memory "$kMemory"
             --cpus "$cpus" --on-reboot exit)
qemu_cmd=(qemu-system-riscv64 -M virt -nographic -no-reboot -m "${kMemory}M" -smp "$cpus"
          -bios "$dir/fw_jump.bin" -kernel "$dir/Image" -initrd "$dir/test-initrd.img"
          -append "$kAppend")

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

# time_boot NAME CMD...: runs one boot, prints its wall time in seconds; fails without the marker.
time_boot() {
  local name=$1; shift
  local wall status
  wall=$(timed_run "$work/out" "$work/err" "$@")
  status=$?
  if ((status != 0)) || ! grep -q TRAPEZE-TEST-OK "$work/out"; then
    echo "boot.sh: $name did not reach TRAPEZE-TEST-OK and power off (status $status); last output:" >&2
    tail -n 20 "$work/out" "$work/err" >&2
    return 1
  fi
  echo "$wall"
}


# compare_builds: --baseline's rounds and report.
compare_builds() {
  local base_cpus=${baseline_cpus:-$cpus}
  local base_cmd=("$baseline") arg prev=
  for arg in "${trapeze_cmd[@]:1}"; do
    [[ $prev == --cpus ]] && arg=$base_cpus
    base_cmd+=("$arg")
    prev=$arg
  done
  local t b faster=0
  local t_times=() b_times=()
  echo "builds: trapeze $trapeze ($cpus hart(s)), baseline $baseline ($base_cpus hart(s)); $engine, $kMemory MiB; $runs pairs"
  if ((runs % 2 == 1)); then
    echo "note: with --runs $runs the trapeze build goes first in one pair more than the baseline; use an even --runs"
  fi
  for ((i = 1; i <= runs; i++)); do
    if ((i % 2 == 1)); then
      t=$(time_boot "trapeze" "${trapeze_cmd[@]}") || exit 1
      b=$(time_boot "baseline" "${base_cmd[@]}") || exit 1
    else
      b=$(time_boot "baseline" "${base_cmd[@]}") || exit 1
      t=$(time_boot "trapeze" "${trapeze_cmd[@]}") || exit 1
    fi
    t_times+=("$t")
    b_times+=("$b")
    awk -v t="$t" -v b="$b" 'BEGIN { exit !(t < b) }' && faster=$((faster + 1))
    echo "pair $i: trapeze ${t} s, baseline ${b} s"
  done
  local t_med b_med
  t_med=$(printf '%s\n' "${t_times[@]}" | median)
  b_med=$(printf '%s\n' "${b_times[@]}" | median)
  echo "trapeze ($engine): median ${t_med} s"
  echo "baseline ($engine): median ${b_med} s"
  awk -v t="$t_med" -v b="$b_med" -v k="$faster" -v n="$runs" \
    'BEGIN { printf "speed: trapeze/baseline %.3f (faster in %d of %d pairs)\n", b / t, k, n }'
}

if [[ -n $baseline ]]; then
  compare_builds
  exit 0
fi

kernel=$(sed -n 's/^kernel=//p' "$dir/stamp" 2>/dev/null)
echo "guest: Debian ${kernel:-kernel}, OpenSBI fw_jump, test-initrd.img, $cpus hart(s), $kMemory MiB; $runs runs each"
t_times=() q_times=() mips=()
for ((i = 1; i <= runs; i++)); do
  t=$(time_boot "trapeze" "${trapeze_cmd[@]}") || exit 1
  t_times+=("$t")
  m=$(sed -n 's/^trapeze: retired .* (\([0-9.]*\) MIPS).*/\1/p' "$work/err" | tail -n 1)
  [[ -n $m ]] && mips+=("$m")
  q=$(time_boot "qemu" "${qemu_cmd[@]}") || exit 1
  q_times+=("$q")
  echo "run $i: trapeze ($engine) ${t} s${m:+ ($m MIPS)}, qemu ${q} s"
done

t_med=$(printf '%s\n' "${t_times[@]}" | median)
q_med=$(printf '%s\n' "${q_times[@]}" | median)
echo "trapeze ($engine): median ${t_med} s"
if ((${#mips[@]})); then
  echo "trapeze ($engine): median $(printf '%s\n' "${mips[@]}" | median) guest MIPS"
fi
echo "qemu (tcg):        median ${q_med} s"
echo "ratio trapeze/qemu: $(ratio "$t_med" "$q_med")"
