#!/usr/bin/env python3
"""A running Debian guest saved with Ctrl-A s and resumed in a new process (issue 23).

Boots Debian's kernel into tests/snapshot/snapshot_init.sh (appended to test-initrd.img) with a
disk and slirp networking, on a pty as a user would; once the guest counts, types Ctrl-A s
(--snapshot-path), waits for trapeze to say the snapshot is saved, and kills the process with
SIGKILL. Then `trapeze run --restore STATE` (under the same or the other engine) must continue
the guest where it was: the counter goes on from the saved value (no reboot, no restart from
1); typed "check", the guest finds its tmpfs file intact, reads the disk, fetches a file from an
HTTP server on the host through slirp (a fresh slirp: the guest's address and routes still
work) and writes to the disk, which the host then sees.

usage: snapshot_test.py TRAPEZE SAVE_ENGINE RESTORE_ENGINE [CPUS]
"""
import gzip
import hashlib
import http.server
import os
import pty
import re
import select
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time

TIMEOUT = float(os.environ.get("TRAPEZE_GUEST_TIMEOUT", "600"))


def fail(msg, *logs):
    for name, text in logs:
        print(f"--- {name} (last 3000 chars)\n{text[-3000:]}")
    print(f"FAIL: {msg}")
    sys.exit(1)


class Vm:
    """trapeze on a pty (stdin and stdout), stderr to a file."""

    def __init__(self, args, workdir, name):
        self.master, slave = pty.openpty()
        self.err_path = os.path.join(workdir, f"{name}.stderr")
        self.err = open(self.err_path, "wb")
        self.proc = subprocess.Popen(args, stdin=slave, stdout=slave, stderr=self.err, close_fds=True)
        os.close(slave)
        self.out = b""

    def pump(self, seconds):
        end = time.monotonic() + seconds
        while time.monotonic() < end:
            r, _, _ = select.select([self.master], [], [], max(0.0, end - time.monotonic()))
            if not r:
                return
            try:
                data = os.read(self.master, 65536)
            except OSError:
                return
            if not data:
                return
            self.out += data

    def wait_for(self, pattern, timeout=TIMEOUT, source="out"):
        end = time.monotonic() + timeout
        while time.monotonic() < end:
            text = self.text() if source == "out" else self.stderr()
            m = re.search(pattern, text)
            if m:
                return m
            if self.proc.poll() is not None and source == "out":
                self.pump(0.2)
                m = re.search(pattern, self.text())
                return m
            self.pump(0.2)
        return None

    def text(self):
        return self.out.decode(errors="replace").replace("\r", "")

    def stderr(self):
        with open(self.err_path, "rb") as f:
            return f.read().decode(errors="replace")

    def counts(self):
        return [int(n) for n in re.findall(r"^COUNT (\d+)$", self.text(), re.M)]

    def type(self, data):
        os.write(self.master, data)

    def kill(self):
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGKILL)
        self.proc.wait()

    def logs(self):
        return [("console", self.text()), ("stderr", self.stderr())]


def serve(directory):
    handler = lambda *a: http.server.SimpleHTTPRequestHandler(*a, directory=directory)  # noqa: E731
    http.server.SimpleHTTPRequestHandler.log_message = lambda *a: None
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server


def cpio_newc(name, data):
    """One regular file (mode 0755) and the trailer, as `cpio -o -H newc` writes them."""

    def entry(fname, body, mode, ino):
        fname_b = fname.encode() + b"\0"
        hdr = "070701" + "".join(f"{v:08x}" for v in (ino, mode, 0, 0, 1, 0, len(body), 0, 0, 0, 0, len(fname_b), 0))
        out = hdr.encode() + fname_b
        out += b"\0" * (-len(out) % 4) + body
        return out + b"\0" * (-len(out) % 4)

    return entry(name, data, 0o100755, 1) + entry("TRAILER!!!", b"", 0, 0)


def main():
    if len(sys.argv) < 4:
        fail(__doc__)
    trapeze, save_engine, restore_engine = sys.argv[1:4]
    cpus = sys.argv[4] if len(sys.argv) > 4 else "1"
    guest = os.environ.get("TRAPEZE_GUEST_DIR", os.path.expanduser("~/.cache/trapeze/debian-riscv64"))
    for f in ("Image", "fw_jump.bin", "test-initrd.img"):
        if not os.path.getsize(os.path.join(guest, f)):
            fail(f"guest image {f} missing: run tools/fetch-guest")
    work = tempfile.mkdtemp(prefix="trapeze-snapshot-")
    try:
        run(trapeze, save_engine, restore_engine, cpus, guest, work)
    finally:
        shutil.rmtree(work, ignore_errors=True)


