#!/usr/bin/env bash
# Fetches Debian's x86-64 cloud kernel (linux-image-cloud-amd64, from the mirror the system's apt
# sources name) and extracts its ELF vmlinux, which trapeze boots through PVH; the bzImage is
# kept too (as bzImage), for the 64-bit boot protocol test.
#
# The package ships a bzImage; its compressed payload (Linux boot protocol 2.08+:
# payload_offset at 0x248 and payload_length at 0x24c, relative to the protected-mode code,
# which starts after (setup_sects + 1) * 512 bytes) is the vmlinux, decompressed here with the
# tool its magic names (Debian's is lz4; lz4 -d complains about the 4-byte size trailer the
# kernel build appends, which is harmless).
#
# Usage: tests/x86guest/fetch-debian-cloud-kernel.sh [DIR]
#   DIR defaults to ${XDG_CACHE_HOME:-$HOME/.cache}/trapeze/debian-cloud-amd64; prints the
#   path of the vmlinux.
set -euo pipefail

dir="${1:-${XDG_CACHE_HOME:-$HOME/.cache}/trapeze/debian-cloud-amd64}"
mkdir -p "$dir"
cd "$dir"
if [[ -s vmlinux && -s bzImage ]]; then echo "$dir/vmlinux"; exit 0; fi

find_pkg() { apt-cache depends linux-image-cloud-amd64 2>/dev/null | awk '/Depends: linux-image-/{print $2; exit}'; }
pkg=$(find_pkg)
if [[ -z "$pkg" ]]; then
  # A fresh machine may have empty package lists: read them once, then look again.
  sudo_cmd=(); ((EUID == 0)) || sudo_cmd=(sudo)
  "${sudo_cmd[@]}" apt-get update -qq >&2 || true
  pkg=$(find_pkg)
fi
[[ -n "$pkg" ]] || { echo "fetch-debian-cloud-kernel: no linux-image-cloud-amd64 in the apt sources" >&2; exit 1; }
rm -rf deb ./*.deb
apt-get download "$pkg" >&2
dpkg-deb -x ./*.deb deb
bz=$(ls deb/boot/vmlinuz-*)

u8() { od -An -tu1 -j "$2" -N1 "$1" | tr -d ' '; }
u32() { od -An -tu4 -j "$2" -N4 "$1" | tr -d ' '; }
setup_sects=$(u8 "$bz" $((0x1f1)))
((setup_sects == 0)) && setup_sects=4
start=$(((setup_sects + 1) * 512 + $(u32 "$bz" $((0x248)))))
length=$(u32 "$bz" $((0x24c)))
dd if="$bz" of=payload bs=64K iflag=skip_bytes,count_bytes skip="$start" count="$length" status=none
case $(od -An -tx1 -N4 payload | tr -d ' ') in
  02214c18) lz4 -dc payload > vmlinux.tmp 2>/dev/null || true ;;
  fd377a58) xz -dc payload > vmlinux.tmp 2>/dev/null || true ;;
  28b52ffd) zstd -dc payload > vmlinux.tmp 2>/dev/null || true ;;
  1f8b*) gzip -dc payload > vmlinux.tmp 2>/dev/null || true ;;
  *) echo "fetch-debian-cloud-kernel: unknown payload compression" >&2; exit 1 ;;
esac
[[ $(od -An -c -N4 vmlinux.tmp | tr -d ' ') == 177ELF ]] || { echo "fetch-debian-cloud-kernel: no ELF vmlinux in $bz" >&2; exit 1; }
mv vmlinux.tmp vmlinux
cp deb/boot/config-* kernel.config
cp "$bz" bzImage
echo "$pkg" > stamp
rm -rf deb payload ./*.deb
echo "$dir/vmlinux"
