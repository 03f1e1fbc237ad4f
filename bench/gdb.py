#!/usr/bin/env python3
"""What an attached debugger costs (issue 27): Debian's kernel + test-initrd.img booted from
power-on to TRAPEZE-TEST-OK and power-off, timed whole, in four ways that alternate within each
round so all see the same host load:

  plain      trapeze run (no --gdb)
  attached   trapeze run --gdb --gdb-wait, with gdb-multiarch attached for the whole boot: it
             connects, continues, and waits for the guest's end (no breakpoint)
  breakpoint the same with a breakpoint gdb inserts and the guest never reaches, at a page
             offset where hot kernel code starts blocks (--bp-offset): trapeze ends blocks at
             that offset in every page and checks the pc there, so this is the real cost of a
             breakpoint in hot code while the rest keeps running translated
  qemu       qemu-system-riscv64 -gdb ... -S with gdb-multiarch attached the same way

Prints each median, the ratios to `plain` (the goal: `attached` within 5%) and trapeze/QEMU.
With --gdb-wait the guest waits for gdb-multiarch to start and connect, which is gdb's cost, not
the stub's: each round also times gdb-multiarch starting and exiting on its own (`gdb start`),
and `attached/plain` is printed a second time with that taken out.

usage: bench/gdb.sh [--runs N] [--engine jit|interp] [--trapeze PATH] [--bp-offset HEX]
"""
import argparse
import os
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
TIMEOUT = 600


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def gdb_continue(port, breakpoint=None):
    args = ["gdb-multiarch", "-nx", "-batch", "-ex", "set architecture riscv:rv64", "-ex",
            f"target remote 127.0.0.1:{port}"]
    if breakpoint is not None:
        args += ["-ex", f"break *{breakpoint:#x}"]
    args += ["-ex", "continue"]
    return subprocess.Popen(args, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)


def gdb_start_time():
    """gdb-multiarch started, set up as gdb_continue sets it up, and exited: what a guest under
    --gdb-wait waits for before it runs at all."""
    start = time.monotonic()
    subprocess.run(["gdb-multiarch", "-nx", "-batch", "-ex", "set architecture riscv:rv64"], stdin=subprocess.DEVNULL,
                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=True, timeout=60)
    return time.monotonic() - start


def wait_listening(port, proc, err):
    """Until the port accepts: trapeze says so on stderr (a probe connection would attach and,
    going away, let the guest run); QEMU is probed (it stays stopped after a disconnect)."""
    end = time.monotonic() + 30
    while time.monotonic() < end:
        if err is not None:
            err.seek(0)
            if b"gdb stub on" in err.read():
                return
        else:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                return
            except OSError:
                pass
        if proc.poll() is not None:
            raise RuntimeError("the VMM ended before its gdb stub listened")
        time.sleep(0.01)
    raise RuntimeError("no gdb stub listening")


def boot(cmd, port=None, breakpoint=None):
    """Seconds from start to the guest's power-off; checks the guest reached its marker."""
    trapeze = "trapeze" in os.path.basename(cmd[0])
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        t0 = time.perf_counter()
        p = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=out, stderr=err)
        g = None
        if port is not None:
            wait_listening(port, p, err if trapeze else None)
            g = gdb_continue(port, breakpoint)
        rc = p.wait(TIMEOUT)
        secs = time.perf_counter() - t0
        if g is not None:
            g.wait(60)
        out.seek(0)
        text = out.read()
        if b"TRAPEZE-TEST-OK" not in text:
            raise RuntimeError(f"{cmd[0]} did not reach TRAPEZE-TEST-OK (status {rc}): {text[-500:]!r}")
        return secs


def trapeze_cmd(args, gdb_port=None):
    cmd = [args.trapeze, "run", "--engine", args.engine, "--kernel", os.path.join(GUEST, "Image"), "--bios",
           os.path.join(GUEST, "fw_jump.bin"), "--initrd", os.path.join(GUEST, "test-initrd.img"), "--memory",
           str(MEMORY), "--no-stats", "--append", APPEND]
    if gdb_port is not None:
        cmd += ["--gdb", f"tcp:127.0.0.1:{gdb_port}", "--gdb-wait"]
    return cmd


def qemu_cmd(port):
    return ["qemu-system-riscv64", "-M", "virt", "-nographic", "-no-reboot", "-m", f"{MEMORY}M", "-bios",
            os.path.join(GUEST, "fw_jump.bin"), "-kernel", os.path.join(GUEST, "Image"), "-initrd",
            os.path.join(GUEST, "test-initrd.img"), "-append", APPEND, "-gdb", f"tcp:127.0.0.1:{port}", "-S"]


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--engine", default="jit", choices=["jit", "interp"])
    ap.add_argument("--trapeze", default=os.path.join(ROOT, "build", "trapeze"))
    ap.add_argument("--bp-offset", default="0x10",
                    help="page offset of the never-hit breakpoint (default 0x10: where many functions start)")
    args = ap.parse_args()
    for f in ("Image", "fw_jump.bin", "test-initrd.img"):
        if not os.path.exists(os.path.join(GUEST, f)):
            sys.exit(f"gdb.py: {GUEST}/{f} is missing (tools/fetch-guest)")
    # A user address no boot runs (the test initramfs runs busybox higher up), at the offset.
    bp = 0x1000 + int(args.bp_offset, 16)
    times = {"plain": [], "attached": [], "breakpoint": [], "qemu": [], "gdb start": []}
    for r in range(args.runs):
        times["plain"].append(boot(trapeze_cmd(args)))
        port = free_port()
        times["attached"].append(boot(trapeze_cmd(args, port), port))
        port = free_port()
        times["breakpoint"].append(boot(trapeze_cmd(args, port), port, bp))
        port = free_port()
        times["qemu"].append(boot(qemu_cmd(port), port))
        times["gdb start"].append(gdb_start_time())
        print(f"round {r + 1}: " + ", ".join(f"{k} {v[-1]:.2f} s" for k, v in times.items()), flush=True)
    med = {k: statistics.median(v) for k, v in times.items()}
    print(f"\nDebian boot to power-off, engine {args.engine}, median of {args.runs}:")
    for k, v in med.items():
        print(f"  {k:<10} {v:6.2f} s")
    print(f"attached/plain:   {med['attached'] / med['plain']:.3f}  (goal: at most 1.05)")
    print(f"(attached - gdb start)/plain: {(med['attached'] - med['gdb start']) / med['plain']:.3f}")
    print(f"breakpoint/plain: {med['breakpoint'] / med['plain']:.3f}  (a breakpoint at page offset {args.bp_offset})")
    print(f"trapeze attached/qemu attached: {med['attached'] / med['qemu']:.2f}")


if __name__ == "__main__":
    main()
