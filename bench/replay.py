#!/usr/bin/env python3
"""What record and replay cost (issue 24), on Debian's kernel + test-initrd.img (tools/fetch-guest):

  boot     power-on to TRAPEZE-TEST-OK and power-off, timed whole: trapeze plain, trapeze --record,
           trapeze --replay of that recording, and QEMU plain and under its own record
           (-icount shift=auto,rr=record) for comparison, alternating within each round
  cpu      the same with bench/cpu/cpubench.c (bench/cpu.sh's CPU-bound program) run after the
           boot; timed whole from outside, since a recording's guest clock follows instructions
  idle     the log's growth per second of guest time while the guest sleeps: two recordings,
           one whose init sleeps --idle seconds before powering off and one that does not,
           (size difference) / (guest seconds between them)
  reverse  one reverse-stepi under gdb-multiarch at the end of a replayed boot (recorded with a
           checkpoint every --checkpoint-every instructions): --steps of them, each timed alone,
           the first (from the recording's checkpoint) apart from the rest

Prints medians and the ratios against the goals: record/plain at most 1.3 (boot and cpu), at
most 50 KB of log per second of idle guest time, a reverse-stepi within 0.5 s.

usage: bench/replay.sh [--runs N] [--engine jit|interp] [--trapeze PATH] [--idle SECONDS]
                       [--steps N] [--checkpoint-every N]
"""
import argparse
import os
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
GUEST = os.environ.get("TRAPEZE_GUEST_DIR", os.path.expanduser("~/.cache/trapeze/debian-riscv64"))
APPEND = "console=ttyS0 panic=-1"
MEMORY = 512
TIMEOUT = 900


def die(msg):
    sys.exit(f"replay.py: {msg}")


def run_timed(cmd, marker=True):
    """Seconds from start to exit; the stderr text. Checks status 0 and the guest's marker."""
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        t0 = time.perf_counter()
        rc = subprocess.run(cmd, stdin=subprocess.DEVNULL, stdout=out, stderr=err, timeout=TIMEOUT).returncode
        secs = time.perf_counter() - t0
        out.seek(0)
        err.seek(0)
        text, errors = out.read(), err.read().decode(errors="replace")
    if rc != 0 or (marker and b"TRAPEZE-TEST-OK" not in text):
        die(f"{' '.join(cmd)} ended with status {rc} before TRAPEZE-TEST-OK:\n{text[-800:]!r}\n{errors[-800:]}")
    return secs, errors


class Guest:
    """A boot: the initrd (test-initrd.img, maybe with /bench/cpubench appended) and its command line."""

    def __init__(self, initrd, append):
        self.initrd, self.append = initrd, append

    def trapeze(self, args, *extra):
        return [args.trapeze, "run", "--engine", args.engine, "--kernel", os.path.join(GUEST, "Image"), "--bios",
                os.path.join(GUEST, "fw_jump.bin"), "--initrd", self.initrd, "--memory", str(MEMORY), "--no-rng",
                "--append", self.append, *extra]

    @staticmethod
    def replay(args, log, *extra):
        """The recording names its machine: only the engine and the log are given."""
        return [args.trapeze, "run", "--engine", args.engine, "--replay", log, *extra]

    def qemu(self, *extra):
        return ["qemu-system-riscv64", "-M", "virt", "-nographic", "-no-reboot", "-m", f"{MEMORY}M", "-bios",
                os.path.join(GUEST, "fw_jump.bin"), "-kernel", os.path.join(GUEST, "Image"), "-initrd", self.initrd,
                "-append", self.append, *extra]


