#!/usr/bin/env python3
"""Sends SIGTERM, SIGINT, SIGHUP and SIGQUIT to a running trapeze whose terminal is a pty, and
checks that it stops the way QEMU does: one line naming the signal, exit status 128 + N, the
terminal's modes as they were before it started, the guest's disk writes on the host file.

    signal_test.py TRAPEZE DISK_WRITER_ELF [X86GUEST_ELF]

The guest (disk_writer.c) writes a marker to its disk, prints "disk-writer: ready", then
sleeps in WFI or spins. Two cases flood the console while nobody reads it: with stdout a pipe,
the first signal must stop the machine all the same (QEMU's does); with stdout and stderr the
same full terminal, trapeze's last line cannot be written, and a second signal must end it.
With X86GUEST_ELF (tests/x86guest) and a usable /dev/kvm, SIGTERM also stops the KVM engine
while its vCPU polls the UART for input.
"""
import fcntl
import os
import pty
import select
import signal
import struct
import subprocess
import sys
import tempfile
import termios
import time

kMarker = b"TRAPEZE-SIGNAL-TEST sector 0 written by disk_writer"
kTimeout = 30  # seconds for any one step: a hang fails the test instead of blocking ctest


class Failure(Exception):
    pass


def read_until(fd, needle, out):
    deadline = time.monotonic() + kTimeout
    while needle not in out:
        left = deadline - time.monotonic()
        if left <= 0 or not select.select([fd], [], [], left)[0]:
            raise Failure(f"no {needle!r} on the terminal; got {bytes(out[-400:])!r}")
        try:
            out += os.read(fd, 4096)
        except OSError:  # EIO: every process holding the pty's other end has gone
            raise Failure(f"terminal closed before {needle!r}; got {bytes(out[-400:])!r}")


def drain(fd, out):
    while select.select([fd], [], [], 0.2)[0]:
        try:
            chunk = os.read(fd, 65536)
        except OSError:
            return
        if not chunk:
            return
        out += chunk


def wait_exit(proc, master, out):
    deadline = time.monotonic() + kTimeout
    while proc.poll() is None:
        if time.monotonic() > deadline:
            proc.kill()
            raise Failure("trapeze did not exit")
        drain(master, out)
    drain(master, out)
    return proc.returncode


class OnPty:
    """trapeze started on a pty of its own; leaving the block kills it if it still runs and
    closes the pty."""

    def __init__(self, cmd):
        self.master, self.slave = pty.openpty()
        self.before = termios.tcgetattr(self.slave)
        self.proc = subprocess.Popen(cmd, stdin=self.slave, stdout=self.slave, stderr=self.slave,
                                     start_new_session=True)
        self.out = bytearray()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()
        os.close(self.master)
        os.close(self.slave)

    def read_until(self, needle):
        read_until(self.master, needle, self.out)

    def check_terminal_restored(self):
        if termios.tcgetattr(self.slave) != self.before:
            raise Failure("the terminal's modes were not restored")

    # Sends `sig` and checks the clean stop: status 128 + N, the line naming it, the terminal.
    def check_stops_on(self, sig):
        self.proc.send_signal(sig)
        rc = wait_exit(self.proc, self.master, self.out)
        text = self.out.decode(errors="replace")
        if rc != 128 + sig:
            raise Failure(f"exit status {rc}, expected {128 + sig}; output: {text[-400:]!r}")
        line = f"trapeze: terminating on signal {int(sig)} ({sig.name}) from pid {os.getpid()}"
        if line not in text:
            raise Failure(f"no line {line!r}; output: {text[-400:]!r}")
        self.check_terminal_restored()


def new_disk(tmp):
    disk = os.path.join(tmp, "disk.img")
    with open(disk, "wb") as f:
        f.truncate(1 << 20)
    return disk


def disk_writer(trapeze, elf, wait, disk):
    return OnPty([trapeze, "run", "--bios", "none", "--kernel", elf, "--disk", disk, "--no-rng", "--no-stats",
                  "--append", f"wait={wait}"])


def wait_ready(session):
    session.read_until(b"disk-writer: ready")
    if termios.tcgetattr(session.slave)[3] & termios.ECHO:
        raise Failure("the terminal is not in raw mode while the guest runs")


def check_disk(disk):
    with open(disk, "rb") as f:
        if f.read(len(kMarker)) != kMarker:
            raise Failure("the guest's write is not in the disk image")


def one_signal(trapeze, elf, sig, wait):
    with tempfile.TemporaryDirectory() as tmp:
        disk = new_disk(tmp)
        with disk_writer(trapeze, elf, wait, disk) as session:
            wait_ready(session)
            session.check_stops_on(sig)
            check_disk(disk)


def first_signal_stops_with_output_stuck(trapeze, elf):
    with tempfile.TemporaryDirectory() as tmp:
        disk = new_disk(tmp)
        out_r, out_w = os.pipe()  # nobody reads it
        proc = subprocess.Popen([trapeze, "run", "--bios", "none", "--kernel", elf, "--disk", disk, "--no-rng",
                                 "--no-stats", "--append", "wait=flood"],
                                stdin=subprocess.DEVNULL, stdout=out_w, stderr=subprocess.PIPE)
        os.close(out_w)
        try:
            wait_full(out_r)  # trapeze is now waiting for the pipe
            proc.send_signal(signal.SIGTERM)
            try:
                _, err = proc.communicate(timeout=kTimeout)
            except subprocess.TimeoutExpired:
                raise Failure(f"still running {kTimeout} s after SIGTERM with its stdout full")
            line = f"trapeze: terminating on signal 15 (SIGTERM) from pid {os.getpid()}"
            if proc.returncode != 128 + signal.SIGTERM or line not in err.decode(errors="replace"):
                raise Failure(f"exit status {proc.returncode}, stderr {err[-400:]!r}")
            check_disk(disk)
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.wait()
            os.close(out_r)


