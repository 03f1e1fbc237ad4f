/* The freestanding x86-64 test guest (issue 6). Entered from start.S in 64-bit ring 0 with
 * the PVH hvm_start_info. It prints what it checks on COM1 as "x86guest: ..." lines:
 *   1. the start info (magic, memory map, command line),
 *   2. the virtio-mmio registers of slot 0 and one virtio-blk read (sector 1) through a
 *      minimal polled driver (virtio 1.2 §4.2.3 and §5.2.6),
 *   3. COM1's interrupt: IRQ 4 through the in-kernel IOAPIC and local APIC to an IDT vector,
 *      raised by the UART's "transmitter empty" interrupt,
 *   4. with "x86guest.echo", one line of console input echoed back; with "x86guest.smp", the
 *      second vCPU started through INIT-SIPI-SIPI,
 *   5. a compute loop in ring 3 (entered with iretq, left with syscall),
 * then powers off through the ACPI sleep control port — or, if the command line says so,
 * resets through the i8042 or triple-faults, so the VMM's exit statuses can be tested.
 * With "x86guest.bench_pio=N" the ring-3 part is instead N `out` instructions to port 0x80
 * (IOPL 3, so each one is a port-I/O exit straight from native ring-3 execution), timed with
 * the TSC, for bench/kvm.sh. With "x86guest.spin" it instead spins in ring 0 with interrupts
 * off after the checks, never exiting to the VMM: the CPU-hungry guest of the CPU quota test.
 * With "x86guest.progress" the ring-3 part is instead a computation that prints its progress
 * (ten "x86guest: progress N acc X" lines; IOPL 3 lets ring 3 reach COM1) and returns with
 * syscall (so IA32_LSTAR and friends must be intact); then it prints the result, whether the
 * TSC went on from where it was, how the IOAPIC routes COM1 and whether the local APIC is
 * enabled, and reads the disk again on the same virtqueue: the guest the snapshot tests stop
 * half-way and resume elsewhere. The checks after ring 3 use only port I/O, MMIO and rdtsc,
 * and nothing uses the FPU or SSE: on the nested KVM of the project's CI (kvm_pvm) any FPU/SSE
 * instruction ends in a KVM emulation failure, and after syscall the guest still runs with
 * ring-3 privileges (rdmsr faults, an interrupt triple-faults). */
#include <stddef.h>
#include <stdint.h>

#include "compute_loop.h"

#define COM1 0x3f8
#define SLEEP_CONTROL 0x600
#define I8042_COMMAND 0x64
#define VIRTIO_BASE 0xd0000000ull

void *memset(void *d, int c, size_t n) {
    unsigned char *p = d;
    while (n--) *p++ = (unsigned char)c;
    return d;
}
void *memcpy(void *d, const void *s, size_t n) {
    unsigned char *p = d;
    const unsigned char *q = s;
    while (n--) *p++ = *q++;
    return d;
}

static inline void outb(uint16_t port, uint8_t v) { __asm__ volatile("outb %0, %1" : : "a"(v), "Nd"(port)); }
static inline uint8_t inb(uint16_t port) {
    uint8_t v;
    __asm__ volatile("inb %1, %0" : "=a"(v) : "Nd"(port));
    return v;
}
static inline void wrmsr(uint32_t msr, uint64_t v) {
    __asm__ volatile("wrmsr" : : "c"(msr), "a"((uint32_t)v), "d"((uint32_t)(v >> 32)));
}

