#!/usr/bin/env bash
# `trapeze run --on-reboot restart` under the sandbox: the busybox guest `make run` boots
# (initrd.img) is told `reboot` on its console, comes back on a machine the VMM thread builds
# after it was confined (with a new JIT and its translator thread, on 2 harts each on a thread
# of its own), and is told `poweroff`, which ends trapeze with status 0. Each boot must show the
# guest's banner; no thread may make a forbidden system call on the way.
#
# usage: reboot_test.sh TRAPEZE ENGINE
#   TRAPEZE_GUEST_DIR      guest cache (default ${XDG_CACHE_HOME:-$HOME/.cache}/trapeze/debian-riscv64)
#   TRAPEZE_GUEST_TIMEOUT  seconds each boot may take (default 600)
set -uo pipefail

fail() { echo "FAIL: $*" >&2; exit 1; }

(($# == 2)) || fail "usage: reboot_test.sh TRAPEZE ENGINE"
trapeze=$1 engine=$2
dir=${TRAPEZE_GUEST_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/trapeze/debian-riscv64}
timeout_s=${TRAPEZE_GUEST_TIMEOUT:-600}
readonly kBanner='trapeze guest: Debian'
readonly kShell='built-in shell (ash)'

[[ -x $trapeze ]] || fail "$trapeze is not an executable"
for f in Image fw_jump.bin initrd.img; do
  [[ -s $dir/$f ]] || fail "guest image $dir/$f is missing: run tools/fetch-guest (make test does)"
done

work=$(mktemp -d)
vm=
cleanup() {
  [[ -n $vm ]] && kill "$vm" 2>/dev/null
  rm -rf "$work"
}
trap cleanup EXIT
mkfifo "$work/console.in"

"$trapeze" run --engine "$engine" --kernel "$dir/Image" --bios "$dir/fw_jump.bin" --initrd "$dir/initrd.img" \
  --append "console=ttyS0 panic=-1" --memory 512 --cpus 2 --on-reboot restart --no-stats \
  <"$work/console.in" >"$work/console" 2>"$work/stderr" &
vm=$!
exec 3>"$work/console.in"  # the console's input stays open until the test closes it

show_logs() {
  echo "---- guest console ----"; tr -d '\r' <"$work/console"
  echo "---- trapeze stderr ----"; cat "$work/stderr"
  echo "-----------------------"
}

# wait_shells N: until the console shows busybox's shell banner N times (the guest's shell is
# reading the console; its prompt is followed by escape sequences, so the banner is matched).
wait_shells() {
  local deadline=$((SECONDS + timeout_s))
  while ((SECONDS < deadline)); do
    (($(grep -c "$kShell" "$work/console") >= $1)) && return 0
    kill -0 "$vm" 2>/dev/null || { show_logs; fail "trapeze ended before boot $1's shell"; }
    sleep 0.5
  done
  show_logs
  fail "no shell after boot $1 within ${timeout_s} s"
}

wait_shells 1
echo reboot >&3
wait_shells 2
(($(grep -c "$kBanner" "$work/console") == 2)) || { show_logs; fail "the guest's banner is not there twice"; }
echo "rebooted: the guest's banner and shell twice"
echo poweroff >&3
deadline=$((SECONDS + 120))
while kill -0 "$vm" 2>/dev/null && ((SECONDS < deadline)); do sleep 0.5; done
kill -0 "$vm" 2>/dev/null && { show_logs; fail "trapeze did not end within 120 s of poweroff"; }
wait "$vm"
status=$?
vm=
exec 3>&-
if grep -q seccomp "$work/stderr"; then show_logs; fail "a thread made a forbidden system call"; fi
((status == 0)) || { show_logs; fail "trapeze ended with status $status after poweroff, not 0"; }
echo PASS
