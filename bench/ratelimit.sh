#!/usr/bin/env bash
# Rate limiters (issue 22): how close a limited disk gets to its configured rate. One boot of
# Debian's kernel with four disks read one after the other by the guest with busybox dd and
# O_DIRECT (tests/guest/ratelimit_init.sh, timed by the guest's clock):
#   vda  unlimited,            MIB MiB in 256 KiB blocks  (the comparison run)
#   vdb  --disk ...,bw=RATE,   the same read
#   vdc  unlimited,            BLOCKS blocks of 4 KiB
#   vdd  --disk ...,iops=IOPS, the same read
# A bucket holds one second's worth and starts full, so the steady rate is (amount - bucket) /
# time; prints its median against the configured rate (the ratio is at most 1 for a limiter
# that holds; close to 1 for one that does not waste its tokens), and the unlimited rate.
#
# usage: bench/ratelimit.sh [--runs N] [--trapeze PATH] [--dir DIR] [--rate MIB_PER_S] [--mib MIB]
#                           [--iops N] [--blocks N]
set -uo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
runs=3 rate=8 mib=64 iops=500 blocks=4000
trapeze=$root/build/trapeze
dir=${TRAPEZE_GUEST_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/trapeze/debian-riscv64}
die() { echo "ratelimit.sh: $*" >&2; exit 1; }
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
while (($#)); do
  (($# >= 2)) || die "$1 needs an argument"
  case $1 in
    --runs) runs=$2 ;;
    --trapeze) trapeze=$2 ;;
    --dir) dir=$2 ;;
    --rate) rate=$2 ;;
    --mib) mib=$2 ;;
    --iops) iops=$2 ;;
    --blocks) blocks=$2 ;;
    *) die "unknown argument '$1'" ;;
  esac
  shift 2
done
require "$trapeze"
((mib > rate && blocks > iops)) || die "read more than one bucket: --mib > --rate, --blocks > --iops"

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
truncate -s "$((mib + 1))M" "$work/big.img"
truncate -s "$((blocks * 4 + 1024))K" "$work/small.img"
for d in a b; do cp --reflink=auto "$work/big.img" "$work/big-$d.img"; cp --reflink=auto "$work/small.img" "$work/small-$d.img"; done
mkdir -p "$work/root"
cp "$root/tests/guest/ratelimit_init.sh" "$work/root/ratelimit_init"
(cd "$work/root" && echo ratelimit_init | cpio -o -H newc -R 0:0 --quiet | gzip -9) >"$work/extra.cpio.gz" || die "cpio failed"
cat "$dir/test-initrd.img" "$work/extra.cpio.gz" >"$work/initrd.img"
big="256,$((mib * 4))" small="4,$blocks"

# seconds DISK LOG
seconds() { sed -n "s/^RATELIMIT: $1 .*seconds=\([0-9.]*\).*/\1/p" "$2"; }

declare -a free_bw lim_bw free_ops lim_ops
for ((i = 1; i <= runs; i++)); do
  timeout 900 "$trapeze" run --no-stats --no-rng --kernel "$dir/Image" --bios "$dir/fw_jump.bin" \
    --initrd "$work/initrd.img" --memory 512 --on-reboot exit \
    --append "console=ttyS0 panic=-1 rdinit=/ratelimit_init trapeze.rl_vda=$big trapeze.rl_vdb=$big trapeze.rl_vdc=$small trapeze.rl_vdd=$small" \
    --disk "$work/big-a.img,ro" --disk "$work/big-b.img,ro,bw=${rate}M" \
    --disk "$work/small-a.img,ro" --disk "$work/small-b.img,ro,iops=$iops" </dev/null >"$work/log" 2>&1
  sa=$(seconds vda "$work/log") sb=$(seconds vdb "$work/log") sc=$(seconds vdc "$work/log") sd=$(seconds vdd "$work/log")
  [[ -n $sa && -n $sb && -n $sc && -n $sd ]] || { tail -20 "$work/log"; die "run $i: the guest reported no times"; }
  free_bw+=("$(awk -v m="$mib" -v s="$sa" 'BEGIN { printf "%.2f", m / (s > 0 ? s : 0.01) }')")
  lim_bw+=("$(awk -v m="$mib" -v r="$rate" -v s="$sb" 'BEGIN { printf "%.3f", (m - r) / s }')")
  free_ops+=("$(awk -v n="$blocks" -v s="$sc" 'BEGIN { printf "%.0f", n / (s > 0 ? s : 0.01) }')")
  lim_ops+=("$(awk -v n="$blocks" -v r="$iops" -v s="$sd" 'BEGIN { printf "%.1f", (n - r) / s }')")
  echo "run $i: unlimited ${free_bw[-1]} MiB/s, bw=${rate}M steady ${lim_bw[-1]} MiB/s;" \
       "unlimited ${free_ops[-1]} req/s, iops=$iops steady ${lim_ops[-1]} req/s"
done
mfb=$(printf '%s\n' "${free_bw[@]}" | median) mlb=$(printf '%s\n' "${lim_bw[@]}" | median)
mfo=$(printf '%s\n' "${free_ops[@]}" | median) mlo=$(printf '%s\n' "${lim_ops[@]}" | median)
echo "bandwidth ($mib MiB, 256 KiB O_DIRECT reads): configured $rate MiB/s, steady $mlb MiB/s, ratio $(awk -v a="$mlb" -v b="$rate" 'BEGIN { printf "%.3f", a / b }'); unlimited $mfb MiB/s"
echo "ops ($blocks 4 KiB O_DIRECT reads): configured $iops/s, steady $mlo/s, ratio $(awk -v a="$mlo" -v b="$iops" 'BEGIN { printf "%.3f", a / b }'); unlimited $mfo/s"
