#!/usr/bin/env bash
# KVM engine benchmarks (issue 6), each against its comparison in the same run:
#   1. process start -> guest running: bash's $EPOCHREALTIME just before exec of x86_run, to
#      the wall-clock time of the test guest's first serial byte (x86_run reports it; the guest
#      prints it a few dozen instructions after its first one). Median of --runs runs.
#   2. port-I/O exits per second: the test guest's ring-3 loop of `out` instructions
#      (x86guest.bench_pio=N, timed with the TSC) under trapeze, against bench/kvm_pio_baseline.c,
#      a minimal C loop over the raw KVM ioctls running the same loop; ratio trapeze/baseline.
#   3. the ring-3 compute loop in the guest against the same code natively on the host
#      (bench/kvm_compute_native.c, both timed with the TSC); ratio guest/native.
#
# usage: bench/kvm.sh [--build DIR] [--runs N] [--pio N]
set -uo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
build=$root/build runs=5 pio=100000
die() { echo "kvm.sh: $*" >&2; exit 1; }
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
while (($#)); do
  (($# >= 2)) || die "$1 needs an argument"
  case $1 in
    --build) build=$2 ;;
    --runs) runs=$2 ;;
    --pio) pio=$2 ;;
    *) die "unknown argument '$1' (see the header of $0)" ;;
  esac
  shift 2
done

x86_run=$build/tests/x86guest/x86_run
guest=$build/tests/x86guest/x86guest.elf
[[ -x $x86_run && -f $guest ]] || die "build x86_run first: cmake --build $build --target x86_run"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
cc -O2 -o "$tmp/kvm_pio_baseline" "$root/bench/kvm_pio_baseline.c" || die "cannot build the baseline"
cc -O2 -I"$root/tests/x86guest" -o "$tmp/kvm_compute_native" "$root/bench/kvm_compute_native.c" || die "cannot build native loop"

field() { sed -n "s/.*$1 \([0-9.]*\).*/\1/p" | head -1; }

# 1. Start-up.
for ((i = 0; i < runs; ++i)); do
  start=${EPOCHREALTIME/./}000  # microseconds -> nanoseconds
  out=$("$x86_run" "$guest" --cmdline "x86guest.novirtio x86guest.noring3") || die "x86_run failed: $out"
  first=$(field "first output at" <<<"$out")
  echo "$(( (first - start) / 1000 ))"
done | median >"$tmp/startup"
echo "start-up: process start -> first guest output: median $(awk '{printf "%.2f", $1/1000}' "$tmp/startup") ms over $runs runs"

# 2. Port-I/O exits.
base=$("$tmp/kvm_pio_baseline" "$pio") || die "baseline failed"
tsc_hz=$(field tsc_hz <<<"$base")
base_rate=$(field exits_per_second <<<"$base")
out=$("$x86_run" "$guest" --cmdline "x86guest.novirtio x86guest.bench_pio=$pio" --timeout 600) || die "x86_run pio failed"
cycles=$(sed -n 's/.*pio exits [0-9]* tsc cycles \([0-9]*\).*/\1/p' <<<"$out")
awk -v n="$pio" -v c="$cycles" -v hz="$tsc_hz" -v b="$base_rate" 'BEGIN {
  t = n * hz / c
  printf "port-I/O exits/s: trapeze %.0f, raw-ioctl baseline %.0f, ratio %.2f (%d exits each)\n", t, b, t / b, n }'

# 3. Ring-3 compute loop.
native=$("$tmp/kvm_compute_native")
out=$("$x86_run" "$guest" --cmdline "x86guest.novirtio") || die "x86_run compute failed"
g=$(sed -n 's/.*ring3 cpl 3 result [0-9a-f]* tsc cycles \([0-9]*\).*/\1/p' <<<"$out")
n=$(field "tsc cycles" <<<"$native")
awk -v g="$g" -v n="$n" -v hz="$tsc_hz" 'BEGIN {
  printf "ring-3 compute loop: guest %.1f ms, native %.1f ms, ratio guest/native %.3f\n", g / hz * 1000, n / hz * 1000, g / n }'
