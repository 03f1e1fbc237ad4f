#!/usr/bin/env python3
"""Drives real trapeze VMM processes through Firecracker's API on their unix sockets (issue 22).

usage: api_test.py TRAPEZE SCENARIO [ENGINE]
  client-flow   Firecracker's getting-started request sequence (logger, machine-config,
                boot-source, drives, network, entropy, metrics, InstanceStart) boots the Debian
                guest to its marker; every documented error answers 400 with a fault message and
                the VM keeps running; pause and resume (the guest's clock stops and goes on);
                FlushMetrics writes Firecracker-shaped metrics; the guest ends, the process exits 0.
  config-file   --config-file with --no-api boots the same guest without any socket.
  three-vms     three VMs with different configurations at once, each its own process and
                socket; killing one leaves the others running and answering.
  x86-snapshots GUEST_ELF: the x86-64 test guest on KVM paused mid-computation, saved, killed,
                loaded paused in a new process (nothing runs), resumed: its output goes on from
                the next step.
  snapshots     PUT /snapshot/create (Full, then Diff) of a paused VM; PUT /snapshot/load in new
                processes under the other engine: resume_vm true continues the guest's clock from
                where it stopped; the Diff merged with `trapeze rebase-snap` loads paused and runs
                no instruction until PATCH /vm Resumed; bad loads answer 400 and lose nothing.

The guest is Debian's kernel with test-initrd.img plus tests/api/api_init.sh as /api_init.
"""
import gzip
import hashlib
import http.client
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
GUEST_DIR = os.environ.get("TRAPEZE_GUEST_DIR") or os.path.join(
    os.environ.get("XDG_CACHE_HOME") or os.path.expanduser("~/.cache"), "trapeze/debian-riscv64")
TIMEOUT = float(os.environ.get("TRAPEZE_GUEST_TIMEOUT", "600"))
BOOT_ARGS = "console=ttyS0 reboot=k panic=1 pci=off rdinit=/api_init"


class Fail(Exception):
    pass


def check(cond, what):
    if not cond:
        raise Fail(what)


class UnixHTTPConnection(http.client.HTTPConnection):
    def __init__(self, path):
        super().__init__("localhost", timeout=120)
        self.path = path

    def connect(self):
        # The socket file appears at bind(), a moment before listen(): a connection in between
        # is refused (seen on a loaded host), so that one is tried again for a little while.
        deadline = time.time() + 5
        while True:
            self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            self.sock.settimeout(120)
            try:
                self.sock.connect(self.path)
                return
            except ConnectionRefusedError:
                self.sock.close()
                if time.time() > deadline:
                    raise
                time.sleep(0.01)


class Api:
    """One keep-alive connection, as Firecracker's clients hold one."""

    def __init__(self, path):
        self.path = path
        self.conn = UnixHTTPConnection(path)

    def call(self, method, url, body=None, raw=None):
        data = raw if raw is not None else (json.dumps(body) if body is not None else None)
        headers = {"Content-Type": "application/json", "Accept": "application/json"}
        try:
            self.conn.request(method, url, body=data, headers=headers)
            resp = self.conn.getresponse()
            text = resp.read().decode()
        except (ConnectionError, http.client.HTTPException):
            self.conn.close()
            self.conn = UnixHTTPConnection(self.path)
            raise
        return resp.status, (json.loads(text) if text else None)

    def ok(self, method, url, body=None):
        status, reply = self.call(method, url, body)
        check(status == 204, f"{method} {url} {body}: expected 204, got {status} {reply}")

    def refused(self, method, url, body=None, raw=None, fault_has=""):
        status, reply = self.call(method, url, body, raw)
        check(status == 400, f"{method} {url}: expected 400, got {status} {reply}")
        check(isinstance(reply, dict) and isinstance(reply.get("fault_message"), str),
              f"{method} {url}: no fault_message in {reply}")
        check(fault_has in reply["fault_message"], f"{method} {url}: fault '{reply['fault_message']}' lacks '{fault_has}'")


