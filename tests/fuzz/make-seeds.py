#!/usr/bin/env python3
"""Writes the seed corpus of every fuzz target to tests/fuzz/corpus/<target>/.

    tests/fuzz/make-seeds.py [CORPUS_DIR]

Each seed is a small valid or nearly valid input in the format its target's header comment
describes. The real ELF programs come from riscv64-unknown-elf-gcc and the host's gcc (as
tests/isa and tests/x86guest are built); everything else is built here byte by byte, so the
corpus is reproducible. Rerun after changing a target's input format and commit the result.
"""
import json
import os
import shutil
import struct
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
OUT = sys.argv[1] if len(sys.argv) > 1 else os.path.join(HERE, "corpus")

u8 = lambda v: struct.pack("<B", v & 0xFF)
u16 = lambda v: struct.pack("<H", v & 0xFFFF)
u32 = lambda v: struct.pack("<I", v & 0xFFFFFFFF)
u64 = lambda v: struct.pack("<Q", v & 0xFFFFFFFFFFFFFFFF)

# virtio 1.2 §2.7.5 descriptor flags, §2.1 status bits.
NEXT, WRITE, INDIRECT = 1, 2, 4
ACK, DRIVER, DRIVER_OK, FEATURES_OK = 1, 2, 4, 8


def write(target, name, data):
    d = os.path.join(OUT, target)
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, name), "wb") as f:
        f.write(data)


def desc(addr, length, flags, nxt=0):
    return u64(addr) + u32(length) + u16(flags) + u16(nxt)


# --- virtqueue_fuzzer, blk_fuzzer: [size code, event idx] + RAM from 0x10000 -----------------
# Available ring at RAM + 0, descriptor table at + 0x40, used ring at + 0x8000 (fuzz_guest.hpp).
RAM = 0x10000


def ring_image(heads, descs, size=16, used_event=None):
    avail = u16(0) + u16(len(heads)) + b"".join(u16(h) for h in heads)
    avail = avail.ljust(4 + 2 * size, b"\0") + (u16(used_event) if used_event is not None else b"")
    return avail.ljust(0x40, b"\0") + b"".join(descs)


def virtqueue_seeds():
    two = [desc(RAM + 0x1000, 16, NEXT, 1), desc(RAM + 0x2000, 32, WRITE)]
    write("virtqueue_fuzzer", "two-buffer-chain", b"\x04\x00" + ring_image([0], two))
    table = [desc(RAM + 0x1000, 8, NEXT, 1), desc(RAM + 0x1100, 8, NEXT | WRITE, 2), desc(RAM + 0x1200, 8, WRITE)]
    image = ring_image([0], [desc(RAM + 0x200, 48, INDIRECT)]).ljust(0x200, b"\0") + b"".join(table)
    write("virtqueue_fuzzer", "indirect-table", b"\x04\x00" + image)
    write("virtqueue_fuzzer", "event-idx-two-chains",
          b"\x03\x01" + ring_image([0, 1], [desc(RAM + 0x1000, 4, 0), desc(RAM + 0x1010, 4, WRITE)], 8, used_event=1))
    write("virtqueue_fuzzer", "loop", b"\x02\x00" + ring_image([0], [desc(RAM + 0x1000, 4, NEXT, 1), desc(RAM + 0x1010, 4, NEXT, 0)]))
    write("virtqueue_fuzzer", "readable-after-writable",
          b"\x04\x00" + ring_image([0], [desc(RAM + 0x1000, 4, NEXT | WRITE, 1), desc(RAM + 0x1010, 4, 0)]))
    write("virtqueue_fuzzer", "buffer-past-ram", b"\x04\x00" + ring_image([0], [desc(RAM + 0xFFF0, 0x20, 0)]))


def blk_seeds():
    # virtio 1.2 §5.2.6: header (type, reserved, sector), data, status byte.
    def request(kind, sector, data_len, data_flags, data=b""):
        # Header at RAM + 0x200, data at + 0x400, status byte at + 0x1000.
        descs = [desc(RAM + 0x200, 16, NEXT, 1)]
        if data_len:
            descs.append(desc(RAM + 0x400, data_len, NEXT | data_flags, 2))
        descs.append(desc(RAM + 0x1000, 1, WRITE))
        image = ring_image([0], descs).ljust(0x200, b"\0") + u32(kind) + u32(0) + u64(sector)
        return b"\x04\x00" + (image.ljust(0x400, b"\0") + data if data else image)

    write("blk_fuzzer", "read-sector-1", request(0, 1, 512, WRITE))
    write("blk_fuzzer", "write-sector-2", request(1, 2, 512, 0, b"\x5a" * 16))
    write("blk_fuzzer", "flush", request(4, 0, 0, 0))
    write("blk_fuzzer", "get-id", request(8, 0, 20, WRITE))
    # One discard segment (§5.2.6: le64 sector, le32 num_sectors, le32 flags).
    write("blk_fuzzer", "discard", request(11, 0, 16, 0, u64(1) + u32(2) + u32(0)))
    write("blk_fuzzer", "read-past-the-end", request(0, 1000, 512, WRITE))


