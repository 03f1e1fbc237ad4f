#!/bin/busybox sh
# /api_init inside Debian's kernel (rdinit=/api_init, appended to test-initrd.img by
# tests/api/api_test.py): reports what the API configured — harts, memory, the disks' first
# bytes, the entropy device — then prints the guest's clock every 0.2 s until the console
# sends "quit", and powers off.
/bin/busybox mount -t proc proc /proc
/bin/busybox --install -s
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev
for m in $(cat /lib/modules/load-order); do insmod "/lib/modules/$m.ko" 2>/dev/null; done
i=0
while [ ! -b /dev/vda ] && [ $i -lt 50 ]; do sleep 0.1; i=$((i + 1)); done
echo "API-GUEST: harts=$(grep -c '^processor' /proc/cpuinfo)"
echo "API-GUEST: mem_kib=$(sed -n 's/^MemTotal: *\([0-9]*\) kB/\1/p' /proc/meminfo)"
for d in vda vdb; do
  [ -b /dev/$d ] && echo "API-GUEST: $d=$(head -c 16 /dev/$d)"
done
[ -c /dev/hwrng ] && echo "API-GUEST: hwrng=$(head -c 32 /dev/hwrng | wc -c)"
echo "API-GUEST: cmdline=$(cat /proc/cmdline)"
echo "API-GUEST-UP"
(while :; do echo "API-CLOCK: $(cut -d ' ' -f 1 /proc/uptime)"; sleep 0.2; done) &
while read -r line; do
  [ "$line" = quit ] && break
done
echo "API-GUEST-BYE"
poweroff -f
