# Sourced by the bench --baseline tests: a scratch folder ($work, removed on exit), fail, a
# stand-in guest folder ($work/guest, whose files bench/lib.sh's require accepts), and
# stand_in NAME BODY, which writes the executable $work/NAME: it appends NAME to $work/order
# (so a test sees which build ran when), then runs the shell lines BODY.
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
fail() { echo "FAIL: $*" >&2; exit 1; }

mkdir "$work/guest"
for f in Image fw_jump.bin test-initrd.img; do echo x >"$work/guest/$f"; done

stand_in() {
  printf '#!/usr/bin/env bash\necho %s >>"%s/order"\n%s\n' "$1" "$work" "$2" >"$work/$1"
  chmod +x "$work/$1"
}
