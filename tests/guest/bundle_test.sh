#!/usr/bin/env bash
# bench/bundle.sh packs bench/smp.sh's benchmark for a host with nothing installed: the bundle
# runs the benchmark (1 and 2 harts, trapeze and QEMU, every checksum checked by smp.sh) with a
# PATH of basic tools only, so no compiler and no QEMU of this host's; each packed program's
# libraries resolve inside the bundle alone (as its loader sees them); and a folder that exists,
# or a guest that is missing, is refused, and a bundle that fails half-way leaves nothing behind.
# Where this host has perf and lets it record, a bundle made with --perf profiles the same run
# (smp.sh --profile): each trapeze run's perf data and JIT map come back, and tools/jit-profile
# finds samples of translated code in the 2-hart run's.
#
# usage: bundle_test.sh TRAPEZE BENCH_DIR
# Exits 77 (skipped) when riscv64-linux-gnu-gcc or qemu-system-riscv64 is missing.
set -uo pipefail
trapeze=$1 bench=$2
fail() { echo "FAIL: $*" >&2; exit 1; }
for tool in riscv64-linux-gnu-gcc qemu-system-riscv64; do
  command -v "$tool" >/dev/null || { echo "SKIP: $tool is missing (tools/install-deps)"; exit 77; }
done
dir=${TRAPEZE_GUEST_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/trapeze/debian-riscv64}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

out=$("$bench/bundle.sh" "$work/b" --trapeze "$trapeze" --dir "$dir" 2>&1) || fail "bundle.sh failed: $out"

# As the bundled loader resolves them, every library of each program is one of the bundle's.
loader=$(ls "$work"/b/lib/ld-linux*.so*) || fail "no loader in the bundle"
for exe in trapeze qemu-system-riscv64; do
  libs=$("$loader" --library-path "$work/b/lib" --list "$work/b/libexec/$exe") || fail "the loader cannot list $exe"
  outside=$(awk '$2 == "=>" && index($3, "/") == 1 && index($3, dir "/lib/") != 1 { print $3 }' \
    dir="$work/b" <<<"$libs")
  [[ -z $outside ]] || fail "$exe loads libraries from outside the bundle: $outside"
  grep -q "=> $work/b/lib/libc.so" <<<"$libs" || fail "$exe does not load the bundle's libc: $libs"
done

# A PATH of basic tools only: no compilers, no cpio, no QEMU.
mkdir "$work/path"
for t in bash sh env awk sed grep sort date cat cp rm mkdir mktemp tr tail head timeout nproc getconf cut \
  uniq sleep ls dirname chmod mv; do
  ln -s "$(command -v "$t")" "$work/path/$t" || fail "no $t on this host"
done
for t in gcc riscv64-linux-gnu-gcc cpio qemu-system-riscv64; do
  [[ ! -e $work/path/$t ]] || fail "$t is in the minimal PATH"
done
out=$(env -i HOME="$HOME" PATH="$work/path" "$work/b/smp" --harts 2 --runs 1 --reps 1 2>&1) ||
  fail "the bundle's benchmark failed: $out"
grep -Eq '^2 harts: scaling trapeze [0-9.]+ \(goal >= 1\.8\), qemu [0-9.]+, host.s native [0-9.]+; throughput trapeze/qemu [0-9.]+' <<<"$out" ||
  fail "no 2-hart summary from the bundle: $out"

# Profiled, with the bundle's own perf (this host's, packed with its libraries).
if command -v perf >/dev/null && perf record -q -N -e cpu-clock -o "$work/probe.data" -- true 2>/dev/null; then
  out=$("$bench/bundle.sh" "$work/p" --trapeze "$trapeze" --dir "$dir" --perf 2>&1) || fail "bundle.sh --perf failed: $out"
  [[ -x $work/p/libexec/perf ]] || fail "bundle.sh --perf packed no perf"
  out=$(env -i HOME="$HOME" PATH="$work/path" "$work/p/smp" --harts 2 --runs 1 --reps 1 --profile "$work/prof" 2>&1) ||
    fail "the profiled benchmark failed: $out"
  for n in 1 2; do
    line=$(grep "^trapeze-${n}harts-run1.data: tools/jit-profile " "$work/prof/index") ||
      fail "no profile of the $n-hart run: $(cat "$work/prof/index" 2>&1)"
    map=${line##* }
    [[ -s $work/prof/trapeze-${n}harts-run1.data && -s $map && -s ${map%.map}.code ]] ||
      fail "the $n-hart run's data, map or code is missing or empty: $line"
  done
  out=$("$bench/../tools/jit-profile" "$work/prof/trapeze-2harts-run1.data" "$map" --top 3 2>&1) ||
    fail "jit-profile could not read the 2-hart profile: $out"
  grep -Eq '^[0-9]+ samples, [1-9][0-9]* \([0-9.]+%\) in translated code' <<<"$out" ||
    fail "no samples of translated code in the 2-hart profile: $out"
  grep -q 'guest_8' <<<"$out" || fail "jit-profile named no guest block: $out"
  # --thread: one hart's samples, a part of the whole (perf script --comms on a real recording).
  all=$(sed -n 's/^\([0-9]*\) samples,.*/\1/p' <<<"$out")
  out=$("$bench/../tools/jit-profile" "$work/prof/trapeze-2harts-run1.data" "$map" --thread trapeze-hart1 --top 3 2>&1) ||
    fail "jit-profile --thread trapeze-hart1 failed: $out"
  one=$(sed -n 's/^\([0-9]*\) samples,.*/\1/p' <<<"$out")
  [[ -n $all && -n $one ]] && ((one > 0 && one < all)) ||
    fail "--thread trapeze-hart1 kept ${one:-no} of ${all:-no} samples: $out"
else
  echo "note: perf cannot record here; the profiled bundle is not checked"
fi

out=$("$bench/bundle.sh" "$work/b" --trapeze "$trapeze" --dir "$dir" 2>&1) && fail "an existing folder was accepted"
grep -q "exists" <<<"$out" || fail "no clear message for an existing folder: $out"
out=$("$bench/bundle.sh" "$work/c" --trapeze "$trapeze" --dir "$work/nowhere" 2>&1) && fail "a missing guest was accepted"
grep -q "tools/fetch-guest" <<<"$out" || fail "no clear message for a missing guest: $out"
[[ ! -e $work/c ]] || fail "a refused bundle left $work/c behind"
# A failure half-way (a trapeze that is no executable file strip can read).
printf '#!/bin/sh\n' >"$work/not-elf" && chmod +x "$work/not-elf"
out=$("$bench/bundle.sh" "$work/c" --trapeze "$work/not-elf" --dir "$dir" 2>&1) && fail "a trapeze strip cannot read was accepted"
grep -q "cannot copy $work/not-elf" <<<"$out" || fail "no clear message for a trapeze strip cannot read: $out"
[[ ! -e $work/c ]] || fail "a failed bundle left $work/c behind"
echo PASS
