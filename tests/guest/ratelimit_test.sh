#!/usr/bin/env bash
# A rate-limited disk held to its bandwidth (issue 22). Boots Debian's kernel with two disks,
# vda limited to 1 MiB/s (--disk IMG,bw=1M) and vdb to 50 requests/s (--disk IMG,iops=50); the
# guest (tests/guest/ratelimit_init.sh, appended to test-initrd.img as /ratelimit_init) reads
# 4 MiB of vda in 256 KiB blocks and 200 blocks of 4 KiB of vdb, with O_DIRECT so that every
# block is a request to the device, and times each read by its own clock.
#
# What is checked is the rate limiter's invariant, not a speed: a bucket of one second's worth
# of tokens that starts full lets through at most size + rate x elapsed, so the guest cannot
# have read B bytes (N requests) in less than (B - size) / rate seconds, however fast or slow
# the host is; a slow host only makes the read take longer. Without the limiter the guest reads
# both in a fraction of a second and the test fails. (bench/ratelimit.sh measures how close
# to the configured rate the disk gets.)
#
# usage: ratelimit_test.sh TRAPEZE ENGINE [CPUS]
#   CPUS > 1: the harts on threads of their own, so that the machine's I/O thread, not the hart
#   loop, wakes the disks when their limiters have refilled
set -uo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
source "$here/guest_env.sh"
cpus=${3:-1}
readonly kBw=$((1 << 20)) kIops=50
readonly kSlack=0.02  # /proc/uptime counts in 10 ms steps: each of two readings may be 10 ms short

head -c 8M /dev/urandom >"$work/bw.img"
head -c 1M /dev/urandom >"$work/iops.img"
mkdir -p "$work/root"
cp "$here/ratelimit_init.sh" "$work/root/ratelimit_init"
(cd "$work/root" && echo ratelimit_init | cpio -o -H newc -R 0:0 --quiet | gzip -9) >"$work/extra.cpio.gz" ||
  fail "packing the cpio archive failed"
cat "$dir/test-initrd.img" "$work/extra.cpio.gz" >"$work/initrd.img"

cmd=("$trapeze" run --engine "$engine" --kernel "$dir/Image" --bios "$dir/fw_jump.bin"
     --initrd "$work/initrd.img" --memory 512 --cpus "$cpus" --no-rng --on-reboot exit
     --append "console=ttyS0 panic=-1 rdinit=/ratelimit_init trapeze.rl_vda=256,16 trapeze.rl_vdb=4,200"
     --disk "$work/bw.img,ro,bw=1M" --disk "$work/iops.img,ro,iops=$kIops")
echo "running: ${cmd[*]}"
timeout --kill-after=10 "$timeout_s" "${cmd[@]}" </dev/null >"$work/console.raw" 2>"$work/stderr"
status=$?
clean_console

((status == 0)) || { show; fail "trapeze exited with status $status"; }
grep -q '^TRAPEZE-TEST-OK' "$work/console" || { show; fail "no TRAPEZE-TEST-OK marker"; }
grep '^RATELIMIT:' "$work/console"
field() { sed -n "s/^RATELIMIT: $1 .*$2=\([0-9.]*\).*/\1/p" "$work/console"; }
bytes=$(field vda bytes) seconds=$(field vda seconds)
[[ -n $bytes && -n $seconds ]] || { show; fail "the guest did not report its read of vda"; }
awk -v b="$bytes" -v s="$seconds" -v r="$kBw" -v e="$kSlack" 'BEGIN { exit !(b <= r + r * (s + e)) }' ||
  fail "vda gave $bytes bytes in $seconds s: more than its bucket ($kBw) + $kBw bytes/s allow"
requests=$(field vdb requests) seconds_ops=$(field vdb seconds)
[[ -n $requests && -n $seconds_ops ]] || { show; fail "the guest did not report its read of vdb"; }
awk -v n="$requests" -v s="$seconds_ops" -v r="$kIops" -v e="$kSlack" 'BEGIN { exit !(n <= r + r * (s + e)) }' ||
  fail "vdb served $requests requests in $seconds_ops s: more than its bucket ($kIops) + $kIops/s allow"
echo "PASS: vda held to 1 MiB/s ($bytes bytes in $seconds s), vdb to $kIops requests/s ($requests in $seconds_ops s)"
