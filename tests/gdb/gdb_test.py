#!/usr/bin/env python3
"""Debian's gdb-multiarch against a real trapeze (issue 27), on the bare-metal debug_target.elf.

Each scenario starts `trapeze run --gdb tcp:127.0.0.1:0 ...` (the port it bound is read from its
stderr), runs gdb-multiarch in batch mode with a command list, and checks gdb's output and
trapeze's exit status (the guest's verdict: 0 ok, 1 its sum was changed, 3 g_poked was written):

  session   --gdb-wait: stopped at the first instruction; a breakpoint on compute() hit twice;
            stepi; registers, CSRs and the privilege level read and written; memory read and
            written (virtual and, after `monitor phys on`, physical); `info threads` on 2 harts
            and `thread 2`; a write watchpoint that stops right after the store in
            store_watched(); a breakpoint set in compute() once it is hot (translated) stops its
            next call; monitor commands; detach, after which the guest finishes.
  smp_step  `thread 2` and stepi on a 2-hart guest, both harts at _start: gdb steps RISC-V in
            software (a breakpoint after the instruction, then `vCont;c:2` when it steps over a
            breakpoint or under scheduler-locking), so hart 0 must stay where it is, or it
            reaches that breakpoint first and gdb fails an internal check (finish_step_over).
  interrupt a running guest (held by g_hold) stopped by Ctrl-C (SIGINT to gdb), then released.
  raw       the protocol by hand on a socket: a wrong checksum gets `-`, an unknown packet the
            empty reply, malformed hex an error; then the connection is dropped without detach
            and the guest runs on to its end.

usage: gdb_test.py TRAPEZE ELF ENGINE
"""
import os
import re
import signal
import socket
import subprocess
import sys
import tempfile
import time

TIMEOUT = 120


def fail(msg, *logs):
    for name, text in logs:
        print(f"--- {name}\n{text[-4000:]}")
    print(f"FAIL: {msg}")
    sys.exit(1)


class StubProcess:
    """A trapeze process whose gdb stub listens on a port it picked (read from its stderr)."""

    def __init__(self, args, err_path):
        self.err_path = err_path
        self.proc = subprocess.Popen(args, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                                     stderr=open(self.err_path, "wb"))
        self.port = self._port()

    def _port(self):
        end = time.monotonic() + 30
        while time.monotonic() < end:
            m = re.search(r"gdb stub on 127\.0\.0\.1:(\d+)", self.stderr())
            if m:
                return int(m.group(1))
            if self.proc.poll() is not None:
                fail("trapeze ended before its gdb stub listened", ("stderr", self.stderr()))
            time.sleep(0.05)
        fail("no gdb stub line on trapeze's stderr", ("stderr", self.stderr()))

    def stderr(self):
        with open(self.err_path, errors="replace") as f:
            return f.read()

    def wait(self, timeout=TIMEOUT):
        try:
            return self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            fail("trapeze did not end after gdb let go", ("stderr", self.stderr()))


class Trapeze(StubProcess):
    def __init__(self, trapeze, elf, engine, wait, work):
        args = [trapeze, "run", "--bios", "none", "--kernel", elf, "--cpus", "2", "--engine", engine, "--no-stats",
                "--gdb", "tcp:127.0.0.1:0"] + (["--gdb-wait"] if wait else [])
        super().__init__(args, os.path.join(work, "trapeze.stderr"))


