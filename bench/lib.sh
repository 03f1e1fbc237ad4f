# Sourced by the bench/*.sh scripts: what they all need. The caller defines die.

# The median of the numbers on standard input, one per line (the mean of the middle two for an
# even count).
median() { sort -g | awk '{ v[NR] = $1 } END { print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }

# require TRAPEZE [GUEST_DIR] [qemu]: trapeze is built; with GUEST_DIR, the guest tools/fetch-guest
# makes is there; with "qemu", the comparison is installed.
require() {
  [[ -x $1 ]] || die "$1 is not built (make build)"
  local f
  if [[ -n ${2:-} ]]; then
    for f in Image fw_jump.bin test-initrd.img; do
      [[ -s $2/$f ]] || die "$2/$f is missing (tools/fetch-guest)"
    done
  fi
  if [[ ${3:-} == qemu ]]; then
    command -v qemu-system-riscv64 >/dev/null || die "qemu-system-riscv64 is missing (tools/install-deps)"
  fi
  return 0
}
