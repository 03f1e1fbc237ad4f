/* The test guest's ring-3 compute loop (tests/x86guest/compute_loop.h), run natively on the
 * host for bench/kvm.sh. Prints "native result R tsc cycles C". */
#include <stdio.h>

#include "compute_loop.h"

int main(void) {
    const uint64_t t0 = read_tsc();
    const uint64_t r = compute_loop(COMPUTE_LOOP_ITERATIONS);
    const uint64_t cycles = read_tsc() - t0;
    printf("native result %016llx tsc cycles %llu\n", (unsigned long long)r, (unsigned long long)cycles);
    return 0;
}