/* --- serial --- */
static void putc_serial(char c) {
    while ((inb(COM1 + 5) & 0x20) == 0) { /* LSR.THRE */ }
    outb(COM1, (uint8_t)c);
}
/* puts_serial and put_dec stay out of line: tests/gdb/x86_test.py breaks on them. */
__attribute__((noinline)) static void puts_serial(const char *s) {
    while (*s) putc_serial(*s++);
}
static void put_hex(uint64_t v) {
    char buf[17];
    for (int i = 15; i >= 0; --i, v >>= 4) buf[i] = "0123456789abcdef"[v & 15];
    buf[16] = 0;
    puts_serial(buf);
}
__attribute__((noinline)) static void put_dec(uint64_t v) {
    char buf[21];
    int i = 20;
    buf[i] = 0;
    do buf[--i] = (char)('0' + v % 10); while (v /= 10);
    puts_serial(buf + i);
}
static const char *find(const char *s, const char *word) {
    for (; *s; ++s) {
        const char *a = s, *b = word;
        while (*a && *b && *a == *b) ++a, ++b;
        if (!*b) return a;
    }
    return 0;
}
static uint64_t parse_dec(const char *s) {
    uint64_t v = 0;
    while (s && *s >= '0' && *s <= '9') v = v * 10 + (uint64_t)(*s++ - '0');
    return v;
}
static int contains(const char *s, const char *word) {
    for (; *s; ++s) {
        const char *a = s, *b = word;
        while (*a && *b && *a == *b) ++a, ++b;
        if (!*b) return 1;
    }
    return 0;
}

/* --- PVH start info (xen/include/public/arch-x86/hvm/start_info.h) --- */
struct hvm_start_info {
    uint32_t magic, version, flags, nr_modules;
    uint64_t modlist_paddr, cmdline_paddr, rsdp_paddr, memmap_paddr;
    uint32_t memmap_entries, reserved;
};
struct hvm_memmap_entry {
    uint64_t addr, size;
    uint32_t type, reserved;
};

static const char *g_cmdline = "";

static void check_start_info(const struct hvm_start_info *si) {
    puts_serial("x86guest: start info magic ");
    put_hex(si->magic);
    puts_serial(" version ");
    put_dec(si->version);
    puts_serial("\n");
    const struct hvm_memmap_entry *mm = (const void *)(uintptr_t)si->memmap_paddr;
    uint64_t ram = 0;
    for (uint32_t i = 0; i < si->memmap_entries; ++i)
        if (mm[i].type == 1) ram += mm[i].size;
    puts_serial("x86guest: memmap entries ");
    put_dec(si->memmap_entries);
    puts_serial(" ram KiB ");
    put_dec(ram >> 10);
    puts_serial("\n");
    if (si->cmdline_paddr) g_cmdline = (const char *)(uintptr_t)si->cmdline_paddr;
    puts_serial("x86guest: cmdline '");
    puts_serial(g_cmdline);
    puts_serial("'\n");
    puts_serial("x86guest: rsdp ");
    put_hex(si->rsdp_paddr);
    puts_serial("\n");
}

/* --- virtio-mmio (virtio 1.2 §4.2.2) --- */
static volatile uint32_t *vreg(uint32_t off) { return (volatile uint32_t *)(uintptr_t)(VIRTIO_BASE + off); }
static uint32_t vread(uint32_t off) { return *vreg(off); }
static void vwrite(uint32_t off, uint32_t v) { *vreg(off) = v; }

enum {
    MagicValue = 0x000, Version = 0x004, DeviceID = 0x008, VendorID = 0x00c, DeviceFeatures = 0x010,
    DeviceFeaturesSel = 0x014, DriverFeatures = 0x020, DriverFeaturesSel = 0x024, QueueSel = 0x030,
    QueueNumMax = 0x034, QueueNum = 0x038, QueueReady = 0x044, QueueNotify = 0x050, InterruptStatus = 0x060,
    InterruptACK = 0x064, Status = 0x070, QueueDescLow = 0x080, QueueDescHigh = 0x084, QueueDriverLow = 0x090,
    QueueDriverHigh = 0x094, QueueDeviceLow = 0x0a0, QueueDeviceHigh = 0x0a4, Config = 0x100,
};
enum { ACKNOWLEDGE = 1, DRIVER = 2, DRIVER_OK = 4, FEATURES_OK = 8 };

#define QSIZE 8
struct virtq_desc {
    uint64_t addr;
    uint32_t len;
    uint16_t flags, next;
};
struct blk_req {
    uint32_t type, reserved;
    uint64_t sector;
};
static struct virtq_desc g_desc[QSIZE] __attribute__((aligned(16)));
static struct {
    uint16_t flags, idx, ring[QSIZE], used_event;
} g_avail __attribute__((aligned(2)));
static struct {
    uint16_t flags;
    volatile uint16_t idx;
    struct {
        uint32_t id, len;
    } ring[QSIZE];
    uint16_t avail_event;
} g_used __attribute__((aligned(4)));
static struct blk_req g_req;
static char g_sector[512];
static volatile uint8_t g_status = 0xff;