class Vm:
    """A trapeze VMM process with its console captured."""

    def __init__(self, trapeze, work, name, extra_args, api=True):
        self.name = name
        self.sock = os.path.join(work, f"{name}.sock")
        self.console_path = os.path.join(work, f"{name}.console")
        self.stderr_path = os.path.join(work, f"{name}.stderr")
        args = [trapeze] + (["--api-sock", self.sock] if api else []) + ["--id", name] + extra_args
        self.proc = subprocess.Popen(args, stdin=subprocess.PIPE, stdout=open(self.console_path, "wb"),
                                     stderr=open(self.stderr_path, "wb"))
        if api:
            deadline = time.time() + 30
            while not os.path.exists(self.sock):
                check(self.proc.poll() is None, f"{name}: exited with {self.proc.returncode} before its socket: {self.stderr()}")
                check(time.time() < deadline, f"{name}: no API socket after 30 s")
                time.sleep(0.01)
            self.api = Api(self.sock)

    def console(self):
        with open(self.console_path, "rb") as f:
            return f.read().decode(errors="replace").replace("\r", "")

    def stderr(self):
        with open(self.stderr_path, "rb") as f:
            return f.read().decode(errors="replace")

    def wait_for(self, marker, after=0):
        deadline = time.time() + TIMEOUT
        while marker not in self.console()[after:]:
            check(self.proc.poll() is None, f"{self.name}: exited with {self.proc.returncode} before '{marker}'\n{self.tail()}")
            check(time.time() < deadline, f"{self.name}: no '{marker}' within {TIMEOUT} s\n{self.tail()}")
            time.sleep(0.1)

    def value(self, key):
        lines = [l for l in self.console().splitlines() if l.startswith(f"API-GUEST: {key}=")]
        return lines[-1].split("=", 1)[1] if lines else None

    def clocks(self):
        out = []
        for line in self.console().splitlines():
            if line.startswith("API-CLOCK: "):
                try:
                    out.append(float(line.split()[1]))
                except ValueError:
                    pass
        return out

    def send(self, text):
        self.proc.stdin.write(text.encode())
        self.proc.stdin.flush()

    def finish(self):
        self.send("quit\n")
        try:
            status = self.proc.wait(timeout=120)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            raise Fail(f"{self.name}: did not exit after quit\n{self.tail()}")
        check(status == 0, f"{self.name}: exit status {status}\n{self.tail()}")
        check(not os.path.exists(self.sock), f"{self.name}: left its socket behind")

    def kill(self):
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()

    def tail(self):
        return "--- console\n" + "\n".join(self.console().splitlines()[-30:]) + "\n--- stderr\n" + self.stderr()


def make_initrd(work):
    root = os.path.join(work, "root")
    os.makedirs(root)
    shutil.copy(os.path.join(HERE, "api_init.sh"), os.path.join(root, "api_init"))
    os.chmod(os.path.join(root, "api_init"), 0o755)
    cpio = subprocess.run(["cpio", "-o", "-H", "newc", "-R", "0:0", "--quiet"], cwd=root, input=b"api_init\n",
                          capture_output=True, check=True).stdout
    path = os.path.join(work, "initrd.img")
    with open(path, "wb") as out:
        with open(os.path.join(GUEST_DIR, "test-initrd.img"), "rb") as base:
            shutil.copyfileobj(base, out)
        out.write(gzip.compress(cpio))
    return path


def make_disk(work, name, tag):
    path = os.path.join(work, name)
    with open(path, "wb") as f:
        f.write(tag.encode().ljust(16, b"_"))
        f.truncate(4 << 20)
    return path


def configure(vm, initrd, disk, vcpus=2, mem=256, entropy=True, logs=None):
    """Firecracker's getting-started sequence, with trapeze's kernel and disk."""
    a = vm.api
    if logs:
        a.ok("PUT", "/logger", {"log_path": logs, "level": "Debug", "show_level": True, "show_log_origin": True})
    a.ok("PUT", "/machine-config", {"vcpu_count": vcpus, "mem_size_mib": mem})
    a.ok("PUT", "/boot-source", {"kernel_image_path": os.path.join(GUEST_DIR, "Image"), "initrd_path": initrd,
                                 "boot_args": BOOT_ARGS})
    a.ok("PUT", "/drives/rootfs", {"drive_id": "rootfs", "path_on_host": disk, "is_root_device": True,
                                   "is_read_only": False})
    a.ok("PUT", "/network-interfaces/net1", {"iface_id": "net1", "guest_mac": "06:00:AC:10:00:02",
                                             "host_dev_name": "unused", "backend": "user"})
    if entropy:
        a.ok("PUT", "/entropy", {})


