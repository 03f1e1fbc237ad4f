#!/usr/bin/env bash
# bench/boot.sh --engine jit,interp --plot on stand-ins (no guest, no QEMU): each run boots the
# trapeze stand-in under each engine in turn and then the QEMU stand-in; the report gives each
# engine's median time and guest MIPS and its ratio to QEMU's median; --plot writes the chart and
# its data (the medians and ratios). Bad --engine lists and --plot arguments are refused before
# any boot, with a message that names what is wrong.
#
# usage: boot_engines_test.sh BENCH_DIR
set -uo pipefail
bench=$1
source "$(dirname "${BASH_SOURCE[0]}")/stand_in_lib.sh"

# trapeze: 0.1 s under jit (2000 MIPS), 0.8 s under interp (250 MIPS); QEMU 0.4 s. The margins
# are wide: the test runs beside the whole suite on two cores.
stand_in trapeze 'while (($#)); do [[ $1 == --engine ]] && e=$2; shift; done
echo "engine $e" >>"'"$work"'/order"
if [[ $e == jit ]]; then sleep 0.1; m=2000; else sleep 0.8; m=250; fi
echo TRAPEZE-TEST-OK
echo "trapeze: retired 1 instructions in 1 s ($m MIPS)" >&2'
mkdir "$work/bin"
stand_in qemu 'sleep 0.4
echo TRAPEZE-TEST-OK'
mv "$work/qemu" "$work/bin/qemu-system-riscv64"
export PATH="$work/bin:$PATH"

out=$("$bench/boot.sh" --engine jit,interp --runs 3 --dir "$work/guest" --trapeze "$work/trapeze" \
  --plot "$work/boot.svg" 2>&1) || fail "boot.sh --engine jit,interp failed: $out"
order=$(sed 's/^qemu-system-riscv64$/qemu/' "$work/order" | tr '\n' ' ')
[[ $order == "trapeze engine jit trapeze engine interp qemu "* ]] || fail "a run booted in the order $order"
[[ $(grep -c '^qemu' "$work/order") == 3 ]] || fail "QEMU did not boot once per run: $order"
grep -q "^trapeze (jit): median 2000 guest MIPS$" <<<"$out" || fail "no jit MIPS median: $out"
grep -q "^trapeze (interp): median 250 guest MIPS$" <<<"$out" || fail "no interp MIPS median: $out"
jit=$(sed -n 's/^ratio trapeze\/qemu: //p' <<<"$out")
interp=$(sed -n 's/^ratio trapeze\/qemu (interp): //p' <<<"$out")
awk -v j="$jit" -v i="$interp" 'BEGIN { exit !(j > 0 && j < 1 && i > 1 && i < 10) }' ||
  fail "ratios jit '$jit' (0.1 s against 0.4 s) and interp '$interp' (0.8 s against 0.4 s): $out"
[[ -s $work/boot.svg ]] || fail "no chart written: $out"
grep -q "<svg" "$work/boot.svg" || fail "the chart is not an SVG"
grep -q '^"trapeze jit" [0-9.]* '"$jit"'$' "$work/boot.dat" || fail "the data lacks jit's median and ratio: $(cat "$work/boot.dat")"
grep -q '^"trapeze interp" [0-9.]* '"$interp"'$' "$work/boot.dat" || fail "the data lacks interp's: $(cat "$work/boot.dat")"
grep -q '^"QEMU TCG" [0-9.]* 1.00$' "$work/boot.dat" || fail "the data lacks QEMU's: $(cat "$work/boot.dat")"

# One engine: the report as it always was (no engine named in the ratio line).
out=$("$bench/boot.sh" --engine jit --runs 1 --dir "$work/guest" --trapeze "$work/trapeze" 2>&1) ||
  fail "boot.sh --engine jit failed: $out"
grep -q "^ratio trapeze/qemu: " <<<"$out" || fail "no ratio line for one engine: $out"
grep -q "(interp)" <<<"$out" && fail "an engine that was not asked for was reported: $out"

# Refused before any boot.
refused() {
  local want=$1; shift
  : >"$work/order"
  out=$("$bench/boot.sh" --runs 1 --dir "$work/guest" --trapeze "$work/trapeze" "$@" 2>&1) && fail "accepted: $*"
  grep -qF -- "$want" <<<"$out" || fail "'$*' refused without saying '$want': $out"
  [[ ! -s $work/order ]] || fail "'$*' booted before refusing"
}
refused "unknown engine 'kvm'" --engine jit,kvm
refused "unknown engine ''" --engine jit,,interp
refused "names jit twice" --engine jit,jit
refused "compares two builds on one engine" --engine jit,interp --baseline "$work/trapeze"
refused "--plot charts trapeze against QEMU" --engine jit --baseline "$work/trapeze" --plot "$work/x.svg"
refused "FILE.svg or FILE.png" --engine jit --plot "$work/x.pdf"
refused "no folder" --engine jit --plot "$work/nowhere/x.svg"
refused "may not hold one" --engine jit --plot "$work/it's.svg"
out=$("$bench/nested.sh" --plot "$work/x.svg" 2>&1) && fail "nested.sh accepted --plot"
grep -q "unknown argument '--plot'" <<<"$out" || fail "nested.sh's refusal does not name --plot: $out"
echo PASS
