#!/usr/bin/env bash
# Firecracker's snapshot commands with curl, as its snapshot-support guide writes them (issue 23):
# a Debian guest is paused early in its boot (PATCH /vm), saved (PUT /snapshot/create, Full),
# and its process killed; a new process loads it (PUT /snapshot/load with mem_backend File and
# resume_vm) and the boot goes on from there — the kernel's banner is not printed again — to
# the test marker and power-off, exit status 0.
#
# usage: curl_snapshot.sh TRAPEZE
set -uo pipefail

source "$(dirname "${BASH_SOURCE[0]}")/../guest/guest_env.sh" "$1" jit
command -v curl >/dev/null || fail "curl is missing (tools/install-deps installs it)"

# call METHOD SOCKET PATH BODY: the request as the guide writes it; its status must be 204.
call() {
  local code
  code=$(curl -s -o "$work/reply" -w '%{http_code}' --unix-socket "$2" -X "$1" "http://localhost/$3" \
         -H 'Accept: application/json' -H 'Content-Type: application/json' -d "$4")
  [[ $code == 204 ]] || { cat "$work/reply"; echo; fail "$1 /$3 answered $code"; }
}
start_vmm() {  # NAME: a VMM process on $work/NAME.socket, console in $work/NAME.raw
  "$trapeze" --api-sock "$work/$1.socket" </dev/null >"$work/$1.raw" 2>"$work/$1.stderr" &
  pid=$!
  for _ in $(seq 500); do [[ -S $work/$1.socket ]] && return; sleep 0.01; done
  fail "no API socket for $1"
}

start_vmm first
first=$pid
trap 'kill -9 $first 2>/dev/null; rm -rf "$work"' EXIT
sock=$work/first.socket
call PUT "$sock" boot-source "{\"kernel_image_path\": \"$dir/Image\", \"initrd_path\": \"$dir/test-initrd.img\",
                              \"boot_args\": \"console=ttyS0 reboot=k panic=1 pci=off\"}"
call PUT "$sock" machine-config '{"vcpu_count": 2, "mem_size_mib": 256}'
call PUT "$sock" actions '{"action_type": "InstanceStart"}'
for _ in $(seq 6000); do grep -q 'Linux version' "$work/first.raw" && break; sleep 0.01; done
grep -q 'Linux version' "$work/first.raw" || fail "the guest's kernel never started"
call PATCH "$sock" vm '{"state": "Paused"}'
call PUT "$sock" snapshot/create "{\"snapshot_type\": \"Full\", \"snapshot_path\": \"$work/snapshot_file\",
                                   \"mem_file_path\": \"$work/mem_file\"}"
kill -9 "$first"
wait "$first" 2>/dev/null
grep -q 'TRAPEZE-TEST-OK' "$work/first.raw" && fail "the guest finished before it was saved"

start_vmm second
call PUT "$work/second.socket" snapshot/load "{\"snapshot_path\": \"$work/snapshot_file\",
        \"mem_backend\": {\"backend_path\": \"$work/mem_file\", \"backend_type\": \"File\"},
        \"enable_diff_snapshots\": false, \"resume_vm\": true}"
timeout --kill-after=10 "$timeout_s" tail --pid="$pid" -f /dev/null
wait "$pid"
status=$?
tr -d '\r' <"$work/second.raw" >"$work/console"
cp "$work/second.stderr" "$work/stderr"
((status == 0)) || { show; fail "the loaded VM's process exited with status $status"; }
grep -q 'TRAPEZE-TEST-OK' "$work/console" || { show; fail "the loaded guest never printed TRAPEZE-TEST-OK"; }
grep -q 'Linux version' "$work/console" && { show; fail "the loaded guest booted again"; }
echo "PASS: Firecracker's snapshot requests with curl: saved mid-boot, loaded in a new process, booted on"