def client_flow(trapeze, work, engine):
    initrd = make_initrd(work)
    disk = make_disk(work, "rootfs.img", "APIDISK-ROOTFS")
    metrics = os.path.join(work, "metrics.json")
    logs = os.path.join(work, "trapeze.log")
    vm = Vm(trapeze, work, "flow", ["--vm-engine", engine])
    try:
        a = vm.api
        status, info = a.call("GET", "/")
        check(status == 200 and info["state"] == "Not started" and info["id"] == "flow", f"GET /: {status} {info}")
        status, version = a.call("GET", "/version")
        check(status == 200 and isinstance(version.get("firecracker_version"), str), f"GET /version: {version}")
        # Every documented error: 400 with a fault message, and nothing changes.
        a.refused("PUT", "/machine-config", raw="{\"vcpu_count\": 2,", fault_has="JSON")
        a.refused("PUT", "/machine-config", {"vcpu_count": 2, "mem_size_mib": 256, "cpus": 4}, fault_has="unknown field")
        a.refused("PUT", "/machine-config", {"vcpu_count": "2", "mem_size_mib": 256}, fault_has="vcpu_count")
        a.refused("PUT", "/machine-config", raw='{"vcpu_count": 2, "mem_size_mib": 256, "vcpu_count": 4}',
                  fault_has="`vcpu_count` twice")
        a.refused("PUT", "/boot-source", {"kernel_image_path": os.path.join(work, "no-such-kernel")}, fault_has="cannot open")
        a.refused("PUT", "/drives/rootfs", raw=json.dumps({"drive_id": "rootfs", "path_on_host": "x" * 60000,
                                                           "is_root_device": True}), fault_has="larger than the limit")
        a.refused("PUT", "/drives/root-fs", {"drive_id": "root-fs", "path_on_host": disk, "is_root_device": True},
                  fault_has="may hold only letters, digits and '_'")
        a.refused("GET", "/no/such/path", fault_has="Invalid request")
        a.refused("DELETE", "/machine-config", fault_has="Invalid request")
        a.refused("PATCH", "/vm", {"state": "Paused"}, fault_has="before starting")
        a.refused("PUT", "/actions", {"action_type": "InstanceStart"}, fault_has="boot source")
        configure(vm, initrd, disk, logs=logs)
        a.ok("PUT", "/metrics", {"metrics_path": metrics})
        status, cfg = a.call("GET", "/vm/config")
        check(status == 200 and cfg["machine-config"]["vcpu_count"] == 2 and cfg["drives"][0]["drive_id"] == "rootfs",
              f"GET /vm/config: {cfg}")
        a.ok("PUT", "/actions", {"action_type": "InstanceStart"})
        vm.wait_for("API-GUEST-UP")
        check(vm.value("harts") == "2", f"harts: {vm.value('harts')}")
        check(vm.value("vda") == "APIDISK-ROOTFS__", f"vda: {vm.value('vda')}")
        check(vm.value("hwrng") == "32", f"hwrng: {vm.value('hwrng')}")
        check("root=/dev/vda rw" in (vm.value("cmdline") or ""), f"cmdline: {vm.value('cmdline')}")
        mem = int(vm.value("mem_kib") or 0)
        check(150 * 1024 < mem <= 256 * 1024, f"MemTotal {mem} kB for mem_size_mib 256")
        # After boot: pre-boot requests refused, the VM still running.
        a.refused("PUT", "/machine-config", {"vcpu_count": 1, "mem_size_mib": 128}, fault_has="after starting")
        a.refused("PUT", "/boot-source", {"kernel_image_path": "/x"}, fault_has="after starting")
        a.refused("PUT", "/actions", {"action_type": "InstanceStart"}, fault_has="after starting")
        a.refused("PUT", "/actions", raw="[]", fault_has="object")
        check(a.call("GET", "/")[1]["state"] == "Running", "not Running after the errors")
        pause_and_resume(vm)
        # Post-boot changes: another image behind the root drive, rate limiters on it and the NIC.
        other = make_disk(work, "other.img", "APIDISK-OTHER")
        limiter = {"bandwidth": {"size": 1 << 20, "refill_time": 100}, "ops": {"size": 100, "refill_time": 100}}
        a.ok("PATCH", "/drives/rootfs", {"drive_id": "rootfs", "path_on_host": other, "rate_limiter": limiter})
        a.ok("PATCH", "/network-interfaces/net1", {"iface_id": "net1", "rx_rate_limiter": limiter})
        a.refused("PATCH", "/drives/rootfs", {"drive_id": "rootfs", "path_on_host": os.path.join(work, "gone.img")},
                  fault_has="gone.img")
        a.refused("PATCH", "/drives/nodrive", {"drive_id": "nodrive"}, fault_has="no drive")
        status, cfg = a.call("GET", "/vm/config")
        check(cfg["drives"][0]["path_on_host"] == other and cfg["drives"][0]["rate_limiter"] == limiter,
              f"PATCH /drives not in /vm/config: {cfg['drives']}")
        a.ok("PUT", "/actions", {"action_type": "FlushMetrics"})
        with open(metrics) as f:
            lines = [json.loads(l) for l in f if l.strip()]
        check(lines and "utc_timestamp_ms" in lines[-1], f"metrics: {lines}")
        put = sum(l.get("put_api_requests", {}).get("machine_cfg_count", 0) for l in lines)
        check(put >= 3, f"metrics counted {put} PUT /machine-config, expected at least 3")
        reads = sum(l.get("block", {}).get("read_count", 0) for l in lines)
        mmio = sum(l.get("vcpu", {}).get("exit_mmio_write", 0) for l in lines)
        check(reads > 0 and mmio > 0, f"device counters missing from the metrics: block reads {reads}, MMIO writes {mmio}")
        vm.finish()
        with open(metrics) as f:
            check(len([l for l in f if l.strip()]) >= 2, "no final metrics flush at exit")
        check(os.path.getsize(logs) > 0, "nothing in the logger's file")
    except Exception:
        vm.kill()
        raise
    print("PASS: client flow (errors answered, pause/resume, metrics, clean exit)")


