#!/usr/bin/env bash
# `trapeze run --on-reboot restart` under the sandbox: the busybox guest `make run` boots
# (initrd.img) is told `reboot` on its console, comes back on a machine the VMM thread builds
# after it was confined (with a new JIT and its translator thread, on 2 harts each on a thread
# of its own), and is told `poweroff`, which ends trapeze with status 0. Each boot must show the
# guest's banner; no thread may make a forbidden system call on the way.
#
# usage: reboot_test.sh TRAPEZE ENGINE   (TRAPEZE_GUEST_TIMEOUT: seconds each boot may take)
set -uo pipefail

source "$(dirname "${BASH_SOURCE[0]}")/guest_env.sh"
[[ -s $dir/initrd.img ]] || fail "guest image $dir/initrd.img is missing: run tools/fetch-guest (make test does)"
readonly kBanner='trapeze guest: Debian'
readonly kShell='built-in shell (ash)'

vm=
trap '[[ -n $vm ]] && kill "$vm" 2>/dev/null; rm -rf "$work"' EXIT
mkfifo "$work/console.in"
"$trapeze" run --engine "$engine" --kernel "$dir/Image" --bios "$dir/fw_jump.bin" --initrd "$dir/initrd.img" \
  --append "console=ttyS0 panic=-1" --memory 512 --cpus 2 --on-reboot restart --no-stats \
  <"$work/console.in" >"$work/console.raw" 2>"$work/stderr" &
vm=$!
exec 3>"$work/console.in"  # the console's input stays open until the test closes it

# wait_shells N: until the console shows busybox's shell banner N times (the guest's shell is
# reading the console; its prompt is followed by escape sequences, so the banner is matched).
wait_shells() {
  local deadline=$((SECONDS + timeout_s))
  while ((SECONDS < deadline)); do
    (($(grep -c "$kShell" "$work/console.raw") >= $1)) && return 0
    kill -0 "$vm" 2>/dev/null || { clean_console; show; fail "trapeze ended before boot $1's shell"; }
    sleep 0.5
  done
  clean_console; show
  fail "no shell after boot $1 within ${timeout_s} s"
}

wait_shells 1
echo reboot >&3
wait_shells 2
echo poweroff >&3
deadline=$((SECONDS + 120))
while kill -0 "$vm" 2>/dev/null && ((SECONDS < deadline)); do sleep 0.5; done
kill -0 "$vm" 2>/dev/null && { clean_console; show; fail "trapeze did not end within 120 s of poweroff"; }
wait "$vm"
status=$?
vm=
exec 3>&-
clean_console
(($(grep -c "$kBanner" "$work/console") == 2)) || { show; fail "the guest's banner is not there twice"; }
echo "rebooted: the guest's banner and shell twice"
if grep -q seccomp "$work/stderr"; then show; fail "a thread made a forbidden system call"; fi
((status == 0)) || { show; fail "trapeze ended with status $status after poweroff, not 0"; }
echo PASS
