#!/usr/bin/env bash
# bench/smp.sh on stand-in builds of trapeze and QEMU (no guest): with a list of hart counts,
# every count runs under both, each with --cpus/-smp and the guest's copy count set to it, the
# 1-hart runs are shared, and the summary's scaling and throughput ratios are the ones the
# stand-ins' printed batch times make; the host's native scaling is measured alongside. A run
# whose kernel reports a stall, or whose checksums are not the host build's, fails and says
# so, and one whose guest never went idle before its batch is warned of; --separate adds N
# separate 1-hart processes per N and compares; --hart-affinity pins the N-hart runs' harts;
# hart counts outside
# 2..32, an empty --prebuilt folder, --prepare with --prebuilt and a missing --qemu are refused.
#
# usage: smp_bench_test.sh BENCH_DIR
set -uo pipefail
bench=$1
source "$(dirname "${BASH_SOURCE[0]}")/stand_in_lib.sh"

# The checksum every cpubench run must print: the host build's, as smp.sh computes it.
gcc -O2 -o "$work/cpubench-host" "$bench/cpu/cpubench.c" || fail "host build of cpubench failed"
sum=$("$work/cpubench-host" | awk '/^CPUBENCH:/ { print $5 }')
[[ -n $sum ]] || fail "cpubench printed no checksum"

# smp_stand_in NAME ONE MANY [EXTRA [WAIT]]: a stand-in VMM that reads the harts from its command
# line (--cpus N or -smp N) and the copies and repeats from the guest's (trapeze.smpbench=,
# trapeze.smpreps=), prints copies x reps CPUBENCH lines with the host's checksum (the k-th run
# taking 0.100 + k/100 s; with WAIT, each followed by the launcher's CPUBENCH-SCHED line, the
# last run's saying it waited WAIT s, the k-th's that it moved between harts k times), then the launcher's SMPBENCH line: a batch of ONE seconds
# on 1 hart, MANY on more; EXTRA is printed first (a console line).
smp_stand_in() {
  printf '%s\n%s\n%s\n%s\n%s\n' "$2" "$3" "$sum" "${4:-}" "${5:-}" >"$work/$1.cfg"
  # (smp.sh runs a copy of its --trapeze, so the stand-in names its file in full.)
  stand_in "$1" "cfg=$work/$1.cfg
$(cat <<'BODY'
{ read -r one; read -r many; read -r sum; read -r extra; read -r wait; } <"$cfg"
args=" $* "
n=$(sed -E 's/.*(--cpus|-smp) ([0-9]+).*/\2/' <<<"$args")
copies=$(sed -E 's/.*trapeze\.smpbench=([0-9]+).*/\1/' <<<"$args")
reps=$(sed -E 's/.*trapeze\.smpreps=([0-9]+).*/\1/' <<<"$args")
[[ $n == "$copies" ]] || { echo "harts $n but $copies copies: $*"; exit 1; }
if [[ $args == *" --hart-affinity "* ]]; then
  sed -E 's/.* --hart-affinity ([^ ]+) .*/\1/' <<<"$args" >>"${cfg%/*}/affinity"
fi
[[ -n $extra ]] && printf '%s\r\n' "$extra"
for ((i = 0; i < copies * reps; i++)); do
  printf 'CPUBENCH: %s s checksum %s\r\n' "$(awk -v i="$i" 'BEGIN { printf "%.3f", 0.1 + i / 100 }')" "$sum"
  w=0.000; ((i == copies * reps - 1)) && w=$wait
  [[ -z $wait ]] || printf 'CPUBENCH-SCHED: ran 0.100 s waited %s s slices 3 migrations %s\r\n' "$w" "$i"
done
secs=$one; ((n > 1)) && secs=$many
printf 'SMPBENCH: %s s copies %s reps %s harts %s failed 0\r\n' "$secs" "$copies" "$reps" "$n"
BODY
)"
}
mkdir "$work/bin"
smp_stand_in trapeze 1.000 1.250 "" 0.042
smp_stand_in qemu 2.000 4.000
# QEMU as smp.sh finds it, on the PATH (its --version answered here, so that the order of the
# runs holds only the guest runs).
printf '#!/usr/bin/env bash\n[[ $1 == --version ]] && { echo "QEMU emulator version 0 (stand-in)"; exit 0; }\nexec "%s/qemu" "$@"\n' \
  "$work" >"$work/bin/qemu-system-riscv64"
