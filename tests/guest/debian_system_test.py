#!/usr/bin/env python3
"""The full Debian system (issue 25) booted the way `make debian` boots it: `trapeze run --boot
disk` through OpenSBI, Debian's U-Boot and the image's extlinux.conf, on CPUS harts (default 2,
each on a thread of its own) with user networking. On a copy of the image `tools/debian-image`
built (DEBIAN_IMAGE, default the cache's debian.img; skipped, status 77, when there is none:
building it takes minutes and downloads):

  * root logs in on the serial console; `systemctl is-system-running --wait` says `running`
    and no unit failed; the command line is extlinux.conf's (root=/dev/vda1);
  * eth0 has its DHCP address from user networking;
  * ssh through the host's forwarded port logs root in with a key the test made (written into
    the copy's /root/.ssh/authorized_keys with debugfs) and runs a command;
  * `apt-get update` and `apt-get install hello` through user networking (skipped with a reason
    when the host itself cannot reach the mirror, or sees its index inconsistent too);
  * `reboot` comes back through U-Boot to a login (--on-reboot restart); `poweroff` then ends
    trapeze with status 0.

usage: debian_system_test.py TRAPEZE ENGINE [CPUS]
"""
import os
import re
import select
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request

LOGIN_TIMEOUT = 600
PROMPT = rb"TRAPEZE-PROMPT# "


def fail(msg, console=b""):
    text = console.decode(errors="replace").replace("\r", "")
    print(f"--- console (last 60 lines)\n" + "\n".join(text.splitlines()[-60:]))
    print(f"FAIL: {msg}")
    sys.exit(1)


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Console:
    def __init__(self, proc):
        self.proc = proc
        self.buf = b""  # read, not yet consumed by a wait
        self.log = b""  # consumed

    def wait(self, pattern, timeout):
        """Until `pattern` (bytes regex) appears after what earlier waits consumed."""
        end = time.monotonic() + timeout
        while time.monotonic() < end:
            m = re.search(pattern, self.buf)
            if m:
                self.log += self.buf[:m.end()]
                self.buf = self.buf[m.end():]
                return m.group(0)
            r, _, _ = select.select([self.proc.stdout], [], [], 1)
            if r:
                data = os.read(self.proc.stdout.fileno(), 65536)
                if not data:
                    break
                self.buf += data
        fail(f"no {pattern!r} on the console within {timeout} s", self.log + self.buf)

    def send(self, text):
        self.proc.stdin.write(text.encode())
        self.proc.stdin.flush()

    def run(self, command, timeout=300):
        """A shell command at the prompt (echo off, see main); returns its output without escapes."""
        self.send(f"{command}; echo __DONE$((6*7))__\n")
        out = self.wait(rb"(?s).*?__DONE42__", timeout)
        self.wait(PROMPT, 60)
        return re.sub(r"\x1b\[[0-9;?]*[a-zA-Z]", "", out.decode(errors="replace")).replace("\r", "")


def mirror_of_host():
    """The mirror the image's apt uses (tools/debian-image wrote the host's), if the host reaches it."""
    sources = subprocess.run(["bash", "-c", f"source {os.path.dirname(__file__)}/../../tools/lib/mirror.sh; find_mirror"],
                             capture_output=True, text=True)
    uri = sources.stdout.strip()
    if not uri:
        return None
    try:
        urllib.request.urlopen(f"{uri}/dists/trixie/InRelease", timeout=20).read()
        return uri
    except OSError:
        return None


def mirror_inconsistency(uri):
    """Why the mirror itself would fail any apt-get update, seen from the host (its riscv64 index
    is not the size its InRelease says: a sync in progress), or None."""
    release = urllib.request.urlopen(f"{uri}/dists/trixie/InRelease", timeout=20).read().decode(errors="replace")
    m = re.search(r"^ [0-9a-f]{64}\s+(\d+) main/binary-riscv64/Packages.xz$", release, re.MULTILINE)
    if not m:
        return "its InRelease lists no riscv64 Packages.xz"
    head = urllib.request.Request(f"{uri}/dists/trixie/main/binary-riscv64/Packages.xz", method="HEAD")
    size = urllib.request.urlopen(head, timeout=20).headers.get("Content-Length")
    if size != m.group(1):
        return f"Packages.xz is {size} bytes, InRelease says {m.group(1)}"
    return None


PARTITION_OFFSET = 2048 * 512  # tools/debian-image's partition


def make_key(work):
    """A fresh passphrase-less ed25519 key in `work`; returns the private key's path."""
    key = os.path.join(work, "id_ed25519")
    subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", key], check=True)
    return key


def install_key(disk, key):
    """Makes `key` root's only ssh key in the image copy `disk` (debugfs writes the ext4 partition
    in place)."""
    target = "/root/.ssh/authorized_keys"
    commands = f"rm {target}\nwrite {key}.pub {target}\nsif {target} mode 0100600\nsif {target} uid 0\nsif {target} gid 0\n"
    r = subprocess.run(["debugfs", "-w", "-f", "-", f"{disk}?offset={PARTITION_OFFSET}"], input=commands, text=True,
                       capture_output=True)
    listing = subprocess.run(["debugfs", "-R", f"cat {target}", f"{disk}?offset={PARTITION_OFFSET}"],
                             capture_output=True, text=True).stdout
    with open(key + ".pub") as f:
        if r.returncode != 0 or f.read().strip() not in listing:
            fail(f"could not write {target} into the image copy: {r.stderr}")


