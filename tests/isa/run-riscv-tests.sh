#!/usr/bin/env bash
# Builds and runs the official riscv-tests (riscv-software-src/riscv-tests, with its env
# submodule checked out) under trapeze's two engines, and under QEMU for comparison: a checking
# aid like run-on-qemu.sh, not a ctest test (the suite is not a Debian package, so a checkout is
# needed). Each program is built for the "p" environment (physical memory, M-mode first) as the
# suite's own Makefile would, and reports through HTIF tohost: exit status 0 passes.
#
# usage: tests/isa/run-riscv-tests.sh RISCV_TESTS_DIR [SUITE...]
#   SUITE: directories under isa/ (default: hypervisor hypervisor-svadu, issue 28's programs);
#   e.g. rv64ui rv64um rv64ua rv64uf rv64ud rv64uc rv64mi rv64si rv64uzba rv64uzbb rv64uzbs
#   rv64mzicbo
# Environment: TRAPEZE (default build/trapeze), QEMU (default qemu-system-riscv64; empty: skip),
# OUT (where the programs are built, default a temporary directory), TIMEOUT (seconds, 30).
set -uo pipefail

here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/../.." && pwd)
(($# >= 1)) || { sed -n 's/^# usage: /usage: /p' "$0" >&2; exit 2; }
src=$(cd "$1" && pwd) || exit 2
shift
suites=("$@")
((${#suites[@]})) || suites=(hypervisor hypervisor-svadu)
trapeze=${TRAPEZE:-$repo/build/trapeze}
qemu=${QEMU-qemu-system-riscv64}
limit=${TIMEOUT:-30}
gcc=riscv64-unknown-elf-gcc
[[ -d $src/isa && -f $src/env/p/riscv_test.h ]] ||
  { echo "$src is not a riscv-tests checkout with its env submodule" >&2; exit 2; }
[[ -x $trapeze ]] || { echo "$trapeze is not built (make build)" >&2; exit 2; }
command -v "$gcc" >/dev/null || { echo "$gcc is missing (tools/install-deps)" >&2; exit 2; }
out=${OUT:-$(mktemp -d)}
mkdir -p "$out"

# GCC 12 takes neither h nor the bit-manipulation extensions in -march; the assembler does. No c: the suite's programs are built without
# compressed instructions (their trap handlers assume 4-byte alignment).
cflags=(-march=rv64g -mabi=lp64d -Wa,-march=rv64g_zicsr_zifencei_zba_zbb_zbs_zicbom_zicboz_h -static -mcmodel=medany -fvisibility=hidden
        -nostdlib -nostartfiles -I"$src/env/p" -I"$src/isa/macros/scalar" -T"$src/env/p/link.ld")

# run NAME CMD...: prints pass, FAIL (case n) or TIMEOUT for one run.
run() {
  timeout "$limit" "$@" </dev/null >/dev/null 2>&1
  case $? in
    0) echo pass ;;
    124) echo TIMEOUT ;;
    *) echo "FAIL($?)" ;;
  esac
}

failed=0 total=0
printf '%-58s %-10s %-10s %s\n' program interp jit "${qemu:-}"
for suite in "${suites[@]}"; do
  [[ -d $src/isa/$suite ]] || { echo "no suite isa/$suite in $src" >&2; failed=$((failed + 1)); continue; }
  for s in "$src/isa/$suite"/*.S; do
    name=$suite-p-$(basename "$s" .S)
    elf=$out/$name
    if ! "$gcc" "${cflags[@]}" "$s" -o "$elf" 2>"$out/$name.build.log"; then
      printf '%-58s %s\n' "$name" "does not build (see $out/$name.build.log)"
      failed=$((failed + 1)); continue
    fi
    total=$((total + 1))
    i=$(run "$trapeze" run --bios none --kernel "$elf" --engine interp --no-stats)
    j=$(run "$trapeze" run --bios none --kernel "$elf" --engine jit --no-stats)
    q=
    [[ -n $qemu ]] && q=$(run "$qemu" -M spike -cpu rv64,h=true -bios none -nographic -monitor none -kernel "$elf")
    printf '%-58s %-10s %-10s %s\n' "$name" "$i" "$j" "$q"
    [[ $i == pass && $j == pass ]] || failed=$((failed + 1))
  done
done
echo "trapeze: $((total - failed)) of $total programs pass under both engines"
((failed == 0))
