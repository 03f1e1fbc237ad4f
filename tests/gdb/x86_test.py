#!/usr/bin/env python3
"""Debian's gdb-multiarch against `trapeze run --arch x86_64 --gdb` (issue 27), on the project's
freestanding x86-64 guest (tests/x86guest) under KVM.

  session   --gdb-wait: stopped at the PVH entry; stepi; a hardware breakpoint (hbreak) on
            guest_main; control registers read; a software breakpoint on put_dec whose first
            call gets a register written (the guest prints the new value); a conditional
            breakpoint on puts_serial and a byte of the string it prints written (the guest
            prints the change); `info threads` on 2 vCPUs and `thread 2`; monitor commands;
            detach, after which the guest finishes its run with status 0.
  interrupt a spinning guest (no --gdb-wait: gdb attaches to a running VM) stopped by Ctrl-C,
            then `kill` ends the VMM (status 0, as QEMU's stub).

Watchpoints are left to the unit tests (tests/unit/kvm/x86_debug_test.cpp): the PVM flavour of
KVM on the project's test host never fires data breakpoints. The guest runs without its ring-3
part (x86guest.noring3): under PVM, guest debugging has no effect after a guest ran ring 3.

Exits 77 (skipped) where /dev/kvm cannot be opened.
usage: x86_test.py TRAPEZE X86GUEST_ELF
"""
import os
import re
import subprocess
import sys
import tempfile
import time


from gdb_test import Trapeze as RiscvTrapeze, fail, gdb  # the same client and process handling


class Trapeze(RiscvTrapeze):
    """trapeze run --arch x86_64 on the test guest, its console kept for the checks."""

    def __init__(self, trapeze, elf, append, wait, work, name):
        self.err_path = os.path.join(work, f"{name}.stderr")
        self.out_path = os.path.join(work, f"{name}.stdout")
        args = [trapeze, "run", "--arch", "x86_64", "--kernel", elf, "--cpus", "2", "--append",
                "console=ttyS0 x86guest.novirtio " + append, "--gdb", "tcp:127.0.0.1:0"] + (["--gdb-wait"] if wait else [])
        self.proc = subprocess.Popen(args, stdin=subprocess.DEVNULL, stdout=open(self.out_path, "wb"),
                                     stderr=open(self.err_path, "wb"))
        self.port = self._port()

    def stdout(self):
        with open(self.out_path, errors="replace") as f:
            return f.read()


def expect(out, pattern, what, vm):
    if not re.search(pattern, out, re.MULTILINE):
        fail(f"{what}: no match for {pattern!r}", ("gdb", out), ("trapeze stdout", vm.stdout()),
             ("trapeze stderr", vm.stderr()))