def gdb(elf, port, commands, interrupt_after=None):
    """gdb-multiarch in batch mode; with interrupt_after, a SIGINT that many seconds in (what
    Ctrl-C at gdb's prompt does: gdb sends the stub its interrupt byte and waits for the stop)."""
    args = ["gdb-multiarch", "-nx", "-batch", elf, "-ex", "set pagination off", "-ex", f"target remote 127.0.0.1:{port}"]
    for c in commands:
        args += ["-ex", c]
    p = subprocess.Popen(args, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    if interrupt_after is not None:
        time.sleep(interrupt_after)
        p.send_signal(signal.SIGINT)
    try:
        out, _ = p.communicate(timeout=TIMEOUT)
    except subprocess.TimeoutExpired:
        p.kill()
        out, _ = p.communicate()
        fail("gdb-multiarch did not finish", ("gdb", out))
    return out


def expect(out, pattern, what, vm):
    if not re.search(pattern, out, re.MULTILINE):
        fail(f"{what}: no match for {pattern!r}", ("gdb", out), ("trapeze stderr", vm.stderr()))


def scenario_session(trapeze, elf, engine, work):
    vm = Trapeze(trapeze, elf, engine, True, work)
    out = gdb(elf, vm.port, [
        "echo @first\\n", "info registers pc",
        "break compute", "continue", "continue",
        "echo @step\\n", "stepi", "p/x $pc",
        "echo @regs\\n", "p $a0", "set $a0 = 7", "p $a0", "p $priv", "p/x $misa", "info registers mhartid",
        "p/x $mstatus", "set $mscratch = 0x5a5a", "p/x $mscratch", "p $fcsr",
        "echo @mem\\n", "x/1gx &g_poked", "set var g_poked = 0x99", "x/1gx &g_poked",
        "echo @threads\\n", "info threads", "thread 2", "p $mhartid", "thread 1",
        "delete", "echo @watch\\n", "watch g_watched", "continue", "p/x $pc", "x/i $pc - 4",
        "delete", "echo @hot\\n", "break compute", "continue", "delete", "echo @monitor\\n", "monitor info mtree", "monitor info harts", "monitor phys on",
        "x/1gx 0x80000000", "monitor phys off", "maint packet qqemu.sstepbits",
        "echo @detach\\n", "detach",
    ])
    expect(out, r"@first\npc\s+0x80000000\s+0x80000000 <_start>", "stopped at the first instruction", vm)
    expect(out, r"hit Breakpoint 1, compute \(x=x@entry=0\)", "breakpoint on compute (first call)", vm)
    expect(out, r"hit Breakpoint 1, compute \(x=x@entry=1\)", "breakpoint on compute (second call)", vm)
    expect(out, r"@step\n(.*\n)*?\$\d+ = 0x8000200[24]\n", "stepi moved one instruction", vm)
    expect(out, r"@regs\n\$\d+ = 1\n\$\d+ = 7\n\$\d+ = 3\n\$\d+ = 0x8[0-9a-f]{15}\nmhartid\s+0x0\s+0",
           "a0 read and written, priv 3 (M), misa, mhartid", vm)
    expect(out, r"\$\d+ = 0x5a5a\n", "mscratch written through gdb", vm)
    expect(out, r"@mem\n0x[0-9a-f]+ <g_poked>:\s+0x0000000000001234\n0x[0-9a-f]+ <g_poked>:\s+0x0000000000000099",
           "memory read and written", vm)
    expect(out, r"\* 1\s+Thread 1 \(hart 0, M-mode\)", "info threads: hart 0", vm)
    expect(out, r"  2\s+Thread 2 \(hart 1, M-mode\)", "info threads: hart 1", vm)
    expect(out, r"Switching to thread 2(.*\n)*?\$\d+ = 1\n", "thread 2 is hart 1", vm)
    expect(out, r"hit Hardware watchpoint \d+: g_watched\s+Old value = 0\s+New value = \d+", "write watchpoint", vm)
    expect(out, r"in store_watched \(value=", "the watchpoint stopped in store_watched", vm)
    expect(out, r"=> 0x[0-9a-f]+ <store_watched\+\d+>:\s+ret|<store_watched\+\d+>:\s+sd\s", "right after the store", vm)
    # compute() has run a thousand times since: translated (jit), decoded (interp); the new
    # breakpoint must still stop its next call.
    expect(out, r"@hot\n(.*\n)*?.*hit Breakpoint \d+, compute \(x=x@entry=1001\)", "breakpoint in hot code", vm)
    expect(out, r"0x0080000000-0x009fffffff ram", "monitor info mtree", vm)
    expect(out, r"hart 1: pc 0x", "monitor info harts", vm)
    expect(out, r"ENABLE=1,NOIRQ=2,NOTIMER=4", "qqemu.sstepbits", vm)
    expect(out, r"Inferior 1 \(Remote target\) detached", "detach", vm)
    rc = vm.wait()
    if rc != 3:
        fail(f"after detach the guest should end with status 3 (g_poked written), got {rc}", ("gdb", out),
             ("stderr", vm.stderr()))


def scenario_smp_step(trapeze, elf, engine, work):
    vm = Trapeze(trapeze, elf, engine, True, work)
    # Thread 2 alone runs to a breakpoint (scheduler-locking on); the stepi from there steps
    # over it, which gdb does by resuming thread 2 alone (`vCont;c:2`) whatever
    # scheduler-locking says; with it on, every later stepi does too.
    out = gdb(elf, vm.port, ["thread 2", "break *0x80000004", "set scheduler-locking on", "continue",
                             "set scheduler-locking off", "stepi", "delete", "set scheduler-locking on"] +
              ["stepi"] * 4 + [
        "echo @after\\n", "p/x $pc", "p $mhartid", "thread 1", "p/x $pc", "detach",
    ])
    if "internal-error" in out or "Switching to Thread 1" in out:
        fail("stepi on thread 2 was disturbed by thread 1", ("gdb", out), ("trapeze stderr", vm.stderr()))
    expect(out, r"@after\n\$\d+ = 0x800000[0-9a-f]{2}\n\$\d+ = 1\n", "thread 2 (hart 1) stepped on", vm)
    if re.search(r"@after\n\$\d+ = 0x80000000\n", out):
        fail("thread 2 did not move", ("gdb", out), ("trapeze stderr", vm.stderr()))
    expect(out, r"Switching to thread 1(.*\n)*?\$\d+ = 0x80000000\n", "thread 1 (hart 0) still at _start", vm)
    rc = vm.wait()
    if rc != 0:
        fail(f"after detach the guest should end with status 0, got {rc}", ("gdb", out), ("stderr", vm.stderr()))


def scenario_interrupt(trapeze, elf, engine, work):
    vm = Trapeze(trapeze, elf, engine, True, work)
    out = gdb(elf, vm.port, [
        "set var g_hold = 1", "continue", "echo @stopped\\n", "info threads", "p g_counter", "set var g_hold = 0",
        "detach",
    ], interrupt_after=3)
    expect(out, r"received signal SIGINT", "Ctrl-C stopped the running guest", vm)
    expect(out, r"@stopped\n(.*\n)*?\$\d+ = 1999999\n", "hart 0 had finished its rounds and was holding", vm)
    rc = vm.wait()
    if rc != 0:
        fail(f"released, the guest should end with status 0, got {rc}", ("gdb", out), ("stderr", vm.stderr()))


def packet(payload):
    return b"$" + payload + b"#" + b"%02x" % (sum(payload) % 256)


def exchange(sock, data, want_reply=True):
    sock.sendall(data)
    buf = b""
    end = time.monotonic() + 10
    while time.monotonic() < end:
        m = re.search(rb"\$([^#]*)#[0-9a-f]{2}", buf)
        if m and want_reply:
            return buf, m.group(1)
        if not want_reply and buf:
            return buf, None
        sock.settimeout(max(0.01, end - time.monotonic()))
        try:
            chunk = sock.recv(4096)
        except socket.timeout:
            break
        if not chunk:
            break
        buf += chunk
    return buf, None


def scenario_raw(trapeze, elf, engine, work):
    vm = Trapeze(trapeze, elf, engine, True, work)
    s = socket.create_connection(("127.0.0.1", vm.port), timeout=10)
    raw, _ = exchange(s, b"$?#00", want_reply=False)
    if raw[:1] != b"-":
        fail(f"a wrong checksum should get '-', got {raw!r}", ("stderr", vm.stderr()))
    _, reply = exchange(s, packet(b"?"))
    if not reply or not reply.startswith(b"T05"):
        fail(f"'?' should report T05, got {reply!r}", ("stderr", vm.stderr()))
    _, reply = exchange(s, packet(b"qNoSuchThing"))
    if reply != b"":
        fail(f"an unknown packet should get the empty reply, got {reply!r}", ("stderr", vm.stderr()))
    _, reply = exchange(s, packet(b"mzz,4"))
    if not reply or not reply.startswith(b"E"):
        fail(f"malformed hex should get an error, got {reply!r}", ("stderr", vm.stderr()))
    exchange(s, b"$" + b"m" * 70000 + b"#00", want_reply=False)  # oversize: dropped, not buffered
    _, reply = exchange(s, packet(b"m80003008,8"))
    if reply != b"3412000000000000":
        fail(f"g_poked should read 3412000000000000 after the bad packets, got {reply!r}", ("stderr", vm.stderr()))
    s.close()  # no D: the guest must run on
    rc = vm.wait()
    if rc != 0:
        fail(f"after gdb went away the guest should finish with status 0, got {rc}", ("stderr", vm.stderr()))


def main():
    trapeze, elf, engine = sys.argv[1:4]
    with tempfile.TemporaryDirectory(prefix="trapeze-gdb-") as work:
        for name, fn in (("session", scenario_session), ("smp_step", scenario_smp_step), ("interrupt", scenario_interrupt),
                         ("raw", scenario_raw)):
            started = time.monotonic()
            fn(trapeze, elf, engine, work)
            print(f"{name}: ok ({time.monotonic() - started:.1f} s)")
    print("PASS")


if __name__ == "__main__":
    main()