def pause_and_resume(vm):
    """Paused, the guest's clock does not advance and it prints nothing; resumed, it goes on."""
    a = vm.api
    time.sleep(1)
    a.ok("PATCH", "/vm", {"state": "Paused"})
    check(a.call("GET", "/")[1]["state"] == "Paused", "GET / does not say Paused")
    time.sleep(0.5)  # output written just before the pause reaches the file
    before = vm.clocks()
    host_paused = time.time()
    time.sleep(3)
    check(vm.clocks() == before, "the guest printed while paused")
    a.ok("PATCH", "/vm", {"state": "Resumed"})
    host_gap = time.time() - host_paused
    deadline = time.time() + 60
    while len(vm.clocks()) <= len(before) + 2:
        check(time.time() < deadline, "the guest did not go on after Resumed")
        time.sleep(0.1)
    after = vm.clocks()
    guest_gap = after[len(before)] - before[-1]
    # The guest slept 0.2 s between readings; a clock that ran on would show >= 3 s.
    check(guest_gap < host_gap - 1.5, f"the guest's clock moved {guest_gap:.2f} s across a {host_gap:.2f} s pause")
    print(f"pause: host {host_gap:.2f} s, guest clock {guest_gap:.2f} s")


def config_file(trapeze, work, engine):
    initrd = make_initrd(work)
    disk = make_disk(work, "cfg.img", "APIDISK-CONFIG")
    cfg = {"boot-source": {"kernel_image_path": os.path.join(GUEST_DIR, "Image"), "initrd_path": initrd,
                           "boot_args": BOOT_ARGS},
           "drives": [{"drive_id": "rootfs", "path_on_host": disk, "is_root_device": True, "is_read_only": True}],
           "machine-config": {"vcpu_count": 1, "mem_size_mib": 192}}
    path = os.path.join(work, "vm.json")
    with open(path, "w") as f:
        json.dump(cfg, f)
    vm = Vm(trapeze, work, "cfg", ["--vm-engine", engine, "--config-file", path, "--no-api"], api=False)
    try:
        vm.wait_for("API-GUEST-UP")
        check(vm.value("vda") == "APIDISK-CONFIG__", f"vda: {vm.value('vda')}")
        check(vm.value("harts") == "1", f"harts: {vm.value('harts')}")
        check("root=/dev/vda ro" in (vm.value("cmdline") or ""), f"cmdline: {vm.value('cmdline')}")
        check(not any(n.endswith(".sock") for n in os.listdir(work)), "a socket exists with --no-api")
        vm.finish()
    except Exception:
        vm.kill()
        raise
    print("PASS: --config-file boot without an API socket")