static int virtio_blk_read_sector1(void) {
    vwrite(Status, 0);
    vwrite(Status, ACKNOWLEDGE);
    vwrite(Status, ACKNOWLEDGE | DRIVER);
    vwrite(DriverFeaturesSel, 1);
    vwrite(DriverFeatures, 1); /* VIRTIO_F_VERSION_1 (bit 32) */
    vwrite(DriverFeaturesSel, 0);
    vwrite(DriverFeatures, 0);
    vwrite(Status, ACKNOWLEDGE | DRIVER | FEATURES_OK);
    if (!(vread(Status) & FEATURES_OK)) return -1;
    vwrite(QueueSel, 0);
    if (vread(QueueNumMax) < QSIZE) return -2;
    vwrite(QueueNum, QSIZE);
    vwrite(QueueDescLow, (uint32_t)(uintptr_t)g_desc);
    vwrite(QueueDescHigh, 0);
    vwrite(QueueDriverLow, (uint32_t)(uintptr_t)&g_avail);
    vwrite(QueueDriverHigh, 0);
    vwrite(QueueDeviceLow, (uint32_t)(uintptr_t)&g_used);
    vwrite(QueueDeviceHigh, 0);
    vwrite(QueueReady, 1);
    vwrite(Status, ACKNOWLEDGE | DRIVER | FEATURES_OK | DRIVER_OK);

    g_req.type = 0; /* VIRTIO_BLK_T_IN */
    g_req.sector = 1;
    g_desc[0] = (struct virtq_desc){(uintptr_t)&g_req, sizeof g_req, 1 /* NEXT */, 1};
    g_desc[1] = (struct virtq_desc){(uintptr_t)g_sector, 512, 1 | 2 /* NEXT|WRITE */, 2};
    g_desc[2] = (struct virtq_desc){(uintptr_t)&g_status, 1, 2 /* WRITE */, 0};
    g_avail.ring[0] = 0;
    __asm__ volatile("" ::: "memory");
    g_avail.idx = 1;
    __asm__ volatile("mfence" ::: "memory");
    vwrite(QueueNotify, 0);
    while (g_used.idx != 1) __asm__ volatile("pause");
    vwrite(InterruptACK, vread(InterruptStatus));
    return g_status;
}

/* A second request on the queue set up above: the device must continue from avail index 1
 * (a restored device that lost its ring positions serves entry 0 twice or never notices). */
static void virtio_blk_read_again(void) {
    memset(g_sector, 0, sizeof g_sector);
    g_status = 0xff;
    g_avail.ring[1] = 0;
    __asm__ volatile("" ::: "memory");
    g_avail.idx = 2;
    __asm__ volatile("mfence" ::: "memory");
    vwrite(QueueNotify, 0);
    while (g_used.idx < 2) __asm__ volatile("pause");
    vwrite(InterruptACK, vread(InterruptStatus));
    puts_serial("x86guest: blk read again used ");
    put_dec(g_used.idx);
    puts_serial(" status ");
    put_dec(g_status);
    g_sector[40] = 0;
    puts_serial(" data '");
    puts_serial(g_sector);
    puts_serial("'\n");
}

static void check_virtio(void) {
    puts_serial("x86guest: virtio magic ");
    put_hex(vread(MagicValue));
    puts_serial(" version ");
    put_dec(vread(Version));
    puts_serial(" device ");
    put_dec(vread(DeviceID));
    puts_serial(" vendor ");
    put_hex(vread(VendorID));
    puts_serial("\n");
    if (vread(MagicValue) != 0x74726976 || vread(DeviceID) != 2) return;
    puts_serial("x86guest: blk capacity ");
    put_dec(vread(Config) | (uint64_t)vread(Config + 4) << 32);
    puts_serial(" sectors\n");
    int status = virtio_blk_read_sector1();
    puts_serial("x86guest: blk read status ");
    put_dec((uint64_t)(uint32_t)status);
    g_sector[40] = 0;
    puts_serial(" data '");
    puts_serial(g_sector);
    puts_serial("'\n");
}

