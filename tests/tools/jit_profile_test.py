#!/usr/bin/env python3
"""tools/jit-profile --instructions on translations made up here: samples after the same kind of
host instruction in different translations (other displacements, other addresses) add up to one
line, with the instructions before it; samples on a translation's first instruction to a line of
their own; a translation whose code is missing from the code file counts nowhere; --time and
--thread reach perf script; when perf script fails (a span it cannot read), the tool says what
perf said in one line, with no traceback.

usage: jit_profile_test.py JIT_PROFILE"""
import os
import subprocess
import sys
import tempfile
from collections import Counter

from source_module import load  # beside this file


def main():
    jp = load(sys.argv[1], "jit_profile")
    # mov D(%rbx),%rsi ; cmp (%rax),%rcx ; jne +0 ; nop  (D = 0x10 in one, 0x20 in the other)
    a = bytes.fromhex("488b7310" "483b08" "7500" "90")
    b = bytes.fromhex("488b7320" "483b08" "7500" "90")
    rows = [(0x1000, 0x1000 + len(a), "guest_a", 0), (0x2000, 0x2000 + len(b), "guest_b", 1),
            (0x3000, 0x3000 + len(a), "guest_c", 2)]
    code = {0: (0x1000, a), 1: (0x2000, b)}  # guest_c's code is not there
    jne_a, jne_b, nop_a = 0x1000 + 7, 0x2000 + 7, 0x1000 + 9
    hits_at = {0: Counter({jne_a: 3, nop_a: 1, 0x1000: 2}), 1: Counter({jne_b: 2}), 2: Counter({0x3007: 5}),
               -1: Counter({0x9000: 4})}
    kinds = jp.instruction_kinds(rows, hits_at, code, context=1)
    expected = Counter({"mov N(%rbx),%rsi | cmp (%rax),%rcx": 5, jp.ENTRY: 2})
    nop_kind = [k for k in kinds if k.startswith("cmp (%rax),%rcx | jne")]
    if len(nop_kind) != 1 or kinds[nop_kind[0]] != 1:
        sys.exit(f"FAIL: the sample after the jne is not counted once: {dict(kinds)}")
    del kinds[nop_kind[0]]
    if kinds != expected:
        sys.exit(f"FAIL: kinds {dict(kinds)}, expected {dict(expected)}")
    if jp.folded("mov    0x7f3ffc129740(%rbx),%rsi") != "mov N(%rbx),%rsi":
        sys.exit(f"FAIL: folded {jp.folded('mov    0x7f3ffc129740(%rbx),%rsi')!r}")
    # --time and --thread reach perf script as its own options; neither given, none passed.
    plain = jp.script_command("p.data")
    if "--time" in plain or "--comms" in plain:
        sys.exit(f"FAIL: perf script without a span or thread: {plain}")
    both = jp.script_command("p.data", "10%-20%", "trapeze-hart1")
    for option, value in (("--time", "10%-20%"), ("--comms", "trapeze-hart1")):
        if option not in both or both[both.index(option) + 1] != value:
            sys.exit(f"FAIL: {option} {value} not in {both}")
    perf_refusal(sys.argv[1])
    print("PASS")


def perf_refusal(tool):
    with tempfile.TemporaryDirectory() as work:
        fake = os.path.join(work, "perf")
        with open(fake, "w") as f:
            f.write("#!/bin/sh\necho 'Invalid time string' >&2\nexit 234\n")
        os.chmod(fake, 0o755)
        perf_map = os.path.join(work, "perf-1.map")
        with open(perf_map, "w") as f:
            f.write("1000 10 guest_a\n")
        env = dict(os.environ, PATH=work + os.pathsep + os.environ["PATH"])
        done = subprocess.run([sys.executable, tool, os.path.join(work, "p.data"), perf_map, "--time", "50%,100%"],
                              capture_output=True, text=True, env=env)
        if done.returncode == 0 or "Traceback" in done.stderr or "Invalid time string" not in done.stderr:
            sys.exit(f"FAIL: perf script's refusal: status {done.returncode}, stderr {done.stderr!r}")


if __name__ == "__main__":
    main()