def three_vms(trapeze, work, engine):
    initrd = make_initrd(work)
    vms = []
    try:
        for i, (vcpus, mem) in enumerate([(1, 128), (2, 192), (1, 160)]):
            vm = Vm(trapeze, work, f"vm{i}", ["--vm-engine", engine])
            configure(vm, initrd, make_disk(work, f"disk{i}.img", f"APIDISK-VM{i}"), vcpus=vcpus, mem=mem,
                      entropy=(i != 1))
            vms.append(vm)
        for vm in vms:
            vm.api.ok("PUT", "/actions", {"action_type": "InstanceStart"})
        for i, vm in enumerate(vms):
            vm.wait_for("API-GUEST-UP")
            check(vm.value("vda") == f"APIDISK-VM{i}".ljust(16, "_"), f"vm{i} sees disk {vm.value('vda')}")
        check(vms[1].value("harts") == "2" and vms[0].value("harts") == "1", "wrong hart counts")
        check(vms[1].value("hwrng") in (None, "0") and vms[0].value("hwrng") == "32", "entropy device where not configured")
        vms[1].proc.send_signal(signal.SIGKILL)
        vms[1].proc.wait()
        for vm in (vms[0], vms[2]):
            n = len(vm.clocks())
            deadline = time.time() + 60
            while len(vm.clocks()) < n + 3:
                check(vm.proc.poll() is None, f"{vm.name} died with vm1")
                check(time.time() < deadline, f"{vm.name} stopped running after vm1 was killed")
                time.sleep(0.1)
            check(vm.api.call("GET", "/")[1]["state"] == "Running", f"{vm.name} not Running")
        vms[0].finish()
        vms[2].finish()
    except Exception:
        for vm in vms:
            vm.kill()
        raise
    print("PASS: three VMs at once; killing one left the others running")


def first_clock_after(vm, after):
    deadline = time.time() + TIMEOUT
    while True:
        clocks = [c for c in vm.clocks()]
        if clocks:
            return clocks[0]
        check(vm.proc.poll() is None, f"{vm.name}: exited with {vm.proc.returncode}\n{vm.tail()}")
        check(time.time() < deadline, f"{vm.name}: no clock line\n{vm.tail()}")
        time.sleep(0.1)


def merged_memory(trapeze, work, full_mem, diff_mem, name):
    """A copy of the Full's memory file with the Diff merged onto it by `trapeze rebase-snap`."""
    merged = os.path.join(work, name)
    shutil.copy(full_mem, merged)
    r = subprocess.run([trapeze, "rebase-snap", "--base-file", merged, "--diff-file", diff_mem], capture_output=True)
    check(r.returncode == 0, f"rebase-snap failed: {r.stderr.decode()}")
    return merged


def file_digest(path):
    with open(path, "rb") as f:
        return hashlib.file_digest(f, "sha256").hexdigest()


def other_engine(engine):
    return "interp" if engine == "jit" else "jit"


