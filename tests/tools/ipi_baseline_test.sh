#!/usr/bin/env bash
# bench/ipi.sh --baseline on stand-in builds (no guest, no QEMU): the guest program is built
# for riscv64 as in a real run, the two builds take turns at going first, each one's printed
# time per pair is what the medians are made of, and the report ends with the baseline's
# median over the trapeze build's; a run that prints no result is an error that names it, and
# --cpus other than 2 is refused.
#
# usage: ipi_baseline_test.sh BENCH_DIR
set -uo pipefail
bench=$1
source "$(dirname "${BASH_SOURCE[0]}")/stand_in_lib.sh"

# A stand-in build: checks it was asked for 2 harts and the benchmark's init, prints the
# guest's result line with the given microseconds per pair (none if empty).
ipi_stand_in() {
  echo "$2" >"$work/$1.us"
  stand_in "$1" "$(cat <<'BODY'
[[ " $* " == *" --cpus 2 "* && " $* " == *"rdinit=/ipibench"* ]] || { echo "bad arguments: $*"; exit 1; }
us=$(<"$0.us")
[[ -n $us ]] && printf 'IPIBENCH: 20000 mprotect pairs in 1.000 s: %s us per pair, spinner 5 iterations\r\n' "$us"
exit 0
BODY
)"
}
ipi_stand_in new 50.0
ipi_stand_in old 200.0
ipi_stand_in mute ""

out=$("$bench/ipi.sh" --runs 2 --dir "$work/guest" --trapeze "$work/new" --baseline "$work/old" 2>&1) ||
  fail "ipi.sh --baseline failed: $out"
order=$(tr '\n' ' ' <"$work/order")
[[ $order == "new old old new " ]] || fail "the builds ran in the order $order"
grep -q "^median over 2 run(s): trapeze 50 us per mprotect() pair, baseline 200 us$" <<<"$out" ||
  fail "no medians of the printed times: $out"
[[ $(tail -n 1 <<<"$out") == "speed: trapeze/baseline 4.00" ]] || fail "last line '$(tail -n 1 <<<"$out")'"

out=$("$bench/ipi.sh" --runs 1 --dir "$work/guest" --trapeze "$work/mute" --baseline "$work/old" 2>&1) &&
  fail "a run without a result was accepted: $out"
grep -q "trapeze run 1 printed no IPIBENCH result" <<<"$out" || fail "no clear message for a run without a result: $out"
out=$("$bench/ipi.sh" --cpus 4 --dir "$work/guest" --trapeze "$work/new" --baseline "$work/old" 2>&1) &&
  fail "--cpus 4 was accepted"
grep -q "uses 2 harts" <<<"$out" || fail "no clear message for --cpus 4: $out"
echo PASS
