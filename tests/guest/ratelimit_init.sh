#!/bin/busybox sh
# /ratelimit_init inside Debian's kernel (rdinit=/ratelimit_init, appended to test-initrd.img by
# tests/guest/ratelimit_test.sh and bench/ratelimit.sh): reads disks with O_DIRECT, each timed by
# the guest's own clock, and prints one line per disk, then powers off.
#
# Kernel command line: trapeze.rl_vda=BS_KIB,COUNT (and rl_vdb, rl_vdc, rl_vdd): read COUNT blocks
# of BS_KIB KiB from the start of that disk, one disk after the other. Prints
#   RATELIMIT: vda bytes=B requests=N seconds=S
# where S is the time from before the first read to after the last, by /proc/uptime (10 ms steps).
/bin/busybox mount -t proc proc /proc
/bin/busybox --install -s
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev
for m in $(cat /lib/modules/load-order); do insmod "/lib/modules/$m.ko" 2>/dev/null; done
for disk in vda vdb vdc vdd; do
  spec=$(sed -n "s/.*trapeze\.rl_$disk=\([0-9]*,[0-9]*\).*/\1/p" /proc/cmdline)
  [ -n "$spec" ] || continue
  bs=${spec%,*} count=${spec#*,}
  i=0
  while [ ! -b /dev/$disk ] && [ $i -lt 100 ]; do sleep 0.1; i=$((i + 1)); done
  t0=$(cut -d ' ' -f 1 /proc/uptime)
  if dd if=/dev/$disk of=/dev/null bs=${bs}k count=$count iflag=direct 2>/dev/null; then
    t1=$(cut -d ' ' -f 1 /proc/uptime)
    echo "RATELIMIT: $disk bytes=$((bs * 1024 * count)) requests=$count seconds=$(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.2f", b - a }')"
  else
    echo "RATELIMIT: $disk read failed"
  fi
done
echo "TRAPEZE-TEST-OK"
poweroff -f
