#!/usr/bin/env python3
"""Snapshot benchmark (issue 23): save and restore of a 512 MiB Debian guest after boot, trapeze
through Firecracker's API against QEMU's migration to a file through QMP, in the same run.

  full save   PUT /snapshot/create Full of the paused VM, request to 204 (wall ms); QEMU: `migrate`
              to "exec:cat > FILE" of the stopped VM until query-migrate says completed
  diff save   PUT /snapshot/create Diff after the guest ran 1 s more (QEMU has no diff to a file)
  restore     PUT /snapshot/load with resume_vm into a VMM process already listening, request to
              204: the machine is built and its harts start (the first guest instruction follows
              at once); QEMU: `migrate-incoming` "exec:cat FILE" into `-incoming defer` until
              completed
  files       the memory file's length and what it occupies on disk (sparse: untouched pages
              are holes); QEMU's migration stream

Goals: restore <= 10 ms, full save <= 300 ms, diff save <= 50 ms. Runs alternate between trapeze
and QEMU; medians over --runs. Needs an idle host.
usage: bench/snapshot.sh [--runs N] [--trapeze PATH] [--memory MIB]
"""
import argparse
import json
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, "tests/api"))
import api_test  # noqa: E402  (the test's client and guest helpers)


def ms_since(t0):
    return (time.perf_counter() - t0) * 1000


def trapeze_run(trapeze, work, i, mem_mib, initrd):
    a = api_test.Vm(trapeze, work, f"t{i}", ["--vm-engine", "jit"])
    files = {k: os.path.join(work, f"t{i}.{k}") for k in ("state", "mem", "dstate", "dmem")}
    try:
        a.api.ok("PUT", "/machine-config", {"vcpu_count": 1, "mem_size_mib": mem_mib})
        a.api.ok("PUT", "/boot-source", {"kernel_image_path": os.path.join(api_test.GUEST_DIR, "Image"),
                                         "initrd_path": initrd, "boot_args": api_test.BOOT_ARGS})
        a.api.ok("PUT", "/actions", {"action_type": "InstanceStart"})
        a.wait_for("API-GUEST-UP")
        time.sleep(1.0)
        a.api.ok("PATCH", "/vm", {"state": "Paused"})
        t0 = time.perf_counter()
        a.api.ok("PUT", "/snapshot/create", {"snapshot_type": "Full", "snapshot_path": files["state"],
                                             "mem_file_path": files["mem"]})
        full_ms = ms_since(t0)
        a.api.ok("PATCH", "/vm", {"state": "Resumed"})
        time.sleep(1.0)
        a.api.ok("PATCH", "/vm", {"state": "Paused"})
        t0 = time.perf_counter()
        a.api.ok("PUT", "/snapshot/create", {"snapshot_type": "Diff", "snapshot_path": files["dstate"],
                                             "mem_file_path": files["dmem"]})
        diff_ms = ms_since(t0)
    finally:
        a.kill()
    b = api_test.Vm(trapeze, work, f"t{i}b", ["--vm-engine", "jit"])
    try:
        t0 = time.perf_counter()
        b.api.ok("PUT", "/snapshot/load", {"snapshot_path": files["state"], "resume_vm": True,
                                           "mem_backend": {"backend_type": "File", "backend_path": files["mem"]}})
        load_ms = ms_since(t0)
        while not b.clocks():  # the guest runs on
            api_test.check(b.proc.poll() is None, f"the loaded VM exited\n{b.tail()}")
            time.sleep(0.05)
    finally:
        b.kill()
    st, dst = os.stat(files["mem"]), os.stat(files["dmem"])
    sizes = (st.st_size, st.st_blocks * 512, dst.st_blocks * 512, os.stat(files["state"]).st_size)
    for f in files.values():
        os.unlink(f)
    return full_ms, diff_ms, load_ms, sizes


class Qmp:
    def __init__(self, path, proc):
        deadline = time.monotonic() + 30
        while True:
            self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            try:
                self.sock.connect(path)
                break
            except OSError:
                self.sock.close()
                if proc.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError("QEMU's QMP socket never accepted")
                time.sleep(0.005)
        self.f = self.sock.makefile("rwb")
        self.f.readline()
        self.call("qmp_capabilities")

    def call(self, cmd, **args):
        self.f.write(json.dumps({"execute": cmd, "arguments": args}).encode() + b"\n")
        self.f.flush()
        while True:
            reply = json.loads(self.f.readline())
            if "return" in reply or "error" in reply:
                return reply

    def wait_migration(self):
        while True:
            st = self.call("query-migrate")["return"].get("status")
            if st == "completed":
                return
            if st == "failed":
                raise RuntimeError("QEMU's migration failed")
            time.sleep(0.001)


