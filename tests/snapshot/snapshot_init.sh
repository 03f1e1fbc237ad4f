#!/bin/busybox sh
# /snapshot_init inside Debian's kernel (rdinit=/snapshot_init, appended to test-initrd.img by
# tests/snapshot/snapshot_test.py): leaves state for a snapshot to carry and checks it after.
#
# Before the snapshot: a file of random bytes in tmpfs (its checksum printed), an IP address by
# DHCP, then a counter printed every 0.1 s ("COUNT n"), which a resumed VM must continue, not
# restart. A line "check" on the console (typed once the VM is resumed) makes the counter loop
# print the tmpfs file's checksum again, read the disk vda (its checksum), fetch a file from the
# host through slirp (trapeze.http=PORT on the command line) and write to the disk; then power off.
/bin/busybox mount -t proc proc /proc
/bin/busybox --install -s
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev
mount -t tmpfs tmpfs /tmp
for m in $(cat /lib/modules/load-order); do insmod "/lib/modules/$m.ko" 2>/dev/null; done
head -c 1048576 /dev/urandom >/tmp/before
echo "TMPFS-BEFORE $(md5sum </tmp/before | cut -d ' ' -f 1)"
ip link set lo up
ip link set eth0 up 2>/dev/null &&
  udhcpc -q -n -i eth0 -t 20 -T 1 -s /usr/share/udhcpc/default.script >/dev/null 2>&1 &&
  echo "NET-UP $(ip -4 addr show eth0 | sed -n "s/.*inet \([0-9.\/]*\).*/\1/p")"
# The console is read by a blocking reader of its own: `read -t` in the counter loop can time
# out between the bytes of a line when the host is busy and lose its first characters.
# (A background job's standard input is /dev/null unless redirected: hence fd 3.)
exec 3<&0
(while read -r line; do [ "$line" = "check" ] && : >/tmp/check; done) <&3 &
i=0
while :; do
  i=$((i + 1))
  echo "COUNT $i"
  sleep 0.1
  if [ -e /tmp/check ]; then
    echo "TMPFS-AFTER $(md5sum </tmp/before | cut -d ' ' -f 1)"
    echo "DISK $(dd if=/dev/vda bs=64k count=16 2>/dev/null | md5sum | cut -d ' ' -f 1)"
    port=$(sed -n 's/.*trapeze\.http=\([0-9]*\).*/\1/p' /proc/cmdline)
    echo "HTTP $(wget -q -T 20 -O - "http://10.0.2.2:$port/token.txt" 2>&1)"
    echo "after-restore" | dd of=/dev/vda bs=512 seek=2048 conv=fsync 2>/dev/null && echo "DISK-WRITE-OK"
    echo "TRAPEZE-TEST-OK"
    poweroff -f
  fi
done
