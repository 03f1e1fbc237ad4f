#!/usr/bin/env bash
# Packs bench/smp.sh's scaling benchmark into a folder that runs on another x86-64 Linux host
# with nothing installed there: no compilers, no QEMU, no Debian packages, no network (a
# many-core machine borrowed for a measurement, say). The folder holds trapeze and
# qemu-system-riscv64 with every shared library they load, and the dynamic loader, which
# starts them (so the other host's own libraries play no part); the guest (kernel, firmware,
# and the initramfs with the benchmark's programs, from smp.sh --prepare); the host build of
# cpubench; and the scripts. On the other host:
#
#     DIR/smp [smp.sh's options: --harts 2,4,8,16 --runs 3 ...]
#
# --perf packs this host's perf too (with its libraries: about 35 MB more), so that
# `DIR/smp --profile OUT ...` can profile trapeze's runs there (smp.sh --profile); read OUT
# back here with tools/jit-profile (the bundle's trapeze is stripped: `perf buildid-cache -u
# build/trapeze` here, before, lets perf name its functions).
#
# usage: bench/bundle.sh DIR [--trapeze PATH] [--dir GUEST_DIR] [--perf]
#   DIR must not exist yet; `tar -cJf smp.tar.xz -C DIR .` makes one file of it (~25 MB).
set -uo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
trapeze=$root/build/trapeze
dir=${TRAPEZE_GUEST_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/trapeze/debian-riscv64}
die() { echo "bundle.sh: $*" >&2; exit 1; }
(($#)) || die "usage: bench/bundle.sh DIR [--trapeze PATH] [--dir GUEST_DIR] [--perf]"
out=$1
shift
perf=
while (($#)); do
  [[ $1 == --perf ]] && { perf=$(command -v perf) || die "--perf: this host has no perf (linux-perf)"; shift; continue; }
  (($# >= 2)) || die "$1 needs an argument"
  case $1 in
    --trapeze) trapeze=$2 ;;
    --dir) dir=$2 ;;
    *) die "unknown argument '$1'" ;;
  esac
  shift 2
done
[[ ! -e $out ]] || die "$out exists: name a folder that does not"
[[ -x $trapeze ]] || die "$trapeze is not built (make build)"
qemu=$(command -v qemu-system-riscv64) || die "qemu-system-riscv64 is missing (tools/install-deps)"
for f in Image fw_jump.bin test-initrd.img; do
  [[ -s $dir/$f ]] || die "$dir/$f is missing (tools/fetch-guest)"
done

mkdir -p "$out"/{libexec,lib,guest,pre,bench} || die "cannot make $out"
out=$(cd "$out" && pwd)
# On failure, leave nothing half-made under the name asked for.
trap '[[ -f $out/smp ]] || rm -rf "$out"' EXIT

strip -o "$out/libexec/trapeze" "$trapeze" || die "cannot copy $trapeze"
cp "$qemu" "$out/libexec/" || die "cannot copy $qemu"
[[ -z $perf ]] || cp "$perf" "$out/libexec/perf" || die "cannot copy $perf"
# Every library they load, found as this host's loader finds them, and the loader itself.
mapfile -t libs < <(ldd "$out"/libexec/* |
  awk '$2 == "=>" && $3 ~ /^\// { print $3 } $1 ~ /^\/.*ld-linux/ { print $1 }' | sort -u)
[[ " ${libs[*]} " == *ld-linux* ]] || die "ldd named no dynamic loader"
cp -L -t "$out/lib/" "${libs[@]}" || die "cannot copy the libraries"
cp "$dir/Image" "$dir/fw_jump.bin" "$out/guest/" || die "cannot copy the guest"
"$root/bench/smp.sh" --prepare "$out/pre" --dir "$dir" >/dev/null || die "smp.sh --prepare failed"
cp "$root/bench/smp.sh" "$root/bench/lib.sh" "$out/bench/" || die "cannot copy the scripts"

# The entry point: writes the wrappers that start each program through the bundled loader
# with the bundled libraries (absolute paths: smp.sh runs a copy of trapeze's), then smp.sh.
cat >"$out/smp" <<'EOF'
#!/usr/bin/env bash
set -uo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
wrap=$(mktemp -d)
trap 'rm -rf "$wrap"' EXIT
loader=$(ls "$here"/lib/ld-linux*.so*)
for exe in "$here"/libexec/*; do
  exe=${exe##*/}
  printf '#!/bin/sh\nexec "%s" --library-path "%s" "%s" "$@"\n' "$loader" "$here/lib" "$here/libexec/$exe" >"$wrap/$exe"
  chmod +x "$wrap/$exe"
done
perf=()  # bundled with --perf: what smp.sh --profile runs
[[ ! -x $wrap/perf ]] || perf=(--perf "$wrap/perf")
"$here/bench/smp.sh" --trapeze "$wrap/trapeze" --qemu "$wrap/qemu-system-riscv64" --prebuilt "$here/pre" \
  --dir "$here/guest" "${perf[@]}" "$@"
EOF
chmod +x "$out/smp"
echo "bundle.sh: $out ($(du -sh "$out" | cut -f 1)); run $out/smp [--harts N,...] on the other host"
