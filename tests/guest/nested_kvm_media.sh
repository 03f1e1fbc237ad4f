# Sourced by tests/guest/nested_kvm_test.sh and bench/nested.sh: what a nested guest boot needs.
#
# nested_kvm_media OUT GUEST_DIR REPO: fetches Debian's riscv64 QEMU (tools/fetch-nested, cached)
# and writes OUT/nested-disk.img, an ext4 image of its tree with the nested guest (GUEST_DIR's
# Image and test-initrd.img) in /nested, and OUT/nested-initrd.img, the test initrd with
# tests/guest/nested_kvm_init.sh appended as /nested_kvm_init. Returns non-zero with a message
# on stderr when something is missing.
nested_kvm_media() {
  local out=$1 guest=$2 repo=$3
  local cache=${XDG_CACHE_HOME:-$HOME/.cache}/trapeze/nested-kvm
  "$repo/tools/fetch-nested" --dir "$cache" || return 1
  mkdir -p "$out/root"
  cp "$repo/tests/guest/nested_kvm_init.sh" "$out/root/nested_kvm_init"
  (cd "$out/root" && echo nested_kvm_init | cpio -o -H newc -R 0:0 --quiet | gzip -9) >"$out/extra.cpio.gz" &&
    cat "$guest/test-initrd.img" "$out/extra.cpio.gz" >"$out/nested-initrd.img" || return 1
  # The tree (about 120 MiB) as is, then the nested guest's files written into the image with
  # debugfs rather than copied into the tree.
  local img=$out/nested-disk.img
  rm -f "$img"
  mke2fs -q -t ext4 -L nested -d "$cache/root" "$img" 256M >/dev/null || { echo "mke2fs failed" >&2; return 1; }
  debugfs -w -R "mkdir nested" "$img" >/dev/null 2>&1 &&
    debugfs -w -R "write $guest/Image nested/Image" "$img" >/dev/null 2>&1 &&
    debugfs -w -R "write $guest/test-initrd.img nested/test-initrd.img" "$img" >/dev/null 2>&1 ||
    { echo "debugfs could not write the nested guest into $img" >&2; return 1; }
  debugfs -R "stat nested/Image" "$img" 2>/dev/null | grep -q "Size: $(stat -c %s "$guest/Image")" ||
    { echo "the nested kernel in $img is not whole" >&2; return 1; }
}
