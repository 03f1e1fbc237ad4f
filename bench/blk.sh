#!/usr/bin/env bash
# virtio-blk sequential throughput: the guest (Debian's kernel + test-initrd.img with
# trapeze.blkbench on the command line) writes then reads 256 MiB of /dev/vda with busybox dd
# and O_DIRECT, timed by the guest. The same image, kernel and initramfs run under trapeze and
# under qemu-system-riscv64 -M virt (virtio-blk-device, host page cache on both sides) in the
# same run, alternating; prints each median in MiB/s and the ratio trapeze/QEMU (higher is better).
#
# usage: bench/blk.sh [--runs N] [--trapeze PATH] [--dir DIR]
set -uo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
runs=3
trapeze=$root/build/trapeze
dir=${TRAPEZE_GUEST_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/trapeze/debian-riscv64}
die() { echo "blk.sh: $*" >&2; exit 1; }
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
while (($#)); do
  (($# >= 2)) || die "$1 needs an argument"
  case $1 in
    --runs) runs=$2 ;;
    --trapeze) trapeze=$2 ;;
    --dir) dir=$2 ;;
    *) die "unknown argument '$1'" ;;
  esac
  shift 2
done
require "$trapeze" "" qemu

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
truncate -s 300M "$work/disk.img"
readonly kAppend="console=ttyS0 panic=-1 trapeze.blkbench"

# Prints "WRITE READ" (MiB/s) from a console log.
rates() { awk '/TRAPEZE-BENCH: write/ { w = $(NF-1) } /TRAPEZE-BENCH: read/ { r = $(NF-1) } END { print w, r }' "$1"; }

declare -a tw tr qw qr
for ((i = 1; i <= runs; i++)); do
  timeout 600 "$trapeze" run --no-stats --no-rng --kernel "$dir/Image" --bios "$dir/fw_jump.bin" \
    --initrd "$dir/test-initrd.img" --memory 512 --disk "$work/disk.img" --append "$kAppend" \
    </dev/null >"$work/t.log" 2>&1
  read -r w r < <(rates "$work/t.log")
  [[ -n $w && -n $r ]] || { tail -20 "$work/t.log"; die "trapeze run $i printed no rates"; }
  tw+=("$w") tr+=("$r")
  timeout 600 qemu-system-riscv64 -M virt -m 512M -nographic -no-reboot -bios "$dir/fw_jump.bin" \
    -kernel "$dir/Image" -initrd "$dir/test-initrd.img" -append "$kAppend" \
    -drive "file=$work/disk.img,format=raw,if=none,id=d0" -device virtio-blk-device,drive=d0 \
    </dev/null >"$work/q.log" 2>&1
  read -r w r < <(rates "$work/q.log")
  [[ -n $w && -n $r ]] || { tail -20 "$work/q.log"; die "qemu run $i printed no rates"; }
  qw+=("$w") qr+=("$r")
  echo "run $i: trapeze write ${tw[-1]} read ${tr[-1]} MiB/s; qemu write ${qw[-1]} read ${qr[-1]} MiB/s"
done
mtw=$(printf '%s\n' "${tw[@]}" | median) mtr=$(printf '%s\n' "${tr[@]}" | median)
mqw=$(printf '%s\n' "${qw[@]}" | median) mqr=$(printf '%s\n' "${qr[@]}" | median)
echo "sequential write (256 MiB, O_DIRECT): trapeze $mtw MiB/s, qemu $mqw MiB/s, ratio $(ratio "$mtw" "$mqw")"
echo "sequential read  (256 MiB, O_DIRECT): trapeze $mtr MiB/s, qemu $mqr MiB/s, ratio $(ratio "$mtr" "$mqr")"
