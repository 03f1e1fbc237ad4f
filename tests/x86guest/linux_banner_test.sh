#!/usr/bin/env bash
# Boots Debian's x86-64 cloud kernel (the vmlinux through PVH, or the bzImage) until it has printed its banner and listed
# trapeze's ACPI tables on COM1, then stops the VM. (On this nested KVM Linux cannot finish
# booting: ring-0 code is emulated and cmpxchg16b is not; see issue 6.)
# Usage: linux_banner_test.sh X86_RUN [vmlinux|bzImage]; exits 77 (skip) without the kernel.
# The bzImage variant goes through the 64-bit boot protocol; its decompressor runs emulated
# here, so it takes about 4 minutes.
set -u
x86_run=$1
kind=${2:-vmlinux}
vmlinux=${XDG_CACHE_HOME:-${HOME:-/nonexistent}/.cache}/trapeze/debian-cloud-amd64/$kind
[[ $kind == vmlinux && -n ${TRAPEZE_X86_KERNEL:-} ]] && vmlinux=$TRAPEZE_X86_KERNEL
if [[ ! -s $vmlinux ]]; then
  echo "SKIP: no Debian cloud kernel at $vmlinux (run tests/x86guest/fetch-debian-cloud-kernel.sh)"
  exit 77
fi
exec "$x86_run" "$vmlinux" --mem 512 --cmdline "console=ttyS0 earlyprintk=ttyS0" \
  --expect "Linux version " --expect "Command line: console=ttyS0 earlyprintk=ttyS0" \
  --expect "ACPI: RSDP 0x00000000000E0000" --expect "ACPI: FACP 0x" --expect "ACPI: DSDT 0x" \
  --stop-on "ACPI: APIC 0x" --expect-exit stopped --timeout "${TRAPEZE_X86_TIMEOUT:-170}"
