/* The ring-3 compute loop of the test guest, shared with bench/kvm_compute_native.c so the
 * benchmark runs exactly the same code natively on the host. */
#ifndef TRAPEZE_X86GUEST_COMPUTE_LOOP_H
#define TRAPEZE_X86GUEST_COMPUTE_LOOP_H

#include <stdint.h>

#define COMPUTE_LOOP_ITERATIONS 50000000ull

/* A 64-bit LCG (Knuth's MMIX constants) folded into a rotating xor: no memory traffic, a
 * dependency chain the compiler cannot shorten. */
static inline uint64_t compute_loop(uint64_t n) {
    uint64_t x = 1, acc = 0;
    for (uint64_t i = 0; i < n; ++i) {
        x = x * 6364136223846793005ull + 1442695040888963407ull;
        acc ^= x >> 29;
        acc = (acc << 1) | (acc >> 63);
    }
    return acc;
}

static inline uint64_t read_tsc(void) {
    uint32_t lo, hi;
    __asm__ volatile("rdtsc" : "=a"(lo), "=d"(hi));
    return ((uint64_t)hi << 32) | lo;
}

#endif
