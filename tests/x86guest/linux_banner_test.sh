#!/usr/bin/env bash
# Boots Debian's x86-64 cloud kernel through PVH until it has printed its banner and listed
# trapeze's ACPI tables on COM1, then stops the VM. (On this nested KVM Linux cannot finish
# booting: ring-0 code is emulated and cmpxchg16b is not; see issue 6.)
# Usage: linux_banner_test.sh X86_RUN [VMLINUX]; exits 77 (skip) without the kernel.
set -u
x86_run=$1
vmlinux=${2:-${TRAPEZE_X86_KERNEL:-${XDG_CACHE_HOME:-$HOME/.cache}/trapeze/debian-cloud-amd64/vmlinux}}
if [[ ! -s $vmlinux ]]; then
  echo "SKIP: no Debian cloud vmlinux at $vmlinux (run tests/x86guest/fetch-debian-cloud-kernel.sh)"
  exit 77
fi
exec "$x86_run" "$vmlinux" --mem 512 --cmdline "console=ttyS0 earlyprintk=ttyS0" \
  --expect "Linux version " --expect "Command line: console=ttyS0 earlyprintk=ttyS0" \
  --expect "ACPI: RSDP 0x00000000000E0000" --expect "ACPI: FACP 0x" --expect "ACPI: DSDT 0x" \
  --stop-on "ACPI: APIC 0x" --expect-exit stopped --timeout 170
