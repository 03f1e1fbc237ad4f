#!/usr/bin/env bash
# Boots Debian again and again on 2, 4 and 8 harts, each hart on a host thread of its own (more
# harts than this host has cores, on purpose), under each engine, and fails at the first boot
# that hangs, or whose kernel reports a stall, a lockup, an oops or a BUG (boot_test.sh checks
# each). Issue 21's "many times in a row"; not part of `make test` (minutes): `make test-smp-soak`.
#
# usage: smp_soak.sh TRAPEZE [ROUNDS] [ENGINES...]   (default: 3 rounds, jit and interp)
set -uo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
(($# >= 1)) || { echo "usage: smp_soak.sh TRAPEZE [ROUNDS] [ENGINES...]" >&2; exit 2; }
trapeze=$1 rounds=${2:-3}
shift $(($# >= 2 ? 2 : 1))
engines=("$@")
((${#engines[@]})) || engines=(jit interp)

boots=0
for ((round = 1; round <= rounds; round++)); do
  for engine in "${engines[@]}"; do
    for cpus in 2 4 8; do
      out=$("$here/boot_test.sh" "$trapeze" "$engine" "$cpus" parallel 2>&1)
      status=$?
      took=$(grep -E '^boot took' <<<"$out")
      if ((status != 0)); then
        echo "$out"
        echo "FAIL: round $round, $engine on $cpus harts (after $boots good boots)"
        exit 1
      fi
      boots=$((boots + 1))
      echo "round $round: $took"
    done
  done
done
echo "PASS: $boots boots without a hang, stall, lockup, oops or BUG"
