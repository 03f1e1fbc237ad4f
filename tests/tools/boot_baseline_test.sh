#!/usr/bin/env bash
# bench/boot.sh --baseline on stand-in builds (no guest, no QEMU): the two builds take turns at
# going first, each with its own binary; the report ends with the baseline's median time over
# the trapeze build's and how many pairs the trapeze build won; an odd --runs is warned about;
# a --baseline that is not an executable, and --baseline to a script without the comparison
# (bench/nested.sh), are refused. --baseline-cpus M runs the --trapeze build itself with --cpus M
# as the baseline (it takes its time from the --cpus it is given, so the faster side must win).
#
# usage: boot_baseline_test.sh BENCH_DIR
set -uo pipefail
bench=$1
source "$(dirname "${BASH_SOURCE[0]}")/stand_in_lib.sh"

# A stand-in build: takes SECONDS, prints the marker.
boot_stand_in() { stand_in "$1" "sleep $2
echo TRAPEZE-TEST-OK"; }
# A wide margin: the test runs beside the whole suite on two cores, where a 0.05 s stand-in once
# took 0.8 s (against 0.4 s for the slow one, which then "won").
boot_stand_in new 0.05
boot_stand_in old 1.5

out=$("$bench/boot.sh" --engine jit --runs 2 --dir "$work/guest" --trapeze "$work/new" --baseline "$work/old" 2>&1) ||
  fail "boot.sh --baseline failed: $out"
order=$(tr '\n' ' ' <"$work/order")
[[ $order == "new old old new " ]] || fail "the builds ran in the order $order"
last=$(tail -n 1 <<<"$out")
[[ $last =~ ^speed:\ trapeze/baseline\ ([0-9.]+)\ \(faster\ in\ 2\ of\ 2\ pairs\)$ ]] || fail "last line '$last'"
awk -v s="${BASH_REMATCH[1]}" 'BEGIN { exit !(s > 1 && s < 40) }' || fail "speed ${BASH_REMATCH[1]} for 0.05 s against 1.5 s"
grep -q "note:" <<<"$out" && fail "a note about the order for an even --runs"

out=$("$bench/boot.sh" --engine jit --runs 1 --dir "$work/guest" --trapeze "$work/old" --baseline "$work/new" 2>&1) ||
  fail "boot.sh --baseline --runs 1 failed: $out"
grep -q "note: with --runs 1" <<<"$out" || fail "no note that an odd --runs lets the trapeze build go first more often"
[[ $(tail -n 1 <<<"$out") == *"(faster in 0 of 1 pairs)" ]] || fail "the slower build won: $(tail -n 1 <<<"$out")"

out=$("$bench/boot.sh" --runs 2 --dir "$work/guest" --trapeze "$work/new" --baseline "$work/missing" 2>&1) &&
  fail "a missing --baseline was accepted"
grep -q "is not an executable" <<<"$out" || fail "no clear message for a missing --baseline: $out"
out=$("$bench/nested.sh" --baseline "$work/old" 2>&1) && fail "nested.sh accepted --baseline"
grep -q "unknown argument '--baseline'" <<<"$out" || fail "nested.sh's refusal does not name --baseline: $out"

# A stand-in whose boot takes 1.5 s on 1 hart and 0.05 s on 2 (its --cpus argument).
stand_in harts 'while (($#)); do [[ $1 == --cpus ]] && n=$2; shift; done
echo "cpus $n" >>"'"$work"'/order"
if [[ $n == 2 ]]; then sleep 0.05; else sleep 1.5; fi
echo TRAPEZE-TEST-OK'
: >"$work/order"
out=$("$bench/boot.sh" --engine jit --runs 2 --cpus 2 --baseline-cpus 1 --dir "$work/guest" --trapeze "$work/harts" 2>&1) ||
  fail "boot.sh --baseline-cpus failed: $out"
order=$(grep cpus "$work/order" | tr '\n' ' ')
[[ $order == "cpus 2 cpus 1 cpus 1 cpus 2 " ]] || fail "--baseline-cpus ran --cpus in the order $order"
grep -q "^builds: trapeze $work/harts (2 hart(s)), baseline $work/harts (1 hart(s))" <<<"$out" ||
  fail "the report does not name both hart counts: $out"
[[ $(tail -n 1 <<<"$out") == *"(faster in 2 of 2 pairs)" ]] || fail "2 harts lost: $(tail -n 1 <<<"$out")"
out=$("$bench/boot.sh" --runs 2 --baseline-cpus 0 --dir "$work/guest" --trapeze "$work/harts" 2>&1) &&
  fail "--baseline-cpus 0 was accepted"
grep -q "baseline-cpus must be a positive number" <<<"$out" || fail "no clear message for --baseline-cpus 0: $out"
out=$("$bench/nested.sh" --baseline-cpus 1 2>&1) && fail "nested.sh accepted --baseline-cpus"
grep -q "unknown argument '--baseline-cpus'" <<<"$out" || fail "nested.sh's refusal does not name --baseline-cpus: $out"
echo PASS
