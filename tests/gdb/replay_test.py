#!/usr/bin/env python3
"""gdb-multiarch running a replay backwards (issue 24): `trapeze run --replay LOG --gdb ...`.

debug_target.elf is recorded once on 2 harts (checkpoints every 5M instructions), then replayed
under the engine named, with gdb-multiarch in batch mode driving it:

  watch     at store_watched's breakpoint, reverse-finish goes back to its call in smp_main;
            next over the call, then reverse-step goes back into store_watched; a write
            watchpoint on g_counter: continue twice, then reverse-continue stops at the write
            before (gdb shows the value going back), and reverse-stepi / stepi from there.
  steps     STEPS stepi on hart 0, each pc and a few registers noted (by gdb's Python), then
            STEPS reverse-stepi: the same states in the reverse order; then reverse-continue
            with no breakpoint runs back to the start of the history (gdb says so, pc is
            _start), and continue runs the whole replay to the end of its history (the guest's
            last instruction: gdb hears "no more history"); from there a watchpoint on
            g_counter and reverse-continue find its last write (the rewind starts from one of
            the recording's checkpoints); gdb detaches a little before, and the replay runs to
            its end, which must still match the recording (trapeze's verdict, status 0).
            Then gdb's kill in the middle of the replay: status 0, "replay ended by the debugger".

The sandbox stays on: rewinding (snapshots read, RAM remapped, checkpoints written) is allowed
to the stub's thread by the seccomp filter, and a forbidden call would end trapeze with 148.

usage: replay_test.py TRAPEZE ELF ENGINE [STEPS]
"""
import os
import re
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from gdb_test import TIMEOUT, StubProcess, expect, fail, gdb  # noqa: E402


class Replay(StubProcess):
    """trapeze replaying LOG with its gdb stub waiting."""

    def __init__(self, trapeze, log, engine, work, name):
        args = [trapeze, "run", "--replay", log, "--engine", engine, "--no-stats", "--gdb", "tcp:127.0.0.1:0",
                "--gdb-wait"]
        super().__init__(args, os.path.join(work, f"{name}.stderr"))


def record(trapeze, elf, work):
    log = os.path.join(work, "target.log")
    p = subprocess.run([trapeze, "run", "--bios", "none", "--kernel", elf, "--cpus", "2", "--memory", "16",
                        "--no-stats", "--record", log, "--checkpoint-every", "5000000"],
                       stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
                       timeout=TIMEOUT)
    if p.returncode != 0:
        fail(f"recording debug_target.elf ended with {p.returncode}", ("stderr", p.stderr))
    return log


def check_ended(vm, out, status, verdict):
    rc = vm.wait()
    if rc != status or not re.search(verdict, vm.stderr()):
        fail(f"trapeze should end with {status} and {verdict!r}, got {rc}", ("gdb", out), ("stderr", vm.stderr()))


def scenario_watch(trapeze, elf, log, engine, work):
    vm = Replay(trapeze, log, engine, work, "watch")
    out = gdb(elf, vm.port, [
        "break store_watched", "continue", "delete",
        "echo @rfinish\\n", "reverse-finish", "echo @next\\n", "next", "echo @rstepline\\n", "reverse-step", "echo @fwd\\n",
        "watch g_counter", "continue", "continue", "p g_counter",
        "echo @back\\n", "reverse-continue", "p g_counter", "p/x $pc",
        "echo @rstep\\n", "reverse-stepi", "p/x $pc", "stepi", "p/x $pc",
        "kill",
    ])
    expect(out, r"hit Breakpoint 1, store_watched", "ran forward to store_watched", vm)
    expect(out, r"@rfinish\n(.*\n)*?.* in smp_main .*debug_target\.c:\d+\n\d+\s+if \(i == WATCH_ROUND\) store_watched",
           "reverse-finish went back to the call in smp_main", vm)
    expect(out, r"@rstepline\n(.*\n)*?.* in store_watched .*\n(.*\n)*?@fwd", "reverse-step went back into store_watched "
           "from the line after its call", vm)
    expect(out, r"Old value = 1000\s+New value = 1001\s(.*\n)*?\$\d+ = 1001\n@back", "the watchpoint forward", vm)
    expect(out, r"@back\n(.*\n)*?.*watchpoint \d+: g_counter\s+Old value = 1001\s+New value = 1000\s", "reverse-continue "
           "stopped at the write before, the value going back", vm)
    m = re.search(r"@back\n(?:.*\n)*?\$\d+ = 1000\n\$\d+ = (0x[0-9a-f]+)\n@rstep\n(?:.*\n)*?\$\d+ = (0x[0-9a-f]+)\n"
                  r"(?:.*\n)*?\$\d+ = (0x[0-9a-f]+)\n", out)
    if not m:
        fail("no pcs after reverse-continue, reverse-stepi and stepi", ("gdb", out), ("stderr", vm.stderr()))
    at, before, again = (int(x, 16) for x in m.groups())
    if before == at or again != at:
        fail(f"reverse-stepi from {at:#x} went to {before:#x}, stepi back to {again:#x}", ("gdb", out))
    check_ended(vm, out, 0, r"replay ended by the debugger at instruction \d+")


