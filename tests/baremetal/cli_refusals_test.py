#!/usr/bin/env python3
"""`trapeze` command lines that must be refused: each ends at once with a non-zero status and
one line on stderr that names the problem, before the guest runs, and changes no file it was
given. A command line that is not refused would run the guest (a bare-metal one that never
ends) and fails the test after a timeout instead of blocking ctest.

    cli_refusals_test.py TRAPEZE GUEST_ELF

GUEST_ELF is a bare-metal guest that keeps its harts busy (cpu_hog.elf). Exit status 0: pass.
"""
import hashlib
import os
import subprocess
import sys
import tempfile

kTimeout = 20  # seconds; a refusal takes milliseconds


def digest(path):
    with open(path, "rb") as f:
        return hashlib.sha256(f.read()).hexdigest()


def refused(trapeze, args, says, failures, unchanged=(), once=None):
    cmd = [trapeze] + args
    before = {p: digest(p) for p in unchanged}
    try:
        p = subprocess.run(cmd, stdin=subprocess.DEVNULL, capture_output=True, text=True, timeout=kTimeout)
    except subprocess.TimeoutExpired:
        failures.append(f"{' '.join(cmd)}: still running after {kTimeout} s (it should have refused to start)")
        return
    err = p.stderr.strip()
    print(f"{' '.join(cmd)}: status {p.returncode}: {err}")
    if p.returncode == 0 or says not in err:
        failures.append(f"{' '.join(cmd)}: status {p.returncode}, expected an error saying '{says}', got: {err}")
    elif "\n" in err:
        failures.append(f"{' '.join(cmd)}: more than one line on stderr: {err}")
    elif once is not None and err.count(once) != 1:
        failures.append(f"{' '.join(cmd)}: '{once}' {err.count(once)} times in: {err}")
    for path, sha in before.items():
        if digest(path) != sha:
            failures.append(f"{' '.join(cmd)}: changed '{path}'")


def accepted(trapeze, args, failures):
    """The command line starts the (never-ending) guest: still running after a moment."""
    cmd = [trapeze] + args
    p = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    try:
        _, err = p.communicate(timeout=2)
        failures.append(f"{' '.join(cmd)}: status {p.returncode} (expected it to run): {err.strip()}")
    except subprocess.TimeoutExpired:
        p.terminate()
        p.communicate()


def main():
    trapeze, guest = sys.argv[1], sys.argv[2]
    failures = []
    with tempfile.TemporaryDirectory() as work:
        empty = os.path.join(work, "empty.bin")
        open(empty, "wb").close()
        # --bios: an empty firmware left the harts on zeros at the reset vector, silently.
        refused(trapeze, ["run", "--bios", empty, "--kernel", guest, "--no-stats"], "is empty", failures)
        refused(trapeze, ["run", "--bios", work, "--kernel", guest, "--no-stats"], "is a directory", failures)
        refused(trapeze, ["run", "--bios", os.path.join(work, "none.bin"), "--kernel", guest, "--no-stats"],
                "does not exist", failures)
        bare = ["run", "--bios", "none", "--kernel", guest, "--no-stats"]
        # An empty value had been taken for the option left out; 0 checkpoints for none.
        log = os.path.join(work, "run.log")
        for option in ["--hart-affinity", "--gdb", "--record", "--snapshot-path"]:
            refused(trapeze, bare + ["--cpus", "2", option, ""], f"{option}: is empty", failures)
        refused(trapeze, ["--cgroup", ""] + bare, "--cgroup: is empty", failures)
        refused(trapeze, ["run", "--bios", "", "--kernel", guest, "--no-stats"], "--bios: is empty", failures)
        refused(trapeze, ["--api-sock", "", "--no-api"], "--api-sock: is empty", failures)
        refused(trapeze, bare + ["--record", log, "--checkpoint-every", "0"], "--checkpoint-every: 0", failures)
        if os.path.exists(log):
            failures.append("a refused --record left its log behind")
        # --memory: QEMU's -m suffixes are taken, and what is no size says so (CLI11's range
        # check had answered "Value 1G not in range 16 to 65536" for both).
        accepted(trapeze, bare + ["--memory", "1G"], failures)
        refused(trapeze, bare + ["--memory", "1x"], "--memory: '1x' is not a size in MiB", failures)
        # Out of range: named as typed, not as the MiB it converts to ("Value 66560 not in range").
        refused(trapeze, bare + ["--memory", "65G"], "--memory: '65G' is not between 16 MiB and 64 GiB", failures)
        # --cpus: what is no number says so (it had been "Value abc not in range 1 to 32").
        refused(trapeze, bare + ["--cpus", "abc"], "--cpus: 'abc' is not a number of harts (1 to 32)", failures)
        refused(trapeze, bare + ["--cpus", "0"], "--cpus: '0' is not 1 to 32 harts", failures)
        # Two disks with one id (the virtio-blk serial that /dev/disk/by-id names).
        disks = [os.path.join(work, name) for name in ("a.img", "b.img")]
        for d in disks:
            with open(d, "wb") as f:
                f.write(b"\0" * 4096)
        refused(trapeze, bare + ["--disk", f"{disks[0]},id=data", "--disk", f"{disks[1]},ro,id=data"],
                f"id 'data' is already that of --disk '{disks[0]},id=data'", failures, unchanged=disks)
        # A qcow2 image is not served as raw bytes (a guest formatting it would destroy it).
        qcow2 = os.path.join(work, "vm.qcow2")
        with open(qcow2, "wb") as f:
            f.write(b"QFI\xfb\0\0\0\3" + b"\0" * 4088)
        refused(trapeze, bare + ["--disk", qcow2], "is a qcow2 image", failures, unchanged=[qcow2])
        # rebase-snap onto itself: the same path, or another name of the same file.
        mem = os.path.join(work, "vm.mem")
        with open(mem, "wb") as f:
            f.write(b"\1" * 8192)
        os.link(mem, os.path.join(work, "link.mem"))
        for diff in (mem, os.path.join(work, "link.mem")):
            refused(trapeze, ["rebase-snap", "--base-file", mem, "--diff-file", diff], "are the same file", failures,
                    unchanged=[mem])
        # --net: each message names the option and its value once.
        for net, says in [("slirp", "expected user"), ("tap=", "needs an interface name"),
                          ("user,hostfwd=tcp::0-:22", "host port '0'"), ("user,mac=01:00:5e:00:00:01", "multicast"),
                          # the whole address, not the byte where parsing stopped
                          ("user,mac=02:00:00:00:00:0g", "MAC address '02:00:00:00:00:0g' is not six hex bytes")]:
            refused(trapeze, bare + ["--net", net], says, failures, once="--net")
    for f in failures:
        print(f"FAIL: {f}")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