def with_bench_program(work, name, program):
    """test-initrd.img with a cpio appended that holds /bench/cpubench (the init runs it when the
    command line says trapeze.cpubench, then powers off)."""
    root = os.path.join(work, name)
    os.makedirs(os.path.join(root, "bench"))
    dest = os.path.join(root, "bench", "cpubench")
    if isinstance(program, bytes):
        with open(dest, "wb") as f:
            f.write(program)
    else:
        shutil.copy(program, dest)
    os.chmod(dest, 0o755)
    files = subprocess.run(["find", "."], cwd=root, capture_output=True, check=True).stdout
    archive = subprocess.run(["cpio", "-o", "-H", "newc", "--quiet"], cwd=root, input=files, capture_output=True,
                             check=True).stdout
    initrd = os.path.join(work, f"{name}.img")
    with open(os.path.join(GUEST, "test-initrd.img"), "rb") as base, open(initrd, "wb") as f:
        f.write(base.read())
        f.write(subprocess.run(["gzip", "-9"], input=archive, capture_output=True, check=True).stdout)
    return Guest(initrd, APPEND + " trapeze.cpubench")


def compare(args, work, guest, label):
    """Rounds of plain, --record, --replay, qemu, qemu rr=record; returns the medians."""
    log = os.path.join(work, f"{label}.log")
    qlog = os.path.join(work, f"{label}.rr")
    kinds = ["plain", "record", "replay", "qemu", "qemu record"]
    times = {k: [] for k in kinds}
    for r in range(args.runs):
        times["plain"].append(run_timed(guest.trapeze(args, "--no-stats"))[0])
        times["record"].append(run_timed(guest.trapeze(args, "--no-stats", "--record", log))[0])
        times["replay"].append(run_timed(Guest.replay(args, log, "--no-stats"))[0])
        times["qemu"].append(run_timed(guest.qemu())[0])
        times["qemu record"].append(run_timed(guest.qemu("-icount", f"shift=auto,rr=record,rrfile={qlog}"))[0])
        print(f"{label} round {r + 1}: " + ", ".join(f"{k} {times[k][-1]:.2f} s" for k in kinds), flush=True)
    med = {k: statistics.median(v) for k, v in times.items()}
    print(f"{label}, engine {args.engine}, medians of {args.runs}: " + ", ".join(f"{k} {med[k]:.2f} s" for k in kinds))
    print(f"{label}: trapeze record/plain {med['record'] / med['plain']:.2f} (goal: at most 1.30), "
          f"replay/plain {med['replay'] / med['plain']:.2f}, "
          f"qemu record/plain {med['qemu record'] / med['qemu']:.2f}, "
          f"trapeze record/qemu record {med['record'] / med['qemu record']:.2f}; "
          f"log {os.path.getsize(log) / 1024:.0f} KiB, qemu's {os.path.getsize(qlog) / 1024:.0f} KiB")
    return med


def idle_rate(args, work):
    """KB of log per guest second of an idle guest, from two recordings: the guest's init sleeps
    --idle seconds of its own clock in one and not at all in the other (guest time then advances
    by timer deadlines while every hart waits, not by instructions retired)."""
    sizes = {}
    for secs in (0, args.idle):
        guest = with_bench_program(work, f"sleep{secs}", f"#!/bin/sh\nsleep {secs}\n".encode())
        log = os.path.join(work, f"sleep{secs}.log")
        run_timed(guest.trapeze(args, "--no-stats", "--record", log))
        sizes[secs] = os.path.getsize(log)
    rate = (sizes[args.idle] - sizes[0]) / args.idle / 1000
    print(f"idle: boot and power-off {sizes[0]} bytes of log; with `sleep {args.idle}` {sizes[args.idle]} bytes: "
          f"{rate:.3f} KB per idle guest second (goal: at most 50)")
    return rate


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


# gdb-multiarch's side: to the end of the replay, then reverse-stepi after reverse-stepi, each
# timed; prints one "STEP seconds pc" line a step.
GDB_SCRIPT = """
import time
gdb.execute("continue")
for i in range({steps}):
    t0 = time.perf_counter()
    gdb.execute("reverse-stepi", to_string=True)
    t = time.perf_counter() - t0
    pc = int(gdb.parse_and_eval("$pc")) & 0xffffffffffffffff
    print(f"STEP {{t:.6f}} {{pc:#x}}", flush=True)
"""


