#!/usr/bin/env bash
# Whole-guest boot benchmark: Debian's stock riscv64 kernel + OpenSBI fw_jump + test-initrd.img
# (tools/fetch-guest), from power-on to TRAPEZE-TEST-OK and power-off, under trapeze and under
# qemu-system-riscv64 in the same run, alternating runs so both see the same host load.
# Prints each median, the ratio trapeze/QEMU, and trapeze's guest MIPS when it reports them
# ("trapeze: retired N instructions in S s (X MIPS)" on stderr).
#
# --engine takes one engine or a list (`--engine jit,interp`): each run then boots trapeze under
# each engine in turn, then QEMU, and the report gives every engine's medians and ratio (the
# first engine's as `ratio trapeze/qemu: R`, the others' as `ratio trapeze/qemu (ENGINE): R`).
# --plot FILE.svg (or .png) also writes the medians as a gnuplot chart, and its data beside it
# (FILE.dat): the boot's wall time per engine and QEMU's, with each ratio over its bar.
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
# usage: bench/boot.sh [--engine ENGINE[,ENGINE]] [--runs N] [--cpus N] [--trapeze PATH]
#                      [--dir DIR] [--timeout SECONDS] [--baseline PATH] [--baseline-cpus M]
#                      [--plot FILE.svg|FILE.png]
set -uo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
engine=interp runs=3 cpus=1 timeout_s=600 baseline= baseline_cpus= plot=
trapeze=$root/build/trapeze
dir=${TRAPEZE_GUEST_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/trapeze/debian-riscv64}
readonly kAppend="console=ttyS0 panic=-1"
readonly kMemory=512

die() { echo "boot.sh: $*" >&2; exit 1; }
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

guest_bench_options "$@"
if [[ -n $baseline_cpus && -z $baseline ]]; then baseline=$trapeze; fi

