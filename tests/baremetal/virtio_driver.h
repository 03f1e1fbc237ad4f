// virtio_driver.h — what trapeze's bare-metal test guests share: the device tree's RAM and
// virtio-mmio slots, UART output, and a minimal virtio-mmio driver with one split queue
// (virtio 1.2 §2.7, §3.1.1, §4.2). Single-threaded, M-mode, no interrupts: a request is
// published, notified, and its answer read back at once (trapeze serves queues during the
// notify's MMIO write).
#pragma once

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
static const char* g_bootargs = "";  // /chosen/bootargs: what the test asks of the program

static inline void put(const char* s) {
    while (*s) *UART_THR = (uint8_t)*s++;
}

static inline volatile uint32_t* reg(unsigned slot, unsigned off) { return (volatile uint32_t*)(g_slots[slot] + off); }

static inline uint32_t be32(const uint8_t* p) {
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static inline int starts_with(const char* s, const char* prefix) {
    while (*prefix)
        if (*s++ != *prefix++) return 0;
    return 1;
}

static inline int equal(const char* a, const char* b) {
    while (*a && *a == *b) ++a, ++b;
    return *a == *b;
}

// What the device tree says (devicetree spec §5: tokens BEGIN_NODE 1, END_NODE 2, PROP 3,
// NOP 4, END 9; #address-cells = #size-cells = 2 on this board): RAM from /memory, and the
// virtio-mmio slots that exist (a slot without a device is not mapped: reading it faults).
static inline uint64_t be64(const uint8_t* p) { return (uint64_t)be32(p) << 32 | be32(p + 4); }

static inline void take_reg(int node, const uint8_t* value) {
    if (node == 1) {
        g_ram_base = be64(value);
        g_ram_size = be64(value + 8);
    } else if (node == 2 && g_slot_count < VIRTIO_SLOTS) {
        g_slots[g_slot_count++] = be64(value);
    }
}

static inline int read_fdt(const uint8_t* fdt) {
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
            if (equal(strings + nameoff, "bootargs")) g_bootargs = (const char*)value;
            p = (const uint8_t*)(((uintptr_t)value + len + 3) & ~(uintptr_t)3);
        } else if (token == 2 || token == 4) {
            node = 0;
        } else {
            return token == 9 && g_ram_size != 0;
        }
    }
}

// §3.1.1: reset, ACKNOWLEDGE, DRIVER, VIRTIO_F_VERSION_1 only, FEATURES_OK.
static inline int negotiate(unsigned slot) {
    *reg(slot, Status) = 0;
    *reg(slot, Status) = S_ACKNOWLEDGE | S_DRIVER;
    *reg(slot, DriverFeaturesSel) = 1;
    *reg(slot, DriverFeatures) = 1;  // bit 32: VIRTIO_F_VERSION_1
    *reg(slot, DriverFeaturesSel) = 0;
    *reg(slot, DriverFeatures) = 0;
    *reg(slot, Status) = S_ACKNOWLEDGE | S_DRIVER | S_FEATURES_OK;
    return (*reg(slot, Status) & S_FEATURES_OK) != 0;
}

static inline uint32_t setup_queue(unsigned slot, unsigned q) {
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

static inline void set_desc(unsigned i, uint64_t addr, uint64_t len, uint16_t flags, unsigned count) {
    g_desc[i].addr = addr;
    g_desc[i].len = len > 0xffffffffu ? 0xffffffffu : (uint32_t)len;
    g_desc[i].flags = flags | (i + 1 < count ? F_NEXT : 0);
    g_desc[i].next = (uint16_t)(i + 1);
}

// Publishes the chain at descriptor 0 on queue q and notifies; the device answers during the
// notify (trapeze serves queues synchronously). Answered: a used element or NEEDS_RESET.
static inline int submit(unsigned slot, unsigned q) {
    g_avail.ring[0] = 0;
    __asm__ volatile("fence w, w" ::: "memory");
    g_avail.idx = 1;
    __asm__ volatile("fence w, o" ::: "memory");
    *reg(slot, QueueNotify) = q;
    __asm__ volatile("fence i, r" ::: "memory");
    return *(volatile uint16_t*)&g_used.idx == 1 || (*reg(slot, Status) & S_NEEDS_RESET) != 0;
}

