#!/bin/sh
# Runs the ISA test programs on QEMU (the reference implementation) and reports each one as
# PASS, FAIL (case n) or TIMEOUT. A checking aid for the test programs themselves, not a
# ctest test.
#
#   tests/isa/run-on-qemu.sh
#       builds the programs twice with the QEMU 7.2 expectations (test_macros.h) and runs
#       them on the spike machine (HTIF) and on the virt machine (SiFive test device, which
#       adds the time CSR and Sstc): build-isa-qemu-spike/, build-isa-qemu-virt/
#   tests/isa/run-on-qemu.sh [-M spike|virt] dir-or-elf...
#       runs already built ELFs on one machine (e.g. trapeze's own build, to see where the
#       default expectations and QEMU part ways)
#
# Environment: QEMU (default qemu-system-riscv64), QEMU_ARGS (extra options, e.g.
# "-cpu rv64,sstc=false"), TIMEOUT (seconds per program, default 30).
#
# The hypervisor extension's programs (hyp_*.elf) need a hart with H: they get
# "-cpu rv64,h=true" unless QEMU_ARGS names a -cpu of its own (which must then have h=true).
set -u

here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/../.." && pwd)
qemu=${QEMU:-qemu-system-riscv64}
limit=${TIMEOUT:-30}
failed=0
total=0

# run_elfs machine elf...
run_elfs() {
    machine=$1
    shift
    for elf in "$@"; do
        total=$((total + 1))
        cpu=
        case "$(basename "$elf")" in
            hyp_*)
                case " ${QEMU_ARGS:-} " in
                    *" -cpu "*) ;;
                    *) cpu="-cpu rv64,h=true" ;;
                esac ;;
        esac
        # shellcheck disable=SC2086  # QEMU_ARGS and cpu are lists of options
        timeout "$limit" "$qemu" -M "$machine" -bios none -nographic -monitor none \
            $cpu ${QEMU_ARGS:-} -kernel "$elf" </dev/null >/dev/null 2>&1
        rc=$?
        name="$machine/$(basename "$elf" .elf)"
        case $rc in
            0) echo "PASS     $name" ;;
            124) echo "TIMEOUT  $name"; failed=$((failed + 1)) ;;
            *) echo "FAIL     $name (case $rc)"; failed=$((failed + 1)) ;;
        esac
    done
}

# build machine defines: configures and builds tests/isa on its own into build-isa-qemu-<machine>.
build() {
    dir="$repo/build-isa-qemu-$1"
    cmake -S "$here" -B "$dir" -DTRAPEZE_ISA_DEFINES="$2" >/dev/null &&
        cmake --build "$dir" >/dev/null || exit 1
}

if [ $# -eq 0 ]; then
    build spike "-DTRAPEZE_ISA_QEMU_QUIRKS"
    build virt "-DTRAPEZE_ISA_QEMU_QUIRKS -DTRAPEZE_ISA_QEMU_VIRT"
    run_elfs spike "$repo"/build-isa-qemu-spike/*.elf
    run_elfs virt "$repo"/build-isa-qemu-virt/*.elf
else
    machine=spike
    if [ "$1" = "-M" ]; then
        machine=$2
        shift 2
    fi
    for arg in "$@"; do
        if [ -d "$arg" ]; then
            run_elfs "$machine" "$arg"/*.elf
        else
            run_elfs "$machine" "$arg"
        fi
    done
fi
echo "$((total - failed))/$total passed"
[ "$failed" -eq 0 ]
