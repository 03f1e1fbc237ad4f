#!/usr/bin/env python3
"""The full Debian system (issue 25) booted to multi-user.target, its serial login prompt and an ssh login,
trapeze against qemu-system-riscv64 in the same run, alternating, on 1 and 2 harts.

Both boot the same way: OpenSBI (the guest cache's fw_jump.bin), Debian's U-Boot
(qemu-riscv64_smode/u-boot.bin as the kernel), the image's extlinux.conf, its own kernel and
initramfs, systemd. Each boot gets a fresh sparse copy of the image (`make debian` or
tools/debian-image builds it), made before the clock starts. Times run from the VMM's start to
systemd's "Reached target multi-user.target" line, to the "login:" prompt on the console, and to
a root login over ssh through the forwarded port 22 (a key made for the run, written into each
copy as tests/guest/debian_system_test.py does) that runs a command;
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
import threading
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, "tests/guest"))
import debian_system_test  # noqa: E402  (the system test's ssh key and client helpers)
CACHE = os.environ.get("XDG_CACHE_HOME", os.path.expanduser("~/.cache"))
GUEST = os.path.join(CACHE, "trapeze", "debian-riscv64")
UBOOT = "/usr/lib/u-boot/qemu-riscv64_smode/u-boot.bin"
MEMORY = 2048
TIMEOUT = 900


def ssh_login(key, port, start, done):
    """Tries `ssh root@127.0.0.1 -p port true` until it succeeds; done[0] = when it did (seconds
    from start). A refused or reset connection (sshd not listening yet) is tried again."""
    while True:
        try:
            r = debian_system_test.ssh(key, port, "true")
        except subprocess.TimeoutExpired:
            continue
        if r.returncode == 0:
            done[0] = time.monotonic() - start
            return
        time.sleep(0.1)


def boot(cmd, key, port):
    """(kernel, multi-user, login, ssh) seconds from the start of cmd: kernel is when U-Boot hands
    over ("Starting kernel"), after its fixed waits (the autoboot countdown, the menu's timeout),
    which take the same wall time under any VMM; ssh is when a key login through the forwarded
    port ran a command, tried from multi-user.target on (which ssh.service is part of). The VMM
    is killed once it has shown the login prompt and let ssh in."""
    start = time.monotonic()
    p = subprocess.Popen(cmd, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    buf, kernel, multi_user, login, ssh_done = b"", None, None, None, [None]
    try:
        while time.monotonic() - start < TIMEOUT:
            if login is not None and ssh_done[0] is not None:
                return kernel, multi_user, login, ssh_done[0]
            r, _, _ = select.select([p.stdout], [], [], 0.2)
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
                threading.Thread(target=ssh_login, args=(key, port, start, ssh_done), daemon=True).start()
            if login is None and re.search(rb"login: $", buf.rstrip(b"\r\n ") + b" "):
                if kernel is None or multi_user is None:
                    sys.exit(f"debian.py: {cmd[0]} reached the login prompt without U-Boot's 'Starting kernel' "
                             "and systemd's multi-user.target")
                login = now
        sys.exit(f"debian.py: no login prompt and ssh login from {cmd[0]} within {TIMEOUT} s:\n" +
                 buf[-2000:].decode(errors="replace"))
    finally:
        p.kill()
        p.wait()


def trapeze_cmd(args, disk, cpus, port):
    return [args.trapeze, "run", "--engine", args.engine, "--boot", "disk", "--disk", disk, "--cpus", str(cpus),
            "--memory", str(MEMORY), "--net", f"user,hostfwd=tcp:127.0.0.1:{port}-:22", "--no-stats"]


def qemu_cmd(disk, cpus, port):
    return ["qemu-system-riscv64", "-M", "virt", "-nographic", "-no-reboot", "-smp", str(cpus), "-m", f"{MEMORY}M",
            "-bios", os.path.join(GUEST, "fw_jump.bin"), "-kernel", UBOOT,
            "-drive", f"file={disk},format=raw,if=none,id=d0", "-device", "virtio-blk-device,drive=d0",
            "-netdev", f"user,id=n0,hostfwd=tcp:127.0.0.1:{port}-:22", "-device", "virtio-net-device,netdev=n0",
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
        key = debian_system_test.make_key(work)
        for r in range(args.runs):
            for cpus in cpus_list:
                for vmm in ("trapeze", "qemu"):
                    subprocess.run(["cp", "--sparse=always", args.image, disk], check=True)
                    debian_system_test.install_key(disk, key)
                    port = debian_system_test.free_port()
                    cmd = trapeze_cmd(args, disk, cpus, port) if vmm == "trapeze" else qemu_cmd(disk, cpus, port)
                    kernel, mu, login, ssh = boot(cmd, key, port)
                    times.setdefault((vmm, cpus), []).append((mu, login, ssh, mu - kernel))
                    print(f"round {r + 1}: {vmm} {cpus} hart(s): kernel started {kernel:.1f} s, multi-user {mu:.1f} s, "
                          f"login prompt {login:.1f} s, ssh login {ssh:.1f} s", flush=True)
    print(f"\nDebian trixie system through U-Boot, engine {args.engine}, median of {args.runs}:")
    names = ("multi-user", "login prompt", "ssh login", "from the kernel's start to multi-user")
    for cpus in cpus_list:
        t = {vmm: [statistics.median(x[i] for x in times[(vmm, cpus)]) for i in range(len(names))]
             for vmm in ("trapeze", "qemu")}
        parts = [f"{name} trapeze {t['trapeze'][i]:.1f} s, qemu {t['qemu'][i]:.1f} s, "
                 f"ratio {t['trapeze'][i] / t['qemu'][i]:.2f}" + (" (goal: at most 0.30)" if i == 0 else "")
                 for i, name in enumerate(names)]
        print(f"  {cpus} hart(s): " + "; ".join(parts))


if __name__ == "__main__":
    main()