def snapshots(trapeze, work, engine):
    initrd = make_initrd(work)
    disk = make_disk(work, "rootfs.img", "APIDISK-SNAP")
    a = Vm(trapeze, work, "snap-a", ["--vm-engine", engine])
    full = (os.path.join(work, "full.state"), os.path.join(work, "full.mem"))
    diff = (os.path.join(work, "diff.state"), os.path.join(work, "diff.mem"))
    try:
        configure(a, initrd, disk, vcpus=2, mem=256, entropy=True)
        a.api.ok("PUT", "/actions", {"action_type": "InstanceStart"})
        a.wait_for("API-GUEST-UP")
        while len(a.clocks()) < 3:
            time.sleep(0.1)
        create = lambda paths, kind: {"snapshot_type": kind, "snapshot_path": paths[0], "mem_file_path": paths[1]}
        a.api.refused("PUT", "/snapshot/create", create(full, "Full"), fault_has="pause it first")
        a.api.refused("PUT", "/snapshot/create", {"snapshot_type": "Half", "snapshot_path": full[0],
                                                  "mem_file_path": full[1]}, fault_has="Full or Diff")
        a.api.ok("PATCH", "/vm", {"state": "Paused"})
        time.sleep(0.5)  # the console catches up with what the guest printed before the pause
        a.api.ok("PUT", "/snapshot/create", create(full, "Full"))
        c_full = a.clocks()[-1]
        a.api.ok("PATCH", "/vm", {"state": "Resumed"})
        while a.clocks()[-1] < c_full + 2.0:
            check(a.proc.poll() is None, f"snap-a exited\n{a.tail()}")
            time.sleep(0.1)
        a.api.ok("PATCH", "/vm", {"state": "Paused"})
        time.sleep(0.5)
        # Refused creates change nothing: not the Full's memory file one names, not the pages the
        # Diff below holds (checked against a Full of the same instant), and leave no file behind.
        full_mem_before = file_digest(full[1])
        listing = sorted(os.listdir(work))
        a.api.refused("PUT", "/snapshot/create", create((os.path.join(work, "no", "s"), full[1]), "Diff"),
                      fault_has="snapshot state")
        a.api.refused("PUT", "/snapshot/create", create((os.path.join(work, "s"), os.path.join(work, "no", "m")), "Diff"),
                      fault_has="snapshot memory")
        check(file_digest(full[1]) == full_mem_before, "a refused create replaced the memory file it named")
        check(sorted(os.listdir(work)) == listing, f"refused creates left files: {sorted(os.listdir(work))} against {listing}")
        a.api.ok("PUT", "/snapshot/create", create(diff, "Diff"))
        same_instant = (os.path.join(work, "full2.state"), os.path.join(work, "full2.mem"))
        a.api.ok("PUT", "/snapshot/create", create(same_instant, "Full"))
        c_diff = a.clocks()[-1]
        full_size = os.stat(full[1]).st_blocks * 512
        diff_size = os.stat(diff[1]).st_blocks * 512
        check(0 < diff_size < full_size, f"the Diff's memory file ({diff_size} bytes on disk) is not smaller than the Full's ({full_size})")
    finally:
        a.kill()  # SIGKILL: what is loaded below owes nothing to this process

    # Full, resumed at once, under the other engine: the guest's uptime goes on from the snapshot.
    b = Vm(trapeze, work, "snap-b", ["--vm-engine", other_engine(engine)])
    try:
        b.api.ok("PUT", "/snapshot/load", {"snapshot_path": full[0],
                                            "mem_backend": {"backend_type": "File", "backend_path": full[1]},
                                            "resume_vm": True})
        status, info = b.api.call("GET", "/")
        check(status == 200 and info["state"] == "Running", f"GET / after load: {status} {info}")
        status, mc = b.api.call("GET", "/machine-config")
        check(mc["vcpu_count"] == 2 and mc["mem_size_mib"] == 256, f"machine-config after load: {mc}")
        # Its drive is the API's: shown by GET /vm/config and changed by PATCH /drives.
        status, vc = b.api.call("GET", "/vm/config")
        check([d["drive_id"] for d in vc["drives"]] == ["rootfs"] and vc["drives"][0]["path_on_host"] == disk,
              f"drives after load: {vc['drives']}")
        b.api.ok("PATCH", "/drives/rootfs", {"drive_id": "rootfs", "path_on_host": disk})
        b.api.refused("PUT", "/snapshot/load", {"snapshot_path": full[0], "mem_file_path": full[1]},
                      fault_has="not supported after starting")
        first = first_clock_after(b, 0)
        check(c_full - 0.01 <= first <= c_full + 1.0,
              f"the loaded VM's clock starts at {first}; it was {c_full} when the snapshot was taken")
        b.finish()
    finally:
        b.kill()

    # The Diff merged onto a copy of the Full's memory, loaded paused: nothing runs until resumed.
    merged = merged_memory(trapeze, work, full[1], diff[1], "merged.mem")
    check(file_digest(merged) == file_digest(same_instant[1]),
          "the Full's memory with the Diff merged onto it is not the memory of a Full of the Diff's instant")
    c = Vm(trapeze, work, "snap-c", ["--vm-engine", other_engine(engine)])
    try:
        c.api.ok("PUT", "/snapshot/load", {"snapshot_path": diff[0], "mem_file_path": merged})
        status, info = c.api.call("GET", "/")
        check(info["state"] == "Paused", f"GET / after a load without resume_vm: {info}")
        time.sleep(1.5)
        check(not c.clocks(), f"the VM loaded paused ran: {c.clocks()}")
        c.api.ok("PATCH", "/vm", {"state": "Resumed"})
        first = first_clock_after(c, 0)
        check(c_diff - 0.01 <= first <= c_diff + 1.0,
              f"the Diff's VM clock starts at {first}; it was {c_diff} when the Diff was taken")
        c.finish()
    finally:
        c.kill()

    # Refusals: each answers 400 with a reason, and the VMM can still load a good snapshot after.
    bad = os.path.join(work, "bad.state")
    with open(full[0], "rb") as f:
        data = bytearray(f.read())
    data[len(data) // 2] ^= 0xff
    with open(bad, "wb") as f:
        f.write(data)
    short_mem = os.path.join(work, "short.mem")
    with open(short_mem, "wb") as f:
        f.truncate(128 << 20)
    d = Vm(trapeze, work, "snap-d", ["--vm-engine", engine])
    try:
        load = lambda state, mem: {"snapshot_path": state, "mem_backend": {"backend_type": "File", "backend_path": mem}}
        d.api.refused("PUT", "/snapshot/load", load(bad, full[1]), fault_has="checksum")
        d.api.refused("PUT", "/snapshot/load", load(full[0], short_mem), fault_has="bytes")
        d.api.refused("PUT", "/snapshot/load", load(os.path.join(work, "nothing"), full[1]), fault_has="nothing")
        d.api.refused("PUT", "/snapshot/load", {"snapshot_path": full[0], "mem_backend": {"backend_type": "Uffd",
                                                                                           "backend_path": "/x"}},
                      fault_has="Uffd")
        d.api.refused("PUT", "/snapshot/load", {"snapshot_path": full[0]}, fault_has="exactly one")
        d.api.ok("PUT", "/snapshot/load", dict(load(full[0], full[1]), resume_vm=True))
        first_clock_after(d, 0)
        d.finish()
    finally:
        d.kill()
    e = Vm(trapeze, work, "snap-e", ["--vm-engine", engine])
    try:
        e.api.ok("PUT", "/boot-source", {"kernel_image_path": os.path.join(GUEST_DIR, "Image")})
        e.api.refused("PUT", "/snapshot/load", {"snapshot_path": full[0], "mem_file_path": full[1]},
                      fault_has="after configuring")
    finally:
        e.kill()
    # A machine-config shapes the VM too (as in Firecracker): a load after it is refused, not
    # done with the snapshot's shape in its place.
    f = Vm(trapeze, work, "snap-f", ["--vm-engine", engine])
    try:
        f.api.ok("PUT", "/machine-config", {"vcpu_count": 1, "mem_size_mib": 512})
        f.api.refused("PUT", "/snapshot/load", {"snapshot_path": full[0], "mem_file_path": full[1]},
                      fault_has="after configuring")
    finally:
        f.kill()
    print(f"PASS: Full and Diff snapshots through the API ({engine} -> {other_engine(engine)}); "
          f"clock {c_full:.2f} and {c_diff:.2f} resumed; Diff {diff_size} bytes vs Full {full_size}")


def goes_on_from(saved, resumed, who):
    """The progress steps the saving VM printed, then those of the VM resumed from its snapshot.

    The pause may fall inside a line (the guest writes COM1 a byte at a time), so the resumed
    console begins with the rest of that line: the two texts are checked joined, and must hold
    steps 1, 2, ... with none repeated or missing. Returns the last step begun before the
    snapshot and the first after it.
    """
    steps = lambda text: [int(n) for n in re.findall(r"x86guest: progress (\d+) acc", text)]
    joined = steps(saved + resumed)
    check(joined == list(range(1, len(joined) + 1)),
          f"{who} went on with progress steps {joined} (saved text ends {saved[-80:]!r}, resumed begins {resumed[:80]!r})")
    n_saved = len(steps(saved))
    check(n_saved < len(joined), f"{who} printed no progress step after the snapshot")
    return n_saved, n_saved + 1


def x86_snapshots(trapeze, work, guest_elf):
    """The x86-64 test guest on KVM: paused mid-computation, snapshot, killed, loaded running."""
    disk = make_disk(work, "x86.img", "X86DISK")
    a = Vm(trapeze, work, "x86-a", [])
    state, mem = os.path.join(work, "x86.state"), os.path.join(work, "x86.mem")
    dstate, dmem = os.path.join(work, "x86-diff.state"), os.path.join(work, "x86-diff.mem")
    try:
        a.api.ok("PUT", "/machine-config", {"vcpu_count": 2, "mem_size_mib": 128, "track_dirty_pages": True})
        a.api.ok("PUT", "/boot-source", {"kernel_image_path": guest_elf, "boot_args": "x86guest.smp x86guest.progress"})
        a.api.ok("PUT", "/drives/rootfs", {"drive_id": "rootfs", "path_on_host": disk, "is_root_device": False,
                                           "is_read_only": False})
        status, reply = a.api.call("PUT", "/actions", {"action_type": "InstanceStart"})
        if status == 400 and "kvm" in json.dumps(reply).lower():
            print(f"SKIP: no usable KVM: {reply}")
            sys.exit(77)
        check(status == 204, f"InstanceStart: {status} {reply}")
        a.wait_for("x86guest: progress 2 ")
        a.api.ok("PATCH", "/vm", {"state": "Paused"})
        a.api.ok("PUT", "/snapshot/create", {"snapshot_path": state, "mem_file_path": mem})
        time.sleep(0.3)
        before = a.console()
        check("x86guest: progress result" not in before, f"the guest finished before the snapshot\n{a.tail()}")
        # A Diff a few steps later: only what the vCPUs (KVM's dirty log) and devices wrote since.
        a.api.ok("PATCH", "/vm", {"state": "Resumed"})
        a.wait_for("x86guest: progress ", after=len(before))  # at least one step since the Full
        a.api.ok("PATCH", "/vm", {"state": "Paused"})
        a.api.ok("PUT", "/snapshot/create", {"snapshot_type": "Diff", "snapshot_path": dstate, "mem_file_path": dmem})
        time.sleep(0.3)
        before_diff = a.console()
        check("x86guest: progress result" not in before_diff, f"the guest finished before the Diff\n{a.tail()}")
        check(os.stat(dmem).st_blocks < os.stat(mem).st_blocks, "the x86 Diff is not smaller than the Full")
    finally:
        a.kill()
    b = Vm(trapeze, work, "x86-b", [])
    try:
        b.api.ok("PUT", "/snapshot/load", {"snapshot_path": state, "mem_file_path": mem})
        status, info = b.api.call("GET", "/")
        check(info["state"] == "Paused", f"GET / after a load without resume_vm: {info}")
        time.sleep(1.0)
        check("x86guest" not in b.console(), f"the x86 VM loaded paused ran\n{b.tail()}")
        b.api.refused("PUT", "/snapshot/create", {"snapshot_type": "Diff", "snapshot_path": os.path.join(work, "n"),
                                                  "mem_file_path": os.path.join(work, "n.mem")},
                      fault_has="track_dirty_pages")  # loaded without enable_diff_snapshots
        b.api.ok("PATCH", "/vm", {"state": "Resumed"})
        b.wait_for(" tsc went on ")  # written after the result's hex digits: the value is whole
        after = b.console()
        check("x86guest: hello" not in after, f"the loaded x86 guest started over\n{b.tail()}")
        n_before, n_after = goes_on_from(before, after, "the loaded guest")
    finally:
        b.kill()
    # The Diff merged onto the Full's memory file: the guest goes on after the Diff's step.
    merged = merged_memory(trapeze, work, mem, dmem, "x86-merged.mem")
    c = Vm(trapeze, work, "x86-c", [])
    try:
        c.api.ok("PUT", "/snapshot/load", {"snapshot_path": dstate, "mem_file_path": merged, "resume_vm": True,
                                           "enable_diff_snapshots": True})
        c.wait_for(" tsc went on ")
        goes_on_from(before_diff, c.console(), "the guest loaded from the Diff")
        result = lambda vm: [l for l in vm.console().splitlines() if l.startswith("x86guest: progress result")][0].split()[3]
        check(result(c) == result(b), f"the Diff's guest computed {result(c)}, the Full's {result(b)}")
    finally:
        c.kill()
    print(f"PASS: the x86-64 guest saved at progress step {n_before} went on with step {n_after} in a new process")


def main():
    if len(sys.argv) < 3:
        print(__doc__, file=sys.stderr)
        return 2
    trapeze, scenario = sys.argv[1], sys.argv[2]
    engine = sys.argv[3] if len(sys.argv) > 3 else "jit"
    for f in ("Image", "fw_jump.bin", "test-initrd.img"):
        if not os.path.exists(os.path.join(GUEST_DIR, f)):
            print(f"FAIL: guest image {GUEST_DIR}/{f} is missing: run tools/fetch-guest", file=sys.stderr)
            return 1
    if scenario == "x86-snapshots":
        work = tempfile.mkdtemp(prefix="trapeze-api-")
        try:
            x86_snapshots(trapeze, work, sys.argv[3])
        except Fail as e:
            print(f"FAIL: {e}", file=sys.stderr)
            return 1
        finally:
            shutil.rmtree(work, ignore_errors=True)
        return 0
    scenarios = {"client-flow": client_flow, "config-file": config_file, "three-vms": three_vms,
                 "snapshots": snapshots}
    if scenario not in scenarios:
        print(f"unknown scenario {scenario}", file=sys.stderr)
        return 2
    work = tempfile.mkdtemp(prefix="trapeze-api-")
    try:
        scenarios[scenario](trapeze, work, engine)
    except Fail as e:
        print(f"FAIL: {e}", file=sys.stderr)
        return 1
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
