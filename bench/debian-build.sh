#!/usr/bin/env bash
# The Debian image build's second stage (issue 25), trapeze against QEMU in the same run:
# tools/debian-image builds the image once with the second stage (debootstrap --second-stage and
# the configuration: every package's maintainer scripts, inside the guest) under trapeze and once
# under qemu-system-riscv64, both with 2 harts, 2 GiB, Debian's kernel and the same initramfs,
# alternating when --runs is above 1. The first stage (on the host, downloads cached after the
# first build) is reported but not compared. The images are thrown away.
#
# usage: bench/debian-build.sh [--runs N] [--trapeze PATH] [--engine jit|interp]
set -uo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
runs=1 engine=jit
trapeze=$root/build/trapeze
die() { echo "debian-build.sh: $*" >&2; exit 1; }
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
while (($#)); do
  (($# >= 2)) || die "$1 needs an argument"
  case $1 in
    --runs) runs=$2 ;;
    --trapeze) trapeze=$2 ;;
    --engine) engine=$2 ;;
    *) die "unknown argument '$1'" ;;
  esac
  shift 2
done
[[ $runs =~ ^[0-9]+$ ]] && ((runs >= 1)) || die "--runs must be a positive number"
require "$trapeze" "" qemu

work=$(mktemp -d "${TMPDIR:-/tmp}/trapeze-bench-debian-build.XXXXXX")
trap 'rm -rf "$work"' EXIT

# build VMM: one image build, its second stage under VMM; prints "FIRST SECOND" (seconds).
build() {
  local vmm=$1 log=$work/$1.log
  "$root/tools/debian-image" --trapeze "$trapeze" --engine "$engine" --second-stage-in "$vmm" \
    "$work/$vmm.img" 2>"$log" || { tail -20 "$log" >&2; die "the build with the second stage under $vmm failed"; }
  rm -f "$work/$vmm.img"
  local first second
  first=$(sed -n 's/^debian-image: first stage done in \([0-9]*\) s$/\1/p' "$log")
  second=$(sed -n 's/^debian-image: second stage done in \([0-9]*\) s$/\1/p' "$log")
  [[ -n $first && -n $second ]] || die "no stage times in the $vmm build's log ($log)"
  echo "$first $second"
}

t_first=() t_second=() q_first=() q_second=()
for ((i = 1; i <= runs; i++)); do
  read -r f s < <(build trapeze) || exit 1
  t_first+=("$f") t_second+=("$s")
  read -r f s < <(build qemu) || exit 1
  q_first+=("$f") q_second+=("$s")
  echo "run $i: second stage trapeze ($engine) ${t_second[-1]} s, qemu ${q_second[-1]} s;" \
       "first stages ${t_first[-1]} s and ${q_first[-1]} s"
done
mt=$(printf '%s\n' "${t_second[@]}" | median) mq=$(printf '%s\n' "${q_second[@]}" | median)
echo "second stage, median of $runs: trapeze ($engine, 2 harts) $mt s, qemu (2 harts) $mq s," \
     "ratio $(ratio "$mt" "$mq")"
