// debug_target.elf: the bare-metal guest gdb debugs in tests/gdb/gdb_test.py. Built with -g,
// so gdb knows its functions and variables. Every hart starts in start_smp.S; hart 0 computes
// a sum of compute(i) over kRounds rounds, stores it once to g_watched (a write watchpoint's
// target) on the way, and ends the machine through HTIF: exit status 0 if the sum is what the
// program expects, 1 otherwise (so a test that changes a register or variable can tell). The
// other harts count in a loop until then. With g_hold set (by gdb), hart 0 spins before it
// ends the machine, until g_hold is cleared: a guest that runs as long as a test needs.
#include <stdint.h>

#define ROUNDS 2000000u
#define WATCH_ROUND 1000u

extern volatile uint64_t tohost;

volatile uint64_t g_counter;          // hart 0's round
volatile uint64_t g_watched;          // written once, in store_watched()
volatile uint64_t g_spins[8];         // the other harts' loop counts
volatile uint64_t g_poked = 0x1234;   // the tests write it through gdb (exit status 3 if changed)
volatile uint64_t g_hold;             // set by gdb: hart 0 spins before it ends the machine

__attribute__((noinline)) uint64_t compute(uint64_t x) {
    return x * 3 + 1;
}

__attribute__((noinline)) void store_watched(uint64_t value) {
    g_watched = value;
}

static uint64_t expected_sum(void) {
    // sum of 3i+1 for i < ROUNDS
    const uint64_t n = ROUNDS;
    return 3 * (n * (n - 1) / 2) + n;
}

void smp_trap(uint64_t cause, uint64_t epc, uint64_t tval, uint64_t hart) __attribute__((noreturn));
void smp_trap(uint64_t cause, uint64_t epc, uint64_t tval, uint64_t hart) {
    (void)epc;
    (void)tval;
    (void)hart;
    for (;;) tohost = ((128 + (cause & 31)) << 1) | 1;
}

void smp_main(uint64_t hartid, const uint8_t* fdt) {
    (void)fdt;
    if (hartid != 0) {
        for (;;) ++g_spins[hartid & 7];
    }
    uint64_t sum = 0;
    for (uint64_t i = 0; i < ROUNDS; ++i) {
        sum += compute(i);
        if (i == WATCH_ROUND) store_watched(sum);
        g_counter = i;
    }
    while (g_hold) {
    }
    uint64_t status = sum == expected_sum() ? 0 : 1;
    if (g_poked != 0x1234) status = 3;
    for (;;) tohost = (status << 1) | 1;
}