chmod +x "$work/bin/qemu-system-riscv64"
export PATH="$work/bin:$PATH"

smp() { "$bench/smp.sh" --runs 1 --reps 1 --dir "$work/guest" --trapeze "$work/trapeze" "$@" 2>&1; }

out=$(smp --harts 2,4) || fail "smp.sh --harts 2,4 failed: $out"
# Each run's command line, in turn: the 1-hart pair, then each count's pair.
order=$(tr '\n' ' ' <"$work/order")
[[ $order == "trapeze qemu trapeze qemu trapeze qemu " ]] || fail "the VMMs ran in the order $order"
# Throughput in cpubench runs per second: trapeze 1/1.0 and N/1.25, QEMU 1/2.0 and N/4.0.
grep -Eq '^  trapeze \(jit\) +4 hart\(s\),  4 copies: +1\.250 s, throughput  3\.200 runs/s, scaling 3\.20$' <<<"$out" ||
  fail "no 4-hart line for trapeze: $out"
grep -Eq '^2 harts: scaling trapeze 1\.60 \(goal >= 1\.8\), qemu 1\.00, host.s native [0-9.]+; throughput trapeze/qemu 3\.20 \(goal >= 2\)$' <<<"$out" ||
  fail "no 2-hart summary: $out"
grep -Eq '^4 harts: scaling trapeze 3\.20 \(goal >= 3\.6\), qemu 2\.00, host.s native [0-9.]+; throughput trapeze/qemu 3\.20 \(goal >= 2\)$' <<<"$out" ||
  fail "no 4-hart summary: $out"
grep -q '^1-hart throughput: trapeze/qemu 2.00$' <<<"$out" || fail "no 1-hart ratio: $out"
# Each N-hart run's spread: the 4-hart batch's runs took 0.10-0.13 s; trapeze's guest said
# (CPUBENCH-SCHED) one waited 0.042 s for a hart and one moved 3 times, QEMU's stand-in said
# nothing of either.
grep -q '; 4 harts, 4 copies: trapeze 1.250 s (runs 0.10-0.13 s, waits <= 0.042 s, moves between harts <= 3), qemu 4.000 s (runs 0.10-0.13 s) ' <<<"$out" ||
  fail "no spread of the 4-hart runs: $out"

# --separate (a flag, no argument): after each N-hart pair, N 1-hart trapeze processes at once;
# the slowest one's batch is reported, and the N-hart batch against it.
: >"$work/order"
out=$(smp --separate --harts 2) || fail "smp.sh --separate --harts 2 failed: $out"
order=$(tr '\n' ' ' <"$work/order")
[[ $order == "trapeze qemu trapeze qemu trapeze trapeze " ]] || fail "with --separate the VMMs ran in the order $order"
grep -q ', 2 separate 1-hart trapeze processes: slowest 1.000 s (other' <<<"$out" ||
  fail "no separate processes in the run's line: $out"
grep -q '^2 harts in one process: batch 1.250 s against 1.000 s for the slowest of 2 separate 1-hart processes (ratio 1.25)$' <<<"$out" ||
  fail "no in-process summary: $out"