# Started with stdin, stdout and stderr closed, trapeze must not let the files it opens take their
# numbers: the console reader read the signalfd as stdin (taking SIGTERM, so trapeze ignored it)
# and its lines on stderr went into the --record log. The recording names its kernel and disk
# relative to its own directory, and the replay runs from another one (the log keeps them by
# absolute path).
def closed_standard_fds(trapeze, elf):
    trapeze = os.path.abspath(trapeze)
    with tempfile.TemporaryDirectory() as tmp:
        disk = new_disk(tmp)
        log = os.path.join(tmp, "run.log")
        proc = subprocess.Popen([trapeze, "run", "--bios", "none", "--kernel", os.path.relpath(elf, tmp), "--disk",
                                 os.path.basename(disk), "--no-rng", "--no-stats", "--append", "wait=wfi",
                                 "--record", "run.log"],
                                cwd=tmp, preexec_fn=lambda: [os.close(fd) for fd in (0, 1, 2)])
        try:
            deadline = time.monotonic() + kTimeout
            while True:
                try:
                    check_disk(disk)
                    break
                except Failure:
                    if time.monotonic() > deadline:
                        raise
                    time.sleep(0.1)
            proc.send_signal(signal.SIGTERM)
            try:
                rc = proc.wait(timeout=kTimeout)
            except subprocess.TimeoutExpired:
                raise Failure(f"still running {kTimeout} s after SIGTERM with stdin, stdout and stderr closed")
            if rc != 128 + signal.SIGTERM:
                raise Failure(f"exit status {rc}")
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.wait()
        replay = subprocess.run([trapeze, "run", "--replay", log, "--no-stats"], stdin=subprocess.DEVNULL,
                                capture_output=True, text=True, timeout=kTimeout, cwd=os.path.dirname(tmp))
        if replay.returncode != 0 or "replay complete" not in replay.stderr:
            raise Failure(f"its --record log does not replay: {replay.stderr.strip()[-400:]!r}")


# Until what the pipe holds stops growing (the guest floods it: full, in pages partly filled).
def wait_full(fd):
    deadline = time.monotonic() + kTimeout
    last = -1
    while True:
        held = struct.unpack("i", fcntl.ioctl(fd, termios.FIONREAD, b"\0" * 4))[0]
        if held > 0 and held == last:
            return
        if time.monotonic() > deadline:
            raise Failure("the guest's flood did not fill the pipe")
        last = held
        time.sleep(0.5)


def second_signal_forces(trapeze, elf):
    with tempfile.TemporaryDirectory() as tmp:
        disk = new_disk(tmp)
        with disk_writer(trapeze, elf, "flood", disk) as session:
            wait_ready(session)
            proc = session.proc
            time.sleep(0.5)  # the pty's buffer fills: trapeze blocks writing to it
            proc.send_signal(signal.SIGTERM)
            time.sleep(1.0)
            # The machine stops (its output dropped), but its last line may not fit in the terminal.
            if proc.poll() is None:
                proc.send_signal(signal.SIGTERM)
            deadline = time.monotonic() + kTimeout
            while proc.poll() is None and time.monotonic() < deadline:
                time.sleep(0.05)  # reading nothing: the forced exit must not wait for the terminal
            if proc.poll() is None:
                raise Failure("a second SIGTERM did not end trapeze stuck on a full terminal")
            if proc.returncode != 128 + signal.SIGTERM:
                raise Failure(f"exit status {proc.returncode} after the second signal")
            session.check_terminal_restored()
            check_disk(disk)


def kvm_signal(trapeze, elf):
    with OnPty([trapeze, "run", "--arch", "x86_64", "--kernel", elf, "--append",
                "console=ttyS0 x86guest.novirtio x86guest.noirq x86guest.echo"]) as session:
        session.read_until(b"x86guest: rsdp")  # the last line before it polls for input
        session.check_stops_on(signal.SIGTERM)


def main():
    trapeze, elf = sys.argv[1], sys.argv[2]
    x86_elf = sys.argv[3] if len(sys.argv) > 3 else None
    cases = [(f"{sig.name} while the guest {'sleeps' if wait == 'wfi' else 'runs'}",
              lambda sig=sig, wait=wait: one_signal(trapeze, elf, sig, wait))
             for sig in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP, signal.SIGQUIT) for wait in ("wfi", "spin")]
    cases.append(("SIGTERM stops trapeze whose stdout is a pipe nobody reads",
                  lambda: first_signal_stops_with_output_stuck(trapeze, elf)))
    cases.append(("SIGTERM stops trapeze started with stdin, stdout and stderr closed, its log whole",
                  lambda: closed_standard_fds(trapeze, elf)))
    cases.append(("a second SIGTERM ends trapeze stuck writing to a full terminal",
                  lambda: second_signal_forces(trapeze, elf)))
    if x86_elf and os.access("/dev/kvm", os.R_OK | os.W_OK):
        cases.append(("SIGTERM stops the KVM engine", lambda: kvm_signal(trapeze, x86_elf)))
    else:
        print("skipped: the KVM engine (no x86 guest or no usable /dev/kvm)")
    failed = 0
    for name, run in cases:
        try:
            run()
            print(f"ok: {name}")
        except Failure as e:
            print(f"FAIL: {name}: {e}")
            failed += 1
    print("PASS" if failed == 0 else f"{failed} case(s) failed")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
