#!/usr/bin/env python3
"""Runs a CPU-hungry guest under a CPU quota and checks, from the host, that the VMM process
uses no more than its share (issue 22: "a CPU-hungry guest held to its quota").

    run_cpu_quota.py --quota PERCENT [--slack POINTS] [--warmup S] [--measure S] -- COMMAND...

COMMAND is a VMM that runs a guest which never stops computing (cpu_hog.elf under
`trapeze run --cpu-quota PERCENT`, or x86guest.elf with x86guest.spin under
`x86_run --cpu-quota PERCENT`); it is left to start for --warmup seconds, then the CPU time
the kernel accounts to the whole process (/proc/PID/stat: user + system, every thread) is
read before and after --measure seconds. The test passes when that CPU time is at most
PERCENT + --slack percent of the elapsed time, and at least a fifth of PERCENT (the guest
ran: a loaded machine may give it less than its share, never nothing). Then the VMM is sent
SIGTERM and must end, although its harts sleep out the quota's periods. A ratio of CPU time to
elapsed time, not a duration, is what is checked; the bounds are generous for a loaded
2-core CI machine. Exit status: 0 pass, 1 fail, 77 the VMM skipped (e.g. no usable KVM).
"""
import argparse
import os
import signal
import subprocess
import sys
import tempfile
import time


def cpu_seconds(pid):
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    # After the command name: state is field 3, utime field 14, stime field 15 (proc(5)).
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--quota", type=float, required=True, help="the quota given to COMMAND, in percent")
    ap.add_argument("--slack", type=float, default=10.0, help="percentage points allowed above the quota")
    ap.add_argument("--warmup", type=float, default=1.0)
    ap.add_argument("--measure", type=float, default=3.0)
    ap.add_argument("command", nargs="+")
    args = ap.parse_args()

    with tempfile.TemporaryFile() as log:
        proc = subprocess.Popen(args.command, stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT)

        def output():
            log.seek(0)
            return log.read().decode(errors="replace")[-4000:]

        def ended_early(what):
            print(f"{' '.join(args.command)}\n{output()}")
            if proc.returncode == 77:
                print("SKIP: the VMM cannot run here")
                return 77
            print(f"FAIL: the VMM exited with status {proc.returncode} {what}")
            return 1

        try:
            time.sleep(args.warmup)
            if proc.poll() is not None:
                return ended_early("while starting")
            cpu0, t0 = cpu_seconds(proc.pid), time.monotonic()
            time.sleep(args.measure)
            cpu1, t1 = cpu_seconds(proc.pid), time.monotonic()
            if proc.poll() is not None:
                return ended_early("while measured")
        finally:
            if proc.poll() is None:
                proc.send_signal(signal.SIGTERM)
            try:
                proc.wait(timeout=20)  # a hang, not a timing: a throttled VMM must still stop
                stopped = True
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
                stopped = False

        share = 100.0 * (cpu1 - cpu0) / (t1 - t0)
        print(f"{' '.join(args.command)}\n{output()}")
        print(f"CPU {cpu1 - cpu0:.2f} s over {t1 - t0:.2f} s: {share:.1f}% of one CPU "
              f"(quota {args.quota:g}%, limit {args.quota + args.slack:g}%)")
        good = True
        if share > args.quota + args.slack:
            print(f"FAIL: the guest used {share:.1f}% of a CPU, above its quota of {args.quota:g}%")
            good = False
        if share < args.quota / 5:
            print(f"FAIL: the guest used {share:.1f}% of a CPU: it hardly ran")
            good = False
        if not stopped:
            print("FAIL: the VMM did not end within 20 s of SIGTERM")
            good = False
        return 0 if good else 1


if __name__ == "__main__":
    sys.exit(main())