def reverse_latency(args, work, guest):
    log = os.path.join(work, "reverse.log")
    run_timed(guest.trapeze(args, "--no-stats", "--record", log, "--checkpoint-every", str(args.checkpoint_every)))
    port = free_port()
    script = os.path.join(work, "reverse.py")
    with open(script, "w") as f:
        f.write(GDB_SCRIPT.format(steps=args.steps))
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        vm = subprocess.Popen(Guest.replay(args, log, "--no-stats", "--gdb", f"tcp:127.0.0.1:{port}", "--gdb-wait"),
                              stdin=subprocess.DEVNULL, stdout=out, stderr=err)
        end = time.monotonic() + 60
        while True:
            err.seek(0)
            if b"gdb stub on" in err.read():
                break
            if vm.poll() is not None or time.monotonic() > end:
                die("the replay's gdb stub did not listen")
            time.sleep(0.01)
        g = subprocess.run(["gdb-multiarch", "-nx", "-batch", "-ex", "set architecture riscv:rv64", "-ex",
                            f"target remote 127.0.0.1:{port}", "-x", script, "-ex", "kill"],
                           stdin=subprocess.DEVNULL, capture_output=True, text=True, timeout=TIMEOUT)
        vm.wait(60)
    steps = [float(line.split()[1]) for line in g.stdout.splitlines() if line.startswith("STEP ")]
    if len(steps) != args.steps:
        die(f"gdb-multiarch took {len(steps)} of {args.steps} reverse steps:\n{g.stdout[-1500:]}\n{g.stderr[-800:]}")
    pcs = {line.split()[2] for line in g.stdout.splitlines() if line.startswith("STEP ")}
    rest = steps[1:] or steps
    print(f"reverse: {args.steps} reverse-stepi at the end of a replayed boot (checkpoint every "
          f"{args.checkpoint_every} instructions, {len(pcs)} distinct pcs): the first {steps[0]:.3f} s (from the "
          f"recording's last checkpoint, with one taken near the end), then median {statistics.median(rest):.3f} s, "
          f"max {max(rest):.3f} s (goal: at most 0.5 s)")
    return steps


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--engine", default="jit", choices=["jit", "interp"])
    ap.add_argument("--trapeze", default=os.path.join(ROOT, "build", "trapeze"))
    ap.add_argument("--idle", type=int, default=20, help="guest seconds the idle guest sleeps")
    ap.add_argument("--steps", type=int, default=20, help="reverse-stepi to time")
    ap.add_argument("--checkpoint-every", type=int, default=500_000_000)
    ap.add_argument("--only", choices=["boot", "cpu", "idle", "reverse"], action="append")
    args = ap.parse_args()
    if args.runs < 1 or args.idle < 1 or args.steps < 1:
        die("--runs, --idle and --steps must be positive")
    for f in ("Image", "fw_jump.bin", "test-initrd.img"):
        if not os.path.exists(os.path.join(GUEST, f)):
            die(f"{GUEST}/{f} is missing (tools/fetch-guest)")
    for tool in ("qemu-system-riscv64", "gdb-multiarch", "riscv64-linux-gnu-gcc", "cpio"):
        if shutil.which(tool) is None:
            die(f"{tool} is missing (tools/install-deps)")
    if not os.access(args.trapeze, os.X_OK):
        die(f"{args.trapeze} is not built (make build)")
    only = set(args.only or ["boot", "cpu", "idle", "reverse"])
    boot = Guest(os.path.join(GUEST, "test-initrd.img"), APPEND)
    with tempfile.TemporaryDirectory() as work:
        if "boot" in only:
            compare(args, work, boot, "boot")
        if "cpu" in only:
            program = os.path.join(work, "cpubench")
            subprocess.run(["riscv64-linux-gnu-gcc", "-O2", "-static", "-o", program,
                            os.path.join(ROOT, "bench", "cpu", "cpubench.c")], check=True)
            compare(args, work, with_bench_program(work, "cpu", program), "cpu")
        if "idle" in only:
            idle_rate(args, work)
        if "reverse" in only:
            reverse_latency(args, work, boot)


if __name__ == "__main__":
    main()
