#!/usr/bin/env bash
# bench/os.sh --baseline on stand-in builds (no guest, no QEMU): the guest program is built for
# riscv64 as in a real run, the two builds take turns at going first, each operation's median
# is made of what each run printed for it, the speed is the baseline's time over the trapeze
# build's, and the report ends with their geometric mean; a run that does not finish is an
# error that names it.
#
# usage: os_baseline_test.sh BENCH_DIR
set -uo pipefail
bench=$1
source "$(dirname "${BASH_SOURCE[0]}")/stand_in_lib.sh"

# A stand-in build: checks it was asked for the benchmark's init, prints the guest's result
# lines from the file NAME.out, each run the next of its lines' values (a:b:c per operation).
os_stand_in() {
  printf '%s\n' "${@:2}" >"$work/$1.out"
  echo 0 >"$work/$1.run"
  stand_in "$1" "$(cat <<'BODY'
[[ " $* " == *"rdinit=/osbench"* ]] || { echo "bad arguments: $*"; exit 1; }
run=$(<"$0.run"); echo $((run + 1)) >"$0.run"
while read -r name values; do
  [[ -n $name ]] || continue
  IFS=: read -ra v <<<"$values"
  printf 'OSBENCH: %s %s\r\n' "$name" "${v[run]}"
done <"$0.out"
grep -q . "$0.out" && printf 'OSBENCH-DONE\r\n'
exit 0
BODY
)"
}
os_stand_in new "rdtime 40:50:45" "fork 1000:3000:2000"
os_stand_in old "rdtime 80:90:85" "fork 4000:4000:4000"
os_stand_in mute ""

out=$("$bench/os.sh" --runs 3 --dir "$work/guest" --trapeze "$work/new" --baseline "$work/old" 2>&1) ||
  fail "os.sh --baseline failed: $out"
order=$(tr '\n' ' ' <"$work/order")
[[ $order == "new old old new new old " ]] || fail "the builds ran in the order $order"
grep -Eq "^rdtime +45 +85 +1.89x$" <<<"$out" || fail "no rdtime medians and speed: $out"
grep -Eq "^fork +2000 +4000 +2.00x$" <<<"$out" || fail "no fork medians and speed: $out"
[[ $(tail -n 1 <<<"$out") == "geomean: trapeze/baseline 1.94" ]] || fail "last line '$(tail -n 1 <<<"$out")'"

out=$("$bench/os.sh" --runs 1 --dir "$work/guest" --trapeze "$work/mute" --baseline "$work/old" 2>&1) &&
  fail "a run without a result was accepted: $out"
grep -q "trapeze run 1 did not finish" <<<"$out" || fail "no clear message for a run without a result: $out"
echo PASS
