#!/usr/bin/env python3
"""Runs the bare-metal SMP stress guest (smp_stress.elf) on 1, 2, 4 and 8 harts under both
RISC-V engines and checks that every case passes.

    run_smp.py TRAPEZE ELF [--mode-flag FLAG]... [--cpus 1,2,4,8] [--engines jit,interp]
                           [--timeout SECONDS] [--repeat N]

--mode-flag passes FLAG through to `trapeze run` (e.g. `--mode-flag --deterministic`: the
harts take turns on one thread); without it the harts run in parallel. A run passes when
trapeze exits with status 0 (the guest's HTIF verdict); a run that takes longer than
--timeout is killed and fails, so a hang fails rather than blocking. The guest's own exit
codes are decoded below (smp_stress.c documents them). Exit status: 0 when every run passed.
"""
import argparse
import subprocess
import sys
import time

kCases = {1: "amo counters", 2: "lr/sc counters", 3: "message passing", 4: "store buffering", 5: "cross-hart code",
          6: "lr/sc a-b-a"}
kDetails = {
    11: "amoadd.w low half wrong (lost update, or a carry into the high half)",
    12: "amoadd.w high half wrong",
    13: "amoadd.d sum wrong",
    14: "ticket counter wrong",
    15: "a ticket was handed out twice",
    16: "a ticket was never handed out",
    17: "an amoadd.w result was not sign-extended",
    18: "a ticket out of range",
    21: "lr.d/sc.d + amoadd.d counter lost or gained updates",
    22: "lr.w/sc.w half wrong",
    23: "amoadd.w half next to the lr.w/sc.w half wrong",
    24: "an SC succeeded with no reservation left",
    31: "data older than the flag that published it",
    32: "a flag read went backwards",
    33: "a message value out of range",
    41: "store buffering: both harts of a pair missed each other's store",
    42: "store buffering: reads of the partner's variable went backwards or out of range",
    51: "a hart ran stale code after fence.i",
    52: "a hart got a wrong value from the published code",
    53: "hart 0 got a wrong value from the code it had just written",
    61: "an SC succeeded although another hart had stored B and then A again since its LR (A-B-A)",
    62: "the word changed under a failed SC",
    99: "no harts found in the device tree",
}


def describe(code):
    if code in kDetails:
        return f"case {code // 10} ({kCases.get(code // 10, '?')}): {kDetails[code]}"
    if 90 <= code <= 96:
        where = "the start barrier" if code == 90 else f"case {code - 90} ({kCases[code - 90]})"
        return f"a wait in {where} lasted 30 s (a hart stopped making progress)"
    if 128 <= code < 160:
        return f"trap: mcause {code - 128}"
    if 160 <= code < 192:
        return f"unexpected interrupt: cause {code - 160}"
    return f"exit status {code}"


def run_once(trapeze, elf, cpus, engine, mode_flags, timeout):
    cmd = [trapeze, "run", "--bios", "none", "--kernel", elf, "--cpus", str(cpus), "--engine", engine,
           "--no-stats"] + mode_flags
    start = time.monotonic()
    try:
        proc = subprocess.run(cmd, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                              timeout=timeout)
    except subprocess.TimeoutExpired as e:
        out = (e.output or b"").decode(errors="replace")
        return None, time.monotonic() - start, out, " ".join(cmd)
    return proc.returncode, time.monotonic() - start, proc.stdout.decode(errors="replace"), " ".join(cmd)


def main():
    # `--mode-flag --deterministic`: argparse would take the value for an option of its own.
    argv, mode_flags, i = [], [], 1
    while i < len(sys.argv):
        if sys.argv[i] == "--mode-flag" and i + 1 < len(sys.argv):
            mode_flags.append(sys.argv[i + 1])
            i += 2
            continue
        if sys.argv[i].startswith("--mode-flag="):
            mode_flags.append(sys.argv[i].split("=", 1)[1])
        else:
            argv.append(sys.argv[i])
        i += 1
    ap = argparse.ArgumentParser()
    ap.add_argument("trapeze")
    ap.add_argument("elf")
    ap.add_argument("--cpus", default="1,2,4,8", help="comma-separated hart counts")
    ap.add_argument("--engines", default="jit,interp", help="comma-separated engines")
    ap.add_argument("--timeout", type=float, default=120, help="seconds for one run")
    ap.add_argument("--repeat", type=int, default=1, help="runs of each configuration")
    args = ap.parse_args(argv)
    mode = " ".join(mode_flags) if mode_flags else "parallel"

    failures = 0
    for engine in args.engines.split(","):
        for cpus in (int(n) for n in args.cpus.split(",")):
            for rep in range(args.repeat):
                rc, secs, out, cmd = run_once(args.trapeze, args.elf, cpus, engine, mode_flags, args.timeout)
                what = f"{engine} --cpus {cpus} ({mode})" + (f" run {rep + 1}" if args.repeat > 1 else "")
                if rc == 0:
                    print(f"PASS: {what}: {secs:.2f} s", flush=True)
                    continue
                failures += 1
                why = f"timed out after {args.timeout:.0f} s" if rc is None else describe(rc)
                print(f"FAIL: {what}: {why}\n  {cmd}\n" + "".join(f"  | {line}\n" for line in out.splitlines()[-20:]),
                      end="", flush=True)
    print(f"FAIL: {failures} of the runs failed" if failures else "PASS: every run passed")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
