#!/usr/bin/env bash
# Boots Debian's kernel with virtio-net on slirp user networking and checks, from both sides:
# the guest gets 10.0.2.15 by DHCP, fetches a file from an HTTP server this script starts on
# host loopback (through slirp's 10.0.2.2), and the host reaches a listener in the guest
# through a port forward (hostfwd=tcp:127.0.0.1:PORT-:8080).
#
# usage: virtio_net_test.sh TRAPEZE ENGINE
set -uo pipefail

source "$(dirname "${BASH_SOURCE[0]}")/guest_env.sh"

pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null; done; rm -rf "$work"; }
trap cleanup EXIT

start_http_server
pids+=($http_pid)
fwd_port=$(free_port)

cmd=("$trapeze" run --engine "$engine" --kernel "$dir/Image" --bios "$dir/fw_jump.bin"
     --initrd "$dir/test-initrd.img" --memory 512 --on-reboot exit --no-rng
     --append "console=ttyS0 panic=-1 trapeze.http=$http_port trapeze.listen"
     --net "user,hostfwd=tcp:127.0.0.1:$fwd_port-:8080")
echo "running: ${cmd[*]}"
timeout --kill-after=10 "$timeout_s" "${cmd[@]}" </dev/null >"$work/console.raw" 2>"$work/stderr" &
vm=$!
pids+=($vm)

# Connect through the forward once the guest listens; read what the guest sends.
got=""
for ((i = 0; i < timeout_s * 5; i++)); do
  grep -q 'TRAPEZE-TEST: listening' "$work/console.raw" 2>/dev/null && break
  kill -0 "$vm" 2>/dev/null || break
  sleep 0.2
done
if grep -q 'TRAPEZE-TEST: listening' "$work/console.raw"; then
  got=$(python3 - "$fwd_port" <<'PY'
import socket, sys, time
for attempt in range(50):
    try:
        s = socket.create_connection(("127.0.0.1", int(sys.argv[1])), timeout=10)
        data = s.recv(100)
        if data:
            print(data.decode(errors="replace").strip())
            break
        s.close()
    except OSError:
        pass
    time.sleep(0.2)
PY
)
fi
wait "$vm"
status=$?
clean_console

((status == 0)) || { show; fail "trapeze exited with status $status"; }
grep -q '^TRAPEZE-TEST-OK' "$work/console" || { show; fail "no TRAPEZE-TEST-OK marker"; }
grep -q '^TRAPEZE-TEST: dhcp=10.0.2.15/24' "$work/console" || { show; fail "no DHCP lease of 10.0.2.15"; }
grep -qx "TRAPEZE-TEST: http=$token" "$work/console" || { show; fail "the guest did not fetch the host's file"; }
[[ $got == guest-listener-ok ]] || { show; fail "the host read '$got' through the port forward"; }
echo "PASS: DHCP, guest-to-host HTTP through slirp, host-to-guest through hostfwd"
