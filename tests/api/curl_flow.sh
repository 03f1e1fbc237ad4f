#!/usr/bin/env bash
# Firecracker's getting-started guide with curl, as an operator types it (issue 22): curl on the
# API socket configures logger, machine, kernel, root drive and network, starts the instance,
# and the Debian guest (test-initrd.img) boots to its marker and powers off; the process exits 0
# and removes its socket.
#
# usage: curl_flow.sh TRAPEZE
set -uo pipefail

source "$(dirname "${BASH_SOURCE[0]}")/../guest/guest_env.sh" "$1" jit
command -v curl >/dev/null || fail "curl is missing (tools/install-deps installs it)"
sock=$work/firecracker.socket
truncate -s 16M "$work/rootfs.ext4"

"$trapeze" --api-sock "$sock" </dev/null >"$work/console.raw" 2>"$work/stderr" &
vm=$!
for _ in $(seq 500); do [[ -S $sock ]] && break; sleep 0.01; done
[[ -S $sock ]] || { show; fail "no API socket"; }

# put PATH BODY: the request as the guide writes it; its status must be 204.
put() {
  local code
  code=$(curl -s -o "$work/reply" -w '%{http_code}' --unix-socket "$sock" -X PUT "http://localhost/$1" \
         -H 'Accept: application/json' -H 'Content-Type: application/json' -d "$2")
  [[ $code == 204 ]] || { cat "$work/reply"; echo; kill "$vm"; fail "PUT /$1 answered $code"; }
}
put logger "{\"log_path\": \"$work/fc.log\", \"level\": \"Debug\", \"show_level\": true, \"show_log_origin\": true}"
put boot-source "{\"kernel_image_path\": \"$dir/Image\", \"initrd_path\": \"$dir/test-initrd.img\",
                  \"boot_args\": \"console=ttyS0 reboot=k panic=1 pci=off\"}"
put drives/rootfs "{\"drive_id\": \"rootfs\", \"path_on_host\": \"$work/rootfs.ext4\",
                    \"is_root_device\": true, \"is_read_only\": false}"
put network-interfaces/net1 '{"iface_id": "net1", "guest_mac": "06:00:AC:10:00:02", "host_dev_name": "unused", "backend": "user"}'
put machine-config '{"vcpu_count": 2, "mem_size_mib": 256}'
put actions '{"action_type": "InstanceStart"}'
state=$(curl -s --unix-socket "$sock" http://localhost/ | sed -n 's/.*"state":"\([^"]*\)".*/\1/p')
[[ $state == Running || -z $state ]] || fail "GET / says '$state' after InstanceStart"

timeout --kill-after=10 "$timeout_s" tail --pid="$vm" -f /dev/null
wait "$vm"
status=$?
clean_console
((status == 0)) || { show; fail "trapeze exited with status $status"; }
grep -q 'TRAPEZE-TEST-OK' "$work/console" || { show; fail "the guest never printed TRAPEZE-TEST-OK"; }
[[ ! -e $sock ]] || fail "the socket was left behind"
[[ -s $work/fc.log ]] || fail "nothing in the logger's file"
echo "PASS: Firecracker's getting-started requests with curl boot Debian to its marker"
