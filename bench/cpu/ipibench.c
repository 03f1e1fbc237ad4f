// Cross-hart interrupts in a guest (bench/ipi.sh): one thread, pinned to CPU 1, spins in user
// space; the other, on CPU 0, changes the protection of a private mapping both threads share
// back and forth. Each mprotect() makes Linux flush the other CPU's TLB (riscv: an SBI remote
// fence, which OpenSBI sends to the other hart as an IPI and waits for), so a pair costs two
// round trips to a hart that is busy running code. Prints the microseconds per pair, timed
// with CLOCK_MONOTONIC, and powers off (it runs as the initramfs's first process).
#define _GNU_SOURCE
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/reboot.h>
#include <time.h>
#include <unistd.h>

enum { kPages = 16, kPairs = 20000 };

static atomic_int stop;
static atomic_ulong spins;

static int pin(int cpu) {
    cpu_set_t set;
    CPU_ZERO(&set);
    CPU_SET(cpu, &set);
    return sched_setaffinity(0, sizeof set, &set);
}

static void* spinner(void* arg) {
    (void)arg;
    if (pin(1) != 0) perror("ipibench: sched_setaffinity(1)");
    unsigned long n = 0;
    while (!atomic_load_explicit(&stop, memory_order_relaxed)) ++n;
    atomic_store(&spins, n);
    return NULL;
}

static double now(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + (double)t.tv_nsec * 1e-9;
}

static int run(void) {
    if (sysconf(_SC_NPROCESSORS_ONLN) < 2) {
        fprintf(stderr, "ipibench: needs 2 CPUs online\n");
        return 1;
    }
    if (pin(0) != 0) perror("ipibench: sched_setaffinity(0)");
    const size_t len = (size_t)kPages * 4096;
    char* p = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (p == MAP_FAILED) {
        perror("ipibench: mmap");
        return 1;
    }
    memset(p, 1, len);
    pthread_t t;
    if (pthread_create(&t, NULL, spinner, NULL) != 0) {
        fprintf(stderr, "ipibench: pthread_create failed\n");
        return 1;
    }
    usleep(100000);  // the spinner runs on CPU 1 (and the mm is live there)
    const double t0 = now();
    for (int i = 0; i < kPairs; ++i) {
        if (mprotect(p, len, PROT_READ) != 0 || mprotect(p, len, PROT_READ | PROT_WRITE) != 0) {
            perror("ipibench: mprotect");
            return 1;
        }
        p[(i % kPages) * 4096] = (char)i;
    }
    const double t1 = now();
    atomic_store(&stop, 1);
    pthread_join(t, NULL);
    printf("IPIBENCH: %d mprotect pairs in %.3f s: %.1f us per pair, spinner %lu iterations\n", kPairs, t1 - t0,
           (t1 - t0) / kPairs * 1e6, atomic_load(&spins));
    return 0;
}

int main(void) {
    const int status = run();
    if (status != 0) printf("IPIBENCH: failed\n");
    fflush(stdout);
    sync();
    reboot(RB_POWER_OFF);
    return status;
}