def scenario_session(trapeze, elf, work):
    vm = Trapeze(trapeze, elf, "x86guest.smp x86guest.noring3", True, work, "session")
    out = gdb(elf, vm.port, [
        "echo @first\\n", "info registers rip",
        "echo @step\\n", "stepi", "p/x $pc",
        "hbreak guest_main", "continue", "echo @cr\\n", "p/x $cr0", "p/x $cr3", "delete",
        "echo @regs\\n", "break put_dec", "continue", "p $rdi", "set $rdi = 42", "p $rdi", "delete",
        "echo @mem\\n", "break puts_serial if *(char *)($rdi + 10) == 'm'", "continue", "x/s $rdi",
        "set var *(char *)($rdi + 10) = 'M'", "x/s $rdi", "delete",
        "echo @threads\\n", "info threads", "thread 2", "thread 1",
        "echo @monitor\\n", "monitor info vcpus", "monitor info mtree", "monitor info tlb",
        "echo @detach\\n", "detach",
    ])
    expect(out, r"@first\nrip\s+0x[0-9a-f]+\s+0x[0-9a-f]+ <pvh_start>", "stopped at the PVH entry", vm)
    expect(out, r"@step\n(.*\n)*?\$\d+ = 0x[0-9a-f]+\n", "stepi", vm)
    if re.search(r"@step\n(.*\n)*?.* in pvh_start \(\)\n\$\d+ = 0x[0-9a-f]+\n", out) is None:
        fail("stepi should have stopped one instruction into pvh_start", ("gdb", out))
    expect(out, r"hit Breakpoint 1, 0x[0-9a-f]+ in guest_main \(\)", "hbreak on guest_main", vm)
    expect(out, r"@cr\n\$\d+ = 0x8[0-9a-f]*1\n\$\d+ = 0x[0-9a-f]+\n", "cr0 with paging and protection on, cr3", vm)
    expect(out, r"@regs\n(.*\n)*?.*hit Breakpoint \d+, 0x[0-9a-f]+ in put_dec \(\)\n\$\d+ = 1\n\$\d+ = 42\n",
           "the first put_dec (the start info version, 1) and its argument written", vm)
    expect(out, r'@mem\n(.*\n)*?0x[0-9a-f]+:\s+"x86guest: memmap entries "\n0x[0-9a-f]+:\s+"x86guest: Memmap entries "',
           "the string puts_serial prints read and written", vm)
    expect(out, r"\* 1\s+Thread 1 \(vCPU 0, 64-bit, CPL 0\)", "info threads: vCPU 0", vm)
    expect(out, r"  2\s+Thread 2 \(vCPU 1, ", "info threads: vCPU 1", vm)
    expect(out, r"Switching to thread 2", "thread 2", vm)
    expect(out, r"vCPU 1, [^\n]*: rip 0x", "monitor info vcpus", vm)
    expect(out, r"0x0000000000-0x001fffffff ram \(512 MiB\)", "monitor info mtree", vm)
    expect(out, r"vCPU 0: cr3 0x[0-9a-f]+ \(4-level\)", "monitor info tlb", vm)
    expect(out, r"Inferior 1 \(Remote target\) detached", "detach", vm)
    rc = vm.wait()
    console = vm.stdout()
    for line in ("x86guest: start info magic 00000000336ec578 version 42", "x86guest: Memmap entries 3",
                 "x86guest: ap 1 started", "x86guest: done"):
        if line not in console:
            fail(f"the guest's console should have {line!r}", ("stdout", console), ("stderr", vm.stderr()))
    if rc != 0:
        fail(f"after detach the guest should power off with status 0, got {rc}", ("gdb", out), ("stderr", vm.stderr()))


def scenario_interrupt(trapeze, elf, work):
    vm = Trapeze(trapeze, elf, "x86guest.spin", False, work, "interrupt")
    end = time.monotonic() + 30
    while "x86guest: spinning" not in vm.stdout():
        if time.monotonic() > end:
            fail("the guest did not start spinning", ("stdout", vm.stdout()), ("stderr", vm.stderr()))
        time.sleep(0.05)
    out = gdb(elf, vm.port, ["continue", "echo @stopped\\n", "p/x $rip", "kill"], interrupt_after=3)
    expect(out, r"received signal SIGINT", "Ctrl-C stopped the running guest", vm)
    expect(out, r"@stopped\n\$\d+ = 0x10[0-9a-f]{4}\n", "stopped in the guest's code", vm)
    expect(out, r"\[Inferior 1 \(Remote target\) killed\]", "kill", vm)
    rc = vm.wait()  # ends: QEMU's gdb stub too exits with 0 on kill
    if rc != 0:
        fail(f"killed from gdb, trapeze should end with status 0 as RISC-V's and QEMU's stubs do, got {rc}",
             ("stderr", vm.stderr()))


def kvm_usable():
    try:
        os.close(os.open("/dev/kvm", os.O_RDWR))
        return True
    except OSError:
        return False


def main():
    trapeze, elf = sys.argv[1:3]
    if not kvm_usable():
        print("SKIP: /dev/kvm cannot be opened")
        sys.exit(77)
    with tempfile.TemporaryDirectory(prefix="trapeze-gdb-x86-") as work:
        for name, fn in (("session", scenario_session), ("interrupt", scenario_interrupt)):
            started = time.monotonic()
            fn(trapeze, elf, work)
            print(f"{name}: ok ({time.monotonic() - started:.1f} s)")
    print("PASS")


if __name__ == "__main__":
    main()