/* --- COM1 interrupt through the IOAPIC (82093AA datasheet §3.2.4) and local APIC --- */
#define IOAPIC_BASE 0xfec00000ull
#define LAPIC_BASE 0xfee00000ull
#define UART_VECTOR 0x24

struct idt_gate {
    uint16_t offset_lo, selector;
    uint8_t ist, type_attr;
    uint16_t offset_mid;
    uint32_t offset_hi, reserved;
};
static struct idt_gate g_idt[256] __attribute__((aligned(16)));
static volatile uint32_t g_uart_irqs;
static volatile uint8_t g_uart_iir;
extern void uart_irq_entry(void);

static void mmio_write32(uint64_t addr, uint32_t v) { *(volatile uint32_t *)(uintptr_t)addr = v; }

void uart_irq(void) {
    g_uart_iir = inb(COM1 + 2); /* reading IIR clears the THRE interrupt: the line drops */
    outb(COM1 + 1, 0);           /* IER = 0: no further interrupts */
    ++g_uart_irqs;
    mmio_write32(LAPIC_BASE + 0xb0, 0); /* EOI */
}

/* An interrupt gate to `entry` in ring 0 (Intel SDM Vol. 3A §6.14.1), and the IDT loaded. */
static void set_idt_gate(unsigned vector, void (*entry)(void)) {
    const uintptr_t h = (uintptr_t)entry;
    g_idt[vector] = (struct idt_gate){(uint16_t)h, 0x08, 0, 0x8e, (uint16_t)(h >> 16), (uint32_t)(h >> 32), 0};
    static struct __attribute__((packed)) { uint16_t limit; uint64_t base; } idtr;
    idtr.limit = sizeof g_idt - 1;
    idtr.base = (uintptr_t)g_idt;
    __asm__ volatile("lidt %0" : : "m"(idtr));
}

static void check_uart_irq(void) {
    set_idt_gate(UART_VECTOR, uart_irq_entry);
    outb(0x21, 0xff); /* mask both 8259s: the IOAPIC delivers */
    outb(0xa1, 0xff);
    mmio_write32(LAPIC_BASE + 0xf0, 0x1ff); /* spurious vector register: APIC enabled, vector 0xff */
    mmio_write32(IOAPIC_BASE, 0x10 + 2 * 4 + 1); /* redirection entry 4, high half: destination APIC 0 */
    mmio_write32(IOAPIC_BASE + 0x10, 0);
    mmio_write32(IOAPIC_BASE, 0x10 + 2 * 4); /* low half: fixed, physical, edge, active high, unmasked */
    mmio_write32(IOAPIC_BASE + 0x10, UART_VECTOR);
    outb(COM1 + 1, 0x02); /* IER.ETBEI: the empty transmitter interrupts at once */
    for (int i = 0; i < 1000 && !g_uart_irqs; ++i) __asm__ volatile("sti; hlt; cli");
    puts_serial("x86guest: uart irq ");
    put_dec(g_uart_irqs);
    puts_serial(" iir ");
    put_hex(g_uart_iir);
    puts_serial("\n");
}

/* The guest's own int3s, counted by its #BP handler (start.S): a debugger must hand them back
 * to the guest. g_int3s is global for that handler. */
extern void int3_entry(void);
volatile uint32_t g_int3s;

static void check_int3(void) {
    set_idt_gate(3, int3_entry);
    __asm__ volatile("int3\n\tint3" ::: "memory");
    puts_serial("x86guest: int3 handled ");
    put_dec(g_int3s);
    puts_serial("\n");
}

/* Starts the application processor with APIC ID 1 by INIT-SIPI-SIPI (Intel SDM Vol. 3A §9.4.4)
 * into a real-mode trampoline at 0x8000 that sets a flag byte at 0x8100 and halts. */