def qemu_args(work, name, mem_mib, initrd, extra):
    g = api_test.GUEST_DIR
    return ["qemu-system-riscv64", "-machine", "virt", "-m", str(mem_mib), "-smp", "1", "-display", "none",
            "-monitor", "none", "-serial", f"file:{os.path.join(work, name + '.console')}",
            "-qmp", f"unix:{os.path.join(work, name + '.qmp')},server=on,wait=off", "-bios", os.path.join(g, "fw_jump.bin"),
            "-kernel", os.path.join(g, "Image"), "-initrd", initrd, "-append", api_test.BOOT_ARGS] + extra


def start_qemu(work, name, mem_mib, initrd, extra):
    """QEMU on the guest, and its QMP connection once it accepts (the process is killed if not)."""
    p = subprocess.Popen(qemu_args(work, name, mem_mib, initrd, extra), stdin=subprocess.DEVNULL,
                         stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        return p, Qmp(os.path.join(work, name + ".qmp"), p)
    except Exception:
        p.kill()
        p.wait()
        raise


def qemu_run(work, i, mem_mib, initrd):
    stream = os.path.join(work, f"q{i}.migration")
    p, q = start_qemu(work, f"q{i}", mem_mib, initrd, [])
    try:
        console = os.path.join(work, f"q{i}.console")
        deadline = time.monotonic() + api_test.TIMEOUT
        while b"API-GUEST-UP" not in open(console, "rb").read():
            if time.monotonic() > deadline or p.poll() is not None:
                raise RuntimeError("QEMU's guest never came up")
            time.sleep(0.1)
        time.sleep(1.0)
        q.call("stop")
        t0 = time.perf_counter()
        q.call("migrate", uri=f"exec:cat > {stream}")
        q.wait_migration()
        save_ms = ms_since(t0)
    finally:
        p.kill()
        p.wait()
    p, q = start_qemu(work, f"q{i}b", mem_mib, initrd, ["-incoming", "defer"])
    try:
        t0 = time.perf_counter()
        q.call("migrate-incoming", uri=f"exec:cat {stream}")
        q.wait_migration()
        load_ms = ms_since(t0)
    finally:
        p.kill()
        p.wait()
    size = os.stat(stream).st_size
    os.unlink(stream)
    return save_ms, load_ms, size


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--memory", type=int, default=512)
    ap.add_argument("--trapeze", default=os.path.join(ROOT, "build/trapeze"))
    a = ap.parse_args()
    work = tempfile.mkdtemp(prefix="trapeze-bench-snapshot-")
    initrd = api_test.make_initrd(work)
    t_full, t_diff, t_load, q_save, q_load = [], [], [], [], []
    for i in range(a.runs):
        full_ms, diff_ms, load_ms, sizes = trapeze_run(a.trapeze, work, i, a.memory, initrd)
        t_full.append(full_ms)
        t_diff.append(diff_ms)
        t_load.append(load_ms)
        qs, ql, qsize = qemu_run(work, i, a.memory, initrd)
        q_save.append(qs)
        q_load.append(ql)
        print(f"run {i + 1}: trapeze full {full_ms:.1f} ms, diff {diff_ms:.1f} ms, restore {load_ms:.1f} ms; "
              f"memory file {sizes[0] >> 20} MiB long, {sizes[1] / 2**20:.1f} MiB on disk (diff "
              f"{sizes[2] / 2**20:.1f} MiB), state {sizes[3]} bytes | QEMU save {qs:.1f} ms, restore {ql:.1f} ms, "
              f"stream {qsize / 2**20:.1f} MiB", flush=True)
    med = statistics.median
    print(f"full save: trapeze {med(t_full):.1f} ms, QEMU {med(q_save):.1f} ms  "
          f"(trapeze/QEMU {med(t_full) / med(q_save):.2f}; goal <= 300 ms)")
    print(f"diff save: trapeze {med(t_diff):.1f} ms  (goal <= 50 ms; QEMU has none)")
    print(f"restore:   trapeze {med(t_load):.1f} ms, QEMU {med(q_load):.1f} ms  "
          f"(trapeze/QEMU {med(t_load) / med(q_load):.2f}; goal <= 10 ms)")


if __name__ == "__main__":
    main()