# --hart-affinity packed: the N-hart trapeze run (not the 1-hart one, not QEMU's) gets hart i
# on the i-th CPU the script may run on; spread on every other one; a host with too few CPUs
# for the way asked for, and an unknown way, are refused before anything runs.
cpus=($(python3 -c 'import os; print(*sorted(os.sched_getaffinity(0)))'))
if ((${#cpus[@]} >= 2)); then
  rm -f "$work/affinity"
  out=$(smp --harts 2 --hart-affinity packed) || fail "smp.sh --hart-affinity packed failed: $out"
  [[ $(cat "$work/affinity") == "${cpus[0]}/${cpus[1]}" ]] ||
    fail "the 2-hart run was pinned '$(cat "$work/affinity" 2>/dev/null)', expected ${cpus[0]}/${cpus[1]}"
  grep -q "^trapeze's 2-hart runs pinned (packed): --hart-affinity ${cpus[0]}/${cpus[1]}$" <<<"$out" ||
    fail "no line saying how the runs were pinned: $out"
fi
if ((${#cpus[@]} >= 3)); then
  rm -f "$work/affinity"
  out=$(smp --harts 2 --hart-affinity spread) || fail "smp.sh --hart-affinity spread failed: $out"
  [[ $(cat "$work/affinity") == "${cpus[0]}/${cpus[2]}" ]] ||
    fail "the 2-hart run was spread as '$(cat "$work/affinity" 2>/dev/null)', expected ${cpus[0]}/${cpus[2]}"
fi
if ((${#cpus[@]} < 63)); then
  : >"$work/order"
  out=$(smp --harts 32 --hart-affinity spread) && fail "32 spread harts on ${#cpus[@]} CPUs were accepted: $out"
  grep -q -- "--hart-affinity spread: 32 harts need 63 CPUs to run on, this host lets trapeze have ${#cpus[@]}" <<<"$out" ||
    fail "no clear message for too few CPUs: $out"
  [[ ! -s $work/order ]] || fail "a VMM ran before the refusal"
fi
out=$(smp --harts 2 --hart-affinity diagonal) && fail "--hart-affinity diagonal was accepted: $out"
grep -q -- "--hart-affinity must be none, packed or spread, not 'diagonal'" <<<"$out" ||
  fail "no clear message for an unknown --hart-affinity: $out"

smp_stand_in trapeze 1.000 1.250 "[   12.5] rcu: INFO: rcu_sched self-detected stall on CPU"
: >"$work/order"
out=$(smp --harts 2) && fail "a run whose kernel reported a stall was accepted: $out"
grep -q "trapeze 1-hart run 1: the kernel reported: .*self-detected stall" <<<"$out" ||
  fail "no clear message for a stall: $out"

smp_stand_in trapeze 1.000 1.250 "SMPBENCH-SETTLE: the CPUs did not go idle within 60 s; starting anyway"
out=$(smp --harts 2) || fail "a batch that started on a busy guest failed: $out"
grep -q "warning: trapeze 1-hart run 1: the guest's CPUs never went idle" <<<"$out" ||
  fail "no warning for a batch that started on a busy guest: $out"

sed -i '3s/.*/0000000000000000/' "$work/qemu.cfg"
smp_stand_in trapeze 1.000 1.250
out=$(smp --harts 2) && fail "a wrong checksum was accepted: $out"
grep -q "qemu 1-hart run 1: expected 1 runs with checksum $sum" <<<"$out" || fail "no clear message for a wrong checksum: $out"

mkdir "$work/empty"
out=$(smp --harts 2 --prebuilt "$work/empty") && fail "an empty --prebuilt folder was accepted: $out"
grep -q "holds no initrd.img and cpubench-host" <<<"$out" || fail "no clear message for an empty --prebuilt: $out"
out=$(smp --prepare "$work/p" --prebuilt "$work/empty") && fail "--prepare with --prebuilt was accepted: $out"
grep -q "exclude each other" <<<"$out" || fail "no clear message for --prepare with --prebuilt: $out"
out=$(smp --harts 2 --qemu "$work/no-such-qemu") && fail "a missing --qemu was accepted: $out"
grep -q "no-such-qemu is missing" <<<"$out" || fail "no clear message for a missing --qemu: $out"

for bad in 1 33 2,x ""; do
  out=$(smp --harts "$bad") && fail "--harts '$bad' was accepted"
  grep -q -- "--harts must be 2..32" <<<"$out" || grep -q -- "--harts needs a number" <<<"$out" ||
    fail "no clear message for --harts '$bad': $out"
done
echo PASS
