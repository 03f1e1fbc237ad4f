#!/usr/bin/env python3
"""The full Debian system (issue 25) booted to multi-user.target and to its serial login prompt,
trapeze against qemu-system-riscv64 in the same run, alternating, on 1 and 2 harts.

Both boot the same way: OpenSBI (the guest cache's fw_jump.bin), Debian's U-Boot
(qemu-riscv64_smode/u-boot.bin as the kernel), the image's extlinux.conf, its own kernel and
initramfs, systemd. Each boot gets a fresh sparse copy of the image (`make debian` or
tools/debian-image builds it), made before the clock starts. Times run from the VMM's start to
systemd's "Reached target multi-user.target" line and to the "login:" prompt on the console;
also reported: the time from U-Boot's "Starting kernel" to multi-user.target, without the 3 s or
so that U-Boot waits under either VMM (its 2 s autoboot countdown, the menu's 1 s timeout).

usage: bench/debian.sh [--runs N] [--image IMAGE] [--trapeze PATH] [--engine jit|interp] [--cpus 1,2]
"""
import argparse
import os
import re
import select
import statistics
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
CACHE = os.environ.get("XDG_CACHE_HOME", os.path.expanduser("~/.cache"))
GUEST = os.path.join(CACHE, "trapeze", "debian-riscv64")
UBOOT = "/usr/lib/u-boot/qemu-riscv64_smode/u-boot.bin"
MEMORY = 2048
TIMEOUT = 900


def boot(cmd):
    """(kernel, multi-user, login) seconds from the start of cmd: kernel is when U-Boot hands over
    ("Starting kernel"), after its fixed waits (the autoboot countdown, the menu's timeout),
    which take the same wall time under any VMM. The VMM is killed at the login prompt."""
    start = time.monotonic()
    p = subprocess.Popen(cmd, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    buf, kernel, multi_user = b"", None, None
    try:
        while time.monotonic() - start < TIMEOUT:
            r, _, _ = select.select([p.stdout], [], [], 1)
            if not r:
                continue
            data = os.read(p.stdout.fileno(), 65536)
            if not data:
                break
            buf += data
            now = time.monotonic() - start
            if kernel is None and b"Starting kernel" in buf:
                kernel = now
            if multi_user is None and b"Reached target" in buf and re.search(rb"Reached target .*multi-user\.target", buf):
                multi_user = now
            if re.search(rb"login: $", buf.rstrip(b"\r\n ") + b" "):
                if kernel is None or multi_user is None:
                    sys.exit(f"debian.py: {cmd[0]} reached the login prompt without U-Boot's 'Starting kernel' "
                             "and systemd's multi-user.target")
                return kernel, multi_user, now
        sys.exit(f"debian.py: no login prompt from {cmd[0]} within {TIMEOUT} s:\n" +
                 buf[-2000:].decode(errors="replace"))
    finally:
        p.kill()
        p.wait()


def trapeze_cmd(args, disk, cpus):
    return [args.trapeze, "run", "--engine", args.engine, "--boot", "disk", "--disk", disk, "--cpus", str(cpus),
            "--memory", str(MEMORY), "--net", "user", "--no-stats"]


def qemu_cmd(disk, cpus):
    return ["qemu-system-riscv64", "-M", "virt", "-nographic", "-no-reboot", "-smp", str(cpus), "-m", f"{MEMORY}M",
            "-bios", os.path.join(GUEST, "fw_jump.bin"), "-kernel", UBOOT,
            "-drive", f"file={disk},format=raw,if=none,id=d0", "-device", "virtio-blk-device,drive=d0",
            "-netdev", "user,id=n0", "-device", "virtio-net-device,netdev=n0",
            "-object", "rng-random,filename=/dev/urandom,id=rng0", "-device", "virtio-rng-device,rng=rng0"]


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--image", default=os.path.join(CACHE, "trapeze", "debian.img"))
    ap.add_argument("--trapeze", default=os.path.join(ROOT, "build", "trapeze"))
    ap.add_argument("--engine", default="jit", choices=["jit", "interp"])
    ap.add_argument("--cpus", default="1,2")
    args = ap.parse_args()
    for f in (args.image, UBOOT, os.path.join(GUEST, "fw_jump.bin")):
        if not os.path.exists(f):
            sys.exit(f"debian.py: {f} is missing (make debian; tools/install-deps for u-boot-qemu)")
    cpus_list = [int(c) for c in args.cpus.split(",")]
    times = {}
    with tempfile.TemporaryDirectory(prefix="trapeze-bench-debian-") as work:
        disk = os.path.join(work, "disk.img")
        for r in range(args.runs):
            for cpus in cpus_list:
                for vmm in ("trapeze", "qemu"):
                    subprocess.run(["cp", "--sparse=always", args.image, disk], check=True)
                    cmd = trapeze_cmd(args, disk, cpus) if vmm == "trapeze" else qemu_cmd(disk, cpus)
                    kernel, mu, login = boot(cmd)
                    times.setdefault((vmm, cpus), []).append((mu, login, mu - kernel))
                    print(f"round {r + 1}: {vmm} {cpus} hart(s): kernel started {kernel:.1f} s, multi-user {mu:.1f} s, "
                          f"login {login:.1f} s", flush=True)
    print(f"\nDebian trixie system through U-Boot, engine {args.engine}, median of {args.runs}:")
    for cpus in cpus_list:
        t = {vmm: [statistics.median(x[i] for x in times[(vmm, cpus)]) for i in (0, 1, 2)] for vmm in ("trapeze", "qemu")}
        print(f"  {cpus} hart(s): multi-user trapeze {t['trapeze'][0]:.1f} s, qemu {t['qemu'][0]:.1f} s, "
              f"ratio {t['trapeze'][0] / t['qemu'][0]:.2f} (goal: at most 0.30); login trapeze {t['trapeze'][1]:.1f} s, "
              f"qemu {t['qemu'][1]:.1f} s, ratio {t['trapeze'][1] / t['qemu'][1]:.2f}; from the kernel's start to "
              f"multi-user trapeze {t['trapeze'][2]:.1f} s, qemu {t['qemu'][2]:.1f} s, "
              f"ratio {t['trapeze'][2] / t['qemu'][2]:.2f}")


if __name__ == "__main__":
    main()
