#!/usr/bin/env bash
# Nested-virtualization benchmark (issue 28): trapeze with the hypervisor extension runs Debian's
# kernel, whose KVM runs Debian's qemu-system-riscv64 -accel kvm, which boots Debian's kernel
# again to the test initrd's marker and powers off (tests/guest/nested_kvm_init.sh; the same
# disk and initrds as tests/guest/nested_kvm_test.sh). The same nested boot under QEMU's TCG with
# its H extension (-cpu rv64,h=true), in the same run, alternating runs.
#
# Two times per run: the whole (power-on to the outer guest's power-off, wall clock) and the
# nested part (from QEMU's start to the nested guest's power-off, the outer guest's uptime).
# Prints each run, the medians and the ratios trapeze/QEMU.
#
# usage: bench/nested.sh [--engine ENGINE] [--runs N] [--cpus N] [--trapeze PATH] [--dir DIR]
#                        [--timeout SECONDS]
#   --cpus N: the outer harts and the nested guest's (default 1)
set -uo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
engine=jit runs=5 cpus=1 timeout_s=900
trapeze=$root/build/trapeze
dir=${TRAPEZE_GUEST_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/trapeze/debian-riscv64}
readonly kMemory=1024

die() { echo "nested.sh: $*" >&2; exit 1; }
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

guest_bench_options "$@"
require "$trapeze" "$dir" qemu

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
. "$root/tests/guest/nested_kvm_media.sh"
nested_kvm_media "$work" "$dir" "$root" || die "cannot prepare the nested guest's disk and initrd"
append="console=ttyS0 panic=-1 rdinit=/nested_kvm_init trapeze.nested-smp=$cpus"

trapeze_cmd=("$trapeze" run --hypervisor --engine "$engine" --cpus "$cpus" --memory "$kMemory"
             --kernel "$dir/Image" --bios "$dir/fw_jump.bin" --initrd "$work/nested-initrd.img"
             --disk "$work/nested-disk.img,ro" --append "$append" --on-reboot exit --no-stats)
qemu_cmd=(qemu-system-riscv64 -M virt -cpu rv64,h=true -smp "$cpus" -m "${kMemory}M" -nographic -no-reboot
          -bios "$dir/fw_jump.bin" -kernel "$dir/Image" -initrd "$work/nested-initrd.img"
          -drive "file=$work/nested-disk.img,if=none,id=vda,format=raw,readonly=on"
          -device virtio-blk-device,drive=vda -append "$append")

# time_nested NAME CMD...: one run; prints "WALL NESTED" in seconds, or fails without the marker.
time_nested() {
  local name=$1; shift
  local wall status
  wall=$(timed_run "$work/out" "$work/err" "$@")
  status=$?
  tr -d '\r' <"$work/out" >"$work/console"
  local t0 t1
  t0=$(sed -n 's/^NESTED-KVM: starting //p' "$work/console")
  t1=$(sed -n 's/^NESTED-KVM: qemu-system-riscv64 exited 0 //p' "$work/console")
  if ((status != 0)) || [[ -z $t0 || -z $t1 ]] || ! grep -q '^TRAPEZE-TEST-OK' "$work/console"; then
    echo "nested.sh: $name: the nested guest did not reach its marker (status $status); last output:" >&2
    tail -n 20 "$work/console" "$work/err" >&2
    return 1
  fi
  awk -v w="$wall" -v a="$t0" -v b="$t1" 'BEGIN { printf "%.2f %.2f\n", w, b - a }'
}


echo "nested: Debian's kernel on KVM in Debian's kernel, $cpus hart(s) each; QEMU $(qemu-system-riscv64 --version | sed -n '1s/.*version \([^ ]*\).*/\1/p') TCG with h=true; $runs runs each"
tw=() tn=() qw=() qn=()
for ((i = 1; i <= runs; i++)); do
  read -r w n < <(time_nested trapeze "${trapeze_cmd[@]}") || exit 1
  [[ -n ${n:-} ]] || exit 1
  tw+=("$w") tn+=("$n")
  read -r qw_ qn_ < <(time_nested qemu "${qemu_cmd[@]}") || exit 1
  [[ -n ${qn_:-} ]] || exit 1
  qw+=("$qw_") qn+=("$qn_")
  echo "run $i: trapeze ($engine) ${w} s (nested ${n} s), qemu ${qw_} s (nested ${qn_} s)"
done
mtw=$(printf '%s\n' "${tw[@]}" | median) mtn=$(printf '%s\n' "${tn[@]}" | median)
mqw=$(printf '%s\n' "${qw[@]}" | median) mqn=$(printf '%s\n' "${qn[@]}" | median)
echo "median whole: trapeze $mtw s, qemu $mqw s, trapeze/qemu $(ratio "$mtw" "$mqw")"
echo "median nested part: trapeze $mtn s, qemu $mqn s, trapeze/qemu $(ratio "$mtn" "$mqn")"
