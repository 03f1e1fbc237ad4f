/* cpubench: a CPU-bound program of the project's own — integer arithmetic, memory traffic and
 * data-dependent branches — run natively on the host and, built static for riscv64, inside the
 * guest under trapeze and under QEMU (bench/cpu.sh). It prints its own wall time from
 * CLOCK_MONOTONIC and a checksum, so every run can be checked for the same result. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

enum { kSieveSize = 2000000, kSortSize = 200000, kHashSize = 1 << 16, kRounds = 10 };

static uint64_t rng_state = 0x9e3779b97f4a7c15ull;

static uint64_t next_random(void) { /* xorshift64 */
    rng_state ^= rng_state << 13;
    rng_state ^= rng_state >> 7;
    rng_state ^= rng_state << 17;
    return rng_state;
}

static uint64_t sieve(void) { /* branchy, byte-wise memory */
    static uint8_t composite[kSieveSize];
    memset(composite, 0, sizeof composite);
    uint64_t count = 0;
    for (uint64_t i = 2; i < kSieveSize; ++i) {
        if (composite[i]) continue;
        ++count;
        for (uint64_t j = i * i; j < kSieveSize; j += i) composite[j] = 1;
    }
    return count;
}

static void quicksort(uint32_t* a, long lo, long hi) { /* recursion, unpredictable branches */
    while (lo < hi) {
        const uint32_t pivot = a[(lo + hi) / 2];
        long i = lo, j = hi;
        while (i <= j) {
            while (a[i] < pivot) ++i;
            while (a[j] > pivot) --j;
            if (i <= j) {
                const uint32_t t = a[i];
                a[i++] = a[j];
                a[j--] = t;
            }
        }
        if (j - lo < hi - i) {
            quicksort(a, lo, j);
            lo = i;
        } else {
            quicksort(a, i, hi);
            hi = j;
        }
    }
}

static uint64_t sort_checksum(void) {
    static uint32_t a[kSortSize];
    for (long i = 0; i < kSortSize; ++i) a[i] = (uint32_t)next_random();
    quicksort(a, 0, kSortSize - 1);
    uint64_t sum = 0;
    for (long i = 0; i < kSortSize; i += 97) sum = sum * 31 + a[i];
    return sum;
}

static uint64_t hash_table(void) { /* open addressing: multiplies, loads, stores */
    static uint64_t keys[kHashSize];
    memset(keys, 0, sizeof keys);
    uint64_t hits = 0;
    for (int n = 0; n < 3 * kHashSize; ++n) {
        const uint64_t k = (next_random() % (2 * kHashSize)) | 1;
        uint64_t h = (k * 0x9e3779b97f4a7c15ull) >> 48;
        for (;;) {
            if (keys[h] == k) { ++hits; break; }
            if (keys[h] == 0) { keys[h] = k; break; }
            h = (h + 1) & (kHashSize - 1);
        }
        if (n % kHashSize == kHashSize - 1) memset(keys, 0, sizeof keys);
    }
    return hits;
}

int main(void) {
    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    uint64_t check = 0;
    for (int r = 0; r < kRounds; ++r) check = check * 1000003 + sieve() + sort_checksum() + hash_table();
    clock_gettime(CLOCK_MONOTONIC, &t1);
    const double secs = (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) / 1e9;
    printf("CPUBENCH: %.3f s checksum %016llx\n", secs, (unsigned long long)check);
    return 0;
}