def run(trapeze, save_engine, restore_engine, cpus, guest, work):
    here = os.path.dirname(os.path.abspath(__file__))
    with open(os.path.join(here, "snapshot_init.sh"), "rb") as f:
        extra = gzip.compress(cpio_newc("snapshot_init", f.read()))
    initrd = os.path.join(work, "initrd.img")
    with open(initrd, "wb") as out, open(os.path.join(guest, "test-initrd.img"), "rb") as base:
        out.write(base.read() + extra)
    disk = os.path.join(work, "disk.img")
    with open(disk, "wb") as f:
        f.write(os.urandom(4 << 20))
    with open(disk, "rb") as f:
        disk_md5 = hashlib.md5(f.read(1 << 20)).hexdigest()
    www = os.path.join(work, "www")
    os.mkdir(www)
    token = os.urandom(8).hex()
    with open(os.path.join(www, "token.txt"), "w") as f:
        f.write(token + "\n")
    server = serve(www)
    state = os.path.join(work, "vm.snap")

    a = Vm([trapeze, "run", "--engine", save_engine, "--cpus", cpus, "--kernel", os.path.join(guest, "Image"),
            "--bios", os.path.join(guest, "fw_jump.bin"), "--initrd", initrd, "--memory", "512", "--no-rng",
            "--no-stats", "--disk", disk, "--net", "user", "--snapshot-path", state, "--append",
            f"console=ttyS0 panic=-1 rdinit=/snapshot_init trapeze.http={server.server_address[1]}"], work, "save")
    try:
        if not a.wait_for(r"COUNT 30\n"):
            fail("the guest never counted to 30", *a.logs())
        before = re.search(r"TMPFS-BEFORE (\w+)", a.text())
        if not before or "NET-UP" not in a.text():
            fail("the guest did not set up its tmpfs file or network", *a.logs())
        key_count = max(a.counts())
        a.type(b"\x01s")
        saved = a.wait_for(r"snapshot saved to .*", timeout=120, source="err")
        if not saved:
            fail("Ctrl-A s did not save a snapshot", *a.logs())
        print(f"trapeze: {saved.group(0)}")
        a.pump(1.0)  # the VM goes on after the save
        last_count = max(a.counts())
        if last_count <= key_count:
            fail("the VM did not go on after the snapshot", *a.logs())
    finally:
        a.kill()

    b = Vm([trapeze, "run", "--restore", state, "--engine", restore_engine, "--no-stats"], work, "restore")
    try:
        first = b.wait_for(r"COUNT (\d+)\n", timeout=120)
        if not first:
            fail("the restored VM printed no count", *b.logs())
        n = int(first.group(1))
        if "Linux version" in b.text() or "OpenSBI" in b.text():
            fail("the restored VM booted again", *b.logs())
        # The snapshot was taken after the count seen when the key was typed and before the VM
        # was killed: the resumed guest continues with the next count after the saved one.
        if not key_count < n <= last_count + 1:
            fail(f"the restored VM counts from {n}; the snapshot was taken between counts {key_count} and {last_count}",
                 *b.logs())
        b.wait_for(rf"COUNT {n + 5}\n", timeout=60)
        b.type(b"check\n")
        if not b.wait_for(r"TRAPEZE-TEST-OK", timeout=120):
            fail("the restored VM did not finish its checks", *b.logs())
        b.proc.wait(timeout=60)
        text = b.text()
    finally:
        b.kill()
        server.shutdown()
    after = re.search(r"TMPFS-AFTER (\w+)", text)
    if not after or after.group(1) != before.group(1):
        fail("the tmpfs file changed across the snapshot", ("console", text))
    if f"DISK {disk_md5}" not in text:
        fail("the restored VM read something else from the disk", ("console", text))
    if f"HTTP {token}" not in text:
        fail("the restored VM could not fetch the host's file through slirp", ("console", text))
    with open(disk, "rb") as f:
        f.seek(2048 * 512)
        if not f.read(13) == b"after-restore" or "DISK-WRITE-OK" not in text:
            fail("the restored VM's disk write did not reach the host file", ("console", text))
    if b.proc.returncode != 0:
        fail(f"the restored VM exited with status {b.proc.returncode}", ("console", text))
    print(f"PASS: saved under {save_engine} at count {key_count}..{last_count}, resumed under {restore_engine} "
          f"at count {n}; tmpfs, disk and network intact ({cpus} hart(s))")


if __name__ == "__main__":
    main()
