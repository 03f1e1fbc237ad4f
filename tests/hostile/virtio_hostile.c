// virtio_hostile.c — a bare-metal guest that drives every virtio-mmio device it finds with
// the worst requests a driver can legally or illegally build: descriptor chains as long as
// the queue allows, each descriptor covering as much guest RAM as there is. The VMM must
// answer each (a used buffer, an error status, or DEVICE_NEEDS_RESET) without allocating
// host memory in proportion: tests/hostile/run_hostile.py measures its peak resident memory.
//
// Readable buffers cover all of RAM (the device only reads them); writable ones cover its
// upper half, so what a device writes cannot overwrite this program, its stack or its rings.
// Returns 0 when every device answered, else the number of the first that did not (1-8), 100
// for an unreadable device tree, 101 if the device named by bootargs "expect=ID" was absent.
#include <stdint.h>

#define VIRTIO_SLOTS 8
#define UART_THR ((volatile uint8_t*)0x10000000ul)

// virtio 1.2 §4.2.2 register offsets and §2.1 status bits.
enum {
    MagicValue = 0x000, Version = 0x004, DeviceID = 0x008, DriverFeatures = 0x020, DriverFeaturesSel = 0x024,
    QueueSel = 0x030, QueueNumMax = 0x034, QueueNum = 0x038, QueueReady = 0x044, QueueNotify = 0x050,
    Status = 0x070, QueueDescLow = 0x080, QueueDescHigh = 0x084, QueueDriverLow = 0x090, QueueDriverHigh = 0x094,
    QueueDeviceLow = 0x0a0, QueueDeviceHigh = 0x0a4,
};
enum { S_ACKNOWLEDGE = 1, S_DRIVER = 2, S_DRIVER_OK = 4, S_FEATURES_OK = 8, S_NEEDS_RESET = 64 };
enum { F_NEXT = 1, F_WRITE = 2 };
enum { ID_NET = 1, ID_BLK = 2, ID_CONSOLE = 3, ID_RNG = 4 };

#define MAX_QUEUE 256

struct desc {
    uint64_t addr;
    uint32_t len;
    uint16_t flags;
    uint16_t next;
};
struct avail {
    uint16_t flags, idx, ring[MAX_QUEUE], used_event;
};
struct used {
    uint16_t flags, idx;
    struct {
        uint32_t id, len;
    } ring[MAX_QUEUE];
    uint16_t avail_event;
};

static struct desc g_desc[MAX_QUEUE] __attribute__((aligned(16)));
static struct avail g_avail __attribute__((aligned(4)));
static struct used g_used __attribute__((aligned(8)));
static uint8_t g_header[16] __attribute__((aligned(16)));
static uint8_t g_status;

static uint64_t g_ram_base, g_ram_size;
static uint64_t g_slots[VIRTIO_SLOTS];  // virtio-mmio register windows, from the device tree
static unsigned g_slot_count;
static uint32_t g_expect;  // bootargs "expect=N": a device with ID N must be there

static void put(const char* s) {
    while (*s) *UART_THR = (uint8_t)*s++;
}

static volatile uint32_t* reg(unsigned slot, unsigned off) { return (volatile uint32_t*)(g_slots[slot] + off); }