def ssh(key, port, command):
    return subprocess.run(["ssh", "-i", key, "-p", str(port), "-o", "StrictHostKeyChecking=no", "-o",
                           "UserKnownHostsFile=/dev/null", "-o", "BatchMode=yes", "-o", "ConnectTimeout=60",
                           "root@127.0.0.1", command], capture_output=True, text=True, timeout=180)


def main():
    trapeze, engine = sys.argv[1:3]
    cpus = sys.argv[3] if len(sys.argv) > 3 else "2"
    cache = os.environ.get("XDG_CACHE_HOME", os.path.expanduser("~/.cache"))
    image = os.environ.get("DEBIAN_IMAGE", os.path.join(cache, "trapeze", "debian.img"))
    if not os.path.exists(image):
        print(f"SKIP: no Debian system image at {image} (`make debian` or tools/debian-image builds one)")
        sys.exit(77)
    with tempfile.TemporaryDirectory(prefix="trapeze-debian-") as work:
        disk = os.path.join(work, "debian.img")
        subprocess.run(["cp", "--sparse=always", image, disk], check=True)  # the user's image stays as it is
        key = make_key(work)
        install_key(disk, key)
        port = free_port()
        proc = subprocess.Popen([trapeze, "run", "--engine", engine, "--boot", "disk", "--disk", disk, "--cpus", cpus,
                                 "--memory", "2048", "--on-reboot", "restart", "--net", f"user,hostfwd=tcp:127.0.0.1:{port}-:22", "--no-stats"],
                                stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
        con = Console(proc)
        try:
            started = time.monotonic()
            con.wait(rb"U-Boot 20", 120)
            con.wait(rb"login: ", LOGIN_TIMEOUT)
            print(f"login prompt after {time.monotonic() - started:.1f} s")
            con.send("root\n")
            con.wait(rb"root@[-a-zA-Z0-9]*:~# ", 120)
            # No echo, no line editing: a serial line of unknown width garbles both.
            con.send("stty -echo; export TERM=dumb PS1='TRAPEZE-''PROMPT# '; set +o emacs\n")
            con.wait(PROMPT, 60)
            state = con.run("systemctl is-system-running --wait")
            if not re.search(r"(^|\s)running$", state, re.MULTILINE):
                fail(f"systemctl is-system-running said {state.strip()!r}; failed units: "
                     f"{con.run('systemctl --failed --no-legend --plain')!r}", con.log)
            cmdline = con.run("cat /proc/cmdline")
            if "root=/dev/vda1" not in cmdline:
                fail(f"the kernel's command line is not extlinux.conf's: {cmdline!r}", con.log)
            addr = con.run("ip -4 -br addr show eth0")
            if "10.0.2.15/24" not in addr:
                fail(f"eth0 has no DHCP address from user networking: {addr!r}", con.log)
            with socket.create_connection(("127.0.0.1", port), timeout=30) as s:
                s.settimeout(30)
                banner = s.recv(256)
            if not banner.startswith(b"SSH-2.0-OpenSSH"):
                fail(f"the forwarded ssh port answered {banner!r}", con.log)
            print(f"ssh banner on 127.0.0.1:{port}: {banner.strip().decode(errors='replace')}")
            r = ssh(key, port, "uname -m; systemctl is-system-running")
            if r.returncode != 0 or r.stdout.split() != ["riscv64", "running"]:
                fail(f"ssh root@127.0.0.1 -p {port} answered {r.returncode}: {r.stdout!r} {r.stderr!r}", con.log)
            print("ssh login with a key: ok")
            mirror = mirror_of_host()
            if mirror:
                out = con.run("apt-get -q update >/tmp/apt.log 2>&1; echo apt-status=$?; tail -n 25 /tmp/apt.log", 600)
                broken = None if "apt-status=0" in out else mirror_inconsistency(mirror)
                if broken and re.search(r"Get:\d+ \S+ trixie InRelease", out):
                    print(f"apt-get update: the guest fetched from the mirror, which is inconsistent from the host "
                          f"too ({broken}): not counted")
                elif "apt-status=0" not in out:
                    fail(f"apt-get update failed in the guest: {out!r}", con.log)
                else:
                    out = con.run("apt-get install -y -q hello >/tmp/apt.log 2>&1; echo apt-status=$?; hello", 900)
                    if "apt-status=0" not in out or "Hello, world!" not in out:
                        fail(f"apt-get install hello failed in the guest: {out!r}", con.log)
                    print("apt-get update, apt-get install hello: ok")
            else:
                print("apt-get update: skipped (the host cannot reach the mirror either)")
            # `reboot` comes back through U-Boot into the system (--on-reboot restart).
            con.send("reboot\n")
            con.wait(rb"U-Boot 20", 300)
            con.wait(rb"login: ", LOGIN_TIMEOUT)
            print("reboot: back at the login prompt")
            con.send("root\n")
            con.wait(rb"root@[-a-zA-Z0-9]*:~# ", 120)
            con.send("poweroff\n")
            rc = proc.wait(180)
        except subprocess.TimeoutExpired:
            proc.kill()
            fail("trapeze did not end after poweroff", con.log + con.buf)
        finally:
            if proc.poll() is None:
                proc.kill()
        if rc != 0:
            fail(f"poweroff should end trapeze with status 0, got {rc}", con.log + con.buf)
    print("PASS")


if __name__ == "__main__":
    main()
