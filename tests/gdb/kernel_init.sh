#!/bin/busybox sh
# /gdb_init inside Debian's kernel (rdinit=/gdb_init, appended to test-initrd.img by
# tests/gdb/kernel_test.py): prints the address of a kernel function that every open() runs
# (from /proc/kallsyms: the kernel package's System.map is a stub), then opens a file every
# 0.1 s of guest time, so a breakpoint there is hit at once, 200 times, and powers off.
/bin/busybox mount -t proc proc /proc
/bin/busybox --install -s
echo "KSYM $(grep -m1 ' [Tt] do_sys_openat2$' /proc/kallsyms | cut -d ' ' -f 1)"
i=0
while [ $i -lt 200 ]; do
  cat /proc/version >/dev/null
  sleep 0.1
  i=$((i + 1))
done
echo "KERNEL-GDB-DONE"
poweroff -f
