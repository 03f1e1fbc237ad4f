#!/usr/bin/env python3
"""bench/programs.py --baseline on made-up runs (no guest): the two builds take turns at going
first (an odd --runs is warned about), each with its own binary, and nothing else runs; the
report's last line is --trapeze's speed against the baseline's, each program's line says in how
many rounds --trapeze was faster; outputs must agree across the
builds' runs.

usage: programs_baseline_test.py BENCH_PROGRAMS_PY"""
import argparse
import contextlib
import io
import sys

from source_module import load  # beside this file


def main():
    bench = load(sys.argv[1], "programs")
    programs = ["xz", "grep"]
    args = argparse.Namespace(trapeze="/new/trapeze", baseline="/old/trapeze", runs=3)
    plan = bench.rounds(args, ["jit"], "disk.img", programs)
    order = [[who for who, _ in runs] for runs in plan]
    if order != [["trapeze-jit", "baseline-jit"], ["baseline-jit", "trapeze-jit"], ["trapeze-jit", "baseline-jit"]]:
        sys.exit(f"FAIL: rounds {order}")
    if bench.order_warning(args) is None:
        sys.exit("FAIL: no warning that --runs 3 lets --trapeze go first twice")
    if bench.order_warning(argparse.Namespace(baseline="/old/trapeze", runs=4)) is not None:
        sys.exit("FAIL: a warning for an even --runs")
    binaries = {who: cmd[0] for who, cmd in plan[1]}
    if binaries != {"trapeze-jit": "/new/trapeze", "baseline-jit": "/old/trapeze"}:
        sys.exit(f"FAIL: binaries {binaries}")
    args.baseline = None
    if [who for who, _ in bench.rounds(args, ["jit"], "disk.img", programs)[0]] != ["trapeze-jit", "qemu", "native"]:
        sys.exit("FAIL: without --baseline the round is not trapeze, QEMU and native")

    results = {"trapeze-jit": {"xz": [(800, "a")] * 3, "grep": [(400, "b"), (410, "b"), (2000, "b")]},
               "baseline-jit": {"xz": [(1000, "a")] * 3, "grep": [(500, "b"), (490, "b"), (510, "b")]}}
    bench.check_outputs(results, programs)  # no native run: nothing to compare it with
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        bench.report_builds(results, programs, "jit")
    lines = out.getvalue().strip().splitlines()
    rows = {line.split()[0]: line.split() for line in lines if line.split()[0] in programs}
    if rows["xz"][-3:] != ["3", "of", "3"] or rows["grep"][-3:] != ["2", "of", "3"]:  # grep's third round slower
        sys.exit(f"FAIL: rounds --trapeze won:\n{out.getvalue()}")
    last = lines[-1]
    if last != "geomean: trapeze/baseline 1.235":  # sqrt(1000/800 * 500/410), of the medians
        sys.exit(f"FAIL: last line {last!r}:\n{out.getvalue()}")
    results["baseline-jit"]["grep"][1] = (490, "c")
    try:
        with contextlib.redirect_stdout(io.StringIO()):
            bench.check_outputs(results, programs)
    except SystemExit as e:
        if "grep" not in str(e):
            sys.exit(f"FAIL: the differing output is not named: {e}")
    else:
        sys.exit("FAIL: differing outputs between the builds were accepted")
    print("PASS")


if __name__ == "__main__":
    main()
