#!/usr/bin/env python3
"""Runs the hostile bare-metal guest (virtio_hostile.elf) against one virtio device, with a
small and a large guest RAM, and checks trapeze's peak resident memory.

    run_hostile.py TRAPEZE ELF DEVICE [--limit-mib N] [--asan-shadow]

DEVICE is console, net, blk or rng. The guest floods that device with the longest chains of
the largest buffers it can build (see virtio_hostile.c) and must finish with status 0 (every
request answered, the device found). Passing means: both runs succeed, each peak RSS is
below the limit, and the large-RAM run's peak is within kRamIndependentMib of the small one's:
the VMM's own memory does not grow with what the guest can point its devices at.

--asan-shadow (a build under AddressSanitizer): ASan's write(2) interceptor reads the shadow
of every buffer written, and guest buffers span guest RAM, so up to an eighth of guest RAM of
shadow is read in; kernels that do not map the shared zero page on a read fault count it as
resident. That much more is allowed per run, and in the growth from the small RAM to the large.
"""
import argparse
import os
import subprocess
import sys
import tempfile

# Guest RAM sizes (MiB): the hostile buffers scale with these, the VMM's memory must not.
kSmallMib, kLargeMib = 64, 2048
# How much more the large run may take: page tables and bitmaps sized by RAM (e.g. the code
# cache's one byte per 4 KiB page: 0.5 MiB at 2 GiB), never buffers sized by requests.
kRamIndependentMib = 8
# Device IDs, virtio 1.2 §5: the guest checks that this one was there to attack.
kDevices = {
    "net": (1, ["--net", "user"]),
    "blk": (2, None),  # --disk added below
    "console": (3, ["--console", "virtio"]),
    "rng": (4, []),
}


def run(trapeze, elf, device, memory_mib, disk):
    ident, extra = kDevices[device]
    if extra is None:
        extra = ["--disk", disk]
    # --no-ram-prefault: what is measured is the VMM's own memory. Guest RAM populated ahead of
    # the guest (memory/RamPrefaulter) is guest RAM, up to 64 MiB of it, and whether the thread
    # got there before this short guest ended is a matter of timing (peaks 27 and 38 MiB once).
    cmd = [trapeze, "run", "--bios", "none", "--kernel", elf, "--memory", str(memory_mib), "--no-stats",
           "--no-ram-prefault", "--append", f"expect={ident}"] + extra
    if device != "rng":
        cmd.append("--no-rng")
    # The console flood is some 64 x RAM of output: it goes to /dev/null, which reads none of it.
    with open(os.devnull, "wb") as null, tempfile.TemporaryFile() as err:
        proc = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=null, stderr=err)
        try:
            _, status, usage = os.wait4(proc.pid, 0)
        except KeyboardInterrupt:
            proc.kill()
            raise
        proc.returncode = os.waitstatus_to_exitcode(status)
        err.seek(0)
        stderr = err.read().decode(errors="replace")
    return proc.returncode, usage.ru_maxrss // 1024, stderr, " ".join(cmd)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("trapeze")
    ap.add_argument("elf")
    ap.add_argument("device", choices=sorted(kDevices))
    ap.add_argument("--limit-mib", type=int, default=64)
    ap.add_argument("--asan-shadow", action="store_true")
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        disk = os.path.join(tmp, "disk.img")
        with open(disk, "wb") as f:
            f.truncate(64 << 20)
        peaks = {}
        for mib in (kSmallMib, kLargeMib):
            rc, peak, stderr, cmd = run(args.trapeze, args.elf, args.device, mib, disk)
            print(f"{args.device}: --memory {mib}: status {rc}, peak RSS {peak} MiB")
            if rc != 0:
                print(f"FAIL: {cmd} exited with {rc}\n{stderr}")
                return 1
            peaks[mib] = peak
    shadow = (lambda mib: mib // 8) if args.asan_shadow else (lambda mib: 0)
    for mib, peak in peaks.items():
        if peak > args.limit_mib + shadow(mib):
            print(f"FAIL: peak RSS {peak} MiB at --memory {mib} is above the {args.limit_mib + shadow(mib)} MiB limit")
            return 1
    if peaks[kLargeMib] - peaks[kSmallMib] > kRamIndependentMib + shadow(kLargeMib) - shadow(kSmallMib):
        print(f"FAIL: peak RSS grew from {peaks[kSmallMib]} to {peaks[kLargeMib]} MiB with guest RAM")
        return 1
    print(f"PASS: {args.device} kept trapeze within {max(peaks.values())} MiB for either RAM size")
    return 0


if __name__ == "__main__":
    sys.exit(main())
