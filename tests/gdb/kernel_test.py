#!/usr/bin/env python3
"""gdb-multiarch stops Debian's kernel at one of its functions (issue 27).

Boots Debian's kernel on two harts with `--gdb` into tests/gdb/kernel_init.sh, which prints the
address of do_sys_openat2 from /proc/kallsyms and then opens a file every 0.1 s. gdb attaches to
the running guest, breaks at that address (`break *ADDR`, no symbols needed), and must stop
there in S-mode with paging on; it disassembles at pc (memory read through the hart's page
table), steps, lists both harts as threads, dumps the page table with `monitor info tlb`, and
detaches; the guest must then finish its loop and power off.

usage: kernel_test.py TRAPEZE ENGINE
"""
import gzip
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time

TIMEOUT = float(os.environ.get("TRAPEZE_GUEST_TIMEOUT", "600"))
HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "snapshot"))
from snapshot_test import cpio_newc  # noqa: E402


def fail(msg, *logs):
    for name, text in logs:
        print(f"--- {name}\n{text[-4000:]}")
    print(f"FAIL: {msg}")
    sys.exit(1)


def read_until(proc, pattern, buf, timeout):
    end = time.monotonic() + timeout
    os.set_blocking(proc.stdout.fileno(), False)
    while time.monotonic() < end:
        m = re.search(pattern, buf[0])
        if m:
            return m
        chunk = proc.stdout.read()
        if chunk:
            buf[0] += chunk.decode(errors="replace")
        elif proc.poll() is not None:
            return re.search(pattern, buf[0])
        else:
            time.sleep(0.05)
    return None


def main():
    trapeze, engine = sys.argv[1:3]
    guest = os.environ.get("TRAPEZE_GUEST_DIR", os.path.expanduser("~/.cache/trapeze/debian-riscv64"))
    for f in ("Image", "fw_jump.bin", "test-initrd.img"):
        if not os.path.exists(os.path.join(guest, f)):
            fail(f"guest image {f} missing: run tools/fetch-guest")
    work = tempfile.mkdtemp(prefix="trapeze-gdb-kernel-")
    try:
        run(trapeze, engine, guest, work)
    finally:
        shutil.rmtree(work, ignore_errors=True)


def run(trapeze, engine, guest, work):
    with open(os.path.join(HERE, "kernel_init.sh"), "rb") as f:
        extra = gzip.compress(cpio_newc("gdb_init", f.read()))
    initrd = os.path.join(work, "initrd.img")
    with open(initrd, "wb") as out, open(os.path.join(guest, "test-initrd.img"), "rb") as base:
        out.write(base.read() + extra)
    err_path = os.path.join(work, "stderr")
    proc = subprocess.Popen(
        [trapeze, "run", "--engine", engine, "--cpus", "2", "--kernel", os.path.join(guest, "Image"), "--bios",
         os.path.join(guest, "fw_jump.bin"), "--initrd", initrd, "--memory", "512", "--no-stats", "--gdb",
         "tcp:127.0.0.1:0", "--append", "console=ttyS0 panic=-1 rdinit=/gdb_init"],
        stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=open(err_path, "wb"))
    out = [""]

    def stderr():
        with open(err_path, errors="replace") as f:
            return f.read()

    try:
        ksym = read_until(proc, r"KSYM ([0-9a-f]{16})", out, TIMEOUT)
        if not ksym:
            fail("the guest did not print do_sys_openat2's address", ("console", out[0]), ("stderr", stderr()))
        port = re.search(r"gdb stub on 127\.0\.0\.1:(\d+)", stderr()).group(1)
        addr = int(ksym.group(1), 16)
        r = subprocess.run(
            ["gdb-multiarch", "-nx", "-batch", "-ex", "set pagination off", "-ex", "set architecture riscv:rv64",
             "-ex", f"target remote 127.0.0.1:{port}", "-ex", f"break *{addr:#x}", "-ex", "continue",
             "-ex", "echo @hit\\n", "-ex", "p/x $pc", "-ex", "p $priv", "-ex", "p/x $satp", "-ex", "x/2i $pc",
             "-ex", "stepi", "-ex", "echo @stepped\\n", "-ex", "p/x $pc", "-ex", "info threads",
             "-ex", "monitor info tlb", "-ex", "delete", "-ex", "detach"],
            stdin=subprocess.DEVNULL, capture_output=True, text=True, timeout=TIMEOUT)
        g = r.stdout + r.stderr
        checks = [
            (rf"@hit\n\$1 = {addr:#x}\n", "stopped at do_sys_openat2"),
            (r"\$2 = 1\n", "in S-mode"),
            (r"\$3 = 0x[89a][0-9a-f]{15}\n", "with paging on (Sv39/48/57)"),
            (rf"=> {addr:#x}:\s+\S+", "disassembled at pc through the page table"),
            (r"@stepped\n\$\d+ = 0xffffffff[0-9a-f]{8}\n", "stepped within the kernel"),
            (r"Thread 1 \(hart 0, S-mode\)|Thread 2 \(hart 1, S-mode\)", "two harts as threads"),
            (r"Thread 2 \(hart 1", "hart 1 listed"),
            (r"satp 0x[89a][0-9a-f]+ \(Sv\d+\)\n[0-9a-f]{16}-[0-9a-f]{16} -> 0x[0-9a-f]+ r", "monitor info tlb"),
            (r"Inferior 1 \(Remote target\) detached", "detached"),
        ]
        for pattern, what in checks:
            if not re.search(pattern, g):
                fail(f"{what}: no match for {pattern!r}", ("console", out[0]), ("stderr", stderr()), ("gdb", g))
        if not read_until(proc, r"KERNEL-GDB-DONE", out, TIMEOUT):
            fail("after detach the guest did not finish its loop", ("console", out[0]), ("stderr", stderr()))
        rc = proc.wait(60)
        if rc != 0:
            fail(f"trapeze exited with {rc}", ("console", out[0]), ("stderr", stderr()))
        print("PASS")
    finally:
        if proc.poll() is None:
            proc.kill()


if __name__ == "__main__":
    main()
