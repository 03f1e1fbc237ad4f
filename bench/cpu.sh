#!/usr/bin/env bash
# CPU-bound guest program: bench/cpu/cpubench.c (integer, memory and branch heavy; or, with
# --program fpbench, bench/cpu/fpbench.c: floating point), built
# static with riscv64-linux-gnu-gcc and appended to test-initrd.img as a second cpio archive,
# runs inside Debian's kernel under trapeze and under qemu-system-riscv64 -M virt in the same run;
# the same source built for the host runs natively beside them. The program times itself with
# CLOCK_MONOTONIC, so boot time is excluded. Prints medians, speed ratios and the checksum.
#
# usage: bench/cpu.sh [--runs N] [--engine jit|interp] [--program cpubench|fpbench] [--trapeze PATH] [--dir DIR]
set -uo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
runs=3 engine=jit program=cpubench
trapeze=$root/build/trapeze
dir=${TRAPEZE_GUEST_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/trapeze/debian-riscv64}
die() { echo "cpu.sh: $*" >&2; exit 1; }
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
while (($#)); do
  (($# >= 2)) || die "$1 needs an argument"
  case $1 in
    --runs) runs=$2 ;;
    --engine) engine=$2 ;;
    --program) program=$2 ;;
    --trapeze) trapeze=$2 ;;
    --dir) dir=$2 ;;
    *) die "unknown argument '$1'" ;;
  esac
  shift 2
done
require "$trapeze"
command -v riscv64-linux-gnu-gcc >/dev/null || die "riscv64-linux-gnu-gcc is missing (tools/install-deps)"

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
case $program in
  cpubench | fpbench) ;;
  *) die "unknown program '$program' (cpubench or fpbench)" ;;
esac
src=$root/bench/cpu/$program.c
# No fused multiply-adds where the source has none (riscv64's gcc fuses by default, x86-64's
# without -march does not), so the checksums agree.
cflags=(-O2 -ffp-contract=off)
gcc "${cflags[@]}" -o "$work/cpubench-host" "$src" -lm || die "host build failed"
mkdir -p "$work/root/bench"
# The test initramfs runs /bench/cpubench (trapeze.cpubench on the command line).
riscv64-linux-gnu-gcc "${cflags[@]}" -static -o "$work/root/bench/cpubench" "$src" -lm || die "riscv64 build failed"
(cd "$work/root" && find . | cpio -o -H newc --quiet | gzip -9) >"$work/extra.cpio.gz"
cat "$dir/test-initrd.img" "$work/extra.cpio.gz" >"$work/initrd.img"
readonly kAppend="console=ttyS0 panic=-1 trapeze.cpubench"

secs() { tr -d '\r' <"$1" | awk '/^CPUBENCH:/ { print $2 }' | tail -n 1; }
sum() { tr -d '\r' <"$1" | awk '/^CPUBENCH:/ { print $5 }' | tail -n 1; }

declare -a ts qs ns
for ((i = 1; i <= runs; i++)); do
  timeout 900 "$trapeze" run --engine "$engine" --no-stats --no-rng --kernel "$dir/Image" \
    --bios "$dir/fw_jump.bin" --initrd "$work/initrd.img" --memory 512 --append "$kAppend" \
    </dev/null >"$work/t.log" 2>&1
  t=$(secs "$work/t.log")
  [[ -n $t ]] || { tail -20 "$work/t.log"; die "trapeze run $i printed no result"; }
  timeout 900 qemu-system-riscv64 -M virt -m 512M -nographic -no-reboot -bios "$dir/fw_jump.bin" \
    -kernel "$dir/Image" -initrd "$work/initrd.img" -append "$kAppend" </dev/null >"$work/q.log" 2>&1
  q=$(secs "$work/q.log")
  [[ -n $q ]] || { tail -20 "$work/q.log"; die "qemu run $i printed no result"; }
  "$work/cpubench-host" >"$work/n.log"
  n=$(secs "$work/n.log")
  [[ $(sum "$work/t.log") == $(sum "$work/q.log") && $(sum "$work/q.log") == $(sum "$work/n.log") ]] ||
    die "checksums differ: trapeze $(sum "$work/t.log"), qemu $(sum "$work/q.log"), native $(sum "$work/n.log")"
  ts+=("$t") qs+=("$q") ns+=("$n")
  echo "run $i: trapeze ($engine) $t s, qemu $q s, native $n s"
done
mt=$(printf '%s\n' "${ts[@]}" | median) mq=$(printf '%s\n' "${qs[@]}" | median) mn=$(printf '%s\n' "${ns[@]}" | median)
echo "$program median: trapeze ($engine) $mt s, qemu $mq s, native $mn s"
echo "speed trapeze/qemu: $(awk -v t="$mt" -v q="$mq" 'BEGIN { printf "%.2f", q / t }')x" \
     "(trapeze is $(awk -v t="$mt" -v n="$mn" 'BEGIN { printf "%.1f", t / n }')x native time," \
     "qemu $(awk -v q="$mq" -v n="$mn" 'BEGIN { printf "%.1f", q / n }')x)"