static uint32_t be32(const uint8_t* p) {
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static int starts_with(const char* s, const char* prefix) {
    while (*prefix)
        if (*s++ != *prefix++) return 0;
    return 1;
}

static int equal(const char* a, const char* b) {
    while (*a && *a == *b) ++a, ++b;
    return *a == *b;
}

// What the device tree says (devicetree spec §5: tokens BEGIN_NODE 1, END_NODE 2, PROP 3,
// NOP 4, END 9; #address-cells = #size-cells = 2 on this board): RAM from /memory, and the
// virtio-mmio slots that exist (a slot without a device is not mapped: reading it faults).
static uint64_t be64(const uint8_t* p) { return (uint64_t)be32(p) << 32 | be32(p + 4); }

static void take_reg(int node, const uint8_t* value) {
    if (node == 1) {
        g_ram_base = be64(value);
        g_ram_size = be64(value + 8);
    } else if (node == 2 && g_slot_count < VIRTIO_SLOTS) {
        g_slots[g_slot_count++] = be64(value);
    }
}

static int read_fdt(const uint8_t* fdt) {
    if (be32(fdt) != 0xd00dfeed) return 0;
    const uint8_t* p = fdt + be32(fdt + 8);
    const char* strings = (const char*)fdt + be32(fdt + 12);
    int node = 0;  // 1: memory, 2: virtio_mmio, 0: anything else
    for (;;) {
        const uint32_t token = be32(p);
        p += 4;
        if (token == 1) {
            const char* name = (const char*)p;
            node = starts_with(name, "memory@") ? 1 : starts_with(name, "virtio_mmio@") ? 2 : 0;
            while (*p++) {}
            p = (const uint8_t*)(((uintptr_t)p + 3) & ~(uintptr_t)3);
        } else if (token == 3) {
            const uint32_t len = be32(p), nameoff = be32(p + 4);
            const uint8_t* value = p + 8;
            if (node != 0 && len == 16 && equal(strings + nameoff, "reg")) take_reg(node, value);
            if (equal(strings + nameoff, "bootargs") && starts_with((const char*)value, "expect="))
                g_expect = (uint32_t)(value[7] - '0');
            p = (const uint8_t*)(((uintptr_t)value + len + 3) & ~(uintptr_t)3);
        } else if (token == 2 || token == 4) {
            node = 0;
        } else {
            return token == 9 && g_ram_size != 0;
        }
    }
}

// §3.1.1: reset, ACKNOWLEDGE, DRIVER, VIRTIO_F_VERSION_1 only, FEATURES_OK.
static int negotiate(unsigned slot) {
    *reg(slot, Status) = 0;
    *reg(slot, Status) = S_ACKNOWLEDGE | S_DRIVER;
    *reg(slot, DriverFeaturesSel) = 1;
    *reg(slot, DriverFeatures) = 1;  // bit 32: VIRTIO_F_VERSION_1
    *reg(slot, DriverFeaturesSel) = 0;
    *reg(slot, DriverFeatures) = 0;
    *reg(slot, Status) = S_ACKNOWLEDGE | S_DRIVER | S_FEATURES_OK;
    return (*reg(slot, Status) & S_FEATURES_OK) != 0;
}

static uint32_t setup_queue(unsigned slot, unsigned q) {
    uint32_t n = *reg(slot, QueueNumMax);
    if (n > MAX_QUEUE) n = MAX_QUEUE;
    for (unsigned i = 0; i < sizeof g_avail; ++i) ((volatile uint8_t*)&g_avail)[i] = 0;
    for (unsigned i = 0; i < sizeof g_used; ++i) ((volatile uint8_t*)&g_used)[i] = 0;
    *reg(slot, QueueSel) = q;
    *reg(slot, QueueNum) = n;
    *reg(slot, QueueDescLow) = (uint32_t)(uintptr_t)g_desc;
    *reg(slot, QueueDescHigh) = (uint32_t)((uintptr_t)g_desc >> 32);
    *reg(slot, QueueDriverLow) = (uint32_t)(uintptr_t)&g_avail;
    *reg(slot, QueueDriverHigh) = (uint32_t)((uintptr_t)&g_avail >> 32);
    *reg(slot, QueueDeviceLow) = (uint32_t)(uintptr_t)&g_used;
    *reg(slot, QueueDeviceHigh) = (uint32_t)((uintptr_t)&g_used >> 32);
    *reg(slot, QueueReady) = 1;
    *reg(slot, Status) = S_ACKNOWLEDGE | S_DRIVER | S_FEATURES_OK | S_DRIVER_OK;
    return n;
}

static void set_desc(unsigned i, uint64_t addr, uint64_t len, uint16_t flags, unsigned count) {
    g_desc[i].addr = addr;
    g_desc[i].len = len > 0xffffffffu ? 0xffffffffu : (uint32_t)len;
    g_desc[i].flags = flags | (i + 1 < count ? F_NEXT : 0);
    g_desc[i].next = (uint16_t)(i + 1);
}

// Publishes the chain at descriptor 0 on queue q and notifies; the device answers during the
// notify (trapeze serves queues synchronously). Answered: a used element or NEEDS_RESET.
static int submit(unsigned slot, unsigned q) {
    g_avail.ring[0] = 0;
    __asm__ volatile("fence w, w" ::: "memory");
    g_avail.idx = 1;
    __asm__ volatile("fence w, o" ::: "memory");
    *reg(slot, QueueNotify) = q;
    __asm__ volatile("fence i, r" ::: "memory");
    return *(volatile uint16_t*)&g_used.idx == 1 || (*reg(slot, Status) & S_NEEDS_RESET) != 0;
}

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