STEP_SCRIPT = """
import gdb
gdb.execute("break compute")
gdb.execute("continue")
gdb.execute("continue")
gdb.execute("delete")
def state():
    return tuple(int(gdb.parse_and_eval(r)) for r in ("$pc", "$sp", "$ra", "$a0", "$a5", "$s0", "$s1"))
forward = []
for _ in range({steps}):
    forward.append(state())
    gdb.execute("stepi", to_string=True)
end = state()
backward = []
for _ in range({steps}):
    gdb.execute("reverse-stepi", to_string=True)
    backward.append(state())
backward.reverse()
bad = [i for i in range({steps}) if backward[i] != forward[i]]
print("@steps %d distinct-pcs %d mismatches %d" % (len(forward), len(set(s[0] for s in forward)), len(bad)))
for i in bad[:5]:
    print("@mismatch", i, [hex(v) for v in forward[i]], [hex(v) for v in backward[i]])
gdb.execute("stepi {steps}", to_string=True)
print("@again", "same" if state() == end else "differs")
"""


def scenario_steps(trapeze, elf, log, engine, work, steps):
    script = os.path.join(work, "steps.py")
    with open(script, "w") as f:
        f.write(STEP_SCRIPT.replace("{steps}", str(steps)))
    vm = Replay(trapeze, log, engine, work, "steps")
    out = gdb(elf, vm.port, [f"source {script}", "echo @start\\n", "reverse-continue", "p/x $pc", "echo @end\\n",
                             "continue", "echo @last\\n", "watch g_counter", "reverse-continue", "delete",
                             "reverse-stepi", "reverse-stepi"])
    expect(out, rf"@steps {steps} distinct-pcs \d+ mismatches 0\n", f"{steps} reverse-stepi retrace the stepi", vm)
    m = re.search(r"distinct-pcs (\d+)", out)
    if int(m.group(1)) < 5:
        fail("the stepped instructions should cover several pcs", ("gdb", out))
    expect(out, r"@again same\n", "stepping forward again arrives where the forward steps did", vm)
    expect(out, r"@start\n(.*\n)*?No more reverse-execution history\.\n(.*\n)*?\$\d+ = 0x80000000\n@end",
           "reverse-continue runs back to the start of the history", vm)
    expect(out, r"@end\n(.*\n)*?No more reverse-execution history\.\n(.*\n)*?.*debug_target\.c:58\n",
           "continue runs to the end of the history: the guest's last store to tohost", vm)
    expect(out, r"@last\n(.*\n)*?.*watchpoint \d+: g_counter\s+Old value = 1999999\s+New value = 1999998\s",
           "from the end, reverse-continue stops at the last write of g_counter (rewound to a recording's checkpoint)",
           vm)
    expect(out, r"\[Inferior 1 \(Remote target\) detached\]", "gdb detached", vm)
    check_ended(vm, out, 0, r"replay complete: \d+ instructions")


def main():
    trapeze, elf, engine = sys.argv[1:4]
    steps = int(sys.argv[4]) if len(sys.argv) > 4 else 200
    with tempfile.TemporaryDirectory(prefix="trapeze-gdb-replay-") as work:
        started = time.monotonic()
        log = record(trapeze, elf, work)
        print(f"record: ok ({time.monotonic() - started:.1f} s)")
        for name, fn in (("watch", scenario_watch),
                         ("steps", lambda *a: scenario_steps(*a, steps))):
            started = time.monotonic()
            fn(trapeze, elf, log, engine, work)
            print(f"{name}: ok ({time.monotonic() - started:.1f} s)")
    print("PASS")


if __name__ == "__main__":
    main()
