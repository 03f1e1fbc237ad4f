#!/usr/bin/env bash
# tools/jit-profile --kallsyms names the guest kernel's translations. One boot under the
# translator prints the guest's /proc/kallsyms (test-initrd.img with trapeze.kallsyms) while
# trapeze writes its perf map (TRAPEZE_PERF_MAP=1, no perf needed). The kernel's translations,
# placed by the guest-physical address in their names, must resolve to kernel functions, and a
# good share of them must start exactly at a function's entry (functions called often enough to
# be translated): with the kernel placed even 2 bytes off, almost none do (about 10% against
# under 1% on Debian's 6.12 kernel).
#
# usage: jit_profile_names_test.sh TRAPEZE JIT_PROFILE
set -uo pipefail
jit_profile=${2:-}
set -- "$1" jit
source "$(dirname "${BASH_SOURCE[0]}")/guest_env.sh"
[[ -x $jit_profile ]] || fail "usage: jit_profile_names_test.sh TRAPEZE JIT_PROFILE"

# The map and code files are named by trapeze's pid: it runs directly (no timeout wrapper) in the
# background, with a watchdog of its own.
TRAPEZE_PERF_MAP=1 "$trapeze" run --engine jit --kernel "$dir/Image" --bios "$dir/fw_jump.bin" \
  --initrd "$dir/test-initrd.img" --memory 512 --append "console=ttyS0 panic=-1 trapeze.kallsyms" \
  </dev/null >"$work/console.raw" 2>"$work/stderr" &
pid=$!
(sleep "$timeout_s" && kill "$pid") </dev/null >/dev/null 2>&1 &
watchdog=$!
wait "$pid"
status=$?
pkill -P "$watchdog" sleep
map=/tmp/perf-$pid.map
trap 'rm -rf "$work" "$map" "/tmp/perf-$pid.code"' EXIT
clean_console
((status == 0)) || { show; fail "trapeze exited with status $status"; }
grep -q TRAPEZE-KALLSYMS-END "$work/console" || { show; fail "the guest did not print its kallsyms"; }
[[ -s $map ]] || fail "no perf map $map"

PYTHONPATH="$(dirname "${BASH_SOURCE[0]}")/../tools" python3 - "$jit_profile" "$map" "$work/console" <<'EOF' || exit 1
import sys

from source_module import load

tool, map_path, kallsyms = sys.argv[1:]
jp = load(tool, "jit_profile")

rows = jp.load_map(map_path)
names = jp.KernelNames(kallsyms, jp.DEFAULT_KERNEL_PA)
entries = set(names.addresses)
kernel = [jp.block_pa(r[2]) for r in rows if names.of_translation(r[2])]
at_entry = [pa for pa in kernel if pa - names.pa + names.start in entries]
print(f"{len(rows)} translations, {len(kernel)} in the kernel's text, {len(at_entry)} at a function's entry")
if len(kernel) < 1000:
    sys.exit(f"FAIL: only {len(kernel)} translations resolved to kernel functions")
at = {}
for address, name in names.symbols:
    at.setdefault(address, set()).add(name)
misnamed = [pa for pa in at_entry if names.name(pa) not in at[pa - names.pa + names.start]]
if misnamed:
    sys.exit(f"FAIL: {len(misnamed)} translations at a function's entry named otherwise, e.g. {misnamed[0]:#x}")
if len(at_entry) < 0.05 * len(kernel):
    sys.exit(f"FAIL: only {len(at_entry)} of {len(kernel)} kernel translations start at a function (misplaced?)")
# --time: the span reaches perf script (a program's samples without the boot's).
if jp.script_command("p.data", "60%-100%")[-2:] != ["--time", "60%-100%"] or "--time" in jp.script_command("p.data"):
    sys.exit(f"FAIL: --time is not passed to perf script as asked: {jp.script_command('p.data', '60%-100%')}")
EOF
echo "PASS"