# --- mmio_transport_fuzzer: device byte, u16 RAM length, RAM (64 KiB at GPA 0), accesses -----
def reg_write(offset, value):
    return u8(0) + u8(offset // 4) + u32(value)


def reg_read(offset):
    return u8(1) + u8(offset // 4)


def config_read(offset, size_code):
    return u8(2 | size_code << 2) + u8(offset)


def config_write(offset, size_code, value):
    return u8(2 | size_code << 2 | 0x10) + u8(offset) + u64(value)


def mmio_init(queues, features_hi=1, features_lo=(1 << 28) | (1 << 29)):
    ops = reg_write(0x70, 0) + reg_write(0x70, ACK | DRIVER)
    ops += reg_write(0x24, 0) + reg_write(0x20, features_lo) + reg_write(0x24, 1) + reg_write(0x20, features_hi)
    ops += reg_write(0x70, ACK | DRIVER | FEATURES_OK) + reg_read(0x70)
    for q, (num, d, a, u) in enumerate(queues):
        ops += reg_write(0x30, q) + reg_read(0x34) + reg_write(0x38, num)
        ops += reg_write(0x80, d) + reg_write(0x84, 0) + reg_write(0x90, a) + reg_write(0x94, 0)
        ops += reg_write(0xA0, u) + reg_write(0xA4, 0) + reg_write(0x44, 1) + reg_read(0x44)
    return ops + reg_write(0x70, ACK | DRIVER | FEATURES_OK | DRIVER_OK)


def mmio_ram(chains):
    """chains: per queue (desc table, avail ring, [descriptors]); one chain at head 0."""
    ram = bytearray(0x900)
    for table, avail, descs in chains:
        blob = b"".join(descs)
        ram[table : table + len(blob)] = blob
        ram[avail : avail + 6] = u16(0) + u16(1) + u16(0)
    ram[0x800:0x805] = b"hello"
    return bytes(ram)


def mmio_seed(device, ram, ops):
    return u8(device) + u16(len(ram)) + ram + ops


def mmio_transport_seeds():
    # Queue 0: descriptors at 0x100, available ring at 0x200, used ring at 0x300; queue 1 at
    # 0x400, 0x500, 0x600; data from 0x800.
    ram = mmio_ram([(0x100, 0x200, [desc(0x880, 64, WRITE)])])
    ops = mmio_init([(16, 0x100, 0x200, 0x300)]) + reg_write(0x50, 0) + reg_read(0x60) + reg_write(0x64, 1)
    ops += config_read(0, 2) + reg_read(0x00) + reg_read(0x08) + reg_write(0x70, 0) + reg_read(0x70)
    write("mmio_transport_fuzzer", "rng-request", mmio_seed(0, ram, ops))
    ram = mmio_ram([(0x100, 0x200, [desc(0x880, 64, WRITE)]), (0x400, 0x500, [desc(0x800, 5, 0)])])
    ops = mmio_init([(16, 0x100, 0x200, 0x300), (16, 0x400, 0x500, 0x600)]) + reg_write(0x50, 1)
    ops += reg_read(0x60) + reg_write(0x64, 3) + config_write(8, 2, ord("!")) + config_read(0, 1)
    write("mmio_transport_fuzzer", "console-transmit", mmio_seed(1, ram, ops))
    # Near misses: a size above 16 bits, a size above QueueNumMax, a ring outside RAM, no VERSION_1.
    ops = mmio_init([(0x10010, 0x1000, 0x2000, 0x3000)]) + reg_read(0x38) + reg_read(0x70)
    write("mmio_transport_fuzzer", "queue-num-above-16-bits", mmio_seed(0, b"", ops))
    ops = mmio_init([(128, 0x1000, 0x2000, 0x3000)]) + reg_read(0x70)
    write("mmio_transport_fuzzer", "queue-num-above-max", mmio_seed(0, b"", ops))
    ops = mmio_init([(16, 0xFFF0, 0x2000, 0x3000)]) + reg_write(0x70, 0)
    write("mmio_transport_fuzzer", "ring-outside-ram", mmio_seed(1, b"", ops))
    ops = mmio_init([(16, 0x1000, 0x2000, 0x3000)], features_hi=0) + reg_read(0x70)
    write("mmio_transport_fuzzer", "no-version-1", mmio_seed(0, b"", ops))
    odd = u8(3 | 4) + u16(0x70) + u8(2) + u64(0) + u8(3) + u16(0x101) + u8(3) + u8(3 | 4) + u16(0x1FF) + u8(8) + u64(7)
    write("mmio_transport_fuzzer", "odd-sizes", mmio_seed(1, b"", odd))


# --- net_fuzzer, console_fuzzer: FuzzDriver ops (fuzz_driver.hpp) ------------------------------
def drv_init(choice=0, sizes=(4, 4)):
    return u8(choice) + b"".join(u8(s) for s in sizes)


def post(queue, n, addr, stride, length, first_writable, flags):
    return u8(0 | queue << 3) + u8(n - 1) + u32(addr) + u16(stride) + u32(length) + u8(first_writable) + u8(flags)


def notify(queue):
    return u8(1 | queue << 3)


def poke(offset, data):
    return u8(2) + u16(offset) + u8(len(data)) + data


POLL = u8(4)
NOTIFY_ALL = u8(6) + u8(3)


def reset(choice=0, sizes=(4, 4)):
    return u8(5) + drv_init(choice, sizes)


def avail_idx(queue, idx):
    return u8(7 | queue << 3) + u16(idx)


def net_frame(data, now=False):
    return u8(3 | (0x20 if now else 0)) + u16(len(data)) + u8(len(data)) + data


def net_burst(count, length):
    return u8(3 | 1 << 3) + u16(count) + u8(length)


def net_echo(on):
    return u8(3 | 2 << 3 | (0x20 if on else 0))


def net_config_read(offset, size_code):
    return u8(3 | 3 << 3) + u8(offset) + u8(size_code)


ARP = bytes.fromhex("ffffffffffff525400123456 0806 0001 0800 06 04 0001 525400123456 0a00020f 000000000000 0a000202".replace(" ", ""))


def net_seeds():
    # Transmit: a 12-byte header and a 42-byte ARP request in one readable buffer, poked into
    # RAM first. Receive: a buffer of 1530 bytes (Linux's GOOD_PACKET_LEN + header).
    seed = drv_init() + poke(0x8000, bytes(12) + ARP) + post(1, 1, 0x8000, 0, 12 + len(ARP), 255, 2)
    seed += post(0, 1, 0x30000, 0, 1530, 0, 2)
    seed += net_frame(ARP) + POLL + notify(0) + NOTIFY_ALL + net_config_read(0, 2)
    write("net_fuzzer", "transmit-and-receive", seed)
    seed = drv_init() + net_echo(True) + post(0, 2, 0x30000, 0x1000, 800, 0, 0)
    seed += post(1, 3, 0x20000, 0x100, 40, 255, 3) + POLL
    write("net_fuzzer", "echo-split-buffers", seed)
    seed = drv_init(choice=1) + post(1, 4, 0x20000, 0x40, 16, 255, 1 | 2) + post(0, 3, 0x30000, 0x800, 512, 0, 1 | 2)
    seed += net_frame(ARP, now=True) + notify(0)
    write("net_fuzzer", "indirect-chains", seed)
    seed = drv_init() + net_burst(1100, 60) + post(0, 1, 0x30000, 0, 1530, 0, 2) + POLL
    write("net_fuzzer", "backlog-overflow", seed)
    seed = drv_init() + post(0, 1, 0x30000, 0, 20, 0, 0) + net_frame(ARP, now=True) + notify(0)
    write("net_fuzzer", "receive-buffer-too-small", seed)
    seed = drv_init() + post(1, 1, 0x20000, 0, 8, 255, 2) + post(1, 1, 0x20000, 0, 70000, 255, 2)
    write("net_fuzzer", "transmit-malformed", seed)
    seed = drv_init() + avail_idx(1, 40) + notify(1) + reset() + post(1, 1, 0x20000, 0, 60, 255, 2)
    write("net_fuzzer", "avail-idx-ahead-then-reset", seed)
    seed = drv_init(sizes=(9, 4)) + post(0, 1, 0x30000, 0, 1530, 0, 2) + poke(0x0, desc(0x3FFFFFF0, 0x100, WRITE)) + notify(0)
    write("net_fuzzer", "queue-too-big-and-bad-buffer", seed)


def console_input(data):
    return u8(3) + u8(len(data)) + data


def console_paste(count):
    return u8(3 | 1 << 3) + u16(count)


def console_config_write(offset, size_code, value):
    return u8(3 | 2 << 3) + u8(offset) + u8(size_code) + u32(value)


def console_config_read(offset, size_code):
    return u8(3 | 3 << 3) + u8(offset) + u8(size_code)


def console_seeds():
    seed = drv_init() + poke(0x8000, b"hello\n") + post(1, 1, 0x8000, 0, 6, 255, 2)
    seed += console_input(b"ls\n") + post(0, 1, 0x30000, 0, 16, 0, 2) + POLL + NOTIFY_ALL
    write("console_fuzzer", "transmit-and-receive", seed)
    seed = drv_init() + console_paste(5000) + post(0, 4, 0x30000, 0x1000, 1024, 0, 2) + POLL
    seed += post(0, 1, 0x40000, 0, 4096, 0, 1 | 2) + POLL
    write("console_fuzzer", "paste-fills-the-buffer", seed)
    # A long transmit chain (queues of 64): 64 buffers of 1 MiB, all the same RAM.
    seed = drv_init(sizes=(6, 6)) + post(1, 64, 0x100000, 0, 0x100000, 255, 1 | 2)
    write("console_fuzzer", "long-transmit-chain", seed)
    # Regression seed: 64 buffers each covering all of RAM, 4 GiB of output. The transmit path
    # once gathered a chain into one host buffer (bad_alloc); it must stream it.
    seed = drv_init(sizes=(6, 6)) + post(1, 64, 0, 0, 64 << 20, 255, 1 | 2)
    write("console_fuzzer", "whole-ram-transmit-chain", seed)
    seed = drv_init() + console_config_write(8, 2, ord("x")) + console_config_read(0, 3) + console_config_write(12, 2, 1)
    write("console_fuzzer", "emergency-write", seed)
    seed = drv_init() + post(1, 2, 0x8000, 0x10, 8, 1, 2) + reset(choice=3) + post(1, 1, 0x8000, 0, 8, 255, 2)
    write("console_fuzzer", "writable-transmit-then-reset", seed)
    seed = drv_init() + console_input(b"x") + avail_idx(0, 0x100) + POLL + reset() + post(0, 1, 0x30000, 0, 4, 0, 2)
    write("console_fuzzer", "avail-idx-ahead-keeps-input", seed)


# --- ELF files -----------------------------------------------------------------------------
EM_RISCV, EM_X86_64 = 243, 62
PT_LOAD, PT_NOTE = 1, 4


def elf(machine, entry, segments, symbols=None, phentsize=56):
    """segments: (type, paddr, data, memsz); symbols: {name: value} in a .symtab."""
    phoff = 64
    data_off = phoff + 56 * len(segments)
    blobs, phdrs, off = b"", b"", data_off
    for kind, paddr, data, memsz in segments:
        phdrs += u32(kind) + u32(7) + u64(off) + u64(paddr) + u64(paddr) + u64(len(data)) + u64(memsz) + u64(4)
        blobs += data
        off += len(data)
    shoff, shnum, tail = 0, 0, b""
    if symbols:
        strtab = b"\0" + b"".join(n.encode() + b"\0" for n in symbols)
        syms, at = bytes(24), 1
        for name, value in symbols.items():
            syms += u32(at) + u8(0x11) + u8(0) + u16(1) + u64(value) + u64(0)
            at += len(name) + 1
        sym_off, str_off = off, off + len(syms)
        tail = syms + strtab
        shoff = str_off + len(strtab)
        shdr = lambda kind, o, size, link: u32(0) + u32(kind) + u64(0) + u64(0) + u64(o) + u64(size) + u32(link) + u32(0) + u64(8) + u64(24 if kind == 2 else 0)
        tail += bytes(64) + shdr(2, sym_off, len(syms), 2) + shdr(3, str_off, len(strtab), 0)
        shnum = 3
    ident = b"\x7fELF" + u8(2) + u8(1) + u8(1) + bytes(9)
    header = ident + u16(2) + u16(machine) + u32(1) + u64(entry) + u64(phoff) + u64(shoff) + u32(0)
    header += u16(64) + u16(phentsize) + u16(len(segments)) + u16(64) + u16(shnum) + u16(0)
    return header + phdrs + blobs + tail


def compile_riscv(tmp):
    gcc = shutil.which("riscv64-unknown-elf-gcc")
    if not gcc:
        sys.exit("riscv64-unknown-elf-gcc not found: it builds the real ELF seeds")
    src = os.path.join(tmp, "hello.c")
    with open(src, "w") as f:
        f.write("volatile unsigned long tohost __attribute__((section(\".tohost\")));\n"
                "volatile unsigned long fromhost __attribute__((section(\".tohost\")));\n"
                "volatile char buffer[256];\n"
                "void _start(void) {\n"
                "    for (int i = 0; i < 16; ++i) buffer[i] = (char)('a' + i);\n"
                "    tohost = 1;\n"
                "    for (;;) {}\n"
                "}\n")
    # One segment at the RISC-V board's RAM base, not page-aligned in the file (-n), so the
    # program is a few hundred bytes.
    script = os.path.join(tmp, "hello.ld")
    with open(script, "w") as f:
        f.write("ENTRY(_start)\nSECTIONS {\n  . = 0x80000000;\n  .text : { *(.text*) }\n"
                "  .data : { *(.tohost) *(.data*) *(.sdata*) }\n  .bss : { *(.bss*) *(.sbss*) }\n}\n")
    out = os.path.join(tmp, "hello.elf")
    subprocess.run([gcc, "-march=rv64gc", "-mabi=lp64d", "-mcmodel=medany", "-O2", "-static", "-nostdlib",
                    "-nostartfiles", "-Wl,-n", "-Wl,--no-warn-rwx-segments", "-Wl,-T," + script, "-Wl,--build-id=none", "-o", out, src], check=True)
    stripped = os.path.join(tmp, "hello-stripped.elf")
    subprocess.run([gcc.replace("-gcc", "-strip"), "-o", stripped, out], check=True)
    return open(out, "rb").read(), open(stripped, "rb").read()


def compile_pvh(tmp):
    gcc = shutil.which("gcc")
    if not gcc:
        sys.exit("gcc not found: it builds the real PVH ELF seed")
    src = os.path.join(tmp, "pvh.S")
    with open(src, "w") as f:
        # The Xen PVH entry note (XEN_ELFNOTE_PHYS32_ENTRY = 18), as tests/x86guest has it.
        f.write(".section .note.Xen, \"a\", @note\n"
                ".align 4\n.long 4, 4, 18\n.asciz \"Xen\"\n.long _start\n"
                ".text\n.code32\n.global _start\n_start:\n    hlt\n    jmp _start\n")
    out = os.path.join(tmp, "pvh.elf")
    subprocess.run([gcc, "-nostdlib", "-static", "-no-pie", "-Wl,-Ttext=0x100000", "-Wl,--build-id=none",
                    "-Wl,-z,max-page-size=0x1000", "-Wl,-z,noexecstack", "-s", "-o", out, src], check=True)
    return open(out, "rb").read()


def xen_note(value, size=4):
    return u32(4) + u32(size) + u32(18) + b"Xen\0" + (u32(value) if size == 4 else u64(value))


def elf_seeds(hello, stripped):
    base = 0x80000000
    write("elf_fuzzer", "riscv-hello", hello)
    write("elf_fuzzer", "riscv-hello-stripped", stripped)
    write("elf_fuzzer", "two-segments-and-bss",
          elf(EM_RISCV, base, [(PT_LOAD, base, b"\x13\x00\x00\x00" * 4, 0x40), (PT_LOAD, base + 0x1000, b"data", 4)],
              {"tohost": base + 0x1000, "fromhost": base + 0x1008}))
    write("elf_fuzzer", "overlapping-segments",
          elf(EM_RISCV, base, [(PT_LOAD, base, b"A" * 32, 64), (PT_LOAD, base + 16, b"B" * 8, 8)]))
    write("elf_fuzzer", "segment-past-ram", elf(EM_RISCV, base, [(PT_LOAD, base + 0x3FFF0, b"x" * 8, 0x100)]))
    write("elf_fuzzer", "x86-64", elf(EM_X86_64, base, [(PT_LOAD, base + 0x100, b"\xf4", 1)]))
    write("elf_fuzzer", "bad-phentsize", elf(EM_RISCV, base, [(PT_LOAD, base, b"x", 1)], phentsize=32))
    write("elf_fuzzer", "truncated", hello[:200])


def image_header(image_size, size=4096, magic=True):
    h = bytearray(size)
    h[0:4] = u32(0x0100006F)                         # code0: j 0x40 (past the header)
    h[8:16] = u64(0x200000)                          # text_offset
    h[0x10:0x18] = u64(image_size)                   # image_size
    h[0x20:0x24] = u32(2)                            # version 0.2
    h[0x30:0x38] = b"RISCV\0\0\0"                    # magic (deprecated)
    if magic:
        h[0x38:0x3C] = b"RSC\x05"                    # magic2
    for i in range(0x40, size):
        h[i] = i * 7 & 0xFF
    return bytes(h)


def image_seeds(hello):
    write("image_fuzzer", "image-4k", image_header(0x10000))
    write("image_fuzzer", "image-size-below-file", image_header(0x100))
    write("image_fuzzer", "image-size-above-ram", image_header(0x200000))
    write("image_fuzzer", "header-only", image_header(0x1000, size=64))
    write("image_fuzzer", "no-magic2", image_header(0x10000, size=256, magic=False))
    write("image_fuzzer", "elf-kernel", hello)


def bzimage(version=0x020F, xloadflags=1, setup_sects=7, pref=0x100000, init_size=0x3000, kernel=0x200,
            header_end=0x6A):
    img = bytearray(0x1000 + kernel)
    img[0x1F1] = setup_sects
    img[0x1FE:0x200] = u16(0xAA55)
    img[0x201] = header_end                          # the header ends at 0x202 + this byte
    img[0x202:0x206] = b"HdrS"
    img[0x206:0x208] = u16(version)
    img[0x211] = 1                                   # loadflags: LOADED_HIGH
    img[0x22C:0x230] = u32(0x7FFFFFFF)               # initrd_addr_max
    img[0x230:0x234] = u32(0x200000)                 # kernel_alignment
    img[0x234] = 1                                   # relocatable_kernel
    img[0x236:0x238] = u16(xloadflags)
    img[0x238:0x23C] = u32(2047)                     # cmdline_size
    img[0x258:0x260] = u64(pref)                     # pref_address
    img[0x260:0x264] = u32(init_size)                # init_size
    for i in range(0x1000, len(img)):
        img[i] = i * 7 & 0xFF
    return bytes(img)


def bzimage_seeds(pvh):
    write("bzimage_fuzzer", "bzimage", bzimage())
    write("bzimage_fuzzer", "bzimage-protocol-2.10", bzimage(version=0x020A))
    write("bzimage_fuzzer", "bzimage-no-64-bit-entry", bzimage(xloadflags=0))
    write("bzimage_fuzzer", "bzimage-setup-sects-0", bzimage(setup_sects=0))
    write("bzimage_fuzzer", "bzimage-above-ram", bzimage(pref=0x1000000))
    write("bzimage_fuzzer", "bzimage-small-initrd-max", bzimage()[:0x22C] + u32(0x100000) + bzimage()[0x230:])
    write("bzimage_fuzzer", "bzimage-header-to-0x301", bzimage(header_end=0xFF))
    write("bzimage_fuzzer", "bzimage-short-cmdline", bzimage()[:0x238] + u32(8) + bzimage()[0x23C:])
    write("bzimage_fuzzer", "pvh-real", pvh)
    write("bzimage_fuzzer", "pvh-note-8-bytes",
          elf(EM_X86_64, 0x100000, [(PT_NOTE, 0, xen_note(0x100000, 8), 0), (PT_LOAD, 0x100000, b"\xf4\xeb\xfd", 0x10)]))
    write("bzimage_fuzzer", "pvh-below-1m",
          elf(EM_X86_64, 0x1000, [(PT_NOTE, 0, xen_note(0x1000), 0), (PT_LOAD, 0x1000, b"\xf4", 1)]))
    write("bzimage_fuzzer", "pvh-past-ram",
          elf(EM_X86_64, 0x100000, [(PT_NOTE, 0, xen_note(0x100000), 0), (PT_LOAD, 0x3FFF00, b"\xf4", 0x1000)]))


def options_seeds():
    seeds = {
        "disk": b"\x00disk.img",
        "disk-ro-id": b"\x00/var/lib/vm/root.img,ro,id=root",
        "disk-long-id": b"\x00x.img,id=012345678901234567890",
        "disk-unknown": b"\x00x.img,rw",
        "net-user": b"\x01user",
        "net-user-forwards-mac": b"\x01user,hostfwd=tcp::2222-:22,hostfwd=udp:127.0.0.1:5353-10.0.2.15:53,mac=52:54:00:12:34:57",
        "net-tap": b"\x01tap=tap0,mac=02:00:00:00:00:01",
        "net-tap-bad-name": b"\x01tap=bad/name",
        "net-tap-hostfwd": b"\x01tap=tap0,hostfwd=tcp::80-:80",
        "net-mac-twice": b"\x01user,mac=52:54:00:12:34:56,mac=52:54:00:12:34:57",
        "hostfwd": b"\x02tcp:0.0.0.0:8080-10.0.2.15:80",
        "hostfwd-to-gateway": b"\x02tcp::1-10.0.2.2:1",
        "hostfwd-port-0": b"\x02udp::0-:53",
        "mac": b"\x0352:54:00:12:34:56",
        "mac-multicast": b"\x0301:00:5e:00:00:01",
        "mac-zero": b"\x0300:00:00:00:00:00",
    }
    for name, data in seeds.items():
        write("options_fuzzer", name, data)


# --- api_fuzzer: [VM fates, body limit, n chunk sizes, sizes...] + the connection's bytes ----
# Requests as Firecracker's clients send them (curl --unix-socket, the Go SDK). The kernel is
# /proc/self/exe (an x86-64 ELF, so InstanceStart can succeed) and disks are /dev/null: the
# fuzz target creates no files.
KERNEL = "/proc/self/exe"
DISK = "/dev/null"


def http(method, path, body=None, headers=(), version="1.1"):
    lines = [f"{method} {path} HTTP/{version}", "Host: localhost", "Accept: application/json"]
    data = b""
    if body is not None:
        data = body if isinstance(body, bytes) else json.dumps(body).encode()
        lines += ["Content-Type: application/json", f"Content-Length: {len(data)}"]
    lines += list(headers)
    return ("\r\n".join(lines) + "\r\n\r\n").encode() + data


def api_input(stream, fates=0, limit=0, chunks=()):
    return bytes([fates, limit, len(chunks)]) + bytes(chunks) + stream


BUCKET_BW = {"size": 1048576, "one_time_burst": 4194304, "refill_time": 1000}
BUCKET_OPS = {"size": 100, "refill_time": 100}


def getting_started():
    # Firecracker's getting-started guide, in order, on one keep-alive connection.
    return b"".join([
        http("PUT", "/logger", {"log_path": "fc.log", "level": "Debug", "show_level": True, "show_log_origin": True}),
        http("PUT", "/boot-source", {"kernel_image_path": KERNEL, "boot_args": "console=ttyS0 reboot=k panic=1 pci=off"}),
        http("PUT", "/drives/rootfs", {"drive_id": "rootfs", "path_on_host": DISK, "is_root_device": True,
                                       "is_read_only": False}),
        http("PUT", "/network-interfaces/net1", {"iface_id": "net1", "guest_mac": "06:00:AC:10:00:02",
                                                 "host_dev_name": "tap0"}),
        http("PUT", "/machine-config", {"vcpu_count": 2, "mem_size_mib": 1024, "smt": False}),
        http("PUT", "/actions", {"action_type": "InstanceStart"}),
        http("GET", "/"),
        http("GET", "/vm/config"),
    ])


def api_seeds():
    t = "api_fuzzer"
    write(t, "getting-started", api_input(getting_started()))
    # The same in small pieces, the first start failing (the VM stays configurable).
    write(t, "getting-started-chunked-start-fails",
          api_input(getting_started() + http("PUT", "/actions", {"action_type": "InstanceStart"}),
                    fates=0x01, chunks=(1, 7, 64, 0, 13)))
    write(t, "machine-config", api_input(b"".join([
        http("GET", "/machine-config"),
        http("PUT", "/machine-config", {"vcpu_count": 4, "mem_size_mib": 256, "smt": False, "track_dirty_pages": True,
                                        "huge_pages": "None"}),
        http("PATCH", "/machine-config", {"vcpu_count": 1}),
        http("PATCH", "/machine-config", {"mem_size_mib": 16, "cpu_template": "None"}),
        http("PUT", "/machine-config", {"vcpu_count": 33, "mem_size_mib": 128}),
        http("GET", "/machine-config"),
    ])))
    write(t, "boot-source-initrd", api_input(b"".join([
        http("PUT", "/boot-source", {"kernel_image_path": KERNEL, "initrd_path": KERNEL, "boot_args": "quiet"}),
        http("PUT", "/boot-source", {"kernel_image_path": "/nonexistent/vmlinux"}),
        http("GET", "/vm/config"),
    ])))
    write(t, "drives-rate-limited", api_input(b"".join([
        http("PUT", "/boot-source", {"kernel_image_path": KERNEL}),
        http("PUT", "/drives/rootfs", {"drive_id": "rootfs", "path_on_host": DISK, "is_root_device": True,
                                       "is_read_only": True, "cache_type": "Writeback", "io_engine": "Async",
                                       "partuuid": "0eaa91a0-01",
                                       "rate_limiter": {"bandwidth": BUCKET_BW, "ops": BUCKET_OPS}}),
        http("PUT", "/drives/scratch", {"drive_id": "scratch", "path_on_host": DISK, "is_root_device": False,
                                        "rate_limiter": {"ops": {"size": 10, "refill_time": 1}}}),
        http("PUT", "/actions", {"action_type": "InstanceStart"}),
        http("PATCH", "/drives/scratch", {"drive_id": "scratch", "path_on_host": DISK,
                                          "rate_limiter": {"bandwidth": {"size": 4096, "refill_time": 10}}}),
        http("PATCH", "/drives/rootfs", {"drive_id": "rootfs"}),
        http("GET", "/vm/config"),
    ]), fates=0x10))
    write(t, "network-interfaces-rate-limited", api_input(b"".join([
        http("PUT", "/network-interfaces/eth0", {"iface_id": "eth0", "host_dev_name": "tap0", "guest_mac": "AA:FC:00:00:00:01",
                                                 "rx_rate_limiter": {"bandwidth": BUCKET_BW},
                                                 "tx_rate_limiter": {"ops": BUCKET_OPS, "bandwidth": BUCKET_BW}}),
        http("PUT", "/network-interfaces/eth1", {"iface_id": "eth1", "backend": "user",
                                                 "hostfwd": ["tcp::2222-:22", "udp:127.0.0.1:5353-10.0.2.15:53"]}),
        http("PUT", "/network-interfaces/eth2", {"iface_id": "eth2", "backend": "tap", "host_dev_name": "tap0"}),
        http("PUT", "/boot-source", {"kernel_image_path": KERNEL}),
        http("PUT", "/actions", {"action_type": "InstanceStart"}),
        http("PATCH", "/network-interfaces/eth0", {"iface_id": "eth0", "rx_rate_limiter": {"ops": BUCKET_OPS}}),
        http("PATCH", "/network-interfaces/eth1", {"iface_id": "eth1", "tx_rate_limiter": {}}),
        http("GET", "/vm/config"),
    ]), fates=0x20))
    write(t, "entropy-serial-metrics", api_input(b"".join([
        http("PUT", "/entropy", {"rate_limiter": {"bandwidth": {"size": 1000, "refill_time": 100}}}),
        http("PUT", "/serial", {"serial_out_path": "serial.log"}),
        http("PUT", "/metrics", {"metrics_path": "metrics.fifo"}),
        http("PUT", "/logger", {"level": "Warning"}),
        http("PUT", "/boot-source", {"kernel_image_path": KERNEL}),
        http("PUT", "/actions", {"action_type": "InstanceStart"}),
        http("PUT", "/actions", {"action_type": "FlushMetrics"}),
        http("PUT", "/actions", {"action_type": "FlushMetrics"}),
        http("PUT", "/actions", {"action_type": "SendCtrlAltDel"}),
        http("GET", "/vm/config"),
    ]), fates=0xc8))
    write(t, "pause-resume", api_input(b"".join([
        http("PATCH", "/vm", {"state": "Paused"}),
        http("PUT", "/boot-source", {"kernel_image_path": KERNEL}),
        http("PUT", "/actions", {"action_type": "InstanceStart"}),
        http("PATCH", "/vm", {"state": "Paused"}),
        http("PATCH", "/vm", {"state": "Paused"}),
        http("GET", "/"),
        http("PATCH", "/vm", {"state": "Resumed"}),
        http("PATCH", "/vm", {"state": "Resumed"}),
        http("PATCH", "/vm", {"state": "Running"}),
        http("PUT", "/machine-config", {"vcpu_count": 1, "mem_size_mib": 128}),
        http("PUT", "/actions", {"action_type": "InstanceStart"}),
    ]), fates=0x06))
    # Two requests in one write, the first without a body.
    write(t, "pipelined-pair", api_input(http("GET", "/version") +
                                         http("PUT", "/machine-config", {"vcpu_count": 2, "mem_size_mib": 512})))
    write(t, "pipelined-pair-close", api_input(http("GET", "/", headers=["Connection: close"]) + http("GET", "/version")))
    write(t, "http-1.0", api_input(http("GET", "/machine-config", version="1.0") + http("GET", "/")))
    write(t, "chunked-body", api_input(
        b"PUT /machine-config HTTP/1.1\r\nHost: localhost\r\nTransfer-Encoding: chunked\r\n"
        b"Content-Type: application/json\r\n\r\n"
        b"10\r\n{\"vcpu_count\": 2\r\n15;ext=1\r\n, \"mem_size_mib\": 64}\r\n0\r\n\r\n" + http("GET", "/machine-config"),
        chunks=(5, 3)))
    # Bodies over the limit: 300 bytes against 256, and a Content-Length over 51200 (refused
    # from the header alone).
    big = json.dumps({"kernel_image_path": KERNEL, "boot_args": "x" * 300}).encode()
    write(t, "oversized-body", api_input(http("PUT", "/boot-source", big), limit=2))
    write(t, "oversized-content-length", api_input(
        b"PUT /boot-source HTTP/1.1\r\nHost: localhost\r\nContent-Length: 51201\r\n\r\n{\"kernel_image_path\": \""))
    write(t, "malformed-json", api_input(b"".join([
        http("PUT", "/machine-config", b"{not json"),
        http("PUT", "/machine-config", b'{"vcpu_count": 2, "mem_size_mib": 256,}'),
        http("PUT", "/machine-config", b'{"vcpu_count": 2, "mem_size_mib": 256, "colour": "red"}'),
        http("PUT", "/machine-config", b'{"vcpu_count": "two", "mem_size_mib": -1}'),
        http("PUT", "/machine-config", b'[1, 2]'),
        http("PUT", "/machine-config", b''),
        http("PUT", "/drives/a", b'{"drive_id": "b", "path_on_host": "/x", "is_root_device": false}'),
        http("PUT", "/actions", b'{"action_type": "Reboot"}'),
        http("PUT", "/network-interfaces/eth0", b'{"iface_id": "eth0", "host_dev_name": "tap0", "guest_mac": "zz"}'),
        http("PUT", "/machine-config", b'{"vcpu_count": 1e3, "mem_size_mib": 18446744073709551616}'),
        http("PUT", "/serial", b'{"serial_out_path": "\\u00e9\\ud83d\\ude00"}'),
    ])))
    write(t, "unknown-paths-methods", api_input(b"".join([
        http("GET", "/nowhere"),
        http("DELETE", "/machine-config"),
        http("GET", "/machine-config?pretty=1"),
        http("PUT", "/snapshot/create", {"snapshot_path": "a", "mem_file_path": "b"}),
        http("PUT", "/balloon", {"amount_mib": 1, "deflate_on_oom": True}),
        http("PUT", "/drives/", {"drive_id": ""}),
        http("PUT", "/drives/a/b", {"drive_id": "a/b"}),
        http("POST", "/actions", {"action_type": "InstanceStart"}),
    ])))
    write(t, "bad-http", api_input(b"GET / HTTP/1.1\r\nHost: localhost\r\nContent-Length: x\r\n\r\n"))
    # Regression: a path that is not UTF-8, quoted in the fault message (json::dump threw).
    write(t, "path-not-utf8", api_input(b"GET /drives/\xff\xfe HTTP/1.1\r\nHost: localhost\r\n\r\n"))


def main():
    # snapshot_fuzzer's seeds are real snapshot files, written by the unit test SnapshotFuzzSeeds,
    # replay_log_fuzzer's are logs written by the unit test ReplayFuzzSeeds (see README.md), and
    # gdb_packet_fuzzer's are packet sequences written by hand: they stay.
    for target in os.listdir(OUT) if os.path.isdir(OUT) else []:
        if target not in ("snapshot_fuzzer", "gdb_packet_fuzzer", "replay_log_fuzzer"):
            shutil.rmtree(os.path.join(OUT, target))
    virtqueue_seeds()
    blk_seeds()
    mmio_transport_seeds()
    net_seeds()
    console_seeds()
    options_seeds()
    api_seeds()
    with tempfile.TemporaryDirectory() as tmp:
        hello, stripped = compile_riscv(tmp)
        pvh = compile_pvh(tmp)
    elf_seeds(hello, stripped)
    image_seeds(hello)
    bzimage_seeds(pvh)


if __name__ == "__main__":
    main()