static void start_ap(void) {
    static const uint8_t trampoline[] = {0x2e, 0xc6, 0x06, 0x00, 0x01, 0x01, /* mov byte cs:[0x100], 1 */
                                         0xf4, 0xeb, 0xfd};                  /* 1: hlt; jmp 1b */
    volatile uint8_t *flag = (volatile uint8_t *)0x8100;
    memcpy((void *)0x8000, trampoline, sizeof trampoline);
    *flag = 0;
    mmio_write32(LAPIC_BASE + 0xf0, 0x1ff);
    mmio_write32(LAPIC_BASE + 0x310, 1u << 24); /* ICR high: destination APIC ID 1 */
    mmio_write32(LAPIC_BASE + 0x300, 0x4500);   /* INIT, assert */
    for (int i = 0; i < 2; ++i) {
        mmio_write32(LAPIC_BASE + 0x310, 1u << 24);
        mmio_write32(LAPIC_BASE + 0x300, 0x4600 | (0x8000 >> 12)); /* STARTUP, vector 0x08 */
    }
    const uint64_t t0 = read_tsc(); /* give up after ~2e9 TSC cycles (about a second) */
    while (!*flag && read_tsc() - t0 < 2000000000ull) __asm__ volatile("pause");
    puts_serial(*flag ? "x86guest: ap 1 started\n" : "x86guest: ap 1 did not start\n");
}

/* Reads one line of console input (polling LSR.DR) and prints it back. */
static void echo_line(void) {
    char line[64];
    unsigned n = 0;
    for (;;) {
        while ((inb(COM1 + 5) & 0x01) == 0) { /* LSR.DR */ }
        const char c = (char)inb(COM1);
        if (c == '\n' || n == sizeof line - 1) break;
        line[n++] = c;
    }
    line[n] = 0;
    puts_serial("x86guest: read '");
    puts_serial(line);
    puts_serial("'\n");
}

/* --- ring 3 --- */
extern void syscall_entry(void);
static uint8_t g_user_stack[16384] __attribute__((aligned(16)));

static uint64_t g_bench_pio; /* 0: run the compute loop in ring 3 */

static void user_pio_loop(void) {
    const uint64_t n = g_bench_pio;
    const uint64_t t0 = read_tsc();
    for (uint64_t i = 0; i < n; ++i) __asm__ volatile("outb %%al, $0x80" : : "a"(0));
    const uint64_t cycles = read_tsc() - t0;
    __asm__ volatile("syscall" : : "D"(n), "S"(cycles), "d"(3ull) : "rcx", "r11", "memory");
    for (;;) {}
}

#define PROGRESS_STEPS 10
#define PROGRESS_ITERATIONS 20000000ull

static int g_progress;

/* The LCG of compute_loop() in steps, printing after each; its state lives in registers. */
static void user_progress(void) {
    const uint64_t t0 = read_tsc();
    uint64_t x = 1, acc = 0;
    for (uint64_t step = 1; step <= PROGRESS_STEPS; ++step) {
        for (uint64_t i = 0; i < PROGRESS_ITERATIONS; ++i) {
            x = x * 6364136223846793005ull + 1442695040888963407ull;
            acc ^= x >> 29;
            acc = (acc << 1) | (acc >> 63);
        }
        puts_serial("x86guest: progress ");
        put_dec(step);
        puts_serial(" acc ");
        put_hex(acc);
        puts_serial("\n");
    }
    __asm__ volatile("syscall" : : "D"(acc), "S"(t0), "d"(3ull) : "rcx", "r11", "memory");
    for (;;) {}
}

static void user_main(void) {
    const uint64_t t0 = read_tsc();
    const uint64_t r = compute_loop(COMPUTE_LOOP_ITERATIONS);
    const uint64_t cycles = read_tsc() - t0;
    uint16_t cs;
    __asm__ volatile("mov %%cs, %0" : "=r"(cs));
    /* Back to ring 0: rdi = result, rsi = cycles, rdx = the CPL we ran at. */
    __asm__ volatile("syscall" : : "D"(r), "S"(cycles), "d"((uint64_t)(cs & 3)) : "rcx", "r11", "memory");
    for (;;) {}
}

static void power_off(void) {
    if (contains(g_cmdline, "x86guest.exit=reset")) outb(I8042_COMMAND, 0xfe);
    if (contains(g_cmdline, "x86guest.exit=triple")) {
        static const struct __attribute__((packed)) { uint16_t limit; uint64_t base; } empty_idt = {0, 0};
        __asm__ volatile("lidt %0; ud2" : : "m"(empty_idt));
    }
    outb(SLEEP_CONTROL, (5 << 2) | (1 << 5)); /* SLP_TYPx = S5, SLP_EN */
    for (;;) __asm__ volatile("hlt");
}

