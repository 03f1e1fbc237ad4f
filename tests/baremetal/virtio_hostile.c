// virtio_hostile.c — a bare-metal guest that drives every virtio-mmio device it finds with
// the worst requests a driver can legally or illegally build: descriptor chains as long as
// the queue allows, each descriptor covering as much guest RAM as there is. The VMM must
// answer each (a used buffer, an error status, or DEVICE_NEEDS_RESET) without allocating
// host memory in proportion: run_hostile.py measures its peak resident memory.
//
// Readable buffers cover all of RAM (the device only reads them); writable ones cover its
// upper half, so what a device writes cannot overwrite this program, its stack or its rings.
// Returns 0 when every device answered, else the number of the first that did not (1-8), 100
// for an unreadable device tree, 101 if the device named by bootargs "expect=ID" was absent.
#include "virtio_driver.h"

static uint32_t g_expect;  // bootargs "expect=N": a device with ID N must be there

// Queue `q` gets a chain of `n` descriptors: readable ones over all of RAM, or writable ones
// over its upper half.
static int flood(unsigned slot, unsigned q, uint16_t flags) {
    if (!negotiate(slot)) return 0;
    const uint32_t n = setup_queue(slot, q);
    const uint64_t addr = flags & F_WRITE ? g_ram_base + g_ram_size / 2 : g_ram_base;
    const uint64_t len = flags & F_WRITE ? g_ram_size / 2 : g_ram_size;
    for (unsigned i = 0; i < n; ++i) set_desc(i, addr, len, flags, n);
    return submit(slot, q);
}

// virtio-blk §5.2.6: a write whose data is queue-size descriptors of all of RAM (far past the
// disk's end: answered IOERR), then a read into the upper half of RAM of the same shape.
static int flood_blk(unsigned slot, uint32_t type) {
    if (!negotiate(slot)) return 0;
    const uint32_t n = setup_queue(slot, 0);
    for (unsigned i = 0; i < 16; ++i) g_header[i] = 0;
    g_header[0] = (uint8_t)type;
    set_desc(0, (uintptr_t)g_header, 16, 0, n);
    const int write = type == 1;
    for (unsigned i = 1; i + 1 < n; ++i)
        set_desc(i, write ? g_ram_base : g_ram_base + g_ram_size / 2, write ? g_ram_size : g_ram_size / 2,
                 write ? 0 : F_WRITE, n);
    g_status = 0xff;
    set_desc(n - 1, (uintptr_t)&g_status, 1, F_WRITE, n);
    return submit(slot, 0) && (g_status != 0xff || (*reg(slot, Status) & S_NEEDS_RESET) != 0);
}

static int attack(unsigned slot, uint32_t id) {
    switch (id) {
        // Transmit queues (1): receive buffers are only answered when the host has input.
        case ID_CONSOLE: put("hostile: virtio-console\n"); return flood(slot, 1, 0);
        case ID_NET: put("hostile: virtio-net\n"); return flood(slot, 1, 0);
        case ID_BLK: put("hostile: virtio-blk\n"); return flood_blk(slot, 1) && flood_blk(slot, 0);
        case ID_RNG: put("hostile: virtio-rng\n"); return flood(slot, 0, F_WRITE);
        default: return 1;
    }
}

int main(uint64_t hartid, const uint8_t* fdt) {
    (void)hartid;
    if (!read_fdt(fdt)) return 100;
    if (starts_with(g_bootargs, "expect=")) g_expect = (uint32_t)(g_bootargs[7] - '0');
    int expected_seen = g_expect == 0;
    for (unsigned slot = 0; slot < g_slot_count; ++slot) {
        if (*reg(slot, MagicValue) != 0x74726976 || *reg(slot, Version) != 2) continue;
        const uint32_t id = *reg(slot, DeviceID);
        if (id != 0 && !attack(slot, id)) return (int)slot + 1;
        expected_seen |= id == g_expect;
        *reg(slot, Status) = 0;
    }
    put("hostile: done\n");
    return expected_seen ? 0 : 101;
}
