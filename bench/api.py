#!/usr/bin/env python3
"""Control-API benchmark (issue 22), trapeze's VMM process against QEMU's QMP in the same run.

  start      process start to the control socket accepting a connection (wall ms; and the
             process's own CPU ms at that moment): `trapeze --api-sock` against
             `qemu-system-riscv64 -S -qmp unix:...` (QEMU waiting for its monitor)
  latency    round trip of GET / and of PUT /machine-config on one keep-alive connection
             (median µs), against QMP's query-status
  start-vm   InstanceStart sent to its 204 (the machine built, harts about to run) and to the
             first byte on the guest console (OpenSBI's banner)
  memory     after the Debian guest is up: the process's resident memory outside guest RAM and
             the engines' caches (code cache, soft TLBs; goal: at most 5 MiB beyond those),
             and apart from that the shared libraries' resident pages (see resident_by_kind)

Runs alternate between trapeze and QEMU; medians over --runs. Needs an idle host.
usage: bench/api.sh [--runs N] [--trapeze PATH]
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
GUEST_DIR = os.environ.get("TRAPEZE_GUEST_DIR") or os.path.join(
    os.environ.get("XDG_CACHE_HOME") or os.path.expanduser("~/.cache"), "trapeze/debian-riscv64")
sys.path.insert(0, os.path.join(ROOT, "tests/api"))
import api_test  # noqa: E402  (the test's client and guest helpers)


def cpu_ms(pid):
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    ticks = int(fields[11]) + int(fields[12])
    return ticks * 1000 / os.sysconf("SC_CLK_TCK")


def wait_accepting(path, proc, limit=30):
    t0 = time.monotonic()
    while True:
        s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        try:
            s.connect(path)
            return s
        except OSError:
            s.close()
            if proc.poll() is not None or time.monotonic() - t0 > limit:
                raise RuntimeError(f"{proc.args[0]} never accepted on {path}")
            time.sleep(0.0002)


def start_trapeze(trapeze, sock):
    t0 = time.monotonic()
    p = subprocess.Popen([trapeze, "--api-sock", sock], stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                         stderr=subprocess.DEVNULL)
    s = wait_accepting(sock, p)
    return p, s, (time.monotonic() - t0) * 1000


def start_qemu(sock):
    t0 = time.monotonic()
    p = subprocess.Popen(["qemu-system-riscv64", "-machine", "virt", "-S", "-display", "none", "-serial", "none",
                          "-monitor", "none", "-qmp", f"unix:{sock},server=on,wait=off"],
                         stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    s = wait_accepting(sock, p)
    return p, s, (time.monotonic() - t0) * 1000


def stop(p):
    p.kill()
    p.wait()


def http_roundtrips(sock, method, path, body, n):
    out = []
    req = f"{method} {path} HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\n"
    req += f"Content-Length: {len(body)}\r\n\r\n{body}" if body else "\r\n"
    data = req.encode()
    for _ in range(n):
        t0 = time.perf_counter()
        sock.sendall(data)
        got = b""
        while b"\r\n\r\n" not in got:
            got += sock.recv(4096)
        head, rest = got.split(b"\r\n\r\n", 1)
        length = 0
        for line in head.split(b"\r\n"):
            if line.lower().startswith(b"content-length:"):
                length = int(line.split(b":")[1])
        while len(rest) < length:
            rest += sock.recv(4096)
        out.append((time.perf_counter() - t0) * 1e6)
    return statistics.median(out)


def qmp_roundtrips(sock, n):
    f = sock.makefile("rwb")
    f.readline()  # greeting
    f.write(b'{"execute": "qmp_capabilities"}\n')
    f.flush()
    f.readline()
    out = []
    for _ in range(n):
        t0 = time.perf_counter()
        f.write(b'{"execute": "query-status"}\n')
        f.flush()
        f.readline()
        out.append((time.perf_counter() - t0) * 1e6)
    return statistics.median(out)


def bench_start_and_latency(trapeze, runs, work):
    t_start, t_cpu, q_start, t_get, t_put, q_lat = [], [], [], [], [], []
    for i in range(runs):
        sock = os.path.join(work, f"t{i}.sock")
        p, s, ms = start_trapeze(trapeze, sock)
        t_start.append(ms)
        t_cpu.append(cpu_ms(p.pid))
        t_get.append(http_roundtrips(s, "GET", "/", "", 500))
        t_put.append(http_roundtrips(s, "PUT", "/machine-config", '{"vcpu_count": 1, "mem_size_mib": 128}', 500))
        s.close()
        stop(p)
        qsock = os.path.join(work, f"q{i}.sock")
        q, qs, qms = start_qemu(qsock)
        q_start.append(qms)
        q_lat.append(qmp_roundtrips(qs, 500))
        qs.close()
        stop(q)
    med = statistics.median
    print(f"start to socket accepting: trapeze {med(t_start):.2f} ms (process CPU {med(t_cpu):.0f} ms), "
          f"QEMU -S QMP {med(q_start):.2f} ms, ratio {med(t_start) / med(q_start):.2f}   (goal <= 10 ms)")
    print(f"request latency: GET / {med(t_get):.0f} us, PUT /machine-config {med(t_put):.0f} us; "
          f"QMP query-status {med(q_lat):.0f} us")


def resident_by_kind(pid, guest_mib, binary):
    """Resident KiB of the process by kind, from /proc/PID/smaps:
      guest      guest RAM (the one anonymous mapping of its size)
      code       the engines' caches: translated code (the trapeze-jit memfd, mapped twice,
                 counted once) and the translator's tables and the harts' soft TLBs, every one
                 an anonymous mapping advised for huge pages (decoded-block arena, exit slots,
                 jump caches: HugeRegion) or against them (block index, block caches, soft
                 TLBs: PageAllocator), "hg"/"nh" in VmFlags
      own        the VMM's own: every other anonymous page (heap, thread heaps and stacks,
                 harts, devices) and trapeze's binary
      libraries  the shared libraries' resident pages (libc, libstdc++, glib, ...), the page
                 cache every process that maps them shares"""
    maps = []
    with open(f"/proc/{pid}/smaps") as f:
        for line in f:
            parts = line.split()
            if "-" in parts[0] and not parts[0].endswith(":"):
                maps.append({"name": parts[5] if len(parts) > 5 else "", "flags": []})
            elif parts[0] in ("Size:", "Rss:"):
                maps[-1][parts[0][:-1]] = int(parts[1])
            elif parts[0] == "VmFlags:":
                maps[-1]["flags"] = parts[1:]
    kinds = {"guest": 0, "code": 0, "own": 0, "libraries": 0}
    jit = 0
    for m in maps:
        name, rss = m["name"], m["Rss"]
        anonymous = name == "" or name.startswith("[")
        if name.startswith("/memfd:trapeze-jit"):
            jit = max(jit, rss)
        elif name == "" and m["Size"] >= guest_mib * 1024 and kinds["guest"] == 0:
            kinds["guest"] = rss
        elif name == "" and ("hg" in m["flags"] or "nh" in m["flags"]):
            kinds["code"] += rss
        elif anonymous or os.path.realpath(name) == binary:
            kinds["own"] += rss
        else:
            kinds["libraries"] += rss
    kinds["code"] += jit
    return kinds


def bench_vm(trapeze, runs, work):
    initrd = api_test.make_initrd(work)
    disk = api_test.make_disk(work, "bench.img", "APIDISK-BENCH")
    to_204, to_byte, own, libraries = [], [], [], []
    for i in range(runs):
        vm = api_test.Vm(trapeze, work, f"b{i}", [])
        api_test.configure(vm, initrd, disk, vcpus=1, mem=256, entropy=True)
        size0 = os.path.getsize(vm.console_path)
        t0 = time.monotonic()
        vm.api.ok("PUT", "/actions", {"action_type": "InstanceStart"})
        to_204.append((time.monotonic() - t0) * 1000)
        while os.path.getsize(vm.console_path) == size0:
            time.sleep(0.0002)
        to_byte.append((time.monotonic() - t0) * 1000)
        vm.wait_for("API-GUEST-UP")
        kinds = resident_by_kind(vm.proc.pid, 256, os.path.realpath(trapeze))
        own.append(kinds["own"] / 1024)
        libraries.append(kinds["libraries"] / 1024)
        if i == 0:
            print("resident: " + ", ".join(f"{k} {v / 1024:.1f} MiB" for k, v in kinds.items()))
        vm.finish()
    med = statistics.median
    print(f"InstanceStart: 204 after {med(to_204):.1f} ms, first console byte after {med(to_byte):.1f} ms")
    print(f"VMM's own memory beyond guest RAM and the engines' caches: {med(own):.1f} MiB   (goal <= 5 MiB); "
          f"shared libraries' resident pages besides: {med(libraries):.1f} MiB")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--trapeze", default=os.path.join(ROOT, "build/trapeze"))
    a = ap.parse_args()
    work = tempfile.mkdtemp(prefix="trapeze-bench-api-")
    bench_start_and_latency(a.trapeze, a.runs, work)
    bench_vm(a.trapeze, max(1, a.runs // 2), work)


if __name__ == "__main__":
    main()