static uint32_t mmio_read32(uint64_t addr) { return *(volatile uint32_t *)(uintptr_t)addr; }

static void progress_done(uint64_t result, uint64_t tsc_before) {
    puts_serial("x86guest: progress result ");
    put_hex(result);
    puts_serial(" tsc went on ");
    put_dec(read_tsc() > tsc_before);
    puts_serial("\n");
    mmio_write32(IOAPIC_BASE, 0x10 + 2 * 4); /* as check_uart_irq() programmed it: vector 0x24 */
    puts_serial("x86guest: ioapic pin 4 ");
    put_hex(mmio_read32(IOAPIC_BASE + 0x10));
    puts_serial(" lapic svr ");
    put_hex(mmio_read32(LAPIC_BASE + 0xf0));
    puts_serial("\n");
    if (!contains(g_cmdline, "x86guest.novirtio") && vread(MagicValue) == 0x74726976 && vread(DeviceID) == 2)
        virtio_blk_read_again();
    puts_serial("x86guest: done\n");
    power_off();
}

void back_in_ring0(uint64_t result, uint64_t cycles, uint64_t cpl) {
    if (g_progress) progress_done(result, cycles); /* rsi is the TSC at the start there */
    if (g_bench_pio) {
        puts_serial("x86guest: pio exits ");
        put_dec(result);
        puts_serial(" tsc cycles ");
        put_dec(cycles);
        puts_serial("\nx86guest: done\n");
        power_off();
    }
    puts_serial("x86guest: ring3 cpl ");
    put_dec(cpl);
    puts_serial(" result ");
    put_hex(result);
    puts_serial(" tsc cycles ");
    put_dec(cycles);
    puts_serial("\n");
    puts_serial("x86guest: done\n");
    power_off();
}

static void enter_ring3(void (*fn)(void), uint64_t rflags) {
    wrmsr(0xc0000081, (0x10ull << 48) | (0x08ull << 32)); /* IA32_STAR */
    wrmsr(0xc0000082, (uintptr_t)syscall_entry);         /* IA32_LSTAR */
    wrmsr(0xc0000084, 0x200);                             /* IA32_FMASK: clear IF */
    const uint64_t rsp = (uintptr_t)(g_user_stack + sizeof g_user_stack);
    /* iretq frame: SS, RSP, RFLAGS, CS, RIP (Intel SDM Vol. 3A §6.14.3). */
    __asm__ volatile("pushq $0x1b\n\tpushq %0\n\tpushq %2\n\tpushq $0x23\n\tpushq %1\n\tiretq"
                     :
                     : "r"(rsp), "r"((uintptr_t)fn), "r"(rflags)
                     : "memory");
}

void guest_main(const struct hvm_start_info *si) {
    puts_serial("x86guest: hello from 64-bit ring 0\n");
    check_start_info(si);
    if (!contains(g_cmdline, "x86guest.novirtio")) check_virtio();
    if (!contains(g_cmdline, "x86guest.noirq")) check_uart_irq();
    if (contains(g_cmdline, "x86guest.int3")) check_int3();
    if (contains(g_cmdline, "x86guest.echo")) echo_line();
    if (contains(g_cmdline, "x86guest.smp")) start_ap();
    if (contains(g_cmdline, "x86guest.spin")) {
        puts_serial("x86guest: spinning\n");
        __asm__ volatile("cli");
        for (volatile uint64_t n = 0;; ++n) {}
    }
    if (contains(g_cmdline, "x86guest.noring3")) {
        puts_serial("x86guest: done\n");
        power_off();
    }
    if (contains(g_cmdline, "x86guest.progress")) {
        g_progress = 1;
        enter_ring3(user_progress, 0x3002); /* IOPL 3: ring 3 prints on COM1 */
    }
    g_bench_pio = parse_dec(find(g_cmdline, "x86guest.bench_pio="));
    if (g_bench_pio) enter_ring3(user_pio_loop, 0x3002); /* IOPL 3 */
    enter_ring3(user_main, 0x2);
}
