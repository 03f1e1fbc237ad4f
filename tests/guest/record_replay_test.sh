#!/usr/bin/env bash
# Records a Debian boot whose init reads a line typed on the console, prints entropy from
# virtio-rng and the RTC's time, takes a DHCP lease and fetches a file over slirp from an HTTP
# server on host loopback, and writes a file to an ext4 disk (tools/fetch-guest's test init,
# trapeze.readline); then, with the HTTP server gone and nothing typed, replays the recording
# again and again under both engines and from its first checkpoint: every replay must print
# exactly the recorded console output and end at the recorded instruction count. A log cut
# short and a log with a flipped byte must stop the replay with a message, never hang it.
#
# usage: record_replay_test.sh TRAPEZE ENGINE [CPUS [REPLAYS_PER_ENGINE]]
#   ENGINE records; the replays run under jit and interp (interp's at most 2 unless asked).
set -uo pipefail

source "$(dirname "${BASH_SOURCE[0]}")/guest_env.sh"
cpus=${3:-1}
replays=${4:-3}

pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null; done; [[ -n ${KEEP:-} ]] || rm -rf "$work"; }
trap cleanup EXIT

start_http_server
http=$http_pid
pids+=($http)
truncate -s 32M "$work/disk.img"
mkfs.ext4 -q -F "$work/disk.img" || fail "mkfs.ext4"
typed="hello-from-the-host-$token"

log=$work/boot.log
cmd=("$trapeze" run --engine "$engine" --kernel "$dir/Image" --bios "$dir/fw_jump.bin"
     --initrd "$dir/test-initrd.img" --memory 512 --cpus "$cpus"
     --append "console=ttyS0 panic=-1 trapeze.http=$http_port trapeze.readline"
     --disk "$work/disk.img" --net user --record "$log" --checkpoint-every 1000000000)
echo "recording: ${cmd[*]}"
# The line is typed once the guest asks for it, as a user would.
mkfifo "$work/stdin"
timeout --kill-after=10 "$timeout_s" "${cmd[@]}" <"$work/stdin" >"$work/console.raw" 2>"$work/stderr" &
vm=$!
pids+=($vm)
exec 3>"$work/stdin"
for ((i = 0; i < timeout_s * 5; i++)); do
  grep -q 'TRAPEZE-TEST: type a line' "$work/console.raw" 2>/dev/null && break
  kill -0 "$vm" 2>/dev/null || break
  sleep 0.2
done
echo "$typed" >&3
wait "$vm"
status=$?
exec 3>&-
clean_console
((status == 0)) || { show; fail "recording: trapeze exited with status $status"; }
for want in "read=$typed" "http=$token" "disk=written" "TRAPEZE-TEST-OK"; do
  grep -q "$want" "$work/console" || { show; fail "recording: no '$want' on the console"; }
done
grep -q '^TRAPEZE-TEST: entropy=[0-9a-f]\{32\}$' "$work/console" || { show; fail "recording: no entropy printed"; }
recorded=$(sed -n "s/^trapeze: recorded \([0-9]*\) instructions.*/\1/p" "$work/stderr")
[[ -n $recorded ]] || { show; fail "recording: no summary line"; }
ls "$log".ckpt-* >/dev/null 2>&1 || fail "recording: no checkpoint beside the log"
cp "$work/console.raw" "$work/recorded.raw"
echo "recorded $recorded instructions; $(stat -c %s "$log") bytes of log"

# Nothing from the host now: no HTTP server, no input.
kill "$http" 2>/dev/null
wait "$http" 2>/dev/null

replay() {  # $1 = engine, $2... = extra options; checks the console and the end
  local e=$1
  shift
  timeout --kill-after=10 "$timeout_s" "$trapeze" run --replay "$log" --engine "$e" "$@" </dev/null \
    >"$work/replay.raw" 2>"$work/replay.err"
  local st=$?
  ((st == 0)) || { cat "$work/replay.err"; fail "replay ($e $*): status $st"; }
  grep -q "replay complete: $recorded instructions" "$work/replay.err" ||
    { cat "$work/replay.err"; fail "replay ($e $*): not complete at $recorded instructions"; }
}

for e in jit interp; do
  n=$replays
  [[ $e == interp && $n -gt 2 && -z ${TRAPEZE_REPLAY_ALL:-} ]] && n=2
  for ((r = 1; r <= n; r++)); do
    replay "$e"
    cmp -s "$work/recorded.raw" "$work/replay.raw" || {
      diff <(tr -d '\r' <"$work/recorded.raw") <(tr -d '\r' <"$work/replay.raw") | head -20
      fail "replay $r under $e: the console differs from the recording's"
    }
  done
  echo "replayed $n times under $e: console identical, $recorded instructions"
done

# From the first checkpoint, under the other engine than the recording's.
other=interp
[[ $engine == interp ]] && other=jit
replay "$other" --replay-from 0
# What it prints is what the recording printed after the checkpoint.
tail -c "$(stat -c %s "$work/replay.raw")" "$work/recorded.raw" | cmp -s - "$work/replay.raw" ||
  fail "replay from checkpoint 0: the console differs from the end of the recording's"
[[ -s $work/replay.raw ]] || fail "replay from checkpoint 0 printed nothing"
echo "replayed from checkpoint 0 under $other"

# A damaged log stops the replay with a message, never hangs it or crashes.
cp "$log" "$work/cut.log"
truncate -s $(($(stat -c %s "$log") / 2)) "$work/cut.log"
timeout 300 "$trapeze" run --replay "$work/cut.log" </dev/null >/dev/null 2>"$work/cut.err"
st=$?
((st == 1)) && grep -q "no end record" "$work/cut.err" || { cat "$work/cut.err"; fail "a log cut in half: status $st"; }
cp "$log" "$work/flip.log"
printf '\xff' | dd of="$work/flip.log" bs=1 seek=$(($(stat -c %s "$log") - 100)) conv=notrunc 2>/dev/null
timeout 300 "$trapeze" run --replay "$work/flip.log" </dev/null >/dev/null 2>"$work/flip.err"
st=$?
((st == 1)) && grep -qi "chunk" "$work/flip.err" || { cat "$work/flip.err"; fail "a log with a flipped byte: status $st"; }
# A log never replaces the run's own disk, nor a file that is not a log: refused before it starts.
sum=$(sha256sum <"$work/disk.img")
echo "not a log" >"$work/notes.txt"
for target in "$work/disk.img" "$work/notes.txt"; do
  timeout 60 "${cmd[@]:0:${#cmd[@]}-4}" --record "$target" </dev/null >/dev/null 2>"$work/clobber.err"
  st=$?
  ((st == 1)) && grep -q "record '$target'" "$work/clobber.err" || { cat "$work/clobber.err"; fail "--record $target: status $st"; }
done
[[ $(sha256sum <"$work/disk.img") == "$sum" && $(cat "$work/notes.txt") == "not a log" ]] || fail "a refused --record changed its file"
echo "PASS: recorded on $cpus hart(s) under $engine, replayed bit for bit under both engines and from a checkpoint"
