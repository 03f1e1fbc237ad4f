// cpu_hog.elf: the CPU-hungry guest of the CPU quota test (run_cpu_quota.py). Every hart
// (start_smp.S: up to 8, each on a stack of its own) counts in a loop that never waits, never
// touches a device and never ends: left alone, it keeps every host thread that runs a hart
// busy. Any trap is reported through HTIF as a failure (exit status 128 + mcause).
#include <stdint.h>

extern volatile uint64_t tohost;

static volatile uint64_t g_counts[8];

void smp_trap(uint64_t cause, uint64_t epc, uint64_t tval, uint64_t hart) __attribute__((noreturn));
void smp_trap(uint64_t cause, uint64_t epc, uint64_t tval, uint64_t hart) {
    (void)epc;
    (void)tval;
    (void)hart;
    for (;;) tohost = ((128 + (cause & 31)) << 1) | 1;
}

void smp_main(uint64_t hartid, const uint8_t* fdt) {
    (void)fdt;
    for (;;) ++g_counts[hartid & 7];
}