IFS=, read -r -a engines <<<"$engine"
((${#engines[@]})) || die "--engine needs an engine (jit, interp, or a list of them: jit,interp)"
declare -A named=()
for e in "${engines[@]}"; do
  [[ $e == jit || $e == interp ]] || die "unknown engine '$e' in --engine $engine (jit, interp, or both: jit,interp)"
  [[ -z ${named[$e]:-} ]] || die "--engine $engine names $e twice"
  named[$e]=1
done
if [[ -n $baseline ]]; then
  ((${#engines[@]} == 1)) || die "--baseline compares two builds on one engine, not --engine $engine"
  [[ -z $plot ]] || die "--plot charts trapeze against QEMU, which --baseline does not run"
fi
if [[ -n $plot ]]; then
  [[ $plot == *.svg || $plot == *.png ]] || die "--plot writes an SVG or PNG chart: FILE.svg or FILE.png, not $plot"
  command -v gnuplot >/dev/null || die "gnuplot is missing (tools/install-deps installs gnuplot-nox)"
  [[ -d $(dirname "$plot") ]] || die "--plot $plot: no folder $(dirname "$plot")"
  [[ $plot != *\'* ]] || die "--plot $plot: gnuplot takes the path in single quotes, so it may not hold one"
fi

require_comparison

# trapeze_cmd_for ENGINE: sets trapeze_cmd to a boot under ENGINE.
trapeze_cmd_for() {
  trapeze_cmd=("$trapeze" run --engine "$1" --kernel "$dir/Image" --bios "$dir/fw_jump.bin"
               --initrd "$dir/test-initrd.img" --append "$kAppend" --memory "$kMemory"
               --cpus "$cpus" --on-reboot exit)
}
trapeze_cmd_for "${engines[0]}"
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
declare -A t_times=() mips=()  # per engine, space-separated
q_times=()
for ((i = 1; i <= runs; i++)); do
  line="run $i:"
  for e in "${engines[@]}"; do
    trapeze_cmd_for "$e"
    t=$(time_boot "trapeze ($e)" "${trapeze_cmd[@]}") || exit 1
    t_times[$e]+="$t "
    m=$(sed -n 's/^trapeze: retired .* (\([0-9.]*\) MIPS).*/\1/p' "$work/err" | tail -n 1)
    [[ -n $m ]] && mips[$e]+="$m "
    line+=" trapeze ($e) ${t} s${m:+ ($m MIPS)},"
  done
  q=$(time_boot "qemu" "${qemu_cmd[@]}") || exit 1
  q_times+=("$q")
  echo "$line qemu ${q} s"
done

# medians_of "A B C": their median.
medians_of() { tr ' ' '\n' <<<"$1" | grep . | median; }

q_med=$(printf '%s\n' "${q_times[@]}" | median)
declare -A t_med=() t_ratio=()
for e in "${engines[@]}"; do
  t_med[$e]=$(medians_of "${t_times[$e]}")
  t_ratio[$e]=$(ratio "${t_med[$e]}" "$q_med")
  echo "trapeze ($e): median ${t_med[$e]} s"
  if [[ -n ${mips[$e]:-} ]]; then
    echo "trapeze ($e): median $(medians_of "${mips[$e]}") guest MIPS"
  fi
done
echo "qemu (tcg):        median ${q_med} s"
echo "ratio trapeze/qemu: ${t_ratio[${engines[0]}]}"
for e in "${engines[@]:1}"; do
  echo "ratio trapeze/qemu ($e): ${t_ratio[$e]}"
done

# write_plot: the medians as a bar chart (seconds, log scale: the interpreter's boot is several
# times QEMU's, the translator's a fraction of it; trapeze's engines blue, QEMU orange), each bar
# labelled with its time and that over QEMU's; the data beside the chart as FILE.dat.
write_plot() {
  local data=${plot%.*}.dat terminal e range
  {
    echo "# bench/boot.sh medians: boot to the test initramfs's marker and power-off, in seconds"
    echo "# ($runs runs each, $cpus hart(s), $kMemory MiB); ratio = time / QEMU's time"
    echo "# vmm seconds ratio"
    for e in "${engines[@]}"; do
      echo "\"trapeze $e\" ${t_med[$e]} ${t_ratio[$e]}"
    done
    echo "\"QEMU TCG\" $q_med 1.00"
  } >"$data"
  # From a power of two under half the shortest bar to one over three times the longest (room for
  # the labels above the bars).
  range=$(printf '%s\n' "${t_med[@]}" "$q_med" | sort -g | awk 'NR == 1 { lo = $1 } { hi = $1 }
    END { l = 1; while (l > lo / 2) l /= 2; h = 1; while (h < hi * 3) h *= 2; printf "%g:%g", l, h }')
  if [[ $plot == *.png ]]; then
    terminal="pngcairo size 640,400 font 'sans,10'"
  else
    terminal="svg size 640,400 dynamic font 'sans,12' background '#ffffff'"
  fi
  gnuplot <<EOF || die "gnuplot failed to write $plot"
set terminal $terminal
set output '$plot'
set title "Debian's riscv64 kernel booted to the test initramfs's marker: wall time (lower is faster)"
set style fill solid 0.85 border -1
set boxwidth 0.6
set logscale y 2
set yrange [$range]
set xrange [-0.6:$((${#engines[@]} + 1)) - 0.4]
set ytics 2
set format y "%g s"
set grid ytics
unset key
plot '$data' using 0:2:(column(0) < ${#engines[@]} ? 0x4e79a7 : 0xf28e2b):xtic(1) with boxes linecolor rgb variable, \
     '' using 0:(\$2 * 1.3):(column(0) < ${#engines[@]} ? sprintf("%.2f s, %.2f× QEMU's", \$2, \$3) : sprintf("%.2f s", \$2)) with labels notitle
EOF
  echo "chart: $plot (data: $data)"
}
if [[ -n $plot ]]; then write_plot; fi
