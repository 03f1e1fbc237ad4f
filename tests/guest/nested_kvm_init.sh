#!/bin/busybox sh
# /nested_kvm_init inside Debian's kernel (rdinit=/nested_kvm_init, appended to test-initrd.img
# by tests/guest/nested_kvm_test.sh and bench/nested.sh): the guest loads Debian's kvm module
# (the hypervisor extension, trapeze run --hypervisor), mounts vda (tools/fetch-nested's tree of
# Debian's qemu-system-riscv64, with the nested kernel and initrd in /nested) and starts a nested
# guest with QEMU on its own KVM. The nested guest is the test initrd again: it prints its
# TRAPEZE-TEST lines and marker and powers off, which ends QEMU.
#
# Kernel command line: trapeze.nested-smp=N (the nested guest's harts, default 1).
/bin/busybox mount -t proc proc /proc
/bin/busybox --install -s
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev
for m in $(cat /lib/modules/load-order) $(cat /lib/modules/on-demand-order); do
  insmod "/lib/modules/$m.ko" || echo "NESTED-KVM: insmod $m failed"
done
up() { cut -d ' ' -f 1 /proc/uptime; }
[ -c /dev/kvm ] || { echo "NESTED-KVM: no /dev/kvm"; poweroff -f; }
smp=$(sed -n 's/.*trapeze\.nested-smp=\([0-9]*\).*/\1/p' /proc/cmdline)
mkdir -p /mnt
if mount -t ext4 -o ro /dev/vda /mnt && mount -t proc proc /mnt/proc && mount -t sysfs sysfs /mnt/sys &&
   mount -t devtmpfs devtmpfs /mnt/dev && mount -t tmpfs tmpfs /mnt/tmp; then
  echo "NESTED-KVM: starting $(up)"
  # -bios none: under KVM the SBI is KVM's own, there is no firmware to load.
  chroot /mnt /usr/bin/qemu-system-riscv64 -M virt -accel kvm -cpu host -smp "${smp:-1}" -m 256 \
    -bios none -display none -serial stdio -monitor none -nodefaults -no-user-config -no-reboot \
    -kernel /nested/Image -initrd /nested/test-initrd.img -append "console=ttyS0 panic=-1" </dev/null
  echo "NESTED-KVM: qemu-system-riscv64 exited $? $(up)"
else
  echo "NESTED-KVM: cannot mount the QEMU tree on vda"
fi
poweroff -f
