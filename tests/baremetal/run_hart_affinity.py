#!/usr/bin/env python3
"""`trapeze run --hart-affinity` from the outside: each hart's thread (trapeze-hartN) may run
only on the host CPUs its list names, as the kernel reports them (/proc/PID/task/TID/status,
Cpus_allowed_list), and it runs there; lists that cannot be honoured end trapeze with a clear
error before the guest starts.

    run_hart_affinity.py TRAPEZE GUEST_ELF

GUEST_ELF is a bare-metal guest that keeps every hart busy (cpu_hog.elf). Exit status 0: pass.
"""
import os
import signal
import subprocess
import sys
import time


def allowed_cpus():
    return sorted(os.sched_getaffinity(0))


def hart_threads(pid):
    """{hart number: (Cpus_allowed_list, CPU seconds)} for the trapeze-hartN threads of pid."""
    found = {}
    for tid in os.listdir(f"/proc/{pid}/task"):
        try:
            with open(f"/proc/{pid}/task/{tid}/comm") as f:
                name = f.read().strip()
            with open(f"/proc/{pid}/task/{tid}/status") as f:
                status = dict(line.split(":", 1) for line in f if ":" in line)
            with open(f"/proc/{pid}/task/{tid}/stat") as f:
                fields = f.read().rsplit(")", 1)[1].split()
        except OSError:
            continue  # the thread ended meanwhile
        if name.startswith("trapeze-hart"):
            seconds = (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
            found[int(name[len("trapeze-hart"):])] = (status["Cpus_allowed_list"].strip(), seconds)
    return found


def pinned_run(trapeze, guest, failures):
    cpus = allowed_cpus()
    first, last = cpus[0], cpus[-1]
    # Hart 0 on the last CPU, hart 1 on the first: the order is the lists', not the CPUs'.
    want = {0: str(last), 1: str(first)}
    cmd = [trapeze, "run", "--bios", "none", "--kernel", guest, "--cpus", "2", "--no-stats",
           "--hart-affinity", f"{last}/{first}"]
    proc = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + 20
        seen = {}
        while time.monotonic() < deadline and proc.poll() is None:
            seen = hart_threads(proc.pid)
            if len(seen) == 2 and all(s > 0.2 for _, s in seen.values()):
                break
            time.sleep(0.1)
        if proc.poll() is not None:
            failures.append(f"{' '.join(cmd)} ended (status {proc.returncode}): {proc.stdout.read().decode()[-2000:]}")
            return
        print(f"{' '.join(cmd)}: hart threads {seen}")
        for hart, cpu_list in want.items():
            if hart not in seen:
                failures.append(f"no thread trapeze-hart{hart}")
            elif seen[hart][0] != cpu_list:
                failures.append(f"hart {hart} may run on CPUs {seen[hart][0]}, expected {cpu_list}")
            elif seen[hart][1] <= 0.2:
                failures.append(f"hart {hart} ran {seen[hart][1]} s in 20 s: it hardly ran where it was pinned")
    finally:
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
            failures.append("trapeze did not end within 20 s of SIGTERM")


def refused(trapeze, guest, extra, says, failures):
    cmd = [trapeze, "run", "--bios", "none", "--kernel", guest, "--no-stats"] + extra
    try:
        p = subprocess.run(cmd, stdin=subprocess.DEVNULL, capture_output=True, text=True, timeout=30)
    except subprocess.TimeoutExpired:
        failures.append(f"{' '.join(cmd)}: still running after 30 s (it should have refused to start)")
        return
    print(f"{' '.join(cmd)}: status {p.returncode}: {p.stderr.strip()}")
    if p.returncode == 0 or says not in p.stderr:
        failures.append(f"{' '.join(cmd)}: status {p.returncode}, expected an error saying '{says}', got: {p.stderr}")


def main():
    trapeze, guest = sys.argv[1], sys.argv[2]
    failures = []
    pinned_run(trapeze, guest, failures)
    cpu = str(allowed_cpus()[0])
    refused(trapeze, guest, ["--cpus", "2", "--hart-affinity", cpu], "1 list(s) of CPUs, one per hart, for 2 harts",
            failures)
    refused(trapeze, guest, ["--cpus", "2", "--hart-affinity", f"{cpu}/x"], "hart 1: 'x' is not a CPU number", failures)
    refused(trapeze, guest, ["--cpus", "1", "--hart-affinity", cpu], "needs --cpus 2 or more", failures)
    refused(trapeze, guest, ["--cpus", "2", "--deterministic", "--hart-affinity", f"{cpu}/{cpu}"],
            "needs --cpus 2 or more", failures)
    for f in failures:
        print(f"FAIL: {f}")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
